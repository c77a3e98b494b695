"""Caller IDs that cannot be genuine: each spoofing detection said once, for ``analyze`` and the engine.

Five rules prove a caller ID impossible. Each is defined here once — its id,
the ingress on which its firing is a verdict, the facts it reads, its
settings — and both paths use that definition: the screening engine's rules
(:mod:`qalqan.screening.rules.spoofed_cli`) judge a call from what the engine
knows at that moment, and ``qalqan analyze`` (:mod:`qalqan.analytics.calls`,
:mod:`qalqan.analytics.inbound`) judges every call of a data set in SQL from
what was known *at that call's time*, never later:

- ``spoofed_cli.registry_inbound_only`` (a verdict on any ingress): the number
  is in ``registry`` as ``inbound_only``;
- ``spoofed_cli.registry_wrong_route`` (any ingress): the number has registered
  routes and this is none of them;
- ``spoofed_cli.own_subscriber_at_home`` (international, VoIP): the number is
  in ``subscribers`` and its SIM was not abroad (``roaming``, widened by
  ``roaming.grace``);
- ``spoofed_cli.domestic_from_abroad`` (international, VoIP): a domestic number,
  in neither ``subscribers`` nor ``registry``, with no contact with the callee,
  not established on the route and not seen on our radio, all within
  ``history_window``;
- ``spoofed_cli.unallocated`` (national, international, VoIP): the number lies
  in no allocated range.

**What is known at a call's time** is the same in both paths, and the batch
path may only know *more* than a live node did, never less (so what
``analyze`` flags, the engine intercepted):

- *contact*: an answered call or delivered SMS between the two numbers, either
  way, over any ingress, within ``history_window`` before the call, that was
  let through. Live, from the outcomes of calls the engine allowed (or never
  screened), once they ended. In batch, from calls that began before (or at the
  same second as) this one and that no spoofing rule flagged: a call's outcome
  is known to the batch from its start, earlier than live.
- *established on the route*: the distinct people the number called over the
  same route within ``history_window`` before the call, in calls let through
  (live: allowed; batch: no spoofing rule flagged them).
- *on our radio*: the number called over our own radio network within
  ``history_window`` before (live: calls allowed; batch: any). The rule then says
  only a weak variant (``our_radio_weight``), which is no verdict in batch.
- *our subscriber*: listed in ``subscribers`` (a number only seen on our radio is
  not taken for ours: the roaming of a SIM nobody listed is not checked).
- *roaming*: registered abroad at the call's time, every period widened by
  ``roaming.grace`` on both sides.

Which earlier calls were let through depends on earlier verdicts, so the batch
walks the calls that could be first contact in time order
(:func:`first_contact_facts`), as the engine does. The rest is SQL.

Where the paths still differ, on purpose: the engine combines every rule that
fires into one action, and other evidence (a roaming subscriber, a trusted
route, the vulnerable callee's thresholds) may change it; the batch reports the
first rule that fires. The batch knows contact from a call's start, not from
its end, and counts every call over our radio, not only those the engine
allowed: both only make the batch flag less.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, cast

from qalqan.detections.settings import RulesFile
from qalqan.domain.model import IngressClass

if TYPE_CHECKING:
    import duckdb
    import numpy as np
    import pyarrow as pa

__all__ = [
    "CONTACT",
    "DOMESTIC_FROM_ABROAD",
    "JUDGED",
    "OWN_SUBSCRIBER_AT_HOME",
    "RADIO",
    "REGISTRY_INBOUND_ONLY",
    "REGISTRY_WRONG_ROUTE",
    "SPOOFING_RULES",
    "STATE_COLUMNS",
    "UNALLOCATED",
    "EventColumns",
    "FirstContactFacts",
    "FirstContactHistory",
    "SpoofingRule",
    "SpoofingSettings",
    "first_contact_facts",
    "ingress_sql",
    "walk_first_contact",
]

ALL_INGRESS: Final = frozenset(IngressClass)
FROM_OUTSIDE: Final = frozenset(
    {IngressClass.NATIONAL, IngressClass.INTERNATIONAL, IngressClass.VOIP}
)
ABROAD: Final = frozenset({IngressClass.INTERNATIONAL, IngressClass.VOIP})
"""Ingress that may carry a call from another country (VoIP trunks included: they can)."""


def ingress_sql(classes: Iterable[IngressClass], column: str = "ingress_class") -> str:
    """SQL: ``column`` is one of ``classes`` (TRUE for every class)."""
    chosen = frozenset(classes)
    if chosen == ALL_INGRESS:
        return "TRUE"
    names = ", ".join(f"'{c.value}'" for c in sorted(chosen, key=lambda c: c.value))
    return f"{column} IN ({names})"


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoofingRule:
    """One spoofing detection: where it is a verdict, its test over ``inbound``, and its reason."""

    id: str
    verdict_on: frozenset[IngressClass]
    """Ingress classes on which the rule's firing is a verdict (the engine's full weight)."""
    test: str
    """SQL condition over the columns of ``inbound`` (:mod:`qalqan.analytics.inbound`)."""
    key: str
    """The message key said, in both paths."""
    facts: Mapping[str, str] = field(default_factory=dict)
    """The message's facts as SQL over ``inbound``."""

    @property
    def condition(self) -> str:
        """SQL: the rule fires on a call of ``inbound`` as a verdict."""
        where = ingress_sql(self.verdict_on)
        return self.test if where == "TRUE" else f"{where} AND {self.test}"


