"""Citizens' reports of scam contacts, and what the store knows of one number, for the public.

Two things the public application (:mod:`qalqan.public`) needs of the case store:

* :func:`file_report` keeps a citizen's report (the number, when, by which
  channel, what they said, an optional screenshot), once: the same number, text
  and reporter fingerprint within ``dedup_window`` is the same report. A report
  whose number is one a **live campaign** called from (a campaign alert not yet
  done, seen within ``live_within``) is linked to it and placed in the
  anti-call-center's queue as an intercepted-call alert of the feed
  ``citizen_reports``, with its reasons, so the console shows it like any other.
* :func:`number_record` says what the store knows of a number **itself**: how many
  reports named it recently and for which schemes, whether a campaign presented
  it, whether a SIM farm's SIM has it, whether spoofed waves presented it, how many
  intercepted calls came from it. Never who was called, by whom, nor any name:
  the record holds counts and schemes only.

:func:`report_rows` writes the reports out as exchange-v1 ``reports`` rows, so
``qalqan analyze`` reads them like an operator's complaints (the format needs the
reporter's number, so only the reports that left a number to call back on).

Nothing here checks a role: the public face acts as no one, and everything it
may do is these three functions.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from qalqan.cases.ingest.alerts import as_json
from qalqan.cases.models import (
    Alert,
    AlertEntity,
    AlertKind,
    AlertStatus,
    Base,
    Entity,
    EntityKind,
    Episode,
    PotentialVictim,
    Severity,
)
from qalqan.cases.store import clock_of
from qalqan.cases.upsert import entity_ids, insert_new
from qalqan.domain.messages import Reason, reasons_cell
from qalqan.domain.model import ReportCategory, ReportChannel

__all__ = [
    "REPORTS_SOURCE",
    "CitizenReport",
    "FiledReport",
    "NewReport",
    "NumberRecord",
    "file_report",
    "fingerprint_of",
    "number_record",
    "report_rows",
]

REPORTS_SOURCE: Final = "citizen_reports"
"""The feed the queue's alerts of citizens' reports come from."""
MAX_TEXT: Final = 2000
"""Characters of a report's text kept."""
DEDUP_WINDOW: Final = timedelta(hours=24)
LIVE_WITHIN: Final = timedelta(days=30)
RECENT: Final = timedelta(days=30)


