"""Per-number fraud scoring: a gradient-boosted model over a named feature table that explains itself.

Why this shape:

* **One scorer for every source of features.** The same class scores the
  Sichuan research features and the per-SIM behaviour features Qalqan computes
  from call records. It only knows a :class:`FeatureTable`: named numeric
  columns, one row per number, NaN where a number has no records of a kind. At
  scoring time it matches columns by name, so column order never matters.
* **Gradient-boosted trees.** Scikit-learn's ``HistGradientBoostingClassifier``
  handles skewed counts without any scaling. It treats "no value" as a value of
  its own (a number with no SMS at all is evidence in itself) and trains in
  seconds on one core.
* **Class weighting, then calibration.** Fraud is the minority class. Balanced
  class weights keep the model from settling for "everyone is normal", so the
  raw score is a *ranking* in 0..1, not a probability. :func:`fit_calibrated`
  turns it into one: models fitted without one group of rows (one simulated
  operator) score that group, and a logistic map (Platt scaling) from those
  out-of-group log-odds to whether they were fraud becomes
  :meth:`NumberFraudScorer.score`.
  A threshold then means the same on another operator: "at least this share
  of numbers scored here were fraud where the model had not looked".
* **Every score explains itself.** :meth:`NumberFraudScorer.explain` lists the
  features that moved a number's score the most, in plain words. For each
  feature it measures how the log-odds change when that feature alone is set to
  values drawn from ordinary training numbers. This uses only the model's
  public predictions, so it stays valid when scikit-learn changes its tree
  internals.

The model is deterministic under ``seed`` and runs on ``threads`` OpenMP threads
(1 by default: the scorer shares machines with the screening path). A batch job that
has the machine's cores to itself names more for one call (``score(..., threads=2)``):
the rows are then cut into parts, each answered on a thread of its own with one OpenMP
thread; every row is scored alone, so the answers are the same bits whatever the threads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from qalqan.domain.model import Reason

__all__ = [
    "FeatureContribution",
    "FeatureTable",
    "NumberFraudScorer",
    "fit_calibrated",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FeatureTable:
    """Named numeric columns, one row per number. NaN means "no value" (for example, no SMS records).

    ``values`` has shape ``(rows, len(columns))`` and is stored as float64.
    Infinities are turned into NaN.
    """

    columns: tuple[str, ...]
    values: FloatArray

    def __post_init__(self) -> None:
        values = np.array(self.values, dtype=np.float64, copy=True)
        if values.ndim == 1 and len(self.columns) == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[1] != len(self.columns):
            raise ValueError(
                f"values of shape {values.shape} do not match {len(self.columns)} columns"
            )
        twice = sorted(name for name, n in Counter(self.columns).items() if n > 1)
        if twice:
            raise ValueError(f"column names repeat: {', '.join(twice)}")
        values[~np.isfinite(values)] = np.nan
        values.setflags(write=False)
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "values", values)

    @classmethod
    def from_columns(cls, columns: Mapping[str, npt.ArrayLike]) -> FeatureTable:
        """Build a table from ``{name: values}``. All columns must have the same length."""
        names = tuple(columns)
        arrays = [np.asarray(columns[name], dtype=np.float64).ravel() for name in names]
        lengths = {a.shape[0] for a in arrays}
        if len(lengths) > 1:
            raise ValueError(f"columns have different lengths: {sorted(lengths)}")
        rows = lengths.pop() if lengths else 0
        values = np.column_stack(arrays) if arrays else np.empty((rows, 0))
        return cls(columns=names, values=values)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def column(self, name: str) -> FloatArray:
        """The values of one column (read-only)."""
        try:
            index = self.columns.index(name)
        except ValueError:
            raise KeyError(f"no column named {name!r}") from None
        return self.values[:, index]

    def rows(self, selection: npt.ArrayLike | slice) -> FeatureTable:
        """A table of the selected rows: a slice, integer positions or a boolean mask."""
        index = selection if isinstance(selection, slice) else np.asarray(selection)
        return FeatureTable(columns=self.columns, values=self.values[index])

    def select(self, columns: Sequence[str]) -> FeatureTable:
        """The named columns in the given order. Raises ``KeyError`` naming every missing one."""
        missing = [c for c in columns if c not in self.columns]
        if missing:
            raise KeyError(f"table lacks column(s) {', '.join(missing)}")
        index = [self.columns.index(c) for c in columns]
        return FeatureTable(columns=tuple(columns), values=self.values[:, index])

    def join(self, *others: FeatureTable) -> FeatureTable:
        """This table with the columns of ``others`` appended (same rows, new names)."""
        tables = (self, *others)
        if len({len(t) for t in tables}) > 1:
            raise ValueError("tables to join have different numbers of rows")
        columns = tuple(c for t in tables for c in t.columns)
        return FeatureTable(columns=columns, values=np.hstack([t.values for t in tables]))


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureContribution:
    """How much one feature moved one number's fraud score, and why, in plain words."""

    feature: str
    value: float
    """The number's value of the feature (NaN: no value)."""
    contribution: float
    """Change in fraud log-odds against ordinary training values of this feature; > 0 raises the score."""
    detail: str

    def as_reason(self) -> Reason:
        """The same contribution as a verdict :class:`~qalqan.domain.model.Reason`.

        Said as a catalog message (feature, value, which way it moves the score),
        so that operators read it in their language; the richer English
        :attr:`detail` (the feature's description, where the value lies among
        the training numbers) stays on this object.
        """
        effect = "number_scoring.raises" if self.contribution > 0 else "number_scoring.lowers"
        rule = f"number_scoring.{self.feature}"
        if np.isnan(self.value):
            return Reason.said(rule, self.contribution, f"{effect}.no_value", feature=self.feature)
        value = f"{self.value:.4g}"
        return Reason.said(rule, self.contribution, effect, feature=self.feature, value=value)

    def __str__(self) -> str:
        return f"{self.feature} ({self.contribution:+.2f}): {self.detail}"


