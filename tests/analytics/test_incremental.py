"""A daily run from the kept state gives the features a full run over every day gives.

Days 1–3 are analysed in full and their partials kept; day 4 is then read alone
and merged with them. The features must be those of one run over days 1–4, and
a state that does not end the day before ``--since`` is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from itertools import product
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from qalqan.analytics.features import Partial, estimate_local_offset, merge_partials, sim_features
from qalqan.analytics.inbound import CALL_PARTIALS, call_partials
from qalqan.analytics.incremental import (
    BY_DAY,
    IN_PARTS,
    KEPT,
    YOUTH,
    StateError,
    features_since,
    merge_with_state,
    start_state,
)
from qalqan.analytics.staging import stage
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("incremental")
    simulate(root / "data", Scenario(subscribers=1500, days=4, seed=91))
    stage(root / "data", root / "staged", quarantine_dir=root / "q")
    yield root / "staged"


def _days(staged: Path, where: str) -> duckdb.DuckDBPyConnection:
    """A connection whose ``cdrs`` holds the calls of some days only."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("cells", "subscribers"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{staged / name}.parquet')")
    con.execute(
        f"CREATE TABLE cdrs AS SELECT * FROM read_parquet('{staged}/cdrs.parquet') "
        f"WHERE CAST(start_time AS DATE) {where}"
    )
    return con


def _first_day(staged: Path) -> date:
    con = _days(staged, "IS NOT NULL")
    [(first,)] = con.execute("SELECT min(CAST(start_time AS DATE)) FROM cdrs").fetchall()
    assert isinstance(first, date)
    return first


def _full(con: duckdb.DuckDBPyConnection) -> pa.Table:
    return sim_features(con, local_offset_h=estimate_local_offset(con))


def _three_days_kept(staged: Path, folder: Path) -> date:
    """Keep the state of the first three days in ``folder``; the day after them."""
    since = _first_day(staged) + timedelta(days=3)
    early = _days(staged, f"< DATE '{since}'")
    _full(early)
    whole = _days(staged, "IS NOT NULL")
    start_state(early, folder, local_offset_h=estimate_local_offset(whole))
    return since


def test_day_four_from_the_state_of_days_one_to_three_equals_a_full_run(
    staged: Path, tmp_path: Path
) -> None:
    since = _three_days_kept(staged, tmp_path / "state")
    whole = _full(_days(staged, "IS NOT NULL"))
    daily = features_since(_days(staged, f">= DATE '{since}'"), tmp_path / "state", since=since)
    assert daily.num_rows == whole.num_rows
    assert daily.equals(whole)


def test_a_state_that_ends_before_the_day_before_since_is_refused(
    staged: Path, tmp_path: Path
) -> None:
    first = _first_day(staged)
    early = _days(staged, f"< DATE '{first + timedelta(days=2)}'")
    _full(early)
    start_state(early, tmp_path / "state", local_offset_h=0)
    late = _days(staged, f">= DATE '{first + timedelta(days=3)}'")
    with pytest.raises(StateError, match="left out"):
        features_since(late, tmp_path / "state", since=first + timedelta(days=3))


def test_a_state_that_covers_since_is_refused(staged: Path, tmp_path: Path) -> None:
    first = _first_day(staged)
    early = _days(staged, f"< DATE '{first + timedelta(days=3)}'")
    _full(early)
    start_state(early, tmp_path / "state", local_offset_h=0)
    late = _days(staged, f">= DATE '{first + timedelta(days=2)}'")
    with pytest.raises(StateError, match="counted twice"):
        features_since(late, tmp_path / "state", since=first + timedelta(days=2))


def test_no_state_is_refused(staged: Path, tmp_path: Path) -> None:
    late = _days(staged, "IS NOT NULL")
    with pytest.raises(StateError, match="no kept state"):
        features_since(late, tmp_path / "nothing", since=_first_day(staged))


def _sorted(con: duckdb.DuckDBPyConnection, partial: Partial) -> pa.Table:
    keys = ", ".join(partial.keys)
    return con.sql(f"SELECT * FROM {partial.table} ORDER BY {keys}").to_arrow_table()


def test_the_calls_history_kept_for_days_one_to_three_and_merged_with_day_four_is_that_of_all_four(
    staged: Path, tmp_path: Path
) -> None:
    since = _three_days_kept(staged, tmp_path / "state")
    whole = _days(staged, "IS NOT NULL")
    _full(whole)
    call_partials(whole)
    daily = _days(staged, f">= DATE '{since}'")
    features_since(daily, tmp_path / "state", since=since)
    for partial in CALL_PARTIALS:
        merged, full = _sorted(daily, partial), _sorted(whole, partial)
        assert merged.num_rows == full.num_rows > 0
        assert merged.equals(full), partial.name


