"""Judge the calls that entered from outside, and the calls of SIMs judged to be SIM boxes.

Rules come first where they are clearer than any model, each with the reason an
operator reads:

- ``spoofed_cli.registry_inbound_only`` — a protected number that never calls out;
- ``spoofed_cli.registry_wrong_route`` — a protected number outside its registered route;
- ``spoofed_cli.own_subscriber_at_home`` — one of our subscribers' numbers arriving
  from abroad while the subscriber is at home (a roaming subscriber is *not* flagged);
- ``spoofed_cli.domestic_from_abroad`` — a domestic number arriving from abroad, not
  ours (so its roaming cannot be checked) and with no contact with the callee before;
- ``spoofed_cli.unallocated`` — a number in no allocated range;
- ``wangiri.one_ring_burst`` — a one-ring burst from one number range, by what was known at the
  call's time, defined once for this analysis and the screening engine
  (:mod:`qalqan.detections.wangiri`).

The five ``spoofed_cli`` rules are defined once, for this analysis and the screening
engine alike, in :mod:`qalqan.detections.spoofing`: each judges a call from what was
known at its time.

Calls that no rule settles are scored by a model trained on simulated traffic,
from what surrounds them: the route's and the callee's share of rule-flagged
calls at that time, the caller's history, the time of day.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

import duckdb

from qalqan.detections.spoofing import SPOOFING_RULES, UNALLOCATED, SpoofingRule
from qalqan.domain.messages import MESSAGES
from qalqan.domain.model import CallVerdict

__all__ = [
    "CALLEE_DAYS",
    "CALL_FEATURES",
    "CALL_RULES",
    "FLAGGED_CALLS",
    "VERDICT_STATE",
    "call_features",
    "reason_sql",
    "said_sql",
]

_WANGIRI_FACTS: Mapping[str, str] = {
    "range": "wangiri_range",
    "window": "wangiri_window",
    "callees": "wangiri_callees",
}
"""A one-ring burst's facts, as the screening rule says them (:mod:`qalqan.detections.wangiri`)."""


_NOT_VERIFIED = "NOT coalesce(registry_verified_route, false)"
"""A protected number through its own registered route is the genuine caller (the engine's
``trusted_caller.registered_route``): a bank's outbound line rings thousands of customers an
hour, many of whom do not answer, and is no one-ring burst."""


def _spoofed(rule: SpoofingRule) -> tuple[str, CallVerdict, str, str, Mapping[str, str]]:
    return (rule.id, CallVerdict.SPOOFED, rule.condition, rule.key, rule.facts)


#: (rule id, verdict, SQL condition over ``inbound``, message key, its facts as SQL over ``inbound``).
#: The reason's English text is the key's template filled in SQL (:func:`said_sql`), so the text
#: and the facts in ``reason_facts`` cannot disagree.
CALL_RULES: tuple[tuple[str, CallVerdict, str, str, Mapping[str, str]], ...] = (
    *(_spoofed(rule) for rule in SPOOFING_RULES if rule is not UNALLOCATED),
    (
        "wangiri.one_ring_burst",
        CallVerdict.FRAUD,
        f"wangiri_state = 'confirmed' AND {_NOT_VERIFIED}",
        "wangiri.one_ring_burst",
        {**_WANGIRI_FACTS, "one_ring": "wangiri_one_ring", "ended": "wangiri_ended"},
    ),
    (
        "wangiri.one_ring_burst",
        CallVerdict.FRAUD,
        f"wangiri_state = 'continues' AND {_NOT_VERIFIED}",
        "wangiri.one_ring_burst.continues",
        _WANGIRI_FACTS,
    ),
    (
        # in hindsight only: the first calls of a burst, before anyone could tell
        "wangiri.burst_opening",
        CallVerdict.FRAUD,
        f"wangiri_state = 'opening' AND {_NOT_VERIFIED}",
        "analysis.call.wangiri_opening",
        {"range": "wangiri_range", "window": "wangiri_window", "callees": "wangiri_callees"},
    ),
    # after the bursts: a one-ring burst from an unallocated range is told as the burst it is
    _spoofed(UNALLOCATED),
)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def said_sql(key: str, facts: Mapping[str, str]) -> tuple[str, str]:
    """SQL for the English text of message ``key`` and for its facts as a JSON object.

    ``facts`` maps each field of the template to an SQL expression; every value is
    cast to text once, the same way in both, so rendering the facts with the
    English template gives back the text. Like any ``||``, the text is NULL
    when a fact is.
    """
    template = MESSAGES[key]["en"]
    pieces: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            pieces.append(_quoted(literal))
        if name is not None:
            pieces.append(f"CAST(({facts[name]}) AS VARCHAR)")
    text = " || ".join(pieces) if pieces else "''"
    members = ", ".join(
        f"{_quoted(name)}, CAST(({expr}) AS VARCHAR)" for name, expr in facts.items()
    )
    return text, f"json_object({members})"


