"""Simulator throughput and peak memory at a national operator's size.

    python benchmarks/simulate_throughput.py --subscribers 4630000 --days 1 [--family F] [--keep DIR]

Runs ``qalqan simulate`` (the same settings as the command line) in a child
process, so that its peak memory is its own, and prints how long setting up
the population, look-alikes and fraud took, call records per second of the
whole run and the child's peak resident memory.
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


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _simulate(out: str, settings: dict[str, object], fmt: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from qalqan.simulator import operator
    from qalqan.simulator.config import load_scenario

    scenario = load_scenario(None, **settings)  # type: ignore[arg-type]
    setup = _time_setup(operator)
    started = time.perf_counter()
    summary = operator.simulate(Path(out), scenario, fmt=fmt)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    rows = sum(summary.rows.values())
    queue.put((summary.rows["cdrs"], rows, seconds, setup["seconds"], _peak_mib()))


def _time_setup(operator: object) -> dict[str, float]:
    """Wrap the simulation's set-up steps so that the time spent in them is summed."""
    spent = {"seconds": 0.0}
    for name in ("build_population", "setup_look_alikes", "setup_fraud"):
        step = getattr(operator, name)

        def timed(*args: object, _step: object = step, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return _step(*args, **kwargs)  # type: ignore[operator]
            finally:
                spent["seconds"] += time.perf_counter() - started

        setattr(operator, name, timed)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", "-n", type=int, default=463_000)
    parser.add_argument("--days", "-d", type=int, default=1)
    parser.add_argument("--seed", "-s", type=int, default=1)
    parser.add_argument("--family", default=None, help="a scenario family (qalqan simulate --help)")
    parser.add_argument("--format", default="csv", choices=["csv", "csv.gz", "parquet"])
    parser.add_argument(
        "--keep", type=Path, help="keep the data set here instead of a temporary folder"
    )
    args = parser.parse_args()
    settings = {
        "family": args.family,
        "subscribers": args.subscribers,
        "days": args.days,
        "seed": args.seed,
    }
    folder = args.keep or Path(tempfile.mkdtemp(prefix="qalqan-simulate-"))
    try:
        cdrs, rows, seconds, setup, peak = run_in_child(
            _simulate, str(folder), settings, args.format
        )
        print(
            f"simulate: {args.subscribers:,} subscribers x {args.days} days -> {cdrs:,} call records, {rows:,} rows in all tables ({args.format})"
        )
        print(
            f"simulate: {seconds:.1f} s ({setup:.1f} s setting up), {cdrs / seconds:,.0f} call records/s, peak memory {peak:,.0f} MiB"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
