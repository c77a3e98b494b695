"""The case store's tables, as typed SQLAlchemy 2 models.

What an anti-call-center works with, in its own words:

- an **alert** is something that needs a human: an intercepted call (a
  screening decision other than ``allow``), a SIM farm, a campaign (a call
  center) or a wave of calls with spoofed caller IDs, found by ``qalqan
  analyze``. Its natural key is (``kind``, ``source``, ``source_ref``): the
  record id, farm id or campaign id within the feed it came from, so that
  ingesting the same input twice finds the same row;
- an **episode** is an intercepted call worked as one incident: who was
  called (the **potential victim**), which number called, when. Episodes are
  what investigators link into a **case**;
- **entities** are the things fraud leaves traces on — numbers, SIMs
  (IMSIs), handsets (IMEIs), cells, accounts (``bank:``, ``ewallet:``,
  ``crypto:``, ``msisdn:``), farms, campaigns, routes — linked to each other,
  to alerts and to cases; two alerts that share one are suggested for the
  same case;
- **operator actions** record who did what to an alert (claim, release,
  outcome), **losses** the money prevented from leaving or already lost,
  **escalations** what went to a prosecutor;
- the **audit log** is append-only and hash-chained (:mod:`qalqan.cases.audit`).

Every time is stored as UTC and comes back timezone-aware on both SQLite and
PostgreSQL (:class:`UtcDateTime`), so the audit log hashes the same text on
either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Alert",
    "AlertEntity",
    "AlertKind",
    "AlertStatus",
    "AnalysedCall",
    "AuditEntry",
    "AuditHead",
    "Base",
    "CampaignMoney",
    "Case",
    "CaseEntity",
    "CaseFinding",
    "CaseNote",
    "CaseStatus",
    "ConsoleSession",
    "Entity",
    "EntityKind",
    "EntityLink",
    "Episode",
    "Escalation",
    "EscalationStatus",
    "Loss",
    "LossKind",
    "MoneyAccount",
    "MoneyRole",
    "OperatorAction",
    "Outcome",
    "PotentialVictim",
    "Severity",
    "User",
    "UtcDateTime",
    "VictimPayment",
]

NAMING: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names fixed by convention, so migrations name them the same on every database."""


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, stored as UTC and always read back timezone-aware (UTC).

    PostgreSQL keeps ``timestamptz``; SQLite has no time type, so the value is
    stored as naive UTC text and given its zone back when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the case store takes UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime()}  # noqa: RUF012


class AlertKind(StrEnum):
    INTERCEPTED_CALL = "intercepted_call"
    """A call the screening node warned about, diverted or blocked."""
    SIM_FARM = "sim_farm"
    CAMPAIGN = "campaign"
    """A call center: fraud calls grouped by ``qalqan analyze``."""
    SPOOFED_WAVE = "spoofed_wave"
    """Calls of one campaign (or route) presenting spoofed caller IDs on one day."""


