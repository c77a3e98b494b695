"""Rolling aggregates: exact windows, forgetting, and bounded memory."""

from __future__ import annotations

import time
from collections.abc import Callable, Sized

import pytest

from qalqan.screening.state import (
    InMemoryStateStore,
    RecentKeys,
    RollingCount,
    RollingDistinct,
    StateStore,
    format_window,
)


def test_names_say_the_window() -> None:
    store = InMemoryStateStore()
    assert store.distinct("distinct_imsi_by_imei", 86_400).name == "distinct_imsi_by_imei_24h"
    assert store.count("one_ring_by_range", 600).name == "one_ring_by_range_10m"
    assert store.recent("contact_pairs", 30 * 86_400).name == "contact_pairs_30d"
    assert [format_window(s) for s in (90, 60, 3600, 86_400, 172_800, 1.5)] == [
        "90s",
        "1m",
        "1h",
        "24h",
        "2d",
        "1.5s",
    ]
    assert isinstance(store, StateStore)


def test_the_same_name_gives_the_same_aggregate_and_kinds_do_not_mix() -> None:
    store = InMemoryStateStore()
    assert store.count("calls", 60) is store.count("calls", 60)
    with pytest.raises(ValueError, match="another kind"):
        store.distinct("calls", 60)
    with pytest.raises(ValueError, match="positive"):
        store.count("calls", 0)


def test_counts_leave_the_window() -> None:
    calls = InMemoryStateStore().count("calls", 600)
    for t in range(0, 300, 10):
        calls.add("r", float(t))
    assert calls.total("r", 299.0) == 30
    assert calls.total("r", 899.0) == 0
    assert calls.total("r", 650.0) in (24, 25)  # exact to a tenth of the window
    assert calls.total("other", 100.0) == 0


def test_distinct_counts_are_exact_and_refreshed_by_repeats() -> None:
    seen = InMemoryStateStore().distinct("sims", 100)
    seen.add("imei", 0.0, "a")
    seen.add("imei", 50.0, "b")
    seen.add("imei", 90.0, "a")  # a again: now fresh
    assert seen.distinct("imei", 95.0) == 2
    assert seen.distinct("imei", 140.0) == 2
    assert seen.distinct("imei", 150.0) == 1  # b left the window at 150
    assert seen.contains("imei", "a", 150.0) and not seen.contains("imei", "b", 150.0)
    assert seen.distinct("imei", 1000.0) == 0


def test_keys_are_forgotten_once_their_window_has_passed() -> None:
    store = InMemoryStateStore()
    seen = store.distinct("sims", 100)
    pairs = store.recent("pairs", 100)
    calls = store.count("calls", 100)
    for i in range(1000):
        t = float(i)
        seen.add(f"k{i}", t, "x")
        pairs.add(f"k{i}", t)
        calls.add(f"k{i}", t)
    assert len(seen) <= 111 and len(pairs) <= 111 and len(calls) <= 111
    assert not pairs.seen("k0", 999.0) and pairs.seen("k990", 999.0)


def test_memory_is_bounded_by_max_keys_and_max_items() -> None:
    store = InMemoryStateStore(max_keys=50, max_items=10)
    seen = store.distinct("callees", 1e9)
    for i in range(500):
        seen.add(f"k{i}", float(i), "x")
        seen.add("busy", float(i), f"n{i}")
    assert len(seen) <= 51
    assert seen.distinct("busy", 500.0) == 10  # saturates at max_items
    assert store.sizes()[seen.name] == len(seen)


# --- a burst of stale keys must not stall the call that finds them stale ---------------------

BURST = 40_000
"""Keys added at one moment, then found stale all at once (scaled down from 300,000)."""
PER_CALL_BOUND = 256
"""Most keys (or one key's items) any one update may forget: the rest wait for later calls."""


def _burst(store: InMemoryStateStore) -> tuple[RollingCount, RollingDistinct, RecentKeys]:
    calls = store.count("calls", 600)
    seen = store.distinct("callees", 600)
    pairs = store.recent("pairs", 600)
    for i in range(BURST):
        calls.add(i, 0.0)
        seen.add(i, 0.0, "x")
        pairs.add(i, 0.0)
    return calls, seen, pairs


def test_one_update_after_a_burst_forgets_a_bounded_number_of_keys_quickly() -> None:
    """300,000 keys at T then one call at T+11 min took 45.9 s; each call's work is now bounded."""
    calls, seen, pairs = _burst(InMemoryStateStore())
    later = 660.0
    updates: list[tuple[Sized, Callable[[], None]]] = [
        (calls, lambda: calls.add("new", later)),
        (seen, lambda: seen.add("new", later, "x")),
        (pairs, lambda: pairs.add("new", later)),
    ]
    for aggregate, update in updates:
        before = len(aggregate)
        started = time.perf_counter()
        update()
        took = time.perf_counter() - started
        forgotten = before + 1 - len(aggregate)
        assert 0 < forgotten <= PER_CALL_BOUND, aggregate
        assert took < 0.02, f"{aggregate}: one update took {took * 1000:.1f} ms"


def test_stale_keys_are_all_forgotten_over_later_calls_in_linear_time() -> None:
    calls, seen, pairs = _burst(InMemoryStateStore())
    started = time.perf_counter()
    for i in range(BURST):
        t = 660.0 + i / 1000
        calls.add(f"n{i}", t)
        seen.add(f"n{i}", t, "x")
        pairs.add(f"n{i}", t)
        if i == 999:
            # The quadratic sweep spent ~0.9 s here (in the first call); a linear one, ~10 ms.
            took = time.perf_counter() - started
            assert took < 0.25, f"the first 1,000 updates after the burst took {took:.2f} s"
    assert len(calls) == len(seen) == len(pairs) == BURST
    assert not pairs.seen(0, 700.0) and pairs.seen("n0", 700.0)
    assert calls.total(0, 700.0) == 0 and seen.distinct(0, 700.0) == 0


def test_a_keys_items_expiring_at_once_are_forgotten_a_bounded_number_per_call() -> None:
    seen = InMemoryStateStore(max_items=20_000).distinct("callees", 600)
    for i in range(20_000):
        seen.add("busy", 0.0, i)
    started = time.perf_counter()
    seen.add("busy", 660.0, "fresh")
    assert time.perf_counter() - started < 0.02
    assert seen.distinct("busy", 660.0) == 1  # stale items never count, forgotten or not
    assert seen.contains("busy", "fresh", 660.0) and not seen.contains("busy", 0, 660.0)
    for i in range(200):
        seen.add("busy", 661.0 + i, f"f{i}")
    assert seen.distinct("busy", 900.0) == 201


def test_windows_stay_exact_while_stale_keys_wait_to_be_forgotten() -> None:
    """Forgetting late never changes an answer: every read checks the window itself."""
    store = InMemoryStateStore()
    calls = store.count("calls", 100)
    pairs = store.recent("pairs", 100)
    for i in range(5_000):
        calls.add(i, 0.0)
        pairs.add(i, 0.0)
    calls.add("a", 150.0)
    pairs.add("a", 150.0)
    assert len(pairs) > 1  # not all forgotten yet
    assert calls.total(4_999, 150.0) == 0 and not pairs.seen(4_999, 150.0)
    assert calls.total("a", 150.0) == 1 and pairs.seen("a", 150.0)
