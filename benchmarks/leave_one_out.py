"""Leave one family out: train on the default recipe and every scenario family but one, judge the one.

    python benchmarks/leave_one_out.py                      # every family (read at run time)
    python benchmarks/leave_one_out.py -n 3000 -d 4 --families relatives-abroad,mimic-farms
    python benchmarks/leave_one_out.py --keep /tmp/lofo     # keep (and reuse) the training rows

For each scenario family (:data:`qalqan.simulator.families.FAMILIES`, as many as there
are when it runs) it simulates one training operator (seed 2000 and up, never evaluated)
and one evaluation operator (``--seed``, below 1000). Models are fitted, and calibrated
operator by operator (:func:`qalqan.training.recipe.fit_models`), three ways:

- **held out**: the recipe and every family but the one judged (leave one family out);
- **in training**: the recipe and every family, the judged one included;
- **shipped** (with ``--shipped``): the default recipe only
  (:data:`~qalqan.training.recipe.TRAINING_RECIPE`), as ``benchmarks/held_out.py`` measures.

Each family's evaluation operator is analysed (``qalqan analyze``) with each set and scored
(``qalqan evaluate``). The held-out table is the honest one; the in-training table shows
what learning a family buys once it has been seen. Then, per family, the held-out
models' calibration: the reliability of the call and SIM scores on the family they never saw.
The replay is not run here (``benchmarks/held_out.py`` runs it with the shipped models).
"""

from __future__ import annotations

import argparse
import os
import pickle
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
from qalqan.analytics.models import Models
from qalqan.analytics.number_scoring import FeatureTable
from qalqan.analytics.output import write_result
from qalqan.analytics.pipeline import Analysis
from qalqan.analytics.staging import stage
from qalqan.analytics.store import AnalysisStore
from qalqan.simulator.config import load_scenario
from qalqan.simulator.families import FAMILIES
from qalqan.simulator.operator import simulate
from qalqan.training.frames import TrainingFrames, labelled_frames, operator_frames
from qalqan.training.recipe import TRAINING_RECIPE, fit_models
from research.cross_validation import ReliabilityBin, reliability

DEFAULT = "default"


@dataclass(slots=True)
class Judged:
    family: str
    cdrs: int
    evaluations: dict[str, Any] = field(default_factory=dict)
    calls: list[ReliabilityBin] = field(default_factory=list)
    sims: list[ReliabilityBin] = field(default_factory=list)


def training_rows(
    family: str, n: int, root: Path, *, subscribers: int, days: int
) -> TrainingFrames:
    """One training operator of ``family`` (cached under ``root``)."""
    cached = root / f"frames-{family}-{subscribers}x{days}.pkl"
    if cached.exists():
        with cached.open("rb") as f:
            frames: TrainingFrames = pickle.load(f)
        return frames
    scenario = load_scenario(None, family=family, subscribers=subscribers, days=days, seed=2000 + n)
    with tempfile.TemporaryDirectory(prefix="qalqan-lofo-train-") as tmp:
        frames = operator_frames(scenario, Path(tmp), operator=100 + n)
    with cached.open("wb") as f:
        pickle.dump(frames, f)
    return frames


def recipe_rows(root: Path) -> TrainingFrames:
    parts = []
    for n, scenario in enumerate(TRAINING_RECIPE, start=1):
        cached = root / f"frames-recipe-{scenario.seed}.pkl"
        if cached.exists():
            with cached.open("rb") as f:
                parts.append(pickle.load(f))
            continue
        with tempfile.TemporaryDirectory(prefix="qalqan-lofo-train-") as tmp:
            frames = operator_frames(scenario, Path(tmp), operator=n)
        with cached.open("wb") as f:
            pickle.dump(frames, f)
        parts.append(frames)
    return TrainingFrames.concat(parts)


