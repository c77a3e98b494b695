"""Decisions of screening (``decisions.csv``) in: every intercepted call an alert with its episode."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
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
from qalqan.cases.ingest.data_set import DataSetFacts, read_data_set
from qalqan.cases.ingest.reasons import file_reasons, reasons_json, scheme_of
from qalqan.cases.ingest.report import DEFAULT_BATCH, IngestProgress, IngestReport
from qalqan.cases.models import AlertKind, EntityKind, Episode, PotentialVictim
from qalqan.cases.roles import SYSTEM, Actor, Permission, authorize
from qalqan.cases.store import clock_of, settings_of
from qalqan.cases.upsert import entity_ids, upsert
from qalqan.domain.model import Action, CallAttempt, Decision, ReportCategory
from qalqan.exchange.reader import read_file


def _intercepted(decisions: Path, report: IngestReport, quarantine: Path | None) -> list[Decision]:
    """Every decision other than ``allow``, the last one kept when a record id repeats."""
    found: dict[str, Decision] = {}
    with read_file(decisions, "decisions", quarantine=quarantine) as reader:
        for batch in reader:
            report.rows_read += batch.num_rows
            chosen = batch.filter(pc.not_equal(batch.column("action"), Action.ALLOW.value))
            cells = (
                chosen.column("reason_facts").to_pylist()
                if "reason_facts" in chosen.column_names
                else [None] * chosen.num_rows
            )
            for rid, action, score, words, cell in zip(
                chosen.column("record_id").to_pylist(),
                chosen.column("action").to_pylist(),
                chosen.column("score").to_pylist(),
                chosen.column("reasons").to_pylist(),
                cells,
                strict=True,
            ):
                found.pop(rid, None)
                found[rid] = Decision(
                    action=Action(action),
                    score=float(score),
                    reasons=tuple(file_reasons(cell, words, table="decisions")),
                    record_id=rid,
                )
    report.note_rejected(reader.report, quarantine)
    return list(found.values())


def _ref(decision: Decision) -> str:
    """The record id of a decision read from a file (every row has one)."""
    return decision.record_id or ""


def _category_of_call(
    decision: Decision, call: CallAttempt | None, facts: DataSetFacts
) -> ReportCategory:
    """The scheme of an intercepted call: of the number it presented (the data set's registry
    and reports), else of its reasons' keys (:func:`~qalqan.cases.ingest.reasons.scheme_of`)."""
    caller = call.caller if call is not None else None
    found = scheme_of(
        decision.reasons,
        registered=facts.registered.get(caller) if caller else None,
        owner=facts.registry.get(caller) if caller else None,
        reported=facts.reported.get(caller) if caller else None,
    )
    return found or ReportCategory.OTHER


def _victims(
    calls: Iterable[CallAttempt | None], facts: DataSetFacts, vulnerable_age: int
) -> dict[str, dict[str, Any]]:
    """The potential victims of ``calls`` as rows: callee, IMSI, birth year, vulnerable."""
    victims: dict[str, dict[str, Any]] = {}
    for call in calls:
        if call is None:
            continue
        callee_imsi = facts.callee_imsis.get(call.callee)
        imsi, year = facts.subscribers.get(call.callee, (callee_imsi, None))
        age = None if year is None else call.time.year - year
        victims[call.callee] = {
            "msisdn": call.callee,
            "imsi": imsi or callee_imsi,
            "birth_year": year,
            "vulnerable": age is not None and age >= vulnerable_age,
            "times_targeted": 0,
        }
    return victims


