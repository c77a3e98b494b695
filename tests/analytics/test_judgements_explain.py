"""Explaining many SIMs at once asks the model less and says exactly what it said before.

A feature's contribution is the row's log-odds against the mean log-odds with that feature
set to each background value in turn. Asking once per distinct background value, and not
at all where that value is the row's own, must give the same means to the last bit.
"""

from __future__ import annotations

import numpy as np

from qalqan.analytics.number_scoring import FeatureTable, FloatArray, NumberFraudScorer


def every_probe_asked(scorer: NumberFraudScorer, x: FloatArray) -> FloatArray:
    """The definition: every row with every feature set to every background value."""
    background = scorer._background
    k, m = x.shape[1], background.shape[0]
    probes = np.repeat(x, k * m, axis=0).reshape(len(x), k * m, k)
    for j in range(k):
        probes[:, j * m : (j + 1) * m, j] = background[None, :, j]
    own = scorer.log_odds(FeatureTable(columns=scorer.columns, values=x))
    typical = scorer.log_odds(FeatureTable(columns=scorer.columns, values=probes.reshape(-1, k)))
    return np.asarray(own[:, None] - typical.reshape(len(x), k, m).mean(axis=2))


class CountingScorer(NumberFraudScorer):
    """The real scorer, counting the rows whose log-odds it was asked for."""

    asked = 0

    def _raw(self, values: FloatArray, threads: int | None = None) -> FloatArray:
        CountingScorer.asked += len(values)
        return super()._raw(values, threads)


def test_contributions_are_those_of_asking_every_probe_with_fewer_questions() -> None:
    rng = np.random.default_rng(3)
    n = 400
    counts = rng.integers(0, 4, n).astype(float)  # few distinct values: background repeats them
    share = rng.random(n)
    share[rng.random(n) < 0.2] = np.nan  # no records of a kind
    flag = (rng.random(n) < 0.3).astype(float)
    table = FeatureTable.from_columns(
        {"calls": counts, "share": share, "flag": flag, "noise": rng.normal(size=n)}
    )
    labels = ((counts >= 2) & (np.nan_to_num(share) > 0.4) | (flag == 1)).astype(int)
    scorer = CountingScorer(seed=0, max_iter=25, background_rows=16).fit(table, labels)
    rows = list(range(n))  # more rows than one batch of probes

    CountingScorer.asked = 0
    explained = scorer.explain_rows(table, rows, top=4)
    asked = CountingScorer.asked

    expected = every_probe_asked(scorer, table.values[rows])
    for i, found in enumerate(explained):
        order = np.argsort(-np.abs(expected[i]), kind="stable")[:4]
        assert [c.feature for c in found] == [scorer.columns[j] for j in order]
        assert [c.contribution for c in found] == [float(expected[i, j]) for j in order]
    background = np.where(np.isnan(scorer._background), np.inf, scorer._background)
    distinct = sum(len(np.unique(column)) for column in background.T)
    assert asked <= len(rows) * (1 + distinct) < len(rows) * (1 + len(scorer.columns) * 16)
