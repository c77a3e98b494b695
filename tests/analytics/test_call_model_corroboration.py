"""What corroborates the call model: for a foreign caller ID, its own number, never the callee's luck.

People whom a call center rang are the people whose relatives abroad call them minutes
later, from the same countries over the same carriers. That the callee got other flagged
calls says nothing about such a call; a foreign number that called several people who
were being worked does.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from qalqan.analytics.calls import CALL_FEATURES
from qalqan.analytics.models import Models
from qalqan.analytics.number_scoring import FeatureTable, NumberFraudScorer
from qalqan.analytics.pipeline import Analysis
from qalqan.domain.messages import LANGUAGES, render
from tests.analytics.test_call_rules import call, tables

POLICE = "+77272544000"  # protected, never calls out: its calls are flagged by rule
VICTIMS = ("+77071111111", "+77072222222", "+77073333333")
ROUTE = "international:wholesale4"


def suspicious_of_every_foreign_or_hidden_caller() -> Models:
    """A real call model that learnt one thing: foreign and withheld caller IDs are fraud."""
    rng = np.random.default_rng(0)
    values = rng.random((600, len(CALL_FEATURES)))
    foreign = rng.random(600) < 0.5
    withheld = ~foreign & (rng.random(600) < 0.3)
    values[:, CALL_FEATURES.index("cli_foreign")] = foreign
    values[:, CALL_FEATURES.index("cli_withheld")] = withheld
    model = NumberFraudScorer(seed=0, max_iter=30).fit(
        FeatureTable(columns=CALL_FEATURES, values=values), (foreign | withheld).astype(int)
    )
    return Models(sim=None, call=model)


def judge(analysis: Analysis) -> dict[str, tuple[str, str | None, str | None]]:
    no_boxes = pa.table(
        {n: pa.array([], pa.string()) for n in ("imsi", "msisdn", "verdict", "farm_id")}
    )
    out = analysis.judge_calls(no_boxes).to_pylist()
    return {r["record_id"]: (r["verdict"], r["reasons"], r["reason_facts"]) for r in out}


def test_a_relative_abroad_calling_a_worked_person_is_not_flagged_a_number_working_a_list_is(
    prepared: Callable[..., Analysis],
) -> None:
    scam = [
        call(f"scam-{i}", POLICE, victim, ROUTE, f"2026-03-03T09:0{i}:00Z")
        for i, victim in enumerate(VICTIMS)
    ]
    relative = call("relative", "+905321234567", VICTIMS[0], ROUTE, "2026-03-03T09:20:00Z")
    worker = [
        call(f"worker-{i}", "+380501234567", victim, ROUTE, f"2026-03-03T09:3{i}:00Z")
        for i, victim in enumerate(VICTIMS)
    ]
    hidden = call("hidden", "", VICTIMS[2], ROUTE, "2026-03-03T09:50:00Z")
    analysis = prepared(tables(*scam, relative, *worker, hidden))
    analysis.models = suspicious_of_every_foreign_or_hidden_caller()
    found = judge(analysis)

    assert found["relative"][0] == "clear" and found["relative"][1] is None
    assert found["hidden"][0] == "fraud"
    for i in range(len(VICTIMS)):
        verdict, reasons, facts = found[f"worker-{i}"]
        assert verdict == "fraud"
        (said,) = json.loads(str(facts))
        assert said["rule"] == "fraud_call.model"
        assert said["key"] == "analysis.call.model.foreign_number"
        assert said["facts"]["people"] == "3"
        assert str(reasons).endswith(render(said["key"], said["facts"]))
        for lang in LANGUAGES:
            assert render(said["key"], said["facts"], lang)


def test_a_foreign_number_that_called_one_worked_person_is_not_enough(
    prepared: Callable[..., Analysis],
) -> None:
    scam = [call("scam", POLICE, VICTIMS[0], ROUTE, "2026-03-03T09:00:00Z")]
    twice = [
        call(f"son-{i}", "+4915112345678", VICTIMS[0], ROUTE, f"2026-03-03T1{i}:00:00Z")
        for i in range(3)
    ]
    analysis = prepared(tables(*scam, *twice))
    analysis.models = suspicious_of_every_foreign_or_hidden_caller()
    found = judge(analysis)
    assert all(found[f"son-{i}"][0] == "clear" for i in range(3))
