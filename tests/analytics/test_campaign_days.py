"""Campaigns of a daily run: a window of kept fraud calls regrouped, each center keeping its id.

An eight-day operator is analysed over days 1–7 (a full run that starts the kept
campaigns) and over days 1–8, whose day-8 judged calls alone go to the daily run.
The truth of the simulator names the center behind each fraud call, so the tests
ask of the ids what an investigator would: a center working on days 7 and 8 keeps
its id, a center the kept days never saw gets a new one, and a window over every
day groups the calls as a full run does.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.analytics.campaign_days import (
    CAMPAIGN_STATE,
    FRAUD_CALLS,
    MAX_CAMPAIGN_DAYS,
    WINDOW_CALLS,
    CampaignStateError,
    campaigns_of_days,
    continue_ids,
    read_campaign_state,
    start_campaign_days,
)
from qalqan.analytics.campaigns import CALL_CAMPAIGNS, Campaign, assign_campaigns
from qalqan.analytics.evaluate import adjusted_rand_index
from qalqan.analytics.farms import Farm
from qalqan.analytics.money import money_trail
from qalqan.analytics.pipeline import JUDGED_CALLS, Analysis
from qalqan.analytics.staging import stage
from qalqan.analytics.store import AnalysisStore
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate


@dataclass
class Judged:
    """An analysis whose calls are judged, its farms, and a copy of every judged call."""

    con: duckdb.DuckDBPyConnection
    farms: list[Farm]

    def judged_from(self, first: date | None = None, before: date | None = None) -> None:
        """``judged_calls``: the judged calls of the days from ``first`` and before ``before``."""
        where = ["true"]
        if first is not None:
            where.append(f"CAST(t AS DATE) >= DATE '{first}'")
        if before is not None:
            where.append(f"CAST(t AS DATE) < DATE '{before}'")
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {JUDGED_CALLS} AS SELECT * FROM _all_judged "
            f"WHERE {' AND '.join(where)}"
        )

    def campaign_of(self) -> dict[str, str]:
        return dict(self.con.execute(f"SELECT * FROM {CALL_CAMPAIGNS}").fetchall())

    def day_of(self) -> dict[str, date]:
        return dict(
            self.con.execute(
                "SELECT record_id, CAST(t AS DATE) FROM _all_judged "
                "WHERE verdict IN ('fraud', 'spoofed')"
            ).fetchall()
        )


@dataclass
class Operator:
    root: Path
    first_day: date
    center_of: dict[str, str]
    """The true center behind each fraud call."""
    early: Judged
    """Days 1–7 judged."""
    whole: Judged
    """Days 1–8 judged."""

    @property
    def day8(self) -> date:
        return self.first_day + timedelta(days=7)


def _judged(staged: Path, folder: Path, before: date | None, stores: list[AnalysisStore]) -> Judged:
    """The analysis of the staged days before ``before``, its calls judged (no models: rules)."""
    folder.mkdir()
    for path in staged.iterdir():
        if path.name != "cdrs.parquet":
            (folder / path.name).symlink_to(path)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    where = "true" if before is None else f"CAST(start_time AS DATE) < DATE '{before}'"
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{staged / 'cdrs.parquet'}') WHERE {where}) "
        f"TO '{folder / 'cdrs.parquet'}' (FORMAT parquet)"
    )
    con.close()
    store = AnalysisStore.open(folder)
    stores.append(store)
    analysis = Analysis(store)
    analysis.prepare()
    sims, farms = analysis.judge_sims()
    analysis.record_judged_calls(sims)
    store.con.execute(f"CREATE TEMP TABLE _all_judged AS SELECT * FROM {JUDGED_CALLS}")
    return Judged(con=store.con, farms=farms)


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    root = tmp_path_factory.mktemp("campaign_days")
    simulate(root / "data", Scenario(subscribers=1500, days=8, seed=77, start=date(2026, 3, 4)))
    stage(root / "data", root / "staged", quarantine_dir=root / "q")
    labels = pcsv.read_csv(root / "data" / "truth" / "labels.csv").to_pylist()
    center_of = {
        str(r["id"]): str(r["group"])
        for r in labels
        if r["kind"] == "call" and r["label"] == "fraud"
    }
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    [(first,)] = con.execute(
        f"SELECT min(CAST(start_time AS DATE)) FROM read_parquet('{root / 'staged' / 'cdrs.parquet'}')"
    ).fetchall()
    stores: list[AnalysisStore] = []
    early = _judged(root / "staged", root / "early", first + timedelta(days=7), stores)
    whole = _judged(root / "staged", root / "whole", None, stores)
    yield Operator(root=root, first_day=first, center_of=center_of, early=early, whole=whole)
    for store in stores:
        store.close()


def _start(
    judged: Judged,
    folder: Path,
    *,
    days: int,
    leave_out: str | None = None,
    center_of: dict[str, str] | None = None,
) -> list[Campaign]:
    """A full run's campaigns over ``judged_calls`` kept in ``folder`` (``leave_out``: a center
    whose calls the full run never judged)."""
    if leave_out is not None and center_of is not None:
        gone = [r for r, c in center_of.items() if c == leave_out]
        judged.con.execute(f"DELETE FROM {JUDGED_CALLS} WHERE list_contains(?, record_id)", [gone])
    campaigns = assign_campaigns(judged.con, JUDGED_CALLS, judged.farms)
    start_campaign_days(judged.con, folder, campaigns, days=days)
    return campaigns


def _majority(
    calls: dict[str, str], center_of: dict[str, str], day_of: dict[str, date], day: date
) -> dict[str, str]:
    """Each true center's campaign on ``day``: the one holding most of its fraud calls that day."""
    votes: dict[str, Counter[str]] = {}
    for record_id, campaign in calls.items():
        center = center_of.get(record_id)
        if center and day_of.get(record_id) == day:
            votes.setdefault(center, Counter())[campaign] += 1
    return {c: v.most_common(1)[0][0] for c, v in votes.items()}


