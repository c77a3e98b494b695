"""What a daily run of ``qalqan analyze --since`` costs against a full run over every day.

    python benchmarks/daily_run.py                      # /tmp/data/W: 200,000 subscribers, 10 days
    python benchmarks/daily_run.py --kept-from 1 --kept-from 5   # days 1-9 kept, then 5-9
    python benchmarks/daily_run.py --no-full            # the daily runs alone (compared
                                                        # with DATA/full of an earlier run)
    python benchmarks/daily_run.py --rebuild-state      # start the kept states again (new code)

The operator is simulated once (``qalqan simulate DATA -n 200000 -d 10 -s 1``) and its
``cdrs.csv`` split into a folder of daily parts, ``DATA/by_day/cdrs/<day>.csv``, as the
exchange format's daily parts are (the other tables beside it, linked; ``DATA/cdrs.csv``
stays as it is). For each ``--kept-from K`` a state of days K to 9 is kept by one run with
``--state`` over those days' parts (``DATA/state_K``, made once and reused; a copy of it
is what each daily run goes on from). The daily run is then ``qalqan analyze DATA/by_day
--state COPY --since <day 10>``, which reads day 10's part (and the minutes past its
midnight); the full run, ``qalqan analyze DATA/by_day`` over every day. Each is a process
of its own under ``/usr/bin/time -v``: it prints the CPU seconds (user + system), the wall
time, the peak resident memory and the load average before it, then the ratio of each
daily run to the full one, and whether the daily run's ``sims.csv``, ``farms.csv`` and
``farm_tracks.csv`` are the full run's bytes (for days 1-9 kept: a state of fewer days
knows fewer days than the full run).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

WHOLE_HISTORY = ("sims.csv", "farms.csv", "farm_tracks.csv")
QALQAN = Path(sys.executable).with_name("qalqan")


@dataclass(frozen=True)
class Measured:
    user_s: float
    sys_s: float
    wall_s: float
    peak_mib: float
    load: str

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def line(self) -> str:
        return (
            f"CPU {self.cpu_s:6.1f} s (user {self.user_s:.1f}, sys {self.sys_s:.1f}), "
            f"wall {self.wall_s:6.1f} s, peak RSS {self.peak_mib:,.0f} MiB, load before {self.load}"
        )


def _simulate(data: Path, subscribers: int, days: int, seed: int) -> None:
    if (data / "cdrs.csv").is_file():
        return
    print(f"simulating {subscribers:,} subscribers over {days} days into {data} ...", flush=True)
    subprocess.run(
        [str(QALQAN), "simulate", str(data), "-n", str(subscribers), "-d", str(days),
         "-s", str(seed)],
        check=True,
    )  # fmt: skip


def _split_by_day(data: Path) -> list[date]:
    """``DATA/by_day``: the data set with ``cdrs`` as daily parts; the days, in order."""
    target = data / "by_day"
    parts = target / "cdrs"
    if parts.is_dir() and any(parts.glob("*.csv")):
        return sorted(date.fromisoformat(p.stem) for p in parts.glob("*.csv"))
    print(f"splitting {data / 'cdrs.csv'} into daily parts in {parts} ...", flush=True)
    shutil.rmtree(target, ignore_errors=True)
    parts.mkdir(parents=True)
    for table in data.iterdir():
        if table.is_file() and table.name != "cdrs.csv":
            (target / table.name).symlink_to(table.resolve())
    with (data / "cdrs.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        at = header.index("start_time")
        files: dict[str, tuple[TextIO, Any]] = {}
        for row in reader:
            day = row[at][:10]
            out = files.get(day)
            if out is None:
                handle = (parts / f"{day}.csv").open("w", newline="", encoding="utf-8")
                out = files[day] = (handle, csv.writer(handle))
                out[1].writerow(header)
            out[1].writerow(row)
    for opened, _ in files.values():
        opened.close()
    return sorted(date.fromisoformat(d) for d in files)


def _data_of_days(data: Path, days: list[date], name: str) -> Path:
    """A data set whose ``cdrs`` holds the parts of ``days`` (linked), the rest shared."""
    target = data / name
    shutil.rmtree(target, ignore_errors=True)
    (target / "cdrs").mkdir(parents=True)
    by_day = data / "by_day"
    for table in by_day.iterdir():
        if table.name != "cdrs":
            (target / table.name).symlink_to(table.resolve())
    for day in days:
        (target / "cdrs" / f"{day}.csv").symlink_to((by_day / "cdrs" / f"{day}.csv").resolve())
    return target


def _models_trained() -> None:
    """Load the models once before a measured run, training them if the code changed: a
    change to the code that shapes them retrains them on first use (qalqan.training.cache),
    which is no part of a run's cost."""
    subprocess.run(
        [sys.executable, "-c", "from qalqan.training.cache import cached_models; cached_models()"],
        check=True,
    )