REGISTRY_INBOUND_ONLY: Final = SpoofingRule(
    id="spoofed_cli.registry_inbound_only",
    verdict_on=ALL_INGRESS,
    test="coalesce(registry_inbound_only, false)",
    key="spoofed_cli.registry_inbound_only",
    facts={"caller": "a_number", "owner": "registry_owner"},
)
REGISTRY_WRONG_ROUTE: Final = SpoofingRule(
    id="spoofed_cli.registry_wrong_route",
    verdict_on=ALL_INGRESS,
    test="coalesce(registry_wrong_route, false)",
    key="spoofed_cli.registry_wrong_route",
    facts={
        "caller": "a_number",
        "owner": "registry_owner",
        "route": "ingress",
        "routes": "registry_routes",
    },
)
OWN_SUBSCRIBER_AT_HOME: Final = SpoofingRule(
    id="spoofed_cli.own_subscriber_at_home",
    verdict_on=ABROAD,
    test="cli_subscriber_imsi IS NOT NULL AND roaming_country IS NULL AND roaming_known",
    key="spoofed_cli.own_subscriber_at_home",
    facts={"subscriber": "a_number", "route": "ingress"},
)
DOMESTIC_FROM_ABROAD: Final = SpoofingRule(
    id="spoofed_cli.domestic_from_abroad",
    verdict_on=ABROAD,
    test="coalesce(first_contact, false)",
    key="spoofed_cli.domestic_from_abroad",
    facts={"caller": "a_number", "route": "ingress", "callee": "b_number"},
)
UNALLOCATED: Final = SpoofingRule(
    id="spoofed_cli.unallocated",
    verdict_on=FROM_OUTSIDE,
    test="a_number IS NOT NULL AND NOT cli_valid",
    key="spoofed_cli.unallocated",
    facts={"caller": "a_number"},
)

SPOOFING_RULES: Final[tuple[SpoofingRule, ...]] = (
    REGISTRY_INBOUND_ONLY,
    REGISTRY_WRONG_ROUTE,
    OWN_SUBSCRIBER_AT_HOME,
    DOMESTIC_FROM_ABROAD,
    UNALLOCATED,
)
"""In the order the batch tries them (the first that fires is the call's reason)."""

FIRST_CONTACT_CANDIDATE: Final = (
    f"{ingress_sql(DOMESTIC_FROM_ABROAD.verdict_on)} AND a_number IS NOT NULL AND cli_domestic"
    " AND cli_subscriber_imsi IS NULL AND registry_owner IS NULL"
)
"""SQL over ``inbound``: a call ``spoofed_cli.domestic_from_abroad`` judges by its history."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoofingSettings:
    """The settings the spoofing rules read, taken from the screening rules file.

    They are declared once, with the rules that read them live
    (:mod:`qalqan.screening.rules.spoofed_cli`: ``history_window`` and
    ``established_callees`` of ``spoofed_cli.domestic_from_abroad``; the general
    ``roaming.grace``), and the batch reads the same values from the same file.
    """

    history_window_s: float
    established_callees: int
    roaming_grace_s: float

    @classmethod
    def from_config(cls, config: RulesFile) -> SpoofingSettings:
        rule = config.rules[DOMESTIC_FROM_ABROAD.id]
        return cls(
            history_window_s=rule.seconds("history_window"),
            established_callees=rule.integer("established_callees"),
            roaming_grace_s=config.roaming_grace_s,
        )


_EVENTS_AT_ONCE: Final = 65_536
_SWEEPS_PER_WINDOW: Final = 4
"""How often the walk forgets what lies beyond the window: every quarter window of
time, so it holds at most a window and a quarter of history."""

CONTACT, RADIO, JUDGED = 0, 1, 2
"""Kinds of the walk's events: contact between two numbers, a call over our radio, a judged call."""


