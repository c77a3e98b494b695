"""Three Qalqan nodes sharing their state in Redis, behind Kamailio's dispatcher set.

    sipp (a feed) ──► Kamailio, kamailio.cfg -A WITH_DISPATCHER ──► qalqan serve --cluster × 3 ──► Redis
                         └── redirect followed ──► sipp callee (core, announcement, anti-call-center)

Everything is a real process on free loopback ports, started and stopped here
(:mod:`tests.cluster.harness`); Kamailio runs the operator's configuration
unchanged. What the operator is promised:

- a call is decided the same whichever node of the set screens it: a simulated
  operator's call attempts played through Kamailio get the decisions ``qalqan
  replay`` gives them as a redirect server sees them (``--no-outcomes
  --analyze-every off``), at least 99.5 % of them, and every difference is
  printed with the nodes and the time between the calls that made it;
- a node killed with SIGKILL under load costs no call (Kamailio tries the next
  node) and no decision (every call it answered is in the shared stream), and
  once restarted it catches up and is given calls again;
- the store killed under load: the nodes answer fail-open with the reason
  ``sip.fail_open.store`` and count it, and judge again once the store is back.

Run alone with ``pytest -m cluster`` (about a minute and a half on two cores).
"""

from __future__ import annotations

import csv
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.screening.cluster import EVENT_FIELD, ClusterSettings, decode_event
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate
from qalqan.sip.feed import FeedSummary, write_feed
from tests.cluster.harness import (
    Cluster,
    Played,
    binary,
    metric_sum,
    play_command,
    played,
)
from tests.sip.conftest import invite, reference_only, rules_without_budget

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

AGREEMENT = 0.995
STORE = "sip.fail_open.store"
"""The reason of an answer given without the shared state (store lost, or still catching up)."""
NODE_SETTINGS = {"QALQAN_NODE_DEADLINE_MS": "60000"}
"""A busy machine must not turn a judgement into the deadline's fail-open answer."""


@dataclass(frozen=True)
class Operator:
    """A small simulated operator, its feed of INVITEs and what replay decides for it."""

    data: Path
    reference: Path
    rules: Path
    feed: FeedSummary
    sip_settings: dict[str, object]
    attempts: dict[str, tuple[int, str, str, datetime]]
    """Record id → (place in the feed, caller, callee, time)."""
    replayed: dict[str, dict[str, str]]


