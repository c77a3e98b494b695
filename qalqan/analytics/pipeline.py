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

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from qalqan.analytics.calls import call_features, model_matrix_sql, reason_sql, said_sql
from qalqan.analytics.farms import Farm, find_farms
from qalqan.analytics.features import estimate_local_offset, sim_features
from qalqan.analytics.inbound import add_number_facts, inbound_call_facts
from qalqan.analytics.money import money_trail
from qalqan.analytics.numbering import home_region, number_facts
from qalqan.analytics.sim_reasons import decisive, sim_reasons_of
from qalqan.analytics.store import AnalysisStore
from qalqan.detections.spoofing import SpoofingSettings
from qalqan.detections.wangiri import WangiriBurst
from qalqan.domain.messages import reasons_cell
from qalqan.domain.model import CallVerdict, Reason, SimVerdict

if TYPE_CHECKING:
    from qalqan.analytics.campaigns import Campaign
    from qalqan.analytics.models import Models
    from qalqan.screening.config import ScreeningConfig

__all__ = ["SIMBOX_SCORE", "SUSPECT_SCORE", "Analysis", "AnalysisResult", "JudgedCalls"]

# The models' scores are calibrated probabilities (qalqan.training.recipe.fit_models): the share
# of SIM boxes, or of fraud calls, among those that scored alike on simulated operators the model
# had not learnt from. A threshold therefore means the same on another operator.
SIMBOX_SCORE = 0.2
"""A SIM is a SIM box from here (where one in five SIMs that scored alike was one), or when its farm
vouches for it; the farm graph stands on SIMs from :data:`SUSPECT_SCORE`. Both keep the operating
point of the uncalibrated scores' 0.5 and 0.2 on the training operators."""
SUSPECT_SCORE = 0.08
MAX_EXPLAINED_SIMS = 2000
"""The model's own drivers are worked out for this many flagged SIMs; rules explain all of them."""
CALL_FRAUD_SCORE = 0.5
"""A call no rule settles is fraud when the call model says it more likely than not is *and*
something corroborates it: the caller hid its number, or the callee is being worked (other
flagged calls within three days) -- except for a foreign caller ID, which needs its own number
to be working a list."""
FOREIGN_NUMBER_WORKED_CALLEES = 2
"""A foreign caller ID is corroborated only by its own number: it called at least this many of our
subscribers who got other flagged calls within three days. That the callee is being worked says
nothing about a foreign number: the people a call center rings are the people whose relatives
abroad call them, minutes later, from the same countries over the same carriers."""


_WORKED = """
    -- per caller ID: how many people it called who got other flagged calls
    SELECT a_number, count(*) AS worked FROM worked_pairs GROUP BY a_number
"""
"""SQL: the people each caller ID called who are being worked (``w.worked`` below), over the
whole data set: ``worked_pairs`` of :func:`~qalqan.analytics.calls.call_features`."""
_CORROBORATED = (
    "(f.cli_withheld OR (f.cli_foreign = 0 AND f.callee_flagged_calls >= 1)"
    f" OR (f.cli_foreign = 1 AND coalesce(w.worked, 0) >= {FOREIGN_NUMBER_WORKED_CALLEES}))"
)
"""SQL over a call ``f`` of ``call_facts`` and its caller's ``w`` of :data:`_WORKED`: what must
corroborate the call model (:data:`CALL_FRAUD_SCORE`)."""


def _one_of(
    cases: list[tuple[str, str, Mapping[str, str]]], rule: str, weight: str
) -> tuple[str, str]:
    """SQL for the text and the ``reason_facts`` cell of one reason whose message depends on
    the call: ``cases`` are (condition, message key, its facts), the last one's condition
    ``ELSE``. Each branch is a whole cell, so that the JSON is built where Spark can build it."""
    texts, cells = [], []
    for n, (condition, key, facts) in enumerate(cases):
        text, facts_json = said_sql(key, facts)
        cell = reason_sql(rule, weight, f"'{key}'", facts_json)
        when = "ELSE" if n == len(cases) - 1 else f"WHEN {condition} THEN"
        texts.append(f"{when} {text}")
        cells.append(f"{when} {cell}")
    return f"CASE {' '.join(texts)} END", f"CASE {' '.join(cells)} END"


