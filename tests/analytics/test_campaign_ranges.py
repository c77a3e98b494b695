"""A Wangiri operation is one campaign per number range, across bursts, carriers and days."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.analytics.campaigns import BURST_GAP_S, wangiri_ranges

DAY = 86_400


def burst(
    rng: np.random.Generator, base: int, span: int, numbers: int, calls: int, start: float
) -> list[tuple[str, float]]:
    """``calls`` one-ring calls within half an hour from ``numbers`` numbers of ``base + [0, span)``."""
    pool = base + rng.choice(span, size=numbers, replace=False)
    times = start + np.sort(rng.uniform(0, 1800, size=calls))
    return [(f"+{int(rng.choice(pool))}", float(t)) for t in times]


def test_one_operation_over_a_wide_range_and_several_days_is_one_range() -> None:
    rng = np.random.default_rng(4)
    calls = []
    for day in range(5):
        for _ in range(2):
            start = day * DAY + float(rng.uniform(0, DAY - 3600))
            calls += burst(rng, 22245_000_000, 100_000, int(rng.integers(8, 60)), 800, start)
    ranges = wangiri_ranges(calls)
    assert len(ranges) == len({n for n, _ in calls})
    assert set(ranges.values()) == {"+222450"}


def test_two_ranges_of_one_country_bursting_together_stay_apart() -> None:
    rng = np.random.default_rng(5)
    calls = []
    for day in range(3):
        start = day * DAY + 40_000.0
        calls += burst(rng, 22245_000_000, 100_000, 30, 600, start)
        calls += burst(rng, 22247_300_000, 10_000, 12, 300, start + 300)
    ranges = wangiri_ranges(calls)
    first = {r for n, r in ranges.items() if n.startswith("+222450")}
    second = {r for n, r in ranges.items() if n.startswith("+2224730")}
    assert len(first) == 1 and len(second) == 1 and first != second


def test_a_number_seen_alone_joins_the_range_that_covers_it() -> None:
    rng = np.random.default_rng(6)
    calls = burst(rng, 37125_000_000, 1_000, 20, 400, 1_000.0)
    calls.append(("+37125000999", 5 * DAY))  # one call on another day, from a number of the range
    ranges = wangiri_ranges(calls)
    assert ranges["+37125000999"] == ranges[calls[0][0]]


def test_numbers_that_are_not_e164_are_left_out() -> None:
    assert wangiri_ranges([("", 0.0), ("0701", 1.0), ("+12ab", 2.0)]) == {}


operations = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=9),  # a digit after the country code
        st.integers(min_value=2, max_value=6),  # how many digits the range leaves free
        st.integers(min_value=1, max_value=40),  # numbers used
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda op: op[0],
)


@settings(max_examples=60, deadline=None)
@given(ops=operations, seed=st.integers(min_value=0, max_value=2**16))
def test_operations_in_ranges_that_do_not_nest_never_share_a_range(
    ops: list[tuple[int, int, int]], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    calls: list[tuple[str, float]] = []
    owner: dict[str, int] = {}
    for i, (lead, free, count) in enumerate(ops):
        base = (22240 + lead) * 10**6  # +2224<lead>: eleven digits, ranges that do not nest
        span = 10**free
        for day in range(3):
            # each operation bursts at its own time of day, never within a burst gap of another
            start = day * DAY + i * 4 * (1800 + BURST_GAP_S)
            part = burst(rng, base, span, min(count, span), 50, float(start))
            calls += part
            owner.update({n: i for n, _ in part})
    ranges = wangiri_ranges(calls)
    for number, prefix in ranges.items():
        assert number.startswith(prefix) and len(prefix) >= len("+2224")
    by_range: dict[str, set[int]] = {}
    for number, prefix in ranges.items():
        by_range.setdefault(prefix, set()).add(owner[number])
    assert all(len(ops_) == 1 for ops_ in by_range.values())


def test_numbers_of_a_small_range_close_together_are_never_cut_apart() -> None:
    # three neighbours and one more number of the same fifty: a gap out of scale, yet one block
    calls = [(f"+222450000{n:02d}", 100.0 + i) for i, n in enumerate([1, 2, 3, 43] * 5)]
    assert set(wangiri_ranges(calls).values()) == {"+222450000"}
