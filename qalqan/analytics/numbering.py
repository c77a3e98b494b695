"""Numbering-plan facts for every distinct number in a data set, as a DuckDB table.

``phonenumbers`` is slow per call (about 200 µs), so the facts of the calling numbers
from outside are computed by the engine from the numbering plan's metadata, one query
for all of them (:mod:`qalqan.analytics.numbering_plan`); the home region, read from a
sample of two thousand subscribers, still asks ``phonenumbers`` number by number.
"""

from __future__ import annotations

from collections import Counter

import duckdb

from qalqan.analytics.numbering_plan import country_codes, number_facts_sql
from qalqan.domain.numbers import describe

__all__ = ["facts_sql_of", "home_region", "number_facts"]


def home_region(con: duckdb.DuckDBPyConnection) -> str:
    """The operator's country: the region most of its subscribers' numbers belong to."""
    # every k-th number in order: the same sample on every engine and every run
    rows = con.execute(
        """SELECT msisdn FROM (
               SELECT msisdn, row_number() OVER (ORDER BY msisdn) AS r, count(*) OVER () AS n
               FROM subscribers WHERE msisdn IS NOT NULL
           ) WHERE r % greatest(n // 2000, 1) = 0 ORDER BY msisdn LIMIT 2000"""
    ).fetchall()
    regions = Counter(describe(n).region for (n,) in rows if n)
    regions.pop(None, None)
    if not regions:
        rows = con.execute(
            "SELECT a_number FROM cdrs WHERE ingress = 'mobile' AND a_number IS NOT NULL LIMIT 2000"
        ).fetchall()
        regions = Counter(describe(n).region for (n,) in rows if n)
        regions.pop(None, None)
    best = regions.most_common(1)[0][0] if regions else None
    return best or "ZZ"


def facts_sql_of(con: duckdb.DuckDBPyConnection, numbers: str) -> str:
    """SQL: the facts (:func:`number_facts`) of the numbers in the table named ``numbers``
    (column ``number``), with only the countries their leads name compiled; the home region
    is its one parameter."""
    leads = con.execute(f"SELECT DISTINCT substr(number, 2, 3) FROM {numbers}").fetchall()
    return number_facts_sql(
        f"SELECT number FROM {numbers}", country_codes(lead for (lead,) in leads if lead)
    )


def number_facts(con: duckdb.DuckDBPyConnection, table: str, home: str) -> None:
    """Create TEMP TABLE ``table``(number, region, valid, kind, domestic) for calling numbers from outside.

    The facts are those :func:`~qalqan.domain.numbers.describe` gives, computed by the
    engine for all numbers in one query from the numbering plan's metadata
    (:mod:`qalqan.analytics.numbering_plan`); only the countries present are compiled.
    """
    # the call records are read once, for the distinct numbers; their leads come from those
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _calling_numbers AS SELECT DISTINCT a_number AS number"
        " FROM cdrs WHERE a_number IS NOT NULL AND ingress <> 'mobile'"
    )
    sql = facts_sql_of(con, "_calling_numbers")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}", [home])
    con.execute("DROP TABLE _calling_numbers")
