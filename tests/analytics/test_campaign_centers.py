"""Campaigns whole: a call center's routes and farms are one campaign, two centers are two.

Small synthetic operators, built call by call, go straight to :func:`group_campaigns`
over a DuckDB connection holding the tables it reads (subscribers, call records'
durations, complaints): each test says which mechanism it pins.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from qalqan.analytics.campaigns import Campaign, group_campaigns
from qalqan.analytics.evaluate import adjusted_rand_index

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
POPULATION = 20_000


@dataclass
class Operator:
    """Fraud calls as the batch analysis judged them, with the truth of who made each."""

    rng: np.random.Generator
    calls: list[dict[str, object]] = field(default_factory=list)
    durations: dict[str, int] = field(default_factory=dict)
    truth: dict[str, str] = field(default_factory=dict)
    reports: list[dict[str, object]] = field(default_factory=list)
    farm_calls: set[str] = field(default_factory=set)

    def people(self, k: int) -> np.ndarray:
        return self.rng.choice(POPULATION, size=k, replace=False)

    def add(
        self, who: str, t: datetime, route: str, caller: str | None, victim: int, **extra: object
    ) -> str:
        rid = f"r{len(self.calls)}"
        rule = extra.pop("rule", "spoofed_cli.domestic_from_abroad")
        self.calls.append(
            {
                "record_id": rid, "t": t, "ingress": route, "a_number": caller,
                "b_number": f"+7701{victim:07d}", "farm_id": extra.get("farm_id"),
                "imsi": extra.get("imsi"), "verdict": "fraud" if route == "mobile" else "spoofed",
                "reasons": f"{rule}: synthetic",
                "reason_facts": json.dumps([{"rule": rule, "key": rule, "facts": {}}]),
            }
        )  # fmt: skip
        self.durations[rid] = int(extra.get("duration", 30))  # type: ignore[call-overload]
        self.truth[rid] = who
        return rid

    def center(
        self,
        who: str,
        *,
        offset: int,
        start: int,
        routes: dict[str, float],
        days: int = 4,
        per_day: int = 160,
        category: str = "bank_security",
        days_off: tuple[int, ...] = (6,),
    ) -> None:
        """A call center abroad: nine office hours with lunch at 13:00 local, victims drawn in and called back."""
        names = list(routes)
        weights = np.array([routes[n] for n in names])
        hooked: list[int] = []
        farm_sims = [f"25001{who}{i:04d}" for i in range(40)]
        for day in range(days):
            if (START + timedelta(days=day)).weekday() in days_off:
                continue
            hours = [h for h in range(start, start + 9) if h != 13]
            victims = list(self.people(per_day)) + hooked[-6:] * 2
            for k, victim in enumerate(victims):
                local = int(self.rng.choice(hours))
                t = START + timedelta(
                    days=day, hours=local - offset, seconds=int(self.rng.integers(0, 3600))
                )
                route = names[int(self.rng.choice(len(names), p=weights / weights.sum()))]
                follow = k >= per_day
                long_call = follow or self.rng.random() < 0.04
                duration = (
                    int(self.rng.integers(300, 1500))
                    if long_call
                    else int(self.rng.integers(5, 60))
                )
                if long_call and not follow:
                    hooked.append(int(victim))
                if route.startswith("farm:"):
                    sim = str(self.rng.choice(farm_sims))
                    rid = self.add(who, t, "mobile", f"+7705{sim[-7:]}", int(victim),
                                   farm_id=route[5:], imsi=sim, duration=duration, rule="simbox.call")  # fmt: skip
                    self.farm_calls.add(rid)
                elif route.startswith("voip:"):
                    # a dialer presenting a random domestic number each call
                    caller = f"+77{int(self.rng.integers(10**8, 10**9 - 1))}"
                    self.add(who, t, route, caller, int(victim), duration=duration)
                else:
                    caller = f"+7701{int(self.rng.integers(0, 10**7)):07d}"
                    self.add(who, t, route, caller, int(victim), duration=duration)
                if long_call and self.rng.random() < 0.3:
                    self.reports.append(
                        {"report_id": f"p{len(self.reports)}", "time": t + timedelta(hours=5),
                         "reporter": f"+7701{int(victim):07d}", "reported_number": None,
                         "category": category}
                    )  # fmt: skip

    def wangiri(self, who: str, *, base: int, span: int, days: int = 4) -> None:
        """One-ring bursts from numbers scattered over one foreign range, one or two a day."""
        pool = base + self.rng.choice(span, size=60, replace=False)
        for day in range(days):
            for _ in range(int(self.rng.integers(1, 3))):
                begin = START + timedelta(days=day, seconds=int(self.rng.integers(0, 80_000)))
                numbers = self.rng.choice(pool, size=int(self.rng.integers(15, 60)), replace=False)
                for victim in self.people(400):
                    t = begin + timedelta(seconds=int(self.rng.integers(0, 1800)))
                    route = str(
                        self.rng.choice(
                            ["international:w1", "international:w2", "international:w3"]
                        )
                    )
                    self.add(who, t, route, f"+{int(self.rng.choice(numbers))}", int(victim),
                             rule="wangiri.burst", duration=0)  # fmt: skip

    def group(self) -> tuple[dict[str, str], list[Campaign]]:
        con = duckdb.connect()
        try:
            subs = pa.table({"imsi": ["0"], "msisdn": ["+77010000000"]})
            con.register("_subs", subs)
            con.execute(
                f"CREATE TABLE subscribers AS SELECT * FROM _subs, range({POPULATION}) LIMIT {POPULATION}"
            )
            con.register(
                "_cdrs",
                pa.table(
                    {"record_id": list(self.durations), "duration_s": list(self.durations.values())}
                ),
            )
            con.execute("CREATE TABLE cdrs AS SELECT * FROM _cdrs")
            reports = pa.Table.from_pylist(
                self.reports,
                schema=pa.schema([("report_id", pa.string()), ("time", pa.timestamp("us", "UTC")),
                                  ("reporter", pa.string()), ("reported_number", pa.string()),
                                  ("category", pa.string()), ("text", pa.string())]),
            )  # fmt: skip
            con.register("_reports", reports)
            con.execute("CREATE TABLE reports AS SELECT * FROM _reports")
            calls = pa.Table.from_pylist(sorted(self.calls, key=lambda c: (c["t"], c["record_id"])))  # type: ignore[arg-type, return-value]
            out, campaigns = group_campaigns(con, calls, [])
            found = dict(
                zip(
                    out.column("record_id").to_pylist(),
                    out.column("campaign_id").to_pylist(),
                    strict=True,
                )
            )
            return {r: found[r] or "none" for r in self.truth}, campaigns
        finally:
            con.close()

    def ari(self, found: dict[str, str]) -> float:
        ids = sorted(self.truth)
        return adjusted_rand_index([self.truth[i] for i in ids], [found[i] for i in ids])


@pytest.fixture
def operator() -> Iterator[Operator]:
    yield Operator(rng=np.random.default_rng(10))


def campaigns_of(op: Operator, found: dict[str, str], who: str) -> set[str]:
    return {found[r] for r, w in op.truth.items() if w == who}


def test_a_center_dialling_over_a_voip_trunk_and_a_farm_is_one_campaign(operator: Operator) -> None:
    operator.center("cc1", offset=3, start=9, routes={"voip:sip1": 1.0, "farm:farm-1": 1.0})
    found, campaigns = operator.group()
    assert len(campaigns_of(operator, found, "cc1")) == 1
    (campaign,) = campaigns
    assert campaign.kind == "call_center" and campaign.utc_offset_h == 3
    # the campaign says why: its two sources keep one office day, their complaints one script
    said = {r.key: r.facts_dict() for r in campaign.said}
    assert said["analysis.campaign.office_day"] == {
        "sources": "2", "start": "09", "end": "18", "offset": "+3"
    }  # fmt: skip
    assert said["analysis.campaign.script"]["category"] == "bank_security"
    assert campaign.reasons().startswith("2 sources keep one office day: 09:00 to 18:00 at UTC+3")


def test_two_centers_sharing_a_carrier_at_other_office_days_are_two(operator: Operator) -> None:
    # UTC 6-15 and 14-23: an hour of each day overlaps, and there the hour cannot tell them apart
    operator.center(
        "cc1", offset=3, start=9, routes={"international:shared": 1.0, "voip:sip1": 0.8}
    )
    operator.center("cc2", offset=-5, start=9, routes={"international:shared": 1.0, "farm:farm-2": 1.0},
                    category="police")  # fmt: skip
    found, campaigns = operator.group()
    assert operator.ari(found) >= 0.85
    assert sorted(c.utc_offset_h for c in campaigns) == [-5.0, 3.0]


def test_a_center_splitting_its_calls_over_carriers_voip_and_a_farm_is_one_campaign(
    operator: Operator,
) -> None:
    operator.center("cc1", offset=2, start=10, routes={"international:a": 1.0, "international:b": 0.5,
                                                       "voip:sip1": 0.8, "farm:farm-1": 1.6})  # fmt: skip
    operator.center("cc2", offset=7, start=8, routes={"international:b": 1.0, "international:c": 0.5,
                                                      "voip:sip2": 0.8}, category="police")  # fmt: skip
    found, campaigns = operator.group()
    # the carrier both rent is split by office day; in the two hours both work, the hour cannot tell
    assert operator.ari(found) >= 0.9
    assert len(campaigns) == 2
    assert sorted(c.utc_offset_h for c in campaigns) == [2.0, 7.0]


def test_a_wangiri_operation_over_a_wide_range_and_several_days_is_one_campaign(
    operator: Operator,
) -> None:
    operator.wangiri("wangiri-1", base=22245_000_000, span=100_000)
    operator.wangiri("wangiri-2", base=37125_300_000, span=2_000)
    found, campaigns = operator.group()
    assert len(campaigns_of(operator, found, "wangiri-1")) == 1
    assert len(campaigns_of(operator, found, "wangiri-2")) == 1
    assert operator.ari(found) == 1.0
    assert {c.kind for c in campaigns} == {"wangiri"}
    ranges = {r.facts_dict()["range"] for c in campaigns for r in c.said}
    assert ranges == {"+222450…", "+3712530…"}


def test_two_centers_at_the_same_hours_but_other_days_off_are_two(operator: Operator) -> None:
    # one works six days a week, the other five; the same hours, time zone and script
    operator.center(
        "cc1", offset=4, start=9, days=10, routes={"voip:sip1": 1.0, "farm:farm-1": 1.0}
    )
    operator.center("cc2", offset=4, start=9, days=10, days_off=(5, 6),
                    routes={"voip:sip2": 1.0, "farm:farm-2": 1.0})  # fmt: skip
    found, campaigns = operator.group()
    assert len(campaigns) == 2
    assert operator.ari(found) >= 0.95


def test_two_centers_an_hour_apart_on_one_carrier_are_two(operator: Operator) -> None:
    # the same local hours, one time zone apart: each has its own farm, and rents the same carrier
    operator.center(
        "cc1", offset=2, start=9, days=6, routes={"farm:farm-1": 1.0, "international:shared": 1.0}
    )
    operator.center("cc2", offset=3, start=9, days=6, routes={"farm:farm-2": 1.0, "international:shared": 1.0},
                    category="police")  # fmt: skip
    found, campaigns = operator.group()
    assert sorted(c.utc_offset_h for c in campaigns) == [2.0, 3.0]
    # each farm stays whole with its center; the carrier's calls are shared out between the two
    # (only the hours one of them works alone tell a call apart), not left as a third campaign
    for who in ("cc1", "cc2"):
        farm = {
            found[r] for r, w in operator.truth.items() if w == who and r in operator.farm_calls
        }
        assert len(farm) == 1
    assert operator.ari(found) >= 0.4