def test_a_center_working_on_days_seven_and_eight_keeps_its_id(
    operator: Operator, tmp_path: Path
) -> None:
    early, whole = operator.early, operator.whole
    early.judged_from()
    _start(early, tmp_path, days=7)
    day7 = _majority(
        early.campaign_of(), operator.center_of, early.day_of(), operator.day8 - timedelta(days=1)
    )
    whole.judged_from(first=operator.day8)
    campaigns = campaigns_of_days(whole.con, whole.farms, tmp_path, since=operator.day8)
    day8 = _majority(whole.campaign_of(), operator.center_of, whole.day_of(), operator.day8)
    both = sorted(set(day7) & set(day8))
    assert len(both) >= 3, (day7, day8)
    assert {c: day8[c] for c in both} == {c: day7[c] for c in both}
    assert {c.campaign_id for c in campaigns} >= set(day8.values())
    # every new-day fraud call has its campaign, and no other call
    new_fraud = {r for r, d in whole.day_of().items() if d >= operator.day8}
    assert set(whole.campaign_of()) == new_fraud


def test_a_center_the_kept_days_never_saw_gets_a_new_id(operator: Operator, tmp_path: Path) -> None:
    early, whole = operator.early, operator.whole
    centers = Counter(operator.center_of.values())
    unseen = sorted(c for c in centers if c.startswith("cc-"))[0]
    early.judged_from()
    kept = _start(early, tmp_path, days=7, leave_out=unseen, center_of=operator.center_of)
    last = read_campaign_state(tmp_path).last_number
    assert last == len(kept)
    whole.judged_from(first=operator.day8)
    campaigns_of_days(whole.con, whole.farms, tmp_path, since=operator.day8)
    day8 = _majority(whole.campaign_of(), operator.center_of, whole.day_of(), operator.day8)
    assert unseen in day8
    assert day8[unseen] not in {c.campaign_id for c in kept}
    assert int(day8[unseen][1:]) > last
    assert read_campaign_state(tmp_path).last_number >= int(day8[unseen][1:])


def test_the_days_beyond_the_window_are_dropped(operator: Operator, tmp_path: Path) -> None:
    early, whole = operator.early, operator.whole
    early.judged_from()
    _start(early, tmp_path, days=3)
    day = operator.day8
    kept = sorted(p.stem for p in (tmp_path / FRAUD_CALLS).glob("*.parquet"))
    assert kept == [str(day - timedelta(days=2)), str(day - timedelta(days=1))]
    day7 = tmp_path / FRAUD_CALLS / f"{day - timedelta(days=1)}.parquet"
    given_on_day7 = pq.read_table(day7)
    whole.judged_from(first=day)
    campaigns_of_days(whole.con, whole.farms, tmp_path, since=day, days=3)
    # a kept call keeps the id it was given on its day, whatever the later window made of it
    assert pq.read_table(day7).equals(given_on_day7)
    kept = sorted(p.stem for p in (tmp_path / FRAUD_CALLS).glob("*.parquet"))
    assert kept == [str(day - timedelta(days=1)), str(day)]
    # the window was days 6-8; each kept call holds the campaign it was given on its day
    window = whole.con.execute("SELECT min(CAST(t AS DATE)) FROM fraud_calls").fetchall()[0][0]
    assert window == day - timedelta(days=2)
    given = whole.campaign_of()
    newest = pq.read_table(tmp_path / FRAUD_CALLS / f"{day}.parquet")
    assert (
        dict(zip(*newest.select(["record_id", "campaign_id"]).to_pydict().values(), strict=True))
        == given
    )
    assert read_campaign_state(tmp_path).last_day == day


