"""End-to-end speed of ``qalqan analyze``: validation and staging, features, judgements, campaigns.

    python benchmarks/analyze_throughput.py --data DIR   # an existing data set
    python benchmarks/analyze_throughput.py --rows 10000000   # simulate one first

Runs the analysis in a child process and prints call records per second end to
end, the time of each step, and the child's peak resident memory (DuckDB's
included), then extrapolates to 100 million rows at the same rate.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from pathlib import Path

from _child import run_in_child

ROWS_PER_SUBSCRIBER_DAY = 5.4
DAYS = 7


def _analyze(data: str, out: str, memory_limit: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from qalqan.analytics.output import write_result
    from qalqan.analytics.pipeline import Analysis
    from qalqan.analytics.staging import stage
    from qalqan.analytics.store import AnalysisStore
    from qalqan.training.cache import cached_models

    steps: dict[str, float] = {}
    models = cached_models()
    with tempfile.TemporaryDirectory(prefix="qalqan-bench-") as scratch:
        t = time.perf_counter()
        report = stage(
            Path(data), Path(scratch) / "staged", quarantine_dir=Path(out) / "quarantine"
        )
        steps["validate and stage"] = time.perf_counter() - t
        store = AnalysisStore.open(
            Path(scratch) / "staged", memory_limit=memory_limit, spill_dir=Path(scratch) / "spill"
        )
        analysis = Analysis(store, models)
        t = time.perf_counter()
        analysis.prepare()
        steps["features and call facts"] = time.perf_counter() - t
        t = time.perf_counter()
        result = analysis.run()
        steps["SIMs, farms, calls, campaigns"] = time.perf_counter() - t
        t = time.perf_counter()
        write_result(result, Path(out), analysis.sim_table)
        steps["write outputs"] = time.perf_counter() - t
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(
        (report.tables["cdrs"].rows_read, steps, peak, len(result.farms), len(result.campaigns))
    )


def _simulate(out: str, subscribers: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from qalqan.simulator.config import Scenario
    from qalqan.simulator.operator import simulate

    summary = simulate(
        Path(out), Scenario(subscribers=subscribers, days=DAYS, seed=1), fmt="parquet"
    )
    queue.put((summary.rows["cdrs"],))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="an existing data set")
    parser.add_argument(
        "--rows",
        type=int,
        default=10_000_000,
        help="call records to simulate when --data is not given",
    )
    parser.add_argument("--memory-limit", default="16GB")
    args = parser.parse_args()
    made = None
    data = args.data
    if data is None:
        made = data = Path(tempfile.mkdtemp(prefix="qalqan-bench-data-"))
        subscribers = max(1000, int(args.rows / (ROWS_PER_SUBSCRIBER_DAY * DAYS)))
        (rows,) = run_in_child(_simulate, str(data), subscribers)
        print(
            f"simulated {rows:,} call records ({subscribers:,} subscribers x {DAYS} days, Parquet)"
        )
    out = Path(tempfile.mkdtemp(prefix="qalqan-bench-out-"))
    try:
        # models are trained on first use; do it before the clock starts
        from qalqan.training.cache import cached_models

        cached_models()
        started = time.perf_counter()
        rows, steps, peak, farms, campaigns = run_in_child(
            _analyze, str(data), str(out), args.memory_limit
        )
        total = time.perf_counter() - started
        for step, seconds in steps.items():  # type: ignore[attr-defined]
            print(f"  {step:<32} {seconds:8.1f} s")
        rate = rows / total  # type: ignore[operator]
        print(
            f"analyze: {rows:,} call records in {total:.1f} s end to end: {rate:,.0f} rows/s; peak memory {peak:,.0f} MiB"
        )
        print(f"found {farms} farms and {campaigns} campaigns")
        print(
            f"at this rate 100 million rows take about {1e8 / rate / 60:.0f} minutes (DuckDB spills to disk beyond --memory-limit)"
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


if __name__ == "__main__":
    main()
