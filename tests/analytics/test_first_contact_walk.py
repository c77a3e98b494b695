"""The first-contact walk judges every call as a plain walk over the whole history would,
while holding no more than the history window needs.

The reference below keeps every contact, radio call and route callee it ever saw,
keyed by the numbers themselves, and never forgets: what the walk drops at its
sweeps, or past ``established_callees`` of a route, must never change a fact.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.detections.spoofing import (
    CONTACT,
    JUDGED,
    RADIO,
    EventColumns,
    FirstContactFacts,
    FirstContactHistory,
    SpoofingSettings,
    first_contact_facts,
    walk_first_contact,
)

NUMBERS = ("+77010000001", "+77010000002", "+77010000003", "+77010000004")
ROUTES = ("international:carrierA", "voip:trunk1")


@dataclass(frozen=True)
class Event:
    kind: int
    s: float
    caller: str
    callee: str = ""
    route: str = ""
    answered: bool = False
    flagged: bool = False


Facts = tuple[bool, int, bool, bool]


def reference(events: list[Event], window: float, enough: int) -> list[Facts]:
    """Each judged call's facts, by a walk that remembers everything."""
    contact: dict[tuple[str, str], float] = {}
    radio: dict[str, float] = {}
    route_callees: dict[tuple[str, str], dict[str, float]] = {}
    facts: list[Facts] = []
    for e in events:
        if e.kind == CONTACT:
            contact[(e.caller, e.callee)] = e.s
            continue
        if e.kind == RADIO:
            radio[e.caller] = e.s
            continue
        horizon = e.s - window
        known = contact.get((e.caller, e.callee), -1e18) > horizon
        callees = route_callees.setdefault((e.route, e.caller), {})
        established = min(enough, sum(1 for t in callees.values() if t > horizon))
        on_radio = radio.get(e.caller, -1e18) > horizon
        first = not known and established < enough and not on_radio
        facts.append((known, established, on_radio, first))
        if e.flagged or first:
            continue
        callees.pop(e.callee, None)
        callees[e.callee] = e.s
        if e.answered:
            contact[(e.caller, e.callee)] = e.s
    return facts


def walked(
    events: list[Event], window: float, enough: int, batch: int = 7
) -> tuple[list[Facts], FirstContactHistory]:
    """Each judged call's facts by :func:`walk_first_contact`, numbers given ids as the SQL does."""
    ids: dict[object, int] = {}

    def id_of(key: object) -> int:
        return ids.setdefault(key, len(ids) + 1)

    rows: list[tuple[int, float, int, int, int, int, bool, bool]] = []
    judged = 0
    for e in events:
        ordinal = judged if e.kind == JUDGED else 0
        judged += e.kind == JUDGED
        rows.append(
            (
                e.kind,
                e.s,
                ordinal,
                id_of(("caller", e.caller)),
                id_of(("pair", e.caller, e.callee)),
                id_of(("route", e.route, e.caller)),
                e.answered,
                e.flagged,
            )
        )
    batches: list[EventColumns] = []
    for start in range(0, len(rows), batch):
        columns = tuple(list(c) for c in zip(*rows[start : start + batch], strict=True))
        batches.append(columns)  # type: ignore[arg-type]
    history = FirstContactHistory(window_s=window, enough=enough)
    facts = FirstContactFacts.empty(judged)
    walk_first_contact(history, batches, facts)
    said = [
        (
            bool(facts.contact_known[i]),
            int(facts.route_callees[i]),
            bool(facts.on_our_radio[i]),
            bool(facts.first_contact[i]),
        )
        for i in range(judged)
    ]
    return said, history


def _event(
    kind: int, s: int, caller: str, callee: str, route: str, answered: bool, flagged: bool
) -> Event:
    if kind == RADIO:
        return Event(RADIO, float(s), caller)
    if kind == CONTACT:
        return Event(CONTACT, float(s), caller, callee)
    return Event(JUDGED, float(s), caller, callee, route, answered, flagged)


EVENTS = st.lists(
    st.builds(
        _event,
        st.sampled_from((CONTACT, RADIO, JUDGED, JUDGED)),
        st.integers(0, 80),
        st.sampled_from(NUMBERS),
        st.sampled_from(NUMBERS),
        st.sampled_from(ROUTES),
        st.booleans(),
        st.booleans(),
    ),
    max_size=120,
).map(lambda events: sorted(events, key=lambda e: (e.s, e.kind)))
"""Events in the walk's order: by time, contact and radio before the judged calls of the same second."""