def test_the_partials_kept_by_day_are_keyed_by_the_hour_or_day_of_their_records() -> None:
    for partial in KEPT:
        if partial.name in BY_DAY:
            assert {"h", "d", "hour_n"} & set(partial.keys), partial.name


def test_a_daily_run_adds_a_part_of_its_own_to_the_partials_kept_by_day(
    staged: Path, tmp_path: Path
) -> None:
    since = _first_day(staged) + timedelta(days=3)
    early = _days(staged, f"< DATE '{since}'")
    _full(early)
    start_state(early, tmp_path / "state", local_offset_h=0)
    before = {p: p.read_bytes() for p in (tmp_path / "state").glob("*/*.parquet")}
    assert {p.parent.name for p in before} >= BY_DAY
    features_since(_days(staged, f">= DATE '{since}'"), tmp_path / "state", since=since)
    for path, kept in before.items():
        assert path.read_bytes() == kept  # what the days before kept is not written again
    for name in BY_DAY:
        parts = sorted(p.name for p in (tmp_path / "state" / name).glob("*.parquet"))
        assert parts == [f"{_first_day(staged)}.parquet", f"{since}.parquet"]


def _activations_moved(con: duckdb.DuckDBPyConnection) -> None:
    """``subscribers`` with every SIM activated on an odd day of the month moved a year back:
    the SIMs young among them are young no more."""
    con.execute(
        "CREATE OR REPLACE TABLE moved AS SELECT * REPLACE ("
        "CASE WHEN day(activated) % 2 = 1 THEN activated - INTERVAL 365 DAY ELSE activated END"
        " AS activated) FROM subscribers"
    )
    con.execute("DROP VIEW subscribers")
    con.execute("ALTER TABLE moved RENAME TO subscribers")


def test_a_daily_run_told_other_activations_than_the_kept_days_counts_young_sims_anew(
    staged: Path, tmp_path: Path
) -> None:
    since = _first_day(staged) + timedelta(days=3)
    whole = _days(staged, "IS NOT NULL")
    _activations_moved(whole)
    expected = _full(whole)
    early = _days(staged, f"< DATE '{since}'")
    _full(early)
    [(young,)] = early.execute("SELECT count(*) FROM sim_age WHERE young").fetchall()
    assert young > 0
    start_state(early, tmp_path / "state", local_offset_h=estimate_local_offset(whole))
    daily = _days(staged, f">= DATE '{since}'")
    _activations_moved(daily)
    got = features_since(daily, tmp_path / "state", since=since)
    assert got.equals(expected)


def test_a_state_without_its_young_sims_kept_gives_the_features_of_a_full_run(
    staged: Path, tmp_path: Path
) -> None:
    since = _three_days_kept(staged, tmp_path / "state")
    whole = _full(_days(staged, "IS NOT NULL"))
    for name in YOUTH:  # as an older version kept it
        (tmp_path / "state" / f"{name}.parquet").unlink()
    daily = features_since(_days(staged, f">= DATE '{since}'"), tmp_path / "state", since=since)
    assert daily.equals(whole)
    assert all((tmp_path / "state" / f"{name}.parquet").is_file() for name in YOUTH)


def _kept_and_new(con: duckdb.DuckDBPyConnection) -> None:
    """``stored_<name>`` and ``new_<name>`` of every kept partial: each key once a side, some
    keys on both, nulls among keys and values."""
    for n, prefix in enumerate(("stored_", "new_")):
        for partial in KEPT:
            columns = [f"{key} VARCHAR" for key in partial.keys]
            columns += [f"{value} BIGINT" for value in partial.merge]
            con.execute(f"CREATE TABLE {prefix}{partial.name} ({', '.join(columns)})")
            for i, keys in enumerate(product(("a", None, "bc"[n]), repeat=len(partial.keys))):
                values = [
                    None if (i + j + n) % 4 == 0 else i * 10 + j for j in range(len(partial.merge))
                ]
                row = [*keys, *values]
                con.execute(
                    f"INSERT INTO {prefix}{partial.name} VALUES ({', '.join('?' * len(row))})", row
                )


def test_the_kept_partials_merge_with_the_new_days_as_grouping_them_together_does() -> None:
    joined, grouped = duckdb.connect(), duckdb.connect()
    _kept_and_new(joined)
    _kept_and_new(grouped)
    merge_with_state(joined, new_prefix="new_")
    merge_partials(grouped, ["stored_", "new_"], partials=KEPT)
    for partial in KEPT:
        if partial.name in IN_PARTS:
            continue
        got = joined.sql(f"SELECT * FROM {partial.table} ORDER BY ALL").fetchall()
        want = grouped.sql(f"SELECT * FROM {partial.table} ORDER BY ALL").fetchall()
        assert got == want, partial.name
        assert any(None in row for row in got)
