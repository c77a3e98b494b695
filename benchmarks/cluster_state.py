"""What sharing the screening state costs a node, and how far behind another node is.

    .venv/bin/qalqan simulate /tmp/op -n 3000 -d 2 --seed 1
    .venv/bin/python benchmarks/cluster_state.py --data /tmp/op -n 20000

Loads the first ``-n`` call attempts of ``--data`` in time order, then screens
them on one node three times, each on a fresh engine:

- *alone*: ``engine.screen`` per attempt, as a node without a cluster;
- *shared, commit per call*: before each decision the other nodes' events are
  applied, after it the attempt's event is queued and committed (one XADD
  round trip per call: the SIP face's way);
- *shared, commit per 32*: the same, committed once per 32 calls (group commit,
  as the HTTP batch endpoint and a SIP datagram burst do).

For each: engine time p50/p99 (``latency_us``, inside the engine), the time of
the whole step per call (apply, decide, queue, commit) p50/p99, and decisions/s
over the whole loop on one core. Then the propagation lag: a second node, in a
process of its own, follows the stream while this one screens ``--lag-events``
attempts at ``--rate`` a second, committing each; the lag is from an event's
making on this node to its application on the other (both read the same
clock), p50/p99/max. Last, how often two nodes in turn (one process, no wait
between calls, each committing per call) decide as one engine would: the share
of the first ``--lag-events`` attempts judged the same (action and score).

The store is ``--redis`` or else a ``redis-server`` started here on a free port
(no persistence), stopped at the end. Numbers printed are measurements, not
pass/fail thresholds.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qalqan.domain.model import Ingress
from qalqan.exchange.reader import DataSet
from qalqan.screening.cluster import ClusterSettings, SharedState
from qalqan.screening.config import load_config
from qalqan.screening.engine import ScreeningEngine
from qalqan.screening.replay import recorded_calls, sorted_cdrs
from qalqan.screening.signals import CallOutcome


def _load(data: Path, limit: int) -> list[CallOutcome]:
    calls: list[CallOutcome] = []
    ingresses: dict[str, Ingress] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for batch in sorted_cdrs(DataSet.open(data), Path(scratch), quarantine=None):
            calls.extend(recorded_calls(batch, ingresses))
            if len(calls) >= limit:
                break
    return calls[:limit]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@contextmanager
def _redis(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed: give --redis URL")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                if time.monotonic() > deadline:
                    sys.exit("redis-server did not start")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait(timeout=10)


def _settings(url: str, stream: str, node_id: str) -> ClusterSettings:
    return ClusterSettings(url=url, stream=stream, node_id=node_id, snapshot_every_s=3600.0)  # type: ignore[arg-type]


def _teach(engine_observe: object, call: CallOutcome, action: object) -> None:
    from qalqan.domain.model import Action

    if action is Action.ALLOW and callable(engine_observe):
        engine_observe(
            CallOutcome(
                attempt=call.attempt,
                answered=call.answered,
                duration_s=call.duration_s,
                action=Action.ALLOW,
                event=call.event,
            )
        )


def _run(data: Path, calls: list[CallOutcome], url: str | None, every: int) -> dict[str, float]:
    """Screen every call on a fresh engine, alone (``url`` None) or shared, committing every
    ``every`` calls."""
    engine = ScreeningEngine.from_dataset(data, load_config())
    shared = None
    observe = engine.observe
    if url is not None:
        shared = SharedState(engine, _settings(url, f"bench:{uuid.uuid4().hex}", "a"))
        shared.start()
        observe = shared.observe
    gc.collect()
    gc.freeze()
    engine_us: list[float] = []
    step_us: list[float] = []
    started = time.perf_counter()
    for i, call in enumerate(calls, 1):
        before = time.perf_counter()
        if shared is not None:
            shared.apply_pending()
        decision = engine.screen(call.attempt)
        if shared is not None:
            shared.recorded(call.attempt, decision)
            if i % every == 0:
                shared.commit()
        step_us.append((time.perf_counter() - before) * 1e6)
        engine_us.append(decision.latency_us)
        _teach(observe, call, decision.action)
    if shared is not None:
        shared.commit()
    wall = time.perf_counter() - started
    if shared is not None:
        shared.stop()
    gc.unfreeze()
    return {
        "engine_p50": _percentile(engine_us, 0.50),
        "engine_p99": _percentile(engine_us, 0.99),
        "step_p50": _percentile(step_us, 0.50),
        "step_p99": _percentile(step_us, 0.99),
        "per_s": len(calls) / wall,
    }


class _Lags:
    """Stands in for the lag histogram of the following node: keeps every lag."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def observe(self, seconds: float, key: tuple[str, ...] = ()) -> None:
        self.values.append(seconds)


