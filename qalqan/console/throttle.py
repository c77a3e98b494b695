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

The password checks that pass the throttle share :class:`HashingQueue`: at
most ``login_concurrent_hashes`` run at once, at most ``login_queue`` more
sign-ins wait for one (first come, first checked), each for at most
``login_queue_seconds``; past the queue, or when its time is up, a sign-in is
answered "busy, try again" without being checked. Operators signing in
together at shift start wait a few checks' time; a flood beyond the queue is
sent away at once, and the work never exceeds the slots.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from qalqan.cases.users import name_key
from qalqan.console.settings import ConsoleSettings

__all__ = ["HashingQueue", "Key", "LoginThrottle"]

Key = tuple[str, ...]
"""``("name", name, address)``, ``("account", name)`` or ``("address", address)``; a name as
sign-in finds its account (:func:`qalqan.cases.users.name_key`: any case or width is one name)."""

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
        who = name_key(name)  # as sign-in finds the account: any case or width
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
        who = name_key(name)  # as sign-in finds the account: any case or width
        self._keys.pop(("name", who, address), None)
        self._keys.pop(("account", who), None)


class HashingQueue:
    """Slots for password checks, and a bounded, first-come queue of sign-ins waiting for one.

    Invariants: at most ``slots`` holders at once; at most ``queue`` waiting;
    none waits longer than ``wait`` seconds; a freed slot goes to the one that
    has waited longest, and a newcomer never takes a slot while anyone waits.
    Used from one event loop (the console's); a waiter's future belongs to the
    loop it waits on.
    """

    def __init__(self, *, slots: int, queue: int, wait: float) -> None:
        self.slots = slots
        self.queue = queue
        self.wait = wait
        self.busy = 0
        """Slots held now."""
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """Sign-ins waiting for a slot now."""
        return len(self._waiting)

    async def acquire(self) -> bool:
        """Take a slot, waiting in the queue if there is room; False when none could be had.

        A holder must :meth:`release` its slot (``try``/``finally``).
        """
        if self.busy < self.slots and not self._waiting:
            self.busy += 1
            return True
        if len(self._waiting) >= self.queue:
            return False  # past the queue: at once, without waiting
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            async with asyncio.timeout(self.wait):
                await turn
        except TimeoutError:
            self._give_up(turn)
            return False
        except asyncio.CancelledError:  # the client went away
            self._give_up(turn)
            raise
        return True  # handed a slot by release()

    def _give_up(self, turn: asyncio.Future[None]) -> None:
        if turn.done() and not turn.cancelled():
            self.release()  # the slot came just as the time ran out: pass it on
        else:
            turn.cancel()
            with contextlib.suppress(ValueError):
                self._waiting.remove(turn)

    def release(self) -> None:
        """Give a slot back: to the longest waiting sign-in, if any."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes on; ``busy`` is unchanged
                return
        self.busy -= 1
