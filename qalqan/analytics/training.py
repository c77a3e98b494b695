"""Training data for the shipped models: simulated operators with their ground truth."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from qalqan.analytics.calls import CALL_FEATURES
from qalqan.analytics.features import FEATURES
from qalqan.analytics.models import feature_table
from qalqan.analytics.pipeline import Analysis
from qalqan.analytics.staging import stage
from qalqan.analytics.store import AnalysisStore
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate

__all__ = ["labelled_frames", "training_frames"]


def _labels(truth_dir: Path) -> dict[tuple[str, str], str]:
    table = pcsv.read_csv(
        truth_dir / "labels.csv",
        convert_options=pcsv.ConvertOptions(
            column_types={c: pa.string() for c in ("kind", "id", "label", "group")}
        ),
    )
    return {
        (k, i): lab
        for k, i, lab in zip(
            table.column("kind").to_pylist(),
            table.column("id").to_pylist(),
            table.column("label").to_pylist(),
            strict=True,
        )
    }


def labelled_frames(
    analysis: Analysis, truth_dir: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(SIM features, SIM is simbox, residual call features, call is fraud) of one data set."""
    labels = _labels(truth_dir)
    sims = analysis.sim_table
    sim_x = feature_table(sims, FEATURES).values
    sim_y = np.array(
        [labels.get(("sim", i)) == "simbox" for i in sims.column("imsi").to_pylist()],
        dtype=np.int64,
    )
    calls = analysis.residual_calls()
    call_x = feature_table(calls, CALL_FEATURES).values
    call_y = np.array(
        [labels.get(("call", i)) == "fraud" for i in calls.column("record_id").to_pylist()],
        dtype=np.int64,
    )
    return sim_x, sim_y, call_x, call_y


#: What the SIM features look like when a data set has no ``subscribers`` table.
WITHOUT_SUBSCRIBERS: dict[str, float] = {
    "age_days": np.nan,
    "owner_sims": np.nan,
    "batch_sims": np.nan,
    "site_young_sims_per_day": np.nan,
    "plan_corporate": 0.0,
    "plan_m2m": 0.0,
    "young_contact_share": 0.0,
    "elderly_callee_share": 0.0,
}


def without_subscribers(sim_x: np.ndarray) -> np.ndarray:
    """The same SIMs as an operator that handed over no ``subscribers`` table would show them.

    Training on both teaches the model to judge from behaviour alone when the
    register is missing, instead of reading a missing value as a signal.
    """
    copy = np.array(sim_x, dtype=np.float64, copy=True)
    for name, value in WITHOUT_SUBSCRIBERS.items():
        copy[:, FEATURES.index(name)] = value
    return copy


def training_frames(
    recipe: tuple[Scenario, ...], work_dir: Path, *, step: Callable[[str], None] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    parts = []
    for n, scenario in enumerate(recipe, start=1):
        if step is not None:
            step(f"simulating training operator {n} of {len(recipe)} (seed {scenario.seed})")
        data = work_dir / f"train-{n}"
        simulate(data, scenario)
        staged = work_dir / f"train-{n}-staged"
        stage(data, staged, quarantine_dir=work_dir / f"train-{n}-quarantine")
        store = AnalysisStore.open(staged)
        try:
            analysis = Analysis(store)
            analysis.prepare()
            parts.append(labelled_frames(analysis, data / "truth"))
        finally:
            store.close()
    return (
        np.concatenate([p[0] for p in parts] + [without_subscribers(p[0]) for p in parts]),
        np.concatenate([p[1] for p in parts] + [p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
    )
