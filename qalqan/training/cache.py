"""Where the trained models are kept: trained on first use, then loaded.

The models are cached in ``$QALQAN_MODEL_DIR`` (or the settings file's
``models.folder``; :class:`ModelSettings`) or ``~/.cache/qalqan/models``, under
a name that changes with Qalqan's and scikit-learn's versions, the recipe and
the code that shapes them (the simulator, the exchange reader, the features and
this package). ``qalqan train`` retrains them on demand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sklearn

from qalqan import __version__, config
from qalqan.analytics.models import Models, load_models, save_models
from qalqan.training.recipe import RECIPE_VERSION, TRAINING_RECIPE, Step, train_models

__all__ = ["NOT_IN_TRAINING", "ModelSettings", "cached_models", "default_model_path"]


@config.part("models", prefix="QALQAN_MODEL_", title="model settings")
@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSettings:
    """Where the trained models are cached: the ``models`` table, ``QALQAN_MODEL_DIR``."""

    folder: Path | None = field(
        default=None,
        metadata=config.setting(
            "QALQAN_MODEL_DIR",
            "Folder of the cached trained models; none: ~/.cache/qalqan/models.",
        ),
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ModelSettings:
        """Settings from the file ``QALQAN_CONFIG`` names (its ``models`` table), then
        ``QALQAN_MODEL_DIR``."""
        return config.from_env(cls, environ)


#: Packages whose code shapes the models: a change in any of their modules retrains them.
IN_TRAINING = ("simulator", "analytics", "exchange", "training")

#: Modules of those packages that play no part in training: changing them does not retrain.
NOT_IN_TRAINING = frozenset(
    {"analytics/campaigns.py", "analytics/campaign_days.py", "analytics/farms.py", "analytics/evaluate.py",
     "analytics/incremental.py", "analytics/kept_scores.py", "analytics/money.py",
     "analytics/output.py", "analytics/sim_reasons.py", "training/cache.py"}
)  # fmt: skip


def _fingerprint() -> str:
    """Changes whenever anything that shapes the models changes: versions, recipe, the code itself."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}|{sklearn.__version__}|{RECIPE_VERSION}".encode())
    digest.update("|".join(repr(s.as_dict()) for s in TRAINING_RECIPE).encode())
    package = Path(__file__).resolve().parents[1]
    for folder in IN_TRAINING:
        for source in sorted((package / folder).glob("*.py")):
            if f"{folder}/{source.name}" in NOT_IN_TRAINING:
                continue
            digest.update(source.name.encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def default_model_path() -> Path:
    folder = ModelSettings.from_env().folder or Path.home() / ".cache" / "qalqan" / "models"
    return folder / f"qalqan-models-{_fingerprint()}.pkl"


def cached_models(*, path: Path | None = None, step: Step | None = None) -> Models:
    """The cached models; trained from the recipe and cached first when missing."""
    target = path or default_model_path()
    try:
        return load_models(target)
    except (FileNotFoundError, TypeError):  # not trained yet, or overwritten by something else
        models = train_models(step=step)
        save_models(models, target)
        return models
