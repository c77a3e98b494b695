"""Rolling aggregates: exact windows, forgetting, and bounded memory."""

from __future__ import annotations

import pytest

from qalqan.screening.state import InMemoryStateStore, StateStore, format_window


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
