"""Per-SIM behaviour features, computed in DuckDB from call records.

Each feature says in its name what it measures (``imei_max_sims_per_day``:
the most distinct SIMs seen in one handset in one day). They cover what an
analyst looks at to tell a SIM box from a person: outgoing/incoming balance,
distinct callees and calls per callee, talk time and answer rate, SMS, cell
diversity and static location, IMEI↔IMSI sharing, SIM age and activation
batches, owners with many SIMs, time of day and bursts, who calls back, and
who the SIM's contacts are.

Local time is the network's own: its offset from UTC is estimated from the
quietest hour of the day (people sleep around 3 a.m.), so nothing here
assumes a country.

The work is done in two phases so that history need not be read again:

1. **Partials** (``part_*`` tables, :data:`PARTIALS`): aggregates of the call
   records per SIM, per SIM and hour of the day, per SIM and callee, per SIM and
   cell, per SIM and handset, per handset (its busiest day), per pair of numbers,
   per answered talk time … Each merges exactly with the same partial of other
   days by sums, minima, maxima and unions, so partials of months can be kept and
   a new day added to them. Other days means days apart: a SIM's distinct active
   days and hours, and a handset's SIMs on its busiest day, are counted over the
   records of each day whole, so the parts of a merge never share a day.
2. **Features** from the merged partials, one row per SIM.

A full run is the partials of every day at once. Where the features name one
of several equals (the main site, the busiest handset), the most used wins and
ties go to the smallest identifier, so that a run never picks at random.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from qalqan.screening.config import YOUNG_SIM_DAYS

__all__ = [
    "FEATURES",
    "FEATURE_DESCRIPTIONS",
    "PARTIALS",
    "KeptYouth",
    "Partial",
    "day_partials",
    "estimate_local_offset",
    "features_from_partials",
    "has_table",
    "merge_partials",
    "mobile_originated",
    "record_partials",
    "sim_features",
]

#: Model inputs, in order. Every one is numeric; missing means unknown.
FEATURES: tuple[str, ...] = (
    "voice_out",
    "sms_out",
    "voice_in",
    "sms_in",
    "out_in_ratio",
    "distinct_callees",
    "calls_per_callee",
    "repeat_callee_share",
    "callback_share",
    "answer_rate",
    "failed_share",
    "talk_median_s",
    "short_answered_share",
    "active_days",
    "lifespan_h",
    "calls_per_active_hour",
    "night_share",
    "distinct_cells",
    "distinct_sites",
    "main_site_share",
    "distinct_imeis",
    "imei_max_sims",
    "imei_max_sims_per_day",
    "age_days",
    "owner_sims",
    "batch_sims",
    "plan_corporate",
    "plan_m2m",
    "site_young_sims_per_day",
    "young_contact_share",
    "elderly_callee_share",
)


#: The features in plain words, for the model's explanations.
FEATURE_DESCRIPTIONS: dict[str, str] = {
    "voice_out": "voice calls made",
    "sms_out": "SMS sent",
    "voice_in": "voice calls received",
    "sms_in": "SMS received",
    "out_in_ratio": "calls and SMS made per one received",
    "distinct_callees": "different numbers called",
    "calls_per_callee": "calls per number called",
    "repeat_callee_share": "share of numbers called more than once",
    "callback_share": "share of called numbers that ever called back",
    "answer_rate": "share of its calls answered",
    "failed_share": "share of its calls to unassigned numbers",
    "talk_median_s": "median talk time, seconds",
    "short_answered_share": "share of answered calls shorter than 30 s",
    "active_days": "days with calls",
    "lifespan_h": "hours from first to last call",
    "calls_per_active_hour": "calls per active hour",
    "night_share": "share of calls at night (0-6 local)",
    "distinct_cells": "different cells used",
    "distinct_sites": "different sites used",
    "main_site_share": "share of calls from its main site",
    "distinct_imeis": "different handsets (IMEIs) used",
    "imei_max_sims": "most SIMs seen in one of its handsets",
    "imei_max_sims_per_day": "most SIMs seen in one of its handsets in one day",
    "age_days": "days from activation to first call",
    "owner_sims": "SIMs registered to the same owner",
    "batch_sims": "SIMs activated the same day with neighbouring IMSIs",
    "plan_corporate": "corporate plan",
    "plan_m2m": "M2M plan",
    "site_young_sims_per_day": "young SIMs calling from the same site on one day",
    "young_contact_share": "share of contacts that are young SIMs",
    "elderly_callee_share": "share of called people over 65",
}


_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 24 * _US_PER_HOUR


def _floor_mod(value: str, by: int) -> str:
    """SQL: ``value`` modulo ``by``, from 0 to ``by - 1`` also for a time before 1970 (SQL's
    ``%`` keeps the sign of what it divides)."""
    return f"(({value}) % {by} + {by}) % {by}"


def utc_hour_of_day_sql(t: str) -> str:
    """SQL: the hour of the day (0-23, UTC) of the time ``t``, as ``hour(t)`` gives it in a
    session in UTC, from the time's microseconds: no time zone's calendar is asked per row,
    which costs several times the arithmetic over millions of call records."""
    return f"({_floor_mod(f'epoch_us({t})', _US_PER_DAY)} // {_US_PER_HOUR})"


def utc_hours_sql(t: str) -> str:
    """SQL: the whole hours from 1970 to the time ``t`` (one number per ``date_trunc('hour', t)``)."""
    return f"((epoch_us({t}) - {_floor_mod(f'epoch_us({t})', _US_PER_HOUR)}) // {_US_PER_HOUR})"


def utc_days_sql(t: str) -> str:
    """SQL: the whole days from 1970 to the time ``t`` (one number per ``CAST(t AS DATE)``)."""
    return f"((epoch_us({t}) - {_floor_mod(f'epoch_us({t})', _US_PER_DAY)}) // {_US_PER_DAY})"


def utc_date_sql(t: str) -> str:
    """SQL: the date (UTC) of the time ``t``, as ``CAST(t AS DATE)`` gives it in UTC."""
    return f"(DATE '1970-01-01' + CAST({utc_days_sql(t)} AS INTEGER))"


def estimate_local_offset(con: duckdb.DuckDBPyConnection) -> int:
    """Hours to add to UTC for local time: the quietest hour of own subscribers' calls is 3 a.m."""
    rows = con.execute(
        f"""SELECT {utc_hour_of_day_sql("start_time")} AS h, count(*) AS n FROM cdrs
            WHERE ingress = 'mobile' GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    if len(rows) < 24:
        return 0
    counts = [n for _, n in rows]
    # smooth over three hours so that one noisy hour does not decide
    smooth = [counts[h - 1] + counts[h] + counts[(h + 1) % 24] for h in range(24)]
    quietest = min(range(24), key=lambda h: smooth[h])
    offset = (3 - quietest) % 24
    return offset - 24 if offset > 14 else offset


@dataclass(frozen=True, kw_only=True)
class Partial:
    """One mergeable aggregate of call records: ``part_<name>`` with its key and how to merge.

    ``select`` computes it from ``{mo}`` (the SIMs' own records), ``{cdrs}``,
    ``{handset_days}`` (:data:`HANDSET_DAYS` of ``{mo}``) or ``{sim_to_sim}`` (that
    partial of the same records, made before it); ``merge``
    names the aggregate that combines each value column across days (``sum``, ``min``,
    ``max``). A partial without values is a set: merging is a union.
    """

    name: str
    keys: tuple[str, ...]
    merge: dict[str, str]
    select: str

    @property
    def table(self) -> str:
        """The table that holds it."""
        return f"part_{self.name}"


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the engine holds a table or view ``name`` (partials a daily run merged already).

    Asked of the engine's catalog, so that a query failing for another reason (memory, a
    busy connection) is never taken for an absent table.
    """
    on_spark = getattr(con, "has_table", None)  # SparkConnection asks Spark's catalog
    if on_spark is not None:
        return bool(on_spark(name))
    found = con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE table_name = ?"
        " UNION ALL SELECT 1 FROM duckdb_views() WHERE view_name = ?",
        [name, name],
    ).fetchall()
    return bool(found)


#: Each SIM in each handset on each day it was seen there, once: both partials of the
#: handsets read it, so that the records are grouped by handset once, not twice.
HANDSET_DAYS = f"""SELECT DISTINCT imsi, imei, {utc_days_sql("t")} AS d FROM {{mo}}
                   WHERE imei IS NOT NULL"""

#: The partials, each from one pass over the records (or over :data:`HANDSET_DAYS`, or
#: ``sim_to_sim`` made before it); see the module docstring.
PARTIALS: tuple[Partial, ...] = (
    Partial(
        # The days and hours of a new day's records are never in the partial of the days
        # before it, so the counts of distinct days and hours add up like the others.
        name="sim_activity",
        keys=("imsi",),
        merge={
            "msisdn_seen": "min",
            "voice_out": "sum",
            "sms_out": "sum",
            "voice_answered": "sum",
            "voice_failed": "sum",
            "answered_short": "sum",
            "originated": "sum",
            "night": "sum",
            "first_seen": "min",
            "last_seen": "max",
            "active_days": "sum",
            "active_hours": "sum",
        },
        # The active hours are found per SIM and day, as a mask of that day's 24 hours (one bit
        # each): a SIM's active days are its days, its active hours the bits of their masks.
        # Far fewer groups than the distinct hours themselves (nearly one per record).
        select=f"""
        WITH calls AS (
            SELECT imsi, min(a_number) AS msisdn_seen,
                   count(*) FILTER (WHERE event = 'voice') AS voice_out,
                   count(*) FILTER (WHERE event = 'sms') AS sms_out,
                   count(*) FILTER (WHERE event = 'voice' AND result = 'answered') AS voice_answered,
                   count(*) FILTER (WHERE event = 'voice' AND result = 'failed') AS voice_failed,
                   count(*) FILTER (WHERE event = 'voice' AND result = 'answered' AND dur < 30)
                       AS answered_short,
                   count(*) AS originated,
                   count(*) FILTER (WHERE local_hour < 6) AS night,
                   min(t) AS first_seen, max(t) AS last_seen
            FROM {{mo}} GROUP BY 1
        ),
        days AS (
            SELECT imsi, bit_or(CAST(1 AS INTEGER) << CAST({utc_hour_of_day_sql("t")} AS INTEGER))
                       AS hours
            FROM {{mo}} WHERE t IS NOT NULL GROUP BY imsi, {utc_days_sql("t")}
        ),
        active AS (
            SELECT imsi, count(*) AS active_days, CAST(sum(bit_count(hours)) AS BIGINT) AS active_hours
            FROM days GROUP BY 1
        )
        SELECT c.imsi, c.msisdn_seen, c.voice_out, c.sms_out, c.voice_answered, c.voice_failed,
               c.answered_short, c.originated, c.night, c.first_seen, c.last_seen,
               coalesce(a.active_days, 0) AS active_days,
               coalesce(a.active_hours, 0) AS active_hours
        FROM calls c LEFT JOIN active a ON a.imsi = c.imsi""",
    ),
    Partial(
        name="sim_hour_of_day",
        keys=("imsi", "hour"),
        merge={"originated": "sum"},
        select=f"""SELECT imsi, {utc_hour_of_day_sql("t")} AS hour, count(*) AS originated
                   FROM {{mo}} GROUP BY 1, 2""",
    ),
    Partial(
        name="sim_callee",
        keys=("imsi", "b_number"),
        merge={"n": "sum"},
        select="""SELECT imsi, b_number, count(*) AS n FROM {mo}
                  WHERE event = 'voice' AND b_number IS NOT NULL GROUP BY 1, 2""",
    ),
    Partial(
        name="sim_cell",
        keys=("imsi", "cell", "site"),
        merge={"n": "sum"},
        select="SELECT imsi, cell, site, count(*) AS n FROM {mo} GROUP BY 1, 2, 3",
    ),
    Partial(
        name="sim_talk",
        keys=("imsi", "dur"),
        merge={"n": "sum"},
        select="""SELECT imsi, dur, count(*) AS n FROM {mo}
                  WHERE event = 'voice' AND result = 'answered' AND dur IS NOT NULL GROUP BY 1, 2""",
    ),
    Partial(
        name="sim_imei",
        keys=("imsi", "imei"),
        merge={},
        select="SELECT DISTINCT imsi, imei FROM {handset_days}",
    ),
    Partial(
        # a day's SIMs in one handset are all in that day's records: the most of a new
        # day is that of its records alone, and the most of all days the largest of those
        name="imei_day_sims",
        keys=("imei",),
        merge={"most_sims": "max"},
        select="""SELECT imei, max(n) AS most_sims FROM (
                      SELECT imei, d, count(imsi) AS n FROM {handset_days} GROUP BY 1, 2
                  ) x GROUP BY 1""",
    ),
    Partial(
        name="sim_site_day",
        keys=("imsi", "site", "d"),
        merge={},
        select=f"SELECT DISTINCT imsi, site, {utc_date_sql('t')} AS d FROM {{mo}}",
    ),
    Partial(
        # who called or texted which SIM, in its direction: the farms' ties (a farm grows
        # by it) and the pairs that ``sim_contact`` turns both ways
        name="sim_to_sim",
        keys=("imsi", "b_imsi"),
        merge={},
        select="SELECT DISTINCT imsi, b_imsi FROM {mo} WHERE b_imsi IS NOT NULL",
    ),
    Partial(
        name="sim_contact",
        keys=("imsi", "other"),
        merge={},
        # each pair of SIMs once (``sim_to_sim`` of the same days), then turned the other way
        # where it is not there that way already: no second pass to make every row distinct
        select="""SELECT imsi, b_imsi AS other FROM {sim_to_sim}
                  UNION ALL
                  SELECT c.b_imsi AS imsi, c.imsi AS other FROM {sim_to_sim} c
                  ANTI JOIN {sim_to_sim} back ON back.imsi = c.b_imsi AND back.b_imsi = c.imsi""",
    ),
    Partial(
        name="sim_in",
        keys=("imsi",),
        merge={"voice_in": "sum", "sms_in": "sum"},
        select="""SELECT b_imsi AS imsi,
                         count(*) FILTER (WHERE event = 'voice') AS voice_in,
                         count(*) FILTER (WHERE event = 'sms') AS sms_in
                  FROM {cdrs} WHERE b_imsi IS NOT NULL GROUP BY 1""",
    ),
    Partial(
        name="pairs",
        keys=("a_number", "b_number"),
        merge={"n": "sum"},
        select="""SELECT a_number, b_number, count(*) AS n FROM {cdrs}
                  WHERE a_number IS NOT NULL GROUP BY 1, 2""",
    ),
)


def sim_features(
    con: duckdb.DuckDBPyConnection, *, local_offset_h: int, young_sim_days: float = YOUNG_SIM_DAYS
) -> pa.Table:
    """One row per SIM that originated anything over the radio network, with every feature.

    A SIM is young when it first called at most ``young_sim_days`` after its activation:
    the screening configuration's ``network.young_sim_days``, the one definition that
    the real-time rules use too. ``sim_age`` keeps the verdict (``young``) for the
    reasons and the farms.
    """
    record_partials(con, local_offset_h=local_offset_h)
    return features_from_partials(con, young_sim_days=young_sim_days)


def record_partials(
    con: duckdb.DuckDBPyConnection,
    *,
    local_offset_h: int,
    prefix: str = "part_",
    cdrs: str = "cdrs",
) -> None:
    """``mo`` and ``sim_subscriber`` from the staged tables, and the partials of their days.

    ``cdrs`` names the call records to read (the staged ``cdrs``, or some days of them).
    """
    mobile_originated(con, local_offset_h=local_offset_h, cdrs=cdrs)
    day_partials(con, prefix=prefix, cdrs=cdrs)


def day_partials(
    con: duckdb.DuckDBPyConnection,
    *,
    prefix: str = "part_",
    mo: str = "mo",
    cdrs: str = "cdrs",
    partials: Sequence[Partial] = PARTIALS,
) -> None:
    """Every partial of ``partials`` (all of :data:`PARTIALS`) of the records in ``mo`` and
    ``cdrs``, as ``<prefix><name>`` tables.

    ``mo`` and ``cdrs`` name the tables to read, so that the partials of some days only
    can be made from a selection of them.
    """
    handset_days = f"{prefix}handset_days"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {handset_days} AS {HANDSET_DAYS.format(mo=mo)}")
    for partial in partials:
        select = partial.select.format(
            mo=mo, cdrs=cdrs, handset_days=handset_days, sim_to_sim=f"{prefix}sim_to_sim"
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE {prefix}{partial.name} AS {select}")
    con.execute(f"DROP TABLE {handset_days}")


def merge_partials(
    con: duckdb.DuckDBPyConnection,
    sources: list[str],
    *,
    partials: Sequence[Partial] = PARTIALS,
    appended: Collection[str] = (),
    in_place: Collection[str] = (),
) -> None:
    """``part_<name>`` from the same partial of other days, held in ``<source><name>`` tables.

    Sums, minima and maxima combine values of one key; a set is the union of its keys.
    A partial named in ``appended`` (keyed by the hour or day of its records, so that no
    key is in two sources) is the sources' rows one after the other, with nothing to merge:
    read into a table, or, named in ``in_place`` too (read once, for a few SIMs), a view
    that reads the sources where they are.
    """
    for partial in partials:
        union = " UNION ALL ".join(f"SELECT * FROM {s}{partial.name}" for s in sources)
        if partial.name in appended:
            kind = "VIEW" if partial.name in in_place else "TABLE"
            con.execute(f"CREATE OR REPLACE TEMP {kind} {partial.table} AS {union}")
            continue
        keys = ", ".join(partial.keys)
        values = "".join(f", {_merged(how, col)} AS {col}" for col, how in partial.merge.items())
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {partial.table} AS "
            f"SELECT {keys}{values} FROM ({union}) u GROUP BY {keys}"
        )


def _merged(how: str, col: str) -> str:
    """How one value merges; counts stay whole numbers of their own type."""
    return f"CAST(sum({col}) AS BIGINT)" if how == "sum" else f"{how}({col})"


def features_from_partials(
    con: duckdb.DuckDBPyConnection,
    *,
    young_sim_days: float = YOUNG_SIM_DAYS,
    kept_youth: KeptYouth | None = None,
) -> pa.Table:
    """The feature table from the merged ``part_*`` tables and ``sim_subscriber``.

    With ``kept_youth`` (a daily run) the young SIMs at each SIM's sites are counted on the
    new days alone when the kept days' young SIMs are still those kept (:class:`KeptYouth`).
    """
    _activity(con)
    _handsets_and_contacts(con)
    _youth(con, float(young_sim_days), kept_youth)
    return con.sql(
        """
        SELECT o.imsi, coalesce(s.msisdn, o.msisdn_seen) AS msisdn,
               o.first_seen, o.last_seen, o.main_site, l.busiest_imei,
               o.voice_out, o.sms_out,
               coalesce(i.voice_in, 0) AS voice_in, coalesce(i.sms_in, 0) AS sms_in,
               (o.voice_out + o.sms_out) / (1.0 + coalesce(i.voice_in, 0) + coalesce(i.sms_in, 0)) AS out_in_ratio,
               o.distinct_callees,
               CASE WHEN o.distinct_callees > 0 THEN o.voice_out / o.distinct_callees END AS calls_per_callee,
               c.repeat_callee_share, c.callback_share,
               o.answer_rate, o.failed_share, o.talk_median_s, o.short_answered_share,
               o.active_days, o.lifespan_h, o.calls_per_active_hour, o.night_share,
               o.distinct_cells, o.distinct_sites, o.main_site_share, o.distinct_imeis,
               l.imei_max_sims, l.imei_max_sims_per_day,
               a.age_days, a.young, s.owner_sims, s.batch_sims,
               CASE WHEN s.plan = 'corporate' THEN 1 ELSE 0 END AS plan_corporate,
               CASE WHEN s.plan = 'm2m' THEN 1 ELSE 0 END AS plan_m2m,
               y.site_young_sims_per_day,
               so.young_contact_share, so.elderly_callee_share
        FROM sim_out o
        LEFT JOIN sim_subscriber s ON s.imsi = o.imsi
        LEFT JOIN part_sim_in i ON i.imsi = o.imsi
        LEFT JOIN sim_contacts c ON c.imsi = o.imsi
        LEFT JOIN imei_load l ON l.imsi = o.imsi
        LEFT JOIN sim_age a ON a.imsi = o.imsi
        LEFT JOIN site_youth y ON y.imsi = o.imsi
        LEFT JOIN sim_social so ON so.imsi = o.imsi
        ORDER BY o.imsi
        """
    ).to_arrow_table()


def mobile_originated(
    con: duckdb.DuckDBPyConnection, *, local_offset_h: int, cdrs: str = "cdrs"
) -> None:
    """``mo``: what SIMs originated over the radio network, of the call records in the table
    named ``cdrs``; ``sim_subscriber``: their registration."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE mo AS
        SELECT c.record_id, c.start_time AS t, c.duration_s AS dur, c.event, c.result,
               c.a_number, c.b_number, c.a_imsi AS imsi, c.a_imei AS imei, c.a_cell AS cell,
               coalesce(k.site_id, c.a_cell) AS site, c.b_imsi,
               ({utc_hour_of_day_sql("c.start_time")} + {int(local_offset_h)} + 24) % 24 AS local_hour
        FROM {cdrs} c LEFT JOIN cells k ON k.cell_id = c.a_cell
        WHERE c.ingress = 'mobile' AND c.a_imsi IS NOT NULL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE sim_subscriber AS
        WITH s AS (
            SELECT imsi, msisdn, activated, plan, birth_year, owner_id,
                   TRY_CAST(imsi AS BIGINT) AS imsi_n
            FROM subscribers
        ),
        owners AS (SELECT owner_id, count(*) AS owner_sims FROM s WHERE owner_id IS NOT NULL GROUP BY 1)
        SELECT s.*, coalesce(o.owner_sims, 1) AS owner_sims,
               CASE WHEN s.imsi_n IS NULL OR s.activated IS NULL THEN 1 ELSE
                 count(*) OVER (PARTITION BY s.activated ORDER BY s.imsi_n
                                RANGE BETWEEN 1000 PRECEDING AND 1000 FOLLOWING) END AS batch_sims
        FROM s LEFT JOIN owners o USING (owner_id)
        """
    )


