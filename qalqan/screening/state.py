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
update, in an :class:`~collections.OrderedDict`, so forgetting pops only the
stale front, O(1) a key (a plain dict would walk the holes left by earlier
deletions, which made a sweep quadratic: 100,000 stale keys took 6.8 s). No
update forgets more than :data:`EXPIRE_PER_CALL` keys, nor more than that many
of one key's items (a key's items stay in a plain dict, faster to read, which is
copied without its holes when that many leave it at once): after a burst of
distinct attempts goes stale at once, the updates that follow share the
forgetting, so no decision stalls. Forgetting
late never changes an answer: every read checks the window itself.

**Time.** Times are seconds since the epoch, and within one store are expected
to move forward with the traffic, never far from the node's clock: a small
disorder only delays expiry, but one update dated far in the future makes
every key stale at once (and its own entries outlive the window), and one far
in the past is forgotten at once. The engine takes its times from the
attempts, so the faces that accept a time from a client bound it (see
``docs/api.md``, ``QALQAN_HTTP_CLIENT_TIME_SKEW_S``); replay feeds the data's
own times in order.

**Copies.** :meth:`InMemoryStateStore.dump` gives every aggregate as plain
data (names, windows, and each key's buckets, items or time: strings, numbers
and lists, nothing else), which :meth:`InMemoryStateStore.load` puts back into
the aggregates a store already holds, so that an engine's references to them
stay valid. A cluster of screening nodes ships such copies as snapshots
(:mod:`qalqan.screening.cluster`). ``load`` is all or nothing: it checks
every value's shape first and raises :class:`ValueError` on the first that is
wrong, leaving the store as it was; it keeps at most ``max_keys`` keys per
aggregate and ``max_items`` items per key, whatever the copy holds.
:meth:`InMemoryStateStore.copy` is the part of ``dump`` that must happen on the
engine's thread (each key's buckets or items copied); :meth:`StateCopy.dump`
turns it into plain data on any thread.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

_Held = TypeVar("_Held")

__all__ = [
    "DEFAULT_MAX_ITEMS",
    "DEFAULT_MAX_KEYS",
    "DUMP_VERSION",
    "EXPIRE_PER_CALL",
    "InMemoryStateStore",
    "RecentKeys",
    "RollingCount",
    "RollingDistinct",
    "StateCopy",
    "StateStore",
    "counting_this",
    "format_window",
    "held",
]

DEFAULT_MAX_KEYS: Final = 2_000_000
"""Keys one aggregate holds at most before the stalest are dropped."""
DEFAULT_MAX_ITEMS: Final = 4_096
"""Distinct items one key of a :class:`RollingDistinct` holds at most (its count saturates there)."""
BUCKETS_PER_WINDOW: Final = 10
DUMP_VERSION: Final = 1
"""The shape of :meth:`InMemoryStateStore.dump`; :meth:`InMemoryStateStore.load` refuses others."""
_KINDS: Final = ("count", "distinct", "recent")
EXPIRE_PER_CALL: Final = 64
"""Keys (or one key's items) one update forgets at most; stale ones left over wait for the next.

Keys are dropped from the front of an :class:`~collections.OrderedDict` in O(1)
each, so a sweep costs what it forgets; this bound caps what any one decision
pays when many keys go stale at once (a burst of distinct attempts, then quiet).
"""


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


def held(
    aggregates: dict[str, Any],
    name: str,
    window_s: float,
    kind: type[_Held],
    make: Callable[[str], _Held],
) -> _Held:
    """A store's aggregate ``name`` over ``window_s``, made by ``make(full_name)`` when first
    asked for; asking again gives the same one, and asking for it as another kind is an error."""
    if window_s <= 0:
        raise ValueError(f"window of {name} must be positive, got {window_s}")
    full = f"{name}_{format_window(window_s)}"
    found = aggregates.get(full)
    if found is None:
        found = aggregates[full] = make(full)
    if not isinstance(found, kind):
        raise ValueError(f"'{full}' is already held as another kind of aggregate")
    return found


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