def _attempts(path: Path) -> dict[str, tuple[int, str, str, datetime]]:
    found: dict[str, tuple[int, str, str, datetime]] = {}
    with path.open(encoding="utf-8") as handle:
        next(handle)  # SEQUENTIAL
        for place, line in enumerate(handle):
            fields = line.rstrip("\n").split(";")
            found[unquote(fields[0])] = (
                place,
                fields[2],
                fields[1],
                parsedate_to_datetime(fields[4]),
            )
    return found


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Operator:
    for name in ("kamailio", "sipp", "redis-server"):
        if binary(name) is None:
            pytest.skip(
                f"{name} is not installed (apt-get install {'sip-tester' if name == 'sipp' else name})"
            )
    work = tmp_path_factory.mktemp("cluster-operator")
    data = simulate(work / "operator", Scenario(subscribers=400, days=1, seed=3)).out_dir
    feed = write_feed(data, work / "feed")
    assert feed.sip_config is not None and feed.attempts_csv is not None
    assert feed.attempts > 1000 and feed.rows_rejected == 0
    rules = rules_without_budget(work / "rules.yaml")
    out = work / "replayed.csv"
    result = CliRunner().invoke(
        app,
        ["replay", str(data), "--out", str(out), "--no-outcomes", "--analyze-every", "off",
         "--quiet", "--rules", str(rules)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as handle:
        replayed = {row["record_id"]: row for row in csv.DictReader(handle)}
    return Operator(
        data=data,
        reference=reference_only(data, work / "reference"),
        rules=rules,
        feed=feed,
        sip_settings=yaml.safe_load(feed.sip_config.read_text(encoding="utf-8")),
        attempts=_attempts(feed.attempts_csv),
        replayed=replayed,
    )


@pytest.fixture
def cluster(
    operator: Operator, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Cluster]:
    """Three nodes behind Kamailio; ``@pytest.mark.parametrize('cluster', [try_ms], indirect=True)``
    sets how long Kamailio gives each node."""
    try_ms = getattr(request, "param", 300)
    with Cluster(
        tmp_path,
        data=operator.reference,
        sip_settings=operator.sip_settings,
        rules=operator.rules,
        env=NODE_SETTINGS,
        try_ms=try_ms,
    ) as running:
        yield running


def _play(
    cluster: Cluster, operator: Operator, *, calls: int, rate: int, limit: int, name: str
) -> subprocess.Popen[str]:
    feed = operator.feed
    assert feed.scenario is not None and feed.attempts_csv is not None
    command = play_command(
        cluster.target, feed.scenario, feed.attempts_csv,
        calls=calls, rate=rate, limit=limit, workdir=cluster.workdir, name=name,
    )  # fmt: skip
    return subprocess.Popen(
        command, cwd=cluster.workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _explain(
    operator: Operator, record_id: str, sip: str, node: str, by_node: dict[str, str]
) -> str:
    """One difference, with the caller's previous attempt: on which node, how long before."""
    place, caller, callee, moment = operator.attempts[record_id]
    row = operator.replayed[record_id]
    line = f"#{place} {record_id} {caller} → {callee}: SIP {sip} on {node} ≠ replay {row['action']} ({row['reasons'][:160]})"
    earlier = [
        (other_place, other_id, other_moment)
        for other_id, (other_place, other_caller, _, other_moment) in operator.attempts.items()
        if other_caller == caller and other_place < place
    ]
    if earlier:
        _, previous, previous_moment = max(earlier)
        gap = (moment - previous_moment).total_seconds()
        line += f"; the caller's previous attempt {gap:.0f} s before (data time) on {by_node.get(previous, '?')}"
    return line


@pytest.mark.parametrize("cluster", [3000], indirect=True)
def test_calls_through_the_set_are_decided_as_replay_decides_them(
    cluster: Cluster, operator: Operator
) -> None:
    calls = operator.feed.attempts
    started = time.monotonic()
    caller = _play(cluster, operator, calls=calls, rate=200, limit=1, name="feed")
    result: Played = played(caller, cluster.workdir, "feed", timeout_s=calls / 20 + 60)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(result.answers) == calls

    by_node = cluster.answered_by()
    shares = {
        node.name: sum(1 for n in by_node.values() if n == node.name) for node in cluster.nodes
    }
    print(f"{calls} calls in {seconds:.1f} s through Kamailio; answered by {shares}")
    for node in cluster.nodes:
        assert shares[node.name] > calls / 10, f"the set does not spread calls: {shares}"

    differences = [
        _explain(operator, record_id, answer.action, by_node.get(record_id, "?"), by_node)
        for record_id, answer in result.answers.items()
        if answer.action != operator.replayed[record_id]["action"]
    ]
    same = 1 - len(differences) / calls
    intercepted = sum(row["action"] != "allow" for row in operator.replayed.values())
    print(
        f"cluster of 3 vs replay --no-outcomes --analyze-every off: {same:.2%} of {calls} the same"
    )
    print("\n".join(differences))
    assert intercepted > 20, "the data set must have calls the engine intercepts"
    assert same >= AGREEMENT, f"{same:.2%} the same; the differences:\n" + "\n".join(
        differences[:50]
    )


def _stream(cluster: Cluster) -> dict[str, set[str]]:
    """Origin node → record ids of the attempts it put in the shared stream."""
    import redis

    client = redis.Redis.from_url(cluster.store.url)
    stream = ClusterSettings().stream
    by_origin: dict[str, set[str]] = {}
    low = "-"
    try:
        while True:
            entries: Any = client.xrange(stream, min=low, max="+", count=5000)
            if not entries:
                return by_origin
            for _, values in entries:
                event = decode_event(values[EVENT_FIELD], max_bytes=1 << 20)
                if event.outcome is None and event.attempt.record_id is not None:
                    record_id = unquote(event.attempt.record_id.split("///", 1)[0])
                    by_origin.setdefault(event.origin, set()).add(record_id)
            low = "(" + entries[-1][0].decode()
    finally:
        client.close()


def _wait(predicate: object, what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s:g} s")


def test_a_node_killed_under_load_loses_no_call_and_no_decision(
    cluster: Cluster, operator: Operator
) -> None:
    calls = min(operator.feed.attempts, 1500)
    caller = _play(cluster, operator, calls=calls, rate=100, limit=50, name="load")
    victim = cluster.nodes[1]
    time.sleep(3)
    victim.kill()
    time.sleep(1.5)
    victim.start()
    victim.wait_ready()
    _wait(
        lambda: cluster.kamailio.joined().count(victim.uri) >= 2,
        "the restarted node in the set",
        20,
    )
    _wait(
        lambda: metric_sum(victim.metrics(), "qalqan_node_decisions_total") > 0,
        "the restarted node given calls",
        10,
    )
    result = played(caller, cluster.workdir, "load", timeout_s=120)
    log = cluster.kamailio.log()
    print(
        f"{len(result.answers)} of {calls} answered; {log.count('did not answer')} tries passed "
        f"to the next node, {log.count('failing open')} failed open"
    )
    assert len(result.answers) == calls, "every INVITE gets a final answer at the caller"
    assert cluster.kamailio.left().count(victim.uri) >= 1, "the killed node left the set"

    # What the killed node answered (Kamailio took its answer), as it decided it (its log).
    decided = victim.decisions()
    answered = {rid for rid, name in cluster.answered_by().items() if name == victim.name}
    catching_up = {rid for rid in answered if decided.get(rid, ("", ""))[1].startswith(STORE)}
    judged = answered - catching_up
    streamed = _stream(cluster)
    in_stream = streamed.get(victim.name, set())
    twice = {
        rid
        for rid in in_stream
        if any(rid in ids for o, ids in streamed.items() if o != victim.name)
    }
    print(
        f"the killed node answered {len(answered)} calls in its two lives, {len(catching_up)} of "
        f"them fail-open ({STORE}) while catching up after its restart; {len(twice)} attempts "
        "are in the stream from it and from another node"
    )
    assert answered <= decided.keys(), "every answer Kamailio took is in the node's decisions log"
    assert judged, "the victim judged calls before it was killed"
    missing = judged - in_stream
    assert not missing, (
        f"{len(missing)} decisions of the killed node are not in the stream: {sorted(missing)[:10]}"
    )


def _direct(node_port: int, callee: str, n: int) -> str:
    """One INVITE straight to a node (not through Kamailio); its answer's text."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        me = sock.getsockname()[1]
        request = invite(
            uri=f"sip:{callee}@127.0.0.1;user=phone",
            to=f"<sip:{callee}@127.0.0.1;user=phone>",
            call_id=f"direct-{n}-{time.monotonic_ns()}@127.0.0.1",
            branch=f"z9hG4bK-direct-{n}-{time.monotonic_ns()}",
            via_host=f"127.0.0.1:{me}",
        )
        sock.sendto(request, ("127.0.0.1", node_port))
        return sock.recv(65535).decode(errors="replace")


def test_the_store_killed_under_load_fails_open_then_judges_again(
    cluster: Cluster, operator: Operator
) -> None:
    calls = min(operator.feed.attempts, 1200)
    caller = _play(cluster, operator, calls=calls, rate=100, limit=50, name="load")
    callee = next(iter(operator.attempts.values()))[2]
    time.sleep(2.5)
    cluster.store.kill()
    _wait(
        lambda: all(
            metric_sum(node.metrics(), "qalqan_node_fail_open_total", cause="store") > 0
            for node in cluster.nodes
        ),
        "every node failing open for the store",
        10,
    )
    during = [_direct(node.udp_port, callee, i) for i, node in enumerate(cluster.nodes)]
    for answer in during:
        assert f"X-Qalqan-Reasons: {STORE}" in answer, answer

    cluster.store.start()
    _wait(
        lambda: all(
            metric_sum(node.metrics(), "qalqan_cluster_store_up") == 1 for node in cluster.nodes
        ),
        "every node back on the store",
        30,
    )
    after = [_direct(node.udp_port, callee, 10 + i) for i, node in enumerate(cluster.nodes)]
    for answer in after:
        assert "X-Qalqan-Action:" in answer and "fail_open" not in answer, answer
    result = played(caller, cluster.workdir, "load", timeout_s=120)
    assert len(result.answers) == calls, "every INVITE gets a final answer at the caller"
    unscreened = sum(answer.action == "unscreened" for answer in result.answers.values())
    print(f"{calls} answered, {unscreened} failed open by Kamailio")
