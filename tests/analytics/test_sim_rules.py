"""A SIM box in a few dozen rows: the handset that carried many SIMs is caught and explained."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from qalqan.analytics.farms import EDGE_WEIGHTS
from qalqan.analytics.pipeline import Analysis
from qalqan.analytics.sim_reasons import sim_reasons
from qalqan.domain.messages import parse_reasons, render

CELLS = [
    {"cell_id": f"C{i}", "site_id": f"S{i}", "lat": 43.2 + i / 100, "lon": 76.9, "region": "Almaty"}
    for i in range(3)
]


def test_a_handset_with_many_sims_is_a_simbox_with_its_reason(
    prepared: Callable[..., Analysis],
) -> None:
    box_imei = "861234560000013"
    subscribers = [
        {
            "imsi": f"4017700000001{i:02d}",
            "msisdn": f"+770755500{i:02d}",
            "activated": "2026-02-25",
            "plan": "prepaid",
            "owner_id": "P1",
        }
        for i in range(12)
    ] + [
        {
            "imsi": "401770000000900",
            "msisdn": "+77079990000",
            "activated": "2019-05-05",
            "plan": "postpaid",
        }
    ]
    cdrs = []
    for i in range(12):  # each SIM makes two calls in the box, then is replaced
        for k in range(2):
            cdrs.append(
                {
                    "record_id": f"b{i}-{k}", "start_time": f"2026-03-03T{8 + i // 2:02d}:{10 * k + i % 2:02d}:00Z",
                    "duration_s": 20, "event": "voice", "result": "answered", "a_number": f"+770755500{i:02d}",
                    "b_number": f"+7701{3000000 + 7 * i + k:07d}", "ingress": "mobile",
                    "a_imsi": f"4017700000001{i:02d}", "a_imei": box_imei, "a_cell": "C1",
                }
            )  # fmt: skip
    for k in range(6):  # a person calling a friend
        cdrs.append(
            {
                "record_id": f"p{k}", "start_time": f"2026-03-03T1{k}:00:00Z", "duration_s": 90, "event": "voice",
                "result": "answered", "a_number": "+77079990000", "b_number": "+77012223344", "ingress": "mobile",
                "a_imsi": "401770000000900", "a_imei": "356938035643809", "a_cell": f"C{k % 3}",
            }
        )  # fmt: skip
    analysis = prepared({"cells": CELLS, "subscribers": subscribers, "cdrs": cdrs})
    rows = {r["imsi"]: r for r in analysis.sim_table.to_pylist()}
    box = rows["401770000000100"]
    assert box["imei_max_sims_per_day"] == 12
    assert box["owner_sims"] == 12 and box["batch_sims"] == 12
    reasons = {r.rule: r.detail for r in sim_reasons(box)}
    assert (
        reasons["simbox.imei_many_sims_day"]
        == f"IMEI {box_imei} carried 12 different SIMs in one day"
    )
    assert (
        reasons["simbox.activation_batch"]
        == "one of 12 SIMs activated the same day with neighbouring IMSIs"
    )
    sims, farms = analysis.judge_sims()
    verdict = dict(
        zip(sims.column("imsi").to_pylist(), sims.column("verdict").to_pylist(), strict=True)
    )
    assert verdict["401770000000100"] == "simbox"
    assert verdict["401770000000900"] == "clear"
    assert len(farms) == 1 and len(farms[0].imsis) == 12 and farms[0].imeis == [box_imei]
    assert farms[0].sites == ["S1"]
    # Every reason keeps its message key and facts, which render back to its English text.
    for text, cell in zip(
        sims.column("reasons").to_pylist(), sims.column("reason_facts").to_pylist(), strict=True
    ):
        keyed = parse_reasons(cell)
        assert (text or "") == " | ".join(
            f"{r.rule}: {render(r.key, r.facts_dict())}" for r in keyed
        )
    keys = {r.key for cell in sims.column("reason_facts").to_pylist() for r in parse_reasons(cell)}
    assert {
        "analysis.sim.farm_member",
        "analysis.sim.imei_many_sims_day",
        "analysis.sim.model",
    } <= keys
    farm = farms[0]
    evidence = parse_reasons(farm.reason_facts())
    assert farm.reasons() == "; ".join(render(r.key, r.facts_dict()) for r in evidence)
    assert evidence == farm.said() and "simfarm.shared_imei" in {r.rule for r in evidence}
    for reason in evidence:  # each kind of evidence weighs what its pairs add to the farm's graph
        kind = reason.rule.removeprefix("simfarm.")
        assert reason.weight == EDGE_WEIGHTS[kind] * farm.evidence[kind]
    # The calls of a SIM box, in a farm or on its own.
    lone = sims.set_column(
        sims.column_names.index("farm_id"), "farm_id", pa.nulls(sims.num_rows, pa.string())
    )
    for judged_sims, key in (
        (sims, "analysis.call.simbox"),
        (lone, "analysis.call.simbox.no_farm"),
    ):
        calls = analysis.judge_calls(judged_sims)
        boxed = [
            (text, cell)
            for text, cell in zip(
                calls.column("reasons").to_pylist(),
                calls.column("reason_facts").to_pylist(),
                strict=True,
            )
            if text and text.startswith("simbox.call")
        ]
        assert len(boxed) == 24
        for text, cell in boxed:
            [reason] = parse_reasons(cell)
            assert (reason.rule, reason.key, reason.weight) == ("simbox.call", key, 1.0)
            assert text == f"simbox.call: {reason.detail}"
            assert reason.detail_in("ru").startswith("звонок с SIM-карты")
