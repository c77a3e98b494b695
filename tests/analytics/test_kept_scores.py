"""The SIM model's kept answers are the model's: only SIMs whose inputs changed are asked again.

A daily run keeps every SIM's score, and the drivers of the flagged SIMs explained, with
the inputs they were said of (``qalqan.analytics.kept_scores``). The next run takes the
kept answer where a SIM's inputs are those kept, bit for bit: these tests hold the
scores and drivers so given to those the model gives of the whole table, and count what
was asked. Answers kept by another model, or a file that cannot be read, are not used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qalqan.analytics.kept_scores import SIM_SCORES, KeptScores, model_fingerprint
from qalqan.analytics.models import Models, load_models, save_models
from qalqan.training.cache import cached_models


@pytest.fixture(scope="module")
def models() -> Models:
    return cached_models()


def _table(models: Models, sims: int, *, seed: int = 5) -> pa.Table:
    """Feature rows of ``sims`` SIMs, a tenth of the values missing."""
    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {
        "imsi": pa.array([f"40177{n:010d}" for n in range(sims)], pa.string())
    }
    for name in models.sim_features:
        values = np.round(rng.gamma(1.5, 20.0, sims), 2)
        values[rng.random(sims) < 0.1] = np.nan
        columns[name] = pa.array(values, pa.float64(), from_pandas=True)
    return pa.table(columns)


def _drivers(models: Models, table: pa.Table, rows: list[int]) -> dict[int, str]:
    found = models.explain_sims(table, rows)
    return {row: "; ".join(c.detail for c in said) for row, said in found.items()}


def _changed(table: pa.Table, name: str, row: int) -> pa.Table:
    """``table`` with the value of ``name`` of ``row`` moved by one."""
    values = np.asarray(table.column(name).to_numpy(), dtype=np.float64).copy()
    values[row] = 1.0 if np.isnan(values[row]) else values[row] + 1.0
    at = table.column_names.index(name)
    return table.set_column(at, name, pa.array(values, pa.float64()))


def test_the_next_run_asks_only_the_sims_whose_inputs_changed_and_gets_the_models_answers(
    models: Models, tmp_path: Path
) -> None:
    table = _table(models, 400)
    first = KeptScores(models=models, folder=tmp_path)
    assert np.array_equal(first.score(table), models.score_sims(table))
    assert first.asked == 400
    explained = list(range(0, 400, 9))
    assert first.drivers(table, explained) == _drivers(models, table, explained)
    first.keep()

    # the next day: one SIM's inputs moved, one SIM is new, one is gone, the rest as kept
    feature = models.sim_features[0]
    later = _changed(table, feature, 18).slice(1)  # row 18 is now 17; SIM 0 is gone
    later = pa.concat_tables([later, _table(models, 401, seed=9).slice(400)])
    second = KeptScores(models=models, folder=tmp_path)
    assert np.array_equal(second.score(later), models.score_sims(later))
    assert second.asked == 2  # the changed SIM and the new one
    rows = list(range(0, later.num_rows, 4))  # kept drivers for some, none for others
    assert second.drivers(later, rows) == _drivers(models, later, rows)
    kept = {n - 1 for n in explained if n not in (0, 18)}
    assert second.explained == len([r for r in rows if r not in kept])


def test_answers_kept_by_another_model_or_unreadable_are_not_used(
    models: Models, tmp_path: Path
) -> None:
    table = _table(models, 50)
    first = KeptScores(models=models, folder=tmp_path)
    first.score(table)
    first.keep()
    path = tmp_path / SIM_SCORES
    kept = pq.read_table(path)
    other = kept.replace_schema_metadata({b"qalqan.sim_model": b"another model"})
    pq.write_table(other, path)
    again = KeptScores(models=models, folder=tmp_path)
    assert np.array_equal(again.score(table), models.score_sims(table))
    assert again.asked == 50
    path.write_bytes(b"PAR1 not a parquet file")
    again = KeptScores(models=models, folder=tmp_path)
    assert np.array_equal(again.score(table), models.score_sims(table))
    assert again.asked == 50
    again.keep()  # written anew
    assert KeptScores(models=models, folder=tmp_path).score(table).shape == (50,)
    reread = KeptScores(models=models, folder=tmp_path)
    reread.score(table)
    assert reread.asked == 0


def test_the_same_model_loaded_twice_is_known_for_the_same(models: Models, tmp_path: Path) -> None:
    """Pickled with its memo, the bytes of one model differ between two loads (which equal
    strings happen to be one object): its kept answers would be thrown away every run."""
    path = save_models(models, tmp_path / "models.pkl")
    first, second = load_models(path), load_models(path)
    assert model_fingerprint(first) == model_fingerprint(second) == model_fingerprint(models)
