"""Rolling state for a national subscriber base: the same aggregates in flat arrays of fingerprints.

:class:`~qalqan.screening.state.InMemoryStateStore` keeps every key as Python
objects (the key's text, a dict of buckets or items, floats): 170 to 650 bytes
a key, 2.4 GB for a million subscribers. :class:`CompactStateStore`
answers the same :class:`~qalqan.screening.state.StateStore` protocol from
arrays, at 10 to 65 bytes a key, so that the state of a 20-million-subscriber
operator (100 million attempts a day, contact between numbers over 30 days)
stays within 4 GB (``benchmarks/state_memory.py``; ``docs/screening.md``,
*State at national scale*). Choose it with ``state.store: compact``.

**Fingerprints.** A key is never stored, only a 32-bit fingerprint of its
hash, in buckets of 16 slots. Each key has two candidate buckets and goes into
the emptier, so a table is some 90 % full before it must grow. A table is split
into up to 4,096 shards by the hash's top bits, and each shard grows alone:
doubling while small, by a quarter once it has :data:`DOUBLING_BUCKETS`
buckets, so that a big table stays 72 to 90 % full and no update waits for more
than one shard (about 5 ms to place again the 10,000 keys of a shard of a
40-million-key table). Fingerprint and shard take 44 bits of the hash: a lookup
finds another key's entry with probability ``n / 2**44`` in a table of ``n``
keys (:func:`collision_rate`; one in 290,000 at 60 million). What such a
collision does is said with each shape below.

Hashes are Python's own: a text's is SipHash keyed with a 128-bit secret drawn
when the process starts, and a tuple's combines its members', so that nobody
outside the node can craft two keys that collide (keys and items are text or
tuples of text, as the features make them; a node must not fix
``PYTHONHASHSEED``). The store's own secret, mixed in, places keys differently
on every node.

The three shapes, and where they are exact:

- **counts** (:class:`~qalqan.screening.state.RollingCount`): per key a ring
  of ten one-byte counters, a tenth of the window each, exactly as the
  in-memory store counts; a key whose counter passes 255 moves to a ring of
  four-byte counters. Exact, save a colliding key's events (over-counts only).
- **distinct counts** (:class:`~qalqan.screening.state.RollingDistinct`): each
  (key, item) pair is a fingerprint with the tenth of the window it was last
  seen in, and per key a ring counts its items by that tenth. The window is its
  last ten tenths, the current one included, as for counts: an item last seen
  in the part of the oldest tenth already past is forgotten up to a tenth of the
  window early (under-counts only, never more than the exact store says), and
  ``contains`` answers with the same edge, so that ``counting_this`` adds up. A
  colliding pair makes a new item look counted already (under-counts by one).
- **recent keys** (:class:`~qalqan.screening.state.RecentKeys`): the
  fingerprint and the second it was last seen; exact to the second. A colliding
  key looks seen: for ``contact_pairs_30d`` that is earlier contact speaking
  for a call, one pair in 290,000 at 60 million pairs, and never one an
  attacker can choose.

**Memory stays bounded.** Stale entries are not swept: a stale slot answers
nothing (every read checks the window) and is taken by the next new key of its
bucket, so a table grows only when both buckets of a new key are full of live
keys, and a shard stops growing once it holds its share of ``max_keys``; past
that, the stalest key of the two buckets is forgotten, as the in-memory store
forgets the stalest. A distinct count's pairs are bounded the same way, and a
key's items saturate at ``max_items`` (new items are not remembered once it
holds that many). A table never shrinks: its size is that of its busiest
window.

**Time** is as for the in-memory store: seconds since the epoch, moving
forward with the traffic. Recent keys keep whole seconds (times before the
epoch count as the epoch); counts and distinct counts keep tenths of their
window, numbered from the first update.

**Filling at once.** :meth:`CompactStateStore.fill_count` and its siblings put
many keys into an empty aggregate in one go, from their hashes
(:func:`raw_hashes`), as the updates one by one would (a test holds them
together): how the benchmark builds a state of 20 million subscribers in
minutes.
"""

from __future__ import annotations

import logging
import math
import secrets
import sys
from array import array
from collections.abc import Hashable, Sequence
from typing import Any, Final

import numpy as np

from qalqan.screening.state import (
    BUCKETS_PER_WINDOW,
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_KEYS,
    RecentKeys,
    RollingCount,
    RollingDistinct,
    held,
)

__all__ = ["SLOTS_PER_BUCKET", "CompactStateStore", "collision_rate", "raw_hashes"]

logger = logging.getLogger(__name__)