def _recent(last_seen: dict[int, float], horizon: float, enough: int) -> int:
    """Items of ``last_seen`` (oldest first) seen after ``horizon``, counted up to ``enough``.

    Newest first, stopping at ``enough`` or at the first one too old: a number let
    through to thousands of people costs no more than one let through to three.
    """
    n = 0
    for t in reversed(last_seen.values()):
        if t <= horizon or n >= enough:
            break
        n += 1
    return n


@dataclass(slots=True, kw_only=True)
class FirstContactHistory:
    """What the walk knows at a moment, keyed by the ids the SQL gave the numbers.

    Only the last time of each thing counts, and only within ``window_s`` before a
    judged call, so whatever lies at or before ``now - window_s`` is forgotten as the
    clock moves on: no call at ``now`` or later can read it.
    """

    window_s: float
    enough: int
    """``established_callees``: more of a route's callees than this never change a verdict."""
    contact: dict[int, float] = field(default_factory=dict)
    """Pair id (caller, callee) → the last contact let through between the two, either way."""
    radio: dict[int, float] = field(default_factory=dict)
    """Caller id → its last call over our radio."""
    route_callees: dict[int, dict[int, float]] = field(default_factory=dict)
    """Route id (ingress, caller) → pair id → the last call let through, oldest first,
    the newest ``enough`` only."""
    swept_at: float = -math.inf
    peak_entries: int = 0
    """The most entries held at once (counted at each sweep and at the end)."""

    def entries(self) -> int:
        """Contacts, radio times and route callees held now."""
        routes = sum(len(callees) for callees in self.route_callees.values())
        return len(self.contact) + len(self.radio) + routes

    def sweep(self, now: float) -> None:
        """Forget every time at or before ``now - window_s``, and routes left with none."""
        self.peak_entries = max(self.peak_entries, self.entries())
        horizon = now - self.window_s
        self.contact = {k: t for k, t in self.contact.items() if t > horizon}
        self.radio = {k: t for k, t in self.radio.items() if t > horizon}
        kept: dict[int, dict[int, float]] = {}
        for route, callees in self.route_callees.items():
            fresh = {k: t for k, t in callees.items() if t > horizon}
            if fresh:
                kept[route] = fresh
        self.route_callees = kept
        self.swept_at = now


@dataclass(slots=True)
class FirstContactFacts:
    """The facts of each judged call, at its ordinal (its place in time order)."""

    contact_known: np.ndarray
    route_callees: np.ndarray
    on_our_radio: np.ndarray
    first_contact: np.ndarray

    @classmethod
    def empty(cls, calls: int) -> FirstContactFacts:
        import numpy as np

        return cls(
            contact_known=np.zeros(calls, dtype=np.bool_),
            route_callees=np.zeros(calls, dtype=np.int32),
            on_our_radio=np.zeros(calls, dtype=np.bool_),
            first_contact=np.zeros(calls, dtype=np.bool_),
        )


EventColumns = tuple[
    list[int], list[float], list[int], list[int], list[int], list[int], list[bool], list[bool]
]
"""One batch of events as columns: kind, time (epoch seconds), judged call's ordinal,
caller id, pair id, route id, answered, flagged by another spoofing rule (the last five
are read for judged calls only; contact reads the pair, radio the caller)."""


