"""Investigating: findings, cases made of episodes, suggested links, notes, escalations, closing.

A **case** gathers the episodes (intercepted calls worked as incidents) that
belong to one story — one call center, one farm, one mule account — together
with the findings that explain it (the farm, the campaign, the spoofed wave),
entities attached by hand, notes and escalations. An episode belongs to at
most one case; moving it is explicit (``move=True``).

**Suggested links.** Two alerts belong together when they share something
fraud cannot easily change: a **mule account** money went to (strongest), a
**number** (the caller, a farm SIM's number, a presented caller ID), a
**farm**, the same **potential victim**, or a **campaign** (weakest: a
campaign can be a thousand calls). :func:`suggest_links` lists the alerts
that share any of these with an alert or with a whole case, strongest first,
saying what they share; the investigator decides.

**Escalations** hand an alert or a case to a prosecutor, who accepts it or
returns it with an answer. **Closing** a case needs one of the
:class:`CloseReason` s, and a closed case takes no more links or notes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal
from enum import StrEnum
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qalqan.cases import audit
from qalqan.cases.errors import NotFoundError, WorkflowError
from qalqan.cases.intercepts import _alert_view, escalation_view
from qalqan.cases.models import (
    Alert,
    AlertEntity,
    AlertKind,
    Case,
    CaseEntity,
    CaseFinding,
    CaseNote,
    CaseStatus,
    Entity,
    EntityKind,
    Episode,
    Escalation,
    EscalationStatus,
    Loss,
    LossKind,
    OperatorAction,
    PotentialVictim,
    User,
)
from qalqan.cases.roles import Actor, Permission, authorize
from qalqan.cases.store import clock_of
from qalqan.cases.upsert import entity_ids, insert_new
from qalqan.cases.views import (
    AlertView,
    CaseSummary,
    CaseView,
    EntityView,
    EscalationSubject,
    EscalationView,
    FindingSummary,
    Money,
    NoteView,
    Suggestion,
    TimelineEvent,
    stored_reasons,
    texts_of,
)
from qalqan.domain.model import Account

__all__ = [
    "LINK_STRENGTH",
    "CloseReason",
    "add_note",
    "add_to_case",
    "answer_escalation",
    "attach_entity",
    "case_view",
    "close_case",
    "escalate",
    "escalations",
    "findings",
    "list_cases",
    "open_case",
    "remove_from_case",
    "suggest_links",
]


class CloseReason(StrEnum):
    REFERRED = "referred"
    """Handed to the prosecutor's office or the police, who took it over."""
    VICTIMS_WARNED = "victims_warned"
    """Everyone reachable was warned; nothing more to do."""
    FUNDS_RECOVERED = "funds_recovered"
    FALSE_ALARM = "false_alarm"
    DUPLICATE = "duplicate"
    """The same story is in another case."""
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


LINK_STRENGTH: Final[dict[str, int]] = {
    EntityKind.ACCOUNT.value: 8,
    EntityKind.NUMBER.value: 4,
    EntityKind.FARM.value: 4,
    "victim": 3,
    EntityKind.CAMPAIGN.value: 2,
}
"""What sharing each kind of thing weighs when ranking suggestions."""

_WORDS: Final = {
    EntityKind.ACCOUNT.value: "mule account",
    EntityKind.NUMBER.value: "number",
    EntityKind.FARM.value: "farm",
    EntityKind.CAMPAIGN.value: "campaign",
}


def _headline(alert: Alert) -> str:
    reasons = texts_of(alert.reasons)
    return reasons[0] if reasons else alert.source_ref


def _finding(alert: Alert) -> FindingSummary:
    said = stored_reasons(alert.reasons)
    return FindingSummary(
        alert_id=alert.id,
        kind=alert.kind,
        source_ref=alert.source_ref,
        severity=alert.severity,
        category=alert.category,
        headline=_headline(alert),
        occurred_at=alert.occurred_at,
        details=json.loads(alert.details),
        said=said[0] if said else None,
    )


