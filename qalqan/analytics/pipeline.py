"""``qalqan analyze`` as one object: stage, compute features, judge SIMs, find farms, judge calls,
group them into campaigns, and write the exchange-v1 output tables.

    store = AnalysisStore.open(staged_dir)
    analysis = Analysis(store, models)
    analysis.prepare()
    result = analysis.run()
    result.write(out_dir)

The CLI is a thin adapter over this; tests run it in-process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from qalqan.analytics.calls import call_features, model_matrix_sql
from qalqan.analytics.farms import Farm, find_farms
from qalqan.analytics.features import estimate_local_offset, sim_features
from qalqan.analytics.inbound import inbound_call_facts
from qalqan.analytics.money import money_trail
from qalqan.analytics.numbering import home_region, number_facts
from qalqan.analytics.sim_reasons import SIM_RULES, sim_reasons
from qalqan.analytics.store import AnalysisStore

if TYPE_CHECKING:
    from qalqan.analytics.campaigns import Campaign
    from qalqan.analytics.models import Models

__all__ = ["SIMBOX_SCORE", "SUSPECT_SCORE", "Analysis", "AnalysisResult"]

SIMBOX_SCORE = 0.5
SUSPECT_SCORE = 0.2
MAX_EXPLAINED_SIMS = 2000
"""The model's own drivers are worked out for this many flagged SIMs; rules explain all of them."""
CALL_FRAUD_SCORE = 0.9
"""A call no rule settles is fraud when the call model is this sure *and* something corroborates
it: the callee is being worked (other flagged calls within three days) or the caller hid its
number. A first call from a foreign number to a new person is too often a relative abroad."""


@dataclass(slots=True)
class AnalysisResult:
    sims: pa.Table
    farms: list[Farm]
    calls: pa.Table
    campaigns: list[Campaign]
    local_offset_h: int
    home_region: str
    accounts: pa.Table | None = None
    """The money trail (``qalqan.analytics.money``)."""
    stats: dict[str, Any] = field(default_factory=dict)


