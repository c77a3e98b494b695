"""End-to-end speed of ``qalqan analyze`` against DuckDB's raw aggregation of the same call records.

    python benchmarks/analyze_throughput.py --data DIR   # an existing data set
    python benchmarks/analyze_throughput.py --rows 10000000   # simulate one first
    python benchmarks/analyze_throughput.py --data DIR --engine spark --spark-master 'local[2]'

Runs the analysis in a child process and prints call records per second end to
end, the time of each step and the CPU seconds it took (all the child's threads:
on a machine others share, the figure to compare between runs), the load average,
and the child's peak resident memory (DuckDB's
included; with Spark, the JVM's beside it), then extrapolates to 100 million rows
at the same rate. In the same run, on the same files, another child lets DuckDB
aggregate each SIM's behaviour straight from the input (calls, distinct callees,
talk time, first and last call: what any per-SIM analysis must at least read and
group) and the ratio analyze/raw says how far the whole analysis is from that floor.
``--repeat N`` does both N times and prints each run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from _child import run_in_child

ROWS_PER_SUBSCRIBER_DAY = 5.4
DAYS = 7

#: Each mobile SIM's behaviour, straight from the call records: the raw floor.
RAW_AGGREGATION = """
SELECT count(*), sum(calls), sum(callees), sum(talk_s), min(first_call), max(last_call)
FROM (
    SELECT a_imsi, count(*) AS calls, count(DISTINCT b_number) AS callees,
           sum(duration_s) AS talk_s, min(start_time) AS first_call, max(start_time) AS last_call
    FROM {source}
    WHERE ingress = 'mobile'
    GROUP BY a_imsi
) AS per_sim
"""


def _peaks() -> tuple[float, float]:
    """Peak resident MiB of this process (DuckDB included) and of the largest process it started
    that still runs (a local Spark session's JVM), read before the session stops."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    below = max((peak_kib(p) for p in descendants(os.getpid())), default=0) / 1024
    return own, below


def peak_kib(pid: int) -> int:
    """VmHWM of a process, in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Every process started below ``pid`` (the JVM of a local Spark session)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _analyze(
    data: str,
    out: str,
    options: dict[str, Any],
    queue: mp.Queue,  # type: ignore[type-arg]
) -> None:
    from qalqan.analytics.staging import scratch_compression, stage
    from qalqan.analytics.store import AnalysisStore
    from qalqan.cli.analyze import import_meanwhile

    steps: dict[str, tuple[float, float]] = {}
    t, cpu = time.perf_counter(), time.process_time()

    def done(step: str) -> None:
        nonlocal t, cpu
        steps[step] = (time.perf_counter() - t, time.process_time() - cpu)
        t, cpu = time.perf_counter(), time.process_time()

    with tempfile.TemporaryDirectory(prefix="qalqan-bench-") as scratch:
        # as `qalqan analyze`: what runs after staging is imported while it runs
        import_meanwhile(
            "qalqan.analytics.models", "qalqan.analytics.pipeline", "qalqan.analytics.output"
        )
        report = stage(  # as `qalqan analyze` stages a run that keeps no state
            Path(data),
            Path(scratch) / "staged",
            quarantine_dir=Path(out) / "quarantine",
            compression=scratch_compression(Path(data)),
        )
        done("validate and stage")
        from qalqan.analytics.models import load_models
        from qalqan.analytics.output import write_result
        from qalqan.analytics.pipeline import Analysis

        models = load_models(Path(options["models"]))
        done("load models")
        store = AnalysisStore.open(
            Path(scratch) / "staged",
            memory_limit=options["memory_limit"],
            threads=options["threads"],
            spill_dir=Path(scratch) / "spill",
            engine=options["engine"],
            spark_master=options["spark_master"],
        )
        analysis = Analysis(store, models)
        t, cpu = time.perf_counter(), time.process_time()
        analysis.prepare()
        done("features and call facts")
        result = analysis.run()
        done("SIMs, farms, calls, campaigns")
        write_result(result, Path(out), analysis.sim_table)
        done("write outputs")
        peaks = _peaks()
        store.close()
    queue.put(
        (report.tables["cdrs"].rows_read, steps, peaks, len(result.farms), len(result.campaigns))
    )


def _cdrs_source(data: Path) -> str:
    """DuckDB's reader of the data set's call records, whatever files hold them."""
    for pattern, reader in (
        ("cdrs.parquet", "read_parquet"),
        ("cdrs/*.parquet", "read_parquet"),
        ("cdrs.csv", "read_csv"),
        ("cdrs.csv.gz", "read_csv"),
        ("cdrs/*.csv", "read_csv"),
        ("cdrs/*.csv.gz", "read_csv"),
    ):
        if any(data.glob(pattern)):
            return f"{reader}('{(data / pattern).as_posix()}')"
    raise SystemExit(f"no call records (cdrs.csv, cdrs.parquet or a cdrs/ folder) in {data}")


def _raw(data: str, options: dict[str, Any], queue: mp.Queue) -> None:  # type: ignore[type-arg]
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{options['memory_limit']}'")
    if options["threads"]:
        con.execute(f"SET threads = {int(options['threads'])}")
    sql = RAW_AGGREGATION.format(source=_cdrs_source(Path(data)))
    t = time.perf_counter()
    sims, calls, *_ = con.execute(sql).fetchone() or (0, 0)
    seconds = time.perf_counter() - t
    queue.put((seconds, sims, calls, _peaks()))


def _simulate(out: str, subscribers: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from qalqan.simulator.config import Scenario
    from qalqan.simulator.operator import simulate

    summary = simulate(
        Path(out), Scenario(subscribers=subscribers, days=DAYS, seed=1), fmt="parquet"
    )
    queue.put((summary.rows["cdrs"],))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="an existing data set")
    parser.add_argument(
        "--rows",
        type=int,
        default=10_000_000,
        help="call records to simulate when --data is not given",
    )
    parser.add_argument(
        "--memory-limit",
        default="6GB",
        help="DuckDB's memory limit (6GB keeps 100 million rows within 8 GB peak)",
    )
    parser.add_argument("--threads", type=int, default=None, help="engine threads (all cores)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--spark-master", default=None, help="e.g. local[2], spark://host:7077")
    parser.add_argument("--repeat", type=int, default=1, help="runs of both measurements")
    return parser.parse_args()


def _simulated(rows: int) -> Path:
    data = Path(tempfile.mkdtemp(prefix="qalqan-bench-data-"))
    subscribers = max(1000, int(rows / (ROWS_PER_SUBSCRIBER_DAY * DAYS)))
    (made,) = run_in_child(_simulate, str(data), subscribers)
    print(f"simulated {made:,} call records ({subscribers:,} subscribers x {DAYS} days, Parquet)")
    return data


def _load() -> str:
    """The load average over 1, 5 and 15 minutes: what else the cores were doing."""
    return " / ".join(f"{n:.2f}" for n in os.getloadavg())


def _run_once(run: int, data: Path, options: dict[str, Any]) -> None:
    """One analysis and one raw aggregation of the same files, each in its own child."""
    out = Path(tempfile.mkdtemp(prefix="qalqan-bench-out-"))
    load = _load()
    try:
        started = time.perf_counter()
        rows, steps, peaks, farms, campaigns = run_in_child(_analyze, str(data), str(out), options)
        total = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(f"run {run}: analyze on {options['engine']} (load average at the start {load})")
    for step, (seconds, cpu) in steps.items():
        print(
            f"  {step:<32} {seconds:8.1f} s  {rows / max(seconds, 1e-9):>12,.0f} rows/s"
            f"  {cpu:8.1f} CPU s"
        )
    rate = rows / total
    cpu = sum(c for _, c in steps.values())
    jvm = f", the JVM {peaks[1]:,.0f} MiB" if peaks[1] > 1 else ""
    print(
        f"analyze: {rows:,} call records in {total:.1f} s end to end: {rate:,.0f} rows/s;"
        f" {cpu:.1f} CPU s in the analysis's process (all its threads);"
        f" peak memory {peaks[0]:,.0f} MiB{jvm}; load average at the end {_load()}"
    )
    print(f"found {farms} farms and {campaigns} campaigns")
    print(
        f"at this rate 100 million rows take about {1e8 / rate / 60:.0f} minutes"
        " (DuckDB spills to disk beyond --memory-limit)"
    )
    raw_s, sims, mobile, raw_peaks = run_in_child(_raw, str(data), options)
    raw_rate = rows / raw_s
    print(
        f"raw: DuckDB aggregates {sims:,} SIMs' behaviour ({mobile:,} mobile calls) straight from"
        f" the input in {raw_s:.1f} s: {raw_rate:,.0f} rows/s; peak memory {raw_peaks[0]:,.0f} MiB"
    )
    print(f"analyze/raw: {rate / raw_rate:.3f} of the raw rate ({total / raw_s:.1f}x its time)")


def main() -> None:
    args = _arguments()
    if args.engine == "spark":
        from qalqan.analytics.engine import require_spark

        require_spark()
    made = None if args.data is not None else _simulated(args.rows)
    data = args.data if made is None else made
    options: dict[str, Any] = {
        "memory_limit": args.memory_limit,
        "threads": args.threads,
        "engine": args.engine,
        "spark_master": args.spark_master,
    }
    try:
        # models are trained on first use; do it before the clock starts, and hand the
        # child the very file (its name follows the source, which may change meanwhile)
        from qalqan.training.cache import cached_models, default_model_path

        options["models"] = str(default_model_path())
        cached_models(path=Path(options["models"]))
        for run in range(1, args.repeat + 1):
            _run_once(run, data, options)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


if __name__ == "__main__":
    main()