def walk_first_contact(
    history: FirstContactHistory, batches: Iterable[EventColumns], facts: FirstContactFacts
) -> None:
    """Judge each judged call of ``batches`` (events in time order) into ``facts``.

    A judged call is first contact when there was no contact with its callee, fewer
    than ``enough`` people called over its route and nothing over our radio, all
    after ``s - window``. Unless intercepted (first contact, or flagged by another
    spoofing rule), it is let through: it establishes its callee on its route and,
    answered, is contact. ``history`` goes on from where it stands and is swept
    every quarter window, so its size follows the window, not the data set.
    """
    window, enough = history.window_s, history.enough
    every = window / _SWEEPS_PER_WINDOW
    contact, radio, routes = history.contact, history.radio, history.route_callees
    next_sweep = history.swept_at + every
    for kinds, times, ordinals, callers, pairs, route_ids, answered, flagged in batches:
        judged: list[int] = []
        said: tuple[list[bool], list[int], list[bool], list[bool]] = ([], [], [], [])
        for kind, s, ordinal, caller, pair, route, answer, flag in zip(
            kinds, times, ordinals, callers, pairs, route_ids, answered, flagged, strict=True
        ):
            if s >= next_sweep:
                history.sweep(s)
                contact, radio, routes = history.contact, history.radio, history.route_callees
                next_sweep = s + every
            if kind == CONTACT:
                contact[pair] = s
                continue
            if kind == RADIO:
                radio[caller] = s
                continue
            horizon = s - window
            last = contact.get(pair)
            known = last is not None and last > horizon
            callees = routes.get(route)
            if callees is None:
                callees = routes[route] = {}
            established = _recent(callees, horizon, enough)
            heard = radio.get(caller)
            on_radio = heard is not None and heard > horizon
            first = not known and established < enough and not on_radio
            judged.append(ordinal)
            said[0].append(known)
            said[1].append(established)
            said[2].append(on_radio)
            said[3].append(first)
            if flag or first:
                continue  # intercepted: teaches nothing
            callees.pop(pair, None)
            callees[pair] = s
            if len(callees) > enough:
                del callees[next(iter(callees))]
            if answer:
                contact[pair] = s
        if judged:
            facts.contact_known[judged] = said[0]
            facts.route_callees[judged] = said[1]
            facts.on_our_radio[judged] = said[2]
            facts.first_contact[judged] = said[3]
    history.peak_entries = max(history.peak_entries, history.entries())


def first_contact_facts(
    con: duckdb.DuckDBPyConnection,
    settings: SpoofingSettings,
    *,
    start_from: str | None = None,
    keep_state: str | None = None,
) -> None:
    """Add ``contact_known``, ``route_callees``, ``on_our_radio`` and ``first_contact`` to ``inbound``.

    Walks, in time order, the calls that ``spoofed_cli.domestic_from_abroad``
    judges by their history, with the events that make that history: answered
    calls between the same two numbers that no spoofing rule flagged, and calls
    of the same numbers over our radio (:func:`walk_first_contact`). Needs
    ``inbound`` with the columns of the other spoofing rules, and ``cdrs``.

    Bounded: numbers, pairs and routes are integer ids given in SQL, the events
    stream from the engine in batches, what the walk holds is swept to the
    window, and the facts go back as arrays joined on each judged call's ordinal.
    Judged calls of the same second are taken in the order of their record ids.

    A run over the days after another goes on from where that one stopped:
    ``start_from`` names a table of the history it kept (:data:`STATE_COLUMNS`), and
    ``keep_state`` a table to create with the history at the end of this run, pruned
    to the window before the last call record of ``cdrs``, for the next run. The
    facts of the later days are then those of one run over all the days.
    """
    # here, not at the top: the screening engine imports this module
    import numpy as np
    import pyarrow as pa

    calls = _judged_calls(con, start_from)
    history = FirstContactHistory(
        window_s=settings.history_window_s, enough=settings.established_callees
    )
    if start_from is not None:
        _resume(con, history, start_from)
    facts = FirstContactFacts.empty(calls)
    walk_first_contact(history, _event_batches(con), facts)
    if keep_state is not None:
        _keep_state(con, history, keep_state, start_from)
    con.register(
        "_first_contact",
        pa.table(
            {
                "ordinal": np.arange(calls, dtype=np.int64),
                "contact_known": facts.contact_known,
                "route_callees": facts.route_callees,
                "on_our_radio": facts.on_our_radio,
                "first_contact": facts.first_contact,
            }
        ),
    )
    # the judged calls are a few of ``inbound``: set theirs rather than write it anew
    for column, kind in (
        ("contact_known", "BOOLEAN"),
        ("route_callees", "INTEGER"),
        ("on_our_radio", "BOOLEAN"),
        ("first_contact", "BOOLEAN"),
    ):
        con.execute(f"ALTER TABLE inbound ADD COLUMN {column} {kind}")
    con.execute(
        """
        UPDATE inbound SET contact_known = f.contact_known, route_callees = f.route_callees,
               on_our_radio = f.on_our_radio, first_contact = f.first_contact
        FROM (
            SELECT j.record_id, x.contact_known, x.route_callees, x.on_our_radio, x.first_contact
            FROM _judged j JOIN _first_contact x USING (ordinal)
        ) f
        WHERE inbound.record_id = f.record_id
        """
    )
    con.unregister("_first_contact")
    for table in (
        "_judged",
        "_candidates",
        "_flagged",
        "_fc_pairs",
        "_fc_callers",
        "_fc_routes",
        "_fc_cdrs",
    ):
        con.execute(f"DROP TABLE {table}")


