"""``qalqan analyze --engine spark`` timed step by step, with the driver's and the JVM's peak memory.

    .venv/bin/python benchmarks/analyze_spark.py --data /tmp/d1 [--master local[2]]

Stages the data set once (Python, as ``qalqan analyze`` does), then runs the analysis on
Spark and prints seconds per step, rows/s end to end and the peak resident memory (VmHWM)
of this process and of the JVM it started. A step that fails on Spark is reported with its
error and the figures measured up to it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--master", default=None)
    args = parser.parse_args()

    from qalqan.analytics.pipeline import Analysis
    from qalqan.analytics.staging import stage
    from qalqan.analytics.store import AnalysisStore
    from qalqan.training.cache import cached_models

    scratch = Path(tempfile.mkdtemp(prefix="qalqan-spark-bench-"))
    t0 = time.perf_counter()
    report = stage(args.data, scratch / "staged", quarantine_dir=scratch / "quarantine")
    times = {"stage": time.perf_counter() - t0}
    models = cached_models()
    store = AnalysisStore.open(scratch / "staged", engine="spark", spark_master=args.master)
    analysis = Analysis(store, models)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("prepare", analysis.prepare),
        ("run", analysis.run),
    ]
    failed = ""
    for name, step in steps:
        t = time.perf_counter()
        try:
            step()
        except Exception as e:  # reported with the figures so far
            failed = f"{name}: {type(e).__name__}: {str(e).splitlines()[0][:300]}"
            times[name] = time.perf_counter() - t
            break
        times[name] = time.perf_counter() - t
    jvm = max((peak_kib(p) for p in descendants(os.getpid())), default=0)
    driver = peak_kib(os.getpid())
    store.close()
    total = sum(times.values())
    rows = report.rows_read
    print(f"data {args.data}: {rows:,} rows read")
    for name, secs in times.items():
        print(f"  {name:8s} {secs:8.1f} s")
    print(
        f"  total    {total:8.1f} s, {rows / total:,.0f} rows/s"
        + (" (to the failure)" if failed else "")
    )
    print(f"  peak memory: Python driver {driver / 1024:,.0f} MiB, JVM {jvm / 1024:,.0f} MiB")
    if failed:
        print(f"  FAILED at {failed}")


if __name__ == "__main__":
    main()