def _activity(con: duckdb.DuckDBPyConnection) -> None:
    """``sim_out``: how much each SIM calls, when, where, and its main site (most calls, then smallest id)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sim_out AS
        WITH hours AS (
            SELECT imsi, msisdn_seen, voice_out, sms_out, voice_answered AS answered,
                   voice_failed AS failed, answered_short, originated, night, active_days,
                   active_hours AS hours, first_seen, last_seen
            FROM part_sim_activity
        ),
        callees AS (SELECT imsi, count(*) AS distinct_callees FROM part_sim_callee GROUP BY imsi),
        cells AS (SELECT imsi, count(DISTINCT cell) AS distinct_cells FROM part_sim_cell GROUP BY imsi),
        imeis AS (SELECT imsi, count(*) AS distinct_imeis FROM part_sim_imei GROUP BY imsi)
        SELECT d.imsi, d.msisdn_seen, d.voice_out, d.sms_out,
               coalesce(c.distinct_callees, 0) AS distinct_callees,
               CASE WHEN d.voice_out > 0 THEN d.answered / d.voice_out END AS answer_rate,
               CASE WHEN d.voice_out > 0 THEN d.failed / d.voice_out END AS failed_share,
               t.talk_median_s,
               CASE WHEN d.answered > 0 THEN d.answered_short / d.answered END AS short_answered_share,
               d.active_days,
               date_diff('microsecond', d.first_seen, d.last_seen) / 3600000000.0 AS lifespan_h,
               d.originated / d.hours AS calls_per_active_hour,
               d.night / d.originated AS night_share,
               coalesce(k.distinct_cells, 0) AS distinct_cells,
               coalesce(m.distinct_sites, 0) AS distinct_sites,
               coalesce(i.distinct_imeis, 0) AS distinct_imeis,
               d.first_seen, d.last_seen, m.main_site,
               coalesce(m.main_calls, 0) / d.originated AS main_site_share
        FROM hours d
        LEFT JOIN callees c ON c.imsi = d.imsi
        LEFT JOIN cells k ON k.imsi = d.imsi
        LEFT JOIN imeis i ON i.imsi = d.imsi
        LEFT JOIN ({_TALK_MEDIAN}) t ON t.imsi = d.imsi
        LEFT JOIN ({_SITES}) m ON m.imsi = d.imsi
        """
    )