def _judged_calls(con: duckdb.DuckDBPyConnection, start_from: str | None = None) -> int:
    """Create ``_judged`` (the judged calls, numbered in time order, with their ids) and
    the id tables ``_fc_callers``, ``_fc_pairs``, ``_fc_routes``, and ``_fc_cdrs``, the
    call records with a judged caller on either side (all the walk's events read);
    returns how many.

    With ``start_from``, the pairs include the callees its routes hold for the callers
    judged now: they count on those routes."""
    flagged = " OR ".join(
        f"({rule.condition})" for rule in SPOOFING_RULES if rule is not DOMESTIC_FROM_ABROAD
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _flagged AS SELECT record_id FROM inbound WHERE {flagged}"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _candidates AS
        SELECT i.record_id, epoch(i.t) AS s, i.a_number, i.b_number, i.ingress,
               coalesce(i.result = 'answered', false) AS answered,
               f.record_id IS NOT NULL AS flagged
        FROM inbound i LEFT JOIN _flagged f USING (record_id)
        WHERE {FIRST_CONTACT_CANDIDATE}
        """
    )
    routed = (
        f"""UNION SELECT x.caller, x.callee FROM {start_from} x
            JOIN (SELECT DISTINCT a_number FROM _candidates) c ON c.a_number = x.caller
            WHERE x.kind = 'route'"""
        if start_from is not None
        else ""
    )
    for table, key, column, source in (
        ("_fc_callers", "a_number", "caller", "SELECT DISTINCT a_number FROM _candidates"),
        (
            "_fc_pairs",
            "a_number, b_number",
            "pair",
            f"SELECT a_number, b_number FROM _candidates {routed}",
        ),
        (
            "_fc_routes",
            "ingress, a_number",
            "route",
            "SELECT DISTINCT ingress, a_number FROM _candidates",
        ),
    ):
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT {key}, row_number() OVER (ORDER BY {key}) AS {column}
            FROM (SELECT DISTINCT {key} FROM ({source}) AS s) AS d
            """
        )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _judged AS
        SELECT row_number() OVER (ORDER BY c.s, c.record_id) - 1 AS ordinal, c.record_id, c.s,
               k.caller, p.pair, r.route, c.answered, c.flagged
        FROM _candidates c
        JOIN _fc_callers k USING (a_number)
        JOIN _fc_pairs p USING (a_number, b_number)
        JOIN _fc_routes r USING (ingress, a_number)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _fc_cdrs AS
        SELECT c.record_id, c.start_time, c.a_number, c.b_number, c.result, c.ingress FROM cdrs c
        WHERE c.a_number IN (SELECT a_number FROM _fc_callers)
           OR c.b_number IN (SELECT a_number FROM _fc_callers)
        """
    )
    ((calls,),) = con.execute("SELECT count(*) FROM _judged").fetchall()
    return int(calls)


_PASSED_SQL: Final = """
    SELECT epoch(c.start_time) AS s, c.a_number, c.b_number FROM {cdrs} c
    ANTI JOIN _candidates j USING (record_id)
    ANTI JOIN _flagged f USING (record_id)
    WHERE c.result = 'answered' AND c.a_number IS NOT NULL