def findings(
    session: Session, actor: Actor, *, kind: AlertKind | str | None = None, limit: int = 200
) -> list[FindingSummary]:
    """Farms, campaigns and spoofed waves, most severe and most recent first.

    Permission: ``view_findings``.
    """
    actor = authorize(session, actor, Permission.VIEW_FINDINGS, "findings")
    kinds = (
        [AlertKind(kind).value]
        if kind is not None
        else [AlertKind.SIM_FARM.value, AlertKind.CAMPAIGN.value, AlertKind.SPOOFED_WAVE.value]
    )
    if AlertKind.INTERCEPTED_CALL.value in kinds:
        raise WorkflowError("intercepted calls are listed by the queue, not as findings")
    alerts = session.scalars(
        select(Alert)
        .where(Alert.kind.in_(kinds))
        .order_by(Alert.severity_rank.desc(), Alert.occurred_at.desc(), Alert.id)
        .limit(limit)
    ).all()
    audit.append(
        session, actor, "view_findings", "findings", at=clock_of(session), details={"kinds": kinds}
    )
    return [_finding(a) for a in alerts]


def _case(session: Session, case_id: int, *, open_only: bool = False) -> Case:
    found = session.get(Case, case_id)
    if found is None:
        raise NotFoundError("case", case_id)
    if open_only and found.status != CaseStatus.OPEN.value:
        raise WorkflowError(
            f"case {case_id} is closed ({found.close_reason})", code="case_closed", case=case_id
        )
    return found


def _case_alert_ids(session: Session, case_id: int) -> list[int]:
    episodes = session.scalars(select(Episode.alert_id).where(Episode.case_id == case_id)).all()
    attached = session.scalars(
        select(CaseFinding.alert_id).where(CaseFinding.case_id == case_id)
    ).all()
    return sorted({*episodes, *attached})


def _link(session: Session, case_id: int, alert_ids: Iterable[int], *, move: bool) -> list[int]:
    linked = []
    for alert_id in sorted(set(alert_ids)):
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFoundError("alert", alert_id)
        if alert.kind == AlertKind.INTERCEPTED_CALL.value:
            episode = session.scalar(select(Episode).where(Episode.alert_id == alert_id))
            if episode is None:
                raise WorkflowError(f"alert {alert_id} has no episode (ingested incompletely?)")
            if episode.case_id not in (None, case_id) and not move:
                raise WorkflowError(
                    f"alert {alert_id} is already in case {episode.case_id}: move it explicitly",
                    code="in_another_case",
                    case=episode.case_id,
                )
            episode.case_id = case_id
        else:
            insert_new(
                session,
                CaseFinding,
                [{"case_id": case_id, "alert_id": alert_id}],
                keys=("case_id", "alert_id"),
            )
        linked.append(alert_id)
    session.flush()
    return linked


def open_case(
    session: Session, actor: Actor, title: str, alert_ids: Sequence[int] = ()
) -> CaseSummary:
    """Open a case, optionally with its first alerts. Permission: ``open_case``."""
    actor = authorize(session, actor, Permission.OPEN_CASE, "case:new")
    title = title.strip()
    if not title:
        raise WorkflowError("a case needs a title")
    now = clock_of(session)
    new = Case(
        title=title[:200], status=CaseStatus.OPEN.value, opened_by=actor.user_id, opened_at=now
    )
    session.add(new)
    session.flush()
    linked = _link(session, new.id, alert_ids, move=False)
    audit.append(
        session,
        actor,
        "open_case",
        f"case:{new.id}",
        at=now,
        details={"title": new.title, "alerts": linked},
    )
    return _summary(session, new)


def add_to_case(
    session: Session, actor: Actor, case_id: int, alert_ids: Sequence[int], *, move: bool = False
) -> CaseSummary:
    """Link alerts into a case: intercepted calls as episodes, findings as context.

    An episode already in another case is moved only with ``move=True``.
    Permission: ``link_to_case``.
    """
    actor = authorize(session, actor, Permission.LINK_TO_CASE, f"case:{case_id}")
    found = _case(session, case_id, open_only=True)
    linked = _link(session, case_id, alert_ids, move=move)
    audit.append(
        session,
        actor,
        "link_to_case",
        f"case:{case_id}",
        at=clock_of(session),
        details={"alerts": linked, "move": move},
    )
    return _summary(session, found)