def _judged_calls_sql() -> str:
    """The verdicts of every call from outside (``call_facts`` with the model's ``_call_scores``)
    and of every call of a SIM box (``mo`` of ``_boxes``), in no particular order."""
    flagged = f"s.p >= {CALL_FRAUD_SCORE} AND {_CORROBORATED}"
    said = {"share": "round(100 * f.route_hour_flag_share)", "route": "f.ingress"}
    model_text, model_cell = _one_of(
        [
            ("f.cli_foreign = 1", "analysis.call.model.foreign_number", said | {"people": "w.worked"}),
            ("f.pair_history <= 0", "analysis.call.model", said | {"flagged": "f.callee_flagged_calls"}),
            ("", "analysis.call.model.known_pair", said | {"flagged": "f.callee_flagged_calls"}),
        ],
        "'fraud_call.model'",
        "round(s.p, 4)",
    )  # fmt: skip
    box_text, box_cell = _one_of(
        [
            ("b.farm_id IS NULL", "analysis.call.simbox.no_farm", {"imsi": "m.imsi"}),
            ("", "analysis.call.simbox", {"imsi": "m.imsi", "farm": "b.farm_id"}),
        ],
        "'simbox.call'",
        "1.0",
    )
    rule_cell = reason_sql("f.rule", "1.0", "f.rule_key", "json(f.rule_facts)")
    return f"""
        WITH worked AS ({_WORKED}),
        outside AS (
            SELECT f.record_id, f.t, f.ingress, f.a_number, f.b_number,
                   CASE WHEN f.rule IS NOT NULL THEN f.rule_verdict
                        WHEN {flagged} THEN '{CallVerdict.FRAUD}' ELSE '{CallVerdict.CLEAR}' END AS verdict,
                   CASE WHEN f.rule IS NOT NULL THEN f.rule || ': ' || f.rule_detail
                        WHEN {flagged} THEN
                            'fraud_call.model (' || round(s.p, 2) || '): ' || {model_text}
                   END AS reasons,
                   NULL AS farm_id, NULL AS imsi,
                   CASE WHEN f.rule IS NOT NULL THEN {rule_cell}
                        WHEN {flagged} THEN {model_cell}
                   END AS reason_facts
            FROM call_facts f LEFT JOIN _call_scores s USING (record_id)
            LEFT JOIN worked w ON w.a_number = f.a_number
        ),
        from_boxes AS (
            SELECT m.record_id, m.t, 'mobile' AS ingress, m.a_number, m.b_number,
                   '{CallVerdict.FRAUD}' AS verdict, 'simbox.call: ' || {box_text} AS reasons,
                   b.farm_id, m.imsi, {box_cell} AS reason_facts
            FROM mo m JOIN _boxes b USING (imsi)
        )
        SELECT record_id, t, ingress, a_number, b_number, verdict, reasons, farm_id, imsi,
               CASE WHEN reasons IS NULL THEN NULL ELSE reason_facts END AS reason_facts
        FROM (SELECT * FROM outside UNION ALL SELECT * FROM from_boxes) AS judged
    """


_JUDGED_CALLS_SQL = _judged_calls_sql()


CALLS_AT_ONCE = 250_000
"""Rows of ``calls.csv`` read from the engine at a time."""
JUDGED_CALLS = "judged_calls"
"""The engine's table of every judged call (:meth:`Analysis.record_judged_calls`)."""


def _calls_csv_sql() -> str:
    """SQL: ``calls.csv``'s rows, in time order then record id."""
    from qalqan.analytics.campaigns import CALL_CAMPAIGNS

    return f"""
        SELECT j.record_id, j.verdict, c.campaign_id, j.reasons, j.ingress, j.t AS start_time,
               j.reason_facts
        FROM {JUDGED_CALLS} j LEFT JOIN {CALL_CAMPAIGNS} c USING (record_id)
        ORDER BY j.t, j.record_id
    """


