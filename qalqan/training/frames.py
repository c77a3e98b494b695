"""Training data for the shipped models: simulated operators with their ground truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from qalqan.domain.model import CallVerdict, SimVerdict
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate

__all__ = ["TrainingFrames", "labelled_frames", "operator_frames", "training_frames"]


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
        [labels.get(("sim", i)) == SimVerdict.SIMBOX for i in sims.column("imsi").to_pylist()],
        dtype=np.int64,
    )
    calls = analysis.residual_calls()
    call_x = feature_table(calls, CALL_FEATURES).values
    call_y = np.array(
        [
            labels.get(("call", i)) == CallVerdict.FRAUD
            for i in calls.column("record_id").to_pylist()
        ],
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


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingFrames:
    """What the models learn from: features and labels of SIMs and of calls no rule settles,
    each row with the simulated operator it came from (for calibration on other operators)."""

    sims_x: np.ndarray
    sims_y: np.ndarray
    sims_operator: np.ndarray
    calls_x: np.ndarray
    calls_y: np.ndarray
    calls_operator: np.ndarray

    @classmethod
    def concat(cls, parts: list[TrainingFrames]) -> TrainingFrames:
        return cls(
            **{
                name: np.concatenate([getattr(p, name) for p in parts])
                for name in cls.__dataclass_fields__
            }
        )


def operator_frames(scenario: Scenario, work_dir: Path, *, operator: int) -> TrainingFrames:
    """Simulate one operator and take its training rows; SIMs twice, with and without the register."""
    data = work_dir / f"train-{operator}"
    simulate(data, scenario)
    staged = work_dir / f"train-{operator}-staged"
    stage(data, staged, quarantine_dir=work_dir / f"train-{operator}-quarantine")
    store = AnalysisStore.open(staged)
    try:
        analysis = Analysis(store)
        analysis.prepare()
        sim_x, sim_y, call_x, call_y = labelled_frames(analysis, data / "truth")
    finally:
        store.close()
    return TrainingFrames(
        sims_x=np.concatenate([sim_x, without_subscribers(sim_x)]),
        sims_y=np.concatenate([sim_y, sim_y]),
        sims_operator=np.full(2 * sim_y.size, operator, dtype=np.int64),
        calls_x=call_x,
        calls_y=call_y,
        calls_operator=np.full(call_y.size, operator, dtype=np.int64),
    )


def training_frames(
    recipe: tuple[Scenario, ...], work_dir: Path, *, step: Callable[[str], None] | None = None
) -> TrainingFrames:
    parts = []
    for n, scenario in enumerate(recipe, start=1):
        if step is not None:
            step(f"simulating training operator {n} of {len(recipe)} (seed {scenario.seed})")
        parts.append(operator_frames(scenario, work_dir, operator=n))
    return TrainingFrames.concat(parts)