#: The median answered talk time of each SIM from its counts per duration, as ``median``
#: of the calls themselves gives it (the mean of the two middle calls when their number
#: is even) without a row per call: the middle calls are those whose running count of
#: calls, in order of duration, first passes the middle positions. (``median`` over each
#: duration repeated by its count costs 0.6 CPU s less at 10 million call records, but
#: holds every answered call of the kept days at once, in aggregate states that cannot be
#: spilled to disk as the window's sort can: months of them in a daily run. The window's
#: cost moves with the order of the rows, 0.5 CPU s sorted to 2.75 on one order a daily
#: run's merge left nine days' 4.4 million rows in, where ``median`` took 1.0.)
_TALK_MEDIAN = """
    WITH running AS (
        SELECT imsi, dur,
               sum(n) OVER (PARTITION BY imsi ORDER BY dur ROWS UNBOUNDED PRECEDING) AS upto,
               sum(n) OVER (PARTITION BY imsi) AS calls
        FROM part_sim_talk
    )
    SELECT imsi, (min(dur) FILTER (WHERE 2 * upto > calls - 1)
                  + min(dur) FILTER (WHERE 2 * upto > calls)) / 2.0 AS talk_median_s
    FROM running GROUP BY imsi"""

#: Each SIM's sites: how many, and its main site, where it made most calls (the smallest
#: site id among equals); both from one count of calls per site.
_SITES = """
    WITH per_site AS (SELECT imsi, site, sum(n) AS n FROM part_sim_cell WHERE site IS NOT NULL GROUP BY 1, 2),
    most AS (SELECT imsi, count(*) AS distinct_sites, max(n) AS n FROM per_site GROUP BY 1)
    SELECT m.imsi, m.distinct_sites, min(p.site) AS main_site, m.n AS main_calls
    FROM most m JOIN per_site p ON p.imsi = m.imsi AND p.n = m.n
    GROUP BY m.imsi, m.distinct_sites, m.n"""