"""
"""Answered calls let through that the walk does not judge: contact between their numbers."""

_EVENTS_SQL: Final = f"""
    WITH passed AS ({_PASSED_SQL.format(cdrs="_fc_cdrs")})
    SELECT {CONTACT} AS kind, p.s, 0 AS ordinal, 0 AS caller, q.pair, 0 AS route,
           false AS answered, false AS flagged
    FROM passed p JOIN _fc_pairs q USING (a_number, b_number)
    UNION ALL
    SELECT {CONTACT}, p.s, 0, 0, q.pair, 0, false, false
    FROM passed p JOIN _fc_pairs q ON q.a_number = p.b_number AND q.b_number = p.a_number
    UNION ALL
    SELECT {RADIO}, epoch(c.start_time), 0, k.caller, 0, 0, false, false
    FROM _fc_cdrs c JOIN _fc_callers k USING (a_number)
    WHERE {ingress_sql([IngressClass.MOBILE], "split_part(c.ingress, ':', 1)")}
    UNION ALL
    SELECT {JUDGED}, s, ordinal, caller, pair, route, answered, flagged FROM _judged
    ORDER BY 2, 1, 3
"""
"""The walk's events in time order; at the same second contact and radio come before
the judged calls, and those in the order of their ordinals."""


def _event_batches(con: duckdb.DuckDBPyConnection) -> Iterator[EventColumns]:
    """The events of :data:`_EVENTS_SQL` as columns of Python values, a batch at a time."""
    events = con.sql(_EVENTS_SQL)
    batches: Iterable[pa.RecordBatch]
    if hasattr(events, "to_arrow_reader"):  # DuckDB: the sorted rows stream
        batches = events.to_arrow_reader(_EVENTS_AT_ONCE)
    else:  # a SparkConnection's rows come to the driver at once
        batches = events.to_arrow_table().to_batches(max_chunksize=_EVENTS_AT_ONCE)
    for batch in batches:
        columns = [c.to_numpy(zero_copy_only=False).tolist() for c in batch.columns]
        yield cast("EventColumns", tuple(columns))


STATE_COLUMNS: Final = ("kind", "ingress", "caller", "callee", "s")
"""The history one run keeps for the next, one row per thing remembered, numbers as
strings: ``kind`` ``'contact'`` (``caller`` had contact with ``callee``, either way, at
``s``), ``'radio'`` (``caller`` called over our radio at ``s``; ``callee`` NULL) or
``'route'`` (``caller`` was let through to ``callee`` over ``ingress`` at ``s``), ``s``
in epoch seconds. Contact and radio are kept for every number that a later day could
judge (any number in neither ``subscribers`` nor ``registry``), not only those judged
so far."""


def _resume(con: duckdb.DuckDBPyConnection, history: FirstContactHistory, start_from: str) -> None:
    """Fill ``history`` with what ``start_from`` remembers of the numbers judged now."""
    contact = con.execute(
        f"""
        SELECT p.pair, max(x.s) FROM {start_from} x
        JOIN _fc_pairs p ON p.a_number = x.caller AND p.b_number = x.callee
        WHERE x.kind = 'contact' GROUP BY p.pair
        """
    ).fetchall()
    history.contact.update(contact)
    radio = con.execute(
        f"""
        SELECT k.caller, max(x.s) FROM {start_from} x JOIN _fc_callers k ON k.a_number = x.caller
        WHERE x.kind = 'radio' GROUP BY k.caller
        """
    ).fetchall()
    history.radio.update(radio)
    routes = con.execute(
        f"""
        SELECT r.route, p.pair, x.s FROM {start_from} x
        JOIN _fc_routes r ON r.ingress = x.ingress AND r.a_number = x.caller
        JOIN _fc_pairs p ON p.a_number = x.caller AND p.b_number = x.callee
        WHERE x.kind = 'route' ORDER BY r.route, x.s, p.pair
        """
    ).fetchall()
    for route, pair, s in routes:  # oldest first, as the walk keeps them
        callees = history.route_callees.setdefault(route, {})
        callees.pop(pair, None)
        callees[pair] = s
        if len(callees) > history.enough:
            del callees[next(iter(callees))]


_NO_STATE: Final = (
    "(SELECT CAST(NULL AS VARCHAR) AS kind, CAST(NULL AS VARCHAR) AS ingress,"
    " CAST(NULL AS VARCHAR) AS caller, CAST(NULL AS VARCHAR) AS callee,"
    " CAST(NULL AS DOUBLE) AS s WHERE false)"
)
"""A state that remembers nothing, for a run that starts from none."""

_KEEP_STATE_SQL: Final = f"""
    WITH ours AS (SELECT msisdn AS number FROM subscribers UNION SELECT number FROM registry),
    passed AS ({_PASSED_SQL.format(cdrs="cdrs")}),
    contact AS (
        SELECT p.a_number AS caller, p.b_number AS callee, p.s FROM passed p
        ANTI JOIN ours o ON o.number = p.a_number
        UNION ALL
        SELECT p.b_number, p.a_number, p.s FROM passed p ANTI JOIN ours o ON o.number = p.b_number
        UNION ALL
        SELECT q.a_number, q.b_number, w.s FROM _fc_walk_contact w JOIN _fc_pairs q USING (pair)
        UNION ALL
        SELECT caller, callee, s FROM {{start}} x WHERE x.kind = 'contact'
    ),
    radio AS (
        SELECT c.a_number AS caller, epoch(c.start_time) AS s FROM cdrs c
        ANTI JOIN ours o ON o.number = c.a_number
        WHERE c.a_number IS NOT NULL
          AND {ingress_sql([IngressClass.MOBILE], "split_part(c.ingress, ':', 1)")}
        UNION ALL
        SELECT caller, s FROM {{start}} x WHERE x.kind = 'radio'
    ),
    route AS (
        SELECT r.ingress, r.a_number AS caller, q.b_number AS callee, w.s
        FROM _fc_walk_routes w JOIN _fc_routes r USING (route) JOIN _fc_pairs q USING (pair)
        UNION ALL
        SELECT x.ingress, x.caller, x.callee, x.s FROM {{start}} x
        ANTI JOIN _fc_routes r ON r.ingress = x.ingress AND r.a_number = x.caller
        WHERE x.kind = 'route'
    ),
    horizon AS (SELECT max(epoch(start_time)) - {{window}} AS h FROM cdrs),
    state AS (
        SELECT 'contact' AS kind, CAST(NULL AS VARCHAR) AS ingress, caller, callee, max(s) AS s
        FROM contact GROUP BY caller, callee
        UNION ALL
        SELECT 'radio', CAST(NULL AS VARCHAR), caller, CAST(NULL AS VARCHAR), max(s)
        FROM radio GROUP BY caller
        UNION ALL
        SELECT 'route', ingress, caller, callee, s FROM route
    )
    SELECT kind, ingress, caller, callee, s FROM state CROSS JOIN horizon
    WHERE horizon.h IS NULL OR state.s > horizon.h