class CitizenReport(Base):
    """One report a citizen filed through the public application."""

    __tablename__ = "citizen_reports"
    __table_args__ = (
        CheckConstraint(
            "channel IN (" + ", ".join(f"'{c.value}'" for c in ReportChannel) + ")",
            name="channel_known",
        ),
        CheckConstraint(
            "category IN (" + ", ".join(f"'{c.value}'" for c in ReportCategory) + ")",
            name="category_known",
        ),
        Index("ix_citizen_reports_number_received", "number", "received_at"),
        Index("ix_citizen_reports_fingerprint", "fingerprint", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime]
    occurred_at: Mapped[datetime | None]
    """When the citizen says the contact happened."""
    number: Mapped[str] = mapped_column(String(20))
    """The reported number, E.164."""
    channel: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(20))
    """What the caller said they were (the exchange format's report category)."""
    scheme: Mapped[str | None] = mapped_column(String(32))
    """The scheme the text classifier tagged the text with, when it was run."""
    text: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the number, the folded text and the reporter's pseudonymous key."""
    callback: Mapped[str | None] = mapped_column(String(20))
    """A number the citizen asked to be called back on, E.164, if any."""
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachment_type: Mapped[str | None] = mapped_column(String(16))
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    campaign: Mapped[str | None] = mapped_column(String(200))
    """The live campaign (``SOURCE/CAMPAIGN_ID``) the number is one of, when filed."""
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    """The queue's alert made for it, when it named a live campaign."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A screenshot, already checked by type and size (and re-encoded) by the caller."""

    data: bytes
    media_type: str
    """``image/png``, ``image/jpeg`` or ``image/webp``."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class NewReport:
    """A report as the public application read it (numbers already E.164)."""

    number: str
    channel: ReportChannel
    category: ReportCategory
    text: str = ""
    occurred_at: datetime | None = None
    scheme: str | None = None
    reporter_key: str
    """A pseudonymous key of who reports (an HMAC of their address): never the address."""
    callback: str | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FiledReport:
    report_id: int
    duplicate: bool
    """True when the same report was filed within the window: nothing new was written."""
    campaign: str | None
    alert_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignSeen:
    """A campaign that presented the number: its scheme, whether it is live, when last seen."""

    category: str
    live: bool
    last_seen: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberRecord:
    """What the store knows of one number itself (counts and schemes: no people)."""

    number: str
    reports_recent: int
    reports_by_category: dict[str, int]
    """Recent reports by what the caller said they were."""
    campaigns: tuple[CampaignSeen, ...]
    farm_sim: bool
    """A SIM of a SIM farm holds this number."""
    spoofed_waves: int
    """Waves of spoofed calls that presented this number."""
    intercepted_calls: int
    """Calls from this number that screening stopped (warned of, diverted or blocked)."""
    spoofed_calls: int
    """Of those, the calls screening held to be spoofed (a domestic number arriving from
    abroad, a protected number on a route it never calls from, ...)."""
    wangiri: bool
    """An intercepted call from this number was a one-ring (Wangiri) burst."""


def fingerprint_of(number: str, text: str, reporter_key: str) -> str:
    """The same report, however spaced or cased: SHA-256 of number, folded text and reporter."""
    folded = " ".join(text.casefold().split())
    return hashlib.sha256("\x1f".join((number, folded, reporter_key)).encode()).hexdigest()


def _alerts_naming(session: Session, number: str) -> list[tuple[Alert, str]]:
    """The alerts that link the number, with how (at most a thousand, newest first)."""
    return [
        (alert, relation)
        for alert, relation in session.execute(
            select(Alert, AlertEntity.relation)
            .join(AlertEntity, AlertEntity.alert_id == Alert.id)
            .join(Entity, Entity.id == AlertEntity.entity_id)
            .where(Entity.kind == EntityKind.NUMBER.value, Entity.value == number)
            .order_by(Alert.occurred_at.desc())
            .limit(1000)
        ).all()
    ]


def _campaign_ref(session: Session, alert: Alert) -> str:
    ref = session.execute(
        select(Entity.value)
        .join(AlertEntity, AlertEntity.entity_id == Entity.id)
        .where(
            AlertEntity.alert_id == alert.id,
            AlertEntity.relation == "self",
            Entity.kind == EntityKind.CAMPAIGN.value,
        )
    ).scalar()
    return ref or f"{alert.source}/{alert.source_ref}"


def _is_live(alert: Alert, now: datetime) -> bool:
    return alert.status != AlertStatus.DONE.value and alert.occurred_at >= now - LIVE_WITHIN


def _rules(alert: Alert) -> set[str]:
    """The rules behind an alert's reasons (its reasons are data: rule, key, facts)."""
    try:
        reasons = json.loads(alert.reasons)
    except ValueError:
        return set()
    if not isinstance(reasons, list):
        return set()
    return {str(r.get("rule", "")) for r in reasons if isinstance(r, dict)}


def number_record(session: Session, number: str, *, recent: timedelta = RECENT) -> NumberRecord:
    """What the store knows of ``number`` (see the module's docstring)."""
    now = clock_of(session)
    categories = Counter(
        {
            category: count
            for category, count in session.execute(
                select(CitizenReport.category, func.count())
                .where(CitizenReport.number == number, CitizenReport.received_at >= now - recent)
                .group_by(CitizenReport.category)
            )
        }
    )
    campaigns, farm, waves, intercepted, spoofed, wangiri = [], False, 0, 0, 0, False
    for alert, relation in _alerts_naming(session, number):
        if alert.kind == AlertKind.CAMPAIGN.value and relation == "caller":
            campaigns.append(
                CampaignSeen(
                    category=alert.category,
                    live=_is_live(alert, now),
                    last_seen=alert.occurred_at,
                )
            )
        elif alert.kind == AlertKind.SIM_FARM.value and relation == "member_number":
            farm = True
        elif alert.kind == AlertKind.SPOOFED_WAVE.value and relation == "presented":
            waves += 1
        elif alert.kind == AlertKind.INTERCEPTED_CALL.value and alert.source != REPORTS_SOURCE:
            intercepted += 1
            rules = _rules(alert)
            spoofed += any(rule.startswith("spoofed_cli.") for rule in rules)
            wangiri = wangiri or any(rule.startswith("wangiri.") for rule in rules)
    return NumberRecord(
        number=number,
        reports_recent=sum(categories.values()),
        reports_by_category=dict(categories),
        campaigns=tuple(campaigns),
        farm_sim=farm,
        spoofed_waves=waves,
        intercepted_calls=intercepted,
        spoofed_calls=spoofed,
        wangiri=wangiri,
    )


def _live_campaign(session: Session, number: str, now: datetime) -> Alert | None:
    for alert, relation in _alerts_naming(session, number):
        if alert.kind == AlertKind.CAMPAIGN.value and relation == "caller" and _is_live(alert, now):
            return alert
    return None


