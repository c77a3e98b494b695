"""What the service functions hand back: plain frozen data the console renders as it is.

No ORM object leaves the service layer: a page gets these, with every field
already in the operator's words (reasons as :class:`~qalqan.domain.model.Reason`,
which a screen says in the reader's language, the SLA as due times and
overdue flags, why an item is first in the queue).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from qalqan.domain.model import Reason

__all__ = [
    "ActionView",
    "AlertView",
    "CaseSummary",
    "CaseView",
    "EntityView",
    "EscalationView",
    "FindingSummary",
    "LossView",
    "Money",
    "NoteView",
    "QueueItem",
    "SlaReport",
    "SlaTimers",
    "Suggestion",
    "TimelineEvent",
    "VictimView",
    "stored_reasons",
    "texts_of",
]


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency (ISO 4217, ``KZT`` by default)."""

    amount: Decimal
    currency: str = "KZT"

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaTimers:
    """The two service levels of an intercepted call, from when it reached the store."""

    claim_due: datetime
    contact_due: datetime
    time_to_claim: timedelta | None
    """From arrival to the first claim; None while unclaimed."""
    time_to_first_contact: timedelta | None
    """From arrival to speaking to the potential victim; None until then."""
    claim_overdue: bool
    """Claimed late, or still unclaimed past the due time."""
    contact_overdue: bool


def stored_reasons(raw: str | None) -> tuple[Reason, ...]:
    """An alert's ``reasons`` column: a JSON array of :meth:`Reason.as_data` objects.

    An item that does not read as a reason (a key this version's catalog lacks,
    say) is shown as it is stored, as the words of a reason without a key:
    nothing the store keeps is hidden.
    """
    items = json.loads(raw) if raw else []
    reasons = []
    for item in items if isinstance(items, list) else []:
        try:
            reasons.append(Reason.from_data(item))
        except ValueError:
            text = json.dumps(item, ensure_ascii=False, sort_keys=True)
            reasons.append(Reason(rule="", weight=0.0, detail=text))
    return tuple(reasons)


def texts_of(raw: str | None) -> tuple[str, ...]:
    """An alert's reasons in English, for logs and the command line (each one's ``detail``)."""
    return tuple(r.detail for r in stored_reasons(raw))


