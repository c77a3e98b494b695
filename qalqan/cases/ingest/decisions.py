"""Decisions of screening (``decisions.csv``) in: every intercepted call an alert with its episode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from qalqan.cases import audit
from qalqan.cases.ingest.alerts import (
    PlannerStatistics,
    as_json,
    batches,
    call_severity,
    count_alerts,
    keep_or_fill,
    link_alerts,
    link_calls_to_campaigns,
    link_entities,
    recount_targets,
    write_alerts,
)
from qalqan.cases.ingest.data_set import DataSetFacts, KnownCall, read_data_set
from qalqan.cases.ingest.reasons import guess_category, keyed, reason_texts
from qalqan.cases.ingest.report import DEFAULT_BATCH, IngestProgress, IngestReport
from qalqan.cases.models import AlertKind, EntityKind, Episode, PotentialVictim
from qalqan.cases.roles import SYSTEM, Actor, Permission, authorize
from qalqan.cases.store import clock_of, settings_of
from qalqan.cases.upsert import entity_ids, upsert
from qalqan.domain.model import Ingress, ReportCategory
from qalqan.exchange.reader import read_file


@dataclass(frozen=True, slots=True)
class _Decision:
    record_id: str
    action: str
    score: float
    reasons: str | None
    reason_facts: str | None = None
    """The keys and facts of the reasons (a Qalqan extension of ``decisions``), if written."""


def _said(decision: _Decision) -> list[str | dict[str, object]]:
    """A decision's reasons as the store keeps them (see :func:`keyed`)."""
    return keyed(reason_texts(decision.reasons), decision.reason_facts)


def _intercepted(decisions: Path, report: IngestReport, quarantine: Path | None) -> list[_Decision]:
    """Every decision other than ``allow``, the last one kept when a record id repeats."""
    found: dict[str, _Decision] = {}
    with read_file(decisions, "decisions", quarantine=quarantine) as reader:
        for batch in reader:
            report.rows_read += batch.num_rows
            chosen = batch.filter(pc.not_equal(batch.column("action"), "allow"))
            keyed = (
                chosen.column("reason_facts").to_pylist()
                if "reason_facts" in chosen.column_names
                else [None] * chosen.num_rows
            )
            for rid, action, score, reasons, facts in zip(
                chosen.column("record_id").to_pylist(),
                chosen.column("action").to_pylist(),
                chosen.column("score").to_pylist(),
                chosen.column("reasons").to_pylist(),
                keyed,
                strict=True,
            ):
                found.pop(rid, None)
                found[rid] = _Decision(rid, action, float(score), reasons, facts)
    report.note_rejected(reader.report, quarantine)
    return list(found.values())


def _category_of_call(
    decision: _Decision, call: KnownCall | None, facts: DataSetFacts
) -> ReportCategory:
    caller = call.caller if call is not None else None
    if caller:
        owner = facts.registry.get(caller)
        found = guess_category(owner)
        if found is not None:
            return found
        reported = facts.reported.get(caller)
        if reported:
            return ReportCategory(reported.most_common(1)[0][0])
    return guess_category(decision.reasons) or ReportCategory.OTHER


