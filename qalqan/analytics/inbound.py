"""Facts about every call that entered from outside: who it claims to be and what backs the claim.

For each call over ``international``, ``voip`` or ``national`` ingress:

- the caller ID's numbering-plan facts (domestic, foreign, unallocated, withheld);
- whether it is one of the operator's own subscribers, and whether that
  subscriber was registered abroad at that moment (``roaming``);
- whether the number is protected in ``registry`` and the call broke its policy;
- the history between caller and callee (calls either way, any ingress) and
  whether the number lives at home (calls from it over national interconnect
  or the radio network);
- how the number range behaved around that moment: its hundred-block's calls in
  the hour (for the call model), and whether the call was part of a one-ring
  burst by what was known at its time (``wangiri_*``, the one definition shared
  with the screening engine: :mod:`qalqan.analytics.wangiri`);
- the route's share of calls whose caller ID could not be genuine.

The facts of a number over the whole data set (its SIM on our radio, its calls at
home, its calls from outside and to whom) are read from partials
(:data:`CALL_PARTIALS`), per-number aggregates that merge across days as those of
the SIMs' features do, so that a daily run (:mod:`qalqan.analytics.incremental`)
can keep them instead of reading the days before.
"""

from __future__ import annotations

import duckdb

from qalqan.analytics.features import Partial, has_table
from qalqan.analytics.numbering import facts_sql_of
from qalqan.analytics.wangiri import wangiri_evidence
from qalqan.detections.spoofing import SpoofingSettings, first_contact_facts
from qalqan.detections.wangiri import WangiriBurst
from qalqan.screening.state import format_window

__all__ = [
    "CALL_PARTIALS",
    "add_number_facts",
    "call_partials",
    "inbound_call_facts",
    "outside_calls_sql",
]

#: The calls from outside, by their ingress class (the calls judged here).
_FROM_OUTSIDE = "split_part(ingress, ':', 1) IN ('international', 'voip', 'national')"

#: The numbers' history over the whole data set, each merged across days as
#: :class:`~qalqan.analytics.features.Partial` says: the least SIM each number was seen
#: calling from over our radio; its calls at home (national interconnect, our radio,
#: fixed lines); its calls from outside per callee, and how many were answered.
CALL_PARTIALS: tuple[Partial, ...] = (
    Partial(
        name="number_imsi",
        keys=("a_number",),
        merge={"a_imsi": "min"},
        select="""SELECT a_number, min(a_imsi) AS a_imsi FROM {cdrs}
                  WHERE ingress = 'mobile' AND a_number IS NOT NULL AND a_imsi IS NOT NULL
                  GROUP BY 1""",
    ),
    Partial(
        name="home_life",
        keys=("a_number",),
        merge={"n": "sum"},
        select="""SELECT a_number, count(*) AS n FROM {cdrs}
                  WHERE split_part(ingress, ':', 1) IN ('national', 'mobile', 'fixed')
                    AND a_number IS NOT NULL
                  GROUP BY 1""",
    ),
    Partial(
        name="cli_callee",
        keys=("a_number", "b_number"),
        merge={"n": "sum", "answered": "sum"},
        select=f"""SELECT a_number, b_number, count(*) AS n,
                          count(*) FILTER (WHERE result = 'answered') AS answered
                   FROM {{cdrs}} WHERE {_FROM_OUTSIDE} AND a_number IS NOT NULL
                   GROUP BY 1, 2""",
    ),
)


def call_partials(
    con: duckdb.DuckDBPyConnection, *, prefix: str = "part_", cdrs: str = "cdrs"
) -> None:
    """Every partial of :data:`CALL_PARTIALS` of the records in ``cdrs``, as ``<prefix><name>``."""
    for partial in CALL_PARTIALS:
        select = partial.select.format(cdrs=cdrs)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {prefix}{partial.name} AS {select}")