@dataclass(frozen=True, slots=True, kw_only=True)
class VictimView:
    id: int
    msisdn: str
    birth_year: int | None
    vulnerable: bool
    times_targeted: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueItem:
    """One intercepted call waiting for a call back, with why it stands where it stands."""

    alert_id: int
    occurred_at: datetime
    received_at: datetime
    callee: str | None
    caller: str | None
    action: str | None
    severity: str
    score: float
    category: str
    reasons: tuple[str, ...]
    vulnerable: bool
    in_progress: bool
    repeat_target: bool
    times_targeted: int
    attempts: int
    why_first: tuple[str, ...]
    """``vulnerable callee``, ``call in progress``, ``repeat target`` — what lifted it."""
    sla: SlaTimers
    claimed_by: str | None = None
    """Who holds the call now (in the list of claims a supervisor watches)."""
    claim_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Worker:
    """Someone a supervisor can hand a call to, and how many calls they hold now."""

    user_id: int
    name: str
    role: str
    holding: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityView:
    id: int
    kind: str
    value: str
    relation: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionView:
    at: datetime
    by: str | None
    kind: str
    outcome: str | None
    note: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LossView:
    kind: str
    money: Money
    account: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationSubject:
    """What an escalation is about, told on the prosecutor's card without opening it."""

    kind: str
    """The alert's kind (``intercepted_call``, ``sim_farm``, ...) or ``case``."""
    title: str | None = None
    """A case's title, a finding's headline."""
    category: str | None = None
    severity: str | None = None
    caller: str | None = None
    callee: str | None = None
    occurred_at: datetime | None = None
    outcome: str | None = None
    reasons: tuple[str, ...] = ()
    """The first few reasons in English."""
    said: tuple[Reason, ...] = ()
    """The same reasons, for a screen to say in the reader's language."""
    episodes: int = 0
    """Calls in the case."""
    prevented: tuple[Money, ...] = ()
    suffered: tuple[Money, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationView:
    id: int
    alert_id: int | None
    case_id: int | None
    raised_by: str | None
    raised_at: datetime
    reason: str
    status: str
    responded_by: str | None
    responded_at: datetime | None
    response: str | None
    about: EscalationSubject | None = None
    """Filled where escalations are listed for a prosecutor."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertView:
    """An alert opened on screen: everything an operator or investigator needs about it."""

    id: int
    kind: str
    source: str
    source_ref: str
    status: str
    severity: str
    score: float
    action: str | None
    category: str
    reasons: tuple[str, ...]
    """In English; ``said`` has the same reasons, for a screen to say in the reader's language."""
    source_records: tuple[str, ...]
    details: dict[str, Any]
    occurred_at: datetime
    received_at: datetime
    caller: str | None
    victim: VictimView | None
    claimed_by: str | None
    claim_expires_at: datetime | None
    outcome: str | None
    attempts: int
    episode_id: int | None
    case_id: int | None
    entities: tuple[EntityView, ...]
    actions: tuple[ActionView, ...]
    losses: tuple[LossView, ...]
    escalations: tuple[EscalationView, ...]
    sla: SlaTimers | None
    """Only intercepted calls have service levels."""
    said: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingSummary:
    """A farm, campaign or spoofed wave in a list."""

    alert_id: int
    kind: str
    source_ref: str
    severity: str
    category: str
    headline: str
    occurred_at: datetime
    details: dict[str, Any]
    said: Reason | None = None
    """The headline, for a screen to say in the reader's language."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Suggestion:
    """Another alert that looks like part of the same story, and what they share."""

    alert_id: int
    kind: str
    source_ref: str
    occurred_at: datetime
    shared: tuple[str, ...]
    """``campaign default/C0001``, ``number +7701…``, ``mule account bank:KZ…``, ``same potential victim``."""
    links: tuple[tuple[str, str], ...] = ()
    """The same as ``shared``, as (kind, value) for a screen to say in its own language:
    ``("account", "bank:KZ…")``; the potential victim is ``("victim", msisdn)``."""
    strength: int
    """Higher is stronger: a shared mule account counts most, a shared campaign least."""
    in_case: int | None
    """The case the alert is already in, if any."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteView:
    id: int
    at: datetime
    by: str | None
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEvent:
    """One line of a case's story. ``what`` is English for logs and the command line;
    ``kind`` and ``values`` say the same for a screen to put in its own language."""

    at: datetime
    what: str
    by: str | None
    alert_id: int | None = None
    kind: str = ""
    """``case_opened``, ``intercepted``, ``action``, ``note_added``, ``escalated``,
    ``answered``, ``case_closed``."""
    values: dict[str, str] = field(default_factory=dict)
    """What fills the line: ``title``, ``caller``, ``action``, ``outcome``, ``status``, ``reason``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseSummary:
    id: int
    title: str
    status: str
    opened_at: datetime
    episodes: int
    findings: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseView:
    id: int
    title: str
    status: str
    opened_by: str | None
    opened_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    close_reason: str | None
    close_note: str | None
    episodes: tuple[AlertView, ...]
    findings: tuple[FindingSummary, ...]
    entities: tuple[EntityView, ...]
    """Every entity of its alerts and those attached by hand (relation ``attached``)."""
    notes: tuple[NoteView, ...]
    escalations: tuple[EscalationView, ...]
    prevented: tuple[Money, ...]
    """Losses prevented, summed per currency."""
    suffered: tuple[Money, ...]
    timeline: tuple[TimelineEvent, ...] = field(default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaReport:
    """How the shift is doing against its service levels."""

    since: datetime
    received: int
    """Intercepted calls that arrived since ``since``."""
    waiting: int
    """Open now (unclaimed, or claim lapsed)."""
    being_worked: int
    overdue_claim: tuple[int, ...]
    """Alert ids still unclaimed past the claim deadline (oldest first, at most 100)."""
    overdue_contact: tuple[int, ...]
    """Alert ids whose potential victim is not yet reached past the contact deadline."""
    median_time_to_claim: timedelta | None
    median_time_to_contact: timedelta | None
    claimed_within_sla: float | None
    """Share of the calls claimed since ``since`` that were claimed in time."""
    contacted_within_sla: float | None
