"""A cluster of screening nodes judges as one node would: the event log in a real Redis.

The invariant: a call's decision does not depend on which node of the cluster it
landed on. Two engines sharing one stream, fed the attempts of a simulated
operator in turn, decide every attempt exactly as one engine fed them all does;
a node started late catches up from the snapshot and the stream and then
decides like the others, nothing counted twice. Around it: the store killed and
restarted under both policies, hostile events and snapshots, and the group
commit that keeps every decision in the log before its answer leaves.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import msgpack  # type: ignore[import-untyped]
import pytest
import redis

from qalqan.domain.model import Action, CallAttempt, Decision, Ingress
from qalqan.exchange.reader import DataSet
from qalqan.screening.cluster import (
    ClusterError,
    ClusterSettings,
    SharedState,
    decode_event,
    encode_attempt,
    encode_outcome,
)
from qalqan.screening.config import load_config
from qalqan.screening.engine import ScreeningEngine
from qalqan.screening.node import NodeSettings, ScreeningNode
from qalqan.screening.replay import recorded_calls, sorted_cdrs
from qalqan.screening.signals import CallOutcome
from qalqan.screening.state import InMemoryStateStore
from qalqan.simulator.operator import SimulationSummary
from tests.screening.conftest import RedisServer, timeless

ATTEMPTS = 1200


@pytest.fixture(scope="module")
def calls(
    small_operator: SimulationSummary, tmp_path_factory: pytest.TempPathFactory
) -> list[CallOutcome]:
    """The first attempts of the small simulated operator, in time order, with how they ended."""
    dataset = DataSet.open(small_operator.out_dir)
    scratch = tmp_path_factory.mktemp("sorted")
    found: list[CallOutcome] = []
    for batch in sorted_cdrs(dataset, scratch, quarantine=None):
        found.extend(recorded_calls(batch))
        if len(found) >= ATTEMPTS:
            break
    return found[:ATTEMPTS]


def engine_of(summary: SimulationSummary) -> ScreeningEngine:
    return ScreeningEngine.from_dataset(summary.out_dir, timeless(load_config()))


def settings(server: RedisServer, node_id: str, **changes: object) -> ClusterSettings:
    given: dict[str, object] = {"snapshot_every_s": 3600.0, "catch_up_timeout_s": 5.0}
    given.update(changes)
    return ClusterSettings(url=server.url, node_id=node_id, **given)  # type: ignore[arg-type]


def said(decision: Decision) -> tuple[str, float, tuple[str, ...]]:
    return decision.action.value, decision.score, tuple(r.rule for r in decision.reasons)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the cluster did not get there in time")
        time.sleep(0.002)


def teach(
    engine_observe: Callable[[CallOutcome], None], call: CallOutcome, decision: Decision
) -> None:
    """How a call the engine allowed ended: what a face reports with /v1/outcome."""
    if decision.action is Action.ALLOW:
        engine_observe(
            CallOutcome(
                attempt=call.attempt,
                answered=call.answered,
                duration_s=call.duration_s,
                action=decision.action,
                event=call.event,
            )
        )


def one_engine(summary: SimulationSummary, calls: list[CallOutcome]) -> list[tuple[object, ...]]:
    engine = engine_of(summary)
    decided = []
    for call in calls:
        decision = engine.screen(call.attempt)
        teach(engine.observe, call, decision)
        decided.append(said(decision))
    return decided


@pytest.fixture
def started() -> Iterator[list[SharedState]]:
    """Shared states a test starts; each is stopped afterwards."""
    states: list[SharedState] = []
    yield states
    for state in states:
        state.stop()


def join(
    summary: SimulationSummary,
    server: RedisServer,
    node_id: str,
    started: list[SharedState],
    **changes: object,
) -> SharedState:
    shared = SharedState(engine_of(summary), settings(server, node_id, **changes))
    shared.start()
    started.append(shared)
    return shared


def screen_on(shared: SharedState, call: CallOutcome) -> Decision:
    """What a node does with one call: apply the others' events, decide, publish, commit."""
    shared.apply_pending()
    decision = shared.engine.screen(call.attempt)
    shared.recorded(call.attempt, decision)
    teach(shared.observe, call, decision)
    assert shared.commit()
    return decision


