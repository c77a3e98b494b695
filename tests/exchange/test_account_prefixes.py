"""Accounts told by their prefixes agree with the pattern they stand for."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.exchange.checks import _PATTERNS, _account
from qalqan.exchange.schema import Kind

_PATTERN = _PATTERNS[Kind.ACCOUNT][0]
_PREFIXES = ["bank:", "msisdn:", "ewallet:", "crypto:", "msisdn:+", "bank", "Bank:", ""]
_ODD = st.text(
    st.sampled_from(["+", "0", "1", "7", "9", "a", ":", " ", "\t", "\v", "\x85", "\xa0", "٣", "é"]),
    max_size=18,
)
_CELLS = st.one_of(
    st.from_regex(_PATTERN, fullmatch=True),
    st.just(""),
    st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(_PREFIXES), _ODD),
)


def _by_pattern(cells: pa.Array) -> list[bool]:
    return [bool(v) for v in pc.fill_null(pc.match_substring_regex(cells, _PATTERN), False)]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_CELLS, st.none()), max_size=30), st.integers(0, 5))
def test_prefixes_and_pattern_agree(cells: list[str | None], skip: int) -> None:
    column = pa.array(cells, pa.string()).slice(min(skip, len(cells)))
    assert _account(column).tolist() == _by_pattern(column)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda prefix, rest: prefix + rest,
            st.sampled_from(_PREFIXES),
            st.text(st.sampled_from(["+", "0", "1", "7", "K", "Z", "é", "٣"]), max_size=17),
        ),
        min_size=1,
    )
)
def test_cells_without_white_space_are_told_by_prefix(cells: list[str]) -> None:
    column = pa.array(cells, pa.string())
    assert _account(column).tolist() == _by_pattern(column)


def test_the_edges_of_the_pattern() -> None:
    cells = ["bank:KZ1", "bank:", "msisdn:+7701234", "msisdn:+770123", "msisdn:+0701234567"]
    cells += ["ewallet:x", "ewallet:", "crypto:0xAB", "crypto", "card:1234", "", "msisdn:7701234"]
    expected = [True, False, True, False, False, True, False, True, False, False, False, False]
    assert _account(pa.array(cells)).tolist() == expected
    assert _by_pattern(pa.array(cells)) == expected
    spaced = ["bank:KZ 1", "bank:KZ1", "bank:\vKZ", "bank:\xa0"]
    assert _account(pa.array(spaced)).tolist() == _by_pattern(pa.array(spaced))
