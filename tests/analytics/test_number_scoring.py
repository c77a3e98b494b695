"""The per-number fraud scorer, its honest evaluation, and the Sichuan real-data floor.

Synthetic tests plant a known signal and check that the scorer finds it,
survives missing values, repeats itself under a seed and names its reasons.
The splitter and graph-feature tests guard the two ways an evaluation can leak:
a group on both sides of a split, and test labels reaching features. The
real-data test runs only where the Sichuan folder exists.
"""

from __future__ import annotations

import doctest

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from qalqan.analytics import number_scoring
from qalqan.analytics.cross_validation import (
    best_f1_threshold,
    cross_validate,
    stratified_folds,
)
from qalqan.analytics.number_scoring import FeatureTable, NumberFraudScorer
from qalqan.analytics.sichuan import ENV_VAR, default_directory, load_sichuan
from qalqan.analytics.similarity_graph import (
    communities,
    cross_fitted_neighbour_fraud_share,
    edges_across,
    neighbour_fraud_share,
)
from qalqan.domain.model import Reason
from qalqan.errors import DataSetError

SICHUAN_GROUPED_AUC_FLOOR = 0.93
"""Measured 0.951 ± 0.024 (this test's set-up: seed 0, 5 grouped folds, default scorer,
scikit-learn 1.9.1) minus a safety margin of 0.02 for other library versions."""


def planted(rows: int = 800, seed: int = 0) -> tuple[FeatureTable, npt.NDArray[np.int64]]:
    """Fraud numbers call out almost only and rarely twice; noise columns carry nothing."""
    rng = np.random.default_rng(seed)
    fraud = rng.random(rows) < 0.3
    outgoing_share = np.where(fraud, rng.beta(9, 1, rows), rng.beta(3, 3, rows))
    table = FeatureTable.from_columns(
        {
            "outgoing_share": outgoing_share,
            "noise_a": rng.normal(size=rows),
            "noise_b": rng.exponential(size=rows),
            "noise_c": rng.integers(0, 5, rows),
        }
    )
    return table, fraud.astype(np.int64)


def test_the_scorer_learns_a_planted_signal() -> None:
    table, labels = planted()
    scorer = NumberFraudScorer(seed=0).fit(table.rows(slice(0, 600)), labels[:600])
    scores = scorer.score(table.rows(slice(600, None)))
    assert scores.shape == (200,)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert roc_auc_score(labels[600:], scores) > 0.9


def test_missing_values_are_scored_not_refused() -> None:
    table, labels = planted()
    rng = np.random.default_rng(1)
    holed = table.values.copy()
    holed[rng.random(holed.shape) < 0.2] = np.nan
    holed[600] = np.nan  # a number with no records at all
    holed[601, 1] = np.inf  # infinities count as missing
    gappy = FeatureTable(columns=table.columns, values=holed)
    scorer = NumberFraudScorer(seed=0).fit(gappy.rows(slice(0, 600)), labels[:600])
    scores = scorer.score(gappy.rows(slice(600, None)))
    assert np.isfinite(scores).all()
    assert roc_auc_score(labels[600:], scores) > 0.8
    reasons = scorer.explain(gappy, 600, top=4)
    assert all(np.isnan(r.value) for r in reasons)
    assert "no value" in reasons[0].detail


def test_same_seed_same_scores_and_reasons() -> None:
    table, labels = planted()
    first = NumberFraudScorer(seed=7).fit(table, labels)
    second = NumberFraudScorer(seed=7).fit(table, labels)
    assert np.array_equal(first.score(table), second.score(table))
    assert first.explain(table, 3) == second.explain(table, 3)


def test_explain_names_the_planted_feature_in_plain_words() -> None:
    table, labels = planted()
    scorer = NumberFraudScorer(
        seed=0, descriptions={"outgoing_share": "share of voice calls that are outgoing"}
    ).fit(table, labels)
    suspicious = int(np.argmax(scorer.score(table)))
    reasons = scorer.explain(table, suspicious, top=3)
    assert len(reasons) == 3
    top = reasons[0]
    assert top.feature == "outgoing_share"
    assert top.contribution > 0
    assert top.detail.startswith("share of voice calls that are outgoing is ")
    assert "raises the fraud score" in top.detail
    assert "training numbers" in top.detail
    reason = top.as_reason()
    assert isinstance(reason, Reason)
    assert reason.rule == "number_scoring.outgoing_share"
    assert reason.weight == top.contribution
    assert abs(reasons[0].contribution) >= abs(reasons[1].contribution)


def test_columns_are_matched_by_name() -> None:
    table, labels = planted()
    scorer = NumberFraudScorer(seed=0).fit(table, labels)
    shuffled = table.select(list(reversed(table.columns))).join(
        FeatureTable.from_columns({"unused": np.zeros(len(table))})
    )
    assert np.array_equal(scorer.score(table), scorer.score(shuffled))
    with pytest.raises(KeyError, match="outgoing_share"):
        scorer.score(table.select(["noise_a", "noise_b", "noise_c"]))


def test_bad_inputs_are_refused_with_a_reason() -> None:
    table, _ = planted(rows=50)
    with pytest.raises(ValueError, match="both fraud and normal"):
        NumberFraudScorer().fit(table, np.zeros(50, dtype=int))
    with pytest.raises(ValueError, match="0 \\(normal\\) or 1"):
        NumberFraudScorer().fit(table, np.full(50, 2))
    with pytest.raises(RuntimeError, match="fit"):
        NumberFraudScorer().score(table)
    with pytest.raises(ValueError, match="repeat"):
        FeatureTable(columns=("a", "a"), values=np.zeros((2, 2)))