def converge(nodes: list[SharedState]) -> None:
    """Wait until every node applied every other node's events (up to each one's last)."""

    def done() -> bool:
        for node in nodes:
            node.apply_pending()
        return all(
            node._applied.get(other.node_id, other._seq_base) >= other._seq
            for node in nodes
            for other in nodes
            if other is not node
        )

    wait_for(done)


def test_two_nodes_in_turn_decide_every_attempt_as_one_engine(
    small_operator: SimulationSummary,
    calls: list[CallOutcome],
    redis_server: RedisServer,
    started: list[SharedState],
) -> None:
    expected = one_engine(small_operator, calls)
    nodes = [join(small_operator, redis_server, name, started) for name in ("a", "b")]
    decided = []
    for i, call in enumerate(calls):
        decided.append(said(screen_on(nodes[i % 2], call)))
        converge(nodes)
    assert decided == expected
    assert sum(d[0] != "allow" for d in decided) > 10  # the sequence has fraud in it to judge
    assert nodes[0].metrics.applied.get() > 0 and nodes[1].metrics.applied.get() > 0


def test_without_sharing_two_nodes_judge_differently(
    small_operator: SimulationSummary, calls: list[CallOutcome]
) -> None:
    """The control of the test above: two engines alone, fed the same turns, differ."""
    expected = one_engine(small_operator, calls)
    engines = [engine_of(small_operator), engine_of(small_operator)]
    decided = []
    for i, call in enumerate(calls):
        engine = engines[i % 2]
        decision = engine.screen(call.attempt)
        teach(engine.observe, call, decision)
        decided.append(said(decision))
    assert decided != expected


def held(state: InMemoryStateStore, t: float) -> dict[str, dict[object, object]]:
    """What every aggregate says of every key at ``t`` (order and forgetting aside)."""
    found: dict[str, dict[object, object]] = {}
    for name, agg in state._aggregates.items():
        keys = list(agg._keys)
        if hasattr(agg, "total"):
            values = {k: agg.total(k, t) for k in keys}
        elif hasattr(agg, "distinct"):
            values = {k: agg.distinct(k, t) for k in keys}
        else:
            values = {k: agg.seen(k, t) for k in keys}
        found[name] = {k: v for k, v in values.items() if v}
    return found


def test_a_node_started_late_catches_up_and_counts_nothing_twice(
    small_operator: SimulationSummary,
    calls: list[CallOutcome],
    redis_server: RedisServer,
    started: list[SharedState],
) -> None:
    expected = one_engine(small_operator, calls)
    a, b = (join(small_operator, redis_server, name, started) for name in ("a", "b"))
    third, two_thirds = len(calls) // 3, 2 * len(calls) // 3
    for i, call in enumerate(calls[:third]):
        screen_on((a, b)[i % 2], call)
        converge([a, b])
    assert a.snapshot(force=True)
    wait_for(lambda: a.metrics.snapshots.get(("written",)) == 1)
    for i, call in enumerate(calls[third:two_thirds]):  # events after the snapshot
        screen_on((a, b)[i % 2], call)
        converge([a, b])
    late = join(small_operator, redis_server, "late", started)
    assert late.ready and late.metrics.snapshots.get(("loaded",)) == 1
    # The snapshot held a third of the events; the stream gave the rest, each once.
    assert 0 < late.metrics.applied.get() < a.metrics.published.get() + b.metrics.published.get()
    t = calls[two_thirds - 1].attempt.time.timestamp()
    reference = engine_of(small_operator)
    for call, _ in zip(calls[:two_thirds], expected, strict=False):
        teach(reference.observe, call, reference.screen(call.attempt))
    assert isinstance(late.engine.state, InMemoryStateStore)
    assert isinstance(reference.state, InMemoryStateStore)
    assert held(late.engine.state, t) == held(reference.state, t)
    nodes = [a, b, late]
    decided = []
    for i, call in enumerate(calls[two_thirds:]):
        decided.append(said(screen_on(nodes[i % 3], call)))
        converge(nodes)
    assert decided == expected[two_thirds:]


def test_commit_returns_once_the_stream_holds_the_events(
    small_operator: SimulationSummary,
    calls: list[CallOutcome],
    redis_server: RedisServer,
    started: list[SharedState],
) -> None:
    shared = join(small_operator, redis_server, "a", started)
    client = redis.Redis.from_url(redis_server.url)
    for call in calls[:20]:
        shared.recorded(call.attempt, shared.engine.screen(call.attempt))
    assert client.xlen("qalqan:screening") == 0 and shared.pending == 20
    assert shared.commit()
    entries = client.xrange("qalqan:screening")
    assert len(entries) == 20 and shared.pending == 0
    events = [decode_event(fields[b"e"], max_bytes=4096) for _, fields in entries]
    assert [e.attempt.record_id for e in events] == [c.attempt.record_id for c in calls[:20]]
    assert [e.seq for e in events] == sorted(e.seq for e in events)


