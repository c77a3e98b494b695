"""How fast ``qalqan validate`` reads a data set: rows per second per table, and peak memory.

    python benchmarks/validate_throughput.py --data DIR [--chunk-rows N] [--quarantine DIR]

Reads every input table of DIR exactly as ``DataSet.validate`` does (same
order, same checks, rejected rows written to the quarantine) and prints, per
table and in total, rows, seconds, rows/s and MB/s of file, then the process's
CPU time and peak resident memory. Rows/s is wall-clock time: on a busy machine
compare the CPU seconds instead. A data set to measure on comes from
``qalqan simulate DIR -n 200000 -d 7`` (add ``-f csv.gz`` or ``-f parquet`` for
the other formats). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from qalqan.exchange.reader import DEFAULT_CHUNK_ROWS, DataSet
from qalqan.exchange.schema import INPUT_TABLES


def _cpu_seconds() -> float:
    """CPU time of the whole process, every thread: what the reading cost the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="data set folder")
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    parser.add_argument(
        "--quarantine", type=Path, default=None, help="where rejected rows go (default: a temp dir)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        quarantine = args.quarantine or Path(scratch)
        data_set = DataSet.open(args.data)
        print(
            f"{'table':<12} {'rows':>13} {'rejected':>10} {'seconds':>8} {'rows/s':>12} {'MB/s':>7}"
            f" {'CPU s':>7}"
        )
        total_rows = 0
        total_seconds = 0.0
        for name in INPUT_TABLES:
            if not data_set.has(name):
                continue
            size = data_set.paths[name].stat().st_size
            cpu = _cpu_seconds()
            start = time.perf_counter()
            with data_set.read(name, quarantine=quarantine, chunk_rows=args.chunk_rows) as reader:
                for _ in reader:
                    pass
            seconds = time.perf_counter() - start
            cpu = _cpu_seconds() - cpu
            report = reader.report
            total_rows += report.rows_read
            total_seconds += seconds
            print(
                f"{name:<12} {report.rows_read:>13,} {report.rows_rejected:>10,} {seconds:>8.2f} "
                f"{report.rows_read / seconds:>12,.0f} {size / seconds / 1e6:>7.1f} {cpu:>7.2f}"
            )
        print(
            f"{'total':<12} {total_rows:>13,} {'':>10} {total_seconds:>8.2f} "
            f"{total_rows / total_seconds:>12,.0f}"
        )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"CPU time {usage.ru_utime + usage.ru_stime:.2f} s; peak memory {usage.ru_maxrss / 1024:,.0f} MB"
    )


if __name__ == "__main__":
    main()
