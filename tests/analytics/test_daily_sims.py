"""A daily run's SIM side costs what the new day and the SIMs cost, not the days kept.

What the features and farms read of a SIM's activity, its handsets and the busiest
day of each handset is kept one row per SIM (or handset, or SIM and hour of the day),
merged key by key: the counts of distinct days and hours add because a new day's
records never share a day with the kept ones. Only what must stay by day or hour
(the sites of each SIM by day and by hour: same site, same day) is kept a part a run.
These tests say that the merge is exact however the days are cut into runs, that
runs chained day after day give the features of one run, and that the kept summary
does not grow with the days.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.analytics.farms import farm_partials
from qalqan.analytics.features import (
    _TALK_MEDIAN,
    PARTIALS,
    day_partials,
    estimate_local_offset,
    merge_partials,
    sim_features,
)
from qalqan.analytics.incremental import (
    BY_DAY,
    BY_FIRST_SEEN,
    IN_PARTS,
    KEPT,
    MANIFEST,
    READ_IN_PLACE,
    StateError,
    features_since,
    start_state,
)
from qalqan.analytics.staging import stage
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate
from tests.analytics.test_incremental import _days, _first_day

#: The partials kept one row per key, merged key by key, that once were kept by hour or day.
SUMMARIES = ("sim_activity", "sim_hour_of_day", "sim_imei", "imei_day_sims")

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)

#: A SIM's record: the SIM, its handset, the day, the minute of the day, event, result, talk time.
Record = tuple[int, str | None, int, int, str, str, int]

_record = st.tuples(
    st.integers(0, 3),  # SIM
    st.sampled_from([None, "351", "352", "353"]),  # handset
    st.integers(0, 5),  # day
    st.integers(0, 24 * 60 - 1),  # minute of the day
    st.sampled_from(["voice", "sms"]),
    st.sampled_from(["answered", "failed", "busy"]),
    st.integers(0, 90),  # talk time, s
)


def _mo(con: duckdb.DuckDBPyConnection, name: str, records: list[Record]) -> None:
    rows = [
        {
            "t": DAY0 + timedelta(days=day, minutes=minute),
            "dur": dur,
            "event": event,
            "result": result,
            "a_number": f"+7701000000{sim}",
            "imsi": f"40177000000000{sim}",
            "imei": imei,
            "local_hour": (minute // 60 + 5) % 24,
        }
        for sim, imei, day, minute, event, result, dur in records
    ]
    schema = pa.schema(
        [("t", pa.timestamp("us", tz="UTC")), ("dur", pa.int64()), ("event", pa.string()),
         ("result", pa.string()), ("a_number", pa.string()), ("imsi", pa.string()),
         ("imei", pa.string()), ("local_hour", pa.int64())]
    )  # fmt: skip
    con.register(f"_{name}", pa.Table.from_pylist(rows, schema=schema))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _{name}")


def _partials(con: duckdb.DuckDBPyConnection, prefix: str, mo: str) -> None:
    summaries = [p for p in PARTIALS if p.name in SUMMARIES]
    day_partials(con, prefix=prefix, mo=mo, cdrs=mo, partials=summaries)


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


@settings(max_examples=60, deadline=None)
@given(records=st.lists(_record, min_size=1, max_size=60), cuts=st.sets(st.integers(1, 5)))
def test_the_summaries_of_runs_cut_at_any_days_merge_into_those_of_one_run(
    records: list[Record], cuts: set[int]
) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _mo(con, "mo", records)
    _partials(con, "whole_", "mo")
    summaries = [p for p in PARTIALS if p.name in SUMMARIES]
    assert [p.name for p in summaries] == list(SUMMARIES)
    bounds = [0, *sorted(cuts), 6]
    first = True
    for start, end in pairwise(bounds):
        days = [r for r in records if start <= r[2] < end]
        if not days:
            continue
        _mo(con, "mo_run", days)
        _partials(con, "run_", "mo_run")
        if first:
            for p in summaries:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE kept_{p.name} AS SELECT * FROM run_{p.name}"
                )
            first = False
            continue
        merge_partials(con, ["kept_", "run_"], partials=summaries)
        for p in summaries:
            con.execute(f"CREATE OR REPLACE TEMP TABLE kept_{p.name} AS SELECT * FROM {p.table}")
    for p in summaries:
        assert _rows(con, f"kept_{p.name}") == _rows(con, f"whole_{p.name}"), p.name


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("daily_sims")
    simulate(root / "data", Scenario(subscribers=1200, days=4, seed=53))
    stage(root / "data", root / "staged", quarantine_dir=root / "q")
    yield root / "staged"


def test_days_added_one_at_a_time_give_the_features_of_one_run_and_a_summary_that_does_not_grow(
    staged: Path, tmp_path: Path
) -> None:
    first = _first_day(staged)
    whole = _days(staged, "IS NOT NULL")
    offset = estimate_local_offset(whole)
    want = sim_features(whole, local_offset_h=offset)
    early = _days(staged, f"= DATE '{first}'")
    sim_features(early, local_offset_h=offset)
    state = tmp_path / "state"
    start_state(early, state, local_offset_h=offset)
    for n in (1, 2, 3):
        day = first + timedelta(days=n)
        got = features_since(_days(staged, f"= DATE '{day}'"), state, since=day)
        sims = pq.read_table(state / "sim_activity.parquet")
        # one row per SIM seen so far, whatever the days kept
        assert sims.num_rows == got.num_rows
        assert sorted(sims["imsi"].to_pylist()) == got["imsi"].to_pylist()
        hours = pq.read_table(state / "sim_hour_of_day.parquet")
        assert hours.num_rows <= 24 * got.num_rows
        kept_by_run = {p.name for p in state.iterdir() if p.is_dir() and p.name != "cdrs"}
        assert kept_by_run == set(IN_PARTS)
        for name in BY_DAY:
            assert len(list((state / name).glob("*.parquet"))) == n + 1
    assert got.equals(want)


def test_the_summaries_are_kept_whole_and_nothing_of_a_sims_activity_is_kept_by_the_hour() -> None:
    kept = {p.name: p for p in KEPT}
    for name in SUMMARIES:
        assert name in kept and name not in BY_DAY
        assert not {"h", "d", "hour_n"} & set(kept[name].keys), name
    assert "sim_hour" not in kept and "sim_imei_day" not in kept


def test_a_state_kept_by_an_older_version_is_refused_with_what_it_lacks(
    staged: Path, tmp_path: Path
) -> None:
    first = _first_day(staged)
    early = _days(staged, f"= DATE '{first}'")
    sim_features(early, local_offset_h=0)
    state = tmp_path / "state"
    start_state(early, state, local_offset_h=0)
    manifest = json.loads((state / MANIFEST).read_text(encoding="utf-8"))
    manifest["partials"] = ["sim_hour" if p == "sim_activity" else p for p in manifest["partials"]]
    (state / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    day = first + timedelta(days=1)
    with pytest.raises(StateError, match="lacks sim_activity"):
        features_since(_days(staged, f"= DATE '{day}'"), state, since=day)


@settings(max_examples=80, deadline=None)
@given(talks=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4000)), min_size=1, max_size=80))
def test_the_median_talk_time_from_counts_per_duration_is_the_median_of_the_calls(
    talks: list[tuple[int, int]],
) -> None:
    """A SIM's talk times are kept as counts per duration, whatever the days kept; their
    median is read from the counts without a row per call."""
    con = duckdb.connect()
    con.register(
        "_calls", pa.table({"imsi": [f"s{s}" for s, _ in talks], "dur": [d for _, d in talks]})
    )
    con.execute(
        "CREATE TEMP TABLE part_sim_talk AS SELECT imsi, dur, count(*) AS n FROM _calls GROUP BY 1, 2"
    )
    got = con.execute(f"SELECT * FROM ({_TALK_MEDIAN}) ORDER BY imsi").fetchall()
    want = con.execute("SELECT imsi, median(dur) FROM _calls GROUP BY 1 ORDER BY 1").fetchall()
    assert got == want


def test_the_sites_by_hour_are_read_where_they_are_kept_and_give_the_same_farm_like_groups(
    staged: Path, tmp_path: Path
) -> None:
    from qalqan.analytics.farms import FarmLikeSettings, farm_like_groups

    first = _first_day(staged)
    since = first + timedelta(days=2)
    whole = _days(staged, "IS NOT NULL")
    sim_features(whole, local_offset_h=0)
    settings_ = FarmLikeSettings(
        min_sims=2, max_kept_contacts=50, min_callees_per_sim=0.0, max_callback_share=1.0
    )
    want = farm_like_groups(whole, settings_)
    assert want  # the groups read the sites by hour
    early = _days(staged, f"< DATE '{since}'")
    sim_features(early, local_offset_h=0)
    start_state(early, tmp_path / "state", local_offset_h=0)
    daily = _days(staged, f">= DATE '{since}'")
    features_since(daily, tmp_path / "state", since=since)
    views = {name for (name,) in daily.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    assert {f"part_{name}" for name in READ_IN_PLACE} <= views
    assert READ_IN_PLACE <= BY_DAY
    assert farm_like_groups(daily, settings_) == want


def test_the_pairs_of_sims_kept_a_part_a_run_hold_each_pair_once_and_merge_into_a_full_runs(
    staged: Path, tmp_path: Path
) -> None:
    """Who called or texted whom is kept a part a run, each part the pairs first seen in
    its run: over days added one at a time the parts hold every pair of one run, once."""
    first = _first_day(staged)
    whole = _days(staged, "IS NOT NULL")
    sim_features(whole, local_offset_h=0)
    farm_partials(whole)
    early = _days(staged, f"= DATE '{first}'")
    sim_features(early, local_offset_h=0)
    state = tmp_path / "state"
    start_state(early, state, local_offset_h=0)
    for n in (1, 2, 3):
        day = first + timedelta(days=n)
        daily = _days(staged, f"= DATE '{day}'")
        features_since(daily, state, since=day)
    assert BY_FIRST_SEEN and not BY_FIRST_SEEN & BY_DAY
    for partial in KEPT:
        if partial.name not in BY_FIRST_SEEN:
            continue
        assert not (state / f"{partial.name}.parquet").exists()
        parts = sorted((state / partial.name).glob("*.parquet"))
        assert len(parts) == 4
        kept = pa.concat_tables([pq.read_table(p) for p in parts])
        rows = sorted(zip(*(kept[k].to_pylist() for k in partial.keys), strict=True))
        assert len(rows) == len(set(rows))  # each pair once over the parts
        assert rows == _rows(whole, partial.table), partial.name
        assert _rows(daily, partial.table) == _rows(whole, partial.table), partial.name


def test_a_state_keeping_the_pairs_of_sims_whole_as_an_older_version_did_is_read_as_a_first_part(
    staged: Path, tmp_path: Path
) -> None:
    first = _first_day(staged)
    since = first + timedelta(days=2)
    early = _days(staged, f"< DATE '{since}'")
    sim_features(early, local_offset_h=0)
    start_state(early, tmp_path / "state", local_offset_h=0)
    shutil.copytree(tmp_path / "state", tmp_path / "older")
    for name in BY_FIRST_SEEN:  # as an older version kept them: one file, merged
        (tmp_path / "older" / name / f"{first}.parquet").rename(
            tmp_path / "older" / f"{name}.parquet"
        )
        (tmp_path / "older" / name).rmdir()
    got = {}
    for folder in ("state", "older"):
        daily = _days(staged, f">= DATE '{since}'")
        got[folder] = features_since(daily, tmp_path / folder, since=since)
    assert got["older"].equals(got["state"])
    for name in BY_FIRST_SEEN:
        assert not (tmp_path / "older" / f"{name}.parquet").exists()
        parts = sorted(p.name for p in (tmp_path / "older" / name).glob("*.parquet"))
        assert parts == [f"{first}.parquet", f"{since}.parquet"]