def test_a_backlog_is_applied_a_bounded_number_at_a_time_in_order(
    small_operator: SimulationSummary,
    calls: list[CallOutcome],
    redis_server: RedisServer,
    started: list[SharedState],
) -> None:
    """A decision never waits for a whole backlog of the others' events: at most a bounded
    number is applied before it, the oldest first, and nothing is skipped."""
    a = join(small_operator, redis_server, "a", started)
    b = join(small_operator, redis_server, "b", started)
    for call in calls[:30]:
        b.recorded(call.attempt, b.engine.screen(call.attempt))
    assert b.commit()
    wait_for(lambda: len(a._inbox) == 30)
    assert a.apply_pending(limit=12) == 12 and len(a._inbox) == 18
    assert a._applied["b"] == b._seq - 18  # the oldest twelve, in order
    assert a.apply_pending() == 18 and a._applied["b"] == b._seq


def attempt_at(second: int, callee: str = "+77011230000") -> CallAttempt:
    return CallAttempt(
        time=datetime(2026, 3, 2, 10, 0, second, 123_456, tzinfo=UTC),
        caller="+380671234567",
        callee=callee,
        ingress=Ingress.parse("international:carrierA"),
        imsi=None,
        record_id=f"r{second}",
    )


def test_events_come_back_as_they_went_and_hostile_ones_are_refused() -> None:
    attempt = attempt_at(1)
    decision = Decision(action=Action.ALLOW, score=0.0)
    event = decode_event(encode_attempt("a", 7, attempt, decision, now=1.5), max_bytes=4096)
    assert (event.origin, event.seq, event.published, event.attempt) == ("a", 7, 1.5, attempt)
    assert event.allowed and event.fired == frozenset()
    outcome = CallOutcome(attempt=attempt, answered=True, duration_s=30.0, action=Action.ALLOW)
    back = decode_event(encode_outcome("a", 8, outcome, now=2.0), max_bytes=4096)
    assert back.outcome == outcome
    for hostile in (
        b"\xc1",  # never used in MessagePack
        msgpack.packb([1, "a", "x", 1, 0.0]),  # too short
        msgpack.packb(
            [1, "a", "x", 1, 0.0, 0, None, "+7", "nowhere", None, None, None, None, [], True]
        ),
        msgpack.packb(
            [1, "a", "x", 1, 0.0, 0, None, "+7" * 200, "mobile", None, None, None, None, [], True]
        ),
        msgpack.packb({"a": 1}),
        msgpack.packb(
            [
                1,
                "o",
                "x",
                1,
                0.0,
                0,
                None,
                "+7",
                "mobile",
                None,
                None,
                None,
                None,
                True,
                -1,
                None,
                "voice",
            ]
        ),
    ):
        with pytest.raises(ValueError):
            decode_event(hostile, max_bytes=4096)
    with pytest.raises(ValueError, match="over the limit"):
        decode_event(b"\x00" * 5000, max_bytes=4096)


def test_malformed_and_oversized_events_are_skipped_and_counted(
    small_operator: SimulationSummary, redis_server: RedisServer, started: list[SharedState]
) -> None:
    shared = join(small_operator, redis_server, "a", started)
    client = redis.Redis.from_url(redis_server.url)
    client.xadd("qalqan:screening", {"e": b"\xc1not msgpack"})
    client.xadd("qalqan:screening", {"other": b"x"})
    client.xadd("qalqan:screening", {"e": b"\x00" * 10_000})
    good = encode_attempt("b", 1, attempt_at(2), Decision(action=Action.ALLOW, score=0.0), now=0.0)
    client.xadd("qalqan:screening", {"e": good})
    wait_for(lambda: shared.apply_pending() > 0 or shared.metrics.applied.get() == 1)
    assert shared.metrics.applied.get() == 1
    assert shared.metrics.skipped.get(("malformed",)) == 2
    assert shared.metrics.skipped.get(("oversized",)) == 1
    client.xadd("qalqan:screening", {"e": good})  # the same event again: held already
    wait_for(lambda: (shared.apply_pending(), shared.metrics.skipped.get(("duplicate",)))[1] == 1)
    assert shared.ready and shared.store_up