class JudgedCalls:
    """``calls.csv``'s rows, kept in the engine: every call from outside and every call of a SIM
    box with its verdict, reasons and, for a fraud call, its campaign.

    At national scale there are millions of them, so Python never holds them all: they are read
    a batch at a time, in time order then record id, while the store is open. Only the count of
    each verdict is kept here, for the summaries written after the store is closed.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.verdicts: dict[str, int] = {
            str(verdict): int(n)
            for verdict, n in con.execute(
                f"SELECT verdict, count(*) FROM {JUDGED_CALLS} GROUP BY verdict ORDER BY verdict"
            ).fetchall()
        }
        """How many calls got each verdict."""

    @property
    def num_rows(self) -> int:
        return sum(self.verdicts.values())

    def batches(self, rows: int = CALLS_AT_ONCE) -> Iterator[pa.RecordBatch]:
        """The rows of ``calls.csv``, in order, at most ``rows`` at a time."""
        found = self.con.sql(_calls_csv_sql())
        if hasattr(found, "to_arrow_reader"):  # DuckDB: the sorted rows stream
            yield from found.to_arrow_reader(rows)
        else:  # a SparkConnection's rows come to the driver at once
            yield from found.to_arrow_table().to_batches(max_chunksize=rows)

    def to_arrow(self) -> pa.Table:
        """Every row at once (small operators and tests)."""
        return self.con.sql(_calls_csv_sql()).to_arrow_table()


@dataclass(slots=True)
class AnalysisResult:
    sims: pa.Table
    farms: list[Farm]
    calls: JudgedCalls
    campaigns: list[Campaign]
    local_offset_h: int
    home_region: str
    accounts: pa.Table | None = None
    """The money trail (``qalqan.analytics.money``)."""
    stats: dict[str, Any] = field(default_factory=dict)


class Analysis:
    """Everything ``qalqan analyze`` does, over one :class:`AnalysisStore`."""

    def __init__(
        self,
        store: AnalysisStore,
        models: Models | None = None,
        *,
        config: ScreeningConfig | None = None,
    ) -> None:
        """``config`` is the screening rules file's settings (the shipped one by default):
        the detections defined once for analyze and the engine (spoofed caller IDs, Wangiri,
        young SIMs) read their settings from it, so that both judge by the same values."""
        from qalqan.screening.config import load_config

        self.store = store
        self.con = store.con
        self.models = models
        self.config = config if config is not None else load_config()
        self.local_offset_h = 0
        self.home = "ZZ"
        self.sim_table = pa.table({})
        self.sim_calls = "mo"
        """The table of the SIMs' own calls over the whole data set that the farms'
        descriptions read (a daily run's ``mo`` holds the new days' alone)."""
        self.model_threads = store.threads()
        """Threads the SIM model scores and explains on: the engine's, since the two take
        turns on the machine's cores (the same answers on any number of them)."""

    # --- facts --------------------------------------------------------------------------
    def prepare(self) -> None:
        """Features of SIMs and facts of calls from outside; no model needed."""
        self.prepare_sims()
        self.prepare_calls()

    def prepare_sims(self) -> None:
        """The network's offset from UTC and every SIM's features (:attr:`sim_table`)."""
        self.local_offset_h = estimate_local_offset(self.con)
        self.sim_table = sim_features(
            self.con,
            local_offset_h=self.local_offset_h,
            young_sim_days=self.config.young_sim_days,
        )

    def prepare_calls(self) -> None:
        """The facts of the calls from outside (``call_facts``), read at the network's offset
        that :meth:`prepare_sims` found: the home country, the calling numbers' facts, what
        backs each caller ID, and the call model's inputs."""
        self.call_facts()

    def call_facts(self, *, kept: str | None = None, keep_contact: str | None = None) -> None:
        """:meth:`prepare_calls` of the calls in ``cdrs``.

        A daily run names with ``kept`` the prefix of the tables it kept of the days before
        (the first-contact walk's ``<kept>first_contact``, the look-back's calls from outside
        ``<kept>outside``, and what :func:`~qalqan.analytics.calls.call_features` reads);
        ``keep_contact`` names a table to create with the first-contact walk's state."""
        config = self.config
        self.home = home_region(self.con)
        number_facts(self.con, "numbers", self.home)
        if kept is not None:
            add_number_facts(self.con, "numbers", self.home, calls=f"{kept}outside")
        inbound_call_facts(
            self.con,
            local_offset_h=self.local_offset_h,
            roaming_known=self.store.has("roaming"),
            spoofing=SpoofingSettings.from_config(config),
            wangiri=WangiriBurst.from_config(config),
            look_back=None if kept is None else f"{kept}outside",
            contact_from=None if kept is None else f"{kept}first_contact",
            keep_contact=keep_contact,
        )
        call_features(self.con, kept=kept)

    def residual_calls(self) -> pa.Table:
        """Calls from outside that no rule settles, with the call model's inputs."""
        return self.con.sql(
            f"SELECT record_id, {model_matrix_sql()} FROM call_facts WHERE rule IS NULL ORDER BY record_id"
        ).to_arrow_table()

    def corroborated_calls(self) -> pa.Table:
        """The residual calls (:meth:`residual_calls`) that something corroborates, with the
        call model's inputs: only these can be flagged by the model (:data:`CALL_FRAUD_SCORE`)."""
        return self.con.sql(
            f"""
            WITH worked AS ({_WORKED}),
            corroborated AS (
                SELECT f.* FROM call_facts f LEFT JOIN worked w ON w.a_number = f.a_number
                WHERE f.rule IS NULL AND {_CORROBORATED}
            )
            SELECT record_id, {model_matrix_sql()} FROM corroborated ORDER BY record_id
            """
        ).to_arrow_table()

    # --- judgements ---------------------------------------------------------------------
    def judge_sims(self) -> tuple[pa.Table, list[Farm]]:
        """Every SIM's score and verdict, over the feature columns at once; only the flagged
        few (SIM boxes and suspects) get reasons, said one by one."""
        table = self.sim_table
        model = self.score_sims(table)
        own = np.where(decisive(table), np.maximum(model, 0.95), model)
        imsis = table.column("imsi")
        farms, farm_of = find_farms(
            self.con,
            dict(zip(imsis.to_pylist(), own.tolist(), strict=True)),
            candidate_score=SUSPECT_SCORE,
            farm_score=SIMBOX_SCORE,
            calls=self.sim_calls,
        )
        farm_ids = _farm_of_each(imsis, farm_of)
        in_farm = np.asarray(farm_ids.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
        score = np.where(in_farm, np.maximum(own, SIMBOX_SCORE), own)
        flagged = np.flatnonzero(score >= SUSPECT_SCORE)
        reasons, facts = self._sim_reasons(
            table.take(flagged), own[flagged], farm_ids.take(flagged), farms
        )
        verdict = np.where(
            score >= SIMBOX_SCORE,
            SimVerdict.SIMBOX.value,
            np.where(score >= SUSPECT_SCORE, SimVerdict.SUSPECT.value, SimVerdict.CLEAR.value),
        )
        sims = pa.table(
            {
                "imsi": imsis,
                "msisdn": table.column("msisdn"),
                "score": pa.array(_round4(score), pa.float64()),
                "verdict": pa.array(verdict, pa.string()),
                "farm_id": farm_ids,
                "reasons": _spread(reasons, flagged, table.num_rows),
                "reason_facts": _spread(facts, flagged, table.num_rows),
            }
        )
        return sims, farms

    def score_sims(self, table: pa.Table) -> np.ndarray:
        """The SIM model's own score of every SIM of ``table`` (its feature rows)."""
        if self.models is None:
            return np.zeros(table.num_rows)
        return self.models.score_sims(table, threads=self.model_threads)

    def sim_drivers(self, flagged: pa.Table, rows: list[int]) -> dict[int, str]:
        """What drove the SIM model's score of each of ``rows`` of ``flagged``, in words
        (``"; "``-separated); none without models."""
        if self.models is None:
            return {}
        return self.models.sim_drivers(flagged, rows, threads=self.model_threads)

    def _sim_reasons(
        self, flagged: pa.Table, own: np.ndarray, farm_ids: pa.ChunkedArray, farms: list[Farm]
    ) -> tuple[list[str], list[str | None]]:
        """The reasons of the flagged SIMs (``own``: their own scores), as text and as data:
        the farm it belongs to, the rules that fired, the model with its drivers."""
        explained = self.sim_drivers(
            flagged, list(range(min(flagged.num_rows, MAX_EXPLAINED_SIMS)))
        )
        farm_size = {f.farm_id: len(f.imsis) for f in farms}
        texts: list[str] = []
        cells: list[str | None] = []
        for index, (reasons, farm, p) in enumerate(
            zip(sim_reasons_of(flagged), farm_ids.to_pylist(), own.tolist(), strict=True)
        ):
            if farm:
                member = Reason.said(
                    "simfarm.member",
                    1.0,
                    "analysis.sim.farm_member",
                    sims=farm_size[farm],
                    farm=farm,
                )
                reasons.insert(0, member)
            drivers = explained.get(index, "")
            reasons.append(_model_reason(p, drivers))
            texts.append(" | ".join(f"{r.rule}: {r.detail}" for r in reasons))
            cells.append(reasons_cell(reasons))
        return texts, cells

    def judge_calls(self, sims: pa.Table) -> pa.Table:
        """Verdicts for every call from outside and every call of a SIM judged a SIM box,
        in time order then record id (:meth:`record_judged_calls`, read out at once)."""
        self.record_judged_calls(sims)
        return self.con.sql(f"SELECT * FROM {JUDGED_CALLS} ORDER BY t, record_id").to_arrow_table()

    def record_judged_calls(self, sims: pa.Table) -> None:
        """TEMP TABLE ``judged_calls``: the verdict of every call from outside and of every call
        of a SIM judged a SIM box, kept in the engine.

        The call model is asked only about the residual calls something corroborates
        (:meth:`corroborated_calls`): no other can be flagged, whatever its score, and
        ``calls.csv`` carries no score for a call that is not.
        """
        corroborated = self.corroborated_calls()
        scores = (
            self.models.score_calls(corroborated)
            if self.models is not None
            else np.zeros(corroborated.num_rows)
        )
        self.con.register(
            "_call_scores",
            pa.table(
                {
                    "record_id": corroborated.column("record_id"),
                    "p": pa.array(scores, pa.float64()),
                }
            ),
        )
        boxes = sims.filter(pc.equal(sims.column("verdict"), SimVerdict.SIMBOX)).select(
            ["imsi", "farm_id"]
        )
        self.con.register("_boxes", boxes)
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {JUDGED_CALLS} AS {_JUDGED_CALLS_SQL}")
        finally:
            self.con.unregister("_call_scores")
            self.con.unregister("_boxes")

    def group_campaigns(self, farms: list[Farm]) -> list[Campaign]:
        """The campaigns of the judged calls' fraud calls (``call_campaigns`` for each)."""
        from qalqan.analytics.campaigns import assign_campaigns

        return assign_campaigns(self.con, JUDGED_CALLS, farms)

    def money_trail(self, campaigns: list[Campaign]) -> pa.Table:
        """``accounts.csv``'s rows: the money trail of the judged calls' campaigns."""
        return money_trail(self.con, campaigns)

    def run(self) -> AnalysisResult:
        sims, farms = self.judge_sims()
        self.record_judged_calls(sims)
        campaigns = self.group_campaigns(farms)
        calls = JudgedCalls(self.con)
        accounts = self.money_trail(campaigns)
        return AnalysisResult(
            accounts=accounts,
            sims=sims,
            farms=farms,
            calls=calls,
            campaigns=campaigns,
            local_offset_h=self.local_offset_h,
            home_region=self.home,
        )


def _model_reason(score: float, drivers: str) -> Reason:
    """The model's word on a flagged SIM: its own score, and what drove it when worked out."""
    if drivers:
        return Reason.said(
            "model",
            round(score, 4),
            "analysis.sim.model.drivers",
            score=f"{score:.2f}",
            drivers=drivers,
        )
    return Reason.said("model", round(score, 4), "analysis.sim.model", score=f"{score:.2f}")


def _farm_of_each(imsis: pa.ChunkedArray, farm_of: dict[str, str]) -> pa.ChunkedArray:
    """The farm of each SIM of ``imsis`` (null for a SIM in none), looked up over the column."""
    members = pa.array(list(farm_of), pa.string())
    where = pc.index_in(imsis, value_set=members)
    found = pc.take(pa.array(list(farm_of.values()), pa.string()), where)
    return found if isinstance(found, pa.ChunkedArray) else pa.chunked_array([found])


def _spread(values: list[str] | list[str | None], rows: np.ndarray, total: int) -> pa.Array:
    """A column of ``total`` cells holding ``values`` at ``rows`` and null everywhere else."""
    at = np.full(total, -1, dtype=np.int64)
    at[rows] = np.arange(len(rows))
    return pc.take(pa.array(values, pa.string()), pa.array(at, mask=at < 0))


def _round4(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to 4 decimals exactly as Python's ``round`` does (correctly rounded).

    NumPy's ``round`` scales by 10,000 first, which can fall on the other side of a half where
    the exact value does not; only those few values near a half are rounded one by one.
    """
    rounded = np.round(values, 4)
    scaled = values * 10_000.0
    near_half = np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6)
    for i in near_half.tolist():
        rounded[i] = round(float(values[i]), 4)
    return rounded