def test_a_window_over_every_day_groups_the_calls_as_a_full_run(
    operator: Operator, tmp_path: Path
) -> None:
    whole, day = operator.whole, operator.day8
    whole.judged_from()
    full = assign_campaigns(whole.con, JUDGED_CALLS, whole.farms)
    full_of = whole.campaign_of()
    whole.judged_from(before=day)
    assign_campaigns(whole.con, JUDGED_CALLS, whole.farms)
    # a farm's id is the run's own: the run that kept these calls named the farms otherwise
    whole.con.execute(f"UPDATE {JUDGED_CALLS} SET farm_id = 'then-' || farm_id")
    start_campaign_days(whole.con, tmp_path, [], days=8)
    whole.judged_from(first=day)
    # the call records of the kept days are gone: their calls' durations are kept with them
    whole.con.execute(
        f"CREATE OR REPLACE TEMP VIEW _new_cdrs AS SELECT * FROM cdrs WHERE CAST(start_time AS DATE) >= DATE '{day}'"
    )
    daily = campaigns_of_days(whole.con, whole.farms, tmp_path, since=day, days=8, cdrs="_new_cdrs")
    window_of = dict(
        whole.con.execute("SELECT f.record_id, f.group_no FROM fraud_calls f").fetchall()
    )
    assert set(window_of) == set(full_of)
    ids = sorted(full_of)
    assert adjusted_rand_index([full_of[i] for i in ids], [str(window_of[i]) for i in ids]) == 1.0
    assert sorted(c.n_calls for c in daily) == sorted(c.n_calls for c in full)
    assert sorted(c.kind for c in daily) == sorted(c.kind for c in full)
    assert sorted(c.farm_ids for c in daily) == sorted(c.farm_ids for c in full)


def test_a_flood_of_kept_calls_leaves_the_oldest_days_out(
    operator: Operator, tmp_path: Path
) -> None:
    early, whole, day = operator.early, operator.whole, operator.day8
    early.judged_from()
    _start(early, tmp_path, days=7)
    newest = pq.ParquetFile(tmp_path / FRAUD_CALLS / f"{day - timedelta(days=1)}.parquet")
    whole.judged_from(first=day)
    campaigns_of_days(
        whole.con, whole.farms, tmp_path, since=day, max_kept_calls=newest.metadata.num_rows
    )
    days = {
        d
        for (d,) in whole.con.execute("SELECT DISTINCT CAST(t AS DATE) FROM fraud_calls").fetchall()
    }
    assert days == {day - timedelta(days=1), day}
    new_fraud = {r for r, d in whole.day_of().items() if d >= day}
    assert set(whole.campaign_of()) == new_fraud


def test_bad_windows_and_states_are_refused_with_the_reason(
    operator: Operator, tmp_path: Path
) -> None:
    early, whole, day = operator.early, operator.whole, operator.day8
    for days in (0, MAX_CAMPAIGN_DAYS + 1):
        with pytest.raises(CampaignStateError, match="--campaign-days"):
            start_campaign_days(early.con, tmp_path, [], days=days)
    with pytest.raises(CampaignStateError, match="missing"):
        campaigns_of_days(whole.con, whole.farms, tmp_path, since=day)
    early.judged_from()
    _start(early, tmp_path, days=7)
    with pytest.raises(CampaignStateError, match="counted twice"):
        campaigns_of_days(whole.con, whole.farms, tmp_path, since=day - timedelta(days=1))
    with pytest.raises(CampaignStateError, match="left out"):
        campaigns_of_days(whole.con, whole.farms, tmp_path, since=day + timedelta(days=1))
    (tmp_path / FRAUD_CALLS / "notes.parquet").write_bytes(b"")
    with pytest.raises(CampaignStateError, match=r"notes\.parquet"):
        campaigns_of_days(whole.con, whole.farms, tmp_path, since=day)
    (tmp_path / FRAUD_CALLS / "notes.parquet").unlink()
    day7 = tmp_path / FRAUD_CALLS / f"{day - timedelta(days=1)}.parquet"
    kept = day7.read_bytes()
    day7.write_bytes(b"not parquet")
    with pytest.raises(CampaignStateError, match=day7.name):
        campaigns_of_days(whole.con, whole.farms, tmp_path, since=day)
    pq.write_table(pq.read_table(pa.BufferReader(kept)).drop_columns(["t"]), day7)
    with pytest.raises(CampaignStateError, match=day7.name):
        campaigns_of_days(whole.con, whole.farms, tmp_path, since=day)
    (tmp_path / CAMPAIGN_STATE).write_text(json.dumps({"last_day": "someday"}))
    with pytest.raises(CampaignStateError, match=CAMPAIGN_STATE):
        campaigns_of_days(whole.con, whole.farms, tmp_path, since=day)