def test_a_snapshot_bomb_is_refused_and_the_stream_still_catches_up(
    small_operator: SimulationSummary, redis_server: RedisServer, started: list[SharedState]
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.set("qalqan:screening:snapshot", zlib.compress(b"\x00" * 50_000_000, 9))
    good = encode_attempt("b", 1, attempt_at(3), Decision(action=Action.ALLOW, score=0.0), now=0.0)
    client.xadd("qalqan:screening", {"e": good})
    shared = join(small_operator, redis_server, "a", started, max_snapshot_mb=1.0)
    assert shared.ready
    assert shared.metrics.snapshots.get(("refused",)) == 1
    assert shared.metrics.applied.get() == 1
    client.set("qalqan:screening:snapshot", zlib.compress(msgpack.packb({"format": 1, "state": 3})))
    other = join(small_operator, redis_server, "c", started)
    assert other.metrics.snapshots.get(("refused",)) == 1 and other.metrics.applied.get() == 1


def node_on(
    summary: SimulationSummary, server: RedisServer, node_id: str, **changes: object
) -> ScreeningNode:
    cluster = settings(server, node_id, commit_timeout_ms=200.0, **changes)
    node = ScreeningNode.build(
        NodeSettings(deadline_ms=10_000.0), data=summary.out_dir, cluster=cluster
    )
    assert node.engine is not None
    node.engine.config = timeless(node.engine.config)
    node.start()
    return node


def test_store_lost_failing_open_answers_with_the_store_reason_and_says_so(
    small_operator: SimulationSummary, calls: list[CallOutcome], redis_server: RedisServer
) -> None:
    node = node_on(small_operator, redis_server, "a")
    try:
        node.screen(calls[0].attempt, face="sip")
        assert node.commit() and node.store_up
        redis_server.kill()
        wait_for(lambda: node.store_up is False)
        decision = node.screen(calls[1].attempt, face="sip")
        assert [r.rule for r in decision.reasons] == ["sip.fail_open.store"]
        assert decision.action is Action.ALLOW  # the node's fail-open action
        assert node.metrics.fail_open.get(("store",)) == 1
        assert "qalqan_cluster_store_up 0" in node.metrics.render_lines()
        redis_server.restart()
        wait_for(lambda: node.store_up is True)
        again = node.screen(calls[2].attempt, face="sip")
        assert not any(r.rule.endswith("fail_open.store") for r in again.reasons)
        assert node.commit()
        assert "qalqan_cluster_store_up 1" in node.metrics.render_lines()
    finally:
        node.stop()


def test_store_lost_judging_locally_keeps_judging_and_publishes_what_it_kept(
    small_operator: SimulationSummary, calls: list[CallOutcome], redis_server: RedisServer
) -> None:
    node = node_on(small_operator, redis_server, "a", on_store_loss="judge_locally", max_pending=30)
    assert node.shared is not None
    try:
        node.screen(calls[0].attempt, face="sip")
        assert node.commit()
        redis_server.kill()
        wait_for(lambda: node.store_up is False)
        for call in calls[1:41]:
            decision = node.screen(call.attempt, face="sip")
            assert not any(r.rule.endswith("fail_open.store") for r in decision.reasons)
            assert node.commit() is False
        assert node.shared.pending == 30
        assert node.shared.metrics.dropped.get() == 10
        assert "qalqan_cluster_pending_events 30" in node.metrics.render_lines()
        redis_server.restart()
        wait_for(lambda: node.store_up is True)
        assert node.commit()
        client = redis.Redis.from_url(redis_server.url)
        ids = {
            decode_event(f[b"e"], max_bytes=4096).attempt.record_id
            for _, f in client.xrange("qalqan:screening")
        }
        assert {c.attempt.record_id for c in calls[1:31]} <= ids
        assert node.shared.pending == 0
    finally:
        node.stop()


def test_a_store_back_without_its_stream_gets_a_snapshot_at_once(
    small_operator: SimulationSummary,
    calls: list[CallOutcome],
    redis_server: RedisServer,
    started: list[SharedState],
) -> None:
    node = node_on(small_operator, redis_server, "a")
    try:
        for call in calls[:50]:
            node.screen(call.attempt, face="http")
            assert node.commit()
        redis_server.restart(keep_data=False)
        client = redis.Redis.from_url(redis_server.url)
        wait_for(lambda: node.store_up is True)
        screened = iter(calls[50:])

        def snapshot_written() -> bool:
            node.screen(next(screened).attempt, face="http")  # the engine's thread takes it
            assert node.commit()
            return bool(client.exists("qalqan:screening:snapshot"))

        wait_for(snapshot_written)
        late = join(small_operator, redis_server, "late", started)
        assert late.metrics.snapshots.get(("loaded",)) == 1
        assert late.engine.state.sizes() == node.engine.state.sizes()  # type: ignore[union-attr]
    finally:
        node.stop()


def test_a_node_that_cannot_reach_its_store_does_not_start(
    small_operator: SimulationSummary, redis_server: RedisServer
) -> None:
    redis_server.kill()
    shared = SharedState(
        engine_of(small_operator), settings(redis_server, "a", catch_up_timeout_s=0.3)
    )
    with pytest.raises(ClusterError, match="cannot be reached"):
        shared.start()
    assert not shared.ready


def test_without_a_cluster_a_node_commits_at_once() -> None:
    node = ScreeningNode(lambda attempt: Decision(action=Action.ALLOW, score=0.0))
    assert node.commit() and node.ready and node.store_up is None
    assert ClusterSettings().enabled is False


def test_a_state_copy_loads_back_into_the_aggregates_held_and_a_malformed_one_is_refused() -> None:
    store = InMemoryStateStore()
    store.count("calls", 600).add(("voip:a", "+7701"), 100.0)
    store.distinct("callees", 600).add("k", 100.0, "+7702")
    for n in range(5):
        store.recent("contact", 3600).add(("+7701", f"+770{n}"), 100.0 + n)
    other = InMemoryStateStore(max_keys=3)
    held_before = other.count("calls", 600)  # an engine holds its aggregates from the start
    copied = msgpack.unpackb(msgpack.packb(store.dump()), raw=False)
    assert other.load(copied) == 1 + 1 + 3
    assert held_before.total(("voip:a", "+7701"), 101.0) == 1
    assert other.distinct("callees", 600).contains("k", "+7702", 101.0)
    recent = other.recent("contact", 3600)
    assert len(recent) == 3 and recent.seen(("+7701", "+7704"), 105.0)  # the newest kept
    assert not recent.seen(("+7701", "+7700"), 105.0)
    for malformed in (
        {"version": 2, "aggregates": []},
        {"version": 1, "aggregates": [["calls_10m", "count", 0, []]]},
        {"version": 1, "aggregates": [["calls_10m", "count", 600, [[{"a": 1}, [[1, 1]]]]]]},
        {"version": 1, "aggregates": [["calls_10m", "count", 600, [["k", [[1, -1]]]]]]},
        {"version": 1, "aggregates": [["calls_10m", "recent", 600, [["k", 1.0]]]]},
        {"version": 1, "aggregates": [["x_10m", "distinct", 600, [["k", [["i", "later"]]]]]]},
    ):
        with pytest.raises(ValueError):
            other.load(malformed)
    half_good = {
        "version": 1,
        "aggregates": [["calls_10m", "count", 600, []], ["x_10m", "recent", 600, [["k", "?"]]]],
    }
    with pytest.raises(ValueError):
        other.load(half_good)
    assert held_before.total(("voip:a", "+7701"), 101.0) == 1  # all or nothing


def test_a_node_on_the_compact_store_passes_over_the_snapshot_and_catches_up_from_the_stream(
    redis_server: RedisServer, started: list[SharedState]
) -> None:
    from qalqan.screening.compact_state import CompactStateStore

    writer = SharedState(ScreeningEngine(timeless(load_config())), settings(redis_server, "a"))
    writer.start()
    started.append(writer)
    decision = writer.engine.screen(attempt_at(4))
    writer.recorded(attempt_at(4), decision)
    assert writer.commit() and writer.snapshot(force=True)
    wait_for(lambda: writer.metrics.snapshots.get(("written",)) == 1)
    compact = ScreeningEngine(timeless(load_config()), state=CompactStateStore(secret=1))
    reader = SharedState(compact, settings(redis_server, "b"))
    reader.start()
    started.append(reader)
    assert reader.ready and reader.metrics.applied.get() == 1
    assert reader.metrics.snapshots.get(("loaded",)) == 0
    assert not reader.snapshot(force=True)  # it has no copies to give