def reason_sql(rule: str, weight: str, key: str, facts: str) -> str:
    """SQL for a one-reason ``reason_facts`` cell, as :func:`~qalqan.domain.messages.reasons_cell`
    writes it: ``[{"rule":..,"key":..,"facts":{..},"weight":..}]``; each argument is SQL."""
    return (
        "CAST(json_array(json_object("
        f"'rule', {rule}, 'key', {key}, 'facts', {facts}, 'weight', CAST(({weight}) AS DOUBLE)"
        ")) AS VARCHAR)"
    )


CALL_FEATURES: tuple[str, ...] = (
    "cli_withheld",
    "cli_domestic",
    "cli_foreign",
    "cli_valid",
    "cli_own",
    "cli_roaming",
    "registry_verified_route",
    "pair_history",
    "cli_home_calls",
    "cli_calls",
    "cli_callees",
    "cli_answer_rate",
    "range_calls_hour",
    "range_unanswered_hour",
    "route_flag_share",
    "route_hour_flag_share",
    "callee_flagged_calls",
    "callee_elderly",
    "local_hour",
    "answered",
    "duration_s",
    "ingress_international",
    "ingress_voip",
    "ingress_national",
)


VERDICT_STATE: tuple[str, ...] = ("route_flags", "route_hour_flags", "worked_pairs")
"""What :func:`call_features` makes of the whole data set and a daily run keeps, as tables
of that name: the calls and rule-flagged calls of each route (``ingress``) and of each
route and hour of the day (``h``), the sums :data:`CALL_FEATURES`'s route shares are made
of; and the callers and callees of the calls whose callee was being worked, a set that
only grows."""
FLAGGED_CALLS = "flagged_calls"
"""The table of the rule-flagged calls from outside (``b_number``, ``t``) that the callees'
other flagged calls count (:func:`call_features`); one-ring bursts left out."""
CALLEE_DAYS = 3
"""``callee_flagged_calls`` counts a callee's other flagged calls this many days either side."""


