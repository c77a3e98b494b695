"""Today's figures on scenario families the shipped models never saw: the honest measuring stick.

    python benchmarks/held_out.py                         # every family and the default scenario
    python benchmarks/held_out.py -n 3000 -d 4 --families wangiri-ranges,default
    python benchmarks/held_out.py --keep /tmp/held-out    # keep the data sets and outputs

For each family (``qalqan simulate --family``, see docs/simulator.md) and the default
scenario, it simulates a modest operator, runs the batch analysis (``qalqan analyze``),
the time-ordered replay through the screening engine (``qalqan replay``, the batch
detector feeding the engine every hour of the data's time) and scores both against the
ground truth (``qalqan evaluate``, ``qalqan replay --truth``), in-process. It prints one
Markdown table with the figures issue 10 names, which family is held out from training,
and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _research  # noqa: F401  (puts research/ on the import path)

from qalqan.analytics.calls import CALL_FEATURES
from qalqan.analytics.evaluate import evaluate
from qalqan.analytics.features import FEATURES
from qalqan.analytics.number_scoring import FeatureTable
from qalqan.analytics.output import write_result
from qalqan.analytics.pipeline import Analysis
from qalqan.analytics.staging import stage
from qalqan.analytics.store import AnalysisStore
from qalqan.screening.config import load_config
from qalqan.screening.replay import ReplayScore, ReplaySummary, replay, score_replay
from qalqan.simulator.config import Scenario, load_scenario
from qalqan.simulator.families import FAMILIES
from qalqan.simulator.operator import simulate
from qalqan.training.cache import cached_models
from qalqan.training.frames import labelled_frames
from qalqan.training.recipe import TRAINING_RECIPE
from research.cross_validation import ReliabilityBin, reliability

DEFAULT = "default"


@dataclass(slots=True)
class Run:
    family: str
    scenario: Scenario
    cdrs: int
    evaluation: Any
    summary: ReplaySummary
    score: ReplayScore
    seconds: float
    sims: list[ReliabilityBin] = field(default_factory=list)
    """Reliability of the SIM model's calibrated scores on this family."""
    calls: list[ReliabilityBin] = field(default_factory=list)
    """Reliability of the call model's calibrated scores on the calls no rule settles."""


def in_training(family: str) -> bool:
    """Whether any operator the shipped models learn from has every setting of the family."""
    if family == DEFAULT:
        return True
    wanted = FAMILIES[family].settings
    for trained in TRAINING_RECIPE:
        same = [
            getattr(getattr(trained, key), name) == setting
            for key, value in wanted.items()
            if isinstance(value, dict)
            for name, setting in value.items()
        ]
        same += [
            getattr(trained, key) == value
            for key, value in wanted.items()
            if not isinstance(value, dict)
        ]
        if all(same):
            return True
    return False


def run_family(family: str, root: Path, *, subscribers: int, days: int, seed: int) -> Run:
    started = time.perf_counter()
    name = None if family == DEFAULT else family
    scenario = load_scenario(None, family=name, subscribers=subscribers, days=days, seed=seed)
    data, out = root / family / "data", root / family / "analysis"
    made = simulate(data, scenario)
    with tempfile.TemporaryDirectory(prefix="qalqan-held-out-") as scratch:
        stage(data, Path(scratch) / "staged", quarantine_dir=out / "quarantine")
        store = AnalysisStore.open(Path(scratch) / "staged", spill_dir=Path(scratch) / "spill")
        try:
            models = cached_models()
            analysis = Analysis(store, models)
            analysis.prepare()
            write_result(analysis.run(), out, analysis.sim_table)
            sim_x, sim_y, call_x, call_y = labelled_frames(analysis, data / "truth")
            sims = reliability(
                models.sim.score(FeatureTable(columns=FEATURES, values=sim_x)), sim_y
            )
            calls = (
                reliability(
                    models.call.score(FeatureTable(columns=CALL_FEATURES, values=call_x)), call_y
                )
                if models.call is not None and call_y.size
                else []
            )
        finally:
            store.close()
    decisions = root / family / "decisions.csv"
    summary = replay(
        data,
        decisions,
        config=load_config(None),
        analyze_every_s=3600.0,
        quarantine=root / family / "replay-quarantine",
    )
    return Run(
        family=family,
        scenario=scenario,
        cdrs=made.rows["cdrs"],
        evaluation=evaluate(out, data / "truth"),
        summary=summary,
        score=score_replay(decisions, data, data / "truth"),
        seconds=time.perf_counter() - started,
        sims=sims,
        calls=calls,
    )


def _share(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f} %"


def _intercepted(score: ReplayScore, prefix: str) -> str:
    groups = [(c, k) for g, (c, k) in score.fraud_by_group.items() if g.startswith(prefix)]
    calls = sum(c for c, _ in groups)
    return "–" if not calls else f"{sum(k for _, k in groups) / calls:.3f}"


