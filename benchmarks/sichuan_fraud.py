"""Per-number fraud scoring on the real Sichuan operator data, evaluated honestly.

Prints, in Markdown, the tables that docs/real-data-sichuan.md quotes:

* the scorer under several protocols: random stratified k-fold (the kind of
  split the published GNN results use), grouped k-fold over similarity-graph
  communities (Qalqan's headline figure), both with and without graph features,
  a stress test with whole communities, and the GAT-COBO default holdout
  (20 % train, 20 % validation, 60 % test);
* the README's one-line rule as a floor;
* the features that matter most (permutation importance on grouped test folds);
* example explanations of single numbers.

Usage::

    .venv/bin/python benchmarks/sichuan_fraud.py [--data DIR] [--seeds 3] [--folds 5]

The run takes a few minutes on one core. The data set stays outside the
repository (``--data``, ``$QALQAN_SICHUAN_DIR`` or ``../shared/data/sichuan-telecom-fraud``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import _research  # noqa: F401  (puts research/ on the import path)
import numpy as np
import sklearn
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split

from qalqan.analytics.number_scoring import NumberFraudScorer
from qalqan.errors import QalqanError
from research.cross_validation import (
    METRICS,
    CrossValidation,
    FoldResult,
    GraphFeatureSet,
    best_f1_threshold,
    cross_validate,
    stratified_folds,
)
from research.sichuan import FEATURE_DESCRIPTIONS, SichuanData, load_sichuan
from research.similarity_graph import communities

GRAPH = GraphFeatureSet(degree=True, known_fraud_share=True)


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    graph: str
    result: CrossValidation
    seconds: float


def scorer(seed: int) -> NumberFraudScorer:
    return NumberFraudScorer(seed=seed, descriptions=FEATURE_DESCRIPTIONS)


def grouped(
    data: SichuanData,
    *,
    seeds: list[int],
    folds: int,
    max_size: int | None,
    graph: GraphFeatureSet,
    importance_repeats: int = 0,
) -> CrossValidation:
    """Grouped CV with the communities redrawn for every seed (Louvain is seeded too)."""
    collected: list[FoldResult] = []
    for seed in seeds:
        groups = communities(data.similarity, seed=seed, max_size=max_size)
        part = cross_validate(
            data.features,
            data.labels,
            groups=groups,
            seeds=(seed,),
            folds=folds,
            graph=data.similarity,
            graph_features=graph,
            make_scorer=scorer,
            importance_repeats=importance_repeats,
        )
        collected.extend(part.folds)
    return CrossValidation(protocol="grouped", folds=tuple(collected))


def paper_holdout(data: SichuanData, *, seeds: list[int]) -> CrossValidation:
    """GAT-COBO's default split: stratified random 20 % train, 20 % validation, 60 % test."""
    y = data.labels
    index = np.arange(len(y))
    results: list[FoldResult] = []
    for seed in seeds:
        train, rest = train_test_split(index, train_size=0.2, stratify=y, random_state=seed)
        val, test = train_test_split(rest, train_size=0.25, stratify=y[rest], random_state=seed)
        model = scorer(seed).fit(data.features.rows(train), y[train])
        threshold = best_f1_threshold(y[val], model.score(data.features.rows(val)))
        scores = model.score(data.features.rows(test))
        alert = scores >= threshold
        results.append(
            FoldResult(
                seed=seed,
                fold=0,
                test_rows=len(test),
                test_fraud=int(y[test].sum()),
                threshold=threshold,
                roc_auc=float(roc_auc_score(y[test], scores)),
                pr_auc=float(average_precision_score(y[test], scores)),
                f1=float(f1_score(y[test], alert)),
                precision=float(precision_score(y[test], alert)),
                recall=float(recall_score(y[test], alert)),
            )
        )
    return CrossValidation(protocol="holdout", folds=tuple(results))


def rule_floor(data: SichuanData) -> tuple[float, float, float]:
    """The README's rule: outgoing share >= 0.9 and fewer than 2 calls per counterpart."""
    share = data.features.column("voc_calltype1")
    per_counterpart = data.features.column("phone2opposite_mean")
    alert = (share >= 0.9) & (per_counterpart < 2)
    y = data.labels
    return (
        float(f1_score(y, alert)),
        float(precision_score(y, alert)),
        float(recall_score(y, alert)),
    )


def cell(result: CrossValidation, metric: str) -> str:
    mean, spread = result.metric(metric)
    return f"{mean:.3f} ± {spread:.3f}" if len(result.folds) > 1 else f"{mean:.3f}"


def print_table(rows: list[Row]) -> None:
    print("| protocol | graph features | folds | " + " | ".join(METRICS) + " | edges across |")
    print("|---|---|---|" + "---|" * len(METRICS) + "---|")
    for row in rows:
        across = (
            cell(row.result, "edges_across")
            if all(f.edges_across is not None for f in row.result.folds)
            else "–"
        )
        metrics = " | ".join(cell(row.result, m) for m in METRICS)
        print(f"| {row.name} | {row.graph} | {len(row.result.folds)} | {metrics} | {across} |")


