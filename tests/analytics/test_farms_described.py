"""Farms described together: each keeps its own handsets, places, span and track."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.analytics.farms import TRACK_DAYS, _track_first_day, find_farms
from tests.analytics.test_farms import SITES, T0, Network, mimic_farm


def test_two_farms_working_at_the_same_hours_keep_their_own_tracks() -> None:
    """Their calls interleave in time; each farm's stays, sites and handsets are its own."""
    net = Network()
    moving = mimic_farm(net)  # S1 -> S2 -> S1
    resting = mimic_farm(net, first=100, stays=((0, "S3"), (4, "S3"), (8, "S3")))
    con = net.connect()
    scores = {imsi: 0.0 for (imsi,) in con.execute("SELECT imsi FROM sim_out").fetchall()}
    farms, membership = find_farms(con, scores)
    by_members = {frozenset(f.imsis): f for f in farms}
    one = by_members[frozenset(i for i, _ in moving)]
    other = by_members[frozenset(i for i, _ in resting)]
    assert [s.site for s in one.track] == ["S1", "S2", "S1"]
    assert [s.site for s in other.track] == ["S3"]
    assert other.track[0].sims == 6 and other.sites == ["S3"]
    assert (other.lat, other.lon) == pytest.approx(SITES["S3"])
    assert [s.first for s in one.track] == [T0 + timedelta(hours=h) for h in (0, 4, 8)]
    assert one.first_seen == T0 and one.last_seen == T0 + timedelta(hours=8, minutes=27)
    assert not set(one.imeis) & set(other.imeis) and len(one.imeis) == 6
    assert set(membership.values()) == {one.farm_id, other.farm_id}


def test_a_farm_keeps_its_latest_stays_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the most stays a track keeps, the earliest go: the latest tell where it is now."""
    import qalqan.analytics.farms as farms_module

    monkeypatch.setattr(farms_module, "MAX_STAYS", 2)
    net = Network()
    mimic_farm(net)
    mimic_farm(net, first=100, stays=((0, "S3"), (4, "S3"), (8, "S3")))
    con = net.connect()
    scores = {imsi: 0.0 for (imsi,) in con.execute("SELECT imsi FROM sim_out").fetchall()}
    farms, _ = find_farms(con, scores)
    tracks = {len(f.track): [s.site for s in f.track] for f in farms}
    assert tracks == {2: ["S2", "S1"], 1: ["S3"]}


def test_a_track_is_of_the_farms_last_days_and_the_rest_of_every_day() -> None:
    """The stays are those of a farm's last TRACK_DAYS days, the first of them from its
    midnight (where the equipment stood lately); its sites, handsets and span are of every
    day. A farm gone quiet long before keeps the track of its own last days."""
    net = Network()
    days = TRACK_DAYS + 6
    out, first_in = 24 * (days - TRACK_DAYS), 24 * (days - TRACK_DAYS + 1)
    moving = mimic_farm(net, stays=((0, "S1"), (out, "S2"), (first_in, "S3"), (24 * days, "S1")))
    quiet = mimic_farm(net, first=100, stays=((0, "S3"), (30, "S2")))
    con = net.connect()
    scores = {imsi: 0.0 for (imsi,) in con.execute("SELECT imsi FROM sim_out").fetchall()}
    farms, _ = find_farms(con, scores)
    by_members = {frozenset(f.imsis): f for f in farms}
    found = by_members[frozenset(i for i, _ in moving)]
    assert [s.site for s in found.track] == ["S3", "S1"]
    assert found.track[0].first == T0 + timedelta(hours=first_in)
    assert sorted(found.sites) == ["S1", "S2", "S3"] and found.sites[0] == "S1"
    assert found.first_seen == T0 and len(found.imeis) == 6
    gone = by_members[frozenset(i for i, _ in quiet)]
    assert [s.site for s in gone.track] == ["S3", "S2"]
    assert gone.last_seen < T0 + timedelta(days=2)


@given(last_day=st.integers(-(10**7), 10**7))
def test_the_tracks_first_day_is_a_date_whatever_the_last_call(last_day: int) -> None:
    """Times the data holds may be of any year; the first day of a track's window is
    TRACK_DAYS - 1 days before the last, kept within the years a date can be."""
    first = date.fromisoformat(_track_first_day(last_day))
    epoch = date(1970, 1, 1)
    days = last_day - (TRACK_DAYS - 1)
    if (date.min - epoch).days <= days <= (date.max - epoch).days:
        assert (first - epoch).days == days
    else:
        assert first == (date.min if days < 0 else date.max)