@settings(max_examples=400, deadline=None)
@given(
    events=EVENTS,
    window=st.sampled_from((1.0, 5.0, 8.0, 20.0)),
    enough=st.integers(0, 3),
    batch=st.integers(1, 9),
)
def test_the_walk_says_what_a_walk_that_forgets_nothing_says(
    events: list[Event], window: float, enough: int, batch: int
) -> None:
    said, _ = walked(events, window, enough, batch)
    assert said == reference(events, window, enough)


def test_contact_exactly_at_the_horizon_is_too_old() -> None:
    a, b = NUMBERS[:2]
    events = [
        Event(CONTACT, 0.0, a, b),
        Event(RADIO, 1.0, a),
        Event(JUDGED, 10.0, a, b, ROUTES[0]),  # contact at s - window: no longer known
        Event(JUDGED, 10.5, a, b, ROUTES[0]),  # radio 9.5 s before: still heard
        Event(JUDGED, 11.0, a, b, ROUTES[0]),  # radio exactly at the horizon: not heard
    ]
    said, _ = walked(events, 10.0, 3)
    assert said == reference(events, 10.0, 3)
    assert [(known, radio, first) for known, _, radio, first in said] == [
        (False, True, False),
        (False, True, False),
        (False, False, True),
    ]


def test_a_route_established_by_more_callees_than_enough_stays_established() -> None:
    """Only the newest ``enough`` callees of a route are kept; the older never change a fact."""
    a = NUMBERS[0]
    # on our radio at first, so its calls pass and establish it on the route
    events = [Event(RADIO, 0.0, a)]
    events += [Event(JUDGED, float(i), a, f"+7703000000{i}", ROUTES[0]) for i in range(8)]
    events += [Event(JUDGED, 28.0, a, NUMBERS[1], ROUTES[0])]
    said, _ = walked(events, 25.0, 3)
    assert said == reference(events, 25.0, 3)
    assert said[-1] == (False, 3, False, False)


def test_the_sweep_forgets_what_lies_beyond_the_window() -> None:
    """A long stream whose pairs, callers and routes never repeat: the walk holds about
    a window and a quarter of it, not the stream."""
    window, seconds = 100.0, 2_000
    events: list[Event] = []
    for s in range(seconds):
        caller, callee = f"+7701{s:07d}", f"+7705{s:07d}"
        events.append(Event(CONTACT, float(s), f"+7709{s:07d}", callee))
        events.append(Event(RADIO, float(s), f"+7708{s:07d}"))
        events.append(Event(JUDGED, float(s), caller, callee, ROUTES[0], answered=True))
        # let through (on the radio a second ago, so no first contact): a route callee and a contact
        events.insert(-1, Event(RADIO, float(s), caller))
    said, history = walked(events, window, 3, batch=64)
    assert said == reference(events, window, 3)
    held_per_second = 2 + 2 + 1  # contacts (passed, let through), radio times, a route's callee
    assert history.peak_entries <= held_per_second * (window * 1.25 + 1)
    assert history.entries() <= held_per_second * (window * 1.25 + 1)


# --- the whole step, SQL included, on DuckDB and on Spark -----------------------------

DOMESTIC = tuple(f"+7701000000{i}" for i in range(1, 9))
SUBSCRIBER = "+77070000009"
CALLEES = ("+77071000001", "+77071000002", "+77071000003")
INGRESS = ("international:carrierA", "voip:trunk1", "national:beeline")
START = datetime(2026, 3, 1, tzinfo=UTC)


