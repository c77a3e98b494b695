"""Everything the case store (and the analysis outputs, when given) holds about one case.

:func:`collect_case` reads, in the caller's transaction, a case's calls and
the SIMs, handsets, cells and numbers they involve; the farms behind them with
their estimated location (and their track, from ``farm_tracks.csv`` when the
analysis folder is given); the campaigns with their UTC offset and office
hours; the money chain; and the audit trail of what was done on the case and
its alerts. It returns plain tables (:class:`Table`): the package writes them
as CSV, describes them in CASE/UCO and prints them in the report.

**The money chain** is gathered by every function in :data:`MONEY_TRAILS`:
the accounts the store links to the case (losses suffered, accounts attached
by hand or found on its alerts), and the rows of the analysis's ``accounts.csv``
and ``victim_payments.csv`` tied to the case's accounts or campaigns (by their
account, ``campaign_id``, ``called_by`` or ``farm_id`` columns, or their reasons' facts). A part of Qalqan that learns more about
money adds its own function with :func:`register_money_trail`; each row says
which source gave it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from qalqan.cases.errors import NotFoundError
from qalqan.cases.models import (
    Alert,
    AlertEntity,
    AlertKind,
    AuditEntry,
    Case,
    CaseEntity,
    CaseFinding,
    CaseNote,
    Entity,
    EntityKind,
    Episode,
    Escalation,
    Loss,
    OperatorAction,
    PotentialVictim,
    User,
)
from qalqan.cases.views import texts_of

__all__ = [
    "MONEY_COLUMNS",
    "MONEY_TRAILS",
    "CaseEvidence",
    "MoneyContext",
    "Table",
    "collect_case",
    "office_hours",
    "register_money_trail",
]

MAX_ANALYSIS_FILE_BYTES: Final = 512 * 1024 * 1024
"""farm_tracks.csv or accounts.csv larger than this is not read (the package says so)."""


@dataclass(frozen=True, slots=True)
class Table:
    """A data file of the package: a name, its columns, its rows as text."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, name: str) -> list[str]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseEvidence:
    """One case, as the package tells it."""

    case_id: int
    title: str
    status: str
    opened_at: datetime
    opened_by: str | None
    closed_at: datetime | None
    close_reason: str | None
    notes: Table
    calls: Table
    entities: Table
    farms: Table
    farm_tracks: Table
    campaigns: Table
    money: Table
    escalations: Table
    actions: Table
    """What operators did to the case's calls (claims, outcomes, escalations)."""
    audit: Table
    findings: tuple[dict[str, Any], ...]
    """The farm and campaign alerts as stored (details and reasons), for case.json."""
    remarks: tuple[str, ...] = field(default=())
    """What could not be included, and why (an analysis file too large, ...)."""

    def tables(self) -> tuple[Table, ...]:
        return (
            self.calls,
            self.entities,
            self.farms,
            self.farm_tracks,
            self.campaigns,
            self.money,
            self.notes,
            self.escalations,
            self.actions,
            self.audit,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyContext:
    """What a money-trail source is told about the case."""

    session: Session
    case_id: int
    alert_ids: tuple[int, ...]
    accounts: frozenset[str]
    """Accounts the store links to the case."""
    campaigns: frozenset[str]
    """The case's campaign ids (without their source)."""
    farms: frozenset[str] = frozenset()
    """The case's farm ids (without their source)."""
    analysis: Path | None
    remarks: list[str]


MONEY_COLUMNS: Final = ("account", "role", "amount", "currency", "linked_by", "source", "reasons")
MoneyTrail = Callable[[MoneyContext], Iterable[tuple[str, ...]]]
MONEY_TRAILS: list[MoneyTrail] = []
"""Every source of the money chain, in order; rows of :data:`MONEY_COLUMNS`."""


def register_money_trail(trail: MoneyTrail) -> MoneyTrail:
    """Add a source of the money chain (usable as a decorator)."""
    if trail not in MONEY_TRAILS:
        MONEY_TRAILS.append(trail)
    return trail


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _table(name: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    return Table(name, tuple(columns), tuple(tuple(_text(v) for v in r) for r in rows))


def _reasons(raw: str | None) -> str:
    return " | ".join(texts_of(raw))


def _alerts_entities(session: Session, alert_ids: Sequence[int]) -> list[tuple[int, str, str, str]]:
    if not alert_ids:
        return []
    return [
        (a, k, v, rel)
        for a, k, v, rel in session.execute(
            select(AlertEntity.alert_id, Entity.kind, Entity.value, AlertEntity.relation)
            .join(Entity, Entity.id == AlertEntity.entity_id)
            .where(AlertEntity.alert_id.in_(alert_ids))
            .order_by(AlertEntity.alert_id, Entity.kind, Entity.value, AlertEntity.relation)
        )
    ]


CALL_COLUMNS: Final = (
    "alert_id", "record_ids", "occurred_at", "caller", "callee", "caller_sim", "caller_imei",
    "caller_cell", "route", "action", "category", "severity", "score", "outcome", "reasons",
)  # fmt: skip


def _calls(
    session: Session, calls: Sequence[Alert], linked: Sequence[tuple[int, str, str, str]]
) -> Table:
    by_alert: dict[int, dict[str, str]] = {}
    for alert_id, _kind, value, relation in linked:
        by_alert.setdefault(alert_id, {}).setdefault(relation, value)
    victims = {
        v.id: v.msisdn
        for v in session.scalars(
            select(PotentialVictim).where(
                PotentialVictim.id.in_([a.victim_id for a in calls if a.victim_id is not None])
            )
        )
    }
    rows = []
    for a in calls:
        seen = by_alert.get(a.id, {})
        rows.append(
            (
                a.id, " ".join(json.loads(a.source_records or "[]")), a.occurred_at, a.caller,
                victims.get(a.victim_id or -1), seen.get("caller_sim"), seen.get("caller_imei"),
                seen.get("caller_cell"), seen.get("route"), a.action, a.category, a.severity,
                f"{a.score:.3f}", a.outcome, _reasons(a.reasons),
            )
        )  # fmt: skip
    return _table("calls", CALL_COLUMNS, rows)


def _findings_of(
    session: Session, case_id: int, linked: Sequence[tuple[int, str, str, str]]
) -> list[Alert]:
    """The farm and campaign alerts attached to the case or named by its calls' entities."""
    wanted: set[tuple[str, str, str]] = set()
    kinds = {
        EntityKind.FARM.value: AlertKind.SIM_FARM,
        EntityKind.CAMPAIGN.value: AlertKind.CAMPAIGN,
    }
    for _alert, kind, value, _relation in linked:
        if kind in kinds and "/" in value:
            source, ref = value.rsplit("/", 1)
            wanted.add((kinds[kind].value, source, ref))
    attached = select(CaseFinding.alert_id).where(CaseFinding.case_id == case_id)
    clauses = [Alert.id.in_(attached)] + [
        (Alert.kind == k) & (Alert.source == s) & (Alert.source_ref == r) for k, s, r in wanted
    ]
    return list(session.scalars(select(Alert).where(or_(*clauses)).order_by(Alert.id)))


def _farms(found: Sequence[Alert]) -> Table:
    rows = []
    for a in found:
        if a.kind != AlertKind.SIM_FARM.value:
            continue
        d = json.loads(a.details or "{}")
        rows.append(
            (a.source, a.source_ref, d.get("n_sims"), d.get("lat"), d.get("lon"),
             " ".join(d.get("sites") or ()), d.get("first_seen"), d.get("last_seen"),
             _reasons(a.reasons))
        )  # fmt: skip
    columns = (
        "source",
        "farm_id",
        "sims",
        "lat",
        "lon",
        "sites",
        "first_seen",
        "last_seen",
        "reasons",
    )
    return _table("farms", columns, rows)


def office_hours(calls_by_utc_hour: Sequence[int], utc_offset_h: float | None) -> str:
    """The local hours a campaign called in (each hour holding at least a twentieth of its
    calls), as ``09-13, 14-18``; empty when unknown."""
    total = sum(calls_by_utc_hour)
    if total == 0 or len(calls_by_utc_hour) != 24:
        return ""
    shift = round(utc_offset_h or 0)
    busy = sorted((h + shift) % 24 for h, n in enumerate(calls_by_utc_hour) if n * 20 >= total)
    spans: list[list[int]] = []
    for h in busy:
        if spans and spans[-1][1] == h:
            spans[-1][1] = h + 1
        else:
            spans.append([h, h + 1])
    return ", ".join(f"{a:02d}-{b:02d}" for a, b in spans)


def _campaigns(found: Sequence[Alert]) -> Table:
    rows = []
    for a in found:
        if a.kind != AlertKind.CAMPAIGN.value:
            continue
        d = json.loads(a.details or "{}")
        hours = [int(h) for h in d.get("calls_by_utc_hour") or ()]
        rows.append(
            (a.source, a.source_ref, d.get("n_calls"), d.get("n_victims"), d.get("utc_offset_h"),
             office_hours(hours, d.get("utc_offset_h")), " ".join(map(str, hours)),
             " ".join(d.get("farm_ids") or ()), " ".join(d.get("routes") or ()),
             d.get("first_seen"), d.get("last_seen"), _reasons(a.reasons))
        )  # fmt: skip
    columns = (
        "source", "campaign_id", "calls", "victims", "utc_offset_h", "office_hours_local",
        "calls_by_utc_hour", "farm_ids", "routes", "first_seen", "last_seen", "reasons",
    )  # fmt: skip
    return _table("campaigns", columns, rows)


def _read_csv(path: Path, remarks: list[str]) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    if path.stat().st_size > MAX_ANALYSIS_FILE_BYTES:
        remarks.append(f"{path.name} left out: larger than {MAX_ANALYSIS_FILE_BYTES:,} bytes")
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _farm_tracks(analysis: Path | None, farms: Table, remarks: list[str]) -> Table:
    columns = ("farm_id", "stay", "site", "lat", "lon", "first", "last", "calls", "sims")
    wanted = set(farms.column("farm_id"))
    rows = [] if analysis is None else _read_csv(analysis / "farm_tracks.csv", remarks)
    kept = [[r.get(c, "") for c in columns] for r in rows if r.get("farm_id") in wanted]
    return _table("farm_tracks", columns, kept)


@register_money_trail
def store_money(ctx: MoneyContext) -> Iterable[tuple[str, ...]]:
    """Accounts the case store links to the case: losses suffered, and the accounts of its
    alerts and attached by hand."""
    session = ctx.session
    if ctx.alert_ids:
        for amount, currency, account, kind in session.execute(
            select(Loss.amount, Loss.currency, Entity.value, Loss.kind)
            .join(Entity, Entity.id == Loss.account_id, isouter=True)
            .where(Loss.alert_id.in_(ctx.alert_ids))
            .order_by(Loss.id)
        ):
            yield (account or "", f"loss_{kind}", str(amount), currency, "loss", "case store", "")
    for account in sorted(ctx.accounts):
        yield (account, "linked", "", "", "entity", "case store", "")


def _tied(row: dict[str, str], ctx: MoneyContext, accounts: tuple[str, ...]) -> str:
    """How an analysis row is tied to the case ("" when it is not): one of its accounts is the
    case's, its campaign columns name the case's campaign, or its reasons' facts name either."""
    for column in accounts:
        if row.get(column) in ctx.accounts:
            return f"{column}: case account"
    for column in ("campaign_id", "called_by"):
        if row.get(column) in ctx.campaigns:
            return f"{column}: {row[column]}"
    if row.get("farm_id") in ctx.farms:
        return f"farm_id: {row['farm_id']}"
    facts = row.get("reason_facts") or ""
    named = sorted(c for c in (*ctx.campaigns, *ctx.accounts) if c and f'"{c}"' in facts)
    return "reason facts: " + ", ".join(named) if named else ""


@register_money_trail
def analysis_money(ctx: MoneyContext) -> Iterable[tuple[str, ...]]:
    """Rows of the analysis's ``accounts.csv`` tied to the case (see :func:`_tied`)."""
    if ctx.analysis is None:
        return
    for row in _read_csv(ctx.analysis / "accounts.csv", ctx.remarks):
        if linked := _tied(row, ctx, ("account",)):
            yield (row.get("account", ""), row.get("role", ""), row.get("amount_in", ""), "",
                   linked, "accounts.csv", row.get("reasons", ""))  # fmt: skip


@register_money_trail
def analysis_payments(ctx: MoneyContext) -> Iterable[tuple[str, ...]]:
    """Victims' transfers into the mules (``victim_payments.csv``) tied to the case."""
    if ctx.analysis is None:
        return
    for row in _read_csv(ctx.analysis / "victim_payments.csv", ctx.remarks):
        if linked := _tied(row, ctx, ("mule", "payer")):
            role = f"paid by {row.get('payer', '')} at {row.get('time', '')}"
            yield (row.get("mule", ""), role, row.get("amount", ""), row.get("currency", ""),
                   linked, "victim_payments.csv", row.get("reasons", ""))  # fmt: skip


def _audit(session: Session, case_id: int, alert_ids: Sequence[int]) -> Table:
    targets = [f"case:{case_id}"] + [f"alert:{a}" for a in alert_ids]
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.target.in_(targets)).order_by(AuditEntry.seq)
    ).all()
    columns = ("seq", "at", "actor", "role", "action", "target", "allowed", "details", "entry_hash")
    return _table(
        "audit",
        columns,
        [
            (e.seq, e.at, e.actor_name, e.actor_role, e.action, e.target,
             "yes" if e.allowed else "no", e.details, e.entry_hash)
            for e in entries
        ],
    )  # fmt: skip