def remove_from_case(
    session: Session, actor: Actor, case_id: int, alert_ids: Sequence[int]
) -> CaseSummary:
    """Take alerts out of a case (linked by mistake). Permission: ``link_to_case``."""
    actor = authorize(session, actor, Permission.LINK_TO_CASE, f"case:{case_id}")
    found = _case(session, case_id, open_only=True)
    for alert_id in alert_ids:
        episode = session.scalar(
            select(Episode).where(Episode.alert_id == alert_id, Episode.case_id == case_id)
        )
        if episode is not None:
            episode.case_id = None
        attached = session.get(CaseFinding, (case_id, alert_id))
        if attached is not None:
            session.delete(attached)
    session.flush()
    audit.append(
        session,
        actor,
        "unlink_from_case",
        f"case:{case_id}",
        at=clock_of(session),
        details={"alerts": sorted(alert_ids)},
    )
    return _summary(session, found)


def attach_entity(
    session: Session, actor: Actor, case_id: int, kind: EntityKind | str, value: str
) -> EntityView:
    """Attach a number, SIM, IMEI, cell or account to a case by hand. Permission: ``link_to_case``."""
    actor = authorize(session, actor, Permission.LINK_TO_CASE, f"case:{case_id}")
    _case(session, case_id, open_only=True)
    try:
        what = EntityKind(kind)
    except ValueError:
        raise WorkflowError(f"'{kind}' is not a kind of entity") from None
    value = value.strip()
    if what is EntityKind.ACCOUNT:
        try:
            value = str(Account.parse(value))
        except ValueError as exc:
            raise WorkflowError(str(exc)) from None
    if not value:
        raise WorkflowError("an entity needs a value")
    now = clock_of(session)
    ident = entity_ids(session, [(what.value, value)])[what.value, value]
    insert_new(
        session,
        CaseEntity,
        [{"case_id": case_id, "entity_id": ident, "added_by": actor.user_id, "added_at": now}],
        keys=("case_id", "entity_id"),
    )
    audit.append(
        session,
        actor,
        "attach_entity",
        f"case:{case_id}",
        at=now,
        details={"kind": what.value, "value": value},
    )
    return EntityView(id=ident, kind=what.value, value=value, relation="attached")


def suggest_links(
    session: Session,
    actor: Actor,
    *,
    alert_id: int | None = None,
    case_id: int | None = None,
    limit: int = 50,
) -> list[Suggestion]:
    """Alerts that share a mule account, number, farm, potential victim or campaign with an
    alert (or with everything in a case), strongest first. Permission: ``suggest_links``."""
    target = f"case:{case_id}" if case_id is not None else f"alert:{alert_id}"
    actor = authorize(session, actor, Permission.SUGGEST_LINKS, target)
    if (alert_id is None) == (case_id is None):
        raise WorkflowError("suggest links for one alert or one case")
    if case_id is not None:
        _case(session, case_id)
        seeds = _case_alert_ids(session, case_id)
        seed_entities = session.scalars(
            select(CaseEntity.entity_id).where(CaseEntity.case_id == case_id)
        ).all()
    else:
        assert alert_id is not None
        if session.get(Alert, alert_id) is None:
            raise NotFoundError("alert", alert_id)
        seeds, seed_entities = [alert_id], []
    shared: dict[int, set[tuple[str, str]]] = defaultdict(set)
    kinds = [k for k in LINK_STRENGTH if k != "victim"]
    seed_set = set(seeds)
    for part in _chunks(seeds, 500):
        entity_query = (
            select(AlertEntity.entity_id)
            .join(Entity, Entity.id == AlertEntity.entity_id)
            .where(AlertEntity.alert_id.in_(part), Entity.kind.in_(kinds))
        )
        _collect(session, entity_query, seed_set, shared)
    if seed_entities:
        _collect(
            session,
            select(Entity.id).where(Entity.id.in_(seed_entities), Entity.kind.in_(kinds)),
            seed_set,
            shared,
        )
    victims = {
        v
        for part in _chunks(seeds, 500)
        for v in session.scalars(
            select(Alert.victim_id).where(Alert.id.in_(part), Alert.victim_id.is_not(None))
        )
    }
    victim_numbers: dict[int, str] = {}
    for part in _chunks(sorted(v for v in victims if v is not None), 500):
        for other, msisdn in session.execute(
            select(Alert.id, PotentialVictim.msisdn)
            .join(PotentialVictim, PotentialVictim.id == Alert.victim_id)
            .where(Alert.victim_id.in_(part))
        ):
            if other not in seed_set:
                shared[other].add(("victim", "same potential victim"))
                victim_numbers[other] = msisdn
    ranked = sorted(
        shared.items(),
        key=lambda item: (-sum(LINK_STRENGTH[k] for k, _ in item[1]), item[0]),
    )[:limit]
    result = []
    for other, things in ranked:
        alert = session.get(Alert, other)
        assert alert is not None
        result.append(
            Suggestion(
                alert_id=other,
                kind=alert.kind,
                source_ref=alert.source_ref,
                occurred_at=alert.occurred_at,
                shared=tuple(v if k == "victim" else f"{_WORDS[k]} {v}" for k, v in sorted(things)),
                links=tuple(
                    ("victim", victim_numbers.get(other, "")) if k == "victim" else (k, v)
                    for k, v in sorted(things)
                ),
                strength=sum(LINK_STRENGTH[k] for k, _ in things),
                in_case=_case_of(session, alert),
            )
        )
    audit.append(
        session,
        actor,
        "suggest_links",
        target,
        at=clock_of(session),
        details={"suggested": [s.alert_id for s in result]},
    )
    return result


