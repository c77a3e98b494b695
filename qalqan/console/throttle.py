"""Sign-in throttling: failed attempts lock a name or an address for a while, before any hashing.

Three counts, each of failures within ``login_window``:

- a **name from one address** (``login_failures_per_name``, 5): someone
  guessing one operator's password from one machine;
- a **name from anywhere** (``login_failures_per_account``, 50): the same,
  spread over many addresses;
- an **address** (``login_failures_per_address``, 20), whatever the names,
  unknown ones included: someone trying many names, or spraying a password.
  Anonymous posts refused for a missing CSRF token count here too, so that a
  flood of them cannot fill the audit log: once the address is locked they
  are refused without an entry each (the lock has its own).

Reaching a count locks that key for ``login_lockout``; a locked attempt is
refused before the password is checked (so the right password does not help)
and is not counted again. Every lock ends by itself, and an attacker guessing
from elsewhere locks a name only for their own address until the far larger
account-wide count is reached: the operator at their own desk can still sign
in. A successful sign-in clears the name's counts (not the address's).

The state is in memory, per console process, bounded in size; it is
sans-I/O: every method is given the time.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from qalqan.console.settings import ConsoleSettings

__all__ = ["Key", "LoginThrottle"]

Key = tuple[str, ...]
"""``("name", name, address)``, ``("account", name)`` or ``("address", address)``."""

MAX_KEYS: Final = 100_000
"""Keys remembered at most; the least recently failed are forgotten first."""


@dataclass(slots=True)
class _Failures:
    times: deque[datetime] = field(default_factory=deque)
    locked_until: datetime | None = None


class LoginThrottle:
    """Counts failed sign-ins and says whether a new attempt may be checked at all."""

    def __init__(self, *, settings: ConsoleSettings, max_keys: int = MAX_KEYS) -> None:
        self.settings = settings
        self.max_keys = max_keys
        self._keys: OrderedDict[Key, _Failures] = OrderedDict()

    def _limits(self, name: str, address: str) -> list[tuple[Key, int]]:
        who = name.casefold()
        s = self.settings
        return [
            (("name", who, address), s.login_failures_per_name),
            (("account", who), s.login_failures_per_account),
            (("address", address), s.login_failures_per_address),
        ]

    def locked_until(self, name: str, address: str, now: datetime) -> datetime | None:
        """When the latest lock on this attempt ends; None when it may be checked."""
        ends = []
        for key, _limit in self._limits(name, address):
            state = self._keys.get(key)
            if state is not None and state.locked_until is not None:
                if state.locked_until > now:
                    ends.append(state.locked_until)
                else:
                    state.locked_until = None  # the lock is over: the count starts again
        return max(ends) if ends else None

    def failed(self, name: str, address: str, now: datetime) -> list[Key]:
        """Count a failed attempt; the keys it locked (for the audit log)."""
        return self._count(self._limits(name, address), now)

    def refused(self, address: str, now: datetime) -> list[Key]:
        """Count an anonymous request refused for its form (no CSRF token) against its address."""
        return self._count([(("address", address), self.settings.login_failures_per_address)], now)

    def address_locked(self, address: str, now: datetime) -> bool:
        state = self._keys.get(("address", address))
        return state is not None and state.locked_until is not None and state.locked_until > now

    def _count(self, limits: list[tuple[Key, int]], now: datetime) -> list[Key]:
        locked = []
        horizon = now - self.settings.login_window
        for key, limit in limits:
            state = self._keys.pop(key, None) or _Failures()
            self._keys[key] = state  # most recently failed last
            times = state.times
            while times and times[0] <= horizon:
                times.popleft()
            times.append(now)
            if len(times) >= limit:
                state.locked_until = now + self.settings.login_lockout
                times.clear()
                locked.append(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return locked

    def succeeded(self, name: str, address: str) -> None:
        """A good sign-in clears the name's counts (the address's stay)."""
        who = name.casefold()
        self._keys.pop(("name", who, address), None)
        self._keys.pop(("account", who), None)
