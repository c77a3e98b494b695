"""CSV cells as text: ASCII columns taken as they stand, anything else validated by Arrow."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.exchange.checks import decode_text

_CELL = st.one_of(st.binary(max_size=6), st.text(max_size=4).map(str.encode))  # never null in CSV


@settings(max_examples=300, deadline=None)
@given(st.lists(_CELL, max_size=30), st.integers(0, 5))
def test_text_is_what_arrow_reads_and_bad_cells_are_named(cells: list[bytes], skip: int) -> None:
    raw = pa.array(cells, pa.binary()).slice(min(skip, len(cells)))
    text, problem = decode_text("a_imei", raw)
    bad = []
    for cell in raw.to_pylist():
        try:
            bad.append(not isinstance(cell.decode("utf-8"), str))
        except UnicodeDecodeError:
            bad.append(True)
    if problem is None:
        assert not any(bad)
        assert text.equals(pc.cast(raw, pa.string()))
    else:
        assert problem.rows.tolist() == bad