def _follower(data: str, url: str, stream: str, expected: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    engine = ScreeningEngine.from_dataset(Path(data), load_config())
    shared = SharedState(engine, _settings(url, stream, "b"))
    shared.start()
    lags = _Lags()
    shared.metrics.lag = lags  # type: ignore[assignment]
    out.put("ready")
    deadline = time.monotonic() + 600
    while len(lags.values) < expected and time.monotonic() < deadline:
        if not shared.apply_pending():
            time.sleep(0.0001)  # the other node's engine thread between two calls
    shared.stop()
    out.put(lags.values)


def _lag(data: Path, calls: list[CallOutcome], url: str, rate: float) -> dict[str, float]:
    stream = f"bench:{uuid.uuid4().hex}"
    engine = ScreeningEngine.from_dataset(data, load_config())
    shared = SharedState(engine, _settings(url, stream, "a"))
    shared.start()
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    follower = context.Process(target=_follower, args=(str(data), url, stream, len(calls), out))
    follower.start()
    assert out.get(timeout=120) == "ready"
    gap = 1.0 / rate
    next_at = time.perf_counter()
    for call in calls:
        shared.apply_pending()
        decision = engine.screen(call.attempt)
        shared.recorded(call.attempt, decision)
        shared.commit()
        next_at += gap
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    lags: list[float] = out.get(timeout=600)
    follower.join(timeout=30)
    shared.stop()
    return {
        "events": float(len(lags)),
        "p50_ms": _percentile(lags, 0.50) * 1000,
        "p99_ms": _percentile(lags, 0.99) * 1000,
        "max_ms": max(lags) * 1000 if lags else float("nan"),
    }


def _agreement(data: Path, calls: list[CallOutcome], url: str) -> float:
    """The share of ``calls`` that two nodes in turn, never waiting, decide as one engine does."""
    alone = ScreeningEngine.from_dataset(data, load_config())
    expected = []
    for call in calls:
        decision = alone.screen(call.attempt)
        _teach(alone.observe, call, decision.action)
        expected.append((decision.action, decision.score))
    stream = f"bench:{uuid.uuid4().hex}"
    nodes = []
    for name in ("a", "b"):
        shared = SharedState(
            ScreeningEngine.from_dataset(data, load_config()), _settings(url, stream, name)
        )
        shared.start()
        nodes.append(shared)
    same = 0
    for i, call in enumerate(calls):
        shared = nodes[i % 2]
        shared.apply_pending()
        decision = shared.engine.screen(call.attempt)
        shared.recorded(call.attempt, decision)
        _teach(shared.observe, call, decision.action)
        shared.commit()
        same += (decision.action, decision.score) == expected[i]
    for shared in nodes:
        shared.stop()
    return same / len(calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, required=True, help="an exchange-v1 folder")
    parser.add_argument("-n", "--attempts", type=int, default=20_000)
    parser.add_argument("--redis", default=None, help="a Redis URL (default: start one here)")
    parser.add_argument("--lag-events", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=1_000.0, help="attempts/s in the lag run")
    args = parser.parse_args()
    calls = _load(args.data, args.attempts)
    print(f"{len(calls)} attempts of {args.data}")
    with _redis(args.redis) as url:
        runs = {
            "alone": _run(args.data, calls, None, 1),
            "shared, commit per call": _run(args.data, calls, url, 1),
            "shared, commit per 32": _run(args.data, calls, url, 32),
        }
        for name, r in runs.items():
            print(
                f"{name:>24}: engine p50 {r['engine_p50']:.1f} µs, p99 {r['engine_p99']:.1f} µs; "
                f"step p50 {r['step_p50']:.1f} µs, p99 {r['step_p99']:.1f} µs; "
                f"{r['per_s']:,.0f} decisions/s"
            )
        lag = _lag(args.data, calls[: args.lag_events], url, args.rate)
        print(
            f"propagation lag over {lag['events']:.0f} events at {args.rate:g}/s: "
            f"p50 {lag['p50_ms']:.2f} ms, p99 {lag['p99_ms']:.2f} ms, max {lag['max_ms']:.2f} ms"
        )
        share = _agreement(args.data, calls[: args.lag_events], url)
        print(
            f"two nodes in turn, no wait between calls: {share:.2%} of {args.lag_events} "
            "decisions as one engine's"
        )


if __name__ == "__main__":
    main()