SLOTS_PER_BUCKET: Final = 16
"""Slots of one bucket; a key has two candidate buckets."""
DOUBLING_BUCKETS: Final = 128
"""Buckets from which a shard grows by a quarter rather than doubling: a big table stays
about 80 % full (when doubling, between 45 and 90 %)."""
MAX_SHARDS: Final = 4096
"""Shards of one table at most: a table grows one shard at a time."""
_SHARD_BITS_MAX: Final = 12
_BUCKET_BYTES: Final = SLOTS_PER_BUCKET * 4
_MASK64: Final = (1 << 64) - 1
_MASK32: Final = (1 << 32) - 1
_XXPRIME_1: Final = 11400714785074694791
_XXPRIME_2: Final = 14029467366897019727
_XXPRIME_5: Final = 2870177450012600261
"""CPython's tuple hash (xxHash's primes), to hash (key, item) pairs in bulk as ``hash`` does."""
_ORDER: Final = sys.byteorder
_NO_SLOT: Final = -1
_SMALL_MAX: Final = 255
"""A one-byte counter's largest value; past it a key's ring moves to four-byte counters."""
_NEVER: Final = 0


def _shard_bits(max_entries: int) -> int:
    """Shards of a table holding at most ``max_entries``, as a power of two: one per 1,024 keys."""
    return min(_SHARD_BITS_MAX, max(0, (max_entries // 1024).bit_length() - 1))


def collision_rate(keys: int, *, max_keys: int = DEFAULT_MAX_KEYS) -> float:
    """Chance that a lookup in a table holding ``keys`` keys finds another key's fingerprint.

    The fingerprint (32 bits) and the shard (up to 12 bits) must both match: at most
    ``max_keys`` from 4,194,304 up, a table of 60 million keys answers one lookup in
    290,000 with another key's entry.
    """
    return keys / 2.0 ** (32 + _shard_bits(max_keys))


class _Shard:
    """One shard: fingerprints (0 marks an empty slot), a stamp per slot, and a row of counters."""

    __slots__ = ("fps", "fpv", "nb", "rows", "stamps", "used", "width")

    def __init__(self, buckets: int, width: int, code: str) -> None:
        slots = buckets * SLOTS_PER_BUCKET
        self.nb = buckets
        self.width = width
        self.fps = bytearray(slots * 4)
        self.fpv = memoryview(self.fps).cast("I")
        self.stamps = memoryview(bytearray(slots * 4)).cast("I")
        raw = memoryview(bytearray(slots * width * (4 if code == "I" else 1)))
        self.rows = raw.cast("I") if code == "I" else raw.cast("B")
        self.used = 0

    def find(self, fp: int) -> int:
        """The slot holding ``fp``, or -1."""
        needle = fp.to_bytes(4, _ORDER)
        fps = self.fps
        nb = self.nb
        first = ((fp & 0xFFFF) * nb) >> 16
        start = first * _BUCKET_BYTES
        i = fps.find(needle, start, start + _BUCKET_BYTES)
        if i >= 0:
            if not i & 3:
                return i >> 2
            return self._aligned(needle, i, start + _BUCKET_BYTES, fp)
        second = ((fp >> 16) * nb) >> 16
        if second == first:
            return _NO_SLOT
        start = second * _BUCKET_BYTES
        i = fps.find(needle, start, start + _BUCKET_BYTES)
        if i >= 0 and not i & 3:
            return i >> 2
        return _NO_SLOT if i < 0 else self._aligned(needle, i, start + _BUCKET_BYTES, fp)

    def _aligned(self, needle: bytes, i: int, end: int, fp: int) -> int:
        """The rare case of a fingerprint's bytes found astride two slots: look on, then in the
        key's other bucket."""
        fps = self.fps
        while i >= 0:
            if not i & 3:
                return i >> 2
            i = fps.find(needle, i + 1, end)
        for bucket in {((fp & 0xFFFF) * self.nb) >> 16, ((fp >> 16) * self.nb) >> 16}:
            start = bucket * _BUCKET_BYTES
            if start < end <= start + _BUCKET_BYTES:
                continue  # the bucket just searched
            i = fps.find(needle, start, start + _BUCKET_BYTES)
            while i >= 0:
                if not i & 3:
                    return i >> 2
                i = fps.find(needle, i + 1, start + _BUCKET_BYTES)
        return _NO_SLOT

    def _empty_in(self, bucket: int) -> int:
        fps = self.fps
        start = bucket * _BUCKET_BYTES
        end = start + _BUCKET_BYTES
        i = fps.find(b"\0\0\0\0", start, end)
        while i >= 0:
            if not i & 3:
                return i >> 2
            i = fps.find(b"\0\0\0\0", i + 1, end)
        return _NO_SLOT

    def empty_slot(self, fp: int) -> int:
        """An empty slot in the emptier of ``fp``'s two buckets, or -1."""
        b1 = ((fp & 0xFFFF) * self.nb) >> 16
        b2 = ((fp >> 16) * self.nb) >> 16
        if b1 != b2:
            zero = b"\0\0\0\0"
            fps = self.fps
            s1, s2 = b1 * _BUCKET_BYTES, b2 * _BUCKET_BYTES
            if fps.count(zero, s2, s2 + _BUCKET_BYTES) > fps.count(zero, s1, s1 + _BUCKET_BYTES):
                b1, b2 = b2, b1
        slot = self._empty_in(b1)
        return slot if slot >= 0 or b1 == b2 else self._empty_in(b2)

    def stalest_slot(self, fp: int) -> int:
        """The held slot with the oldest stamp among ``fp``'s two buckets (-1 when both are empty)."""
        best = _NO_SLOT
        oldest = _MASK32 + 1
        fpv = self.fpv
        stamps = self.stamps
        b1 = ((fp & 0xFFFF) * self.nb) >> 16
        b2 = ((fp >> 16) * self.nb) >> 16
        for bucket in (b1,) if b1 == b2 else (b1, b2):
            first = bucket * SLOTS_PER_BUCKET
            for offset, stamp in enumerate(stamps[first : first + SLOTS_PER_BUCKET].tolist()):
                if stamp < oldest and fpv[first + offset]:
                    best, oldest = first + offset, stamp
        return best

    def grown(self) -> _Shard:
        """This shard with more buckets: twice as many while it is small (each key keeps its
        slot, in one of the two buckets its old one became), a quarter more (one at least) once
        it has :data:`DOUBLING_BUCKETS`, its keys placed again."""
        fps = np.frombuffer(self.fps, dtype=np.uint32)
        occupied = np.flatnonzero(fps)
        held = fps[occupied]
        wide = held.astype(np.int64)
        buckets = self.nb
        if buckets < DOUBLING_BUCKETS:
            buckets *= 2
            first = _choices(wide, self.nb)[0]
            chosen = np.where(first == occupied // SLOTS_PER_BUCKET, wide & 0xFFFF, wide >> 16)
            slots = ((chosen * buckets) >> 16) * SLOTS_PER_BUCKET + occupied % SLOTS_PER_BUCKET
        else:
            slots = np.full(1, -1)
            while (slots < 0).any():
                buckets += max(1, buckets // 4)
                slots = _spread(*_choices(wide, buckets), buckets)
        rows = None
        if self.width:
            dtype = np.uint32 if self.rows.format == "I" else np.uint8
            rows = np.frombuffer(self.rows, dtype=dtype).reshape(-1, self.width)[occupied]
        stamps = np.frombuffer(self.stamps, dtype=np.uint32)[occupied]
        return _built(buckets, held, slots, stamps, rows, self.rows.format)

    def nbytes(self) -> int:
        return len(self.fps) + int(self.stamps.nbytes) + int(self.rows.nbytes)


_FILL_PER_ROUND: Final = 1
"""Keys one bucket takes in one round of :func:`_spread`: few, so that each key's choice of the
emptier bucket is made again as they fill, as when keys come one at a time."""


def _spread(first: np.ndarray, second: np.ndarray, buckets: int) -> np.ndarray:
    """Slots for keys whose two candidate buckets (numbered across the table) are ``first`` and
    ``second``, each placed in the emptier of its two as they fill; -1 where both are full."""
    fill = np.zeros(buckets, dtype=np.int64)
    slots = np.full(len(first), -1, dtype=np.int64)
    todo = np.random.default_rng(0).permutation(len(first))  # keys in no particular order
    while len(todo):
        a, b = first[todo], second[todo]
        fa, fb = fill[a], fill[b]
        room = (fa < SLOTS_PER_BUCKET) | (fb < SLOTS_PER_BUCKET)
        todo, a, b, fa, fb = todo[room], a[room], b[room], fa[room], fb[room]
        target = np.where(fb < fa, b, a)
        order = np.argsort(target, kind="stable")
        ordered = target[order]
        rank = np.arange(len(ordered)) - np.searchsorted(ordered, ordered)
        fits = rank < np.minimum(SLOTS_PER_BUCKET - fill[ordered], _FILL_PER_ROUND)
        placed = ordered[fits]
        slots[todo[order[fits]]] = placed * SLOTS_PER_BUCKET + fill[placed] + rank[fits]
        fill += np.bincount(placed, minlength=buckets)
        todo = todo[order[~fits]]
    return slots


def _choices(fps: np.ndarray, buckets: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """The two candidate buckets of each fingerprint (as int64) in a shard of ``buckets``:
    the low and the high 16 bits, each scaled to the buckets."""
    return ((fps & 0xFFFF) * buckets) >> 16, ((fps >> 16) * buckets) >> 16


def _buckets_for(keys: np.ndarray) -> np.ndarray:
    """Buckets of shards holding ``keys`` keys each, filled at once: as many as the keys fill
    80 % of, as full as a big shard grown one key at a time is on average (between the 90 % at
    which it grows and the 72 % it grows to)."""
    return np.maximum(1, np.ceil(keys / (SLOTS_PER_BUCKET * 0.8))).astype(np.int64)


def _built(
    buckets: int,
    fps: np.ndarray,
    slots: np.ndarray,
    stamps: np.ndarray,
    rows: np.ndarray | None,
    code: str,
) -> _Shard:
    width = 0 if rows is None else rows.shape[1]
    shard = _Shard(buckets, width, code)
    np.frombuffer(shard.fps, dtype=np.uint32)[slots] = fps
    np.frombuffer(shard.stamps, dtype=np.uint32)[slots] = stamps
    if rows is not None:
        dtype = np.uint32 if code == "I" else np.uint8
        np.frombuffer(shard.rows, dtype=dtype).reshape(-1, width)[slots] = rows
    shard.used = len(fps)
    return shard


def _mixed(raw: np.ndarray, secret: int) -> np.ndarray:
    """:meth:`CompactStateStore` hashes of many keys at once, from their Python ``hash`` (as uint64)."""
    return raw.astype(np.uint64) ^ np.uint64(secret)


def _paired(raw_keys: np.ndarray, raw_items: np.ndarray, secret: int) -> np.ndarray:
    """``hash((key, item))`` of many pairs at once, from the keys' and items' hashes, mixed."""
    acc = np.full(len(raw_keys), _XXPRIME_5, dtype=np.uint64)
    for lane in (raw_keys.astype(np.uint64), raw_items.astype(np.uint64)):
        acc += lane * np.uint64(_XXPRIME_2)
        acc = (acc << np.uint64(31)) | (acc >> np.uint64(33))
        acc *= np.uint64(_XXPRIME_1)
    acc += np.uint64(2 ^ (_XXPRIME_5 ^ 3527539))
    acc[acc == np.uint64(_MASK64)] = 1546275796
    return _mixed(acc, secret)


def raw_hashes(values: Sequence[Hashable]) -> np.ndarray:
    """Python's ``hash`` of each value as uint64: what :meth:`CompactStateStore.fill_count` and its
    siblings take for keys and items."""
    return np.fromiter((hash(v) & _MASK64 for v in values), dtype=np.uint64, count=len(values))


class _Table:
    """Fingerprints with a stamp (and a row of ``width`` counters) each, in shards that grow a quarter at a time."""

    __slots__ = ("_code", "_share", "_slot_limit", "shards", "shift", "width", "zeros")

    def __init__(self, max_entries: int, width: int = 0, code: str = "B") -> None:
        shard_bits = _shard_bits(max_entries)
        count = 1 << shard_bits
        self.shift = 64 - shard_bits
        self._share = max(1, -(-max_entries // count))
        """Keys one shard holds at most."""
        self._slot_limit = max(SLOTS_PER_BUCKET, math.ceil(self._share / 0.75))
        self.width = width
        self._code = code
        self.zeros = array(code, [0] * width)
        self.shards: list[_Shard | None] = [None] * count

    def shard(self, index: int) -> _Shard:
        found = self.shards[index]
        if found is None:
            found = self.shards[index] = _Shard(1, self.width, self._code)
        return found

    def take(self, h: int, fresh_from: int) -> tuple[_Shard, int]:
        """A slot for the new key of mixed hash ``h``, which then holds its fingerprint and a row of
        zeros (the caller sets the stamp): an empty slot, or a stale one (stamp below
        ``fresh_from``), or one made by growing the shard, or else the stalest of the key's two
        buckets (whose key is forgotten)."""
        index = h >> self.shift
        fp = (h & _MASK32) or 1
        shard = self.shard(index)
        while True:
            slot = shard.empty_slot(fp) if shard.used < self._share else _NO_SLOT
            if slot >= 0:
                break
            slot = shard.stalest_slot(fp)
            if slot < 0:
                slot = shard.empty_slot(fp)
                break
            if shard.stamps[slot] < fresh_from or shard.used >= self._share:
                break
            if shard.nb * SLOTS_PER_BUCKET >= self._slot_limit:
                break
            shard = self.shards[index] = shard.grown()
        if not shard.fpv[slot]:
            shard.used += 1
        shard.fpv[slot] = fp
        width = self.width
        if width:
            shard.rows[slot * width : (slot + 1) * width] = self.zeros
        return shard, slot

    def drop(self, shard: _Shard, slot: int) -> None:
        shard.fpv[slot] = 0
        shard.used -= 1

    def load(self, h: np.ndarray, stamps: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Fill an empty table with many keys at once (mixed hashes; the last of equal ones)."""
        if any(shard is not None for shard in self.shards):
            raise ValueError("only an empty table is filled at once")
        if not len(h):
            return
        h, stamps = h.astype(np.uint64)[::-1], stamps[::-1]
        # the shard (top bits) and the fingerprint (low 32 bits): sorted by shard
        ident = (
            (h >> np.uint64(self.shift)) << np.uint64(32) | (h & np.uint64(_MASK32))
            if self.shift < 64
            else h & np.uint64(_MASK32)
        )
        _, last = np.unique(ident, return_index=True)
        h, stamps = h[last], stamps[last]
        rows = None if rows is None else rows[::-1][last]
        fps = (h & np.uint64(_MASK32)).astype(np.uint32)
        fps[fps == 0] = 1
        shard_of = (
            (h >> np.uint64(self.shift)).astype(np.int64)
            if self.shift < 64
            else np.zeros(len(h), dtype=np.int64)
        )
        stamps = stamps.astype(np.uint32)
        buckets = _buckets_for(np.bincount(shard_of, minlength=len(self.shards)))
        wide = fps.astype(np.int64)
        todo = np.ones(len(buckets), dtype=bool)  # shards still to place
        slots = np.full(len(fps), -1, dtype=np.int64)
        while todo.any():  # all shards at once; a shard whose keys did not fit grows and again
            offsets = np.concatenate([[0], np.cumsum(np.where(todo, buckets, 0))])
            keys = np.flatnonzero(todo[shard_of])
            base = offsets[shard_of[keys]]
            first, second = _choices(wide[keys], buckets[shard_of[keys]])
            placed = _spread(base + first, base + second, int(offsets[-1]))
            slots[keys] = placed - base * SLOTS_PER_BUCKET
            failed = np.zeros(len(buckets), dtype=bool)
            failed[shard_of[keys[placed < 0]]] = True
            buckets[failed] += np.maximum(1, buckets[failed] // 4)
            todo = failed
        bounds = np.searchsorted(shard_of, np.arange(len(self.shards) + 1))
        for index in np.flatnonzero(np.diff(bounds)):
            part = slice(bounds[index], bounds[index + 1])
            self.shards[index] = _built(
                int(buckets[index]),
                fps[part],
                slots[part],
                stamps[part],
                None if rows is None else rows[part],
                self._code,
            )

    def __len__(self) -> int:
        return sum(s.used for s in self.shards if s is not None)

    def nbytes(self) -> int:
        return sum(s.nbytes() for s in self.shards if s is not None) + 8 * len(self.shards)


class _Rings:
    """Per key, counters for the last ten tenths of a window: one byte each, four past 255.

    Counter ``j`` of a key's row counts tenth ``stamp - j``; the stamp is the newest tenth
    touched. Keys are mixed hashes (the key's hash, mixed with the store's secret).
    """

    __slots__ = ("big", "small")

    def __init__(self, max_entries: int) -> None:
        self.small = _Table(max_entries, BUCKETS_PER_WINDOW, "B")
        self.big = _Table(max_entries, BUCKETS_PER_WINDOW, "I")

    def locate(self, h: int) -> tuple[_Table, _Shard | None, int]:
        """Where the key of hash ``h`` is: its table, shard and slot (no shard when held nowhere)."""
        small = self.small
        index = h >> small.shift
        fp = (h & _MASK32) or 1
        shard = small.shards[index]
        if shard is not None:
            slot = shard.find(fp)
            if slot >= 0:
                return small, shard, slot
        big = self.big
        shard = big.shards[index]
        if shard is not None:
            slot = shard.find(fp)
            if slot >= 0:
                return big, shard, slot
        return small, None, _NO_SLOT

    def add(
        self,
        h: int,
        tenth: int,
        amount: int,
        where: tuple[_Table, _Shard | None, int] | None = None,
    ) -> None:
        """Add ``amount`` (negative to take away) to the key's counter of ``tenth``."""
        table, shard, slot = self.locate(h) if where is None else where
        if shard is None:
            if amount <= 0:
                return
            shard, slot = table.take(h, tenth - BUCKETS_PER_WINDOW + 1)
            shard.stamps[slot] = tenth
        rows = shard.rows
        start = slot * BUCKETS_PER_WINDOW
        newest = shard.stamps[slot]
        if tenth > newest:  # the ring moves on: older tenths fall out of it
            ahead = tenth - newest
            if ahead >= BUCKETS_PER_WINDOW:
                rows[start : start + BUCKETS_PER_WINDOW] = table.zeros
            else:
                kept = rows[start : start + BUCKETS_PER_WINDOW - ahead].tobytes()
                rows[start + ahead : start + BUCKETS_PER_WINDOW] = (
                    kept if table is self.small else memoryview(kept).cast("I")
                )
                rows[start : start + ahead] = table.zeros[:ahead]
            shard.stamps[slot] = newest = tenth
        j = start + newest - tenth
        if j >= start + BUCKETS_PER_WINDOW:
            return  # older than the ring: out of every window to come
        value = rows[j] + amount
        if value <= 0:
            rows[j] = 0
        elif value <= _SMALL_MAX or table is self.big:
            rows[j] = value if value <= _MASK32 else _MASK32
        else:  # a one-byte counter overflows: the key moves to four-byte counters
            counters = rows[start : start + BUCKETS_PER_WINDOW].tolist()
            counters[j - start] = value
            table.drop(shard, slot)
            moved, to = self.big.take(h, 0)
            moved.stamps[to] = newest
            first = to * BUCKETS_PER_WINDOW
            moved.rows[first : first + BUCKETS_PER_WINDOW] = array("I", counters)

    def total(self, h: int, tenth: int) -> int:
        """Events counted in the ten tenths up to ``tenth`` (and any dated after it)."""
        _, shard, slot = self.locate(h)
        return 0 if shard is None else _ring_total(shard, slot, tenth)

    def fill(self, h: np.ndarray, tenths: np.ndarray, amounts: np.ndarray) -> None:
        """Fill empty rings at once: ``amounts[i]`` events of key ``h[i]`` in tenth ``tenths[i]``."""
        if not len(h):
            return
        order = np.lexsort((tenths, h))
        h, tenths, amounts = h[order], tenths[order].astype(np.int64), amounts[order]
        starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
        ends = np.r_[starts[1:], len(h)]
        newest = tenths[ends - 1]
        key_of = np.repeat(np.arange(len(starts)), ends - starts)
        back = newest[key_of] - tenths
        kept = back < BUCKETS_PER_WINDOW
        rows = np.zeros((len(starts), BUCKETS_PER_WINDOW), dtype=np.int64)
        np.add.at(rows, (key_of[kept], back[kept]), amounts[kept])
        wide = (rows > _SMALL_MAX).any(axis=1)
        self.small.load(h[starts][~wide], newest[~wide], rows[~wide].astype(np.uint8))
        self.big.load(
            h[starts][wide], newest[wide], np.minimum(rows[wide], _MASK32).astype(np.uint32)
        )

    def __len__(self) -> int:
        return len(self.small) + len(self.big)

    def nbytes(self) -> int:
        return self.small.nbytes() + self.big.nbytes()


def _ring_total(shard: _Shard, slot: int, tenth: int) -> int:
    keep = shard.stamps[slot] - tenth + BUCKETS_PER_WINDOW  # counters 0 .. keep-1 are in the window
    if keep <= 0:
        return 0
    start = slot * BUCKETS_PER_WINDOW
    return sum(
        shard.rows[start : start + (keep if keep < BUCKETS_PER_WINDOW else BUCKETS_PER_WINDOW)]
    )


class _Tenths:
    """Tenths of a window, numbered from a million before the first one an aggregate saw."""

    __slots__ = ("_base", "_secret", "_width", "name", "window_s")

    def __init__(self, name: str, window_s: float, secret: int) -> None:
        self.name = name
        self.window_s = window_s
        self._width = window_s / BUCKETS_PER_WINDOW
        self._secret = secret
        self._base: int | None = None

    def _tenth(self, t: float) -> int:
        absolute = int(t // self._width)
        base = self._base
        if base is None:
            base = self._base = absolute - (1 << 20)
        tenth = absolute - base
        return tenth if 0 <= tenth <= _MASK32 else (0 if tenth < 0 else _MASK32)

    def _tenths(self, times: np.ndarray) -> np.ndarray:
        absolute = np.floor_divide(times.astype(np.float64), self._width).astype(np.int64)
        if self._base is None:
            self._base = int(absolute.min()) - (1 << 20) if len(absolute) else None
        base = 0 if self._base is None else self._base
        return np.clip(absolute - base, 0, _MASK32)


def _key_total(aggregate: Any, key: Hashable, t: float) -> int:
    """What ``key``'s ring of tenths holds within the window at ``t``: a count's events, or a
    distinct count's items (both keep one ring per key)."""
    base = aggregate._base
    if base is None:
        return 0
    h = (hash(key) ^ aggregate._secret) & _MASK64
    _, shard, slot = aggregate._rings.locate(h)
    return 0 if shard is None else _ring_total(shard, slot, int(t // aggregate._width) - base)


class _CompactCount(_Tenths):
    """Events per key in rings of ten tenths of the window."""

    __slots__ = ("_rings",)

    def __init__(self, name: str, window_s: float, max_keys: int, secret: int) -> None:
        super().__init__(name, window_s, secret)
        self._rings = _Rings(max_keys)

    def add(self, key: Hashable, t: float, amount: int = 1) -> None:
        if amount > 0:
            self._rings.add((hash(key) ^ self._secret) & _MASK64, self._tenth(t), amount)

    def fill(self, keys: np.ndarray, times: np.ndarray, amounts: np.ndarray) -> None:
        """Many events at once into an empty count (keys as :func:`raw_hashes`)."""
        self._rings.fill(_mixed(keys, self._secret), self._tenths(times), amounts.astype(np.int64))

    def total(self, key: Hashable, t: float) -> int:
        return _key_total(self, key, t)

    def __len__(self) -> int:
        return len(self._rings)

    def nbytes(self) -> int:
        return self._rings.nbytes()


class _CompactDistinct(_Tenths):
    """Distinct items per key: each (key, item) with its last tenth, and per key a ring of them."""

    __slots__ = ("_max_items", "_pairs", "_rings")

    def __init__(
        self, name: str, window_s: float, max_keys: int, max_items: int, secret: int
    ) -> None:
        super().__init__(name, window_s, secret)
        self._max_items = max_items
        self._rings = _Rings(max_keys)
        self._pairs = _Table(max_keys)

    def add(self, key: Hashable, t: float, item: Hashable) -> None:
        tenth = self._tenth(t)
        secret = self._secret
        hp = (hash((key, item)) ^ secret) & _MASK64
        pairs = self._pairs
        shard = pairs.shards[hp >> pairs.shift]
        slot = shard.find((hp & _MASK32) or 1) if shard is not None else _NO_SLOT
        last = _NO_SLOT
        if slot >= 0:
            assert shard is not None
            last = shard.stamps[slot]
            if last >= tenth:
                return  # counted in this tenth already (or a later one)
        rings = self._rings
        h = (hash(key) ^ secret) & _MASK64
        where = rings.locate(h)
        if slot < 0 or last <= tenth - BUCKETS_PER_WINDOW:  # new to the window: is the key full?
            ring_shard, ring_slot = where[1], where[2]
            if ring_shard is not None and (
                _ring_total(ring_shard, ring_slot, tenth) >= self._max_items
            ):
                return
        if slot < 0:
            shard, slot = pairs.take(hp, tenth - BUCKETS_PER_WINDOW + 1)
        assert shard is not None
        shard.stamps[slot] = tenth
        rings.add(h, tenth, 1, where)
        if last >= 0:
            rings.add(h, last, -1)  # no longer counted where it was last seen

    def fill(self, keys: np.ndarray, items: np.ndarray, times: np.ndarray) -> None:
        """Many sightings at once into an empty distinct count (keys and items as :func:`raw_hashes`)."""
        if not len(keys):
            return
        pairs = _paired(keys, items, self._secret)
        tenths = self._tenths(times)
        order = np.lexsort((tenths, pairs))
        pairs, tenths, keys = pairs[order], tenths[order], keys[order]
        last = np.flatnonzero(np.r_[pairs[1:] != pairs[:-1], True])  # each pair's latest sighting
        self._pairs.load(pairs[last], tenths[last])
        self._rings.fill(
            _mixed(keys[last], self._secret), tenths[last], np.ones(len(last), dtype=np.int64)
        )

    def distinct(self, key: Hashable, t: float) -> int:
        return _key_total(self, key, t)

    def contains(self, key: Hashable, item: Hashable, t: float) -> bool:
        base = self._base
        if base is None:
            return False
        hp = (hash((key, item)) ^ self._secret) & _MASK64
        pairs = self._pairs
        shard = pairs.shards[hp >> pairs.shift]
        if shard is None:
            return False
        slot = shard.find((hp & _MASK32) or 1)
        return slot >= 0 and shard.stamps[slot] > int(t // self._width) - base - BUCKETS_PER_WINDOW

    def __len__(self) -> int:
        return len(self._rings)

    def nbytes(self) -> int:
        return self._rings.nbytes() + self._pairs.nbytes()


class _CompactRecent:
    """The second each key was last seen."""

    __slots__ = ("_secret", "_table", "name", "window_s")

    def __init__(self, name: str, window_s: float, max_keys: int, secret: int) -> None:
        self.name = name
        self.window_s = window_s
        self._table = _Table(max_keys)
        self._secret = secret

    def add(self, key: Hashable, t: float) -> None:
        second = int(t)
        second = second if 0 <= second <= _MASK32 else (0 if second < 0 else _MASK32)
        table = self._table
        h = (hash(key) ^ self._secret) & _MASK64
        shard = table.shards[h >> table.shift]
        slot = shard.find((h & _MASK32) or 1) if shard is not None else _NO_SLOT
        if slot < 0:
            shard, slot = table.take(h, math.floor(t - self.window_s) + 1)
        assert shard is not None
        shard.stamps[slot] = second

    def fill(self, keys: np.ndarray, times: np.ndarray) -> None:
        """Many keys at once into an empty aggregate (keys as :func:`raw_hashes`)."""
        seconds = np.clip(np.floor(times.astype(np.float64)), 0, _MASK32).astype(np.uint32)
        self._table.load(_mixed(keys, self._secret), seconds)

    def seen(self, key: Hashable, t: float) -> bool:
        table = self._table
        h = (hash(key) ^ self._secret) & _MASK64
        shard = table.shards[h >> table.shift]
        if shard is None:
            return False
        slot = shard.find((h & _MASK32) or 1)
        return slot >= 0 and shard.stamps[slot] > t - self.window_s

    def __len__(self) -> int:
        return len(self._table)

    def nbytes(self) -> int:
        return self._table.nbytes()


_Compact = _CompactCount | _CompactDistinct | _CompactRecent


class CompactStateStore:
    """Rolling aggregates in arrays of fingerprints: a screening node for a national subscriber base.

    The same protocol and windows as :class:`~qalqan.screening.state.InMemoryStateStore`,
    exact where the module says so, at a tenth of the memory or less. ``secret``
    keys the fingerprints (drawn at random when not given: pass one only to
    reproduce a run).
    """

    def __init__(
        self,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        max_items: int = DEFAULT_MAX_ITEMS,
        secret: int | None = None,
    ) -> None:
        if max_keys < 1 or max_items < 1:
            raise ValueError("max_keys and max_items must be at least 1")
        self.max_keys = max_keys
        self.max_items = max_items
        if not sys.flags.hash_randomization:
            logger.warning(
                "PYTHONHASHSEED is fixed: whoever knows it can find numbers whose fingerprints "
                "collide in the compact state (a contact pair taken as seen); leave it unset"
            )
        self._secret = secrets.randbits(64) if secret is None else secret & _MASK64
        self._aggregates: dict[str, _Compact] = {}

    def count(self, name: str, window_s: float) -> RollingCount:
        secret = self._secret
        return held(
            self._aggregates,
            name,
            window_s,
            _CompactCount,
            lambda full: _CompactCount(full, window_s, self.max_keys, secret),
        )

    def distinct(self, name: str, window_s: float) -> RollingDistinct:
        secret = self._secret
        return held(
            self._aggregates,
            name,
            window_s,
            _CompactDistinct,
            lambda full: _CompactDistinct(full, window_s, self.max_keys, self.max_items, secret),
        )

    def recent(self, name: str, window_s: float) -> RecentKeys:
        secret = self._secret
        return held(
            self._aggregates,
            name,
            window_s,
            _CompactRecent,
            lambda full: _CompactRecent(full, window_s, self.max_keys, secret),
        )

    def sizes(self) -> dict[str, int]:
        return {name: len(agg) for name, agg in sorted(self._aggregates.items())}

    # --- filling at once: a state of a given size, for benchmarks and loading -------------------
    # Keys and items are given as :func:`raw_hashes` (Python's ``hash`` of each, as uint64), times
    # as seconds; the aggregate must still be empty.

    def fill_count(
        self, name: str, window_s: float, keys: np.ndarray, times: np.ndarray, amounts: np.ndarray
    ) -> None:
        """``amounts[i]`` events of ``keys[i]`` at ``times[i]``, as many :meth:`RollingCount.add`."""
        count = self.count(name, window_s)
        assert isinstance(count, _CompactCount)
        count.fill(keys, times, amounts)

    def fill_distinct(
        self, name: str, window_s: float, keys: np.ndarray, items: np.ndarray, times: np.ndarray
    ) -> None:
        """``items[i]`` seen under ``keys[i]`` at ``times[i]``, as many :meth:`RollingDistinct.add`."""
        distinct = self.distinct(name, window_s)
        assert isinstance(distinct, _CompactDistinct)
        distinct.fill(keys, items, times)

    def fill_recent(self, name: str, window_s: float, keys: np.ndarray, times: np.ndarray) -> None:
        """``keys[i]`` seen at ``times[i]``, as many :meth:`RecentKeys.add`."""
        recent = self.recent(name, window_s)
        assert isinstance(recent, _CompactRecent)
        recent.fill(keys, times)

    def nbytes(self) -> dict[str, int]:
        """Bytes of arrays each aggregate holds, by full name (what ``benchmarks/state_memory.py`` prints)."""
        return {name: agg.nbytes() for name, agg in sorted(self._aggregates.items())}
