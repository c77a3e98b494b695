"""SIM judgement over whole columns: the same verdicts and reasons as judging SIM by SIM.

The rules fire over the feature columns at once; only the flagged SIMs get their reasons
said, and a clear SIM gets none. Scores are rounded as Python rounds them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.analytics.pipeline import SIMBOX_SCORE, SUSPECT_SCORE, Analysis, _round4
from qalqan.analytics.sim_reasons import (
    SIM_RULES,
    SimColumns,
    decisive,
    sim_reasons,
    sim_reasons_of,
)
from qalqan.domain.messages import parse_reasons
from tests.analytics.test_sim_rules import CELLS

COUNTS = ("imei_max_sims_per_day", "imei_max_sims", "voice_in", "sms_in", "voice_out", "sms_out",
          "distinct_callees", "batch_sims", "owner_sims", "plan_corporate", "distinct_sites",
          "site_young_sims_per_day", "age_days")  # fmt: skip
SHARES = ("callback_share", "lifespan_h", "young_contact_share", "failed_share",
          "elderly_callee_share")  # fmt: skip

missing_or = st.one_of(st.none(), st.just(math.nan))
features = st.fixed_dictionaries(
    {
        **{c: st.one_of(st.none(), st.integers(0, 40)) for c in COUNTS},
        **{s: st.one_of(missing_or, st.floats(0, 100)) for s in SHARES},
        "young": st.one_of(st.none(), st.booleans()),
        "busiest_imei": st.just("861234560000013"),
        "main_site": st.just("S1"),
    }
)


def as_table(rows: list[dict[str, object]]) -> pa.Table:
    """The rows as a feature table in several chunks, with the types the features have."""
    schema = pa.schema(
        [(c, pa.int64()) for c in COUNTS]
        + [(s, pa.float64()) for s in SHARES]
        + [("young", pa.bool_()), ("busiest_imei", pa.string()), ("main_site", pa.string())]
    )
    chunks = [pa.Table.from_pylist(rows[i : i + 3], schema=schema) for i in range(0, len(rows), 3)]
    return pa.concat_tables(chunks) if chunks else schema.empty_table()


@settings(deadline=None)
@given(st.lists(features, min_size=1, max_size=12))
def test_the_rules_over_columns_say_what_they_say_of_each_sim(
    rows: list[dict[str, object]],
) -> None:
    table = as_table(rows)
    assert sim_reasons_of(table) == [sim_reasons(row) for row in rows]
    settled = decisive(table).tolist()
    for row, said, is_settled in zip(rows, sim_reasons_of(table), settled, strict=True):
        count = row["imei_max_sims_per_day"]
        assert is_settled == (isinstance(count, int) and count >= 4)
        assert is_settled == any(r.rule == "simbox.imei_many_sims_day" for r in said)


def test_a_missing_count_share_or_flag_fires_no_rule() -> None:
    empty: dict[str, object] = dict.fromkeys((*COUNTS, "young"))
    empty.update(dict.fromkeys(SHARES, math.nan))
    table = as_table([empty | {"busiest_imei": None, "main_site": None}])
    columns = SimColumns(table)
    for rule in SIM_RULES:
        assert not rule.applies(columns)[0], rule.rule
    assert sim_reasons_of(table) == [[]] and not decisive(table)[0]


@given(st.one_of(st.floats(0, 1), st.integers(0, 20_000).map(lambda k: k / 20_000)))
def test_scores_round_as_python_rounds(value: float) -> None:
    assert _round4(np.array([value]))[0] == round(value, 4)


def test_clear_sims_get_no_reasons_and_flagged_ones_theirs(
    prepared: Callable[..., Analysis],
) -> None:
    box_imei = "861234560000013"
    subscribers = [
        {"imsi": f"4017700000001{i:02d}", "msisdn": f"+770755500{i:02d}", "activated": "2026-02-25",
         "plan": "prepaid", "owner_id": "P1"}
        for i in range(12)
    ] + [{"imsi": "401770000000900", "msisdn": "+77079990000", "activated": "2019-05-05", "plan": "postpaid"}]  # fmt: skip
    cdrs = [
        {"record_id": f"b{i}-{k}", "start_time": f"2026-03-03T{8 + i // 2:02d}:{10 * k + i % 2:02d}:00Z",
         "duration_s": 20, "event": "voice", "result": "answered", "a_number": f"+770755500{i:02d}",
         "b_number": f"+7701{3000000 + 7 * i + k:07d}", "ingress": "mobile",
         "a_imsi": f"4017700000001{i:02d}", "a_imei": box_imei, "a_cell": "C1"}
        for i in range(12) for k in range(2)
    ] + [
        {"record_id": f"p{k}", "start_time": f"2026-03-03T1{k}:00:00Z", "duration_s": 90, "event": "voice",
         "result": "answered", "a_number": "+77079990000", "b_number": "+77012223344", "ingress": "mobile",
         "a_imsi": "401770000000900", "a_imei": "356938035643809", "a_cell": f"C{k % 3}"}
        for k in range(6)
    ]  # fmt: skip
    analysis = prepared({"cells": CELLS, "subscribers": subscribers, "cdrs": cdrs})
    sims, farms = analysis.judge_sims()
    features = {r["imsi"]: r for r in analysis.sim_table.to_pylist()}
    assert sims.column("imsi").to_pylist() == analysis.sim_table.column("imsi").to_pylist()
    for sim in sims.to_pylist():
        if sim["verdict"] == "clear":
            assert sim["score"] < SUSPECT_SCORE and sim["farm_id"] is None
            assert sim["reasons"] is None and sim["reason_facts"] is None
            continue
        said = parse_reasons(sim["reason_facts"])
        rules = sim_reasons(features[sim["imsi"]])
        if sim["farm_id"]:
            assert sim["score"] >= SIMBOX_SCORE and said[0].rule == "simfarm.member"
            said = said[1:]
        assert said[:-1] == rules and said[-1].rule == "model"
        assert sim["reasons"] == " | ".join(
            f"{r.rule}: {r.detail}" for r in parse_reasons(sim["reason_facts"])
        )
    assert len(farms) == 1 and set(farms[0].imsis) == {
        s for s, f in zip(sims["imsi"].to_pylist(), sims["farm_id"].to_pylist(), strict=True) if f
    }
