"""Numbering-plan facts for every distinct number in a data set, as a DuckDB table.

``phonenumbers`` is slow per call (tens of microseconds) but numbers repeat a
lot, so each distinct calling number is described once and joined back.
"""

from __future__ import annotations

from collections import Counter

import duckdb
import pyarrow as pa

from qalqan.domain.numbers import describe

__all__ = ["home_region", "number_facts"]


def home_region(con: duckdb.DuckDBPyConnection) -> str:
    """The operator's country: the region most of its subscribers' numbers belong to."""
    rows = con.execute("SELECT msisdn FROM subscribers USING SAMPLE 2000 ROWS").fetchall()
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


def number_facts(con: duckdb.DuckDBPyConnection, table: str, home: str) -> None:
    """Create TEMP TABLE ``table``(number, region, valid, kind, domestic) for calling numbers from outside."""
    numbers = [
        n
        for (n,) in con.execute(
            "SELECT DISTINCT a_number FROM cdrs WHERE a_number IS NOT NULL AND ingress <> 'mobile'"
        ).fetchall()
    ]
    facts = [describe(n) for n in numbers]
    arrow = pa.table(
        {
            "number": numbers,
            "region": [f.region for f in facts],
            "valid": [f.valid for f in facts],
            "kind": [f.kind for f in facts],
            "domestic": [f.region == home for f in facts],
        }
    )
    con.register("_facts", arrow)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _facts")
    con.unregister("_facts")