def judge(
    family: str, root: Path, models: dict[str, Models], *, subscribers: int, days: int, seed: int
) -> Judged:
    """Simulate the family's evaluation operator, analyse it with each set of models, score."""
    name = None if family == DEFAULT else family
    scenario = load_scenario(None, family=name, subscribers=subscribers, days=days, seed=seed)
    data = root / family / "data"
    made = simulate(data, scenario)
    judged = Judged(family=family, cdrs=made.rows["cdrs"])
    with tempfile.TemporaryDirectory(prefix="qalqan-lofo-") as scratch:
        stage(data, Path(scratch) / "staged", quarantine_dir=root / family / "quarantine")
        store = AnalysisStore.open(Path(scratch) / "staged", spill_dir=Path(scratch) / "spill")
        try:
            analysis = Analysis(store)
            analysis.prepare()
            for way, these in models.items():
                analysis.models = these
                out = root / family / way.replace(" ", "-")
                write_result(analysis.run(), out, analysis.sim_table)
                judged.evaluations[way] = evaluate(out, data / "truth")
                if way == "held out":
                    sim_x, sim_y, call_x, call_y = labelled_frames(analysis, data / "truth")
                    judged.sims = reliability(
                        these.sim.score(FeatureTable(columns=FEATURES, values=sim_x)), sim_y
                    )
                    if these.call is not None and call_y.size:
                        judged.calls = reliability(
                            these.call.score(FeatureTable(columns=CALL_FEATURES, values=call_x)),
                            call_y,
                        )
        finally:
            store.close()
    return judged


def _share(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f} %"


FIGURES: tuple[tuple[str, str], ...] = (
    ("SIM-box precision / recall", "≥ 0.99 / ≥ 0.99"),
    ("evasive farm recall", "≥ 0.97"),
    ("fraud-call precision / recall", "≥ 0.99 / ≥ 0.97"),
    ("legitimate calls from abroad flagged", "≤ 0.3 %"),
    ("campaign adjusted Rand index", "≥ 0.85"),
)


TRAINED_ON = {
    "held out": "without the judged family",
    "in training": "with the judged family",
    "shipped": "on the default recipe only",
}


def cells(ev: Any) -> list[str]:
    return [
        f"{_share(ev.sim['precision'])} / {_share(ev.sim['recall'])}",
        _share(ev.sim["recall_by_kind"].get("evasive")),
        f"{_share(ev.calls['precision'])} / {_share(ev.calls['recall'])}",
        _pct(ev.calls["false_flag_rate_international"]),
        _share(ev.campaigns["ari"]),
    ]


def table(judged: list[Judged], way: str) -> str:
    lines = [
        "| figure | goal | " + " | ".join(f"`{j.family}`" for j in judged) + " |",
        "|---|---|" + "---|" * len(judged),
    ]
    columns = [cells(j.evaluations[way]) for j in judged]
    for i, (name, goal) in enumerate(FIGURES):
        lines.append(f"| {name} | {goal} | " + " | ".join(c[i] for c in columns) + " |")
    return "\n".join(lines)