def _chunks(values: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _collect(
    session: Session,
    entity_query: object,
    seeds: set[int],
    shared: dict[int, set[tuple[str, str]]],
) -> None:
    rows = session.execute(
        select(AlertEntity.alert_id, Entity.kind, Entity.value)
        .join(Entity, Entity.id == AlertEntity.entity_id)
        .where(AlertEntity.entity_id.in_(entity_query))  # type: ignore[arg-type]
    )
    for other, kind, value in rows:
        if other not in seeds:
            shared[other].add((kind, value))


def _case_of(session: Session, alert: Alert) -> int | None:
    if alert.kind == AlertKind.INTERCEPTED_CALL.value:
        return session.scalar(select(Episode.case_id).where(Episode.alert_id == alert.id))
    return session.scalar(
        select(CaseFinding.case_id).where(CaseFinding.alert_id == alert.id).limit(1)
    )


def add_note(session: Session, actor: Actor, case_id: int, text: str) -> NoteView:
    """Write a note on a case. Permission: ``add_case_note``."""
    actor = authorize(session, actor, Permission.ADD_CASE_NOTE, f"case:{case_id}")
    _case(session, case_id, open_only=True)
    text = text.strip()
    if not text:
        raise WorkflowError("a note needs some text")
    now = clock_of(session)
    note = CaseNote(case_id=case_id, author_id=actor.user_id, written_at=now, text=text)
    session.add(note)
    session.flush()
    audit.append(
        session, actor, "add_case_note", f"case:{case_id}", at=now, details={"note": note.id}
    )
    return NoteView(id=note.id, at=now, by=actor.name, text=text)


def close_case(
    session: Session, actor: Actor, case_id: int, reason: CloseReason | str, note: str = ""
) -> CaseSummary:
    """Close a case with one of the :class:`CloseReason` s. Permission: ``close_case``."""
    actor = authorize(session, actor, Permission.CLOSE_CASE, f"case:{case_id}")
    try:
        why = CloseReason(reason)
    except ValueError:
        known = ", ".join(r.value for r in CloseReason)
        raise WorkflowError(f"'{reason}' is not a reason to close a case ({known})") from None
    found = _case(session, case_id, open_only=True)
    now = clock_of(session)
    found.status = CaseStatus.CLOSED.value
    found.closed_by = actor.user_id
    found.closed_at = now
    found.close_reason = why.value
    found.close_note = note.strip() or None
    audit.append(
        session, actor, "close_case", f"case:{case_id}", at=now, details={"reason": why.value}
    )
    return _summary(session, found)


def _summary(session: Session, found: Case) -> CaseSummary:
    episodes = session.scalar(select(func.count()).where(Episode.case_id == found.id)) or 0
    attached = session.scalar(select(func.count()).where(CaseFinding.case_id == found.id)) or 0
    return CaseSummary(
        id=found.id,
        title=found.title,
        status=found.status,
        opened_at=found.opened_at,
        episodes=episodes,
        findings=attached,
    )


def list_cases(
    session: Session, actor: Actor, *, status: CaseStatus | str | None = CaseStatus.OPEN
) -> list[CaseSummary]:
    """Cases, newest first (open ones by default). Permission: ``view_case``."""
    actor = authorize(session, actor, Permission.VIEW_CASE, "cases")
    query = select(Case).order_by(Case.opened_at.desc(), Case.id.desc())
    if status is not None:
        query = query.where(Case.status == CaseStatus(status).value)
    cases = session.scalars(query).all()
    audit.append(session, actor, "list_cases", "cases", at=clock_of(session))
    return [_summary(session, c) for c in cases]


def _case_entities(
    session: Session,
    case_id: int,
    episodes: Sequence[AlertView],
    finding_alerts: Sequence[Alert],
) -> tuple[EntityView, ...]:
    """Every entity of a case's calls and findings, and those attached by hand."""
    entities: dict[tuple[int, str], EntityView] = {}
    for view in episodes:
        for e in view.entities:
            entities.setdefault((e.id, e.relation), e)
    for a in finding_alerts:
        for ident, kind, value, relation in session.execute(
            select(Entity.id, Entity.kind, Entity.value, AlertEntity.relation)
            .join(AlertEntity, AlertEntity.entity_id == Entity.id)
            .where(AlertEntity.alert_id == a.id)
        ):
            entities.setdefault(
                (ident, relation), EntityView(id=ident, kind=kind, value=value, relation=relation)
            )
    for ident, kind, value in session.execute(
        select(Entity.id, Entity.kind, Entity.value)
        .join(CaseEntity, CaseEntity.entity_id == Entity.id)
        .where(CaseEntity.case_id == case_id)
    ):
        entities.setdefault(
            (ident, "attached"), EntityView(id=ident, kind=kind, value=value, relation="attached")
        )
    return tuple(sorted(entities.values(), key=lambda e: (e.kind, e.value, e.relation)))


def _call_events(view: AlertView) -> list[TimelineEvent]:
    """A call of a case in its timeline: intercepted, then what was done about it."""
    events = [
        TimelineEvent(
            at=view.occurred_at,
            what=f"call from {view.caller or 'a withheld number'} intercepted ({view.action})",
            by=None,
            alert_id=view.id,
            kind="intercepted",
            values={"caller": view.caller or "", "action": view.action or ""},
        )
    ]
    for action in view.actions:
        if action.kind == "escalated":
            continue  # told once, from the escalation itself
        what = f"{action.kind}: {action.outcome}" if action.outcome else action.kind
        events.append(
            TimelineEvent(
                at=action.at,
                what=what,
                by=action.by,
                alert_id=view.id,
                kind="action",
                values={"action": action.kind, "outcome": action.outcome or ""},
            )
        )
    return events


def _escalation_events(raised: Escalation, names: dict[int, str]) -> list[TimelineEvent]:
    events = [
        TimelineEvent(
            at=raised.raised_at,
            what="escalated to a prosecutor",
            by=names.get(raised.raised_by or -1),
            alert_id=raised.alert_id,
            kind="escalated",
        )
    ]
    if raised.responded_at is not None:
        events.append(
            TimelineEvent(
                at=raised.responded_at,
                what=f"prosecutor {raised.status}",
                by=names.get(raised.responded_by or -1),
                kind="answered",
                values={"status": raised.status},
            )
        )
    return events


def _timeline(
    found: Case,
    episodes: Sequence[AlertView],
    notes: Sequence[CaseNote],
    escalated: Sequence[Escalation],
    names: dict[int, str],
) -> tuple[TimelineEvent, ...]:
    """A case's story in time order: opened, its calls and what was done, notes,
    escalations and their answers, closed."""
    timeline = [
        TimelineEvent(
            at=found.opened_at,
            what=f"case opened: {found.title}",
            by=names.get(found.opened_by or -1),
            kind="case_opened",
            values={"title": found.title},
        )
    ]
    for view in episodes:
        timeline += _call_events(view)
    for note in notes:
        timeline.append(
            TimelineEvent(
                at=note.written_at,
                what="note added",
                by=names.get(note.author_id or -1),
                kind="note_added",
            )
        )
    for raised in escalated:
        timeline += _escalation_events(raised, names)
    if found.closed_at is not None:
        timeline.append(
            TimelineEvent(
                at=found.closed_at,
                what=f"case closed: {found.close_reason}",
                by=names.get(found.closed_by or -1),
                kind="case_closed",
                values={"reason": found.close_reason or ""},
            )
        )
    timeline.sort(key=lambda t: t.at)
    return tuple(timeline)


def case_view(session: Session, actor: Actor, case_id: int) -> CaseView:
    """A case with its episodes, findings, entities, notes, escalations, losses and timeline.

    A view of personal data: audited. Permission: ``view_case``.
    """
    actor = authorize(session, actor, Permission.VIEW_CASE, f"case:{case_id}")
    found = _case(session, case_id)
    now = clock_of(session)
    names: dict[int, str] = {i: n for i, n in session.execute(select(User.id, User.name))}
    episode_alerts = session.scalars(
        select(Alert)
        .join(Episode, Episode.alert_id == Alert.id)
        .where(Episode.case_id == case_id)
        .order_by(Alert.occurred_at, Alert.id)
    ).all()
    episodes = tuple(_alert_view(session, a, now) for a in episode_alerts)
    finding_alerts = session.scalars(
        select(Alert)
        .join(CaseFinding, CaseFinding.alert_id == Alert.id)
        .where(CaseFinding.case_id == case_id)
        .order_by(Alert.id)
    ).all()
    notes = session.scalars(
        select(CaseNote)
        .where(CaseNote.case_id == case_id)
        .order_by(CaseNote.written_at, CaseNote.id)
    ).all()
    alert_ids = [a.id for a in episode_alerts]
    case_escalations = session.scalars(
        select(Escalation)
        .where((Escalation.case_id == case_id) | Escalation.alert_id.in_(alert_ids))
        .order_by(Escalation.id)
    ).all()
    prevented, suffered = _losses(session, alert_ids)
    audit.append(
        session,
        actor,
        "view_case",
        f"case:{case_id}",
        at=now,
        details={"alerts": alert_ids + [a.id for a in finding_alerts]},
    )
    return CaseView(
        id=found.id,
        title=found.title,
        status=found.status,
        opened_by=names.get(found.opened_by or -1),
        opened_at=found.opened_at,
        closed_by=names.get(found.closed_by or -1),
        closed_at=found.closed_at,
        close_reason=found.close_reason,
        close_note=found.close_note,
        episodes=episodes,
        findings=tuple(_finding(a) for a in finding_alerts),
        entities=_case_entities(session, case_id, episodes, finding_alerts),
        notes=tuple(
            NoteView(id=n.id, at=n.written_at, by=names.get(n.author_id or -1), text=n.text)
            for n in notes
        ),
        escalations=tuple(escalation_view(session, e) for e in case_escalations),
        prevented=prevented,
        suffered=suffered,
        timeline=_timeline(found, episodes, notes, case_escalations, names),
    )


def escalate(
    session: Session,
    actor: Actor,
    *,
    reason: str,
    alert_id: int | None = None,
    case_id: int | None = None,
) -> EscalationView:
    """Hand an alert or a case to a prosecutor, saying why. Permission: ``escalate``."""
    target = f"case:{case_id}" if case_id is not None else f"alert:{alert_id}"
    actor = authorize(session, actor, Permission.ESCALATE, target)
    if (alert_id is None) == (case_id is None):
        raise WorkflowError("escalate one alert or one case")
    reason = reason.strip()
    if not reason:
        raise WorkflowError("say why the prosecutor should look at it")
    if alert_id is not None and session.get(Alert, alert_id) is None:
        raise NotFoundError("alert", alert_id)
    if case_id is not None:
        _case(session, case_id)
    now = clock_of(session)
    escalation = Escalation(
        alert_id=alert_id,
        case_id=case_id,
        raised_by=actor.user_id,
        raised_at=now,
        reason=reason,
        status=EscalationStatus.OPEN.value,
    )
    session.add(escalation)
    session.flush()
    if alert_id is not None:
        session.add(
            OperatorAction(
                alert_id=alert_id, user_id=actor.user_id, done_at=now, kind="escalated", note=reason
            )
        )
    audit.append(session, actor, "escalate", target, at=now, details={"escalation": escalation.id})
    return escalation_view(session, escalation)


def escalations(
    session: Session, actor: Actor, *, status: EscalationStatus | str | None = EscalationStatus.OPEN
) -> list[EscalationView]:
    """Escalations, oldest first (open ones by default). Permission: ``view_escalations``."""
    actor = authorize(session, actor, Permission.VIEW_ESCALATIONS, "escalations")
    query = select(Escalation).order_by(Escalation.raised_at, Escalation.id)
    if status is not None:
        query = query.where(Escalation.status == EscalationStatus(status).value)
    found = session.scalars(query).all()
    audit.append(
        session,
        actor,
        "view_escalations",
        "escalations",
        at=clock_of(session),
        details={"escalations": [e.id for e in found]},
    )
    return [replace(escalation_view(session, e), about=_subject(session, e)) for e in found]


def _losses(session: Session, alert_ids: Sequence[int]) -> tuple[tuple[Money, ...], ...]:
    """(prevented, suffered) over some alerts, summed per currency."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for part in _chunks(alert_ids, 500):
        for loss in session.scalars(select(Loss).where(Loss.alert_id.in_(part))):
            totals[loss.kind, loss.currency] += loss.amount
    return tuple(
        tuple(Money(v, c) for (k, c), v in sorted(totals.items()) if k == kind.value)
        for kind in (LossKind.PREVENTED, LossKind.SUFFERED)
    )


def _subject(session: Session, e: Escalation) -> EscalationSubject | None:
    """What a prosecutor needs on the card to decide whether to open it."""
    if e.case_id is not None:
        found = session.get(Case, e.case_id)
        if found is None:
            return None
        calls = session.scalars(select(Episode.alert_id).where(Episode.case_id == found.id)).all()
        prevented, suffered = _losses(session, calls)
        return EscalationSubject(
            kind="case",
            title=found.title,
            episodes=len(calls),
            prevented=prevented,
            suffered=suffered,
        )
    alert = None if e.alert_id is None else session.get(Alert, e.alert_id)
    if alert is None:
        return None
    victim = None if alert.victim_id is None else session.get(PotentialVictim, alert.victim_id)
    prevented, suffered = _losses(session, [alert.id])
    said = stored_reasons(alert.reasons)[:3]
    return EscalationSubject(
        kind=alert.kind,
        title=None if alert.kind == AlertKind.INTERCEPTED_CALL.value else _headline(alert),
        category=alert.category,
        severity=alert.severity,
        caller=alert.caller,
        callee=None if victim is None else victim.msisdn,
        occurred_at=alert.occurred_at,
        outcome=alert.outcome,
        reasons=tuple(r.detail for r in said),
        said=said,
        prevented=prevented,
        suffered=suffered,
    )


def answer_escalation(
    session: Session, actor: Actor, escalation_id: int, *, accept: bool, response: str
) -> EscalationView:
    """A prosecutor takes an escalation up, or returns it with the reason.

    Permission: ``answer_escalation``.
    """
    actor = authorize(session, actor, Permission.ANSWER_ESCALATION, f"escalation:{escalation_id}")
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise NotFoundError("escalation", escalation_id)
    if escalation.status != EscalationStatus.OPEN.value:
        raise WorkflowError(
            f"escalation {escalation_id} was already answered ({escalation.status})"
        )
    now = clock_of(session)
    escalation.status = (EscalationStatus.ACCEPTED if accept else EscalationStatus.RETURNED).value
    escalation.responded_by = actor.user_id
    escalation.responded_at = now
    escalation.response = response.strip() or None
    audit.append(
        session,
        actor,
        "answer_escalation",
        f"escalation:{escalation_id}",
        at=now,
        details={"status": escalation.status},
    )
    return escalation_view(session, escalation)
