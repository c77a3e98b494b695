"""E.164 numbers told from a column's bytes agree with the pattern they stand for."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.domain.numbers import E164_PATTERN
from qalqan.exchange.checks import _e164

_ODD = st.text(st.sampled_from(["+", "0", "1", "7", "9", " ", "a", "٣", "\n"]), max_size=18)
_CELLS = st.one_of(st.from_regex(E164_PATTERN, fullmatch=True), st.just(""), _ODD)


def _by_pattern(cells: pa.Array) -> list[bool]:
    return [bool(v) for v in pc.fill_null(pc.match_substring_regex(cells, E164_PATTERN), False)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_CELLS, st.none()), max_size=30), st.integers(0, 5))
def test_bytes_and_pattern_agree(cells: list[str | None], skip: int) -> None:
    column = pa.array(cells, pa.string()).slice(min(skip, len(cells)))
    assert _e164(column).tolist() == _by_pattern(column)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.from_regex(r"^\+[0-9]{0,17}$", fullmatch=True), st.just(""))))
def test_cells_of_plus_and_digits_are_read_off_their_bytes(cells: list[str]) -> None:
    column = pa.array(cells, pa.string())
    assert _e164(column).tolist() == _by_pattern(column)


def test_the_edges_of_the_pattern() -> None:
    cells = ["+7701234", "+770123", "+770123456789012", "+7701234567890123", "+0701234567", ""]
    assert _e164(pa.array(cells)).tolist() == [True, False, True, False, False, False]
    cells += ["7701234567", "+7701 34567", "++77012345", "+77012345+"]
    expected = [True, False, True, False, False, False, False, False, False, False]
    assert _e164(pa.array(cells)).tolist() == expected
