"""The per-number fraud scorer.

Synthetic tests plant a known signal and check that the scorer finds it,
survives missing values, repeats itself under a seed and names its reasons.
Its honest evaluation and the Sichuan real-data floor are research
(``tests/research/test_evaluation.py``).
"""

from __future__ import annotations

import doctest

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.metrics import roc_auc_score

from qalqan.analytics import number_scoring
from qalqan.analytics.number_scoring import FeatureTable, NumberFraudScorer
from qalqan.domain.model import Reason


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


def test_more_threads_give_the_same_bits() -> None:
    """A batch job scores and explains on the machine's cores: each row is scored alone, so
    the answers are those of one thread to the last bit, calibrated or not (50,000 rows:
    in parts of at least 20,000, two or three threads answer)."""
    table, labels = planted(rows=50_000)
    scorer = NumberFraudScorer(seed=3).fit(table, labels)
    one = scorer.score(table)
    assert np.array_equal(scorer.score(table, threads=2), one)
    assert np.array_equal(scorer.score(table, threads=4), one)
    rows = list(range(0, 50_000, 997))
    assert scorer.explain_rows(table, rows, threads=2) == scorer.explain_rows(table, rows)
    scorer.calibrate(scorer.log_odds(table), labels)
    assert np.array_equal(scorer.score(table, threads=2), scorer.score(table))
    assert scorer.threads == 1  # the override is for one call only


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
