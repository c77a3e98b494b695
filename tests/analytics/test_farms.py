"""Farms that live like people: found whole as a group, and followed as they move."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from qalqan.analytics.farms import MAX_CLIQUE, farm_like_groups, find_farms
from qalqan.analytics.features import sim_features
from qalqan.analytics.output import write_farms
from qalqan.screening.config import YOUNG_SIM_DAYS, load_config
from qalqan.screening.reputation import ReputationLists

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
SITES = {"S1": (43.25, 76.95), "S2": (43.30, 76.90), "S3": (51.13, 71.43)}


class Network:
    """A hand-made operator: subscribers, cells and the call records given."""

    def __init__(self) -> None:
        self.subs: list[dict[str, Any]] = []
        self.cdrs: list[dict[str, Any]] = []

    def sim(self, n: int, *, young: bool, prefix: str = "70") -> tuple[str, str]:
        imsi, number = f"4017{prefix}{n:09d}", f"+77{prefix}{n:08d}"
        activated = date(2026, 2, 10) if young else date(2019, 5, 1)
        self.subs.append(
            {"imsi": imsi, "msisdn": number, "activated": activated, "plan": "prepaid",
             "birth_year": 1980, "owner_id": f"P{prefix}{n}"}
        )  # fmt: skip
        return imsi, number

    def event(
        self, t: datetime, a: tuple[str, str] | str, b: tuple[str, str] | str, *,
        site: str = "S1", sms: bool = False, imei: str | None = None,
    ) -> None:  # fmt: skip
        """``imei``: the caller's handset (by default one of its own)."""
        a_imsi, a_number = a if isinstance(a, tuple) else (None, a)
        b_imsi, b_number = b if isinstance(b, tuple) else (None, b)
        if a_imsi and imei is None:
            imei = f"35{abs(hash(a_imsi)) % 10**12:013d}"
        self.cdrs.append(
            {"record_id": f"r{len(self.cdrs)}", "start_time": t, "duration_s": 0 if sms else 40,
             "event": "sms" if sms else "voice", "result": "answered", "a_number": a_number,
             "b_number": b_number, "ingress": "mobile" if a_imsi else "national:opB",
             "a_imsi": a_imsi, "a_imei": imei,
             "a_cell": f"{site}-1" if a_imsi else None, "b_imsi": b_imsi}
        )  # fmt: skip

    def connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        cells = [
            {"cell_id": f"{s}-1", "site_id": s, "lat": lat, "lon": lon}
            for s, (lat, lon) in SITES.items()
        ]
        for name, rows in (("cdrs", self.cdrs), ("subscribers", self.subs), ("cells", cells)):
            con.register(f"_{name}", pa.Table.from_pylist(rows))
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM _{name}")
            con.unregister(f"_{name}")
        sim_features(con, local_offset_h=5)
        return con


def mimic_farm(
    net: Network,
    *,
    sims: int = 6,
    kept_contacts: int = 0,
    first: int = 0,
    stays: tuple[tuple[int, str], ...] = ((0, "S1"), (4, "S2"), (8, "S1")),
) -> list[tuple[str, str]]:
    """Young SIMs that text each other, call strangers and get call-backs, moving S1 → S2 → S1.

    ``kept_contacts``: people beyond the farm each SIM calls twice (a life of its own).
    """
    farm = [net.sim(first + i, young=True) for i in range(sims)]
    stranger = 1000 * first
    for hour, site in stays:
        for k, me in enumerate(farm):
            t = T0 + timedelta(hours=hour, minutes=5 * k)
            net.event(t, me, farm[(k + 1) % sims], site=site, sms=True)
            net.event(t + timedelta(minutes=1), me, farm[(k + 2) % sims], site=site)
            for _ in range(2):
                stranger += 1
                net.event(t + timedelta(minutes=2), me, f"+7747{stranger:07d}", site=site)
            net.event(t + timedelta(hours=2), f"+7750{stranger:07d}", me)  # someone calls back
    for k, me in enumerate(farm):
        for j in range(kept_contacts):
            friend = f"+7771{k:03d}{j:04d}"
            for d in range(2):
                net.event(T0 + timedelta(days=1 + d, minutes=k), me, friend, site="S3")
    return farm


def test_young_sims_that_live_only_among_themselves_are_found_whole() -> None:
    net = Network()
    farm = mimic_farm(net)
    con = net.connect()
    assert farm_like_groups(con) == [sorted(imsi for imsi, _ in farm)]


def test_young_sims_with_lives_of_their_own_are_no_farm() -> None:
    """A family's new SIMs call each other too, but each keeps in touch with people beyond."""
    net = Network()
    mimic_farm(net, kept_contacts=2)
    assert farm_like_groups(net.connect()) == []


def test_old_sims_are_never_a_farm_like_group() -> None:
    net = Network()
    people = [net.sim(i, young=False, prefix="71") for i in range(6)]
    for k, me in enumerate(people):
        for j in range(3):
            net.event(T0 + timedelta(minutes=k * 10 + j), me, people[(k + 1 + j) % 6], sms=True)
            net.event(T0 + timedelta(minutes=k * 10 + j), me, f"+7747{k:03d}{j:04d}")
    assert farm_like_groups(net.connect()) == []


def test_two_farms_of_one_center_that_once_called_each_other_stay_two() -> None:
    """A center dialling numbers at random rings one of its other farm's SIMs now and then."""
    net = Network()
    one = mimic_farm(net)
    other = mimic_farm(net, first=100, stays=((0, "S3"), (6, "S3")))
    net.event(T0 + timedelta(hours=1), one[0], other[0])
    con = net.connect()
    scores = {imsi: 0.0 for (imsi,) in con.execute("SELECT imsi FROM sim_out").fetchall()}
    farms, _ = find_farms(con, scores)
    assert sorted(sorted(f.imsis) for f in farms) == sorted(
        [sorted(i for i, _ in one), sorted(i for i, _ in other)]
    )