def _measured(args: list[str]) -> Measured:
    """Run ``qalqan ARGS`` under ``/usr/bin/time -v``; what it cost (models trained first)."""
    _models_trained()
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    done = subprocess.run(
        ["/usr/bin/time", "-v", str(QALQAN), *args, "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"qalqan {' '.join(args)} exited with {done.returncode}")

    def field(name: str) -> str:
        found = re.search(rf"^\s*{re.escape(name)}: (.+)$", done.stderr, re.MULTILINE)
        if found is None:
            raise SystemExit(f"/usr/bin/time printed no {name!r}")
        return found.group(1).strip()

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    return Measured(
        user_s=float(field("User time (seconds)")),
        sys_s=float(field("System time (seconds)")),
        wall_s=wall,
        peak_mib=int(field("Maximum resident set size (kbytes)")) / 1024,
        load=load,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/data/W"))
    parser.add_argument("-n", "--subscribers", type=int, default=200_000)
    parser.add_argument("-d", "--days", type=int, default=10)
    parser.add_argument("-s", "--seed", type=int, default=1)
    parser.add_argument(
        "--kept-from", type=int, action="append",
        help="the first kept day (1-based; repeatable; default 1 and 5)",
    )  # fmt: skip
    parser.add_argument("--no-full", action="store_true", help="measure the daily runs alone")
    parser.add_argument("--rebuild-state", action="store_true", help="keep the states anew")
    parser.add_argument("--repeat", type=int, default=1, help="daily runs of each state")
    args = parser.parse_args()
    data: Path = args.data
    _simulate(data, args.subscribers, args.days, args.seed)
    days = _split_by_day(data)
    last = days[args.days - 1]  # day 10; a part after it holds the minutes past its midnight
    print(f"daily parts: {days[0]} to {days[-1]}; the daily run is of {last} on", flush=True)
    daily: dict[int, Path] = {}
    figures: dict[str, Measured] = {}
    for kept_from in args.kept_from or [1, 5]:
        kept = days[kept_from - 1 : args.days - 1]
        state = data / f"state_{kept_from}"
        if args.rebuild_state or not (state / "manifest.json").is_file():
            shutil.rmtree(state, ignore_errors=True)
            source = _data_of_days(data, kept, f"days_{kept_from}_to_{args.days - 1}")
            print(f"keeping days {kept[0]} to {kept[-1]} in {state} ...", flush=True)
            m = _measured(["analyze", str(source), "--out", str(data / f"out_{kept_from}"),
                           "--state", str(state)])  # fmt: skip
            print(f"  state run: {m.line()}", flush=True)
        for run in range(args.repeat):
            scratch = data / f"state_{kept_from}.daily"
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.copytree(state, scratch, symlinks=True)
            out = data / f"daily_{kept_from}"
            shutil.rmtree(out, ignore_errors=True)
            m = _measured(["analyze", str(data / "by_day"), "--out", str(out), "--state",
                           str(scratch), "--since", last.isoformat()])  # fmt: skip
            shutil.rmtree(scratch, ignore_errors=True)
            label = f"daily run of day {args.days}, days {kept_from}-{args.days - 1} kept"
            print(f"{label} (run {run + 1}): {m.line()}", flush=True)
            figures[label] = m
            daily[kept_from] = out
    full = data / "full"
    if args.no_full:
        if not (full / "sims.csv").is_file():
            return
        print(f"(compared with the full run's outputs kept in {full} by an earlier run)")
    else:
        m = _measured(["analyze", str(data / "by_day"), "--out", str(full)])
        print(f"full run over days 1-{args.days}: {m.line()}", flush=True)
        for label, d in figures.items():
            cpu, wall = d.cpu_s / m.cpu_s, d.wall_s / m.wall_s
            print(f"{label} / full run: {cpu:.0%} of the CPU, {wall:.0%} of the wall time")
    for kept_from, out in daily.items():
        if kept_from != 1:  # days before the state's first are in the full run alone
            continue
        same = [n for n in WHOLE_HISTORY if (out / n).read_bytes() == (full / n).read_bytes()]
        print(f"days {kept_from}-{args.days - 1} kept: the full run's bytes in {', '.join(same) or 'none'}"
              f"{'' if len(same) == len(WHOLE_HISTORY) else '  <-- DIFFERENT'}")  # fmt: skip


if __name__ == "__main__":
    main()
