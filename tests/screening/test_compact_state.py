"""The compact state answers as the exact one does, within what it says of itself, in bounded memory."""

from __future__ import annotations

import heapq
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.domain.model import Action, Event
from qalqan.exchange.reader import DataSet
from qalqan.screening.compact_state import CompactStateStore, collision_rate, raw_hashes
from qalqan.screening.config import lint_config, parse_config
from qalqan.screening.engine import ScreeningEngine
from qalqan.screening.replay import recorded_calls, sorted_cdrs
from qalqan.screening.signals import CallOutcome
from qalqan.screening.state import (
    InMemoryStateStore,
    RecentKeys,
    RollingCount,
    RollingDistinct,
    StateStore,
    counting_this,
)
from qalqan.simulator.operator import SimulationSummary
from tests.screening.conftest import timeless

KEYS = st.sampled_from(["+77011000001", "+77011000002", ("voip:x", "+7701"), "404", "k"])
ITEMS = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])
STEPS = st.floats(min_value=0.0, max_value=40.0, allow_nan=False)
"""Seconds between two updates: times move forward, as the engine's do."""


def test_the_compact_store_is_a_state_store_with_the_same_names() -> None:
    store = CompactStateStore()
    assert isinstance(store, StateStore)
    assert isinstance(store.count("calls_by_route", 3600), RollingCount)
    assert isinstance(store.distinct("distinct_imsi_by_imei", 86_400), RollingDistinct)
    assert isinstance(store.recent("contact_pairs", 30 * 86_400), RecentKeys)
    assert store.recent("contact_pairs", 30 * 86_400).name == "contact_pairs_30d"
    assert store.count("calls", 60) is store.count("calls", 60)
    with pytest.raises(ValueError, match="another kind"):
        store.distinct("calls", 60)
    with pytest.raises(ValueError, match="positive"):
        store.count("calls", 0)
    assert store.sizes() == {
        "calls_1m": 0,
        "calls_by_route_1h": 0,
        "contact_pairs_30d": 0,
        "distinct_imsi_by_imei_24h": 0,
    }


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(KEYS, STEPS, st.integers(min_value=1, max_value=300)), max_size=80))
def test_counts_are_exactly_the_exact_stores(events: list[tuple[object, float, int]]) -> None:
    exact = InMemoryStateStore().count("calls", 100)
    compact = CompactStateStore().count("calls", 100)
    t = 1_000.0
    for key, step, amount in events:
        t += step
        exact.add(key, t, amount)
        compact.add(key, t, amount)
        for probe in ("+77011000001", ("voip:x", "+7701"), "k", "never"):
            for later in (t, t + 7.0, t + 55.0, t + 95.0, t + 120.0):
                assert compact.total(probe, later) == exact.total(probe, later)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(KEYS, st.integers(min_value=0, max_value=40)), max_size=80))
def test_recent_keys_are_exactly_the_exact_stores_to_the_second(
    events: list[tuple[object, int]],
) -> None:
    exact = InMemoryStateStore().recent("pairs", 100)
    compact = CompactStateStore().recent("pairs", 100)
    t = 1_000
    for key, step in events:
        t += step
        exact.add(key, float(t))
        compact.add(key, float(t))
        for probe in ("+77011000001", ("voip:x", "+7701"), "k", "never"):
            for later in (t, t + 1, t + 99, t + 100, t + 101):
                assert compact.seen(probe, float(later)) == exact.seen(probe, float(later))


def _tenths_reference(
    events: list[tuple[object, float, object]], key: object, t: float, width: float
) -> set[object]:
    """Items of ``key`` whose last sighting lies in the ten tenths of the window ending at ``t``."""
    last: dict[object, int] = {}
    for k, seen, item in events:
        if k == key and seen <= t:
            last[item] = int(seen // width)
    oldest = int(t // width) - 9
    return {item for item, tenth in last.items() if tenth >= oldest}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(KEYS, STEPS, ITEMS), max_size=60))
def test_distinct_counts_are_exact_to_a_tenth_of_the_window(
    events: list[tuple[object, float, object]],
) -> None:
    window = 100.0
    exact = InMemoryStateStore().distinct("callees", window)
    nine_tenths = InMemoryStateStore().distinct("callees", 0.9 * window)
    compact = CompactStateStore().distinct("callees", window)
    t = 1_000.0
    done: list[tuple[object, float, object]] = []
    for key, step, item in events:
        t += step
        for probe in ("+77011000001", ("voip:x", "+7701"), "k"):
            # what a rule asks before the attempt is remembered
            expected = _tenths_reference(done, probe, t, window / 10)
            assert compact.distinct(probe, t) == len(expected)
            assert counting_this(compact, probe, item, t) == len(expected | {item})
            for other in ("a", "g"):
                assert compact.contains(probe, other, t) == (other in expected)
            # the window is nine to ten tenths long: never more than the exact count
            assert nine_tenths.distinct(probe, t) <= compact.distinct(probe, t)
            assert compact.distinct(probe, t) <= exact.distinct(probe, t)
        exact.add(key, t, item)
        nine_tenths.add(key, t, item)
        compact.add(key, t, item)
        done.append((key, t, item))


