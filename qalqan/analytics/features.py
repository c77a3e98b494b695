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
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from qalqan.screening.config import YOUNG_SIM_DAYS

__all__ = [
    "FEATURES",
    "FEATURE_DESCRIPTIONS",
    "estimate_local_offset",
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


def estimate_local_offset(con: duckdb.DuckDBPyConnection) -> int:
    """Hours to add to UTC for local time: the quietest hour of own subscribers' calls is 3 a.m."""
    rows = con.execute(
        """SELECT hour(start_time) AS h, count(*) AS n FROM cdrs
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


def sim_features(
    con: duckdb.DuckDBPyConnection, *, local_offset_h: int, young_sim_days: float = YOUNG_SIM_DAYS
) -> pa.Table:
    """One row per SIM that originated anything over the radio network, with every feature.

    A SIM is young when it first called at most ``young_sim_days`` after its activation:
    the screening configuration's ``network.young_sim_days``, the one definition that
    the real-time rules use too. ``sim_age`` keeps the verdict (``young``) for the
    reasons and the farms.
    """
    _mobile_originated(con, local_offset_h)
    _activity(con)
    _handsets_and_contacts(con)
    _youth(con, float(young_sim_days))
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
               o.distinct_cells, o.distinct_sites, ms.main_site_share, o.distinct_imeis,
               l.imei_max_sims, l.imei_max_sims_per_day,
               a.age_days, a.young, s.owner_sims, s.batch_sims,
               CASE WHEN s.plan = 'corporate' THEN 1 ELSE 0 END AS plan_corporate,
               CASE WHEN s.plan = 'm2m' THEN 1 ELSE 0 END AS plan_m2m,
               y.site_young_sims_per_day,
               so.young_contact_share, so.elderly_callee_share
        FROM sim_out o
        LEFT JOIN sim_subscriber s USING (imsi)
        LEFT JOIN sim_in i USING (imsi)
        LEFT JOIN sim_contacts c USING (imsi)
        LEFT JOIN imei_load l USING (imsi)
        LEFT JOIN sim_main_site ms USING (imsi)
        LEFT JOIN sim_age a USING (imsi)
        LEFT JOIN site_youth y USING (imsi)
        LEFT JOIN sim_social so USING (imsi)
        ORDER BY o.imsi
        """
    ).to_arrow_table()


def _mobile_originated(con: duckdb.DuckDBPyConnection, local_offset_h: int) -> None:
    """``mo``: what SIMs originated over the radio network; ``sim_subscriber``: their registration."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE mo AS
        SELECT c.record_id, c.start_time AS t, c.duration_s AS dur, c.event, c.result,
               c.a_number, c.b_number, c.a_imsi AS imsi, c.a_imei AS imei, c.a_cell AS cell,
               coalesce(k.site_id, c.a_cell) AS site, c.b_imsi,
               (hour(c.start_time) + {int(local_offset_h)} + 24) % 24 AS local_hour
        FROM cdrs c LEFT JOIN cells k ON k.cell_id = c.a_cell
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
    """``sim_out``, ``sim_main_site``, ``sim_in``: how much each SIM calls, when, where, and is called."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE sim_out AS
        SELECT imsi,
            any_value(a_number) AS msisdn_seen,
            count(*) FILTER (WHERE event = 'voice') AS voice_out,
            count(*) FILTER (WHERE event = 'sms') AS sms_out,
            count(DISTINCT b_number) FILTER (WHERE event = 'voice') AS distinct_callees,
            avg(CASE WHEN result = 'answered' THEN 1.0 ELSE 0.0 END) FILTER (WHERE event = 'voice') AS answer_rate,
            avg(CASE WHEN result = 'failed' THEN 1.0 ELSE 0.0 END) FILTER (WHERE event = 'voice') AS failed_share,
            median(dur) FILTER (WHERE event = 'voice' AND result = 'answered') AS talk_median_s,
            avg(CASE WHEN dur < 30 THEN 1.0 ELSE 0.0 END)
                FILTER (WHERE event = 'voice' AND result = 'answered') AS short_answered_share,
            count(DISTINCT CAST(t AS DATE)) AS active_days,
            epoch(max(t) - min(t)) / 3600.0 AS lifespan_h,
            count(*) / count(DISTINCT date_trunc('hour', t)) AS calls_per_active_hour,
            avg(CASE WHEN local_hour < 6 THEN 1.0 ELSE 0.0 END) AS night_share,
            count(DISTINCT cell) AS distinct_cells,
            count(DISTINCT site) AS distinct_sites,
            count(DISTINCT imei) AS distinct_imeis,
            min(t) AS first_seen, max(t) AS last_seen,
            mode(site) AS main_site
        FROM mo GROUP BY imsi
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE sim_main_site AS
        SELECT m.imsi, count(*) FILTER (WHERE m.site = o.main_site) / count(*) AS main_site_share
        FROM mo m JOIN sim_out o USING (imsi) GROUP BY m.imsi
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE sim_in AS
        SELECT b_imsi AS imsi,
               count(*) FILTER (WHERE event = 'voice') AS voice_in,
               count(*) FILTER (WHERE event = 'sms') AS sms_in
        FROM cdrs WHERE b_imsi IS NOT NULL GROUP BY 1
        """
    )


def _handsets_and_contacts(con: duckdb.DuckDBPyConnection) -> None:
    """``imei_load``: the SIMs of each SIM's handsets; ``sim_contacts``: repeat callees and callbacks."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE imei_load AS
        WITH per_day AS (
            SELECT imei, CAST(t AS DATE) AS d, count(DISTINCT imsi) AS n FROM mo
            WHERE imei IS NOT NULL GROUP BY 1, 2
        ),
        whole AS (SELECT imei, count(DISTINCT imsi) AS n FROM mo WHERE imei IS NOT NULL GROUP BY 1),
        day_max AS (SELECT imei, max(n) AS n FROM per_day GROUP BY 1)
        SELECT DISTINCT m.imsi,
               max(w.n) OVER (PARTITION BY m.imsi) AS imei_max_sims,
               max(d.n) OVER (PARTITION BY m.imsi) AS imei_max_sims_per_day,
               arg_max(m.imei, w.n) OVER (PARTITION BY m.imsi) AS busiest_imei
        FROM (SELECT DISTINCT imsi, imei FROM mo WHERE imei IS NOT NULL) m
        JOIN whole w USING (imei) JOIN day_max d USING (imei)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE pairs AS
        SELECT a_number, b_number, count(*) AS n FROM cdrs
        WHERE a_number IS NOT NULL GROUP BY 1, 2
        """
    )
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


def _youth(con: duckdb.DuckDBPyConnection, young_days: float) -> None:
    """``sim_age``, ``site_youth``, ``sim_social``: young SIMs, at their sites and among contacts."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE sim_age AS
        WITH a AS (
            SELECT o.imsi,
                   CASE WHEN s.activated IS NULL THEN NULL
                        ELSE date_diff('day', s.activated, CAST(o.first_seen AS DATE)) END AS age_days
            FROM sim_out o LEFT JOIN sim_subscriber s USING (imsi)
        )
        SELECT imsi, age_days, age_days IS NOT NULL AND age_days <= ? AS young FROM a
        """,
        [young_days],
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE site_youth AS
        WITH young AS (
            SELECT DISTINCT m.site, CAST(m.t AS DATE) AS d, m.imsi
            FROM mo m JOIN sim_age a USING (imsi) WHERE a.young
        ),
        per_site_day AS (SELECT site, d, count(*) AS n FROM young GROUP BY 1, 2)
        SELECT m.imsi, max(p.n) AS site_young_sims_per_day
        FROM (SELECT DISTINCT imsi, site, CAST(t AS DATE) AS d FROM mo) m
        JOIN per_site_day p USING (site, d) GROUP BY m.imsi
        """
    )
    year = int(con.execute("SELECT year(max(start_time)) FROM cdrs").fetchall()[0][0] or 2000)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sim_social AS
        WITH contacts AS (
            SELECT imsi, b_imsi AS other FROM mo WHERE b_imsi IS NOT NULL
            UNION
            SELECT m.b_imsi AS imsi, m.imsi AS other FROM mo m WHERE m.b_imsi IS NOT NULL
        )
        SELECT c.imsi,
               avg(CASE WHEN a.young THEN 1.0 ELSE 0.0 END)
                   AS young_contact_share,
               avg(CASE WHEN s.birth_year IS NOT NULL AND s.birth_year <= {year - 65} THEN 1.0 ELSE 0.0 END)
                   AS elderly_callee_share
        FROM contacts c
        LEFT JOIN sim_age a ON a.imsi = c.other
        LEFT JOIN sim_subscriber s ON s.imsi = c.other
        GROUP BY c.imsi
        """
    )
