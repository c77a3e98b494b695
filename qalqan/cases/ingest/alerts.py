"""Writing alerts, entities and their links in batches, idempotently, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

from sqlalchemy import Table, and_, func, literal, select, text, update
from sqlalchemy.orm import Session

from qalqan.cases.models import (
    Alert,
    AlertEntity,
    AlertKind,
    AnalysedCall,
    Entity,
    EntityKind,
    EntityLink,
    PotentialVictim,
    Severity,
)
from qalqan.cases.store import clock_of
from qalqan.cases.upsert import dialect_insert, insert_new, upsert
from qalqan.domain.model import ReportCategory


def call_severity(score: float) -> Severity:
    """How sure screening was: 0.95 and over critical, 0.8 high, 0.5 medium, below low."""
    if score >= 0.95:
        return Severity.CRITICAL
    if score >= 0.8:
        return Severity.HIGH
    if score >= 0.5:
        return Severity.MEDIUM
    return Severity.LOW


def severity_by_count(n: int, *, critical: int, high: int) -> Severity:
    if n >= critical:
        return Severity.CRITICAL
    if n >= high:
        return Severity.HIGH
    return Severity.MEDIUM


def as_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def count_alerts(session: Session, kinds: Iterable[AlertKind], source: str) -> dict[str, int]:
    rows = session.execute(
        select(Alert.kind, func.count())
        .where(Alert.source == source, Alert.kind.in_([k.value for k in kinds]))
        .group_by(Alert.kind)
    ).all()
    counts = {k.value: 0 for k in kinds}
    counts.update({kind: n for kind, n in rows})
    return counts


def alert_ids(
    session: Session, kind: AlertKind, source: str, refs: Sequence[str]
) -> dict[str, int]:
    ids: dict[str, int] = {}
    for part in batches(refs, 500):
        for ident, ref in session.execute(
            select(Alert.id, Alert.source_ref).where(
                Alert.kind == kind.value, Alert.source == source, Alert.source_ref.in_(part)
            )
        ):
            ids[ref] = ident
    return ids


def keep_or_fill(column: str) -> Callable[[Table, Any], Any]:
    """On conflict: keep the stored value, fill it only when it is empty."""
    return lambda table, excluded: func.coalesce(table.c[column], excluded[column])


def _category_update(table: Table, excluded: Any) -> Any:
    """Keep the scheme an operator chose; replace only the fallback ``other``."""
    from sqlalchemy import case

    return case((table.c.category == "other", excluded.category), else_=table.c.category)


_ALERT_ANALYSIS_COLUMNS: Final = {
    "severity": "excluded",
    "severity_rank": "excluded",
    "score": "excluded",
    "action": "excluded",
    "reasons": "excluded",
    "source_records": "excluded",
    "details": "excluded",
    "occurred_at": "excluded",
    "caller": keep_or_fill("caller"),
    "victim_id": keep_or_fill("victim_id"),
    "category": _category_update,
}
"""What a second ingest of an alert may change: what analysis says, never what people did."""


def write_alerts(
    session: Session, kind: AlertKind, source: str, rows: list[dict[str, Any]]
) -> dict[str, int]:
    """Upsert alerts (deduplicated on their key, last wins); return their ids by source_ref."""
    unique = {row["source_ref"]: row for row in rows}
    now = clock_of(session)
    full = [
        {
            "kind": kind.value,
            "source": source,
            "status": "open",
            "received_at": now,
            "caller": None,
            "victim_id": None,
            "action": None,
            "category": ReportCategory.OTHER.value,
            **row,
        }
        for row in unique.values()
    ]
    upsert(
        session, Alert, full, keys=("kind", "source", "source_ref"), update=_ALERT_ANALYSIS_COLUMNS
    )
    return alert_ids(session, kind, source, list(unique))


def link_alerts(session: Session, links: Iterable[tuple[int, int, str]]) -> None:
    rows = [{"alert_id": a, "entity_id": e, "relation": r} for a, e, r in sorted(set(links))]
    for part in batches(rows, 2_000):
        insert_new(session, AlertEntity, part, keys=("alert_id", "entity_id", "relation"))


def link_entities(session: Session, links: Iterable[tuple[int, int, str]]) -> None:
    rows = [{"from_id": a, "to_id": b, "relation": r} for a, b, r in sorted(set(links))]
    for part in batches(rows, 2_000):
        insert_new(session, EntityLink, part, keys=("from_id", "to_id", "relation"))


def link_calls_to_campaigns(session: Session, source: str, alert_ids: Sequence[int] | None) -> None:
    """Tie intercepted calls to the campaign analysis put them in, whichever came first."""
    entity_value = literal(f"{source}/") + AnalysedCall.campaign_id
    query = (
        select(Alert.id, Entity.id, literal("campaign"))
        .join(
            AnalysedCall,
            and_(AnalysedCall.source == Alert.source, AnalysedCall.record_id == Alert.source_ref),
        )
        .join(Entity, and_(Entity.kind == EntityKind.CAMPAIGN.value, Entity.value == entity_value))
        .where(
            Alert.kind == AlertKind.INTERCEPTED_CALL.value,
            Alert.source == source,
            AnalysedCall.campaign_id.is_not(None),
        )
    )
    parts: Iterable[Sequence[int] | None] = [None] if alert_ids is None else batches(alert_ids, 500)
    for part in parts:
        q = query if part is None else query.where(Alert.id.in_(part))
        statement = (
            dialect_insert(session, AlertEntity)
            .from_select(["alert_id", "entity_id", "relation"], q)
            .on_conflict_do_nothing(index_elements=["alert_id", "entity_id", "relation"])
        )
        session.execute(statement)


def recount_targets(session: Session, victim_ids: Iterable[int]) -> None:
    """A victim's intercepted calls, counted again (so a re-run cannot inflate it)."""
    ids = sorted(set(victim_ids))
    calls = (
        select(func.count())
        .where(
            Alert.victim_id == PotentialVictim.id,
            Alert.kind == AlertKind.INTERCEPTED_CALL.value,
        )
        .scalar_subquery()
    )
    for part in batches(ids, 500):
        session.execute(
            update(PotentialVictim)
            .where(PotentialVictim.id.in_(part))
            .values(times_targeted=calls)
            .execution_options(synchronize_session=False)
        )


class PlannerStatistics:
    """Keeps PostgreSQL's planner statistics up with a bulk load.

    Autovacuum analyses a table only a minute or so after it grew, so during a
    long ingest the planner would go on believing the tables are nearly empty
    and choose plans that get slower with every batch. Whenever the rows
    written since the last ``ANALYZE`` reach what the tables held then, they
    are analysed again: a handful of times for any size of load. (SQLite
    needs none of this.)
    """

    TABLES: Final = ("alerts", "potential_victims", "episodes", "entities", "alert_entities")

    def __init__(self, session: Session) -> None:
        self.session = session
        self.active = session.get_bind().dialect.name == "postgresql"
        self.known = 0 if not self.active else self._rows()
        self.written = 0

    def _rows(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(Alert)) or 0)

    def wrote(self, rows: int) -> None:
        if not self.active:
            return
        self.written += rows
        if self.written >= max(500, self.known):
            self.session.execute(text(f"ANALYZE {', '.join(self.TABLES)}"))
            self.known += self.written
            self.written = 0
