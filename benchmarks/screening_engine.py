"""How fast the screening engine decides: decisions per second, p50/p99 latency, peak memory.

    .venv/bin/python benchmarks/screening_engine.py                 # ~1 million attempts
    .venv/bin/python benchmarks/screening_engine.py --attempts 200000 --replay
    .venv/bin/python benchmarks/screening_engine.py --state compact  # the compact state store

Simulates an operator sized to give about ``--attempts`` call attempts (or
reads ``--data``), loads them in time order into memory first (so that reading
files is not timed), then screens them one by one as a node would: decide,
record, and reveal each call's outcome once it has ended. Figures:

- *engine time*: ``latency_us`` of each decision, measured inside the engine
  with ``time.perf_counter_ns`` (what the SIP and HTTP faces report);
- *decisions/s*: attempts over the wall time of the whole loop (decide, record,
  outcomes), on one core;
- *memory*: what the engine's rolling state added to the resident set (the
  attempts themselves are held in memory for the benchmark and excluded), the
  process's peak, and the keys held by each rolling feature at the end.

With ``--replay`` it also times ``qalqan replay`` end to end on the same data
(sorting, the hourly batch detector, writing decisions.csv). ``--state compact``
screens with :class:`~qalqan.screening.compact_state.CompactStateStore` (the rules
file's ``state.store: compact``) and prints the bytes its arrays hold. Numbers
printed are measurements, not pass/fail thresholds.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import heapq
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from qalqan.domain.model import Event, Ingress
from qalqan.exchange.reader import DataSet
from qalqan.screening.compact_state import CompactStateStore
from qalqan.screening.config import load_config
from qalqan.screening.engine import ScreeningEngine
from qalqan.screening.network import load_network
from qalqan.screening.replay import recorded_calls, replay, sorted_cdrs
from qalqan.screening.signals import CallOutcome
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate

ROWS_PER_SUBSCRIBER_DAY = 5.45


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    """Resident memory now (Linux); the peak where /proc is not available."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _peak_rss_mb()


def _load(data: Path) -> list[CallOutcome]:
    """Every call of ``cdrs`` in time order: the attempt and how it ended (not yet screened)."""
    calls: list[CallOutcome] = []
    ingresses: dict[str, Ingress] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for batch in sorted_cdrs(DataSet.open(data), Path(scratch), quarantine=None):
            calls.extend(recorded_calls(batch, ingresses))
    return calls


def _data_set(args: argparse.Namespace, scratch: Path) -> Path:
    """``--data``, or an operator simulated for about ``--attempts`` attempts."""
    if args.data is not None:
        return Path(args.data)
    data = Path(args.keep or scratch / "data")
    subscribers = max(200, round(args.attempts / (ROWS_PER_SUBSCRIBER_DAY * args.days)))
    started = time.perf_counter()
    summary = simulate(data, Scenario(subscribers=subscribers, days=args.days, seed=args.seed))
    print(
        f"simulated {subscribers:,} subscribers x {args.days} days: "
        f"{summary.rows['cdrs']:,} attempts in {time.perf_counter() - started:.1f} s"
    )
    return data


def _screen_all(engine: ScreeningEngine, calls: list[CallOutcome]) -> tuple[list[float], float]:
    """Screen every call as a node would; the decisions' latencies (µs) and the loop's seconds.

    Each voice call's outcome, with the engine's answer, is revealed 30 s after it ends.
    """
    latencies: list[float] = []
    pending: list[tuple[float, int, CallOutcome]] = []
    started = time.perf_counter()
    for i, call in enumerate(calls):
        attempt = call.attempt
        t = attempt.time.timestamp()
        while pending and pending[0][0] <= t:
            engine.observe(heapq.heappop(pending)[2])
        decision = engine.screen(attempt)
        latencies.append(decision.latency_us)
        if call.event is Event.VOICE:
            outcome = CallOutcome(
                attempt=attempt,
                answered=call.answered,
                duration_s=call.duration_s,
                action=decision.action,
            )
            heapq.heappush(pending, (t + call.duration_s + 30.0, i, outcome))
        if i % 10_000 == 9_999:
            gc.freeze()  # as a long-running node would, now and then
    return latencies, time.perf_counter() - started


def _print_engine(
    engine: ScreeningEngine, latencies: list[float], elapsed: float, rss_loaded: float
) -> None:
    latencies.sort()
    n = len(latencies)

    def pct(q: float) -> float:
        return latencies[min(n - 1, int(n * q))]

    print(f"engine: {n:,} decisions in {elapsed:.1f} s = {n / elapsed:,.0f} decisions/s (one core)")
    print(
        f"engine time: p50 {pct(0.5):.1f} µs, p90 {pct(0.9):.1f} µs, p99 {pct(0.99):.1f} µs, "
        f"p99.9 {pct(0.999):.1f} µs, max {latencies[-1]:.0f} µs"
    )
    print(
        f"memory: the engine's state grew the process by {_rss_mb() - rss_loaded:,.0f} MB "
        f"(resident {_rss_mb():,.0f} MB with the attempts held in memory for the benchmark; "
        f"peak {_peak_rss_mb():,.0f} MB, while loading them)"
    )
    sizes = engine.feature_sizes()
    print(
        "rolling features at the end (keys): " + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
    )
    if isinstance(engine.state, CompactStateStore):
        held = engine.state.nbytes()
        print(
            f"compact state: {sum(held.values()) / 1e6:,.1f} MB of arrays for {sum(sizes.values()):,} keys"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--data", type=Path, help="replay this data set instead of simulating")
    parser.add_argument("--keep", type=Path, help="keep the simulated data set here")
    parser.add_argument("--replay", action="store_true", help="also time `qalqan replay`")
    parser.add_argument(
        "--state",
        choices=("exact", "compact"),
        default="exact",
        help="the state store screening holds its rolling features in (state.store)",
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="qalqan-bench-"))
    try:
        data = _data_set(args, scratch)
        calls = _load(data)
        network = load_network(DataSet.open(data))
        gc.collect()
        rss_loaded = _rss_mb()
        config = dataclasses.replace(load_config(), state_store=args.state)
        engine = ScreeningEngine(
            config,
            subscribers=network.subscribers,
            protected=network.protected,
            cells=network.cells,
        )
        gc.collect()
        gc.freeze()
        latencies, elapsed = _screen_all(engine, calls)
        _print_engine(engine, latencies, elapsed, rss_loaded)
        del calls
        if args.replay:
            started = time.perf_counter()
            result = replay(data, scratch / "decisions.csv")
            print(
                f"qalqan replay: {result.attempts:,} attempts in {time.perf_counter() - started:.1f} s "
                f"({result.attempts / result.seconds:,.0f}/s with sorting, batch detector, writing); "
                f"p50 {result.latency_p50_us:.1f} µs, p99 {result.latency_p99_us:.1f} µs"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