def _handsets_and_contacts(con: duckdb.DuckDBPyConnection) -> None:
    """``imei_load``: the SIMs of each SIM's handsets; ``pairs``, ``sim_contacts``: repeat callees and callbacks.

    A SIM's busiest handset is the one that held most SIMs, the smallest IMEI among equals.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE imei_load AS
        WITH sim_imei AS (SELECT imsi, imei FROM part_sim_imei),
        whole AS (SELECT imei, count(*) AS n FROM sim_imei GROUP BY 1),
        day_max AS (SELECT imei, most_sims AS n FROM part_imei_day_sims),
        load AS (
            SELECT m.imsi, m.imei, w.n AS sims, x.n AS sims_per_day
            FROM sim_imei m JOIN whole w ON w.imei = m.imei JOIN day_max x ON x.imei = m.imei
        ),
        most AS (
            SELECT imsi, max(sims) AS imei_max_sims, max(sims_per_day) AS imei_max_sims_per_day
            FROM load GROUP BY 1
        )
        SELECT o.imsi, o.imei_max_sims, o.imei_max_sims_per_day, min(l.imei) AS busiest_imei
        FROM most o JOIN load l ON l.imsi = o.imsi AND l.sims = o.imei_max_sims
        GROUP BY 1, 2, 3
        """
    )
    con.execute("CREATE OR REPLACE TEMP VIEW pairs AS SELECT * FROM part_pairs")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE sim_contacts AS
        WITH callees AS (
            SELECT o.imsi, o.msisdn_seen AS me, p.b_number AS other, p.n
            FROM sim_out o JOIN pairs p ON p.a_number = o.msisdn_seen
        )
        SELECT c.imsi,
               avg(CASE WHEN c.n >= 2 THEN 1.0 ELSE 0.0 END) AS repeat_callee_share,
               avg(CASE WHEN back.n IS NULL THEN 0.0 ELSE 1.0 END) AS callback_share
        FROM callees c LEFT JOIN pairs back ON back.a_number = c.other AND back.b_number = c.me
        GROUP BY c.imsi
        """
    )


def _youth(con: duckdb.DuckDBPyConnection, young_days: float, kept: KeptYouth | None) -> None:
    """``sim_age``, ``site_youth``, ``sim_social``: young SIMs, at their sites and among contacts."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE sim_age AS
        WITH a AS (
            SELECT o.imsi,
                   CASE WHEN s.activated IS NULL THEN NULL
                        ELSE date_diff('day', s.activated, CAST(o.first_seen AS DATE)) END AS age_days
            FROM sim_out o LEFT JOIN sim_subscriber s ON s.imsi = o.imsi
        )
        SELECT imsi, age_days, age_days IS NOT NULL AND age_days <= ? AS young FROM a
        """,
        [young_days],
    )
    _site_youth(con, kept)
    year = int(con.execute("SELECT year(max(start_time)) FROM cdrs").fetchall()[0][0] or 2000)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sim_social AS
        WITH who AS (
            -- each SIM's youth and age once, so that the contacts are joined to one table
            SELECT coalesce(a.imsi, s.imsi) AS imsi,
                   CASE WHEN a.young THEN 1.0 ELSE 0.0 END AS young,
                   CASE WHEN s.birth_year IS NOT NULL AND s.birth_year <= {year - 65} THEN 1.0 ELSE 0.0 END
                       AS elderly
            FROM sim_age a FULL JOIN sim_subscriber s ON s.imsi = a.imsi
        )
        SELECT c.imsi, avg(coalesce(w.young, 0.0)) AS young_contact_share,
               avg(coalesce(w.elderly, 0.0)) AS elderly_callee_share
        FROM part_sim_contact c LEFT JOIN who w ON w.imsi = c.other
        GROUP BY c.imsi
        """
    )


