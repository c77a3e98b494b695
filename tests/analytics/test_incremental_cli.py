"""``qalqan analyze --since DAY``: a daily run reads one day and writes what a full run writes.

Days 1–3 are analysed with ``--state``; day 4's part is then added to the data set's
``cdrs/`` folder and analysed with ``--since``: every output equals that of one run
over days 1–4, and a state that already holds day 4 is refused (exit 2).

The SIMs of a daily run come from day 4 and the kept partials alone: with the kept
records of days 1–3 gone, its ``sims.csv`` is still that of the full run.
"""

from __future__ import annotations

import csv
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate

OUTPUTS = ("sims.csv", "farms.csv", "calls.csv", "campaigns.csv", "accounts.csv", "farm_tracks.csv")


def _split_by_day(data: Path) -> list[date]:
    """Turn ``cdrs.csv`` into ``cdrs/<day>.csv`` parts; the days, in order."""
    with (data / "cdrs.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        by_day: dict[str, list[list[str]]] = {}
        for row in reader:
            by_day.setdefault(row[header.index("start_time")][:10], []).append(row)
    (data / "cdrs.csv").unlink()
    (data / "cdrs").mkdir()
    for day, rows in by_day.items():
        with (data / "cdrs" / f"{day}.csv").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header, *rows])
    return sorted(date.fromisoformat(d) for d in by_day)


def _analyze(*args: str) -> int:
    result = CliRunner().invoke(app, ["analyze", *args, "--quiet"])
    assert result.exit_code in (0, 2), result.output
    return result.exit_code


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, date]:
    root = tmp_path_factory.mktemp("since")
    simulate(root / "data", Scenario(subscribers=1500, days=4, seed=91))
    shutil.rmtree(root / "data" / "truth", ignore_errors=True)
    days = _split_by_day(root / "data")
    last = root / "data" / "cdrs" / f"{days[-1]}.csv"
    held = last.rename(root / "held.csv")
    state = root / "state"
    assert _analyze(str(root / "data"), "--out", str(root / "first"), "--state", str(state)) == 0
    shutil.copytree(state, root / "state_of_days_1_to_3")
    held.rename(last)
    daily, full = root / "daily", root / "full"
    since = str(days[-1])
    assert (
        _analyze(str(root / "data"), "--out", str(daily), "--since", since, "--state", str(state))
        == 0
    )
    assert _analyze(str(root / "data"), "--out", str(full)) == 0
    return daily, full, state, days[-1]


@pytest.mark.parametrize("name", OUTPUTS)
def test_a_daily_run_writes_what_a_full_run_writes(
    runs: tuple[Path, Path, Path, date], name: str
) -> None:
    daily, full, _, _ = runs
    assert (daily / name).read_bytes() == (full / name).read_bytes()


def test_a_state_that_holds_the_day_already_is_refused(
    runs: tuple[Path, Path, Path, date], tmp_path: Path
) -> None:
    daily, _, state, day = runs
    result = CliRunner().invoke(
        app, ["analyze", str(daily.parent / "data"), "--out", str(tmp_path), "--since", str(day),
              "--state", str(state), "--quiet"]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "counted twice" in result.output


def test_a_state_with_a_gap_is_refused(runs: tuple[Path, Path, Path, date], tmp_path: Path) -> None:
    daily, _, state, day = runs
    later = str(day + timedelta(days=2))
    result = CliRunner().invoke(
        app, ["analyze", str(daily.parent / "data"), "--out", str(tmp_path), "--since", later,
              "--state", str(state), "--quiet"]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "left out" in result.output


def test_a_daily_run_judges_sims_without_the_records_of_the_days_before(
    runs: tuple[Path, Path, Path, date],
) -> None:
    daily, full, _, day = runs
    root = daily.parent
    state = root / "state_of_days_1_to_3"
    for part in (state / "cdrs").glob("*.parquet"):
        part.unlink()  # the records of days 1-3: the partials must say all they said
    out = root / "forgetful"
    assert (
        _analyze(str(root / "data"), "--out", str(out), "--since", str(day), "--state", str(state))
        == 0
    )
    assert (out / "sims.csv").read_bytes() == (full / "sims.csv").read_bytes()