def call_features(con: duckdb.DuckDBPyConnection, *, kept: str | None = None) -> None:
    """Create TEMP TABLE ``call_facts``: ``inbound`` plus the first rule that fired (with its
    reason's text, message key and facts) and the model inputs.

    Also the tables of :data:`VERDICT_STATE` over the whole data set and
    :data:`FLAGGED_CALLS` of ``inbound``'s calls. A daily run, whose ``inbound`` holds the
    new days' calls alone, names with ``kept`` the prefix of what it kept of the days
    before: ``<kept>route_flags``, ``<kept>route_hour_flags`` and ``<kept>worked_pairs``
    (those tables of the days before), ``<kept>flagged_calls`` (the flagged calls of the
    :data:`CALLEE_DAYS` days before) and ``<kept>outside`` (every call from outside of those
    days: ``a_number``, ``b_number``, ``t``), so that each new call's facts are those of
    one run over every day: the route shares sum the kept counts and the new; the callee's
    flagged calls are the new and the kept; and a kept call whose callee a new flagged
    call works makes its pair worked.
    """
    cases = " ".join(f"WHEN {cond} THEN '{rule}'" for rule, _, cond, _, _ in CALL_RULES)
    verdicts = " ".join(f"WHEN {cond} THEN '{verdict}'" for _, verdict, cond, _, _ in CALL_RULES)
    said = [(cond, key, *said_sql(key, facts)) for _, _, cond, key, facts in CALL_RULES]
    details = " ".join(f"WHEN {cond} THEN {text}" for cond, _, text, _ in said)
    keys = " ".join(f"WHEN {cond} THEN {_quoted(key)}" for cond, key, _, _ in said)
    facts = " ".join(f"WHEN {cond} THEN {json}" for cond, _, _, json in said)
    year = con.execute("SELECT coalesce(year(max(start_time)), 2000) FROM cdrs").fetchall()[0][0]
    elderly_year = int(year) - 65
    # A view, not a table: the route counts and the flagged calls read a column or two of it
    # and the call facts read it once, so copying every call's every fact costs more than the
    # rule conditions evaluated again.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW call_ruled AS
        SELECT i.*,
               CASE {cases} END AS rule,
               CASE {verdicts} END AS rule_verdict,
               CASE {details} END AS rule_detail,
               CASE {keys} END AS rule_key,
               CASE {facts} END AS rule_facts
        FROM inbound i
        """
    )
    _route_flags(con, kept)
    # A one-ring burst is the range's doing, not the carrier's nor the callee's: its calls
    # (which ring nearly everyone, over every carrier) are left out of what speaks of either.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {FLAGGED_CALLS} AS
            SELECT b_number, t FROM call_ruled WHERE rule IS NOT NULL AND wangiri_state IS NULL"""
    )
    flagged = (
        FLAGGED_CALLS
        if kept is None
        else f"(SELECT b_number, t FROM {FLAGGED_CALLS} UNION ALL SELECT b_number, t FROM {kept}{FLAGGED_CALLS})"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE call_facts AS
        WITH route_share AS (
            SELECT ingress, CAST(flagged AS DOUBLE) / calls AS route_flag_share FROM route_flags
        ),
        route_hour AS (
            SELECT ingress, h, CAST(flagged AS DOUBLE) / calls AS route_hour_flag_share
            FROM route_hour_flags
        ),
        callee_flags AS (
            SELECT c.record_id, count(f.t) AS callee_flagged_calls
            FROM call_ruled c JOIN {flagged} f
              ON f.b_number = c.b_number
             AND f.t BETWEEN c.t - INTERVAL {CALLEE_DAYS} DAY AND c.t + INTERVAL {CALLEE_DAYS} DAY
             AND f.t <> c.t
            GROUP BY 1
        )
        SELECT c.*,
               CAST(cli_withheld AS INT) AS cli_withheld_f,
               CAST(cli_domestic AS INT) AS cli_domestic_f,
               CAST(NOT cli_domestic AND NOT cli_withheld AS INT) AS cli_foreign,
               CAST(cli_valid AS INT) AS cli_valid_f,
               CAST(cli_own_imsi IS NOT NULL AS INT) AS cli_own,
               CAST(roaming_country IS NOT NULL AS INT) AS cli_roaming,
               CAST(coalesce(registry_verified_route, false) AS INT) AS registry_verified_route_f,
               rs.route_flag_share, rh.route_hour_flag_share,
               coalesce(cf.callee_flagged_calls, 0) AS callee_flagged_calls,
               CAST(coalesce(s.birth_year <= {elderly_year}, false) AS INT) AS callee_elderly,
               CAST(result = 'answered' AS INT) AS answered,
               dur AS duration_s,
               CAST(ingress_class = 'international' AS INT) AS ingress_international,
               CAST(ingress_class = 'voip' AS INT) AS ingress_voip,
               CAST(ingress_class = 'national' AS INT) AS ingress_national
        FROM call_ruled c
        LEFT JOIN route_share rs USING (ingress)
        LEFT JOIN route_hour rh ON rh.ingress = c.ingress AND rh.h = hour(c.t)
        LEFT JOIN callee_flags cf USING (record_id)
        LEFT JOIN subscribers s ON s.msisdn = c.b_number
        """
    )
    _worked_pairs(con, kept)


def _route_flags(con: duckdb.DuckDBPyConnection, kept: str | None) -> None:
    """``route_flags`` and ``route_hour_flags``: calls and rule-flagged calls of each route,
    and of each route and hour of the day, one-ring bursts left out; with ``kept``, summed
    with the kept ones."""
    for table, keys in (("route_flags", "ingress"), ("route_hour_flags", "ingress, h")):
        counted = f"""SELECT {keys}, count(*) AS calls, count(rule) AS flagged
                      FROM (SELECT ingress, hour(t) AS h, rule FROM call_ruled
                            WHERE wangiri_state IS NULL) AS c
                      GROUP BY {keys}"""
        if kept is not None:
            counted = f"""SELECT {keys}, sum(calls) AS calls, sum(flagged) AS flagged FROM (
                              SELECT {keys}, calls, flagged FROM ({counted}) AS n
                              UNION ALL SELECT {keys}, calls, flagged FROM {kept}{table}
                          ) AS both_ GROUP BY {keys}"""
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {table} AS
                SELECT {keys}, CAST(calls AS BIGINT) AS calls, CAST(flagged AS BIGINT) AS flagged
                FROM ({counted}) AS counted"""
        )


def _worked_pairs(con: duckdb.DuckDBPyConnection, kept: str | None) -> None:
    """``worked_pairs``: the caller ID and callee of every call whose callee got other flagged
    calls within :data:`CALLEE_DAYS` days; with ``kept``, the kept pairs too, and those of
    the kept calls (``<kept>outside``) whose callee a new flagged call works."""
    pairs = """SELECT a_number, b_number FROM call_facts
               WHERE a_number IS NOT NULL AND b_number IS NOT NULL AND callee_flagged_calls >= 1"""
    if kept is not None:
        pairs = f"""{pairs}
            UNION ALL SELECT a_number, b_number FROM {kept}worked_pairs
            UNION ALL
            SELECT o.a_number, o.b_number FROM {kept}outside o SEMI JOIN {FLAGGED_CALLS} f
              ON f.b_number = o.b_number AND f.t <= o.t + INTERVAL {CALLEE_DAYS} DAY
            WHERE o.a_number IS NOT NULL AND o.b_number IS NOT NULL"""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE worked_pairs AS SELECT DISTINCT * FROM ({pairs}) AS w"
    )


def model_matrix_sql() -> str:
    """SELECT list giving CALL_FEATURES from ``call_facts`` in order."""
    renamed = {
        "cli_withheld": "cli_withheld_f",
        "cli_domestic": "cli_domestic_f",
        "cli_valid": "cli_valid_f",
        "registry_verified_route": "registry_verified_route_f",
    }
    return ", ".join(f"CAST({renamed.get(f, f)} AS DOUBLE) AS {f}" for f in CALL_FEATURES)