def test_a_key_past_255_events_a_tenth_keeps_counting() -> None:
    calls = CompactStateStore().count("calls_by_route", 3600)
    for i in range(1000):
        calls.add("voip:busy", 100.0 + i * 0.01)
    calls.add("voip:busy", 100.0, amount=70_000)
    assert calls.total("voip:busy", 120.0) == 71_000
    sims = CompactStateStore().distinct("sims_by_site", 7200)
    for i in range(600):
        sims.add("site-1", 10.0, f"imsi-{i}")
    sims.add("site-1", 800.0, "imsi-0")  # seen again a tenth later: counted once
    assert sims.distinct("site-1", 800.0) == 600
    assert sims.contains("site-1", "imsi-599", 800.0)


def test_many_keys_grow_the_tables_and_every_one_is_still_answered() -> None:
    store = CompactStateStore(max_keys=200_000)
    pairs = store.recent("contact_pairs", 30 * 86_400)
    calls = store.count("calls_received_by_number", 86_400)
    sims = store.distinct("distinct_imsi_by_imei", 86_400)
    n = 30_000
    for i in range(n):
        t = 1_000.0 + i
        pairs.add((f"+7701{i:07d}", f"+7702{i:07d}"), t)
        calls.add(f"+7701{i:07d}", t, amount=1 + i % 3)
        sims.add(f"imei-{i}", t, f"imsi-{i}")
        if i % 5 == 0:
            sims.add(f"imei-{i}", t, f"imsi-{i}-b")
    t = 1_000.0 + n
    assert all(pairs.seen((f"+7701{i:07d}", f"+7702{i:07d}"), t) for i in range(n))
    assert not any(pairs.seen((f"+7702{i:07d}", f"+7701{i:07d}"), t) for i in range(n))
    assert all(calls.total(f"+7701{i:07d}", t) == 1 + i % 3 for i in range(n))
    assert all(sims.distinct(f"imei-{i}", t) == (2 if i % 5 == 0 else 1) for i in range(n))
    assert len(pairs) == len(calls) == len(sims) == n
    held = store.nbytes()
    assert held["contact_pairs_30d"] / n < 20  # bytes a pair, where Python objects take ~300
    assert held["calls_received_by_number_24h"] / n < 40


def test_memory_is_bounded_by_max_keys_and_max_items() -> None:
    store = CompactStateStore(max_keys=50, max_items=10)
    seen = store.distinct("sims", 10_000)
    pairs = store.recent("pairs", 10_000)
    calls = store.count("calls", 10_000)
    for i in range(1_000):
        t = float(i)
        seen.add(f"k{i}", t, "x")
        pairs.add(f"k{i}", t)
        calls.add(f"k{i}", t)
    assert len(seen) <= 50 and len(pairs) <= 50 and len(calls) <= 50
    assert pairs.seen("k999", 999.0) and calls.total("k999", 999.0) == 1  # the newest stays
    for i in range(100):
        seen.add("busy", 1_000.0, f"item{i}")
    assert seen.distinct("busy", 1_000.0) == 10  # saturates at max_items


def test_stale_keys_give_their_slots_to_new_ones() -> None:
    pairs = CompactStateStore(max_keys=100_000).recent("pairs", 100)
    for i in range(20_000):
        pairs.add(f"k{i}", float(i))  # never more than 100 live at once
    assert len(pairs) < 2_000
    assert pairs.seen("k19999", 19_999.0) and not pairs.seen("k0", 19_999.0)


def test_fingerprints_are_keyed_with_the_stores_secret() -> None:
    def layout(secret: int) -> list[int]:
        store = CompactStateStore(max_keys=50, secret=secret)
        pairs = store.recent("pairs", 100)
        for i in range(40):
            pairs.add(f"k{i}", 1.0)
        shard = pairs._table.shards[0]  # type: ignore[attr-defined]
        return list(shard.fpv)

    assert layout(1) == layout(1)
    assert layout(1) != layout(2)
    assert collision_rate(60_000_000, max_keys=100_000_000) < 4e-6


def test_the_rules_file_chooses_the_store() -> None:
    assert isinstance(ScreeningEngine(timeless(parse_config(""))).state, InMemoryStateStore)
    engine = ScreeningEngine(timeless(parse_config("state: {store: compact}")))
    assert isinstance(engine.state, CompactStateStore)
    assert engine.state.max_keys == 2_000_000
    problems = lint_config("state: {store: bloom}")
    assert [p.path for p in problems] == ["state.store"]
    assert "exact, compact" in problems[0].message


def _screen_all(
    engine: ScreeningEngine, calls: list[CallOutcome]
) -> list[tuple[Action, list[str]]]:
    """Screen every call as a node would, each voice call's outcome revealed 30 s after it ended."""
    pending: list[tuple[float, int, CallOutcome]] = []
    answers = []
    for i, call in enumerate(calls):
        attempt = call.attempt
        t = attempt.time.timestamp()
        while pending and pending[0][0] <= t:
            engine.observe(heapq.heappop(pending)[2])
        decision = engine.screen(attempt)
        answers.append((decision.action, sorted(r.rule for r in decision.reasons)))
        if call.event is Event.VOICE:
            outcome = CallOutcome(
                attempt=attempt,
                answered=call.answered,
                duration_s=call.duration_s,
                action=decision.action,
            )
            heapq.heappush(pending, (t + call.duration_s + 30.0, i, outcome))
    return answers