FIGURES: tuple[tuple[str, str], ...] = (
    ("held out from training", ""),
    ("call records", ""),
    ("SIM-box precision / recall", "≥ 0.99 / ≥ 0.99"),
    ("evasive farm recall", "≥ 0.97"),
    ("fraud-call precision / recall", "≥ 0.99 / ≥ 0.97"),
    ("legitimate calls from abroad flagged", "≤ 0.3 %"),
    ("  foreign companies' calls to customers flagged", "≤ 0.3 %"),
    ("campaign adjusted Rand index", "≥ 0.85"),
    ("replay: fraud calls intercepted (all kinds)", "≥ 0.93"),
    ("  call centers (spoofed and farm calls)", "≥ 0.90"),
    ("  bypass SIM boxes", "≥ 0.90"),
    ("  Wangiri", "≥ 0.90"),
    ("replay: legitimate inbound calls touched", "≤ 0.3 %"),
    ("engine p99 on the replay", "≤ 100 µs"),
    ("calibration: SIMs scored ≥ 0.5, mean score → share SIM boxes", "alike"),
    ("calibration: calls scored ≥ 0.5, mean score → share fraud", "alike"),
    ("wall time (simulate, analyze, replay)", ""),
)


def column(run: Run) -> list[str]:
    ev, score = run.evaluation, run.score
    return [
        "no" if in_training(run.family) else "yes",
        f"{run.cdrs:,}",
        f"{_share(ev.sim['precision'])} / {_share(ev.sim['recall'])}",
        _share(ev.sim["recall_by_kind"].get("evasive")),
        f"{_share(ev.calls['precision'])} / {_share(ev.calls['recall'])}",
        _pct(ev.calls["false_flag_rate_international"]),
        _pct(ev.calls["false_flag_rate_by_kind"].get("foreign_business")),
        _share(ev.campaigns["ari"]),
        _share(score.interception_rate),
        _intercepted(score, "cc-"),
        _intercepted(score, "bypass-"),
        _intercepted(score, "wangiri-"),
        _pct(score.legit_touched_rate),
        f"{run.summary.latency_p99_us:.0f} µs",
        _calibration(run.sims),
        _calibration(run.calls),
        f"{run.seconds:.0f} s",
    ]


def _calibration(bins: list[ReliabilityBin], above: float = 0.5) -> str:
    """Mean score and share of fraud of the rows scored at least ``above`` (bins merged)."""
    high = [b for b in bins if b.low >= above]
    rows = sum(b.rows for b in high)
    if not rows:
        return "–"
    mean = sum(b.mean_score * b.rows for b in high) / rows
    share = sum(b.fraud_share * b.rows for b in high) / rows
    return f"{mean:.2f} → {share:.2f} ({rows:,})"


def reliability_table(runs: list[Run], what: str) -> str:
    """Per family, each score bin's mean score → share of fraud (rows)."""
    edges = sorted({(b.low, b.high) for r in runs for b in getattr(r, what)})
    lines = [
        "| family | " + " | ".join(f"{lo:g}–{hi:g}" for lo, hi in edges) + " |",
        "|---|" + "---|" * len(edges),
    ]
    for r in runs:
        found = {(b.low, b.high): b for b in getattr(r, what)}
        cells = [
            f"{b.mean_score:.2f} → {b.fraud_share:.2f} ({b.rows:,})" if b else ""
            for b in (found.get(e) for e in edges)
        ]
        lines.append(f"| `{r.family}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(runs: list[Run]) -> str:
    lines = [
        "| figure | goal | " + " | ".join(f"`{r.family}`" for r in runs) + " |",
        "|---|---|" + "---|" * len(runs),
    ]
    columns = [column(r) for r in runs]
    for i, (name, goal) in enumerate(FIGURES):
        lines.append(f"| {name} | {goal} | " + " | ".join(c[i] for c in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", "-n", type=int, default=5000)
    parser.add_argument("--days", "-d", type=int, default=7)
    parser.add_argument("--seed", "-s", type=int, default=7, help="below 1000: never in training")
    parser.add_argument(
        "--families",
        default=",".join([DEFAULT, *FAMILIES]),
        help=f"comma-separated, of: {DEFAULT}, {', '.join(FAMILIES)}",
    )
    parser.add_argument("--keep", type=Path, help="keep data sets and outputs in this folder")
    args = parser.parse_args()
    names = [n.strip() for n in args.families.split(",") if n.strip()]
    unknown = [n for n in names if n != DEFAULT and n not in FAMILIES]
    if unknown:
        parser.error(f"unknown families: {', '.join(unknown)}")

    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at start")
    print("loading the shipped models (trained on first use) ...", flush=True)
    t = time.perf_counter()
    cached_models()
    print(f"  {time.perf_counter() - t:.0f} s")
    root = args.keep or Path(tempfile.mkdtemp(prefix="qalqan-held-out-"))
    runs = []
    loads = []
    try:
        for name in names:
            print(f"{name}: {args.subscribers:,} subscribers, {args.days} days ...", flush=True)
            runs.append(
                run_family(name, root, subscribers=args.subscribers, days=args.days, seed=args.seed)
            )
            loads.append(os.getloadavg()[0])
            print(f"  {runs[-1].seconds:.0f} s", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(
        f"Seed {args.seed}, {args.subscribers:,} subscribers, {args.days} days; the models learn "
        f"from {len(TRAINING_RECIPE)} default-setting operators (seeds "
        f"{', '.join(str(s.seed) for s in TRAINING_RECIPE)}); "
        f"load average during the runs {min(loads):.2f}-{max(loads):.2f} on {os.cpu_count()} CPUs."
    )
    print()
    print(table(runs))
    for what, title in (("calls", "call model"), ("sims", "SIM model")):
        print()
        print(
            f"Reliability of the shipped {title} (mean score → share fraud (rows), per score bin):"
        )
        print()
        print(reliability_table(runs, what))


if __name__ == "__main__":
    main()
