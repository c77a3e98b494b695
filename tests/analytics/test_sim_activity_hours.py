"""A SIM's active days and hours in ``part_sim_activity``: its distinct days and hours (UTC).

The partial counts them from a mask of each day's hours, one bit an hour; these records
sit where a mask could go wrong (the first and last hour of a day, either side of
midnight, before 1970, a record without a time) and the counts must still be those of
``count(DISTINCT ...)`` over the records themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from qalqan.analytics.features import PARTIALS

ACTIVITY = next(p for p in PARTIALS if p.name == "sim_activity")

#: (SIM, time) of each record; None is a record without a time.
RECORDS: list[tuple[str, datetime | None]] = [
    ("a", datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC)),
    ("a", datetime(2026, 3, 2, 0, 59, 59, tzinfo=UTC)),
    ("a", datetime(2026, 3, 2, 23, 0, 0, tzinfo=UTC)),
    ("a", datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC)),
    ("a", datetime(2026, 3, 3, 0, 0, 0, tzinfo=UTC)),
    ("a", datetime(2026, 3, 5, 12, 30, 0, tzinfo=UTC)),
    ("b", datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("b", datetime(1969, 12, 31, 0, 0, 1, tzinfo=UTC)),
    ("b", datetime(1970, 1, 1, 0, 0, 0, tzinfo=UTC)),
    ("b", None),
    ("c", None),
]


def test_active_days_and_hours_are_the_distinct_days_and_hours_of_the_records() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = [
        {"imsi": imsi, "t": t, "a_number": f"+{imsi}", "event": "voice", "result": "answered",
         "dur": 10, "local_hour": 0}
        for imsi, t in RECORDS
    ]  # fmt: skip
    schema = pa.schema(
        [("imsi", pa.string()), ("t", pa.timestamp("us", tz="UTC")), ("a_number", pa.string()),
         ("event", pa.string()), ("result", pa.string()), ("dur", pa.int64()),
         ("local_hour", pa.int64())]
    )  # fmt: skip
    con.register("records", pa.Table.from_pylist(rows, schema=schema))
    con.execute("CREATE TEMP TABLE mo AS SELECT * FROM records")
    got = con.execute(
        f"SELECT imsi, active_days, active_hours FROM ({ACTIVITY.select.format(mo='mo')}) ORDER BY 1"
    ).fetchall()
    want = con.execute(
        """SELECT imsi, count(DISTINCT CAST(t AS DATE)), count(DISTINCT date_trunc('hour', t))
           FROM mo GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    assert got == want == [("a", 3, 4), ("b", 2, 3), ("c", 0, 0)]