def reliability_table(judged: list[Judged], what: str) -> str:
    lines = [
        "| family | " + " | ".join(f"{b.low:g}–{b.high:g}" for b in _bins(judged, what)) + " |",
        "|---|" + "---|" * len(_bins(judged, what)),
    ]
    edges = [(b.low, b.high) for b in _bins(judged, what)]
    for j in judged:
        found = {(b.low, b.high): b for b in getattr(j, what)}
        row = []
        for edge in edges:
            b = found.get(edge)
            row.append(
                "" if b is None else f"{b.mean_score:.2f} → {b.fraud_share:.2f} ({b.rows:,})"
            )
        lines.append(f"| `{j.family}` | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _bins(judged: list[Judged], what: str) -> list[ReliabilityBin]:
    seen: dict[tuple[float, float], ReliabilityBin] = {}
    for j in judged:
        for b in getattr(j, what):
            seen.setdefault((b.low, b.high), b)
    return [seen[k] for k in sorted(seen)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", "-n", type=int, default=5000, help="evaluation operator")
    parser.add_argument("--days", "-d", type=int, default=7)
    parser.add_argument("--seed", "-s", type=int, default=7, help="below 1000: never in training")
    parser.add_argument("--train-subscribers", type=int, default=4000)
    parser.add_argument("--train-days", type=int, default=4)
    parser.add_argument(
        "--families",
        default=",".join(FAMILIES),
        help=f"comma-separated, to judge (all are trained on): {', '.join(FAMILIES)}, {DEFAULT}",
    )
    parser.add_argument("--keep", type=Path, help="keep data, outputs and training rows here")
    parser.add_argument("--shipped", action="store_true", help="also judge with the shipped models")
    args = parser.parse_args()
    names = [n.strip() for n in args.families.split(",") if n.strip()]
    unknown = [n for n in names if n != DEFAULT and n not in FAMILIES]
    if unknown:
        parser.error(f"unknown families: {', '.join(unknown)}")

    started = time.perf_counter()
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at start", flush=True)
    root = args.keep or Path(tempfile.mkdtemp(prefix="qalqan-lofo-"))
    root.mkdir(parents=True, exist_ok=True)
    loads = []
    try:
        print("training rows: the default recipe ...", flush=True)
        recipe = recipe_rows(root)
        rows = {}
        for n, family in enumerate(FAMILIES, start=1):
            print(f"training rows: {family} ...", flush=True)
            rows[family] = training_rows(
                family, n, root, subscribers=args.train_subscribers, days=args.train_days
            )
        loads.append(os.getloadavg()[0])
        t = time.perf_counter()
        print("fitting: the in-training models ...", flush=True)
        everything = fit_models(TrainingFrames.concat([recipe, *rows.values()]))
        fit_s = time.perf_counter() - t
        shipped = fit_models(recipe) if args.shipped else None
        judged = []
        for family in names:
            print(f"{family}: fitting without it, then judging ...", flush=True)
            held_out = (
                everything
                if family == DEFAULT
                else fit_models(
                    TrainingFrames.concat([recipe, *(r for f, r in rows.items() if f != family)])
                )
            )
            ways = {"held out": held_out, "in training": everything}
            if shipped is not None:
                ways["shipped"] = shipped
            judged.append(
                judge(
                    family,
                    root,
                    ways,
                    subscribers=args.subscribers,
                    days=args.days,
                    seed=args.seed,
                )
            )
            loads.append(os.getloadavg()[0])
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    _report(args, judged, fit_s=fit_s, seconds=time.perf_counter() - started, loads=loads)


def _report(
    args: argparse.Namespace,
    judged: list[Judged],
    *,
    fit_s: float,
    seconds: float,
    loads: list[float],
) -> None:
    """Print how the run was made, then the tables of every way the models were trained."""
    print()
    print(
        f"Evaluation operators: seed {args.seed}, {args.subscribers:,} subscribers, {args.days} "
        f"days. Training: the default recipe ({len(TRAINING_RECIPE)} operators) and one "
        f"operator per family ({args.train_subscribers:,} x {args.train_days} days, seeds "
        f"2001-{2000 + len(FAMILIES)}); fitting both models on all of it, calibration "
        f"included, took {fit_s:.0f} s. "
        f"{seconds:.0f} s in all; load average "
        f"{min(loads):.2f}-{max(loads):.2f} on {os.cpu_count()} CPUs."
    )
    for way in ("held out", "in training", "shipped"):
        if way not in judged[0].evaluations:
            continue
        print()
        print(f"Models trained {TRAINED_ON[way]}:")
        print()
        print(table(judged, way))
    for what, title in (("calls", "call model"), ("sims", "SIM model")):
        print()
        print(
            f"Reliability of the held-out {title} on the family it never saw "
            "(mean score → share fraud (rows), per score bin):"
        )
        print()
        print(reliability_table(judged, what))


if __name__ == "__main__":
    main()
