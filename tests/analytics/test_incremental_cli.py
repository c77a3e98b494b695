"""``qalqan analyze --since DAY``: a daily run reads one day and judges that day's calls.

Days 1–5 are analysed with ``--state``; day 6's part is then added to the data set's
``cdrs/`` folder and analysed with ``--since``. The whole-history outputs (``sims.csv``,
``farms.csv``, ``farm_tracks.csv``) equal those of one run over days
1–6; ``calls.csv`` holds day 6's calls alone, each as the full run judged it (all but
the campaign, which a daily run groups over its own calls). A state that already holds
day 6, or ends before day 5, is refused (exit 2).

What a daily run reads of the days before is the kept state and the last
:data:`~qalqan.analytics.incremental.LOOK_BACK` days' records: with the kept records of
days 1–2 gone, its ``calls.csv`` is the same, and with every kept day's records gone its
``sims.csv`` still is.
"""

from __future__ import annotations

import csv
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from qalqan.analytics.incremental import LOOK_BACK
from qalqan.analytics.kept_scores import SIM_SCORES
from qalqan.cli.main import app
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate

WHOLE_HISTORY = ("sims.csv", "farms.csv", "farm_tracks.csv")
"""The outputs that speak of every day, in a daily run as in a full one (``accounts.csv``
reads the campaigns' calls, and those of a daily run are its window's, grouped and numbered
by itself)."""
NOT_COMPARED = ("campaign_id",)
"""A daily run's campaigns regroup the fraud calls of a window of days, ids carried on from
the kept campaigns (qalqan.analytics.campaign_days); a full run numbers its own."""
EXPECTED_DIFFERENCES: dict[tuple[str, str], str] = {}
"""(record id, column) of day 6's calls that a daily run cannot judge as the full run does,
with the reason (none on this operator; docs/analytics.md says when one can arise)."""


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


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return {row["record_id"]: row for row in csv.DictReader(f)}


class Runs:
    """The runs the tests compare: the daily run of day 6, the full run, and the state."""

    def __init__(self, root: Path, day: date) -> None:
        self.root = root
        self.data = root / "data"
        self.day = day
        self.daily = root / "daily"
        self.full = root / "full"
        self.state = root / "state"
        self.state_of_days_before = root / "state_of_days_1_to_5"

    def daily_from(self, state: Path, out: Path) -> int:
        return _analyze(
            str(self.data), "--out", str(out), "--since", str(self.day), "--state", str(state)
        )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("since")
    simulate(root / "data", Scenario(subscribers=1500, days=6, seed=91))
    shutil.rmtree(root / "data" / "truth", ignore_errors=True)
    days = _split_by_day(root / "data")
    runs = Runs(root, days[5])
    held = root / "held"
    held.mkdir()
    for day in days[5:]:  # day 6, and the last calls' minutes past its midnight
        (runs.data / "cdrs" / f"{day}.csv").rename(held / f"{day}.csv")
    assert _analyze(str(runs.data), "--out", str(root / "first"), "--state", str(runs.state)) == 0
    shutil.copytree(runs.state, runs.state_of_days_before)
    for part in held.iterdir():
        part.rename(runs.data / "cdrs" / part.name)
    assert runs.daily_from(runs.state, runs.daily) == 0
    assert _analyze(str(runs.data), "--out", str(runs.full)) == 0
    return runs


@pytest.mark.parametrize("name", WHOLE_HISTORY)
def test_a_daily_run_writes_the_whole_history_a_full_run_writes(runs: Runs, name: str) -> None:
    assert (runs.daily / name).read_bytes() == (runs.full / name).read_bytes()