def _victim_id(session: Session, callback: str | None) -> int | None:
    if callback is None:
        return None
    insert_new(session, PotentialVictim, [{"msisdn": callback}], keys=("msisdn",))
    return session.execute(
        select(PotentialVictim.id).where(PotentialVictim.msisdn == callback)
    ).scalar_one()


def _queue_alert(
    session: Session, row: CitizenReport, campaign: Alert, campaign_ref: str, now: datetime
) -> int:
    """An intercepted-call alert in the queue for a report that names a live campaign."""
    reason = Reason.said(
        "public.report",
        1.0,
        "public.report.campaign",
        number=row.number,
        channel=row.channel,
        campaign=campaign_ref,
    )
    severity = Severity.HIGH
    alert = Alert(
        kind=AlertKind.INTERCEPTED_CALL.value,
        source=REPORTS_SOURCE,
        source_ref=str(row.id),
        severity=severity.value,
        severity_rank=severity.rank,
        score=0.9,
        action=None,
        category=campaign.category if row.category == "other" else row.category,
        reasons=reasons_cell([reason]),
        source_records=as_json([f"report:{row.id}"]),
        details=as_json({"report_id": row.id, "channel": row.channel}),
        occurred_at=row.occurred_at or now,
        received_at=now,
        caller=row.number,
        victim_id=_victim_id(session, row.callback),
        status=AlertStatus.OPEN.value,
    )
    session.add(alert)
    session.flush()
    session.add(
        Episode(
            alert_id=alert.id,
            victim_id=alert.victim_id,
            caller=row.number,
            occurred_at=alert.occurred_at,
        )
    )
    ids = entity_ids(
        session,
        [(EntityKind.NUMBER.value, row.number), (EntityKind.CAMPAIGN.value, campaign_ref)],
    )
    links = [
        {
            "alert_id": alert.id,
            "entity_id": ids[EntityKind.NUMBER.value, row.number],
            "relation": "caller",
        },
        {
            "alert_id": alert.id,
            "entity_id": ids[EntityKind.CAMPAIGN.value, campaign_ref],
            "relation": "campaign",
        },
    ]
    insert_new(session, AlertEntity, links, keys=("alert_id", "entity_id", "relation"))
    return alert.id


def file_report(
    session: Session, report: NewReport, *, dedup_window: timedelta = DEDUP_WINDOW
) -> FiledReport:
    """Keep ``report`` once; link it to a live campaign and queue it (see the module's doc)."""
    now = clock_of(session)
    text = report.text[:MAX_TEXT]
    fingerprint = fingerprint_of(report.number, text, report.reporter_key)
    same = session.execute(
        select(CitizenReport)
        .where(
            CitizenReport.fingerprint == fingerprint,
            CitizenReport.received_at >= now - dedup_window,
        )
        .limit(1)
    ).scalar()
    if same is not None:
        return FiledReport(
            report_id=same.id, duplicate=True, campaign=same.campaign, alert_id=same.alert_id
        )
    row = CitizenReport(
        received_at=now,
        occurred_at=report.occurred_at,
        number=report.number,
        channel=report.channel.value,
        category=report.category.value,
        scheme=report.scheme,
        text=text,
        fingerprint=fingerprint,
        callback=report.callback,
        attachment=None if report.attachment is None else report.attachment.data,
        attachment_type=None if report.attachment is None else report.attachment.media_type,
        attachment_sha256=None if report.attachment is None else report.attachment.sha256,
    )
    session.add(row)
    session.flush()
    campaign = _live_campaign(session, report.number, now)
    if campaign is not None:
        row.campaign = _campaign_ref(session, campaign)
        row.alert_id = _queue_alert(session, row, campaign, row.campaign, now)
    return FiledReport(
        report_id=row.id, duplicate=False, campaign=row.campaign, alert_id=row.alert_id
    )


def report_rows(session: Session, *, since: datetime | None = None) -> list[dict[str, Any]]:
    """The reports as exchange-v1 ``reports`` rows, oldest first.

    The format needs the reporter's number: a report that left a number to call
    back on is written with it; an anonymous report has none and is left out.
    """
    query = (
        select(CitizenReport).where(CitizenReport.callback.is_not(None)).order_by(CitizenReport.id)
    )
    if since is not None:
        query = query.where(CitizenReport.received_at >= since)
    return [
        {
            "report_id": f"public-{r.id}",
            "time": (r.occurred_at or r.received_at).astimezone(UTC),
            "reporter": r.callback,
            "reported_number": r.number,
            "channel": r.channel,
            "category": r.category,
            "text": r.text,
        }
        for r in session.execute(query).scalars()
    ]
