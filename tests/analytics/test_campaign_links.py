"""Which sources of fraud calls the campaigns link by the victims they share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from qalqan.analytics.campaigns import MAX_SOURCES_A_VICTIM, _links

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _fraud_calls(calls: list[tuple[str, str]]) -> duckdb.DuckDBPyConnection:
    """``fraud_calls`` of (source, callee) pairs: a minute apart, in office hours, short."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    table = pa.table(
        {
            "source": [s for s, _ in calls],
            "b_number": [b for _, b in calls],
            "a_number": [None] * len(calls),
            "t": [T0 + timedelta(minutes=k % 480) for k in range(len(calls))],
            "duration_s": [30] * len(calls),
            "internal": [False] * len(calls),
        }
    )
    con.register("_calls", table)
    con.execute("CREATE TABLE fraud_calls AS SELECT * FROM _calls")
    return con


def test_a_number_that_every_source_calls_links_none_of_them() -> None:
    """The other side multiplies its sources (a SIM each) and has each of them dial the same
    few numbers: pair by pair that would link every source with every other. Those numbers
    are everybody's, not victims two sources share; two sources that share victims of their
    own are still linked."""
    many = [f"sim:4017{k:011d}" for k in range(3 * MAX_SOURCES_A_VICTIM)]
    calls = [(s, f"+7701000000{v}") for s in many for v in range(3)]
    calls += [(s, f"+7702{k:04d}{v:03d}") for k, s in enumerate(many) for v in range(5)]
    pair = ("route:voip:acme", "route:international:far")
    calls += [(s, f"+7703000000{v}") for s in pair for v in range(3)]
    calls += [(s, f"+7704{k:03d}{v:04d}") for k, s in enumerate(pair) for v in range(20)]
    links = _links(_fraud_calls(calls), population=1_000_000)
    assert [(a, b, kind) for a, b, _, kind in links] == [(*sorted(pair), "victims")]
    # the same numbers called by no more sources than the bound do link them
    few = many[:MAX_SOURCES_A_VICTIM]
    calls = [(s, f"+7701000000{v}") for s in few for v in range(3)]
    links = _links(_fraud_calls(calls), population=1_000_000)
    assert len(links) == len(few) * (len(few) - 1) // 2
