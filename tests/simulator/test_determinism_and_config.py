from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.csv as pcsv
import pytest

from qalqan.errors import ConfigError
from qalqan.exchange.writer import Format
from qalqan.simulator import operator
from qalqan.simulator.config import Scenario, load_scenario
from qalqan.simulator.operator import simulate


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet"])
def test_same_seed_gives_byte_identical_files(tmp_path: Path, fmt: Format) -> None:
    scenario = Scenario(subscribers=600, days=2, seed=5)
    simulate(tmp_path / "a", scenario, fmt=fmt)
    simulate(tmp_path / "b", scenario, fmt=fmt)
    first, second = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert first == second
    assert f"cdrs.{fmt}" in first and "truth/labels.csv" in first


def test_another_seed_gives_another_operator(tmp_path: Path) -> None:
    simulate(tmp_path / "a", Scenario(subscribers=600, days=1, seed=5))
    simulate(tmp_path / "b", Scenario(subscribers=600, days=1, seed=6))
    assert digest(tmp_path / "a")["cdrs.csv"] != digest(tmp_path / "b")["cdrs.csv"]


def test_busy_days_are_cut_into_time_ordered_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(operator, "WINDOW_ROWS", 2_000)
    summary = simulate(tmp_path, Scenario(subscribers=1500, days=1, seed=2))
    table = pcsv.read_csv(tmp_path / "cdrs.csv")
    times = table.column("start_time").to_pylist()
    assert times == sorted(times)
    assert table.num_rows == summary.rows["cdrs"] > 8_000


def test_scenario_file_sets_intensities(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text("days: 2\nfraud:\n  call_centers: 5\n  rotating_calls_per_sim: 1.5\n")
    scenario = load_scenario(path, subscribers=1000)
    assert scenario.days == 2 and scenario.subscribers == 1000
    assert scenario.fraud.call_centers == 5 and scenario.fraud.rotating_calls_per_sim == 1.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fraud:\n  call_centres: 2\n", "unknown setting 'fraud.call_centres'"),
        ("fraud:\n  call_centers: -1\n", "'fraud.call_centers' must not be negative"),
        ("fraud:\n  call_centers: 2.5\n", "'fraud.call_centers' must be a whole number"),
        ("ordinary: 3\n", "'ordinary' must be a mapping"),
        ("colour: blue\n", "unknown key 'colour'"),
        ("fraud: [1, 2\n", "cannot read scenario"),
    ],
)
def test_scenario_file_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_scenario(path)