def counting_this(agg: RollingDistinct, key: Hashable, item: Hashable, t: float) -> int:
    """Distinct items under ``key`` within the window, this attempt's ``item`` included.

    Rules judge an attempt before it is remembered; what it adds counts all the same.
    """
    n = agg.distinct(key, t)
    return n if agg.contains(key, item, t) else n + 1


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
        self._keys: OrderedDict[Hashable, dict[int, int]] = OrderedDict()
        self._next_sweep = float("-inf")

    def add(self, key: Hashable, t: float, amount: int = 1) -> None:
        keys = self._keys
        bucket = int(t // self._width)
        oldest = bucket - BUCKETS_PER_WINDOW + 1
        counts = keys.get(key)
        if counts is None:
            keys[key] = {bucket: amount}
        else:
            keys.move_to_end(key)
            counts[bucket] = counts.get(bucket, 0) + amount
            # Buckets are in time order, at most one per tenth of the window (a dozen at most,
            # so the front is never far): drop those out of the window.
            first = next(iter(counts))
            while first < oldest:
                del counts[first]
                first = next(iter(counts))
        if t >= self._next_sweep or len(keys) > self._max_keys:
            budget = EXPIRE_PER_CALL
            while keys and budget:  # forget keys whose newest bucket left the window, stalest first
                stalest = next(iter(keys.values()))
                if next(reversed(stalest)) >= oldest and len(keys) <= self._max_keys:
                    break
                keys.popitem(last=False)
                budget -= 1
            # Out of budget with stale keys left: the next update carries on.
            self._next_sweep = t if not budget else t + self._width

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
        self._keys: OrderedDict[Hashable, dict[Hashable, float]] = OrderedDict()
        self._next_sweep = float("-inf")

    def add(self, key: Hashable, t: float, item: Hashable) -> None:
        keys = self._keys
        horizon = t - self.window_s
        items = keys.get(key)
        if items is None:
            keys[key] = {item: t}
        else:
            keys.move_to_end(key)
            items.pop(item, None)
            items[item] = t
            expired = 0  # the item just added is fresh, so the key never empties here
            while expired < EXPIRE_PER_CALL and (
                next(iter(items.values())) <= horizon or len(items) > self._max_items
            ):
                del items[next(iter(items))]
                expired += 1
            if expired == EXPIRE_PER_CALL:
                # Many of the key's items left the window at once. A plain dict keeps the holes
                # its deletions leave at the front, and reaching the first item walks them all:
                # copy the rest (at most max_items), so that later updates and reads do not.
                keys[key] = dict(items)
        if t >= self._next_sweep or len(keys) > self._max_keys:
            budget = EXPIRE_PER_CALL
            while keys and budget:
                stalest = next(iter(keys.values()))
                if next(reversed(stalest.values())) > horizon and len(keys) <= self._max_keys:
                    break
                keys.popitem(last=False)
                budget -= 1
            self._next_sweep = t if not budget else t + self.window_s / BUCKETS_PER_WINDOW

    def distinct(self, key: Hashable, t: float) -> int:
        items = self._keys.get(key)
        if items is None:
            return 0
        horizon = t - self.window_s
        if next(iter(items.values())) > horizon:
            return len(items)  # the common case: nothing expired since the key's last update
        if next(reversed(items.values())) <= horizon:
            return 0
        expired = 0  # at most max_items: the key's stale items not yet forgotten
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
        self._keys: OrderedDict[Hashable, float] = OrderedDict()
        self._next_sweep = float("-inf")

    def add(self, key: Hashable, t: float) -> None:
        keys = self._keys
        keys[key] = t
        keys.move_to_end(key)
        if t >= self._next_sweep or len(keys) > self._max_keys:
            horizon = t - self.window_s
            budget = EXPIRE_PER_CALL
            while keys and budget:
                if next(iter(keys.values())) > horizon and len(keys) <= self._max_keys:
                    break
                keys.popitem(last=False)
                budget -= 1
            self._next_sweep = t if not budget else t + self.window_s / BUCKETS_PER_WINDOW

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

    def count(self, name: str, window_s: float) -> RollingCount:
        return held(
            self._aggregates,
            name,
            window_s,
            _Count,
            lambda full: _Count(full, window_s, self.max_keys),
        )

    def distinct(self, name: str, window_s: float) -> RollingDistinct:
        return held(
            self._aggregates,
            name,
            window_s,
            _Distinct,
            lambda full: _Distinct(full, window_s, self.max_keys, self.max_items),
        )

    def recent(self, name: str, window_s: float) -> RecentKeys:
        return held(
            self._aggregates,
            name,
            window_s,
            _Recent,
            lambda full: _Recent(full, window_s, self.max_keys),
        )

    def sizes(self) -> dict[str, int]:
        return {name: len(agg) for name, agg in sorted(self._aggregates.items())}

    # --- copies ------------------------------------------------------------------------------

    def dump(self) -> dict[str, object]:
        """Every aggregate as plain data, keys in order of last update (a copy: later updates
        do not change it). Tuple keys become lists; :meth:`load` makes them tuples again."""
        return self.copy().dump()

    def copy(self) -> StateCopy:
        """A copy of every aggregate, as cheap as a copy can be (each key's buckets or items
        copied, nothing converted): take it on the engine's thread, and turn it into plain
        data (:meth:`StateCopy.dump`) on another."""
        aggregates: list[tuple[str, str, float, list[tuple[Hashable, object]]]] = []
        for name, agg in self._aggregates.items():
            if isinstance(agg, _Count):
                kind = "count"
                entries: list[tuple[Hashable, object]] = [
                    (key, counts.copy()) for key, counts in agg._keys.items()
                ]
            elif isinstance(agg, _Distinct):
                kind = "distinct"
                entries = [(key, items.copy()) for key, items in agg._keys.items()]
            else:
                kind = "recent"
                entries = list(agg._keys.items())
            aggregates.append((name, kind, agg.window_s, entries))
        return StateCopy(aggregates)

    def load(self, data: object) -> int:
        """Replace the keys of every aggregate ``data`` (a :meth:`dump`) names; keys held in
        aggregates it does not name stay. Returns the keys loaded.

        All or nothing: every value is read and checked first, and on the first whose shape
        is wrong :class:`ValueError` names it and the store is left as it was.
        """
        if not isinstance(data, dict) or data.get("version") != DUMP_VERSION:
            raise ValueError(f"not a state dump of version {DUMP_VERSION}")
        aggregates = data.get("aggregates")
        if not isinstance(aggregates, list):
            raise ValueError("a state dump's aggregates are not a list")
        read: list[tuple[str, str, float, OrderedDict[Hashable, Any]]] = []
        for entry in aggregates:
            if not (isinstance(entry, list) and len(entry) == 4):
                raise ValueError("an aggregate of a state dump is not [name, kind, window, keys]")
            full, kind, window_s, keys = entry
            if not isinstance(full, str) or kind not in _KINDS or not isinstance(keys, list):
                raise ValueError(f"aggregate {str(full)[:80]!r} of a state dump is malformed")
            if not isinstance(window_s, int | float) or not window_s > 0:
                raise ValueError(f"aggregate {full[:80]!r} has no positive window")
            held = self._aggregates.get(full)
            if held is not None and (held.window_s != window_s or _kind(held) != kind):
                raise ValueError(f"aggregate {full[:80]!r} is held here as another kind or window")
            read.append((full, kind, float(window_s), self._read_keys(full, kind, keys)))
        for full, kind, window_s, keys in read:
            found = self._aggregates.get(full)
            if found is None:
                if kind == "count":
                    found = _Count(full, window_s, self.max_keys)
                elif kind == "distinct":
                    found = _Distinct(full, window_s, self.max_keys, self.max_items)
                else:
                    found = _Recent(full, window_s, self.max_keys)
                self._aggregates[full] = found
            found._keys = keys
            found._next_sweep = float("-inf")
        return sum(len(keys) for *_, keys in read)

    def _read_keys(self, full: str, kind: str, keys: list[object]) -> OrderedDict[Hashable, Any]:
        kept = _pairs(keys[-self.max_keys :], full)
        if kind == "count":
            return OrderedDict((_key(k), _buckets(v)) for k, v in kept)
        if kind == "distinct":
            limit = self.max_items
            return OrderedDict((_key(k), _items(v, limit)) for k, v in kept)
        return OrderedDict((_key(k), _time(v)) for k, v in kept)


class StateCopy:
    """A copy of an :class:`InMemoryStateStore` taken by :meth:`InMemoryStateStore.copy`."""

    __slots__ = ("_aggregates",)

    def __init__(
        self, aggregates: list[tuple[str, str, float, list[tuple[Hashable, object]]]]
    ) -> None:
        self._aggregates = aggregates

    def dump(self) -> dict[str, object]:
        """The copy as plain data, what :meth:`InMemoryStateStore.load` takes."""
        aggregates: list[list[object]] = []
        for name, kind, window_s, entries in self._aggregates:
            if kind == "count":
                plain: list[object] = [
                    [_plain(key), [[b, n] for b, n in counts.items()]]  # type: ignore[attr-defined]
                    for key, counts in entries
                ]
            elif kind == "distinct":
                plain = [
                    [_plain(key), [[_plain(i), t] for i, t in items.items()]]  # type: ignore[attr-defined]
                    for key, items in entries
                ]
            else:
                plain = [[_plain(key), t] for key, t in entries]
            aggregates.append([name, kind, window_s, plain])
        return {"version": DUMP_VERSION, "aggregates": aggregates}


def _kind(aggregate: _Count | _Distinct | _Recent) -> str:
    if isinstance(aggregate, _Count):
        return "count"
    return "distinct" if isinstance(aggregate, _Distinct) else "recent"


_MAX_KEY_DEPTH: Final = 4


def _plain(key: Hashable) -> object:
    """A key as plain data: a tuple as a list (of plain data)."""
    if isinstance(key, tuple):
        return [_plain(part) for part in key]
    return key


def _key(value: object, depth: int = 0) -> Hashable:
    """A key of a dump back as the engine made it: lists as tuples; only plain scalars."""
    if isinstance(value, list) and depth < _MAX_KEY_DEPTH:
        return tuple(_key(part, depth + 1) for part in value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"a key of a state dump is a {type(value).__name__}")


def _pairs(entries: list[object], name: str) -> list[tuple[object, object]]:
    found: list[tuple[object, object]] = []
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 2):
            raise ValueError(f"a key of {name[:80]!r} in a state dump is not [key, value]")
        found.append((entry[0], entry[1]))
    return found


def _time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("a time in a state dump is not a number")
    return float(value)


def _buckets(value: object) -> dict[int, int]:
    if not isinstance(value, list) or len(value) > 2 * BUCKETS_PER_WINDOW:
        raise ValueError("a count's buckets in a state dump are not a short list")
    buckets: dict[int, int] = {}
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError("a bucket in a state dump is not [bucket, count]")
        bucket, n = pair
        if not (type(bucket) is int and type(n) is int and n > 0):
            raise ValueError("a bucket in a state dump is not two whole numbers")
        buckets[bucket] = n
    if list(buckets) != sorted(buckets):
        raise ValueError("a count's buckets in a state dump are out of order")
    return buckets


def _items(value: object, limit: int) -> dict[Hashable, float]:
    if not isinstance(value, list) or not value:
        raise ValueError("a key's items in a state dump are not a list of [item, time]")
    items: dict[Hashable, float] = {}
    for pair in value[-limit:]:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError("an item in a state dump is not [item, time]")
        items[_key(pair[0])] = _time(pair[1])
    return items