def test_docstring_examples_run() -> None:
    result = doctest.testmod(number_scoring, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    groups=st.integers(10, 60),
    folds=st.integers(2, 5),
)
def test_grouped_folds_never_split_a_group(seed: int, groups: int, folds: int) -> None:
    rng = np.random.default_rng(seed)
    rows = 300
    group = rng.integers(0, groups, rows)
    labels = (rng.random(rows) < 0.3).astype(int)
    fold_of = stratified_folds(labels, groups=group, folds=folds, seed=seed)
    assert (fold_of >= 0).all()
    for g in np.unique(group):
        assert np.unique(fold_of[group == g]).size == 1
    assert np.unique(fold_of).size == folds


def two_cliques(size: int = 8) -> sp.csr_matrix:
    """Two cliques of ``size`` joined by a single edge, stored as an upper triangle."""
    block = np.ones((size, size)) - np.eye(size)
    dense = np.zeros((2 * size, 2 * size))
    dense[:size, :size] = block
    dense[size:, size:] = block
    dense[0, size] = 1
    return sp.csr_matrix(np.triu(dense))


def test_communities_find_planted_cliques_and_respect_a_size_cap() -> None:
    graph = two_cliques()
    found = communities(graph, seed=0)
    assert np.unique(found[:8]).size == 1
    assert np.unique(found[8:]).size == 1
    assert found[0] != found[8]
    capped = communities(graph, seed=0, max_size=5)
    assert np.bincount(capped).max() <= 5
    assert np.array_equal(communities(graph, seed=3), communities(graph, seed=3))


def test_graph_label_features_never_read_test_labels() -> None:
    graph = two_cliques()
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 16)
    test = np.zeros(16, dtype=bool)
    test[[1, 2, 9, 10]] = True
    inner = np.where(test, -1, np.arange(16) % 3)
    before = cross_fitted_neighbour_fraud_share(graph, labels, train_folds=inner).values
    flipped = labels.copy()
    flipped[test] = 1 - flipped[test]
    after = cross_fitted_neighbour_fraud_share(graph, flipped, train_folds=inner).values
    assert np.array_equal(before, after, equal_nan=True)
    # A training number does not see the labels of its own inner fold either.
    own = inner == 0
    flipped_own = labels.copy()
    flipped_own[own] = 1 - flipped_own[own]
    again = cross_fitted_neighbour_fraud_share(graph, flipped_own, train_folds=inner).values
    assert np.array_equal(before[own], again[own], equal_nan=True)
    # With nothing known, the share is missing rather than zero.
    nothing = neighbour_fraud_share(graph, labels, np.zeros(16, dtype=bool))
    assert np.isnan(nothing.column("graph_known_fraud_neighbour_share")).all()


def test_edges_across_measures_what_the_split_cuts() -> None:
    graph = two_cliques()
    assert edges_across(graph, np.arange(16) >= 8) == pytest.approx(1 / 57)
    assert edges_across(graph, np.zeros(16, dtype=bool)) == 0.0


def test_threshold_is_the_f1_optimum_of_the_given_scores() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.6, 0.5, 0.8, 0.9])
    assert best_f1_threshold(labels, scores) == pytest.approx(0.5)


def test_cross_validation_reports_every_fold_of_every_seed() -> None:
    table, labels = planted(rows=300)
    groups = np.arange(300) // 6
    result = cross_validate(
        table,
        labels,
        groups=groups,
        seeds=(0, 1),
        folds=3,
        inner_folds=2,
        make_scorer=lambda seed: NumberFraudScorer(seed=seed, max_iter=50),
        protocol="synthetic",
    )
    assert len(result.folds) == 6
    assert sum(f.test_rows for f in result.folds) == 600
    mean, spread = result.metric("roc_auc")
    assert mean > 0.85
    assert spread >= 0
    for fold in result.folds:
        assert 0.0 <= fold.threshold <= 1.0
        assert 0.0 <= fold.precision <= 1.0


def test_a_missing_folder_is_a_clear_data_set_error(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert default_directory() == tmp_path
    with pytest.raises(DataSetError, match=rf"all_feat_with_label\.csv.*{ENV_VAR}"):
        load_sichuan()


SICHUAN = default_directory()
needs_sichuan = pytest.mark.skipif(
    not (SICHUAN / "all_feat_with_label.csv").is_file(),
    reason=f"Sichuan telecom-fraud data not found at {SICHUAN} (set {ENV_VAR} to run this test)",
)


@needs_sichuan
def test_sichuan_loads_as_documented() -> None:
    data = load_sichuan()
    assert len(data.features) == len(data.numbers) == 6106
    assert len(data.features.columns) == 55
    assert int(data.labels.sum()) == 1962
    assert int(np.isnan(data.features.values).sum()) == 7062
    assert data.similarity.shape == (6106, 6106)
    assert data.similarity.nnz == 2 * 416_211
    assert (data.similarity != data.similarity.T).nnz == 0


@needs_sichuan
@pytest.mark.slow
def test_sichuan_grouped_cross_validation_stays_above_the_measured_floor() -> None:
    data = load_sichuan()
    groups = communities(data.similarity, seed=0, max_size=len(data.labels) // 10)
    result = cross_validate(
        data.features,
        data.labels,
        groups=groups,
        seeds=(0,),
        folds=5,
        choose_threshold=False,
        graph=data.similarity,
    )
    mean, _ = result.metric("roc_auc")
    assert mean > SICHUAN_GROUPED_AUC_FLOOR
    assert min(f.roc_auc for f in result.folds) > 0.85
    # The grouped folds must cut fewer similarity edges than a random split (about 0.8).
    assert result.metric("edges_across")[0] < 0.7