def _write_victims(session: Session, victims: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Upsert the victims (a second call fills what the first lacked); their ids by number."""
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
    if not victims:
        return {}
    found = session.execute(
        select(PotentialVictim.msisdn, PotentialVictim.id).where(
            PotentialVictim.msisdn.in_(list(victims))
        )
    )
    return {msisdn: ident for msisdn, ident in found}


def _alert_row(
    decision: Decision,
    call: CallAttempt | None,
    facts: DataSetFacts,
    victim_ids: dict[str, int],
    now: datetime,
) -> dict[str, Any]:
    severity = call_severity(decision.score)
    rid = _ref(decision)
    return {
        "source_ref": rid,
        "severity": severity.value,
        "severity_rank": severity.rank,
        "score": decision.score,
        "action": decision.action.value,
        "category": _category_of_call(decision, call, facts).value,
        "reasons": reasons_json(decision.reasons),
        "source_records": as_json([rid]),
        "details": as_json({} if call is None else {"ingress": str(call.ingress)}),
        "occurred_at": now if call is None else call.time,
        "caller": None if call is None else call.caller,
        "victim_id": None if call is None else victim_ids.get(call.callee),
    }


def _write_episodes(
    session: Session, alert_rows: list[dict[str, Any]], alert_ids: dict[str, int]
) -> None:
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


EntityKey = tuple[str, str]
"""An entity by (kind, value), before it has an id."""


def _caller_entities(
    aid: int, call: CallAttempt
) -> tuple[list[tuple[int, EntityKey, str]], list[tuple[EntityKey, EntityKey, str]]]:
    """What a call says about its caller: (alert links, links between the entities)."""
    number = (EntityKind.NUMBER.value, call.caller) if call.caller else None
    sim = (EntityKind.SIM.value, call.imsi) if call.imsi else None
    handset = (EntityKind.IMEI.value, call.imei) if call.imei else None
    wanted: list[tuple[int, EntityKey, str]] = []
    links: list[tuple[EntityKey, EntityKey, str]] = []
    for entity, relation in ((number, "caller"), (sim, "caller_sim"), (handset, "caller_imei")):
        if entity is not None:
            wanted.append((aid, entity, relation))
    if sim is not None and number is not None:
        links.append((sim, number, "msisdn"))
    if sim is not None and handset is not None:
        links.append((sim, handset, "handset"))
    if call.cell:
        wanted.append((aid, (EntityKind.CELL.value, call.cell), "caller_cell"))
    if call.ingress.route:
        wanted.append((aid, (EntityKind.ROUTE.value, str(call.ingress)), "route"))
    return wanted, links


def _link_callers(
    session: Session, calls: dict[str, CallAttempt | None], alert_ids: dict[str, int]
) -> None:
    wanted: list[tuple[int, EntityKey, str]] = []
    sim_links: list[tuple[EntityKey, EntityKey, str]] = []
    for rid, call in calls.items():
        if call is not None:
            alert_links, entity_links = _caller_entities(alert_ids[rid], call)
            wanted += alert_links
            sim_links += entity_links
    ids = entity_ids(session, [w[1] for w in wanted] + [p for link in sim_links for p in link[:2]])
    link_alerts(session, [(aid, ids[key], rel) for aid, key, rel in wanted])
    link_entities(session, [(ids[a], ids[b], rel) for a, b, rel in sim_links])


def _write_batch(
    session: Session,
    batch: Sequence[Decision],
    facts: DataSetFacts,
    *,
    source: str,
    vulnerable_age: int,
    now: datetime,
) -> int:
    """One batch of decisions as alerts, victims, episodes and links; the alerts written."""
    calls = {_ref(d): facts.calls.get(_ref(d)) for d in batch}
    victim_ids = _write_victims(session, _victims(calls.values(), facts, vulnerable_age))
    alert_rows = [_alert_row(d, calls[_ref(d)], facts, victim_ids, now) for d in batch]
    alert_ids = write_alerts(session, AlertKind.INTERCEPTED_CALL, source, alert_rows)
    _write_episodes(session, alert_rows, alert_ids)
    _link_callers(session, calls, alert_ids)
    link_calls_to_campaigns(session, source, list(alert_ids.values()))
    recount_targets(session, victim_ids.values())
    return len(alert_ids)


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
            [_ref(d) for d in rows],
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
        written = _write_batch(
            session,
            batch,
            facts,
            source=source,
            vulnerable_age=settings.vulnerable_age,
            now=now,
        )
        report.batches += 1
        report.saw(AlertKind.INTERCEPTED_CALL.value, written)
        audit.append(
            session,
            actor,
            "ingest_decisions",
            f"file:{decisions.name}",
            at=now,
            details={"source": source, "batch": report.batches, "alerts": written},
        )
        session.commit()  # the batch is acknowledged only from here on
        statistics.wrote(len(batch))
        done += len(batch)
        if progress is not None:
            progress(done, len(rows))
    after = count_alerts(session, [AlertKind.INTERCEPTED_CALL], source)
    report.alerts_new = {k: after[k] - before[k] for k in after}
    return report