@dataclass(frozen=True, kw_only=True)
class KeptYouth:
    """What the days a daily run keeps say of young SIMs at their sites, in the engine's tables.

    A SIM is young by its activation and its first call, which no later day moves: while
    the SIMs young among those first seen before ``since`` are the ``young`` kept (the
    subscribers' activations and the young SIMs' days as they were), the young SIMs at a
    site on a kept day are as many as they were, and a SIM's most young SIMs at one of its
    sites on one day is the larger of the kept ``site_youth`` (of the kept days) and that
    of the new days' ``site_days`` (their ``sim_site_day``), which hold days of their own.
    """

    site_youth: str
    """``site_youth`` of the kept days (``imsi``, ``site_young_sims_per_day``)."""
    young: str
    """The SIMs young when the kept days were analysed (``imsi``)."""
    site_days: str
    """The new days' ``sim_site_day`` (``imsi``, ``site``, ``d``), every one from ``since`` on."""
    since: date
    """The first new day: the SIMs first seen before it are the kept days'."""


def _site_youth_sql(site_days: str) -> str:
    """SQL: each SIM's most young SIMs (``sim_age``) at one of its sites on one day of
    ``site_days``; a SIM never at a site and day with a young SIM has no row."""
    return f"""
        WITH per_site_day AS (
            SELECT m.site, m.d, count(*) AS n
            FROM {site_days} m JOIN sim_age a ON a.imsi = m.imsi WHERE a.young GROUP BY 1, 2
        )
        SELECT m.imsi, max(p.n) AS site_young_sims_per_day
        FROM {site_days} m JOIN per_site_day p ON p.site = m.site AND p.d = m.d
        GROUP BY m.imsi"""


