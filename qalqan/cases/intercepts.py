"""Working intercepted calls: the queue, claims, call-back scripts, outcomes, service levels.

**The queue** lists intercepted calls nobody is working (open, or claimed
but the claim lapsed), most urgent first. The order, tier by tier:

1. **vulnerable callees** — 65 or older by their registered birth year
   (``vulnerable_age``), or marked vulnerable by an operator;
2. **calls still in progress** — placed within ``in_progress_within``
   (10 minutes): the fraudster may still be on the line, or the victim on
   the way to the bank;
3. **repeat targets** — subscribers with ``repeat_target_calls`` (2) or more
   intercepted calls: a call center that keeps calling someone is working on
   them;
4. then the most **severe** (screening's confidence) first;
5. then the **longest waiting** first, so that nothing starves.

Each item says which of the first three lifted it (``why_first``).

**Claims** stop two operators from calling the same person. A claim is one
conditional ``UPDATE`` — it succeeds only if the alert is open, its claim
lapsed, or the claimant already holds it — so of two operators clicking at
once exactly one wins, on PostgreSQL (row lock, condition re-checked after
the wait) and SQLite (one writer at a time) alike; the other gets
:class:`~qalqan.cases.errors.AlreadyClaimedError` saying who has it. A claim
lapses after ``claim_ttl`` (15 minutes); claiming again renews it.

**Service levels** run from when the alert reached the store: claimed within
``claim_within`` (5 minutes), potential victim spoken to within
``contact_within`` (15 minutes).

**Outcomes**: ``reached``, ``warned``, ``already_paid`` (with the loss and the
account the money went to, which becomes a mule-account entity),
``false_alarm`` close the alert; ``not_reachable`` counts an attempt and puts
the call back in the queue.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from qalqan.cases import audit
from qalqan.cases.errors import AlreadyClaimedError, NotFoundError, WorkflowError
from qalqan.cases.models import (
    Alert,
    AlertEntity,
    AlertKind,
    AlertStatus,
    Entity,
    EntityKind,
    Episode,
    Escalation,
    Loss,
    LossKind,
    OperatorAction,
    Outcome,
    PotentialVictim,
    User,
)
from qalqan.cases.roles import PERMISSIONS, Actor, Permission, Role, authorize
from qalqan.cases.scripts import CallbackScript, Language, render_script
from qalqan.cases.store import WorkflowSettings, clock_of, settings_of
from qalqan.cases.upsert import entity_ids, insert_new
from qalqan.cases.views import (
    ActionView,
    AlertView,
    EntityView,
    EscalationView,
    LossView,
    Money,
    QueueItem,
    SlaReport,
    SlaTimers,
    VictimView,
    Worker,
    stored_reasons,
    texts_of,
)
from qalqan.domain.model import Account, ReportCategory

__all__ = [
    "alert_view",
    "callback_script",
    "claim",
    "claims",
    "mark_vulnerable",
    "my_claims",
    "queue",
    "reassign",
    "record_outcome",
    "release",
    "sla_report",
    "sla_timers",
    "workers",
]


def sla_timers(alert: Alert, now: datetime, settings: WorkflowSettings) -> SlaTimers:
    """The service levels of one intercepted call as of ``now``."""
    claim_due = alert.received_at + settings.claim_within
    contact_due = alert.received_at + settings.contact_within
    claimed = alert.first_claimed_at
    contacted = alert.first_contact_at
    return SlaTimers(
        claim_due=claim_due,
        contact_due=contact_due,
        time_to_claim=None if claimed is None else claimed - alert.received_at,
        time_to_first_contact=None if contacted is None else contacted - alert.received_at,
        claim_overdue=(claimed or now) > claim_due,
        contact_overdue=(contacted or now) > contact_due,
    )


def _reasons(alert: Alert) -> tuple[str, ...]:
    return texts_of(alert.reasons)


def _waiting(now: datetime) -> Any:
    """Open, or claimed with the claim lapsed: in the queue."""
    return or_(
        Alert.status == AlertStatus.OPEN.value,
        and_(Alert.status == AlertStatus.CLAIMED.value, Alert.claim_expires_at < now),
    )


def _queue_item(
    alert: Alert,
    victim: PotentialVictim | None,
    now: datetime,
    settings: WorkflowSettings,
    *,
    holder: str | None = None,
) -> QueueItem:
    in_progress = alert.occurred_at >= now - settings.in_progress_within
    vulnerable = bool(victim is not None and victim.vulnerable)
    targeted = 0 if victim is None else victim.times_targeted
    repeat = targeted >= settings.repeat_target_calls
    why = []
    if vulnerable:
        why.append("vulnerable callee")
    if in_progress:
        why.append("call in progress")
    if repeat:
        why.append(f"repeat target ({targeted} calls)")
    return QueueItem(
        alert_id=alert.id,
        occurred_at=alert.occurred_at,
        received_at=alert.received_at,
        callee=None if victim is None else victim.msisdn,
        caller=alert.caller,
        action=alert.action,
        severity=alert.severity,
        score=alert.score,
        category=alert.category,
        reasons=_reasons(alert),
        vulnerable=vulnerable,
        in_progress=in_progress,
        repeat_target=repeat,
        times_targeted=targeted,
        attempts=alert.attempts,
        why_first=tuple(why),
        sla=sla_timers(alert, now, settings),
        claimed_by=holder,
        claim_expires_at=alert.claim_expires_at if holder else None,
    )


def queue(session: Session, actor: Actor, *, limit: int = 50, offset: int = 0) -> list[QueueItem]:
    """The intercepted calls waiting for a call back, most urgent first (see the module's doc).

    Shows callees' numbers: the view is audited with the alerts it showed.
    Permission: ``view_queue``.
    """
    actor = authorize(session, actor, Permission.VIEW_QUEUE, "queue")
    now = clock_of(session)
    settings = settings_of(session)
    vulnerable = func.coalesce(PotentialVictim.vulnerable, False)
    in_progress = case((Alert.occurred_at >= now - settings.in_progress_within, 1), else_=0)
    repeat = case(
        (func.coalesce(PotentialVictim.times_targeted, 0) >= settings.repeat_target_calls, 1),
        else_=0,
    )
    rows = session.execute(
        select(Alert, PotentialVictim)
        .outerjoin(PotentialVictim, Alert.victim_id == PotentialVictim.id)
        .where(Alert.kind == AlertKind.INTERCEPTED_CALL.value, _waiting(now))
        .order_by(
            vulnerable.desc(),
            in_progress.desc(),
            repeat.desc(),
            Alert.severity_rank.desc(),
            Alert.received_at.asc(),
            Alert.id.asc(),
        )
        .limit(limit)
        .offset(offset)
    ).all()
    items = [_queue_item(alert, victim, now, settings) for alert, victim in rows]
    audit.append(
        session,
        actor,
        "view_queue",
        "queue",
        at=now,
        details={"alerts": [i.alert_id for i in items], "offset": offset},
    )
    return items


def my_claims(session: Session, actor: Actor) -> list[QueueItem]:
    """The calls this operator holds, oldest claim first. Permission: ``view_queue``."""
    actor = authorize(session, actor, Permission.VIEW_QUEUE, "my_claims")
    now = clock_of(session)
    settings = settings_of(session)
    rows = session.execute(
        select(Alert, PotentialVictim)
        .outerjoin(PotentialVictim, Alert.victim_id == PotentialVictim.id)
        .where(Alert.status == AlertStatus.CLAIMED.value, Alert.claimed_by == actor.user_id)
        .order_by(Alert.claimed_at)
    ).all()
    return _shown(session, actor, "my_claims", [(a, v, None) for a, v in rows], now, settings)


def _shown(
    session: Session,
    actor: Actor,
    what: str,
    rows: Sequence[tuple[Alert, PotentialVictim | None, str | None]],
    now: datetime,
    settings: WorkflowSettings,
) -> list[QueueItem]:
    """Claimed calls as a list shows them, the view audited (``view_<what>``) with their ids."""
    items = [_queue_item(a, v, now, settings, holder=holder) for a, v, holder in rows]
    audit.append(
        session,
        actor,
        f"view_{what}",
        what,
        at=now,
        details={"alerts": [i.alert_id for i in items]},
    )
    return items


def _alert(session: Session, alert_id: int, *, lock: bool = False) -> Alert:
    query = select(Alert).where(Alert.id == alert_id)
    if lock:
        query = query.with_for_update()
    alert = session.scalar(query)
    if alert is None:
        raise NotFoundError("alert", alert_id)
    return alert


def _user_name(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return session.scalar(select(User.name).where(User.id == user_id))


def _call_to_work(session: Session, alert_id: int) -> Alert:
    """The intercepted call, locked for this transaction; refused when it was already worked."""
    alert = _alert(session, alert_id, lock=True)
    _not_worked(alert)
    return alert


def _not_worked(alert: Alert) -> None:
    _intercepted(alert)
    if alert.status == AlertStatus.DONE.value:
        raise WorkflowError(
            f"alert {alert.id} was already worked: {alert.outcome}",
            code="already_worked",
            outcome=alert.outcome or "",
        )


def _intercepted(alert: Alert) -> None:
    if alert.kind != AlertKind.INTERCEPTED_CALL.value:
        raise WorkflowError(
            f"alert {alert.id} is a {alert.kind.replace('_', ' ')}, not an intercepted call: "
            "it is worked in a case, not from the queue"
        )


def claim(session: Session, actor: Actor, alert_id: int) -> QueueItem:
    """Take an intercepted call to work it (or renew one's own claim). Permission: ``claim_alert``.

    Raises :class:`AlreadyClaimedError` when another operator holds a live
    claim, :class:`WorkflowError` when the call was already worked.
    """
    actor = authorize(session, actor, Permission.CLAIM_ALERT, f"alert:{alert_id}")
    now = clock_of(session)
    settings = settings_of(session)
    taken = session.execute(
        update(Alert)
        .where(
            Alert.id == alert_id,
            Alert.kind == AlertKind.INTERCEPTED_CALL.value,
            or_(
                Alert.status == AlertStatus.OPEN.value,
                and_(
                    Alert.status == AlertStatus.CLAIMED.value,
                    or_(Alert.claim_expires_at < now, Alert.claimed_by == actor.user_id),
                ),
            ),
        )
        .values(
            status=AlertStatus.CLAIMED.value,
            claimed_by=actor.user_id,
            claimed_at=now,
            claim_expires_at=now + settings.claim_ttl,
            first_claimed_at=func.coalesce(Alert.first_claimed_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    alert = _alert(session, alert_id)
    session.refresh(alert)
    if getattr(taken, "rowcount", 0) != 1:
        _not_worked(alert)
        holder = _user_name(session, alert.claimed_by) or "someone else"
        raise AlreadyClaimedError(alert_id, holder, alert.claim_expires_at)
    session.add(
        OperatorAction(alert_id=alert_id, user_id=actor.user_id, done_at=now, kind="claimed")
    )
    victim = None if alert.victim_id is None else session.get(PotentialVictim, alert.victim_id)
    audit.append(
        session,
        actor,
        "claim_alert",
        f"alert:{alert_id}",
        at=now,
        details={"until": alert.claim_expires_at},
    )
    return _queue_item(alert, victim, now, settings)


def release(session: Session, actor: Actor, alert_id: int, *, note: str = "") -> None:
    """Put a claimed call back in the queue. Permission: ``release_alert`` for one's own claim,
    also ``reassign_alert`` for someone else's."""
    actor = authorize(session, actor, Permission.RELEASE_ALERT, f"alert:{alert_id}")
    now = clock_of(session)
    alert = _alert(session, alert_id, lock=True)
    _intercepted(alert)
    if alert.status != AlertStatus.CLAIMED.value:
        raise WorkflowError(
            f"alert {alert_id} is not claimed (it is {alert.status})", code="not_claimed"
        )
    holder = alert.claimed_by
    if holder != actor.user_id:
        actor = authorize(session, actor, Permission.REASSIGN_ALERT, f"alert:{alert_id}")
    alert.status = AlertStatus.OPEN.value
    alert.claimed_by = None
    alert.claimed_at = None
    alert.claim_expires_at = None
    session.add(
        OperatorAction(
            alert_id=alert_id,
            user_id=actor.user_id,
            done_at=now,
            kind="released",
            note=note or None,
        )
    )
    audit.append(
        session,
        actor,
        "release_alert",
        f"alert:{alert_id}",
        at=now,
        details={"held_by": _user_name(session, holder), "note": note},
    )


def reassign(
    session: Session, actor: Actor, alert_id: int, to_user_id: int, *, note: str = ""
) -> QueueItem:
    """Hand a call, claimed or waiting, to another operator with a fresh claim.

    What a supervisor does when an operator goes off shift or a call needs a
    speaker of another language. Permission: ``reassign_alert``; the new
    holder must be an active user whose role may claim calls.
    """
    actor = authorize(session, actor, Permission.REASSIGN_ALERT, f"alert:{alert_id}")
    now = clock_of(session)
    settings = settings_of(session)
    alert = _call_to_work(session, alert_id)
    to = session.get(User, to_user_id)
    if to is None or not to.active:
        raise NotFoundError("active user", to_user_id)
    if Permission.CLAIM_ALERT not in PERMISSIONS[Role(to.role)]:
        raise WorkflowError(f"{to.name} is a {to.role} and does not work calls")
    before = alert.claimed_by if alert.status == AlertStatus.CLAIMED.value else None
    alert.status = AlertStatus.CLAIMED.value
    alert.claimed_by = to.id
    alert.claimed_at = now
    alert.claim_expires_at = now + settings.claim_ttl
    alert.first_claimed_at = alert.first_claimed_at or now
    from_name = _user_name(session, before)
    said = f"{from_name} → {to.name}" if from_name else f"→ {to.name}"  # read in any language
    session.add(
        OperatorAction(
            alert_id=alert_id,
            user_id=actor.user_id,
            done_at=now,
            kind="reassigned",
            note=f"{said}" + (f": {note.strip()}" if note.strip() else ""),
        )
    )
    audit.append(
        session,
        actor,
        "reassign_alert",
        f"alert:{alert_id}",
        at=now,
        details={"from": from_name, "to": to.name, "note": note},
    )
    victim = None if alert.victim_id is None else session.get(PotentialVictim, alert.victim_id)
    return _queue_item(alert, victim, now, settings, holder=to.name)


def claims(session: Session, actor: Actor) -> list[QueueItem]:
    """Every call being worked now, with who holds it, longest-held first.

    The supervisor's view of the floor: a claim near its end, or an operator
    holding many, is where to step in. Permission: ``reassign_alert``.
    """
    actor = authorize(session, actor, Permission.REASSIGN_ALERT, "claims")
    now = clock_of(session)
    settings = settings_of(session)
    rows = session.execute(
        select(Alert, PotentialVictim, User.name)
        .outerjoin(PotentialVictim, Alert.victim_id == PotentialVictim.id)
        .join(User, User.id == Alert.claimed_by)
        .where(
            Alert.kind == AlertKind.INTERCEPTED_CALL.value,
            Alert.status == AlertStatus.CLAIMED.value,
            Alert.claim_expires_at >= now,
        )
        .order_by(Alert.claimed_at, Alert.id)
    ).all()
    return _shown(session, actor, "claims", [(a, v, name) for a, v, name in rows], now, settings)


def workers(session: Session, actor: Actor) -> list[Worker]:
    """Active users who work calls, with how many each holds now, for handing a call over.

    Permission: ``reassign_alert``.
    """
    actor = authorize(session, actor, Permission.REASSIGN_ALERT, "workers")
    now = clock_of(session)
    roles = [r.value for r in Role if Permission.CLAIM_ALERT in PERMISSIONS[r]]
    holding = dict(
        session.execute(
            select(Alert.claimed_by, func.count())
            .where(Alert.status == AlertStatus.CLAIMED.value, Alert.claim_expires_at >= now)
            .group_by(Alert.claimed_by)
        ).all()
    )
    users = session.scalars(
        select(User).where(User.active.is_(True), User.role.in_(roles)).order_by(User.name)
    ).all()
    return [
        Worker(user_id=u.id, name=u.name, role=u.role, holding=int(holding.get(u.id, 0)))
        for u in users
    ]


def callback_script(
    session: Session, actor: Actor, alert_id: int, language: Language | str
) -> CallbackScript:
    """The script for calling back this alert's potential victim, with the operator's name in it.

    Permission: ``read_script``.
    """
    actor = authorize(session, actor, Permission.READ_SCRIPT, f"alert:{alert_id}")
    alert = _alert(session, alert_id)
    script = render_script(
        alert.category, language, operator=actor.name, center=settings_of(session).center_name
    )
    audit.append(
        session,
        actor,
        "read_script",
        f"alert:{alert_id}",
        at=clock_of(session),
        details={"category": script.category.value, "language": script.language.value},
    )
    return script


def _money(value: Money | None, what: str) -> Money | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.amount).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise WorkflowError(f"{what}: '{value.amount}' is not an amount") from None
    currency = value.currency.strip().upper()
    if amount < 0:
        raise WorkflowError(f"{what} cannot be negative")
    if len(currency) != 3 or not currency.isalpha():
        raise WorkflowError(f"{what}: '{value.currency}' is not a currency code (KZT, USD, …)")
    return Money(amount, currency)


def _outcome_of(outcome: Outcome | str) -> Outcome:
    try:
        return Outcome(outcome)
    except ValueError:
        known = ", ".join(o.value for o in Outcome)
        raise WorkflowError(f"'{outcome}' is not an outcome ({known})") from None


def _claimed_by(session: Session, alert: Alert, actor: Actor) -> None:
    """Refuse unless ``actor`` holds the claim on ``alert``."""
    if alert.status == AlertStatus.CLAIMED.value and alert.claimed_by == actor.user_id:
        return
    if alert.status == AlertStatus.CLAIMED.value and alert.claimed_by is not None:
        holder = _user_name(session, alert.claimed_by) or "someone else"
        raise AlreadyClaimedError(alert.id, holder, alert.claim_expires_at)
    raise WorkflowError(f"claim alert {alert.id} before recording an outcome", code="claim_first")


def _accounts(paid_to: Sequence[str]) -> list[str]:
    """The accounts money went to, each as :class:`~qalqan.domain.model.Account` writes it."""
    accounts = []
    for text in paid_to:
        try:
            accounts.append(str(Account.parse(text.strip())))
        except ValueError as exc:
            raise WorkflowError(str(exc), code="not_an_account", value=text.strip()) from None
    return accounts


def _close_or_requeue(alert: Alert, result: Outcome, now: datetime) -> None:
    """Done with its outcome, or (``not_reachable``) back in the queue, unclaimed."""
    alert.attempts += 1
    if result is Outcome.NOT_REACHABLE:
        alert.status = AlertStatus.OPEN.value
        alert.claimed_by = None
        alert.claimed_at = None
        alert.claim_expires_at = None
        return
    alert.status = AlertStatus.DONE.value
    alert.outcome = result.value
    alert.closed_at = now
    alert.claim_expires_at = None
    if alert.first_contact_at is None:
        alert.first_contact_at = now


def _write_losses(
    session: Session,
    action: OperatorAction,
    kept: Money | None,
    lost: Money | None,
    accounts: list[str],
) -> None:
    """The mule accounts the call revealed, linked to its alert, and the money kept and lost
    (a loss suffered is tied to the first account it went to)."""
    account_ids = entity_ids(session, [(EntityKind.ACCOUNT.value, a) for a in accounts])
    insert_new(
        session,
        AlertEntity,
        [
            {"alert_id": action.alert_id, "entity_id": ident, "relation": "mule_account"}
            for ident in account_ids.values()
        ],
        keys=("alert_id", "entity_id", "relation"),
    )
    for kind, money, account in (
        (LossKind.PREVENTED, kept, None),
        (LossKind.SUFFERED, lost, next(iter(account_ids.values()), None)),
    ):
        if money is not None:
            session.add(
                Loss(
                    alert_id=action.alert_id,
                    action_id=action.id,
                    kind=kind.value,
                    amount=money.amount,
                    currency=money.currency,
                    account_id=account,
                )
            )


def record_outcome(
    session: Session,
    actor: Actor,
    alert_id: int,
    outcome: Outcome | str,
    *,
    note: str = "",
    category: ReportCategory | str | None = None,
    prevented: Money | None = None,
    suffered: Money | None = None,
    paid_to: Sequence[str] = (),
) -> AlertView:
    """Record what came of the call back. Permission: ``record_outcome``; the alert must be
    claimed by the one recording (a lapsed claim still counts if nobody took it over).

    ``category`` corrects the scheme when the call revealed it. ``prevented``
    is money the potential victim kept thanks to the call; ``suffered`` and
    ``paid_to`` (``bank:…``, ``ewallet:…``, ``crypto:…``, ``msisdn:…``) what
    was already lost and where it went. ``not_reachable`` puts the call back
    in the queue.
    """
    actor = authorize(session, actor, Permission.RECORD_OUTCOME, f"alert:{alert_id}")
    now = clock_of(session)
    result = _outcome_of(outcome)
    alert = _call_to_work(session, alert_id)
    _claimed_by(session, alert, actor)
    kept = _money(prevented, "the loss prevented")
    lost = _money(suffered, "the loss suffered")
    accounts = _accounts(paid_to)
    if result is Outcome.NOT_REACHABLE and (kept or lost or accounts):
        raise WorkflowError(
            "a potential victim who was not reached cannot report losses",
            code="unreached_losses",
        )
    if category is not None:
        try:
            alert.category = ReportCategory(category).value
        except ValueError:
            raise WorkflowError(f"'{category}' is not a fraud scheme") from None
    action = OperatorAction(
        alert_id=alert_id,
        user_id=actor.user_id,
        done_at=now,
        kind="outcome",
        outcome=result.value,
        note=note or None,
    )
    session.add(action)
    session.flush()
    _close_or_requeue(alert, result, now)
    _write_losses(session, action, kept, lost, accounts)
    audit.append(
        session,
        actor,
        "record_outcome",
        f"alert:{alert_id}",
        at=now,
        details={
            "outcome": result.value,
            "prevented": None if kept is None else str(kept),
            "suffered": None if lost is None else str(lost),
            "paid_to": accounts,
            "category": alert.category,
        },
    )
    session.flush()
    return _alert_view(session, alert, now)


def mark_vulnerable(
    session: Session, actor: Actor, alert_id: int, vulnerable: bool = True, *, note: str = ""
) -> VictimView:
    """Mark (or unmark) the potential victim of an alert as vulnerable: called back first from now on.

    Permission: ``mark_vulnerable``.
    """
    actor = authorize(session, actor, Permission.MARK_VULNERABLE, f"alert:{alert_id}")
    alert = _alert(session, alert_id)
    if alert.victim_id is None:
        raise WorkflowError(f"alert {alert_id} has no known potential victim")
    victim = session.get(PotentialVictim, alert.victim_id)
    assert victim is not None
    victim.vulnerable = vulnerable
    audit.append(
        session,
        actor,
        "mark_vulnerable",
        f"victim:{victim.id}",
        at=clock_of(session),
        details={"vulnerable": vulnerable, "alert": alert_id, "note": note},
    )
    return _victim_view(victim)


def _victim_view(victim: PotentialVictim) -> VictimView:
    return VictimView(
        id=victim.id,
        msisdn=victim.msisdn,
        birth_year=victim.birth_year,
        vulnerable=victim.vulnerable,
        times_targeted=victim.times_targeted,
    )


def escalation_view(session: Session, e: Escalation) -> EscalationView:
    return EscalationView(
        id=e.id,
        alert_id=e.alert_id,
        case_id=e.case_id,
        raised_by=_user_name(session, e.raised_by),
        raised_at=e.raised_at,
        reason=e.reason,
        status=e.status,
        responded_by=_user_name(session, e.responded_by),
        responded_at=e.responded_at,
        response=e.response,
    )


def _alert_view(session: Session, alert: Alert, now: datetime) -> AlertView:
    victim = None if alert.victim_id is None else session.get(PotentialVictim, alert.victim_id)
    episode = session.scalar(select(Episode).where(Episode.alert_id == alert.id))
    case_id = episode.case_id if episode is not None else None
    if case_id is None:
        from qalqan.cases.models import CaseFinding

        case_id = session.scalar(
            select(CaseFinding.case_id).where(CaseFinding.alert_id == alert.id).limit(1)
        )
    entities = session.execute(
        select(Entity.id, Entity.kind, Entity.value, AlertEntity.relation)
        .join(AlertEntity, AlertEntity.entity_id == Entity.id)
        .where(AlertEntity.alert_id == alert.id)
        .order_by(Entity.kind, Entity.value)
    ).all()
    actions = session.execute(
        select(OperatorAction, User.name)
        .outerjoin(User, User.id == OperatorAction.user_id)
        .where(OperatorAction.alert_id == alert.id)
        .order_by(OperatorAction.done_at, OperatorAction.id)
    ).all()
    losses = session.execute(
        select(Loss, Entity.value)
        .outerjoin(Entity, Entity.id == Loss.account_id)
        .where(Loss.alert_id == alert.id)
        .order_by(Loss.id)
    ).all()
    escalations = session.scalars(
        select(Escalation).where(Escalation.alert_id == alert.id).order_by(Escalation.id)
    ).all()
    intercepted = alert.kind == AlertKind.INTERCEPTED_CALL.value
    said = stored_reasons(alert.reasons)
    return AlertView(
        id=alert.id,
        kind=alert.kind,
        source=alert.source,
        source_ref=alert.source_ref,
        status=alert.status,
        severity=alert.severity,
        score=alert.score,
        action=alert.action,
        category=alert.category,
        reasons=tuple(r.detail for r in said),
        said=said,
        source_records=tuple(json.loads(alert.source_records)),
        details=json.loads(alert.details),
        occurred_at=alert.occurred_at,
        received_at=alert.received_at,
        caller=alert.caller,
        victim=None if victim is None else _victim_view(victim),
        claimed_by=_user_name(session, alert.claimed_by),
        claim_expires_at=alert.claim_expires_at,
        outcome=alert.outcome,
        attempts=alert.attempts,
        episode_id=None if episode is None else episode.id,
        case_id=case_id,
        entities=tuple(EntityView(id=i, kind=k, value=v, relation=r) for i, k, v, r in entities),
        actions=tuple(
            ActionView(at=a.done_at, by=name, kind=a.kind, outcome=a.outcome, note=a.note)
            for a, name in actions
        ),
        losses=tuple(
            LossView(kind=loss.kind, money=Money(loss.amount, loss.currency), account=account)
            for loss, account in losses
        ),
        escalations=tuple(escalation_view(session, e) for e in escalations),
        sla=sla_timers(alert, now, settings_of(session)) if intercepted else None,
    )


def alert_view(session: Session, actor: Actor, alert_id: int) -> AlertView:
    """One alert with its potential victim, reasons, entities, actions, losses and escalations.

    A view of personal data: audited. Permission: ``view_alert``.
    """
    actor = authorize(session, actor, Permission.VIEW_ALERT, f"alert:{alert_id}")
    now = clock_of(session)
    view = _alert_view(session, _alert(session, alert_id), now)
    audit.append(
        session,
        actor,
        "view_alert",
        f"alert:{alert_id}",
        at=now,
        details={"victim": None if view.victim is None else view.victim.id},
    )
    return view


def sla_report(session: Session, actor: Actor, *, since: datetime | None = None) -> SlaReport:
    """The shift against its service levels: waiting, overdue, medians. Permission: ``view_sla``.

    ``since`` defaults to 24 hours ago.
    """
    actor = authorize(session, actor, Permission.VIEW_SLA, "sla")
    now = clock_of(session)
    settings = settings_of(session)
    since = since or now - timedelta(hours=24)
    calls = Alert.kind == AlertKind.INTERCEPTED_CALL.value
    waiting = session.scalar(select(func.count()).where(calls, _waiting(now))) or 0
    worked = (
        session.scalar(
            select(func.count()).where(
                calls,
                Alert.status == AlertStatus.CLAIMED.value,
                Alert.claim_expires_at >= now,
            )
        )
        or 0
    )

    def overdue(first_at: Any, within: timedelta) -> list[int]:
        """Calls still not claimed (or not contacted) past their service level, oldest first."""
        return list(
            session.scalars(
                select(Alert.id)
                .where(
                    calls,
                    first_at.is_(None),
                    Alert.status != AlertStatus.DONE.value,
                    Alert.received_at < now - within,
                )
                .order_by(Alert.received_at)
                .limit(100)
            )
        )

    overdue_claim = overdue(Alert.first_claimed_at, settings.claim_within)
    overdue_contact = overdue(Alert.first_contact_at, settings.contact_within)
    recent = session.execute(
        select(Alert.received_at, Alert.first_claimed_at, Alert.first_contact_at).where(
            calls, Alert.received_at >= since
        )
    ).all()
    to_claim = [c - r for r, c, _ in recent if c is not None]
    to_contact = [t - r for r, _, t in recent if t is not None]

    def median(values: list[timedelta]) -> timedelta | None:
        if not values:
            return None
        ordered = sorted(values)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2

    def share(values: list[timedelta], limit: timedelta) -> float | None:
        return sum(v <= limit for v in values) / len(values) if values else None

    report = SlaReport(
        since=since,
        received=len(recent),
        waiting=waiting,
        being_worked=worked,
        overdue_claim=tuple(overdue_claim),
        overdue_contact=tuple(overdue_contact),
        median_time_to_claim=median(to_claim),
        median_time_to_contact=median(to_contact),
        claimed_within_sla=share(to_claim, settings.claim_within),
        contacted_within_sla=share(to_contact, settings.contact_within),
    )
    audit.append(session, actor, "view_sla", "sla", at=now, details={"since": since})
    return report