def inbound_call_facts(
    con: duckdb.DuckDBPyConnection,
    *,
    local_offset_h: int,
    roaming_known: bool = True,
    spoofing: SpoofingSettings,
    wangiri: WangiriBurst,
    look_back: str | None = None,
    contact_from: str | None = None,
    keep_contact: str | None = None,
) -> None:
    """Create TEMP TABLE ``inbound`` with one row per call from outside and its facts.

    The numbers' history (:data:`CALL_PARTIALS`) is made from ``cdrs`` and dropped
    after, unless the ``part_*`` tables hold it already (a daily run merged them from
    the kept state).

    ``roaming_known`` says whether the data set has a ``roaming`` table: without it
    nobody can tell a roaming subscriber from a spoofed number, and none is flagged.

    Needs TEMP TABLE ``numbers`` from :func:`qalqan.analytics.numbering.number_facts`
    and ``pairs`` (calls per caller/callee pair).

    The facts the spoofing rules read (``cli_subscriber_imsi``, ``roaming_country``,
    ``registry_*``, ``first_contact`` and its parts) follow their one definition in
    :mod:`qalqan.detections.spoofing`, with ``spoofing``'s settings (those of the rules
    file the analysis reads; Wangiri's likewise): each is what was known at the call's time. ``pair_history``,
    ``cli_own_imsi`` and the other model inputs see the whole data set.

    A daily run (:mod:`qalqan.analytics.incremental`), whose ``cdrs`` holds the new days
    alone, says what it read of the days before: ``look_back`` names a table of the kept
    calls from outside just before them (the columns of :func:`outside_calls_sql`), which
    the Wangiri bursts read as well; ``contact_from`` names the first-contact walk's kept
    state to go on from, and ``keep_contact`` a table to create with the walk's state at
    the end of this run (:func:`~qalqan.detections.spoofing.first_contact_facts`).
    ``numbers`` must then hold the numbers of the look-back's calls too.
    """
    made = not has_table(con, CALL_PARTIALS[0].table)
    if made:
        call_partials(con)
    try:
        _inbound(con, local_offset_h, roaming_known, spoofing, wangiri, look_back)
        first_contact_facts(con, spoofing, start_from=contact_from, keep_state=keep_contact)
    finally:
        if made:
            for partial in CALL_PARTIALS:
                con.execute(f"DROP TABLE IF EXISTS {partial.table}")


def _inbound(
    con: duckdb.DuckDBPyConnection,
    local_offset_h: int,
    roaming_known: bool,
    spoofing: SpoofingSettings,
    wangiri: WangiriBurst,
    look_back: str | None,
) -> None:
    """:func:`inbound_call_facts` once the numbers' history is there, but for first contact."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE outside_calls AS {outside_calls_sql('cdrs', local_offset_h)}"
    )
    columns = "record_id, t, dur, event, result, a_number, b_number"
    source = (
        "outside_calls"
        if look_back is None
        else f"(SELECT {columns} FROM outside_calls UNION ALL SELECT {columns} FROM {look_back})"
    )
    wangiri_evidence(con, wangiri, source=source)
    grace = f"INTERVAL {round(spoofing.roaming_grace_s)} SECOND"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE inbound AS
        WITH
        -- our subscribers: the register, and every number seen calling over our radio
        own AS (
            SELECT msisdn, min(imsi) AS imsi FROM (
                SELECT msisdn, imsi FROM subscribers
                UNION ALL
                SELECT a_number, a_imsi FROM part_number_imsi
            ) GROUP BY msisdn
        ),
        -- our subscribers as the operator lists them: whose roaming the spoofing rules check
        listed AS (SELECT msisdn, min(imsi) AS imsi FROM subscribers GROUP BY msisdn),
        abroad AS (
            SELECT c.record_id, min(r.country) AS roaming_country
            FROM outside_calls c LEFT JOIN listed l ON l.msisdn = c.a_number
            LEFT JOIN own o ON o.msisdn = c.a_number
            JOIN roaming r ON r.imsi = coalesce(l.imsi, o.imsi)
             AND c.t BETWEEN r.start_time - {grace} AND r.end_time + {grace}
            GROUP BY c.record_id
        ),
        reg AS (
            SELECT number, min(owner) AS owner, list(policy) AS policies,
                   list_sort(list(DISTINCT substr(policy, 7)) FILTER (WHERE policy LIKE 'route:%')) AS routes,
                   count(*) FILTER (WHERE policy LIKE 'route:%') AS n_routes
            FROM registry GROUP BY number
        ),
        -- the pairs of these calls' numbers, either way round: a small part of all the pairs,
        -- so that neither join below builds on every pair of the data set
        pair_out AS (
            SELECT a_number, b_number, n FROM pairs
            WHERE a_number IN (SELECT a_number FROM outside_calls)
        ),
        pair_back AS (
            SELECT a_number, b_number, n FROM pairs
            WHERE b_number IN (SELECT a_number FROM outside_calls)
              AND a_number IN (SELECT b_number FROM outside_calls)
        ),
        home_life AS (SELECT a_number, n FROM part_home_life),
        cli_stats AS (
            -- a callee left empty is no callee (count of the column, not of the rows)
            SELECT a_number, CAST(sum(n) AS BIGINT) AS cli_calls, count(b_number) AS cli_callees,
                   sum(answered) / sum(n) AS cli_answer_rate
            FROM part_cli_callee GROUP BY 1
        ),
        -- each range's calls, callees and share of unanswered calls in the hour, counted per
        -- callee first: one grouping in two steps, not a distinct count beside the others
        bursts AS (
            SELECT cli_range, h, CAST(sum(n) AS BIGINT) AS n, count(b_number) AS callees,
                   sum(unanswered) / sum(n) AS unanswered
            FROM (
                SELECT cli_range, date_trunc('hour', t) AS h, b_number, count(*) AS n,
                       count(*) FILTER (WHERE dur = 0 AND result <> 'answered') AS unanswered
                FROM outside_calls WHERE cli_range IS NOT NULL GROUP BY 1, 2, 3
            ) AS per_callee GROUP BY 1, 2
        )
        SELECT c.*,
               n.region AS cli_region, coalesce(n.valid, false) AS cli_valid,
               coalesce(n.domestic, false) AS cli_domestic,
               c.a_number IS NULL AS cli_withheld,
               o.imsi AS cli_own_imsi,
               l.imsi AS cli_subscriber_imsi,
               {bool(roaming_known)} AS roaming_known,
               a.roaming_country,
               reg.owner AS registry_owner,
               list_contains(reg.policies, 'inbound_only') AS registry_inbound_only,
               reg.policies IS NOT NULL
                   AND NOT list_contains(reg.policies, 'inbound_only')
                   AND reg.n_routes > 0
                   AND NOT list_contains(reg.routes, c.ingress) AS registry_wrong_route,
               array_to_string(reg.routes, ', ') AS registry_routes,
               coalesce(p1.n, 0) + coalesce(p2.n, 0) - 1 AS pair_history,
               coalesce(hl.n, 0) AS cli_home_calls,
               reg.policies IS NOT NULL AND list_contains(reg.policies, 'route:' || c.ingress) AS registry_verified_route,
               cs.cli_calls, cs.cli_callees, cs.cli_answer_rate,
               b.n AS range_calls_hour, b.callees AS range_callees_hour, b.unanswered AS range_unanswered_hour,
               w.wangiri_state, w.wangiri_range, w.wangiri_callees, w.wangiri_ended,
               w.wangiri_one_ring, '{format_window(wangiri.window_s)}' AS wangiri_window
        FROM outside_calls c
        LEFT JOIN numbers n ON n.number = c.a_number
        LEFT JOIN own o ON o.msisdn = c.a_number
        LEFT JOIN listed l ON l.msisdn = c.a_number
        LEFT JOIN abroad a USING (record_id)
        LEFT JOIN reg ON reg.number = c.a_number
        LEFT JOIN pair_out p1 ON p1.a_number = c.a_number AND p1.b_number = c.b_number
        LEFT JOIN pair_back p2 ON p2.a_number = c.b_number AND p2.b_number = c.a_number
        LEFT JOIN home_life hl ON hl.a_number = c.a_number
        LEFT JOIN cli_stats cs ON cs.a_number = c.a_number
        LEFT JOIN bursts b ON b.cli_range = c.cli_range AND b.h = date_trunc('hour', c.t)
        LEFT JOIN wangiri_evidence w USING (record_id)
        """
    )
    con.execute("DROP TABLE outside_calls")


