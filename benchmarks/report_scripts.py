"""Campaigns with and without the reporters' categories: what the complaints' texts give back.

    python benchmarks/report_scripts.py --work /tmp/report-scripts
    python benchmarks/report_scripts.py --work /tmp/report-scripts --seeds 7 --families default
    PYTHONPATH=/path/to/other/checkout python benchmarks/report_scripts.py --work DIR --label before
    python benchmarks/report_scripts.py --work DIR --report-share 1  # every victim who paid complains

For each seed and family, an operator ``qalqan simulate D -n N -d DAYS -s SEED [--family F]``
is simulated once into ``--work`` (kept for later runs), and analysed twice with ``qalqan
analyze`` then scored with ``qalqan evaluate --json``:

- ``as simulated``: the reports as the simulator wrote them, each with the category its
  reporter chose;
- ``category blanked``: a copy of the data set whose ``reports.category`` is ``other`` on every
  row (a channel whose reporters choose no category, such as the public form): only the
  reports' texts tell the script.

It prints, per data set and variant, the campaign adjusted Rand index, the reports linked to
the campaigns, the campaigns whose reasons name a script (``campaign.script``) and how many of
those name the script of the true center most of their calls came from, and the analysis's
CPU seconds (user + system) and peak memory. The commands
run as the ``qalqan`` beside this Python, so ``PYTHONPATH`` selects the code measured (a git
worktree of an earlier commit, say) and the same data sets serve both.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

QALQAN = str(Path(sys.executable).with_name("qalqan"))


def _run(*args: str) -> tuple[str, float, float, int]:
    """A ``qalqan`` command's output, wall and CPU seconds and peak memory (kB) of its process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen([QALQAN, *args], stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode not in (0, 1):
            said = err.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"qalqan {' '.join(args)} failed ({child.returncode}): {said}")
        return out.read().decode(), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def _simulated(
    work: Path, n: int, days: int, seed: int, family: str, report_share: float | None
) -> Path:
    shared = "" if report_share is None else f"-r{report_share:g}"
    folder = work / f"n{n}-d{days}-s{seed}-{family}{shared}"
    if not (folder / "truth").is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        extra = [] if family == "default" else ["--family", family]
        if report_share is not None:
            scenario = work / f"report-share{shared}.yaml"
            scenario.write_text(f"fraud:\n  report_share: {report_share}\n", encoding="utf-8")
            extra += ["--scenario", str(scenario)]
        _run("simulate", str(folder), "-n", str(n), "-d", str(days), "-s", str(seed), "-q", *extra)
    return folder


def _blanked(data: Path) -> Path:
    """A copy of ``data`` (tables linked, not copied) whose reports all say ``other``."""
    folder = data.with_name(data.name + "-blank")
    if folder.is_dir():
        return folder
    partial = data.with_name(data.name + "-blank.part")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    for path in data.iterdir():
        if path.name != "reports.csv":
            (partial / path.name).symlink_to(path.resolve())
    with (
        (data / "reports.csv").open(newline="", encoding="utf-8") as source,
        (partial / "reports.csv").open("w", newline="", encoding="utf-8") as target,
    ):
        rows = csv.DictReader(source)
        writer = csv.DictWriter(
            target, fieldnames=list(rows.fieldnames or []), quoting=csv.QUOTE_NONNUMERIC
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "category": "other"})
    partial.rename(folder)
    return folder


def _scripts_right(data: Path, out: Path) -> tuple[int, int]:
    """Campaigns whose reasons name a script, and those naming their true center's."""
    with (data / "truth" / "labels.csv").open(newline="", encoding="utf-8") as handle:
        center = {r["id"]: r["group"] for r in csv.DictReader(handle) if r["kind"] == "call"}
    with (data / "truth" / "campaigns.csv").open(newline="", encoding="utf-8") as handle:
        script_of = {r["campaign"]: r["category"] for r in csv.DictReader(handle)}
    votes: dict[str, Counter[str]] = {}
    with (out / "calls.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["campaign_id"]:
                votes.setdefault(row["campaign_id"], Counter())[
                    center.get(row["record_id"], "")
                ] += 1
    said = right = 0
    with (out / "campaigns.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for reason in json.loads(row["reason_facts"] or "[]"):
                if reason["rule"] == "campaign.script":
                    said += 1
                    true = votes.get(row["campaign_id"], Counter([""])).most_common(1)[0][0]
                    right += reason["facts"]["category"] == script_of.get(true)
    return said, right


def _measure(data: Path, out: Path) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    _, wall, cpu, rss = _run("analyze", str(data), "--out", str(out))
    scored, _, _, _ = _run("evaluate", str(out), "--truth", str(data / "truth"), "--json")
    with (out / "campaigns.csv").open(newline="", encoding="utf-8") as handle:
        reports = sum(int(row["reports"] or 0) for row in csv.DictReader(handle))
    said, right = _scripts_right(data, out)
    return {
        "ari": float(json.loads(scored)["campaigns"]["ari"]),
        "reports": reports,
        "said": said,
        "right": right,
        "wall": wall,
        "cpu": cpu,
        "rss_mb": rss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for data sets and outputs")
    parser.add_argument("-n", "--subscribers", type=int, default=10_000)
    parser.add_argument("-d", "--days", type=int, default=5)
    parser.add_argument("--seeds", default="7,8")
    parser.add_argument("--families", default="default,split-centers,another-country")
    parser.add_argument("--label", default="now", help="names this run's outputs (before, after)")
    parser.add_argument(
        "--report-share", type=float, help="the scenario's share of paying victims who complain"
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"code: {os.environ.get('PYTHONPATH') or 'installed'}; load {os.getloadavg()[0]:.1f}")
    print(
        "| data set | variant | campaign ARI | linked reports | scripts named (right) "
        "| wall s | CPU s | peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for family in args.families.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            data = _simulated(
                args.work, args.subscribers, args.days, seed, family, args.report_share
            )
            for variant, folder in (("as simulated", data), ("category blanked", _blanked(data))):
                m = _measure(folder, args.work / "out" / args.label / folder.name)
                print(
                    f"| {family}, seed {seed} | {variant} | {m['ari']:.3f} | {m['reports']:.0f} "
                    f"| {m['said']:.0f} ({m['right']:.0f}) "
                    f"| {m['wall']:.0f} | {m['cpu']:.1f} | {m['rss_mb']:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
