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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from qalqan.detections.settings import RulesFile
from qalqan.domain.model import IngressClass

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "DOMESTIC_FROM_ABROAD",
    "OWN_SUBSCRIBER_AT_HOME",
    "REGISTRY_INBOUND_ONLY",
    "REGISTRY_WRONG_ROUTE",
    "SPOOFING_RULES",
    "UNALLOCATED",
    "SpoofingRule",
    "SpoofingSettings",
    "first_contact_facts",
    "ingress_sql",
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


def _recent(last_seen: dict[str, float], horizon: float, enough: int) -> int:
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


def first_contact_facts(con: duckdb.DuckDBPyConnection, settings: SpoofingSettings) -> None:
    """Add ``contact_known``, ``route_callees``, ``on_our_radio`` and ``first_contact`` to ``inbound``.

    Walks, in time order, the calls that ``spoofed_cli.domestic_from_abroad``
    judges by their history, with the events that make that history: answered
    calls between the same two numbers that no spoofing rule flagged, and calls
    of the same numbers over our radio. A judged call that the rule does not
    flag is itself let through: it establishes its number on its route and,
    answered, is contact. ``route_callees`` counts only up to
    ``established_callees``, which is enough to tell. Needs ``inbound`` with the
    columns of the other spoofing rules, and ``cdrs``.

    Bounded: the events stream from DuckDB in batches, and each judged call
    costs at most ``established_callees`` steps over its number's callees.
    """
    import pyarrow as pa  # here, not at the top: the screening engine imports this module

    flagged = " OR ".join(
        f"({rule.condition})" for rule in SPOOFING_RULES if rule is not DOMESTIC_FROM_ABROAD
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _flagged AS SELECT record_id FROM inbound WHERE {flagged}"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _judged AS
        SELECT i.record_id, epoch(i.t) AS s, i.a_number, i.b_number, i.ingress,
               i.result = 'answered' AS answered, f.record_id IS NOT NULL AS flagged
        FROM inbound i LEFT JOIN _flagged f USING (record_id)
        WHERE {FIRST_CONTACT_CANDIDATE}
        """
    )
    # kind 0: contact between the two numbers; 1: a call over our radio; 2: a judged call.
    events = con.execute(
        f"""
        WITH pairs AS (SELECT DISTINCT a_number, b_number FROM _judged),
        callers AS (SELECT DISTINCT a_number FROM _judged),
        passed AS (
            SELECT epoch(c.start_time) AS s, c.a_number, c.b_number FROM cdrs c
            ANTI JOIN _judged j USING (record_id)
            ANTI JOIN _flagged f USING (record_id)
            WHERE c.result = 'answered' AND c.a_number IS NOT NULL
        )
        SELECT 0 AS kind, p.s, p.a_number, p.b_number, NULL AS ingress, NULL AS record_id,
               false AS answered, false AS flagged
        FROM passed p JOIN pairs USING (a_number, b_number)
        UNION ALL
        SELECT 0, p.s, p.b_number, p.a_number, NULL, NULL, false, false
        FROM passed p JOIN pairs q ON q.a_number = p.b_number AND q.b_number = p.a_number
        UNION ALL
        SELECT 1, epoch(c.start_time), c.a_number, NULL, NULL, NULL, false, false
        FROM cdrs c JOIN callers USING (a_number)
        WHERE {ingress_sql([IngressClass.MOBILE], "split_part(c.ingress, ':', 1)")}
        UNION ALL
        SELECT 2, s, a_number, b_number, ingress, record_id, answered, flagged FROM _judged
        ORDER BY 2, 1
        """
    )
    window = settings.history_window_s
    enough = settings.established_callees
    contact: dict[tuple[str, str], float] = {}
    radio: dict[str, float] = {}
    # per (route, caller): callee → last call let through, oldest first
    route_callees: dict[tuple[str, str], dict[str, float]] = {}
    facts: list[tuple[str, bool, int, bool, bool]] = []
    while rows := events.fetchmany(_EVENTS_AT_ONCE):
        for kind, s, caller, callee, ingress, record_id, answered, flagged_before in rows:
            if kind == 0:
                contact[(caller, callee)] = s
                continue
            if kind == 1:
                radio[caller] = s
                continue
            horizon = s - window
            last = contact.get((caller, callee))
            known = last is not None and last > horizon
            callees = route_callees.setdefault((ingress, caller), {})
            established = _recent(callees, horizon, enough)
            heard = radio.get(caller)
            on_radio = heard is not None and heard > horizon
            first = not known and established < enough and not on_radio
            facts.append((record_id, known, established, on_radio, first))
            if flagged_before or first:
                continue  # intercepted: teaches nothing
            callees.pop(callee, None)
            callees[callee] = s
            if answered:
                contact[(caller, callee)] = s
    con.register(
        "_first_contact",
        pa.table(
            {
                "record_id": pa.array([f[0] for f in facts], pa.string()),
                "contact_known": pa.array([f[1] for f in facts], pa.bool_()),
                "route_callees": pa.array([f[2] for f in facts], pa.int32()),
                "on_our_radio": pa.array([f[3] for f in facts], pa.bool_()),
                "first_contact": pa.array([f[4] for f in facts], pa.bool_()),
            }
        ),
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE inbound AS
        SELECT i.*, f.contact_known, f.route_callees, f.on_our_radio, f.first_contact
        FROM inbound i LEFT JOIN _first_contact f USING (record_id)
        """
    )
    con.unregister("_first_contact")
    con.execute("DROP TABLE _judged")
    con.execute("DROP TABLE _flagged")
