"""Column checks: the fast road for cells of one width agrees with the general one.

Times and dates printed in one width are checked by their marks (``-``, ``T``,
``:``, ``Z``) at fixed places, leaving the digits to Arrow's cast; any other
chunk goes through the full regex. Both must accept and reject the same cells.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.exchange.checks import CheckedColumn, check_column
from qalqan.exchange.schema import Column, Kind

TIME = Column(name="start_time", kind=Kind.TIME, doc="")
DATE = Column(name="activated", kind=Kind.DATE, doc="")

# Mostly well-formed, with any digits (so 2026-02-30 and 25:61:99 turn up), the odd letter,
# space or sign where a digit belongs, and the odd wrong mark.
digit = st.sampled_from("0123456789" * 4 + "a +-")
mark = st.sampled_from(["-", "-", "-", "/", "T", ":"])


@st.composite
def times(draw: st.DrawFn, fraction: int) -> str:
    d = [draw(digit) for _ in range(14)]
    sep = draw(st.sampled_from(["T", "T", "T", " "]))
    text = f"{''.join(d[:4])}{draw(mark)}{d[4]}{d[5]}-{d[6]}{d[7]}{sep}{d[8]}{d[9]}:{d[10]}{d[11]}:{d[12]}{d[13]}"
    if fraction:
        text += "." + "".join(draw(digit) for _ in range(fraction))
    return text + draw(st.sampled_from(["Z", "Z", "Z", "z"]))


@st.composite
def dates(draw: st.DrawFn) -> str:
    d = [draw(digit) for _ in range(8)]
    return f"{''.join(d[:4])}{draw(mark)}{d[4]}{d[5]}-{d[6]}{d[7]}"


def same(fast: CheckedColumn, slow: CheckedColumn, n: int) -> None:
    assert fast.values.equals(slow.values.slice(0, n))
    bad_fast = np.zeros(n, dtype=np.bool_)
    for problem in fast.problems:
        bad_fast |= problem.rows
    bad_slow = np.zeros(n + 1, dtype=np.bool_)
    for problem in slow.problems:
        bad_slow |= problem.rows
    assert (bad_fast == bad_slow[:n]).all()


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 9).flatmap(lambda f: st.lists(times(f), min_size=1, max_size=40)))
def test_times_of_one_width_read_as_by_regex(cells: list[str]) -> None:
    fast = check_column(TIME, pa.array(cells, pa.string()))
    slow = check_column(TIME, pa.array([*cells, "odd width"], pa.string()))
    same(fast, slow, len(cells))


@settings(max_examples=300, deadline=None)
@given(st.lists(dates(), min_size=1, max_size=40))
def test_dates_of_one_width_read_as_by_regex(cells: list[str]) -> None:
    fast = check_column(DATE, pa.array(cells, pa.string()))
    slow = check_column(DATE, pa.array([*cells, "odd width"], pa.string()))
    same(fast, slow, len(cells))