class AlertStatus(StrEnum):
    OPEN = "open"
    """Waiting in the queue (or, for findings, waiting for an analyst)."""
    CLAIMED = "claimed"
    """An operator is working it; the claim expires at ``claim_expires_at``."""
    DONE = "done"
    """An outcome was recorded."""


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Higher is more severe: critical 4 … low 1."""
        return {"critical": 4, "high": 3, "medium": 2, "low": 1}[self.value]


class Outcome(StrEnum):
    """What came of calling a potential victim back."""

    REACHED = "reached"
    """Spoke to them; they had not been harmed and needed no warning beyond the call."""
    WARNED = "warned"
    """Spoke to them and warned them about the scheme."""
    ALREADY_PAID = "already_paid"
    """They had already given money or codes: record the loss and the account it went to."""
    NOT_REACHABLE = "not_reachable"
    """No answer; the call goes back to the queue for another try."""
    FALSE_ALARM = "false_alarm"
    """The caller was legitimate."""

    @property
    def contacted(self) -> bool:
        """Did the operator speak to the potential victim (the SLA's first contact)?"""
        return self is not Outcome.NOT_REACHABLE


class EntityKind(StrEnum):
    NUMBER = "number"
    SIM = "sim"
    """A SIM, by IMSI."""
    IMEI = "imei"
    CELL = "cell"
    ACCOUNT = "account"
    """``bank:ID``, ``ewallet:ID``, ``crypto:ADDRESS`` or ``msisdn:+7…`` (a SIM's balance)."""
    FARM = "farm"
    """A farm found by analysis: ``SOURCE/FARM_ID`` (farm ids are unique only within one analysis)."""
    CAMPAIGN = "campaign"
    """A campaign found by analysis: ``SOURCE/CAMPAIGN_ID``."""
    ROUTE = "route"
    """An ingress route, ``international:carrierA``."""


class LossKind(StrEnum):
    PREVENTED = "prevented"
    SUFFERED = "suffered"


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    """The prosecutor took it up."""
    RETURNED = "returned"
    """The prosecutor sent it back (not enough to act on, wrong jurisdiction, …)."""


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def _enum_check(column: str, enum: type[StrEnum]) -> CheckConstraint:
    values = ", ".join(f"'{m.value}'" for m in enum)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_known")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('operator', 'supervisor', 'prosecutor', 'analyst', 'admin')",
            name="role_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """One signed-in browser at the console: what its cookie's token stands for.

    Only the token's SHA-256 is kept, so a copy of the table signs nobody in.
    A session ends (``ended_at`` set, never deleted) at logout, when an admin
    resets the password, changes the role or disables the account, and is no
    longer honoured past ``expires_at`` or after ``idle`` without a click.
    """

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client: Mapped[str] = mapped_column(String(64))
    """The address the session was opened from."""
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    """The absolute end: nothing the browser does moves it."""
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(20))


class PotentialVictim(Base):
    """A subscriber a fraudster called: whom the operator calls back."""

    __tablename__ = "potential_victims"

    id: Mapped[int] = mapped_column(primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(20), unique=True)
    imsi: Mapped[str | None] = mapped_column(String(20))
    birth_year: Mapped[int | None]
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Old enough (or marked by an operator) to be called back first."""
    times_targeted: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    """Intercepted calls to this subscriber in the store: more than one makes a repeat target."""


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("kind", "source", "source_ref"),
        _enum_check("kind", AlertKind),
        _enum_check("status", AlertStatus),
        _enum_check("severity", Severity),
        Index("ix_alerts_queue", "kind", "status", "claim_expires_at"),
        Index("ix_alerts_victim_id", "victim_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(64))
    """The feed the alert came from; record, farm and campaign ids are unique only within it."""
    source_ref: Mapped[str] = mapped_column(String(200))
    """Record id (intercepted call), farm id, campaign id, or the wave's key."""
    severity: Mapped[str] = mapped_column(String(10))
    severity_rank: Mapped[int] = mapped_column(Integer)
    """4 critical … 1 low: sortable in SQL."""
    score: Mapped[float]
    action: Mapped[str | None] = mapped_column(String(10))
    """The screening decision of an intercepted call: warn, divert or block."""
    category: Mapped[str] = mapped_column(String(20), default="other")
    """The fraud scheme (bank_security, police, …): picks the call-back script."""
    reasons: Mapped[str] = mapped_column(Text)
    """JSON list of reasons, each as :meth:`~qalqan.domain.model.Reason.as_data` writes it
    (rule, message key, facts, weight; the words only of a reason without a key)."""
    source_records: Mapped[str] = mapped_column(Text)
    """JSON list of the record ids (calls) behind the alert."""
    details: Mapped[str] = mapped_column(Text)
    """JSON object of what else the finding says (location of a farm, UTC offset of a campaign)."""
    occurred_at: Mapped[datetime]
    """When the call was placed (or the farm / campaign last seen)."""
    received_at: Mapped[datetime]
    """When the alert reached the case store: SLA timers run from here."""
    victim_id: Mapped[int | None] = mapped_column(ForeignKey("potential_victims.id"))
    caller: Mapped[str | None] = mapped_column(String(20))
    """The number that called, as presented (possibly spoofed); None if withheld or unknown."""
    status: Mapped[str] = mapped_column(String(10), default=AlertStatus.OPEN.value)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    claim_expires_at: Mapped[datetime | None]
    first_claimed_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    """Call-back attempts so far."""
    outcome: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[datetime | None]


class Episode(Base):
    """An intercepted call as one incident: who was called, by which number, when."""

    __tablename__ = "episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), unique=True)
    victim_id: Mapped[int | None] = mapped_column(ForeignKey("potential_victims.id"))
    caller: Mapped[str | None] = mapped_column(String(20))
    occurred_at: Mapped[datetime]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)


class Entity(Base):
    __tablename__ = "entities"
    __table_args__ = (UniqueConstraint("kind", "value"), _enum_check("kind", EntityKind))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(200))


class AlertEntity(Base):
    """An entity an alert involves, and how (``caller``, ``imei``, ``member``, ``mule_account``…)."""

    __tablename__ = "alert_entities"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), primary_key=True, index=True)
    relation: Mapped[str] = mapped_column(String(20), primary_key=True)


class EntityLink(Base):
    """Two entities seen together: a SIM in a handset, a SIM's number, a farm's SIM, a payment."""

    __tablename__ = "entity_links"

    from_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), primary_key=True)
    to_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), primary_key=True, index=True)
    relation: Mapped[str] = mapped_column(String(20), primary_key=True)


class AnalysedCall(Base):
    """A call ``qalqan analyze`` judged fraud or spoofed, with its campaign.

    Kept so that an intercepted call is tied to its campaign whichever of the
    decisions and the findings is ingested first.
    """

    __tablename__ = "analysed_calls"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(10))
    campaign_id: Mapped[str | None] = mapped_column(String(64))


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (_enum_check("status", CaseStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default=CaseStatus.OPEN.value)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(32))
    close_note: Mapped[str | None] = mapped_column(Text)