def ingest_decisions(
    session: Session,
    decisions: Path,
    data: Path | None = None,
    *,
    source: str = "default",
    actor: Actor = SYSTEM,
    batch_size: int = DEFAULT_BATCH,
    progress: IngestProgress | None = None,
    quarantine: Path | None = None,
) -> IngestReport:
    """Load every non-``allow`` screening decision as an intercepted-call alert with its episode.

    ``data`` is the data set the decisions were made on: its ``cdrs`` give the
    callee and the caller, its ``subscribers`` the callee's birth year, its
    ``registry`` and ``reports`` the likely scheme. Without it, alerts carry
    only what ``decisions.csv`` says. Rows of any file read that break the
    exchange contract are left out, counted in :attr:`IngestReport.rejected`
    and, with ``quarantine``, written there (one CSV per table). Permission: ``ingest``.
    """
    actor = authorize(session, actor, Permission.INGEST, f"file:{decisions.name}")
    settings = settings_of(session)
    report = IngestReport()
    rows = _intercepted(decisions, report, quarantine)
    facts = (
        read_data_set(
            data,
            [d.record_id for d in rows],
            with_people=True,
            report=report,
            quarantine=quarantine,
        )
        if data
        else DataSetFacts()
    )
    before = count_alerts(session, [AlertKind.INTERCEPTED_CALL], source)
    statistics = PlannerStatistics(session)
    session.commit()
    done = 0
    for batch in batches(rows, max(1, batch_size)):
        now = clock_of(session)
        calls = {d.record_id: facts.calls.get(d.record_id) for d in batch}
        victims: dict[str, dict[str, Any]] = {}
        for call in calls.values():
            if call is None:
                continue
            imsi, year = facts.subscribers.get(call.callee, (call.callee_imsi, None))
            age = None if year is None else call.start_time.year - year
            victims[call.callee] = {
                "msisdn": call.callee,
                "imsi": imsi or call.callee_imsi,
                "birth_year": year,
                "vulnerable": age is not None and age >= settings.vulnerable_age,
                "times_targeted": 0,
            }
        upsert(
            session,
            PotentialVictim,
            list(victims.values()),
            keys=("msisdn",),
            update={
                "imsi": keep_or_fill("imsi"),
                "birth_year": keep_or_fill("birth_year"),
                "vulnerable": lambda t, x: t.c.vulnerable | x.vulnerable,
            },
        )
        victim_ids: dict[str, int] = {}
        if victims:
            found = session.execute(
                select(PotentialVictim.msisdn, PotentialVictim.id).where(
                    PotentialVictim.msisdn.in_(list(victims))
                )
            )
            victim_ids = {msisdn: ident for msisdn, ident in found}
        alert_rows = []
        for d in batch:
            call = calls[d.record_id]
            severity = call_severity(d.score)
            alert_rows.append(
                {
                    "source_ref": d.record_id,
                    "severity": severity.value,
                    "severity_rank": severity.rank,
                    "score": d.score,
                    "action": d.action,
                    "category": _category_of_call(d, call, facts).value,
                    "reasons": as_json(_said(d)),
                    "source_records": as_json([d.record_id]),
                    "details": as_json({} if call is None else {"ingress": call.ingress}),
                    "occurred_at": now if call is None else call.start_time,
                    "caller": None if call is None else call.caller,
                    "victim_id": None if call is None else victim_ids.get(call.callee),
                }
            )
        alert_ids = write_alerts(session, AlertKind.INTERCEPTED_CALL, source, alert_rows)
        upsert(
            session,
            Episode,
            [
                {
                    "alert_id": alert_ids[r["source_ref"]],
                    "victim_id": r["victim_id"],
                    "caller": r["caller"],
                    "occurred_at": r["occurred_at"],
                }
                for r in alert_rows
            ],
            keys=("alert_id",),
            update={"victim_id": keep_or_fill("victim_id"), "caller": keep_or_fill("caller")},
        )
        wanted: list[tuple[int, tuple[str, str], str]] = []
        sim_links: list[tuple[tuple[str, str], tuple[str, str], str]] = []
        for rid, call in calls.items():
            if call is None:
                continue
            aid = alert_ids[rid]
            if call.caller:
                wanted.append((aid, (EntityKind.NUMBER.value, call.caller), "caller"))
            if call.imsi:
                wanted.append((aid, (EntityKind.SIM.value, call.imsi), "caller_sim"))
                if call.caller:
                    sim_links.append(
                        (
                            (EntityKind.SIM.value, call.imsi),
                            (EntityKind.NUMBER.value, call.caller),
                            "msisdn",
                        )
                    )
            if call.imei:
                wanted.append((aid, (EntityKind.IMEI.value, call.imei), "caller_imei"))
                if call.imsi:
                    sim_links.append(
                        (
                            (EntityKind.SIM.value, call.imsi),
                            (EntityKind.IMEI.value, call.imei),
                            "handset",
                        )
                    )
            if call.cell:
                wanted.append((aid, (EntityKind.CELL.value, call.cell), "caller_cell"))
            ingress = Ingress.parse(call.ingress)
            if ingress.route:
                wanted.append((aid, (EntityKind.ROUTE.value, str(ingress)), "route"))
        ids = entity_ids(
            session, [w[1] for w in wanted] + [p for link in sim_links for p in link[:2]]
        )
        link_alerts(session, [(aid, ids[key], rel) for aid, key, rel in wanted])
        link_entities(session, [(ids[a], ids[b], rel) for a, b, rel in sim_links])
        link_calls_to_campaigns(session, source, list(alert_ids.values()))
        recount_targets(session, victim_ids.values())
        report.batches += 1
        report._saw(AlertKind.INTERCEPTED_CALL.value, len(alert_ids))
        audit.append(
            session,
            actor,
            "ingest_decisions",
            f"file:{decisions.name}",
            at=now,
            details={"source": source, "batch": report.batches, "alerts": len(alert_ids)},
        )
        session.commit()  # the batch is acknowledged only from here on
        statistics.wrote(len(batch))
        done += len(batch)
        if progress is not None:
            progress(done, len(rows))
    after = count_alerts(session, [AlertKind.INTERCEPTED_CALL], source)
    report.alerts_new = {k: after[k] - before[k] for k in after}
    return report