def test_a_daily_run_judges_the_new_days_calls_as_a_full_run_does(runs: Runs) -> None:
    daily = _rows(runs.daily / "calls.csv")
    full = {
        record: row
        for record, row in _rows(runs.full / "calls.csv").items()
        if row["start_time"][:10] >= runs.day.isoformat()
    }
    assert full, "the full run judged no call of day 6"
    assert sorted(daily) == sorted(full)  # day 6's calls, and no other
    differences = {
        (record, column): (row[column], daily[record][column])
        for record, row in full.items()
        for column in row
        if column not in NOT_COMPARED and row[column] != daily[record][column]
    }
    assert set(differences) == set(EXPECTED_DIFFERENCES), differences
    # the rows also come in the full run's order
    order = [r for r in _rows(runs.full / "calls.csv") if r in daily]
    assert list(daily) == order


def _without_campaigns(path: Path) -> dict[str, dict[str, str]]:
    return {
        record: {k: v for k, v in row.items() if k not in NOT_COMPARED}
        for record, row in _rows(path).items()
    }


def test_two_daily_runs_in_a_row_judge_day_6_as_one_daily_run_of_both_days(
    runs: Runs, tmp_path: Path
) -> None:
    """Days 1-4 in full, then day 5 and day 6 each by a daily run, or both by one: what the
    first daily run kept (the walk's state, the flagged calls, the route counts, the worked
    pairs) is what the second needs. (Both go on from the state of days 1-4, whose network
    offset from UTC a full run over days 1-6 may estimate otherwise.)"""
    data = tmp_path / "data"
    shutil.copytree(runs.data, data)
    day_5 = runs.day - timedelta(days=1)
    held = tmp_path / "held"
    held.mkdir()
    for part in (data / "cdrs").glob("*.csv"):
        if date.fromisoformat(part.stem) >= day_5:
            part.rename(held / part.name)
    state = tmp_path / "state"
    assert _analyze(str(data), "--out", str(tmp_path / "first"), "--state", str(state)) == 0
    both = tmp_path / "state_for_both"
    shutil.copytree(state, both)
    (held / f"{day_5}.csv").rename(data / "cdrs" / f"{day_5}.csv")
    for day, out in ((day_5, tmp_path / "day_5"), (runs.day, tmp_path / "day_6")):
        assert (
            _analyze(str(data), "--out", str(out), "--since", str(day), "--state", str(state)) == 0
        )
        for part in held.iterdir():  # day 6, once day 5 is analysed
            part.rename(data / "cdrs" / part.name)
    out = tmp_path / "days_5_and_6"
    assert _analyze(str(data), "--out", str(out), "--since", str(day_5), "--state", str(both)) == 0
    of_both = {
        record: row
        for record, row in _without_campaigns(out / "calls.csv").items()
        if row["start_time"][:10] >= runs.day.isoformat()
    }
    assert of_both
    assert _without_campaigns(tmp_path / "day_6" / "calls.csv") == of_both
    for name in WHOLE_HISTORY:
        assert (tmp_path / "day_6" / name).read_bytes() == (out / name).read_bytes()


def test_a_daily_run_flags_calls_of_the_new_day(runs: Runs) -> None:
    """The comparison above is not of empty verdicts: day 6 has fraud and spoofed calls."""
    verdicts = {row["verdict"] for row in _rows(runs.daily / "calls.csv").values()}
    assert {"fraud", "spoofed", "clear"} <= verdicts


def test_a_daily_run_puts_each_fraud_call_in_a_campaign_it_lists(runs: Runs) -> None:
    with (runs.daily / "campaigns.csv").open(newline="", encoding="utf-8") as f:
        listed = {row["campaign_id"] for row in csv.DictReader(f)}
    calls = _rows(runs.daily / "calls.csv").values()
    fraud = [row for row in calls if row["verdict"] in ("fraud", "spoofed")]
    assert fraud and all(row["campaign_id"] for row in fraud)
    assert {row["campaign_id"] for row in fraud} <= listed


