"""Calibrated scores: a threshold means the share of fraud it catches, on operators not learnt from.

The scorer weighs classes evenly, so its raw score overstates how often a high
score is fraud when fraud is rare. ``fit_calibrated`` maps it, on groups of rows
(simulated operators) each model did not learn from, to that share; here the
groups are synthetic operators whose fraud share and signal strength differ, and
the check is made on a further operator none of the models saw.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.analytics.number_scoring import FeatureTable, NumberFraudScorer, fit_calibrated
from research.cross_validation import reliability


def operator(
    seed: int, rows: int = 3000, fraud_share: float = 0.03
) -> tuple[FeatureTable, npt.NDArray[np.int64]]:
    """Rows of one synthetic operator: a noisy signal, so that scores overlap."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < fraud_share).astype(np.int64)
    signal = rng.normal(size=rows) + 1.6 * y
    noise = rng.normal(size=rows)
    return FeatureTable.from_columns({"signal": signal, "noise": noise}), y


def make() -> NumberFraudScorer:
    return NumberFraudScorer(seed=0, max_iter=60, max_leaf_nodes=7)


def training() -> tuple[FeatureTable, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    parts = [operator(seed, fraud_share=share) for seed, share in ((1, 0.02), (2, 0.04), (3, 0.03))]
    x = FeatureTable(columns=parts[0][0].columns, values=np.vstack([p[0].values for p in parts]))
    y = np.concatenate([p[1] for p in parts])
    groups = np.repeat(np.arange(len(parts)), [len(p[1]) for p in parts])
    return x, y, groups


def test_calibrated_scores_say_how_often_a_score_is_fraud_on_an_unseen_operator() -> None:
    x, y, groups = training()
    scorer, out_of_group = fit_calibrated(make, x, y, groups)
    assert scorer.calibrated and not np.isnan(out_of_group).any()
    raw = make().fit(x, y)
    unseen_x, unseen_y = operator(9)
    calibrated = scorer.score(unseen_x)
    uncalibrated = raw.score(unseen_x)
    # Overall: the mean calibrated score is the fraud share; the balanced raw score is far above.
    assert abs(calibrated.mean() - unseen_y.mean()) < 0.015
    assert uncalibrated.mean() > 5 * unseen_y.mean()
    # Bin by bin, where there are rows enough to tell.
    for b in reliability(calibrated, unseen_y):
        if b.rows >= 200:
            assert abs(b.mean_score - b.fraud_share) < 0.1, b
    # Calibration keeps the ranking (it is monotone in the raw log-odds).
    order = np.argsort(scorer.log_odds(unseen_x))
    assert np.all(np.diff(calibrated[order]) >= -1e-12)


def test_a_threshold_on_calibrated_scores_keeps_its_precision_across_operators() -> None:
    x, y, groups = training()
    scorer, _ = fit_calibrated(make, x, y, groups)
    for seed, share in ((11, 0.03), (12, 0.03)):
        ux, uy = operator(seed, fraud_share=share)
        flagged = scorer.score(ux) >= 0.5
        if flagged.sum() >= 20:
            assert uy[flagged].mean() >= 0.4


def test_a_group_without_both_classes_elsewhere_is_left_out_of_the_map() -> None:
    x, y, _ = training()
    groups = np.where(y == 1, 0, 1)  # every fraud row in one group
    scorer, out_of_group = fit_calibrated(make, x, y, groups)
    assert np.isnan(out_of_group).all() and not scorer.calibrated
    assert scorer.score(x).shape == (len(y),)


def test_calibration_is_refused_before_fitting_and_with_mismatched_labels() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        make().calibrate([0.0, 1.0], [0, 1])
    x, y, groups = training()
    with pytest.raises(ValueError, match="groups for"):
        fit_calibrated(make, x, y, groups[:-1])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 1.0, allow_nan=False), st.integers(0, 1)),
        min_size=1,
        max_size=300,
    )
)
def test_reliability_bins_cover_every_score_once(rows: list[tuple[float, int]]) -> None:
    scores = np.array([s for s, _ in rows])
    labels = np.array([y for _, y in rows])
    bins = reliability(scores, labels)
    assert sum(b.rows for b in bins) == len(rows)
    for b in bins:
        assert b.low <= b.mean_score <= b.high
        assert 0.0 <= b.fraud_share <= 1.0
    assert sum(b.fraud_share * b.rows for b in bins) == pytest.approx(labels.sum())
