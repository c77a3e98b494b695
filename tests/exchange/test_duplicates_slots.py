"""Adding ids where their look-up left off keeps the table what adding them afresh makes it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.exchange.duplicates import SeenIds

_CHUNKS = st.lists(st.lists(st.integers(1, 300), max_size=60), max_size=12)


@settings(max_examples=200, deadline=None)
@given(_CHUNKS, st.sampled_from([4, 16, 1024]))
def test_adding_from_the_looked_up_slots_agrees_with_a_dict(
    chunks: list[list[int]], capacity: int
) -> None:
    seen, fresh_start = SeenIds(capacity=capacity), SeenIds(capacity=capacity)
    reference: dict[int, int] = {}
    line = 2
    for ids in chunks:
        hashes = np.array(ids, dtype=np.uint64)  # small values crowd few slots: long probes
        looked_up = seen.look_up(hashes)
        expected = [reference.get(h, 0) for h in ids]
        assert looked_up.first_lines.tolist() == expected
        assert fresh_start.first_lines(hashes).tolist() == expected
        new = np.zeros(len(ids), dtype=np.bool_)
        for i, h in enumerate(ids):
            if h not in reference:
                reference[h] = line + i
                new[i] = True
        lines = np.arange(line, line + len(ids), dtype=np.int64)
        seen.add(hashes[new], lines[new], looked_up=looked_up.of(new))
        fresh_start.add(hashes[new], lines[new])
        line += len(ids)
    everything = np.arange(1, 301, dtype=np.uint64)
    expected = [reference.get(h, 0) for h in range(1, 301)]
    assert seen.first_lines(everything).tolist() == expected
    assert len(seen) == len(reference)


def test_slots_of_a_table_grown_since_are_not_used() -> None:
    seen = SeenIds(capacity=4)
    hashes = np.arange(1, 200, dtype=np.uint64)
    looked_up = seen.look_up(hashes)
    seen.add(hashes, np.arange(len(hashes), dtype=np.int64) + 2, looked_up=looked_up)
    assert seen.first_lines(hashes).tolist() == list(range(2, 201))