def _forget_before(state: Path, day: date) -> None:
    """Delete from ``state`` the kept call records and flagged calls before ``day``."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for parts, column in ((state / "cdrs", "start_time"), (state / "calls" / "flagged_calls", "t")):
        for part in parts.glob("*.parquet"):
            kept = part.with_suffix(".kept")
            con.execute(
                f"COPY (SELECT * FROM read_parquet('{part}') WHERE {column} >= '{day}') "
                f"TO '{kept}' (FORMAT parquet)"
            )
            kept.replace(part)


def test_a_daily_run_reads_only_the_look_back_of_the_kept_records(
    runs: Runs, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    shutil.copytree(runs.state_of_days_before, state)
    _forget_before(state, runs.day - LOOK_BACK)
    con = duckdb.connect()
    [(first,)] = con.execute(
        f"SELECT min(start_time) FROM read_parquet('{state}/cdrs/*.parquet')"
    ).fetchall()
    assert first.date() == runs.day - LOOK_BACK  # days 1-2 are gone
    out = tmp_path / "out"
    assert runs.daily_from(state, out) == 0
    assert (out / "calls.csv").read_bytes() == (runs.daily / "calls.csv").read_bytes()


def test_a_daily_run_judges_sims_without_the_records_of_the_days_before(
    runs: Runs, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    shutil.copytree(runs.state_of_days_before, state)
    for part in (state / "cdrs").glob("*.parquet"):
        part.unlink()  # the records of days 1-5: the partials must say all they said
    out = tmp_path / "out"
    assert runs.daily_from(state, out) == 0
    assert (out / "sims.csv").read_bytes() == (runs.full / "sims.csv").read_bytes()


def test_a_state_kept_without_the_sim_models_answers_has_every_sim_asked_and_keeps_them(
    runs: Runs, tmp_path: Path
) -> None:
    """A state kept by a version that kept no answers of the SIM model (or by another
    model): the daily run asks the model of every SIM, gives a full run's bytes, and keeps
    the answers for the next run."""
    state = tmp_path / "state"
    shutil.copytree(runs.state_of_days_before, state)
    assert (state / SIM_SCORES).is_file()  # kept by the run over days 1-5
    (state / SIM_SCORES).unlink()
    out = tmp_path / "out"
    assert runs.daily_from(state, out) == 0
    for name in WHOLE_HISTORY:
        assert (out / name).read_bytes() == (runs.full / name).read_bytes(), name
    kept = pq.read_table(state / SIM_SCORES)
    with (runs.full / "sims.csv").open(newline="", encoding="utf-8") as f:
        assert sorted(kept["imsi"].to_pylist()) == sorted(r["imsi"] for r in csv.DictReader(f))


def test_a_state_that_holds_the_day_already_is_refused(runs: Runs, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["analyze", str(runs.data), "--out", str(tmp_path), "--since", str(runs.day),
              "--state", str(runs.state), "--quiet"]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "counted twice" in result.output


def test_a_state_with_a_gap_is_refused(runs: Runs, tmp_path: Path) -> None:
    later = str(runs.day + timedelta(days=3))  # the state ends on day 6 or 7 (its last minutes)
    result = CliRunner().invoke(
        app, ["analyze", str(runs.data), "--out", str(tmp_path), "--since", later,
              "--state", str(runs.state), "--quiet"]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "left out" in result.output


def test_a_state_without_the_calls_state_is_refused(runs: Runs, tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(runs.state_of_days_before, state)
    (state / "calls" / "covered.json").unlink()
    assert runs.daily_from(state, tmp_path / "out") == 2
    assert not (tmp_path / "out" / "calls.csv").exists()


def test_a_kept_calls_state_that_cannot_be_read_is_refused_before_anything_is_kept(
    runs: Runs, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    shutil.copytree(runs.state_of_days_before, state)
    (state / "calls" / "worked_pairs.parquet").write_bytes(b"PAR1 not a parquet file")
    manifest = (state / "manifest.json").read_bytes()
    result = CliRunner().invoke(
        app, ["analyze", str(runs.data), "--out", str(tmp_path / "out"), "--since",
              str(runs.day), "--state", str(state), "--quiet"]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "cannot be read" in result.output and "worked_pairs.parquet" in result.output
    assert (state / "manifest.json").read_bytes() == manifest  # the partials were not kept
