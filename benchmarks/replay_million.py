"""Engine latency on a replay of a million call attempts, as issue 10 measures it (p99 ≤ 100 µs).

    .venv/bin/python benchmarks/replay_million.py                    # simulate ~1.08 M attempts
    .venv/bin/python benchmarks/replay_million.py --data DIR         # a data set already made
    .venv/bin/python benchmarks/replay_million.py --keep DIR         # simulate into DIR, keep it

Simulates an operator big enough for ``--attempts`` call attempts (the default
scenario, ``--days`` days, in a child process so that its memory is not
counted), unless ``--data`` names a data set (one simulated by an earlier run
with ``--keep`` is reused as it is). Then runs
:func:`qalqan.screening.replay.replay` over it in this process, exactly as
``qalqan replay DIR --out decisions.csv`` does: the default screening config,
the batch detector every hour of the data's time feeding the engine's lists,
outcomes revealed 30 s after each call ends, no deadline enforced (so that a
hiccup of the machine cannot change a decision; latency is measured anyway).

Prints attempts, wall time and attempts/s of the whole replay (reading,
sorting, the hourly batch detector, writing), the engine's decision latency
(``latency_us`` of every row of decisions.csv, measured inside the engine)
at p50, p99, p99.9 and max, the process's peak resident memory and CPU
time, and the machine's load average at the start and end of the replay: on
a shared machine the tail of the latency follows the load. Figures, not
pass/fail thresholds.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow.csv as pcsv
from _child import run_in_child

ATTEMPTS_PER_SUBSCRIBER_DAY = 5.41
"""Call attempts per subscriber per day of the default scenario (1,082,409 from 50,000 x 4)."""


def _simulate(out: str, subscribers: int, days: int, seed: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from qalqan.simulator.config import Scenario
    from qalqan.simulator.operator import simulate

    started = time.perf_counter()
    made = simulate(Path(out), Scenario(subscribers=subscribers, days=days, seed=seed))
    queue.put((made.rows["cdrs"], time.perf_counter() - started))


def _latencies(decisions: Path) -> npt.NDArray[np.float64]:
    read = pcsv.read_csv(
        decisions, convert_options=pcsv.ConvertOptions(include_columns=["latency_us"])
    )
    return np.asarray(read.column("latency_us").to_numpy(), dtype=np.float64)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000, help="at least this many")
    parser.add_argument("--days", type=int, default=4, help="days of traffic to simulate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, help="replay this data set instead of simulating")
    parser.add_argument("--keep", type=Path, help="simulate into this folder and keep it")
    parser.add_argument(
        "--analyze-every", type=float, default=3600.0, help="seconds of data time; 0: never"
    )
    args = parser.parse_args()

    from qalqan.screening.config import load_config
    from qalqan.screening.replay import replay

    scratch = Path(tempfile.mkdtemp(prefix="qalqan-replay-million-"))
    try:
        data = args.data or args.keep or scratch / "data"
        if args.data is None and not (data / "cdrs.csv").exists():
            subscribers = math.ceil(
                args.attempts / (ATTEMPTS_PER_SUBSCRIBER_DAY * args.days) * 1.02
            )
            print(f"simulating {subscribers:,} subscribers x {args.days} days ...", flush=True)
            rows, seconds = run_in_child(_simulate, str(data), subscribers, args.days, args.seed)
            print(f"  {rows:,} call attempts in {seconds:.0f} s", flush=True)
            if rows < args.attempts:
                print(f"  fewer than {args.attempts:,}: raise --attempts or --days")

        print(f"{os.cpu_count()} CPUs; load average at start {_load()}", flush=True)
        decisions = scratch / "decisions.csv"
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        summary = replay(
            data,
            decisions,
            config=load_config(None),
            analyze_every_s=args.analyze_every or None,
            quarantine=scratch / "quarantine",
        )
        wall = time.perf_counter() - started
        end_load = _load()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        latency = _latencies(decisions)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    p50, p99, p999 = np.percentile(latency, [50, 99, 99.9])
    cpu_s = usage.ru_utime + usage.ru_stime - cpu.ru_utime - cpu.ru_stime
    print(f"load average at end   {end_load}")
    print()
    kept = args.data is not None or args.keep is not None
    print(f"data set               {data if kept else 'simulated, not kept (--keep DIR)'}")
    print(f"attempts               {summary.attempts:,} ({summary.rows_rejected:,} rows rejected)")
    print(f"actions                {', '.join(f'{k} {v:,}' for k, v in summary.actions.items())}")
    print(f"batch detector runs    {summary.farm_watch_runs:,}")
    print(f"wall time              {wall:.1f} s (CPU {cpu_s:.1f} s)")
    print(f"attempts/s             {summary.attempts / wall:,.0f}")
    print(
        f"engine latency         p50 {p50:.1f} µs, p99 {p99:.1f} µs, p99.9 {p999:.1f} µs, "
        f"max {latency.max():,.0f} µs (over {len(latency):,} decisions)"
    )
    print(f"peak resident memory   {usage.ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