def add_number_facts(con: duckdb.DuckDBPyConnection, table: str, home: str, *, calls: str) -> None:
    """Add to ``table`` (:func:`~qalqan.analytics.numbering.number_facts`) the facts of the
    caller IDs of the table named ``calls`` that it lacks (a daily run's look-back)."""
    missing = f"""SELECT DISTINCT c.a_number AS number FROM {calls} c
                  ANTI JOIN {table} n ON n.number = c.a_number WHERE c.a_number IS NOT NULL"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _missing_numbers AS {missing}")
    sql = facts_sql_of(con, "_missing_numbers")
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM ({sql}) AS facts", [home])
    con.execute("DROP TABLE _missing_numbers")


def outside_calls_sql(cdrs: str, local_offset_h: int) -> str:
    """SQL: the calls over ``international``, ``voip`` or ``national`` ingress of the table
    named ``cdrs``, with what the facts and the Wangiri evidence read of them (read once)."""
    return f"""
        SELECT c.record_id, c.start_time AS t, c.duration_s AS dur, c.event, c.result,
               c.a_number, c.b_number, c.ingress,
               split_part(c.ingress, ':', 1) AS ingress_class,
               c.b_imsi,
               (hour(c.start_time) + {int(local_offset_h)} + 24) % 24 AS local_hour,
               -- number range: the caller ID without its last two digits
               CASE WHEN c.a_number IS NOT NULL THEN left(c.a_number, length(c.a_number) - 2) END AS cli_range
        FROM {cdrs} c
        WHERE split_part(c.ingress, ':', 1) IN ('international', 'voip', 'national')
    """
