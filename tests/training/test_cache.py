"""The model cache: trained once on first use, then loaded; what is not models is replaced."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from qalqan.analytics.models import Models, load_models, save_models
from qalqan.training import cache
from qalqan.training.cache import cached_models, default_model_path


@pytest.fixture
def trainings(monkeypatch: pytest.MonkeyPatch) -> list[Models]:
    """Every model set the recipe was asked for (a stand-in for the 30 s of simulation)."""
    made: list[Models] = []

    def train(**_: object) -> Models:
        made.append(Models(sim=None, call=None, meta={"training": len(made) + 1}))
        return made[-1]

    monkeypatch.setattr(cache, "train_models", train)
    return made


def test_missing_models_are_trained_once_then_loaded(
    tmp_path: Path, trainings: list[Models]
) -> None:
    target = tmp_path / "models.pkl"
    first = cached_models(path=target)
    again = cached_models(path=target)
    assert len(trainings) == 1
    assert first.meta == again.meta == {"training": 1}
    assert load_models(target).meta == {"training": 1}


def test_a_file_that_holds_no_models_is_trained_over(
    tmp_path: Path, trainings: list[Models]
) -> None:
    target = tmp_path / "models.pkl"
    target.write_bytes(pickle.dumps({"not": "models"}))
    with pytest.raises(TypeError, match="no Qalqan models"):
        load_models(target)
    assert cached_models(path=target).meta == {"training": 1}
    assert load_models(target).meta == {"training": 1}


def test_the_analytics_load_but_never_train(tmp_path: Path, trainings: list[Models]) -> None:
    with pytest.raises(FileNotFoundError):
        load_models(tmp_path / "absent.pkl")
    save_models(Models(sim=None, call=None), tmp_path / "saved.pkl")
    assert load_models(tmp_path / "saved.pkl").meta == {}
    assert trainings == []


def test_the_cache_lives_where_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QALQAN_MODEL_DIR", str(tmp_path))
    path = default_model_path()
    assert path.parent == tmp_path
    assert path.name.startswith("qalqan-models-") and path.suffix == ".pkl"
    assert default_model_path() == path  # the fingerprint is stable between calls