"""
"""The state a run keeps (:data:`STATE_COLUMNS`): what ``{start}`` remembered, this run's
calls and what the walk learnt (``_fc_walk_contact``, ``_fc_walk_routes``), the last
time of each within ``{window}`` seconds before the last call record. The walk's routes
replace the remembered ones of the same route: it went on from them."""


def _keep_state(
    con: duckdb.DuckDBPyConnection,
    history: FirstContactHistory,
    keep_state: str,
    start_from: str | None,
) -> None:
    """Create ``keep_state`` from ``start_from``, this run's calls and ``history``."""
    import pyarrow as pa

    contact = pa.table(
        {
            "pair": pa.array(list(history.contact), pa.int64()),
            "s": pa.array(list(history.contact.values()), pa.float64()),
        }
    )
    routes = [(r, p, s) for r, callees in history.route_callees.items() for p, s in callees.items()]
    route = pa.table(
        {
            "route": pa.array([r for r, _, _ in routes], pa.int64()),
            "pair": pa.array([p for _, p, _ in routes], pa.int64()),
            "s": pa.array([s for _, _, s in routes], pa.float64()),
        }
    )
    con.register("_fc_walk_contact", contact)
    con.register("_fc_walk_routes", route)
    sql = _KEEP_STATE_SQL.format(start=start_from or _NO_STATE, window=repr(history.window_s))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {keep_state} AS {sql}")
    con.unregister("_fc_walk_contact")
    con.unregister("_fc_walk_routes")