def random_calls(
    seed: int, calls: int = 160, minutes: int = 120, callers: int = 3
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """``inbound`` (with the columns the spoofing rules read) and ``cdrs`` of a small
    random operator: many calls share a second, and some lie exactly a window apart."""
    rng = random.Random(seed)
    inbound: list[dict[str, object]] = []
    cdrs: list[dict[str, object]] = []
    for n in range(calls):
        t = START + timedelta(minutes=rng.randrange(0, minutes, 5))
        caller = rng.choice((*DOMESTIC[:callers], SUBSCRIBER, None))
        callee = rng.choice((*CALLEES, *DOMESTIC[:3]))
        result = rng.choice(("answered", "answered", "no_answer"))
        record_id = f"r{rng.randrange(10**6):06d}-{n}"
        if rng.random() < 0.2:  # over our radio
            cdrs.append(
                {"record_id": record_id, "start_time": t, "a_number": caller, "b_number": callee,
                 "result": result, "ingress": "mobile"}
            )  # fmt: skip
            continue
        ingress = rng.choice(INGRESS)
        cdrs.append(
            {"record_id": record_id, "start_time": t, "a_number": caller, "b_number": callee,
             "result": result, "ingress": ingress}
        )  # fmt: skip
        inbound.append(
            {
                "record_id": record_id, "t": t, "a_number": caller, "b_number": callee,
                "result": result, "ingress": ingress, "ingress_class": ingress.split(":")[0],
                "cli_domestic": caller is not None, "cli_valid": rng.random() > 0.1,
                "cli_subscriber_imsi": "250010000000009" if caller == SUBSCRIBER else None,
                "roaming_country": None, "roaming_known": True, "registry_owner": None,
                "registry_inbound_only": False, "registry_wrong_route": False,
            }
        )  # fmt: skip
    return inbound, cdrs


def reference_of_tables(
    inbound: list[dict[str, object]], cdrs: list[dict[str, object]], window: float, enough: int
) -> dict[str, Facts]:
    """The facts of each judged call by :func:`reference`, its events picked in plain Python."""

    def epoch(row: dict[str, object], column: str) -> float:
        value = row[column]
        assert isinstance(value, datetime)
        return value.timestamp()

    def unallocated(r: dict[str, object]) -> bool:
        return r["a_number"] is not None and not r["cli_valid"]

    def at_home(r: dict[str, object]) -> bool:
        return (
            r["ingress_class"] in ("international", "voip") and r["cli_subscriber_imsi"] is not None
        )

    flagged = {r["record_id"] for r in inbound if unallocated(r) or at_home(r)}
    judged = sorted(
        (
            r
            for r in inbound
            if r["ingress_class"] in ("international", "voip") and r["a_number"] is not None
            and r["cli_subscriber_imsi"] is None
        ),
        key=lambda r: (epoch(r, "t"), str(r["record_id"])),
    )  # fmt: skip
    skipped = {r["record_id"] for r in judged} | flagged
    pairs = {(r["a_number"], r["b_number"]) for r in judged}
    callers = {r["a_number"] for r in judged}
    history: list[tuple[float, int, Event]] = []
    for c in cdrs:
        a, b, s = str(c["a_number"]), str(c["b_number"]), epoch(c, "start_time")
        passed = c["result"] == "answered" and c["a_number"] is not None
        if passed and c["record_id"] not in skipped:
            for pair in {(a, b), (b, a)} & pairs:
                history.append((s, CONTACT, Event(CONTACT, s, *pair)))
        if c["ingress"] == "mobile" and c["a_number"] in callers:
            history.append((s, RADIO, Event(RADIO, s, a)))
    for r in judged:
        e = Event(
            JUDGED, epoch(r, "t"), str(r["a_number"]), str(r["b_number"]), str(r["ingress"]),
            r["result"] == "answered", r["record_id"] in flagged,
        )  # fmt: skip
        history.append((e.s, JUDGED, e))
    history.sort(key=lambda h: (h[0], h[1]))  # stable: judged calls keep their order
    facts = reference([e for _, _, e in history], window, enough)
    return {str(r["record_id"]): f for r, f in zip(judged, facts, strict=True)}


def load(con: Any, inbound: list[dict[str, object]], cdrs: list[dict[str, object]]) -> None:
    """``inbound``, ``cdrs``, ``subscribers`` and ``registry`` as the step reads them."""
    con.register("_given_inbound", pa.Table.from_pylist(inbound))
    con.register("_given_cdrs", pa.Table.from_pylist(cdrs))
    con.execute("CREATE OR REPLACE TEMP TABLE inbound AS SELECT * FROM _given_inbound")
    con.execute("CREATE OR REPLACE TEMP TABLE cdrs AS SELECT * FROM _given_cdrs")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE subscribers AS SELECT '{SUBSCRIBER}' AS msisdn,"
        " '250010000000009' AS imsi"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE registry AS SELECT CAST(NULL AS VARCHAR) AS number WHERE false"
    )