class Analysis:
    """Everything ``qalqan analyze`` does, over one :class:`AnalysisStore`."""

    def __init__(self, store: AnalysisStore, models: Models | None = None) -> None:
        self.store = store
        self.con = store.con
        self.models = models
        self.local_offset_h = 0
        self.home = "ZZ"
        self.sim_table = pa.table({})

    # --- facts --------------------------------------------------------------------------
    def prepare(self) -> None:
        """Features of SIMs and facts of calls from outside; no model needed."""
        self.local_offset_h = estimate_local_offset(self.con)
        self.sim_table = sim_features(self.con, local_offset_h=self.local_offset_h)
        self.home = home_region(self.con)
        number_facts(self.con, "numbers", self.home)
        inbound_call_facts(
            self.con, local_offset_h=self.local_offset_h, roaming_known=self.store.has("roaming")
        )
        call_features(self.con)

    def residual_calls(self) -> pa.Table:
        """Calls from outside that no rule settles, with the call model's inputs."""
        return self.con.sql(
            f"SELECT record_id, {model_matrix_sql()} FROM call_facts WHERE rule IS NULL ORDER BY record_id"
        ).to_arrow_table()

    # --- judgements ---------------------------------------------------------------------
    def judge_sims(self) -> tuple[pa.Table, list[Farm]]:
        table = self.sim_table
        rows = table.to_pylist()
        model_scores = (
            self.models.score_sims(table) if self.models is not None else np.zeros(len(rows))
        )
        scores: dict[str, float] = {}
        for row, p in zip(rows, model_scores, strict=True):
            decisive = any(r.decisive and r.applies(row) for r in SIM_RULES)
            scores[row["imsi"]] = max(float(p), 0.95) if decisive else float(p)
        farms, farm_of = find_farms(
            self.con, scores, candidate_score=SUSPECT_SCORE, farm_score=SIMBOX_SCORE
        )
        farm_size = {f.farm_id: len(f.imsis) for f in farms}
        out_rows = []
        flagged = [
            i
            for i, row in enumerate(rows)
            if farm_of.get(row["imsi"]) or scores[row["imsi"]] >= SUSPECT_SCORE
        ]
        explanations = (
            self.models.explain_sims(table, flagged[:MAX_EXPLAINED_SIMS])
            if self.models is not None
            else {}
        )
        for index, row in enumerate(rows):
            imsi = row["imsi"]
            score = scores[imsi]
            farm = farm_of.get(imsi, "")
            if farm:
                score = max(score, SIMBOX_SCORE)
            verdict = (
                "simbox"
                if score >= SIMBOX_SCORE
                else "suspect"
                if score >= SUSPECT_SCORE
                else "clear"
            )
            reasons = []
            if verdict != "clear":
                reasons = [f"{rule}: {said}" for rule, _, said in sim_reasons(row)]
                if farm:
                    reasons.insert(
                        0, f"simfarm.member: one of {farm_size[farm]} SIMs of farm {farm}"
                    )
                drivers = "; ".join(c.detail for c in explanations.get(index, []))
                reasons.append(
                    f"model: behaviour score {scores[imsi]:.2f}"
                    + (f" ({drivers})" if drivers else "")
                )
            out_rows.append(
                {
                    "imsi": imsi,
                    "msisdn": row["msisdn"],
                    "score": round(score, 4),
                    "verdict": verdict,
                    "farm_id": farm or None,
                    "reasons": " | ".join(reasons) or None,
                }
            )
        sims = pa.Table.from_pylist(
            out_rows,
            schema=pa.schema(
                [("imsi", pa.string()), ("msisdn", pa.string()), ("score", pa.float64()),
                 ("verdict", pa.string()), ("farm_id", pa.string()), ("reasons", pa.string())]
            ),
        )  # fmt: skip
        return sims, farms

    def judge_calls(self, sims: pa.Table) -> pa.Table:
        """Verdicts for every call from outside and every call of a SIM judged a SIM box."""
        residual = self.residual_calls()
        scores = (
            self.models.score_calls(residual)
            if self.models is not None
            else np.zeros(residual.num_rows)
        )
        self.con.register(
            "_call_scores",
            pa.table(
                {"record_id": residual.column("record_id"), "p": pa.array(scores, pa.float64())}
            ),
        )
        boxes = sims.filter(pa.compute.equal(sims.column("verdict"), "simbox")).select(
            ["imsi", "farm_id"]
        )
        self.con.register("_boxes", boxes)
        try:
            table = self.con.sql(
                f"""
                WITH outside AS (
                    SELECT f.record_id, f.t, f.ingress, f.a_number, f.b_number,
                           CASE WHEN f.rule IS NOT NULL THEN f.rule_verdict
                                WHEN s.p >= {CALL_FRAUD_SCORE} AND (f.callee_flagged_calls >= 1 OR f.cli_withheld) THEN 'fraud' ELSE 'clear' END AS verdict,
                           CASE WHEN f.rule IS NOT NULL THEN f.rule || ': ' || f.rule_detail
                                WHEN s.p >= {CALL_FRAUD_SCORE} AND (f.callee_flagged_calls >= 1 OR f.cli_withheld) THEN
                                    'fraud_call.model (' || round(s.p, 2) || '): '
                                    || CASE WHEN f.pair_history <= 0 THEN 'first contact between caller and callee; ' ELSE '' END
                                    || round(100 * f.route_hour_flag_share) || '% of calls over ' || f.ingress
                                    || ' at this hour carried impossible caller IDs; callee got '
                                    || f.callee_flagged_calls || ' flagged calls within 3 days'
                           END AS reasons,
                           NULL AS farm_id, NULL AS imsi
                    FROM call_facts f LEFT JOIN _call_scores s USING (record_id)
                ),
                from_boxes AS (
                    SELECT m.record_id, m.t, 'mobile' AS ingress, m.a_number, m.b_number,
                           'fraud' AS verdict,
                           'simbox.call: placed by SIM ' || m.imsi
                               || coalesce(' of farm ' || b.farm_id, '') || ', judged a SIM box' AS reasons,
                           b.farm_id, m.imsi
                    FROM mo m JOIN _boxes b USING (imsi)
                )
                SELECT * FROM outside UNION ALL SELECT * FROM from_boxes
                ORDER BY t, record_id
                """
            ).to_arrow_table()
        finally:
            self.con.unregister("_call_scores")
            self.con.unregister("_boxes")
        return table

    def run(self) -> AnalysisResult:
        from qalqan.analytics.campaigns import group_campaigns

        sims, farms = self.judge_sims()
        calls = self.judge_calls(sims)
        calls, campaigns = group_campaigns(self.con, calls, farms)
        accounts = money_trail(self.con)
        return AnalysisResult(
            accounts=accounts,
            sims=sims,
            farms=farms,
            calls=calls,
            campaigns=campaigns,
            local_offset_h=self.local_offset_h,
            home_region=self.home,
        )