_IDS = st.sampled_from([f"C{n:04d}" for n in range(1, 9)])


@settings(max_examples=200, deadline=None)
@given(
    found=st.lists(_IDS, unique=True, max_size=8),
    calls=st.dictionaries(st.tuples(_IDS, _IDS), st.integers(0, 5), max_size=20),
    marks=st.dictionaries(st.tuples(_IDS, _IDS), st.integers(0, 5), max_size=20),
    last=st.integers(8, 20),
)
def test_ids_go_on_one_to_one_and_fresh_ones_after_the_highest_given(
    found: list[str],
    calls: dict[tuple[str, str], int],
    marks: dict[tuple[str, str], int],
    last: int,
) -> None:
    ids, after = continue_ids(found, calls, marks, last_number=last)
    assert set(ids) == set(found)
    assert len(set(ids.values())) == len(found)  # one to one
    fresh = sorted(int(i[1:]) for i in ids.values() if int(i[1:]) > last)
    assert fresh == list(range(last + 1, after + 1))
    for f, i in ids.items():  # a kept id goes on only where calls or marks are shared
        if int(i[1:]) <= last:
            assert calls.get((f, i), 0) > 0 or marks.get((f, i), 0) > 0
    # the pair sharing most calls always goes on, whatever else is shared
    best = max(
        ((n, f, o) for (f, o), n in calls.items() if n > 0 and f in found),
        key=lambda p: (p[0], -found.index(p[1]), -int(p[2][1:])),
        default=None,
    )
    if best is not None:
        assert ids[best[1]] == best[2]


def test_a_day_without_fraud_calls_moves_the_state_on(operator: Operator, tmp_path: Path) -> None:
    early, whole, day = operator.early, operator.whole, operator.day8
    early.judged_from()
    kept = _start(early, tmp_path, days=7)
    whole.judged_from(first=day)
    whole.con.execute(f"DELETE FROM {JUDGED_CALLS} WHERE verdict IN ('fraud', 'spoofed')")
    campaigns = campaigns_of_days(whole.con, whole.farms, tmp_path, since=day)
    assert campaigns and whole.campaign_of() == {}
    assert not (tmp_path / FRAUD_CALLS / f"{day}.parquet").exists()
    state = read_campaign_state(tmp_path)
    assert state.last_day == day and state.last_number >= len(kept)


def test_a_daily_runs_money_trail_ties_payments_to_the_kept_days_calls(
    operator: Operator, tmp_path: Path
) -> None:
    early, whole = operator.early, operator.whole
    early.judged_from()
    _start(early, tmp_path, days=7)
    whole.judged_from(first=operator.day8)
    campaigns = campaigns_of_days(whole.con, whole.farms, tmp_path, since=operator.day8)

    def tied() -> dict[str, tuple[str, str]]:
        rows = whole.con.execute(
            "SELECT payment_id, called_by, call_record FROM money_transfers "
            "WHERE called_by IS NOT NULL"
        ).fetchall()
        return {p: (c, r) for p, c, r in rows}

    money_trail(whole.con, campaigns)
    new_days_only = tied()
    money_trail(whole.con, campaigns, calls=WINDOW_CALLS)
    window = tied()
    day_of = whole.day_of()
    # a victim talked to on a kept day and paying on the new one is seen only through the window
    earlier = {p for p, (_, record) in window.items() if day_of[record] < operator.day8}
    assert earlier and not earlier & set(new_days_only)
    # what the new days' calls tie, the window ties the same
    assert {p: window[p] for p in new_days_only} == new_days_only
    # each tied payment's campaign is the one its call was given
    campaign_of = dict(whole.con.execute(f"SELECT * FROM {WINDOW_CALLS.campaigns}").fetchall())
    assert all(campaign_of[record] == campaign for campaign, record in window.values())
