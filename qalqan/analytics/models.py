"""The models Qalqan ships: trained by the project from its own simulator, never downloaded.

Two :class:`~qalqan.analytics.number_scoring.NumberFraudScorer` s (gradient
boosting, scikit-learn, the same scorer Qalqan uses on real per-number data): one scores SIMs from their
behaviour (:data:`~qalqan.analytics.features.FEATURES`), one scores calls from
outside that no rule settles (:data:`~qalqan.analytics.calls.CALL_FEATURES`).

They are trained on first use from a fixed recipe of simulated operators
(several seeds and scenario mixes, none of them the ones used to evaluate) and
cached in ``$QALQAN_MODEL_DIR`` or ``~/.cache/qalqan/models``, under a name
that changes with Qalqan's and scikit-learn's versions. ``qalqan train``
retrains them on demand; the same recipe gives the same models.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import sklearn

from qalqan import __version__
from qalqan.analytics.calls import CALL_FEATURES
from qalqan.analytics.features import FEATURE_DESCRIPTIONS, FEATURES
from qalqan.analytics.number_scoring import (
    FeatureContribution,
    FeatureTable,
    NumberFraudScorer,
    fit_calibrated,
)
from qalqan.simulator.config import FraudSettings, Scenario

if TYPE_CHECKING:
    from qalqan.analytics.training import TrainingFrames

__all__ = [
    "TRAINING_RECIPE",
    "Models",
    "default_model_path",
    "fit_models",
    "load_models",
    "train_models",
]

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

#: Modules that play no part in training: changing them does not retrain the models.
NOT_IN_TRAINING = frozenset(
    {"campaigns.py", "farms.py", "evaluate.py", "output.py", "sim_reasons.py", "sichuan.py",
     "cross_validation.py", "similarity_graph.py"}
)  # fmt: skip


@dataclass(slots=True)
class Models:
    sim: Any
    call: Any
    sim_features: tuple[str, ...] = FEATURES
    call_features: tuple[str, ...] = CALL_FEATURES
    meta: dict[str, Any] = field(default_factory=dict)

    def score_sims(self, table: pa.Table) -> np.ndarray:
        return _score(self.sim, table, self.sim_features)

    def score_calls(self, table: pa.Table) -> np.ndarray:
        return _score(self.call, table, self.call_features)

    def explain_sims(
        self, table: pa.Table, rows: list[int], *, top: int = 3
    ) -> dict[int, list[FeatureContribution]]:
        """For each of ``rows``, the behaviour features that moved its score most, in plain words."""
        if not rows:
            return {}
        features = feature_table(table, self.sim_features)
        found = self.sim.explain_rows(features, rows, top=top)
        return dict(zip(rows, found, strict=True))


def feature_table(table: pa.Table, names: tuple[str, ...]) -> FeatureTable:
    """The model's inputs from an Arrow table: the named columns as floats, missing as NaN."""
    if table.num_rows == 0:
        return FeatureTable(columns=names, values=np.zeros((0, len(names))))
    return FeatureTable.from_columns(
        {
            n: np.asarray(table.column(n).to_numpy(zero_copy_only=False), dtype=np.float64)
            for n in names
        }
    )


def _score(model: Any, table: pa.Table, names: tuple[str, ...]) -> np.ndarray:
    if table.num_rows == 0:
        return np.zeros(0)
    if model is None:
        return np.zeros(table.num_rows)
    return np.asarray(model.score(feature_table(table, names)))


def _fingerprint() -> str:
    """Changes whenever anything that shapes the models changes: versions, recipe, the code itself."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}|{sklearn.__version__}|{RECIPE_VERSION}".encode())
    digest.update("|".join(repr(s.as_dict()) for s in TRAINING_RECIPE).encode())
    package = Path(__file__).resolve().parents[1]
    for folder in ("simulator", "analytics", "exchange"):
        for source in sorted((package / folder).glob("*.py")):
            if source.name in NOT_IN_TRAINING:
                continue
            digest.update(source.name.encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def default_model_path() -> Path:
    base = os.environ.get("QALQAN_MODEL_DIR")
    folder = Path(base) if base else Path.home() / ".cache" / "qalqan" / "models"
    return folder / f"qalqan-models-{_fingerprint()}.pkl"


def _scorer(seed: int, descriptions: dict[str, str] | None = None) -> NumberFraudScorer:
    # One OpenMP thread: on a shared machine two threads wait on each other at every barrier
    # (a fit took 400 s instead of 27 s under load 17 on 2 cores; 4 s of CPU either way).
    return NumberFraudScorer(
        seed=seed, max_iter=300, learning_rate=0.05, max_leaf_nodes=31, l2_regularization=1.0,
        balance_classes=True, threads=1, descriptions=descriptions, background_rows=12,
    )  # fmt: skip


Step = Callable[[str], None]


def train_models(
    *,
    recipe: tuple[Scenario, ...] = TRAINING_RECIPE,
    work_dir: Path | None = None,
    step: Step | None = None,
) -> Models:
    """Simulate the recipe's operators, extract features, and fit both models."""
    from qalqan.analytics.training import training_frames

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


def load_models(
    *, path: Path | None = None, train: bool = True, step: Step | None = None
) -> Models:
    """The cached models; trained and cached first when missing (and ``train`` is true)."""
    target = path or default_model_path()
    if target.exists():
        with target.open("rb") as f:
            models = pickle.load(f)
        if isinstance(models, Models):
            return models
    if not train:
        raise FileNotFoundError(target)
    models = train_models(step=step)
    save_models(models, target)
    return models


def save_models(models: Models, target: Path) -> Path:
    """Write ``models`` to ``target`` at once: a process reading it sees the old file or the new.

    Each writer writes its own temporary file (processes training at the same time, as
    parallel test workers do, would otherwise write into one and rename a mixture).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "wb", dir=target.parent, prefix=target.name + ".", suffix=".tmp", delete=False
    ) as f:
        pickle.dump(models, f)
    Path(f.name).replace(target)
    return target