class NumberFraudScorer:
    """Scores numbers for fraud from a :class:`FeatureTable`. Fit once, then score and explain.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> share = rng.uniform(0, 1, 400)
    >>> table = FeatureTable.from_columns({"outgoing_share": share, "noise": rng.normal(size=400)})
    >>> scorer = NumberFraudScorer(seed=0).fit(table, (share > 0.8).astype(int))
    >>> bool(scorer.score(table.rows([0]))[0] < 0.5) == bool(share[0] <= 0.8)
    True
    >>> scorer.explain(table, 0, top=1)[0].feature
    'outgoing_share'
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        max_iter: int = 200,
        learning_rate: float = 0.075,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 20,
        l2_regularization: float = 1.0,
        balance_classes: bool = True,
        threads: int = 1,
        descriptions: Mapping[str, str] | None = None,
        background_rows: int = 64,
    ) -> None:
        """Set the model's hyper-parameters.

        ``descriptions`` maps column names to plain words for :meth:`explain`
        (``"voc_calltype1": "share of voice calls that are outgoing"``).
        ``background_rows`` is how many training numbers stand for "ordinary
        values" in explanations.
        """
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.seed = seed
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.balance_classes = balance_classes
        self.threads = threads
        self.descriptions: dict[str, str] = dict(descriptions or {})
        self.background_rows = background_rows
        self._model: Any = None
        self._columns: tuple[str, ...] = ()
        self._background: FloatArray = np.empty((0, 0))
        self._sorted_training: list[FloatArray] = []
        self._calibration: tuple[float, float] | None = None
        """(slope, intercept) of the logistic map from log-odds to probability, once calibrated."""

    @property
    def columns(self) -> tuple[str, ...]:
        """The feature names the scorer was fitted on, in its own order."""
        self._require_fitted()
        return self._columns

    def fit(self, features: FeatureTable, labels: npt.ArrayLike) -> NumberFraudScorer:
        """Learn from numbers with known outcome: ``labels`` is 1 for fraud and 0 for normal."""
        y = np.asarray(labels).ravel()
        if y.shape[0] != len(features):
            raise ValueError(f"{y.shape[0]} labels for {len(features)} rows")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("labels must be 0 (normal) or 1 (fraud)")
        if np.unique(y).size < 2:
            raise ValueError("labels must contain both fraud and normal numbers")
        if not features.columns:
            raise ValueError("the feature table has no columns")
        model = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            class_weight="balanced" if self.balance_classes else None,
            early_stopping=False,
            random_state=self.seed,
        )
        with self._threads():
            model.fit(features.values, y.astype(np.int64))
        rng = np.random.default_rng(self.seed)
        take = min(self.background_rows, len(features))
        self._model = model
        self._columns = features.columns
        self._background = features.values[np.sort(rng.choice(len(features), take, replace=False))]
        self._sorted_training = [np.sort(v[~np.isnan(v)]) for v in features.values.T]
        return self

    def score(self, features: FeatureTable, *, threads: int | None = None) -> FloatArray:
        """The fraud score of every row, 0..1, higher is more suspicious.

        Once calibrated (:meth:`calibrate`), the score is a probability: the share of
        fraud among numbers that scored alike where the model had not looked.
        ``threads`` (parts answered side by side) overrides the scorer's own for this call.
        """
        values = self._aligned(features)
        calibration = getattr(self, "_calibration", None)
        if calibration is not None:
            slope, intercept = calibration
            raw = self._raw(values, threads)
            return np.asarray(expit(slope * raw + intercept), dtype=np.float64)
        scores = self._in_parts(lambda part: self._model.predict_proba(part)[:, 1], values, threads)
        return np.asarray(scores, dtype=np.float64)

    @property
    def calibrated(self) -> bool:
        return getattr(self, "_calibration", None) is not None

    def calibrate(self, log_odds: npt.ArrayLike, labels: npt.ArrayLike) -> NumberFraudScorer:
        """Make :meth:`score` a probability: a logistic map (Platt scaling) from ``log_odds``
        (scores of numbers that models like this one did *not* learn from) to whether they
        were fraud. Strictly monotone, so the ranking and every explanation stay as they were."""
        self._require_fitted()
        x = np.asarray(log_odds, dtype=np.float64).ravel()
        y = np.asarray(labels).ravel()
        if x.shape != y.shape:
            raise ValueError(f"{x.size} log-odds for {y.size} labels")
        fit = LogisticRegression(C=1e6, max_iter=1000).fit(x[:, None], y.astype(np.int64))
        slope, intercept = float(fit.coef_[0, 0]), float(fit.intercept_[0])
        if slope <= 0:
            raise ValueError("the scores do not rise with fraud on held-out rows: cannot calibrate")
        self._calibration = (slope, intercept)
        return self

    def log_odds(self, features: FeatureTable) -> FloatArray:
        """The model's raw fraud log-odds per row (monotone in :meth:`score`)."""
        return self._raw(self._aligned(features))

    def explain(
        self, features: FeatureTable, row: int = 0, *, top: int = 5
    ) -> list[FeatureContribution]:
        """The ``top`` features that moved the score of ``features`` row ``row`` most, strongest first.

        A contribution is the drop in fraud log-odds when that one feature is
        replaced by values of ordinary training numbers. Positive contributions
        pushed the number towards fraud.
        """
        if not -len(features) <= row < len(features):
            raise IndexError(f"row {row} is outside a table of {len(features)} rows")
        return self.explain_rows(features, [row], top=top)[0]

    def explain_rows(
        self,
        features: FeatureTable,
        rows: Sequence[int],
        *,
        top: int = 5,
        threads: int | None = None,
    ) -> list[list[FeatureContribution]]:
        """:meth:`explain` for many rows at once: one model pass for all of them (on
        ``threads`` threads, the scorer's own by default)."""
        values = self._aligned(features)
        if not rows:
            return []
        x = values[np.asarray(rows, dtype=np.int64)]
        own = self._raw(x, threads)
        typical = np.concatenate(
            [
                self._typical(x[i : i + _EXPLAIN_CHUNK], own[i : i + _EXPLAIN_CHUNK], threads)
                for i in range(0, len(rows), _EXPLAIN_CHUNK)
            ]
        )
        explained = []
        for i in range(len(rows)):
            contribution = own[i] - typical[i]
            order = np.argsort(-np.abs(contribution), kind="stable")[: max(top, 0)]
            explained.append(
                [
                    FeatureContribution(
                        feature=self._columns[j],
                        value=float(x[i, j]),
                        contribution=float(contribution[j]),
                        detail=self._describe(j, float(x[i, j]), float(contribution[j])),
                    )
                    for j in order
                ]
            )
        return explained

    def _typical(self, x: FloatArray, own: FloatArray, threads: int | None = None) -> FloatArray:
        """Mean log-odds of each row of ``x`` (own log-odds ``own``) with each feature in turn
        set to each background value: shape ``(rows, features)``.

        The model is asked once, for every distinct background value of every feature, except
        where that value is the row's own (the answer is then ``own``); the answers are laid
        out per background row and averaged in the same order as asking for every one, so the
        means are the same to the last bit.
        """
        n, k = x.shape
        asked: list[tuple[int, FloatArray, npt.NDArray[np.int64], npt.NDArray[np.bool_]]] = []
        probes: list[FloatArray] = []
        for j in range(k):
            distinct, where = _distinct(self._background[:, j])
            probe = np.repeat(x, distinct.size, axis=0).reshape(n, distinct.size, k)
            probe[:, :, j] = distinct[None, :]
            column = x[:, j, None]
            same = (column == distinct) | (np.isnan(column) & np.isnan(distinct))
            asked.append((j, distinct, where, same))
            probes.append(probe[~same])
        answers = self._raw(np.concatenate(probes), threads) if probes else np.empty(0)
        laid_out = np.empty((n, k, self._background.shape[0]))
        start = 0
        for j, distinct, where, same in asked:
            found = np.repeat(own[:, None], distinct.size, axis=1)
            count = int((~same).sum())
            found[~same] = answers[start : start + count]
            start += count
            laid_out[:, j, :] = found[:, where]
        return np.asarray(laid_out.mean(axis=2), dtype=np.float64)

    def permutation_importance(
        self, features: FeatureTable, labels: npt.ArrayLike, *, repeats: int = 3, seed: int = 0
    ) -> list[tuple[str, float]]:
        """Mean loss of ROC AUC on ``features`` when one column is shuffled, largest first.

        Measure it on numbers the model was not trained on. Correlated features
        share their credit: shuffling one leaves its twins to stand in.
        """
        values = self._aligned(features)
        y = np.asarray(labels).ravel()
        base = float(roc_auc_score(y, self._raw(values)))
        rng = np.random.default_rng(seed)
        drops: list[tuple[str, float]] = []
        for j, name in enumerate(self._columns):
            losses = []
            for _ in range(repeats):
                shuffled = values.copy()
                shuffled[:, j] = rng.permutation(shuffled[:, j])
                losses.append(base - float(roc_auc_score(y, self._raw(shuffled))))
            drops.append((name, float(np.mean(losses))))
        return sorted(drops, key=lambda item: -item[1])

    def _require_fitted(self) -> None:
        if self._model is None:
            raise RuntimeError("the scorer is not fitted yet: call fit() first")

    def _aligned(self, features: FeatureTable) -> FloatArray:
        self._require_fitted()
        if features.columns == self._columns:
            return features.values
        return features.select(self._columns).values

    def _raw(self, values: FloatArray, threads: int | None = None) -> FloatArray:
        return self._in_parts(self._model.decision_function, values, threads)

    def _in_parts(
        self, answer: Callable[[FloatArray], Any], values: FloatArray, threads: int | None
    ) -> FloatArray:
        """``answer`` of every row of ``values``, as one flat array; with more than one
        thread, the rows are cut into as many parts, each answered on a thread of its own
        (the model reads them row by row: the same bits as in one part).

        Not OpenMP's threads: they meet at a barrier after each tree, and on a machine that
        other work keeps busy a thread taken off its core holds the other at every one of
        them (five times slower than one thread, measured). A part on a thread of its own
        meets nothing until its end.
        """
        parts = min(threads or self.threads, len(values) // _ROWS_PER_PART)
        if parts <= 1:
            with self._threads():
                return np.asarray(answer(values), dtype=np.float64).ravel()

        def one(part: FloatArray) -> FloatArray:
            with threadpool_limits(limits=1, user_api="openmp"):
                return np.asarray(answer(part), dtype=np.float64).ravel()

        with ThreadPoolExecutor(parts, "qalqan-score") as pool:
            return np.concatenate(list(pool.map(one, np.array_split(values, parts))))

    @contextmanager
    def _threads(self) -> Iterator[None]:
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            yield

    def _describe(self, j: int, value: float, contribution: float) -> str:
        name = self._columns[j]
        what = self.descriptions.get(name, name)
        effect = "raises" if contribution > 0 else "lowers"
        if np.isnan(value):
            return f"{what}: no value (no records of this kind); this {effect} the fraud score"
        seen = self._sorted_training[j]
        if seen.size == 0:
            where = "no training number had a value"
        else:
            below = np.searchsorted(seen, value, side="left") / seen.size
            above = 1.0 - np.searchsorted(seen, value, side="right") / seen.size
            if max(below, above) < 0.5:
                where = "a common value among training numbers"
            elif below >= above:
                where = f"higher than {below:.0%} of training numbers"
            else:
                where = f"lower than {above:.0%} of training numbers"
        return f"{what} is {value:.4g}, {where}; this {effect} the fraud score"


_EXPLAIN_CHUNK = 256
"""Rows explained per batch of model calls: bounds the probes held at once (a few MB)."""
_ROWS_PER_PART = 20_000
"""Rows a thread answers at least when the model is asked on several (fewer are not worth one)."""


def _distinct(values: FloatArray) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """The distinct values of ``values`` (NaN once) and where each value stands among them."""
    filled = np.where(np.isnan(values), np.inf, values)
    _, first, where = np.unique(filled, return_index=True, return_inverse=True)
    return values[first], np.asarray(where, dtype=np.int64).ravel()


def fit_calibrated(
    make: Callable[[], NumberFraudScorer],
    features: FeatureTable,
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
) -> tuple[NumberFraudScorer, FloatArray]:
    """A scorer fitted on every row, its scores calibrated on rows it had not seen.

    For each group (a simulated operator), a scorer fitted on the other groups
    gives that group's log-odds; the logistic map from those out-of-group
    log-odds to the labels calibrates the scorer fitted on everything (as
    scikit-learn's ``CalibratedClassifierCV(method="sigmoid", ensemble=False)``
    does, with the groups as folds). Also returns the out-of-group log-odds, for a reliability
    table. A group whose rest has only one class is left out of the map.
    """
    y = np.asarray(labels).ravel().astype(np.int64)
    group = np.asarray(groups).ravel()
    if group.shape != y.shape:
        raise ValueError(f"{group.size} groups for {y.size} labels")
    out_of_group = np.full(y.size, np.nan)
    for g in np.unique(group):
        held = group == g
        if np.unique(y[~held]).size < 2:
            continue
        out_of_group[held] = (
            make().fit(features.rows(~held), y[~held]).log_odds(features.rows(held))
        )
    scorer = make().fit(features, y)
    seen = ~np.isnan(out_of_group)
    if np.unique(y[seen]).size == 2:
        scorer.calibrate(out_of_group[seen], y[seen])
    return scorer, out_of_group
