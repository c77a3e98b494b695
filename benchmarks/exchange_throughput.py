"""Simulator and validator throughput on a data set of a given size.

    python benchmarks/exchange_throughput.py --rows 10000000 [--format csv] [--keep DIR]

Simulates an operator sized to give about ``--rows`` call records (7 days),
then validates it with the streaming reader, each phase in its own process so
that its peak memory is its own. Prints rows per minute for the simulator,
rows per second for the validator, and peak resident memory of each.
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

#: Call records per subscriber per day with the default scenario (measured).
ROWS_PER_SUBSCRIBER_DAY = 5.4
DAYS = 7


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _simulate(out: str, subscribers: int, fmt: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from qalqan.simulator.config import Scenario
    from qalqan.simulator.operator import simulate

    started = time.perf_counter()
    summary = simulate(Path(out), Scenario(subscribers=subscribers, days=DAYS, seed=1), fmt=fmt)  # type: ignore[arg-type]
    queue.put((summary.rows["cdrs"], time.perf_counter() - started, _peak_mib()))


def _validate(data: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from qalqan.exchange.reader import DataSet

    started = time.perf_counter()
    report = DataSet.open(Path(data)).validate(quarantine_dir=Path(data) / "quarantine")
    queue.put(
        (
            report.rows_read,
            report.tables["cdrs"].rows_read,
            report.rows_rejected,
            time.perf_counter() - started,
            _peak_mib(),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=10_000_000, help="call records to simulate (about)"
    )
    parser.add_argument("--format", default="csv", choices=["csv", "csv.gz", "parquet"])
    parser.add_argument(
        "--keep", type=Path, help="keep the data set here instead of a temporary folder"
    )
    args = parser.parse_args()

    subscribers = max(1000, int(args.rows / (ROWS_PER_SUBSCRIBER_DAY * DAYS)))
    folder = args.keep or Path(tempfile.mkdtemp(prefix="qalqan-bench-"))
    try:
        rows, seconds, peak = run_in_child(_simulate, str(folder), subscribers, args.format)
        size = sum(p.stat().st_size for p in folder.glob("*.*")) / 2**20
        print(
            f"simulator: {subscribers:,} subscribers x {DAYS} days -> {rows:,} call records ({args.format}, {size:,.0f} MiB)"
        )
        print(
            f"simulator: {seconds:.1f} s, {rows / seconds * 60 / 1e6:.1f} M rows/minute, peak memory {peak:,.0f} MiB"
        )
        total, cdrs, rejected, seconds, peak = run_in_child(_validate, str(folder))
        print(
            f"validator: {total:,} rows in all tables ({cdrs:,} call records), {rejected:,} rejected"
        )
        print(
            f"validator: {seconds:.1f} s, {total / seconds:,.0f} rows/s, peak memory {peak:,.0f} MiB"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