def test_decisions_with_the_compact_store_agree_with_the_exact_store(
    small_operator: SimulationSummary, tmp_path: Path
) -> None:
    """A simulated operator's two days screened with each store: the same decisions, nearly all."""
    calls: list[CallOutcome] = []
    for batch in sorted_cdrs(DataSet.open(small_operator.out_dir), tmp_path, quarantine=None):
        calls.extend(recorded_calls(batch))
    exact, compact = (
        _screen_all(
            ScreeningEngine.from_dataset(
                small_operator.out_dir, timeless(parse_config(f"state: {{store: {store}}}"))
            ),
            calls,
        )
        for store in ("exact", "compact")
    )
    same_action = sum(a[0] == b[0] for a, b in zip(exact, compact, strict=True)) / len(calls)
    same = sum(a == b for a, b in zip(exact, compact, strict=True)) / len(calls)
    intercepted = sum(a[0] is not Action.ALLOW for a in exact)
    print(
        f"{len(calls):,} attempts ({intercepted:,} intercepted with the exact store): "
        f"{same_action:.2%} same action, {same:.2%} same action and reasons"
    )
    assert len(calls) > 5_000 and intercepted > 100
    assert same_action >= 0.99
    assert same >= 0.99


def test_filling_at_once_answers_as_updating_one_by_one() -> None:
    rnd = random.Random(3)
    keys = [f"+7701{rnd.randrange(3000):07d}" for _ in range(20_000)]
    items = [f"+7702{rnd.randrange(50):07d}" for _ in range(20_000)]
    times = np.sort(np.array([rnd.uniform(0.0, 1000.0) for _ in range(20_000)]))
    one_by_one = CompactStateStore(max_keys=100_000, secret=7)
    at_once = CompactStateStore(max_keys=100_000, secret=7)
    for key, item, t in zip(keys, items, times.tolist(), strict=True):
        one_by_one.count("calls", 600).add(key, t)
        one_by_one.distinct("callees", 600).add(key, t, item)
        one_by_one.recent("pairs", 600).add(key, t)
    key_hashes, item_hashes = raw_hashes(keys), raw_hashes(items)
    at_once.fill_count("calls", 600, key_hashes, times, np.ones(len(keys), dtype=np.int64))
    at_once.fill_distinct("callees", 600, key_hashes, item_hashes, times)
    at_once.fill_recent("pairs", 600, key_hashes, times)
    # Added one by one, a new key may take the slot of a key whose window has passed (its
    # answers are 0 either way); filled at once, every key gets a slot. So the sizes differ
    # by at most the keys gone quiet for a window before the last call, and never the other way.
    last_seen = dict(zip(keys, times.tolist(), strict=True))
    quiet = sum(t < float(times[-1]) - 600 for t in last_seen.values())
    for name, size in one_by_one.sizes().items():
        assert size <= at_once.sizes()[name] <= size + quiet, name
    for key, item in zip(keys[:3000], items[:3000], strict=True):
        for t in (1000.0, 1100.0, 1400.0):
            assert at_once.count("calls", 600).total(key, t) == one_by_one.count(
                "calls", 600
            ).total(key, t)
            a, b = one_by_one.distinct("callees", 600), at_once.distinct("callees", 600)
            assert a.distinct(key, t) == b.distinct(key, t)
            assert a.contains(key, item, t) == b.contains(key, item, t)
            assert one_by_one.recent("pairs", 600).seen(key, t) == at_once.recent(
                "pairs", 600
            ).seen(key, t)
    with pytest.raises(ValueError, match="empty"):
        at_once.fill_recent("pairs", 600, key_hashes, times)


def test_a_fingerprint_astride_two_slots_is_not_taken_for_one() -> None:
    from qalqan.screening.compact_state import _Shard

    shard = _Shard(1, 0, "B")
    shard.fpv[0] = 0x2222_1111  # bytes 11 11 22 22, then 33 33 44 44: 22 22 33 33 astride
    shard.fpv[1] = 0x4444_3333
    assert shard.find(0x3333_2222) == -1
    shard.fpv[5] = 0x3333_2222
    assert shard.find(0x3333_2222) == 5
    assert shard.find(0x2222_1111) == 0 and shard.find(0x4444_3333) == 1


@pytest.mark.parametrize(("seed", "warned"), [("0", True), ("random", False)])
def test_a_node_with_a_fixed_hash_seed_is_warned(seed: str, warned: bool) -> None:
    """Fingerprints are only as secret as Python's string hash: a fixed seed is said aloud."""
    code = (
        "import logging; logging.basicConfig(); "
        "from qalqan.screening.compact_state import CompactStateStore; CompactStateStore()"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert ("PYTHONHASHSEED is fixed" in ran.stderr) is warned
