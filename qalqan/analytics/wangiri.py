"""Which calls from outside were part of a one-ring burst, by what was known at their time.

The definition, with its settings, is :mod:`qalqan.detections.wangiri`, shared
with the screening rule ``wangiri.one_ring_burst``; the settings are the rules
file's that the analysis is given (``qalqan analyze --rules``; the shipped
``default_rules.yaml`` by default).
"""

from __future__ import annotations

import duckdb

from qalqan.detections.wangiri import WangiriBurst, burst_sql

__all__ = ["wangiri_evidence"]


def wangiri_evidence(
    con: duckdb.DuckDBPyConnection, wangiri: WangiriBurst, *, source: str = "cdrs"
) -> None:
    """Create TEMP TABLE ``wangiri_evidence``: the calls from outside in a one-ring burst by then.

    One row per such call: ``record_id``, ``wangiri_state`` (``confirmed`` or
    ``continues``), ``wangiri_range``, ``wangiri_callees``, ``wangiri_ended``,
    ``wangiri_one_ring`` (see :func:`qalqan.detections.wangiri.burst_sql`).
    Needs TEMP TABLE ``numbers`` (whether a caller ID is domestic). ``source`` is
    ``cdrs``, or a table of the calls from outside already read from it (with
    ``record_id``, ``t``, ``dur``, ``event``, ``result``, ``a_number``, ``b_number``).
    """
    calls = (
        """SELECT record_id, start_time AS t, duration_s AS dur, event, result, a_number, b_number
           FROM cdrs
           WHERE split_part(ingress, ':', 1) IN ('international', 'voip', 'national')"""
        if source == "cdrs"
        else f"SELECT record_id, t, dur, event, result, a_number, b_number FROM {source}"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE wangiri_source AS
        SELECT c.record_id, c.t, c.dur, c.event, c.result,
               c.a_number, c.b_number, coalesce(n.domestic, false) AS cli_domestic
        FROM ({calls}) c LEFT JOIN numbers n ON n.number = c.a_number
        WHERE c.a_number IS NOT NULL
        """
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE wangiri_evidence AS {burst_sql(wangiri, 'wangiri_source')}"
    )
    con.execute("DROP TABLE wangiri_source")