def explain_examples(data: SichuanData, *, folds: int, max_size: int) -> None:
    """Fit on the training side of grouped fold 0 and explain three test numbers."""
    groups = communities(data.similarity, seed=0, max_size=max_size)
    fold_of = stratified_folds(data.labels, groups=groups, folds=folds, seed=0)
    train, test = np.flatnonzero(fold_of != 0), np.flatnonzero(fold_of == 0)
    model = scorer(0).fit(data.features.rows(train), data.labels[train])
    scores = model.score(data.features.rows(test))
    y = data.labels[test]
    picks = {
        "highest-scored fraud number": test[np.flatnonzero(y == 1)[np.argmax(scores[y == 1])]],
        "lowest-scored normal number": test[np.flatnonzero(y == 0)[np.argmin(scores[y == 0])]],
        "fraud number the model scored lowest (a miss)": test[
            np.flatnonzero(y == 1)[np.argmin(scores[y == 1])]
        ],
    }
    for title, row in picks.items():
        score = float(model.score(data.features.rows([row]))[0])
        print(f"\n{title} (score {score:.3f}, label {int(data.labels[row])}):")
        for reason in model.explain(data.features, int(row), top=4):
            print(f"  - {reason}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder of the Sichuan data set")
    parser.add_argument("--seeds", type=int, default=3, help="repetitions with new seeds")
    parser.add_argument("--folds", type=int, default=5, help="outer folds")
    parser.add_argument(
        "--skip-stress", action="store_true", help="leave out the whole-community stress test"
    )
    args = parser.parse_args(argv)
    try:
        data = load_sichuan(args.data)
    except QalqanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    seeds = list(range(args.seeds))
    cap = len(data.labels) // (2 * args.folds)
    print(
        f"Sichuan: {len(data.labels)} numbers, {int(data.labels.sum())} fraud "
        f"({data.fraud_share:.1%}), {len(data.features.columns)} features, "
        f"{data.similarity.nnz // 2} similarity edges; scikit-learn {sklearn.__version__}; "
        f"seeds {seeds}, {args.folds} folds, community cap {cap}\n"
    )
    started = time.monotonic()
    plan = [
        (
            "random stratified",
            GraphFeatureSet(),
            lambda: cross_validate(
                data.features,
                data.labels,
                seeds=seeds,
                folds=args.folds,
                graph=data.similarity,
                make_scorer=scorer,
            ),
        ),
        (
            "random stratified",
            GRAPH,
            lambda: cross_validate(
                data.features,
                data.labels,
                seeds=seeds,
                folds=args.folds,
                graph=data.similarity,
                graph_features=GRAPH,
                make_scorer=scorer,
            ),
        ),
        (
            f"grouped: communities ≤ {cap}",
            GraphFeatureSet(),
            lambda: grouped(
                data,
                seeds=seeds,
                folds=args.folds,
                max_size=cap,
                graph=GraphFeatureSet(),
                importance_repeats=3,
            ),
        ),
        (
            f"grouped: communities ≤ {cap}",
            GRAPH,
            lambda: grouped(data, seeds=seeds, folds=args.folds, max_size=cap, graph=GRAPH),
        ),
        (
            "GAT-COBO holdout 20/20/60",
            GraphFeatureSet(),
            lambda: paper_holdout(data, seeds=list(range(max(args.seeds, 5)))),
        ),
    ]
    if not args.skip_stress:
        plan.append(
            (
                "stress: whole communities",
                GraphFeatureSet(),
                lambda: grouped(
                    data, seeds=seeds, folds=args.folds, max_size=None, graph=GraphFeatureSet()
                ),
            )
        )
    rows: list[Row] = []
    for name, graph, run in plan:
        t0 = time.monotonic()
        result = run()
        rows.append(Row(name=name, graph=str(graph), result=result, seconds=time.monotonic() - t0))
        print(f"  done: {name} / {graph} in {rows[-1].seconds:.0f} s", file=sys.stderr)
    print_table(rows)
    f1, precision, recall = rule_floor(data)
    print(
        f"\nRule floor (out-share ≥ 0.9 and < 2 calls per counterpart, all numbers): "
        f"F1 {f1:.3f}, precision {precision:.3f}, recall {recall:.3f}"
    )
    print("\nMean alert threshold chosen on training folds:")
    for row in rows:
        print(f"  {row.name} / {row.graph}: {cell(row.result, 'threshold')}")

    importance = next(r for r in rows if r.name.startswith("grouped")).result.importance()
    print("\nTop features (grouped folds, permutation importance = ROC AUC lost when shuffled):")
    print("| feature | meaning | AUC lost |")
    print("|---|---|---|")
    for feature, drop in importance[:12]:
        print(f"| `{feature}` | {FEATURE_DESCRIPTIONS.get(feature, feature)} | {drop:.4f} |")

    explain_examples(data, folds=args.folds, max_size=cap)
    print(f"\nTotal {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
