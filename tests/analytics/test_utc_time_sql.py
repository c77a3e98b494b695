"""The hour, day and date of a time from its microseconds are what DuckDB's calendar says in UTC.

The features read the hour of the day, the hour and the day of every call record
from the time's microseconds instead of asking the time zone's calendar per row;
the contract allows any time from year 1 to 9999, so the arithmetic must agree
also before 1970, at the last microsecond of an hour and far ahead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.analytics.features import (
    utc_date_sql,
    utc_days_sql,
    utc_hour_of_day_sql,
    utc_hours_sql,
)

_TIMES = st.datetimes(
    min_value=datetime(1, 1, 1, 0, 0, 0), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)
).map(lambda t: t.replace(tzinfo=UTC))

_EDGES = [
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1970, 1, 1, 0, 59, 59, 999999, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 2, 23, 0, tzinfo=UTC) - timedelta(microseconds=1),
]


def _both(times: list[datetime]) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE c (t TIMESTAMPTZ)")
    con.executemany("INSERT INTO c VALUES (?)", [[t] for t in times])
    return con.execute(
        f"""
        SELECT hour(t) = {utc_hour_of_day_sql("t")},
               CAST(t AS DATE) = {utc_date_sql("t")},
               typeof({utc_date_sql("t")}),
               epoch(date_trunc('hour', t)) = 3600 * {utc_hours_sql("t")},
               epoch(CAST(t AS DATE)) = 86400 * {utc_days_sql("t")},
               t
        FROM c
        """
    ).fetchall()


def test_the_edges_of_hours_days_and_the_calendar() -> None:
    for row in _both(_EDGES):
        assert row[:5] == (True, True, "DATE", True, True), row


@settings(max_examples=200, deadline=None)
@given(st.lists(_TIMES, min_size=1, max_size=50))
def test_any_time_of_the_contract(times: list[datetime]) -> None:
    for row in _both(times):
        assert row[:5] == (True, True, "DATE", True, True), row
