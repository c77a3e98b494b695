"""The table of seen ids agrees with a plain Python dict, however the ids arrive."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.exchange.duplicates import SeenIds, hash_ids


def test_first_lines_and_growth_agree_with_a_dict() -> None:
    rng = np.random.default_rng(7)
    seen = SeenIds(capacity=16)
    reference: dict[int, int] = {}
    line = 2
    for _ in range(40):
        hashes = rng.integers(0, 50_000, 2_000).astype(np.uint64)  # many repeats
        found = seen.first_lines(hashes)
        assert found.tolist() == [reference.get(int(h), 0) for h in hashes]
        fresh, first = np.unique(hashes[found == 0], return_index=True)
        lines = np.arange(line, line + len(hashes))[found == 0][first]
        seen.add(fresh, lines)
        reference.update(zip(fresh.tolist(), lines.tolist(), strict=True))
        line += len(hashes)
    assert len(seen) == len(reference)


def test_hash_zero_is_an_id_like_any_other() -> None:
    seen = SeenIds()
    seen.add(np.array([0, 1], dtype=np.uint64), np.array([5, 6]))
    assert seen.first_lines(np.array([0, 1, 2], dtype=np.uint64)).tolist()[2] == 0


def test_reserve_keeps_what_is_there() -> None:
    seen = SeenIds()
    seen.add(np.arange(1, 1001, dtype=np.uint64), np.arange(1000))
    seen.reserve(1_000_000)
    assert seen.first_lines(np.array([1, 1000, 1001], dtype=np.uint64)).tolist() == [0, 999, 0]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.text(max_size=6), max_size=30), max_size=6))
def test_hashing_real_ids(chunks: list[list[str]]) -> None:
    connection = duckdb.connect()
    seen = SeenIds(capacity=4)
    first: dict[str, int] = {}
    line = 2
    for ids in chunks:
        hashes = hash_ids(pa.array(ids, pa.string()), connection)
        assert seen.first_lines(hashes).tolist() == [first.get(text, 0) for text in ids]
        fresh: dict[str, tuple[np.uint64, int]] = {}
        for i, text in enumerate(ids):
            if text not in first and text not in fresh:
                fresh[text] = (hashes[i], line + i)
        seen.add(
            np.array([h for h, _ in fresh.values()], dtype=np.uint64),
            np.array([n for _, n in fresh.values()], dtype=np.int64),
        )
        first.update({t: n for t, (_, n) in fresh.items()})
        line += len(ids)
