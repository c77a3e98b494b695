"""Empty cells read off a column's offsets agree with comparing every cell to ""."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.exchange.checks import _empty, _mask


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.just(""), st.text(max_size=3), st.none()), max_size=40),
    st.integers(0, 6),
    st.integers(0, 40),
)
def test_empty_cells_are_those_equal_to_nothing(
    cells: list[str | None], skip: int, take: int
) -> None:
    column = pa.array(cells, pa.string()).slice(min(skip, len(cells)), take)
    assert _empty(column).tolist() == _mask(pc.equal(column, "")).tolist()


def test_a_column_without_nulls_is_read_off_its_offsets() -> None:
    column = pa.array(["", "a", "", "bc", ""]).slice(1)
    assert _empty(column).tolist() == [False, True, False, True]