def _notes_and_escalations(
    session: Session, case_id: int, alert_ids: Sequence[int], names: dict[int, str]
) -> tuple[Table, Table]:
    notes = session.scalars(
        select(CaseNote)
        .where(CaseNote.case_id == case_id)
        .order_by(CaseNote.written_at, CaseNote.id)
    ).all()
    raised = session.scalars(
        select(Escalation)
        .where((Escalation.case_id == case_id) | Escalation.alert_id.in_(alert_ids))
        .order_by(Escalation.id)
    ).all()
    return (
        _table(
            "notes",
            ("at", "by", "text"),
            [(n.written_at, names.get(n.author_id or -1), n.text) for n in notes],
        ),
        _table(
            "escalations",
            ("id", "alert_id", "raised_at", "raised_by", "reason", "status", "responded_at",
             "responded_by", "response"),
            [(e.id, e.alert_id, e.raised_at, names.get(e.raised_by or -1), e.reason, e.status,
              e.responded_at, names.get(e.responded_by or -1), e.response) for e in raised],
        ),
    )  # fmt: skip


def _actions(
    session: Session, alert_ids: Sequence[int], names: dict[int, str]
) -> list[tuple[object, ...]]:
    return [
        (a.alert_id, a.done_at, names.get(a.user_id or -1), a.kind, a.outcome, a.note)
        for a in session.scalars(
            select(OperatorAction)
            .where(OperatorAction.alert_id.in_(alert_ids))
            .order_by(OperatorAction.id)
        )
    ]


