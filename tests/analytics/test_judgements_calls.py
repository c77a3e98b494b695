"""The call model is asked only about the calls it could flag, and flags the same calls.

A residual call is fraud when the model says it more likely than not is *and* something
corroborates it. Scoring only the corroborated calls must leave every verdict, reason and
``reason_facts`` cell as scoring all of them would.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from qalqan.analytics.models import Models, feature_table
from qalqan.analytics.number_scoring import FeatureTable, FloatArray, NumberFraudScorer
from qalqan.analytics.pipeline import CALL_FRAUD_SCORE, FOREIGN_NUMBER_WORKED_CALLEES, Analysis
from tests.analytics.test_call_model_corroboration import (
    POLICE,
    ROUTE,
    VICTIMS,
    suspicious_of_every_foreign_or_hidden_caller,
)
from tests.analytics.test_call_rules import call, tables


class CountingScorer(NumberFraudScorer):
    """The real scorer, counting the rows it was asked about."""

    asked = 0

    def score(self, features: FeatureTable) -> FloatArray:
        CountingScorer.asked += len(features)
        return super().score(features)


def calls_of_every_kind() -> list[dict[str, object]]:
    """Rule-flagged calls, a foreign number working a list, a relative abroad, a hidden
    caller, and domestic callers to people who are and are not being worked."""
    found = [
        call(f"scam-{i}", POLICE, victim, ROUTE, f"2026-03-03T09:0{i}:00Z")
        for i, victim in enumerate(VICTIMS)
    ]
    found.append(call("relative", "+905321234567", VICTIMS[0], ROUTE, "2026-03-03T09:20:00Z"))
    found += [
        call(f"worker-{i}", "+380501234567", victim, ROUTE, f"2026-03-03T09:3{i}:00Z")
        for i, victim in enumerate(VICTIMS)
    ]
    found.append(call("hidden", "", VICTIMS[2], ROUTE, "2026-03-03T09:50:00Z"))
    found.append(call("home", "+77019998877", VICTIMS[1], ROUTE, "2026-03-03T10:00:00Z"))
    found.append(call("quiet", "+77019998866", "+77074444444", ROUTE, "2026-03-03T10:05:00Z"))
    return found


def expected_fraud(analysis: Analysis, model: NumberFraudScorer) -> set[str]:
    """The residual calls flagged by scoring every one of them, as the rule reads."""
    residual = analysis.residual_calls()
    p = dict(
        zip(
            residual.column("record_id").to_pylist(),
            model.score(feature_table(residual, model.columns)).tolist(),
            strict=True,
        )
    )
    facts = analysis.con.execute(
        "SELECT record_id, a_number, b_number, cli_withheld, cli_foreign, callee_flagged_calls"
        " FROM call_facts"
    ).fetchall()
    worked: dict[str, set[str]] = {}
    for _, a, b, _, _, flagged_calls in facts:
        if a is not None and flagged_calls >= 1:
            worked.setdefault(a, set()).add(b)
    return {
        rid
        for rid, a, _, withheld, foreign, flagged_calls in facts
        if rid in p
        and p[rid] >= CALL_FRAUD_SCORE
        and (
            withheld
            or (foreign == 0 and flagged_calls >= 1)
            or (foreign == 1 and len(worked.get(a, ())) >= FOREIGN_NUMBER_WORKED_CALLEES)
        )
    }


def test_only_corroborated_calls_are_scored_and_the_verdicts_are_those_of_scoring_all(
    prepared: Callable[..., Analysis],
) -> None:
    analysis = prepared(tables(*calls_of_every_kind()))
    model = suspicious_of_every_foreign_or_hidden_caller().call
    model.__class__ = CountingScorer
    analysis.models = Models(sim=None, call=model)
    no_boxes = pa.table({n: pa.array([], pa.string()) for n in ("imsi", "verdict", "farm_id")})

    CountingScorer.asked = 0
    judged = analysis.judge_calls(no_boxes)

    corroborated = analysis.corroborated_calls().column("record_id").to_pylist()
    assert CountingScorer.asked == len(corroborated) < analysis.residual_calls().num_rows
    assert "relative" not in corroborated and "quiet" not in corroborated
    rows = {r["record_id"]: r for r in judged.to_pylist()}
    model_flagged = {
        rid for rid, r in rows.items() if r["reasons"] and "fraud_call.model" in r["reasons"]
    }
    assert model_flagged == expected_fraud(analysis, model)
    assert {"hidden", "worker-0", "worker-1", "worker-2"} <= model_flagged
    for rid, row in rows.items():
        assert (row["reasons"] is None) == (row["reason_facts"] is None), rid
        if row["verdict"] == "clear":
            assert row["reasons"] is None, rid


def test_calls_come_out_in_time_then_record_order(prepared: Callable[..., Analysis]) -> None:
    same_time = [call(f"r{n}", POLICE, VICTIMS[n % 3], ROUTE) for n in (3, 1, 2)]
    analysis = prepared(tables(*same_time, *calls_of_every_kind()))
    no_boxes = pa.table({n: pa.array([], pa.string()) for n in ("imsi", "verdict", "farm_id")})
    judged = analysis.judge_calls(no_boxes)
    keys = list(
        zip(judged.column("t").to_pylist(), judged.column("record_id").to_pylist(), strict=True)
    )
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert np.all(judged.column("verdict").is_valid())