class CaseFinding(Base):
    """A farm, campaign or spoofed wave attached to a case as context."""

    __tablename__ = "case_findings"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True, index=True)


class CaseEntity(Base):
    """An entity an investigator attached to a case by hand (a mule account found later)."""

    __tablename__ = "case_entities"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), primary_key=True)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime]


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    written_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)


class OperatorAction(Base):
    """One thing an operator did to an alert: ``claimed``, ``released``, ``outcome``, ``escalated``."""

    __tablename__ = "operator_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class Loss(Base):
    """Money kept from the fraudsters (prevented) or already lost (suffered)."""

    __tablename__ = "losses"
    __table_args__ = (
        _enum_check("kind", LossKind),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("operator_actions.id"))
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"))
    """For a loss suffered: the account the money went to (a mule account)."""


class Escalation(Base):
    """An alert or a case handed to a prosecutor, and what the prosecutor answered."""

    __tablename__ = "escalations"
    __table_args__ = (
        _enum_check("status", EscalationStatus),
        CheckConstraint("alert_id IS NOT NULL OR case_id IS NOT NULL", name="has_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    raised_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=EscalationStatus.OPEN.value)
    responded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    responded_at: Mapped[datetime | None]
    response: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    """One line of the append-only audit log; see :mod:`qalqan.cases.audit` for the chain."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor_id: Mapped[int | None]
    """No foreign key on purpose: the log outlives users and never cascades."""
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    """What was acted on or viewed: ``alert:12``, ``case:3``, ``user:anna``, ``queue``."""
    allowed: Mapped[bool] = mapped_column(Boolean)
    """False for an attempt the role did not permit."""
    details: Mapped[str] = mapped_column(Text)
    """Canonical JSON of the rest (ids shown, outcome recorded, rows ingested)."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row that serialises appends and remembers the last entry (truncation shows)."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class MoneyRole(StrEnum):
    """Where an account stands on a campaign's money trail (``accounts.csv``'s ``role``)."""

    COLLECTOR = "collector"
    """A collecting mule: victims paid into it, and it spread the money within a day."""
    SIM_BALANCE = "sim_balance"
    EWALLET = "ewallet"
    CRYPTO = "crypto"


class CampaignMoney(Base):
    """What one campaign's victims paid its mules (``campaign_money.csv``), by feed."""

    __tablename__ = "campaign_money"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    victims_paid: Mapped[int] = mapped_column(Integer)
    victims_called: Mapped[int] = mapped_column(Integer)
    transfers: Mapped[int] = mapped_column(Integer)
    lost: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    preventable: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    """Of ``lost``, paid after the campaign's first flagged call to the payer."""
    currency: Mapped[str] = mapped_column(String(3))
    calls_before_payment: Mapped[int] = mapped_column(Integer)
    first_payment: Mapped[datetime | None]
    last_payment: Mapped[datetime | None]
    reasons: Mapped[str] = mapped_column(Text)
    """JSON list of reasons, as :class:`Alert`'s."""


class MoneyAccount(Base):
    """An account on a mule's trail (``accounts.csv``), with the account that fed it."""

    __tablename__ = "money_accounts"
    __table_args__ = (
        _enum_check("role", MoneyRole),
        Index("ix_money_accounts_campaign", "source", "campaign_id", "role"),
    )

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(12))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    fed_by: Mapped[str | None] = mapped_column(String(200))
    """The account that paid it (a SIM balance's or e-wallet's collector, a crypto address's
    wallet), as its reason's facts name it; None for a collector."""
    amount_in: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    """A collector's: what its payers paid in. Any other's: what ``fed_by`` paid it, when the
    data set's payments were read; None when not known."""
    payers: Mapped[int | None] = mapped_column(Integer)
    victims: Mapped[int | None] = mapped_column(Integer)
    farm_id: Mapped[str | None] = mapped_column(String(64))
    """A SIM balance's: the farm whose calls its SIM made."""
    reasons: Mapped[str] = mapped_column(Text)


class VictimPayment(Base):
    """A transfer into a collecting mule (``victim_payments.csv``)."""

    __tablename__ = "victim_payments"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_victim_payments_campaign", "source", "campaign_id", "mule"),
    )

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    paid_at: Mapped[datetime]
    payer: Mapped[str] = mapped_column(String(200))
    victim: Mapped[str | None] = mapped_column(String(20))
    """The payer's holder, by number, when the data set says."""
    mule: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    """The mule's campaign."""
    called_by: Mapped[str | None] = mapped_column(String(64))
    """The campaign whose flagged call last reached the victim before paying."""
    call_record: Mapped[str | None] = mapped_column(String(200))
    minutes_after_call: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(Text)
