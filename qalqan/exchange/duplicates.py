"""Find repeated ids (``record_id``, ``imsi``, ...) across a whole table without holding the ids.

A Python set of 100 million CDR ids would take some 10 GB. :class:`SeenIds`
keeps, for every id accepted so far, only a 64-bit hash and the line of its
first occurrence, in an open-addressing hash table made of two NumPy arrays
and probed a whole chunk at a time: 16 bytes per slot with the table between
3/8 and 3/4 full (about 2 GB for 100 million ids when the size is reserved up
front), and a few array operations per chunk instead of work per row.

Two different ids share a 64-bit hash with probability about n²/2⁶⁵: one in
four thousand for a file of 100 million rows, in which case one row would be
wrongly called a repeat (its reason names the line it supposedly repeats, so
the mistake can be seen).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["LookedUp", "SeenIds", "hash_ids"]

_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # spreads any hash evenly over the slots
_MAX_LOAD = 0.75
_EMPTY = np.uint64(0)


def hash_ids(ids: pa.Array, connection: duckdb.DuckDBPyConnection) -> npt.NDArray[np.uint64]:
    """64-bit hashes of string ids, computed by DuckDB in one vectorised call."""
    relation = connection.from_arrow(pa.table({"id": ids}))
    hashes = relation.project("hash(id) AS h").fetchnumpy()["h"]
    result: npt.NDArray[np.uint64] = np.asarray(hashes, dtype=np.uint64)
    return result


@dataclass(frozen=True, slots=True)
class LookedUp:
    """What :meth:`SeenIds.look_up` found for a chunk's hashes."""

    first_lines: npt.NDArray[np.int64]
    """The line of each id's first occurrence, 0 when it has not been seen."""
    slots: npt.NDArray[np.int64]
    """The slot each probe stopped at: the id's own, or the free one a new id may take."""
    size: int
    """The table's size then: a table grown since has other slots."""

    def of(self, rows: npt.NDArray[np.bool_]) -> LookedUp:
        """The same for some of the ids."""
        return LookedUp(self.first_lines[rows], self.slots[rows], self.size)


class SeenIds:
    """Hashes of the ids accepted so far, each with the line where it first appeared.

    Linear probing over a power-of-two table, one round of probes per step for
    all the chunk's ids at once; the rounds shrink quickly, as most ids find
    their slot (or learn they are new) at the first probe.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self._count = 0
        self._allocate(self._size_for(capacity))

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return self._keys.nbytes + self._lines.nbytes

    @staticmethod
    def _size_for(ids: int) -> int:
        return 1 << max(4, int(np.ceil(ids / _MAX_LOAD)) - 1).bit_length()

    def _allocate(self, size: int) -> None:
        self._keys = np.zeros(size, dtype=np.uint64)
        self._lines = np.zeros(size, dtype=np.int64)
        self._shift = np.uint64(64 - (size.bit_length() - 1))

    def reserve(self, ids: int) -> None:
        """Make room for ``ids`` ids in all, sparing the table its regrowth on the way there."""
        if ids > _MAX_LOAD * len(self._keys):
            self._grow(self._size_for(ids))

    def _slots(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        return ((hashes * _FIBONACCI) >> self._shift).astype(np.int64)

    @staticmethod
    def _stored(hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        """Hash 0 marks an empty slot, so an id hashing to 0 is stored as 1."""
        return np.where(hashes == _EMPTY, np.uint64(1), hashes)

    def first_lines(self, hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """For each hash, the line of its first occurrence, or 0 when it has not been seen."""
        return self.look_up(hashes).first_lines

    def look_up(self, hashes: npt.NDArray[np.uint64]) -> LookedUp:
        """For each hash, the line of its first occurrence (0 when it has not been seen) and
        the slot its probe stopped at: for a new id, the free slot :meth:`add` may start at."""
        hashes = self._stored(hashes)
        found = np.zeros(len(hashes), dtype=np.int64)
        slots = self._slots(hashes)
        last = len(self._keys) - 1
        active = np.arange(len(hashes))
        while active.size:
            probed = slots[active]
            keys = self._keys[probed]
            hit = keys == hashes[active]
            found[active[hit]] = self._lines[probed[hit]]
            active = active[~hit & (keys != _EMPTY)]  # another id's slot: probe on
            slots[active] = (slots[active] + 1) & last
        return LookedUp(found, slots, len(self._keys))

    def add(
        self,
        hashes: npt.NDArray[np.uint64],
        lines: npt.NDArray[np.int64],
        *,
        looked_up: LookedUp | None = None,
    ) -> None:
        """Remember new ids: ``hashes`` must be distinct and not seen before.

        ``looked_up`` is what :meth:`look_up` found for these ids: every slot their probes
        passed is taken, and stays taken (nothing is removed), so placing them starts where
        the probes stopped instead of going the same way again, unless the table has grown.
        """
        if self._count + len(hashes) > _MAX_LOAD * len(self._keys):
            self._grow(self._size_for(self._count + len(hashes)))
        start = None
        if looked_up is not None and looked_up.size == len(self._keys):
            start = looked_up.slots
        self._place(self._stored(hashes), lines, start)
        self._count += len(hashes)

    def _place(
        self,
        hashes: npt.NDArray[np.uint64],
        lines: npt.NDArray[np.int64],
        start: npt.NDArray[np.int64] | None = None,
    ) -> None:
        slots = self._slots(hashes) if start is None else start.copy()
        last = len(self._keys) - 1
        active = np.arange(len(hashes))
        while active.size:
            probed = slots[active]
            free = self._keys[probed] == _EMPTY
            trying, targets = active[free], probed[free]
            # ids racing for one free slot: the last write wins, the others probe on
            self._keys[targets] = hashes[trying]
            won = self._keys[targets] == hashes[trying]
            self._lines[targets[won]] = lines[trying[won]]
            active = np.concatenate([active[~free], trying[~won]])
            slots[active] = (slots[active] + 1) & last

    def _grow(self, size: int) -> None:
        used = self._keys != _EMPTY
        keys, lines = self._keys[used], self._lines[used]
        self._allocate(size)
        self._place(keys, lines)
