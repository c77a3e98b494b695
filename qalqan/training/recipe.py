"""The recipe the shipped models are trained from, and the fit itself.

Two :class:`~qalqan.analytics.number_scoring.NumberFraudScorer` s (gradient
boosting, scikit-learn, the same scorer Qalqan uses on real per-number data): one scores SIMs from their
behaviour (:data:`~qalqan.analytics.features.FEATURES`), one scores calls from
outside that no rule settles (:data:`~qalqan.analytics.calls.CALL_FEATURES`).
They learn from a fixed recipe of simulated operators (several seeds and
scenario mixes, none of them the ones used to evaluate): the same recipe gives
the same models.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sklearn

from qalqan import __version__
from qalqan.analytics.calls import CALL_FEATURES
from qalqan.analytics.features import FEATURE_DESCRIPTIONS, FEATURES
from qalqan.analytics.models import Models
from qalqan.analytics.number_scoring import FeatureTable, NumberFraudScorer, fit_calibrated
from qalqan.simulator.config import FraudSettings, Scenario
from qalqan.training.frames import TrainingFrames, training_frames

__all__ = ["CALIBRATION_FOLDS", "RECIPE_VERSION", "TRAINING_RECIPE", "fit_models", "train_models"]

#: Simulated operators the models learn from: different seeds and mixes of farms and call
#: centers from those any evaluation uses (evaluations use seeds below 1000).
TRAINING_RECIPE: tuple[Scenario, ...] = (
    Scenario(subscribers=4000, days=5, seed=1001),
    Scenario(
        subscribers=5000,
        days=4,
        seed=1002,
        fraud=FraudSettings(
            call_centers=4,
            rotating_farms=2,
            evasive_farms=0,
            bypass_boxes=1,
            rotating_calls_per_sim=1.5,
        ),
    ),
    Scenario(
        subscribers=3000,
        days=6,
        seed=1003,
        fraud=FraudSettings(
            call_centers=2,
            rotating_farms=0,
            evasive_farms=2,
            bypass_boxes=0,
            wangiri_bursts_per_day=1.0,
        ),
    ),
    Scenario(
        subscribers=6000,
        days=3,
        seed=1004,
        fraud=FraudSettings(
            call_centers=5,
            rotating_farms=1,
            evasive_farms=1,
            bypass_boxes=2,
            attempts_per_subscriber_day=0.02,
        ),
    ),
)

RECIPE_VERSION = "2"

Step = Callable[[str], None]


def _scorer(seed: int, descriptions: dict[str, str] | None = None) -> NumberFraudScorer:
    # One OpenMP thread: on a shared machine two threads wait on each other at every barrier
    # (a fit took 400 s instead of 27 s under load 17 on 2 cores; 4 s of CPU either way).
    return NumberFraudScorer(
        seed=seed, max_iter=300, learning_rate=0.05, max_leaf_nodes=31, l2_regularization=1.0,
        balance_classes=True, threads=1, descriptions=descriptions, background_rows=12,
    )  # fmt: skip


def train_models(
    *,
    recipe: tuple[Scenario, ...] = TRAINING_RECIPE,
    work_dir: Path | None = None,
    step: Step | None = None,
) -> Models:
    """Simulate the recipe's operators, extract features, and fit both models."""
    with tempfile.TemporaryDirectory(prefix="qalqan-train-") as tmp:
        frames = training_frames(recipe, work_dir or Path(tmp), step=step)
    if step is not None:
        step("fitting the models, calibrated on operators each did not learn from")
    models = fit_models(frames)
    models.meta["recipe"] = [s.as_dict() for s in recipe]
    return models


CALIBRATION_FOLDS = 4
"""At most this many folds of whole training operators calibrate each model (one fit apiece)."""


def _operator_folds(operator: np.ndarray) -> np.ndarray:
    return np.asarray(np.unique(operator, return_inverse=True)[1] % CALIBRATION_FOLDS)


def fit_models(frames: TrainingFrames) -> Models:
    """Both models from training rows: fitted on all of them, calibrated on whole operators
    each fold's model did not learn from (:func:`~qalqan.analytics.number_scoring.fit_calibrated`)."""
    sim, _ = fit_calibrated(
        lambda: _scorer(0, FEATURE_DESCRIPTIONS),
        FeatureTable(columns=FEATURES, values=frames.sims_x),
        frames.sims_y,
        _operator_folds(frames.sims_operator),
    )
    calls_y = frames.calls_y
    call = (
        fit_calibrated(
            lambda: _scorer(1),
            FeatureTable(columns=CALL_FEATURES, values=frames.calls_x),
            calls_y,
            _operator_folds(frames.calls_operator),
        )[0]
        if calls_y.sum() and (calls_y == 0).sum()
        else None
    )
    meta = {
        "qalqan": __version__,
        "sklearn": sklearn.__version__,
        "operators": int(np.unique(frames.sims_operator).size),
        "sims": len(frames.sims_y),
        "simbox_sims": int(frames.sims_y.sum()),
        "calls": len(calls_y),
        "fraud_calls": int(calls_y.sum()),
    }
    return Models(sim=sim, call=call, meta=meta)
