"""Honest evaluation of a per-number scorer: grouped folds, and thresholds from training data only.

A fraud score is only as good as its performance on numbers the model has
never seen. Three shortcuts make offline figures look better than live ones,
and this module avoids each of them on purpose:

1. **Near-duplicates on both sides of the split.** Fraud numbers come in
   batches: one call center, one SIM farm, one script. In a similarity graph
   they are neighbours. A random split trains on one member of a batch and
   tests on its twin. :func:`stratified_folds` with ``groups`` (communities of
   the graph, from :func:`research.similarity_graph.communities`) keeps
   every group within one fold. Each fold records the share of its test
   numbers' graph edges that still lead into training (``edges_across``).
2. **A threshold tuned on the test fold.** F1, precision and recall depend on
   the alert threshold. :func:`cross_validate` chooses it by maximising F1 on
   out-of-fold scores *inside the training folds* and then applies it,
   unchanged, to the test fold.
3. **Labels leaking through the graph.** The "share of neighbours known to be
   fraud" feature is computed per fold from training labels only. Test labels
   are masked before the graph code sees them. For training numbers the feature
   is cross-fitted over the inner folds, so that it looks the way it will for a
   new number.

Results are kept per fold (:class:`FoldResult`). :class:`CrossValidation`
gives mean ± sample standard deviation over all folds of all seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from qalqan.analytics.number_scoring import FeatureTable, NumberFraudScorer
from research.similarity_graph import (
    cross_fitted_neighbour_fraud_share,
    edges_across,
    neighbour_degree,
    neighbour_means,
)

__all__ = [
    "METRICS",
    "CrossValidation",
    "FoldResult",
    "GraphFeatureSet",
    "ReliabilityBin",
    "best_f1_threshold",
    "cross_validate",
    "reliability",
    "stratified_folds",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall")
"""The figures every fold reports. ``pr_auc`` is average precision (the step-wise area under PR)."""


def stratified_folds(
    labels: npt.ArrayLike,
    *,
    groups: npt.ArrayLike | None = None,
    folds: int = 5,
    seed: int = 0,
) -> IntArray:
    """A fold number 0..folds-1 for every row, with the fraud share kept alike across folds.

    With ``groups`` every member of a group lands in the same fold
    (scikit-learn's ``StratifiedGroupKFold``, shuffled by ``seed``). The
    stratification is then as close as whole groups allow. Without groups this
    is a plain random stratified split.
    """
    y = np.asarray(labels).ravel()
    fold_of = np.full(y.shape[0], -1, dtype=np.int64)
    splitter: Any
    if groups is None:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(y.shape[0]), y)
    else:
        group_array = np.asarray(groups).ravel()
        if group_array.shape[0] != y.shape[0]:
            raise ValueError(f"{group_array.shape[0]} groups for {y.shape[0]} labels")
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(y.shape[0]), y, group_array)
    for fold, (_, test) in enumerate(splits):
        fold_of[test] = fold
    return fold_of


def best_f1_threshold(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """The score threshold (alert when ``score >= threshold``) with the highest F1 on these scores."""
    precision, recall, thresholds = precision_recall_curve(np.asarray(labels), np.asarray(scores))
    precision, recall = precision[:-1], recall[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return float(thresholds[int(np.argmax(f1))])


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphFeatureSet:
    """Which similarity-graph features to add to the table (all computed per fold)."""

    degree: bool = False
    """``graph_degree``: the number of neighbours (no labels)."""
    neighbour_means: bool = False
    """``graph_neighbour_mean_*``: each feature averaged over neighbours (no labels)."""
    known_fraud_share: bool = False
    """Share of neighbours *known* to be fraud, from training labels only."""

    @property
    def any(self) -> bool:
        return self.degree or self.neighbour_means or self.known_fraud_share

    def __str__(self) -> str:
        names = [
            name
            for name, on in (
                ("degree", self.degree),
                ("neighbour means", self.neighbour_means),
                ("known-fraud share", self.known_fraud_share),
            )
            if on
        ]
        return " + ".join(names) if names else "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class FoldResult:
    """What one test fold measured."""

    seed: int
    fold: int
    test_rows: int
    test_fraud: int
    threshold: float
    """Chosen on the training folds' out-of-fold scores; 0.5 if threshold choice was off."""
    roc_auc: float
    pr_auc: float
    f1: float
    precision: float
    recall: float
    edges_across: float | None = None
    """Share of the test numbers' graph edges leading into training (None without a graph)."""
    importance: tuple[tuple[str, float], ...] = ()
    """Permutation importance (ROC AUC loss) on this test fold, if it was asked for."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossValidation:
    """All folds of a repeated cross-validation, with the protocol that produced them."""

    protocol: str
    folds: tuple[FoldResult, ...] = field(default_factory=tuple)

    def metric(self, name: str) -> tuple[float, float]:
        """Mean and sample standard deviation of one metric over every fold of every seed."""
        if name not in (*METRICS, "edges_across", "threshold"):
            raise KeyError(f"unknown metric {name!r}")
        values = np.array([getattr(f, name) for f in self.folds], dtype=np.float64)
        spread = float(values.std(ddof=1)) if values.size > 1 else 0.0
        return float(values.mean()), spread

    def importance(self) -> list[tuple[str, float]]:
        """Permutation importance averaged over the folds that measured it, largest first."""
        totals: dict[str, list[float]] = {}
        for fold in self.folds:
            for name, drop in fold.importance:
                totals.setdefault(name, []).append(drop)
        averaged = [(name, float(np.mean(drops))) for name, drops in totals.items()]
        return sorted(averaged, key=lambda item: -item[1])


def cross_validate(
    features: FeatureTable,
    labels: npt.ArrayLike,
    *,
    groups: npt.ArrayLike | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    folds: int = 5,
    inner_folds: int = 3,
    choose_threshold: bool = True,
    graph: Any = None,
    graph_features: GraphFeatureSet = GraphFeatureSet(),
    make_scorer: Callable[[int], NumberFraudScorer] | None = None,
    importance_repeats: int = 0,
    protocol: str = "",
) -> CrossValidation:
    """Repeated stratified k-fold evaluation of a :class:`NumberFraudScorer`.

    ``groups`` (for example graph communities) makes the folds grouped.
    ``graph`` is the similarity graph over the rows. It is needed for graph
    features and is also used to report ``edges_across``. ``make_scorer(seed)``
    builds a fresh, unfitted scorer. The default is ``NumberFraudScorer(seed=seed)``.

    For each seed and fold: inner folds are drawn inside the training part,
    grouped the same way. Graph label features are cross-fitted over those
    inner folds, from training labels only. If ``choose_threshold`` is set, one
    model per inner fold gives out-of-fold training scores, and the
    F1-maximising threshold on them is kept. A model fitted on the whole
    training part then scores the test fold once.
    """
    y = np.asarray(labels).ravel().astype(np.int64)
    group_array = None if groups is None else np.asarray(groups).ravel()
    build = make_scorer or (lambda seed: NumberFraudScorer(seed=seed))
    if graph_features.any and graph is None:
        raise ValueError("graph features were asked for but no graph was given")
    label_free = features
    if graph_features.degree:
        label_free = label_free.join(neighbour_degree(graph))
    if graph_features.neighbour_means:
        label_free = label_free.join(neighbour_means(graph, features))

    results: list[FoldResult] = []
    for seed in seeds:
        fold_of = stratified_folds(y, groups=group_array, folds=folds, seed=seed)
        for fold in range(folds):
            test = fold_of == fold
            train_rows = np.flatnonzero(~test)
            inner = np.full(y.shape[0], -1, dtype=np.int64)
            inner[train_rows] = stratified_folds(
                y[train_rows],
                groups=None if group_array is None else group_array[train_rows],
                folds=inner_folds,
                seed=seed,
            )
            table = label_free
            if graph_features.known_fraud_share:
                hidden = np.where(test, -1, y)  # test labels never reach the graph code
                table = table.join(
                    cross_fitted_neighbour_fraud_share(graph, hidden, train_folds=inner)
                )
            threshold = 0.5
            if choose_threshold:
                out_of_fold = np.empty(train_rows.size, dtype=np.float64)
                inner_train = inner[train_rows]
                for part in range(inner_folds):
                    held = inner_train == part
                    fit_rows = train_rows[~held]
                    scorer = build(seed).fit(table.rows(fit_rows), y[fit_rows])
                    out_of_fold[held] = scorer.score(table.rows(train_rows[held]))
                threshold = best_f1_threshold(y[train_rows], out_of_fold)
            scorer = build(seed).fit(table.rows(train_rows), y[train_rows])
            test_table = table.rows(test)
            scores = scorer.score(test_table)
            alert = scores >= threshold
            y_test = y[test]
            importance: tuple[tuple[str, float], ...] = ()
            if importance_repeats > 0:
                importance = tuple(
                    scorer.permutation_importance(
                        test_table, y_test, repeats=importance_repeats, seed=seed
                    )
                )
            results.append(
                FoldResult(
                    seed=seed,
                    fold=fold,
                    test_rows=int(test.sum()),
                    test_fraud=int(y_test.sum()),
                    threshold=threshold,
                    roc_auc=float(roc_auc_score(y_test, scores)),
                    pr_auc=float(average_precision_score(y_test, scores)),
                    f1=float(f1_score(y_test, alert, zero_division=0)),
                    precision=float(precision_score(y_test, alert, zero_division=0)),
                    recall=float(recall_score(y_test, alert, zero_division=0)),
                    edges_across=None if graph is None else edges_across(graph, test),
                    importance=importance,
                )
            )
    return CrossValidation(protocol=protocol, folds=tuple(results))


RELIABILITY_EDGES = (0.0, 0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.98, 1.0)
"""Score bins of a reliability table: fine at both ends, where thresholds and most rows lie."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReliabilityBin:
    """Rows whose score fell in ``[low, high)`` (the last bin includes 1.0), and how many were fraud."""

    low: float
    high: float
    rows: int
    mean_score: float
    fraud_share: float


def reliability(
    scores: npt.ArrayLike, labels: npt.ArrayLike, *, edges: Sequence[float] = RELIABILITY_EDGES
) -> list[ReliabilityBin]:
    """The reliability table of calibrated scores: per score bin, the mean score beside the
    share of fraud. A calibrated scorer has the two alike in every bin with enough rows.
    Empty bins are left out."""
    p = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if p.shape != y.shape:
        raise ValueError(f"{p.size} scores for {y.size} labels")
    bounds = np.asarray(edges, dtype=np.float64)
    if bounds.size < 2 or np.any(np.diff(bounds) <= 0):
        raise ValueError("edges must rise and give at least one bin")
    which = np.clip(np.searchsorted(bounds, p, side="right") - 1, 0, bounds.size - 2)
    inside = (p >= bounds[0]) & (p <= bounds[-1])
    out = []
    for b in range(bounds.size - 1):
        rows = inside & (which == b)
        if rows.any():
            out.append(
                ReliabilityBin(
                    low=float(bounds[b]),
                    high=float(bounds[b + 1]),
                    rows=int(rows.sum()),
                    mean_score=float(p[rows].mean()),
                    fraud_share=float(y[rows].mean()),
                )
            )
    return out