def _site_youth(con: duckdb.DuckDBPyConnection, kept: KeptYouth | None) -> None:
    """``site_youth`` from every day's ``part_sim_site_day``, or from the new days' and
    ``kept`` when the young SIMs of the kept days are those kept (:class:`KeptYouth`)."""
    if kept is None or not _same_young(con, kept):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE site_youth AS " + _site_youth_sql("part_sim_site_day")
        )
        return
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE site_youth AS
        SELECT imsi, max(site_young_sims_per_day) AS site_young_sims_per_day FROM (
            SELECT imsi, site_young_sims_per_day FROM {kept.site_youth}
            UNION ALL ({_site_youth_sql(kept.site_days)})
        ) u GROUP BY imsi
        """
    )


def _same_young(con: duckdb.DuckDBPyConnection, kept: KeptYouth) -> bool:
    """Whether the SIMs first seen before ``kept.since`` that are young now are those kept
    young (an activation told otherwise, or another ``young_sim_days``, changes them)."""
    [(differ,)] = con.execute(
        f"""
        WITH now AS (
            SELECT a.imsi FROM sim_age a JOIN sim_out o ON o.imsi = a.imsi
            WHERE a.young AND o.first_seen < CAST(? AS DATE)
        )
        SELECT count(*) FROM (
            (SELECT imsi FROM now EXCEPT SELECT imsi FROM {kept.young})
            UNION ALL
            (SELECT imsi FROM {kept.young} EXCEPT SELECT imsi FROM now)
        ) x
        """,
        [kept.since.isoformat()],
    ).fetchall()
    return bool(differ == 0)
