"""The judged tables reach their files over columns: the judged calls stay in the engine and
stream out in order with their campaigns and reason facts; the summary's figures are counted
over the verdict columns."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from qalqan.analytics.campaigns import CALL_CAMPAIGNS
from qalqan.analytics.output import _counts, _write_calls
from qalqan.analytics.pipeline import JUDGED_CALLS, JudgedCalls


def _judged(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, int, str, str | None]]) -> None:
    """``judged_calls`` of (record id, minute, verdict, reason facts) and ``call_campaigns``
    giving each fraud call the campaign named after its record."""
    table = pa.table(
        {
            "record_id": [r[0] for r in rows],
            "t": pa.array([datetime(2026, 3, 2, 9, r[1], tzinfo=UTC) for r in rows], pa.timestamp("us", "UTC")),
            "ingress": ["voip:sip1"] * len(rows),
            "verdict": [r[2] for r in rows],
            "reasons": [None if r[3] is None else "said" for r in rows],
            "reason_facts": pa.array([r[3] for r in rows], pa.string()),
        }
    )  # fmt: skip
    con.register("_rows", table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {JUDGED_CALLS} AS SELECT * FROM _rows")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CALL_CAMPAIGNS} AS "
        f"SELECT record_id, 'C-' || record_id AS campaign_id FROM _rows WHERE verdict = 'fraud'"
    )


def test_judged_calls_stream_in_time_order_with_their_campaigns_and_facts() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _judged(
        con,
        [
            ("c", 1, "fraud", '[{"rule":"z"}]'),
            ("a", 1, "fraud", '[{"rule":"x"}]'),
            ("d", 0, "clear", None),
            ("b", 2, "spoofed", '[{"rule":"y"}]'),
        ],
    )
    calls = JudgedCalls(con)
    assert calls.verdicts == {"clear": 1, "fraud": 2, "spoofed": 1}
    assert calls.num_rows == 4
    batches = list(calls.batches(rows=3))
    assert [b.num_rows for b in batches] == [3, 1]
    rows = pa.Table.from_batches(batches).to_pylist()
    assert [(r["record_id"], r["campaign_id"], r["reason_facts"]) for r in rows] == [
        ("d", None, None),
        ("a", "C-a", '[{"rule":"x"}]'),
        ("c", "C-c", '[{"rule":"z"}]'),
        ("b", None, '[{"rule":"y"}]'),
    ]


def test_calls_csv_is_written_batch_by_batch_and_has_its_header_without_calls(
    tmp_path: Path,
) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _judged(con, [(f"r{n}", n % 60, "fraud", '[{"rule":"x"}]') for n in range(7)])
    _write_calls(tmp_path, JudgedCalls(con))
    with (tmp_path / "calls.csv").open(encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert [r["record_id"] for r in written] == [f"r{n}" for n in range(7)]
    assert written[0]["start_time"] == "2026-03-02T09:00:00Z"
    assert written[3]["campaign_id"] == "C-r3"
    _judged(con, [])
    _write_calls(tmp_path / "none", JudgedCalls(con))
    header = (tmp_path / "none" / "calls.csv").read_text(encoding="utf-8")
    assert header.splitlines() == [(tmp_path / "calls.csv").read_text().splitlines()[0]]


def test_the_summary_counts_each_verdict() -> None:
    verdicts = pa.chunked_array([["clear", "simbox"], ["clear", "suspect", "clear"]])
    assert _counts(verdicts) == {"clear": 3, "simbox": 1, "suspect": 1}
    assert _counts(pa.chunked_array([], pa.string())) == {}
