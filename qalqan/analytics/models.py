"""The models Qalqan ships, as the analytics load and apply them.

Two scorers (:class:`~qalqan.analytics.number_scoring.NumberFraudScorer`): one
scores SIMs from their behaviour (:data:`~qalqan.analytics.features.FEATURES`),
one scores calls from outside that no rule settles
(:data:`~qalqan.analytics.calls.CALL_FEATURES`). They are trained by the project
from its own simulator, never downloaded: :mod:`qalqan.training` makes and
caches them; this module only reads, writes and applies them.
"""

from __future__ import annotations

import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from qalqan.analytics.calls import CALL_FEATURES
from qalqan.analytics.features import FEATURES
from qalqan.analytics.number_scoring import FeatureContribution, FeatureTable

__all__ = ["Models", "feature_table", "load_models", "save_models"]


@dataclass(slots=True)
class Models:
    sim: Any
    call: Any
    sim_features: tuple[str, ...] = FEATURES
    call_features: tuple[str, ...] = CALL_FEATURES
    meta: dict[str, Any] = field(default_factory=dict)

    def score_sims(self, table: pa.Table, *, threads: int = 1) -> np.ndarray:
        """The SIM model's score of every row of ``table``, on ``threads`` threads."""
        return _score(self.sim, table, self.sim_features, threads=threads)

    def score_calls(self, table: pa.Table) -> np.ndarray:
        return _score(self.call, table, self.call_features)

    def explain_sims(
        self, table: pa.Table, rows: list[int], *, top: int = 3, threads: int = 1
    ) -> dict[int, list[FeatureContribution]]:
        """For each of ``rows``, the behaviour features that moved its score most, in plain words."""
        if not rows:
            return {}
        features = feature_table(table, self.sim_features)
        found = self.sim.explain_rows(features, rows, top=top, threads=threads)
        return dict(zip(rows, found, strict=True))

    def sim_drivers(self, table: pa.Table, rows: list[int], *, threads: int = 1) -> dict[int, str]:
        """For each of ``rows``, what drove its score, in words (``"; "``-separated)."""
        return {
            row: "; ".join(c.detail for c in found)
            for row, found in self.explain_sims(table, rows, threads=threads).items()
        }


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


def _score(model: Any, table: pa.Table, names: tuple[str, ...], **options: Any) -> np.ndarray:
    """``model``'s score of every row of ``table`` (zeros without a model); ``options`` go to
    its ``score``."""
    if table.num_rows == 0:
        return np.zeros(0)
    if model is None:
        return np.zeros(table.num_rows)
    return np.asarray(model.score(feature_table(table, names), **options))


def load_models(path: Path) -> Models:
    """The models saved at ``path`` by :func:`save_models`.

    Raises :class:`FileNotFoundError` when there are none, :class:`TypeError` when the
    file holds something else.
    """
    with path.open("rb") as f:
        models = pickle.load(f)
    if not isinstance(models, Models):
        raise TypeError(f"{path} holds no Qalqan models")
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
