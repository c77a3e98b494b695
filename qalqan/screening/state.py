"""Rolling state of the screening engine: per-key aggregates over sliding time windows.

The engine judges a call from what happened *before* it: how many people one
number range rang in the last ten minutes, how many SIMs one handset carried
in the last day. Each such fact is a named rolling aggregate whose name says
what it holds, ``distinct_imsi_by_imei_24h`` or ``one_ring_by_range_10m``.

Three shapes cover every rule:

- :class:`RollingCount` — how many events per key in the window
  (``calls_by_route_1h``), kept in ten time buckets per window, so the window
  is exact to a tenth of its length;
- :class:`RollingDistinct` — how many distinct items per key in the window
  (``distinct_callees_by_range_10m``), exact, with each key's items capped
  (``max_items``) so that one busy key cannot eat the memory;
- :class:`RecentKeys` — was this key seen within the window
  (``contact_pairs_30d``).

They live behind the :class:`StateStore` protocol: :class:`InMemoryStateStore`
holds them in this process (one screening node); a cluster would implement the
same protocol over Redis. Memory stays bounded: every aggregate forgets a key
once the window has passed since its last update, and holds at most
``max_keys`` keys, the stalest dropped first. Keys are kept in order of last
update, so forgetting walks only the stale front of the dict, a few keys every
tenth of a window: amortised O(1) per update, never a sweep over every key
that would stall a decision. Times are seconds since the epoch and are expected not to go
backwards by much; a small disorder only delays expiry.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Final, Protocol, runtime_checkable

__all__ = [
    "DEFAULT_MAX_ITEMS",
    "DEFAULT_MAX_KEYS",
    "InMemoryStateStore",
    "RecentKeys",
    "RollingCount",
    "RollingDistinct",
    "StateStore",
    "format_window",
]

DEFAULT_MAX_KEYS: Final = 2_000_000
"""Keys one aggregate holds at most before the stalest are dropped."""
DEFAULT_MAX_ITEMS: Final = 4_096
"""Distinct items one key of a :class:`RollingDistinct` holds at most (its count saturates there)."""
BUCKETS_PER_WINDOW: Final = 10


def format_window(seconds: float) -> str:
    """A window as it appears in a feature name: ``90s``, ``10m``, ``1h``, ``24h``, ``30d``."""
    whole = int(seconds)
    if whole != seconds or whole <= 0:
        return f"{seconds:g}s"
    if whole % 86_400 == 0 and whole >= 2 * 86_400:
        return f"{whole // 86_400}d"
    if whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole % 60 == 0:
        return f"{whole // 60}m"
    return f"{whole}s"


@runtime_checkable
class RollingCount(Protocol):
    """Events per key over the last ``window_s`` seconds."""

    name: str
    window_s: float

    def add(self, key: Hashable, t: float, amount: int = 1) -> None: ...

    def total(self, key: Hashable, t: float) -> int: ...

    def __len__(self) -> int: ...


@runtime_checkable
class RollingDistinct(Protocol):
    """Distinct items per key over the last ``window_s`` seconds."""

    name: str
    window_s: float

    def add(self, key: Hashable, t: float, item: Hashable) -> None: ...

    def distinct(self, key: Hashable, t: float) -> int: ...

    def contains(self, key: Hashable, item: Hashable, t: float) -> bool: ...

    def __len__(self) -> int: ...


@runtime_checkable
class RecentKeys(Protocol):
    """Keys seen within the last ``window_s`` seconds."""

    name: str
    window_s: float

    def add(self, key: Hashable, t: float) -> None: ...

    def seen(self, key: Hashable, t: float) -> bool: ...

    def __len__(self) -> int: ...


@runtime_checkable
class StateStore(Protocol):
    """Where the engine keeps its rolling aggregates; asking twice for a name gives the same one."""

    def count(self, name: str, window_s: float) -> RollingCount: ...

    def distinct(self, name: str, window_s: float) -> RollingDistinct: ...

    def recent(self, name: str, window_s: float) -> RecentKeys: ...

    def sizes(self) -> dict[str, int]:
        """Keys held by every aggregate, by full name (for health pages and benchmarks)."""
        ...


class _Count:
    """Counts per key in time buckets of a tenth of the window; keys in order of last update."""

    __slots__ = ("_keys", "_max_keys", "_next_sweep", "_width", "name", "window_s")

    def __init__(self, name: str, window_s: float, max_keys: int) -> None:
        self.name = name
        self.window_s = window_s
        self._width = window_s / BUCKETS_PER_WINDOW
        self._max_keys = max_keys
        self._keys: dict[Hashable, dict[int, int]] = {}
        self._next_sweep = float("-inf")

    def add(self, key: Hashable, t: float, amount: int = 1) -> None:
        keys = self._keys
        bucket = int(t // self._width)
        oldest = bucket - BUCKETS_PER_WINDOW + 1
        counts = keys.pop(key, None)
        if counts is None:
            counts = {bucket: amount}
        else:
            counts[bucket] = counts.get(bucket, 0) + amount
            first = next(iter(counts))
            while first < oldest:  # buckets are in time order: drop those out of the window
                del counts[first]
                first = next(iter(counts))
        keys[key] = counts
        if t >= self._next_sweep or len(keys) > self._max_keys:
            while keys:  # forget keys whose newest bucket left the window, stalest first
                stalest = next(iter(keys))
                if next(reversed(keys[stalest])) >= oldest and len(keys) <= self._max_keys:
                    break
                del keys[stalest]
            self._next_sweep = t + self._width

    def total(self, key: Hashable, t: float) -> int:
        counts = self._keys.get(key)
        if counts is None:
            return 0
        oldest = int(t // self._width) - BUCKETS_PER_WINDOW + 1
        return sum(n for b, n in counts.items() if b >= oldest)

    def __len__(self) -> int:
        return len(self._keys)


class _Distinct:
    """Items per key with the time each was last seen, in that order; keys in order of last update."""

    __slots__ = ("_keys", "_max_items", "_max_keys", "_next_sweep", "name", "window_s")

    def __init__(self, name: str, window_s: float, max_keys: int, max_items: int) -> None:
        self.name = name
        self.window_s = window_s
        self._max_keys = max_keys
        self._max_items = max_items
        self._keys: dict[Hashable, dict[Hashable, float]] = {}
        self._next_sweep = float("-inf")

    def add(self, key: Hashable, t: float, item: Hashable) -> None:
        keys = self._keys
        horizon = t - self.window_s
        items = keys.pop(key, None)
        if items is None:
            items = {item: t}
        else:
            items.pop(item, None)
            items[item] = t
            first = next(iter(items))
            while items[first] <= horizon or len(items) > self._max_items:
                del items[first]
                first = next(iter(items))
        keys[key] = items
        if t >= self._next_sweep or len(keys) > self._max_keys:
            while keys:
                stalest = next(iter(keys))
                if next(reversed(keys[stalest].values())) > horizon and len(keys) <= self._max_keys:
                    break
                del keys[stalest]
            self._next_sweep = t + self.window_s / BUCKETS_PER_WINDOW

    def distinct(self, key: Hashable, t: float) -> int:
        items = self._keys.get(key)
        if items is None:
            return 0
        horizon = t - self.window_s
        if next(iter(items.values())) > horizon:
            return len(items)  # the common case: nothing expired since the key's last update
        if next(reversed(items.values())) <= horizon:
            return 0
        expired = 0
        for seen in items.values():
            if seen > horizon:
                break
            expired += 1
        return len(items) - expired

    def contains(self, key: Hashable, item: Hashable, t: float) -> bool:
        items = self._keys.get(key)
        if items is None:
            return False
        seen = items.get(item)
        return seen is not None and seen > t - self.window_s

    def __len__(self) -> int:
        return len(self._keys)


class _Recent:
    """The time each key was last seen, keys in that order."""

    __slots__ = ("_keys", "_max_keys", "_next_sweep", "name", "window_s")

    def __init__(self, name: str, window_s: float, max_keys: int) -> None:
        self.name = name
        self.window_s = window_s
        self._max_keys = max_keys
        self._keys: dict[Hashable, float] = {}
        self._next_sweep = float("-inf")

    def add(self, key: Hashable, t: float) -> None:
        keys = self._keys
        keys.pop(key, None)
        keys[key] = t
        if t >= self._next_sweep or len(keys) > self._max_keys:
            horizon = t - self.window_s
            while keys:
                stalest = next(iter(keys))
                if keys[stalest] > horizon and len(keys) <= self._max_keys:
                    break
                del keys[stalest]
            self._next_sweep = t + self.window_s / BUCKETS_PER_WINDOW

    def seen(self, key: Hashable, t: float) -> bool:
        last = self._keys.get(key)
        return last is not None and last > t - self.window_s

    def __len__(self) -> int:
        return len(self._keys)


class InMemoryStateStore:
    """Rolling aggregates in this process: the default for a single screening node and for replay."""

    def __init__(
        self, *, max_keys: int = DEFAULT_MAX_KEYS, max_items: int = DEFAULT_MAX_ITEMS
    ) -> None:
        if max_keys < 1 or max_items < 1:
            raise ValueError("max_keys and max_items must be at least 1")
        self.max_keys = max_keys
        self.max_items = max_items
        self._aggregates: dict[str, _Count | _Distinct | _Recent] = {}

    def _full_name(self, name: str, window_s: float) -> str:
        if window_s <= 0:
            raise ValueError(f"window of {name} must be positive, got {window_s}")
        return f"{name}_{format_window(window_s)}"

    def count(self, name: str, window_s: float) -> RollingCount:
        full = self._full_name(name, window_s)
        found = self._aggregates.get(full)
        if found is None:
            found = self._aggregates[full] = _Count(full, window_s, self.max_keys)
        if not isinstance(found, _Count):
            raise ValueError(f"'{full}' is already held as another kind of aggregate")
        return found

    def distinct(self, name: str, window_s: float) -> RollingDistinct:
        full = self._full_name(name, window_s)
        found = self._aggregates.get(full)
        if found is None:
            found = self._aggregates[full] = _Distinct(
                full, window_s, self.max_keys, self.max_items
            )
        if not isinstance(found, _Distinct):
            raise ValueError(f"'{full}' is already held as another kind of aggregate")
        return found

    def recent(self, name: str, window_s: float) -> RecentKeys:
        full = self._full_name(name, window_s)
        found = self._aggregates.get(full)
        if found is None:
            found = self._aggregates[full] = _Recent(full, window_s, self.max_keys)
        if not isinstance(found, _Recent):
            raise ValueError(f"'{full}' is already held as another kind of aggregate")
        return found

    def sizes(self) -> dict[str, int]:
        return {name: len(agg) for name, agg in sorted(self._aggregates.items())}