def said_on(
    con: Any,
    settings: SpoofingSettings,
    start_from: str | None = None,
    keep_state: str | None = None,
) -> dict[str, Facts]:
    """The step's facts of each judged call in ``inbound``."""
    first_contact_facts(con, settings, start_from=start_from, keep_state=keep_state)
    rows = con.execute(
        "SELECT record_id, contact_known, route_callees, on_our_radio, first_contact FROM inbound"
        " WHERE first_contact IS NOT NULL"
    ).fetchall()
    return {r[0]: (bool(r[1]), int(r[2]), bool(r[3]), bool(r[4])) for r in rows}


def facts_on(
    con: Any, seed: int, window: float, enough: int
) -> tuple[dict[str, Facts], dict[str, Facts]]:
    """The step's facts on ``con`` (DuckDB's or Spark's) beside the reference's."""
    inbound, cdrs = random_calls(seed)
    load(con, inbound, cdrs)
    settings = SpoofingSettings(
        history_window_s=window, established_callees=enough, roaming_grace_s=0
    )
    return said_on(con, settings), reference_of_tables(inbound, cdrs, window, enough)


@pytest.mark.parametrize(
    ("seed", "window", "enough"), [(1, 1800.0, 3), (2, 600.0, 1), (3, 3600.0, 2)]
)
def test_the_step_on_duckdb_says_what_the_reference_says(
    seed: int, window: float, enough: int
) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    said, expected = facts_on(con, seed, window, enough)
    assert len(expected) > 20
    assert said == expected
    assert len(set(said.values())) > 2  # the facts vary: the case tests something


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:  # pragma: no cover - CI installs Java
        pytest.skip("Spark needs a Java runtime")
    from qalqan.analytics.engine import SparkConnection

    con = SparkConnection.start("local[1]")
    yield con
    con.close()


@pytest.mark.spark
def test_the_step_on_spark_says_what_the_reference_says(spark: Any) -> None:
    said, expected = facts_on(spark, 1, 1800.0, 3)
    assert said == expected


def days_of(
    rows: list[dict[str, object]], column: str, day: int, hours: int
) -> list[dict[str, object]]:
    """The rows of ``day`` (1, 2, …), each day ``hours`` long."""
    first = START + timedelta(hours=(day - 1) * hours)
    last = first + timedelta(hours=hours)
    return [r for r in rows if first <= r[column] < last]  # type: ignore[operator]


def day_by_day(con: Any, seed: int, enough: int, days: int = 4) -> None:
    """Days an hour long, a window of 90 minutes: each day's run starts from what the day
    before kept, and judges its calls as one run over all the days does."""
    inbound, cdrs = random_calls(seed, calls=100 * days, minutes=60 * days, callers=8)
    settings = SpoofingSettings(
        history_window_s=5400.0, established_callees=enough, roaming_grace_s=0
    )
    load(con, inbound, cdrs)
    at_once = said_on(con, settings)
    alone: dict[str, Facts] = {}
    for day in range(1, days + 1):
        load(con, days_of(inbound, "t", day, 1), days_of(cdrs, "start_time", day, 1))
        start = f"_state_{day - 1}" if day > 1 else None
        said = said_on(con, settings, start_from=start, keep_state=f"_state_{day}")
        assert said == {r: at_once[r] for r in said}, f"day {day}"
        load(con, days_of(inbound, "t", day, 1), days_of(cdrs, "start_time", day, 1))
        alone.update(said_on(con, settings))
        ((oldest,),) = con.execute(f"SELECT min(s) FROM _state_{day}").fetchall()
        ((last,),) = con.execute("SELECT max(epoch(start_time)) FROM cdrs").fetchall()
        assert oldest > last - 5400.0  # pruned to the window
    assert alone != at_once  # without the kept state, the later days are judged otherwise


@pytest.mark.parametrize(("seed", "enough"), [(4, 3), (5, 1), (6, 2)])
def test_day_by_day_from_the_kept_state_says_what_one_run_over_all_days_says(
    seed: int, enough: int
) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    day_by_day(con, seed, enough)


@pytest.mark.spark
def test_day_by_day_on_spark(spark: Any) -> None:
    day_by_day(spark, 4, 3, days=3)