def collect_case(session: Session, case_id: int, *, analysis: Path | None = None) -> CaseEvidence:
    """Read one case whole. The caller has authorised the reader (see :mod:`qalqan.evidence.export`)."""
    found = session.get(Case, case_id)
    if found is None:
        raise NotFoundError("case", case_id)
    names: dict[int, str] = {i: n for i, n in session.execute(select(User.id, User.name))}
    calls = session.scalars(
        select(Alert)
        .join(Episode, Episode.alert_id == Alert.id)
        .where(Episode.case_id == case_id)
        .order_by(Alert.occurred_at, Alert.id)
    ).all()
    call_ids = [a.id for a in calls]
    linked = _alerts_entities(session, call_ids)
    finding_alerts = _findings_of(session, case_id, linked)
    finding_ids = [a.id for a in finding_alerts]
    linked_all = linked + _alerts_entities(session, finding_ids)
    attached = session.execute(
        select(Entity.kind, Entity.value).join(CaseEntity, CaseEntity.entity_id == Entity.id)
        .where(CaseEntity.case_id == case_id)
    ).all()  # fmt: skip
    entity_rows = [(k, v, rel, a) for a, k, v, rel in linked_all] + [
        (k, v, "attached", "") for k, v in attached
    ]
    remarks: list[str] = []
    farms = _farms(finding_alerts)
    campaigns = _campaigns(finding_alerts)
    accounts = frozenset(v for k, v, _r, _a in entity_rows if k == EntityKind.ACCOUNT.value)
    ctx = MoneyContext(
        session=session, case_id=case_id, alert_ids=tuple(call_ids), accounts=accounts,
        campaigns=frozenset(campaigns.column("campaign_id")), analysis=analysis, remarks=remarks,
        farms=frozenset(farms.column("farm_id")),
    )  # fmt: skip
    money = [row for trail in MONEY_TRAILS for row in trail(ctx)]
    notes, escalations = _notes_and_escalations(session, case_id, call_ids, names)
    actions = _actions(session, call_ids, names)
    return CaseEvidence(
        case_id=case_id,
        title=found.title,
        status=found.status,
        opened_at=found.opened_at,
        opened_by=names.get(found.opened_by or -1),
        closed_at=found.closed_at,
        close_reason=found.close_reason,
        notes=notes,
        calls=_calls(session, calls, linked),
        entities=_table("entities", ("kind", "value", "relation", "alert_id"), sorted(set(entity_rows), key=str)),
        farms=farms,
        farm_tracks=_farm_tracks(analysis, farms, remarks),
        campaigns=campaigns,
        money=_table("money", MONEY_COLUMNS, money),
        escalations=escalations,
        audit=_audit(session, case_id, call_ids + finding_ids),
        findings=tuple(
            {"alert_id": a.id, "kind": a.kind, "source": a.source, "source_ref": a.source_ref,
             "details": json.loads(a.details or "{}"), "reasons": list(texts_of(a.reasons))}
            for a in finding_alerts
        ),
        actions=_table("actions", ("alert_id", "at", "by", "kind", "outcome", "note"), actions),
        remarks=tuple(remarks),
    )  # fmt: skip
