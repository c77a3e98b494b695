"""The judged tables reach their files over columns: reason facts joined by record id, the
summary's figures counted over the verdict columns."""

from __future__ import annotations

import pyarrow as pa

from qalqan.analytics.output import _counts
from qalqan.analytics.pipeline import _with_reason_facts


def test_reason_facts_follow_their_record_when_the_rows_come_in_another_order() -> None:
    judged = pa.table(
        {
            "record_id": ["a", "b", "c"],
            "reason_facts": pa.array(['[{"rule":"x"}]', None, '[{"rule":"z"}]'], pa.string()),
        }
    )
    calls = pa.table({"record_id": ["c", "a", "b"], "verdict": ["fraud", "fraud", "clear"]})
    joined = _with_reason_facts(calls, judged)
    assert joined.column("reason_facts").to_pylist() == ['[{"rule":"z"}]', '[{"rule":"x"}]', None]
    same_order = _with_reason_facts(judged.select(["record_id"]), judged)
    assert same_order.column("reason_facts").equals(judged.column("reason_facts"))


def test_the_summary_counts_each_verdict() -> None:
    verdicts = pa.chunked_array([["clear", "simbox"], ["clear", "suspect", "clear"]])
    assert _counts(verdicts) == {"clear": 3, "simbox": 1, "suspect": 1}
    assert _counts(pa.chunked_array([], pa.string())) == {}