def test_a_farm_found_as_a_group_has_its_track_in_time_order() -> None:
    net = Network()
    farm = mimic_farm(net)
    con = net.connect()
    scores = {imsi: 0.0 for (imsi,) in con.execute("SELECT imsi FROM sim_out").fetchall()}
    farms, membership = find_farms(con, scores)
    assert len(farms) == 1 and set(membership) == {imsi for imsi, _ in farm}
    track = farms[0].track
    assert [s.site for s in track] == ["S1", "S2", "S1"]
    assert [s.sims for s in track] == [6, 6, 6]
    assert all(a.last < b.first for a, b in pairwise(track))
    assert track[1].first == T0 + timedelta(hours=4)
    assert (track[1].lat, track[1].lon) == pytest.approx(SITES["S2"])
    first = track[0].as_dict()
    assert first["site"] == "S1" and first["first"] == "2026-03-02T06:00:00Z"
    # The best single place stays the site that carried most calls.
    assert farms[0].sites[0] == "S1" and (farms[0].lat, farms[0].lon) == pytest.approx(SITES["S1"])


def _channel(net: Network, *, sims: int, first: int, imei: str) -> list[tuple[str, str]]:
    """A SIM box's channel at S1: young SIMs passing one after another through one modem."""
    channel = [net.sim(first + i, young=True) for i in range(sims)]
    for k, me in enumerate(channel):
        for j in range(3):
            t = T0 + timedelta(hours=k, minutes=10 * j)
            net.event(t, me, f"+7747{first + k:03d}{j:04d}", imei=imei)
    return channel


def test_a_phone_whose_imei_a_modem_copies_is_no_part_of_the_farm(tmp_path: Path) -> None:
    """A box's modem may carry a real phone's IMEI; the phone, in another city, is two
    handsets away from the box, while a SIM that passed through the modem at the box's
    site belongs to it however little it did."""
    imei = "353456789012345"
    net = Network()
    channel = _channel(net, sims=6, first=0, imei=imei)
    phone = net.sim(50, young=False, prefix="71")  # its owner's handset, in Astana
    for d in range(3):
        net.event(T0 + timedelta(days=d, hours=3), phone, "+77715550000", site="S3", imei=imei)
    passed = net.sim(60, young=True)  # one call through the modem, at the box
    net.event(T0 + timedelta(hours=8), passed, "+77475550000", imei=imei)
    con = net.connect()
    scores = {imsi: 0.0 for (imsi,) in con.execute("SELECT imsi FROM sim_out").fetchall()}
    scores.update({imsi: 0.9 for imsi, _ in channel})
    farms, membership = find_farms(con, scores)
    assert [sorted(f.imsis) for f in farms] == [sorted([i for i, _ in channel] + [passed[0]])]
    assert phone[0] not in membership
    assert farms[0].evidence["shared_imei"] >= 1
    # the box's modem, but the phone's IMEI too: told apart, so that no list stops the phone
    assert imei in farms[0].imeis and farms[0].shared_imeis == [imei]
    write_farms(tmp_path, farms)
    lists = ReputationLists()
    lists.load_analysis(tmp_path)
    assert imei not in lists.imeis and lists.cells
    # nor when its owner's calls make it a suspect of its own: one IMEI, two places
    farms, membership = find_farms(con, {**scores, phone[0]: 0.3})
    assert phone[0] not in membership and len(farms) == 1
    # the same phone standing at the box's site on one of those days is one handset with it
    net.event(T0 + timedelta(hours=9), phone, "+77715550000", site="S1", imei=imei)
    farms, membership = find_farms(net.connect(), scores)
    assert membership.get(phone[0]) == farms[0].farm_id
    assert farms[0].shared_imeis == []


def test_a_key_that_thousands_of_suspects_share_links_them_in_a_chain() -> None:
    """What the other side controls, pushed: more suspect SIMs than :data:`MAX_CLIQUE` in one
    handset at one site, activated together, on one owner's name, at one site on one day and
    dialling one number. Pair by pair they would be up to 18 million pairs of a kind; linked
    in a chain they are one farm, every SIM in it, with a link a SIM of each kind."""
    sims = MAX_CLIQUE + 1_000
    net = Network()
    farm = [net.sim(i, young=True) for i in range(sims)]
    for sub in net.subs:
        sub["owner_id"] = "P-straw"
    for k, me in enumerate(farm):
        net.event(T0 + timedelta(seconds=3 * k), me, "+77470000000", imei="353456789012345")
    con = net.connect()
    farms, membership = find_farms(con, {imsi: 0.9 for imsi, _ in farm})
    assert len(farms) == 1 and len(membership) == sims
    links = sims - 1
    assert {kind: farms[0].evidence[kind] for kind in
            ("shared_imei", "activation_batch", "same_owner", "same_site_day", "shared_victims")
            } == dict.fromkeys(
            ("shared_imei", "activation_batch", "same_owner", "same_site_day", "shared_victims"), links
    )  # fmt: skip


def test_youth_is_the_screening_settings_one_definition() -> None:
    assert load_config(None).young_sim_days == YOUNG_SIM_DAYS
    net = Network()
    net.sim(1, young=True)  # activated 20 days before its first call
    me = net.subs[0]["imsi"], net.subs[0]["msisdn"]
    net.event(T0, me, "+77470000001")
    con = net.connect()
    assert con.execute("SELECT young FROM sim_age").fetchall() == [(True,)]
    sim_features(con, local_offset_h=5, young_sim_days=10)
    assert con.execute("SELECT young FROM sim_age").fetchall() == [(False,)]
