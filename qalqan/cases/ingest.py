"""Loading what screening and analysis found into the case store, idempotently and crash-safe.

    report = ingest_decisions(session, Path("decisions.csv"), data=Path("operator/"))
    report = ingest_findings(session, Path("analysis/"), data=Path("operator/"))

**Which alerts.** Every screening decision other than ``allow`` becomes an
*intercepted call* alert (with its episode); when the data set is given, its
``cdrs`` say who was called and which number called, its ``subscribers`` the
callee's birth year (vulnerable at ``vulnerable_age`` and over), its
``registry`` and ``reports`` the likely scheme (which picks the call-back
script). From ``qalqan analyze`` output: one alert per *SIM farm* (with its
handsets, SIMs, numbers and cells), per *campaign* (its farms, routes and,
with the data set, the numbers it called from) and per *spoofed-number wave*
(the spoofed calls of one campaign — or one route when no campaign — under one
rule on one UTC day, when there are at least ``min_wave_calls``).

**Idempotent.** Every row has a natural key with a unique constraint
(an alert: kind, source, record/farm/campaign id; an entity: kind, value; a
link: both ends) and is written with ``INSERT … ON CONFLICT`` on both
databases. Running the same input again updates what analysis says (reasons,
severity) and never what people did (claims, outcomes, an operator's choice
of scheme); nothing is duplicated.

**Crash-safe.** Rows are written in batches, each committed with its audit
entry before the next begins; ``progress`` is called only after the commit,
so a batch reported done is on disk. A crash loses at most the batch in
flight, and re-running the same command picks everything up again.

**Sources.** Record ids are unique within one operator's data set, and farm
and campaign ids within one analysis. ``source`` names the feed (an
operator, a day's analysis) so that two of them never collide; ingest a data
set's decisions and its analysis under the same source so that calls find
their campaigns.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Table, and_, func, literal, select, text, update
from sqlalchemy.orm import Session

from qalqan.cases import audit
from qalqan.cases.models import (
    Alert,
    AlertEntity,
    AlertKind,
    AnalysedCall,
    Entity,
    EntityKind,
    EntityLink,
    Episode,
    PotentialVictim,
    Severity,
)
from qalqan.cases.roles import SYSTEM, Actor, Permission, authorize
from qalqan.cases.store import clock_of, settings_of
from qalqan.cases.upsert import dialect_insert, entity_ids, insert_new, upsert
from qalqan.domain.messages import parse_reason_facts, render
from qalqan.domain.model import Ingress, ReportCategory
from qalqan.errors import MissingTableError
from qalqan.exchange.reader import DataSet, TableReport, read_file
from qalqan.exchange.sources import find_table

__all__ = [
    "DEFAULT_BATCH",
    "IngestProgress",
    "IngestReport",
    "RejectedRows",
    "call_severity",
    "guess_category",
    "ingest_decisions",
    "ingest_findings",
]

DEFAULT_BATCH: Final = 1_000

IngestProgress = Callable[[int, int], None]
"""Called after each committed batch with (items acknowledged so far, items in all)."""

_CATEGORY_WORDS: Final[tuple[tuple[ReportCategory, tuple[str, ...]], ...]] = (
    (ReportCategory.POLICE, ("police", "полици", "полиц", "прокурат", "кнб", "ұқк")),
    (ReportCategory.EGOV, ("egov", "e-gov", "цон", "хқко", "government", "tax", "налог")),
    (ReportCategory.BANK_SECURITY, ("bank", "банк")),
    (ReportCategory.OPERATOR, ("operator customer", "оператор")),
    (ReportCategory.INVESTMENT, ("invest", "инвест", "broker", "брокер", "crypto", "крипт")),
    (ReportCategory.RELATIVE, ("relative", "родствен", "туыс")),
)
_NUMBER: Final = re.compile(r"\+\d{7,15}")


def guess_category(*texts: str | None) -> ReportCategory | None:
    """The fraud scheme named in a protected number's owner or a verdict's reasons, if any."""
    for raw in texts:
        if not raw:
            continue
        text = raw.lower()
        for category, words in _CATEGORY_WORDS:
            if any(word in text for word in words):
                return category
    return None


def call_severity(score: float) -> Severity:
    """How sure screening was: 0.95 and over critical, 0.8 high, 0.5 medium, below low."""
    if score >= 0.95:
        return Severity.CRITICAL
    if score >= 0.8:
        return Severity.HIGH
    if score >= 0.5:
        return Severity.MEDIUM
    return Severity.LOW


def _by_count(n: int, *, critical: int, high: int) -> Severity:
    if n >= critical:
        return Severity.CRITICAL
    if n >= high:
        return Severity.HIGH
    return Severity.MEDIUM


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectedRows:
    """Rows of one input file that broke the exchange contract and were left out of the load."""

    file: Path
    rows: int
    quarantine: Path | None
    """The file that holds them with their lines and reasons (None: they were only counted)."""


@dataclass(slots=True, kw_only=True)
class IngestReport:
    """What one ingest did; ``alerts_new`` is zero when the same input is loaded again."""

    rows_read: int = 0
    """Rows of the input files read (decisions, or calls + farms + campaigns)."""
    rows_rejected: int = 0
    """Rows that broke the exchange contract and were left out, in every file read."""
    rejected: list[RejectedRows] = field(default_factory=list)
    """Those rows by file, in reading order; only files with rejected rows are listed."""
    alerts_seen: dict[str, int] = field(default_factory=dict)
    """Alerts in the input by kind: new ones plus ones already in the store."""
    alerts_new: dict[str, int] = field(default_factory=dict)
    """New alerts by kind."""
    batches: int = 0

    @property
    def total_new(self) -> int:
        return sum(self.alerts_new.values())

    def already_there(self, kind: str) -> int:
        """Alerts of ``kind`` in the input that the store already had."""
        return self.alerts_seen.get(kind, 0) - self.alerts_new.get(kind, 0)

    def note_rejected(self, table: TableReport, quarantine: Path | None) -> None:
        """Count the rows one table's reading rejected (none is left out silently)."""
        if not table.rows_rejected:
            return
        self.rows_rejected += table.rows_rejected
        self.rejected.append(
            RejectedRows(
                file=table.files[-1],
                rows=table.rows_rejected,
                quarantine=None if quarantine is None else quarantine / f"{table.table}.csv",
            )
        )

    def _saw(self, kind: str, n: int) -> None:
        self.alerts_seen[kind] = self.alerts_seen.get(kind, 0) + n


def _reasons(text: str | None) -> list[str]:
    """Reasons as written by screening (``a | b``) or analysis (``a; b``), one per item."""
    if not text:
        return []
    parts = [p.strip() for p in text.split(" | ")]
    return [p for p in parts if p]


def _saying(key: str, /, **facts: object) -> dict[str, object]:
    """A reason the store writes itself, kept as a message of :mod:`qalqan.domain.messages`
    (English text, key and facts), so that the console can say it in the reader's language."""
    values = {name: str(value) for name, value in facts.items()}
    return {"text": render(key, values), "rule": "", "key": key, "facts": values}


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _count_alerts(session: Session, kinds: Iterable[AlertKind], source: str) -> dict[str, int]:
    rows = session.execute(
        select(Alert.kind, func.count())
        .where(Alert.source == source, Alert.kind.in_([k.value for k in kinds]))
        .group_by(Alert.kind)
    ).all()
    counts = {k.value: 0 for k in kinds}
    counts.update({kind: n for kind, n in rows})
    return counts


def _alert_ids(
    session: Session, kind: AlertKind, source: str, refs: Sequence[str]
) -> dict[str, int]:
    ids: dict[str, int] = {}
    for part in _batches(refs, 500):
        for ident, ref in session.execute(
            select(Alert.id, Alert.source_ref).where(
                Alert.kind == kind.value, Alert.source == source, Alert.source_ref.in_(part)
            )
        ):
            ids[ref] = ident
    return ids


def _keep_or_fill(column: str) -> Callable[[Table, Any], Any]:
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
    "caller": _keep_or_fill("caller"),
    "victim_id": _keep_or_fill("victim_id"),
    "category": _category_update,
}
"""What a second ingest of an alert may change: what analysis says, never what people did."""


def _write_alerts(
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
    return _alert_ids(session, kind, source, list(unique))


def _link_alerts(session: Session, links: Iterable[tuple[int, int, str]]) -> None:
    rows = [{"alert_id": a, "entity_id": e, "relation": r} for a, e, r in sorted(set(links))]
    for part in _batches(rows, 2_000):
        insert_new(session, AlertEntity, part, keys=("alert_id", "entity_id", "relation"))


def _link_entities(session: Session, links: Iterable[tuple[int, int, str]]) -> None:
    rows = [{"from_id": a, "to_id": b, "relation": r} for a, b, r in sorted(set(links))]
    for part in _batches(rows, 2_000):
        insert_new(session, EntityLink, part, keys=("from_id", "to_id", "relation"))


def _link_calls_to_campaigns(
    session: Session, source: str, alert_ids: Sequence[int] | None
) -> None:
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
    parts: Iterable[Sequence[int] | None] = (
        [None] if alert_ids is None else _batches(alert_ids, 500)
    )
    for part in parts:
        q = query if part is None else query.where(Alert.id.in_(part))
        statement = (
            dialect_insert(session, AlertEntity)
            .from_select(["alert_id", "entity_id", "relation"], q)
            .on_conflict_do_nothing(index_elements=["alert_id", "entity_id", "relation"])
        )
        session.execute(statement)


def _recount_targets(session: Session, victim_ids: Iterable[int]) -> None:
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
    for part in _batches(ids, 500):
        session.execute(
            update(PotentialVictim)
            .where(PotentialVictim.id.in_(part))
            .values(times_targeted=calls)
            .execution_options(synchronize_session=False)
        )


class _Statistics:
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


# -- decisions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Call:
    """What the data set's cdrs say about one intercepted call."""

    start_time: datetime
    caller: str | None
    callee: str
    ingress: str
    imsi: str | None
    imei: str | None
    cell: str | None
    callee_imsi: str | None


@dataclass(slots=True)
class _DataSetFacts:
    calls: dict[str, _Call] = field(default_factory=dict)
    subscribers: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    """msisdn → (imsi, birth year)."""
    registry: dict[str, str] = field(default_factory=dict)
    """protected number → owner."""
    reported: dict[str, Counter[str]] = field(default_factory=dict)
    """reported number → categories citizens gave."""


def _whole_table(ds: DataSet, name: str, quarantine: Path | None, report: IngestReport) -> pa.Table:
    """A small table of the data set in one piece (empty when absent), its rejected rows counted."""
    if not ds.has(name):
        return ds.read_all(name)
    with ds.read(name, quarantine=quarantine) as reader:
        table = reader.read_all()
    report.note_rejected(reader.report, quarantine)
    return table


def _read_data_set(
    data: Path,
    record_ids: Sequence[str],
    *,
    with_people: bool,
    report: IngestReport,
    quarantine: Path | None,
) -> _DataSetFacts:
    """The cdrs rows of ``record_ids`` (and, for calls to victims, subscribers, registry, reports).

    Every row a table rejects is counted in ``report`` (and kept in ``quarantine``):
    an alert whose CDR was rejected loads without its caller and callee.
    """
    facts = _DataSetFacts()
    if not record_ids:
        return facts
    ds = DataSet.open(data)
    # cells first, read on their own, so that their rejected rows are counted too
    # (cdrs would otherwise read them for their keys alone)
    _whole_table(ds, "cells", quarantine, report)
    wanted = pa.array(sorted(set(record_ids)), pa.string())
    columns = (
        "record_id",
        "start_time",
        "a_number",
        "b_number",
        "ingress",
        "a_imsi",
        "a_imei",
        "a_cell",
        "b_imsi",
    )
    with ds.read("cdrs", quarantine=quarantine) as reader:
        for batch in reader:
            keep = pc.is_in(batch.column("record_id"), value_set=wanted)
            chosen = batch.filter(keep).select(list(columns))
            for row in chosen.to_pylist():
                facts.calls[row["record_id"]] = _Call(
                    start_time=row["start_time"],
                    caller=row["a_number"],
                    callee=row["b_number"],
                    ingress=row["ingress"],
                    imsi=row["a_imsi"],
                    imei=row["a_imei"],
                    cell=row["a_cell"],
                    callee_imsi=row["b_imsi"],
                )
    report.note_rejected(reader.report, quarantine)
    if not with_people:
        return facts
    callees = pa.array(sorted({c.callee for c in facts.calls.values()}), pa.string())
    subscribers = _whole_table(ds, "subscribers", quarantine, report)
    if len(subscribers):
        subscribers = subscribers.filter(pc.is_in(subscribers.column("msisdn"), value_set=callees))
        birth = (
            subscribers.column("birth_year") if "birth_year" in subscribers.column_names else None
        )
        for i, (imsi, msisdn) in enumerate(
            zip(
                subscribers.column("imsi").to_pylist(),
                subscribers.column("msisdn").to_pylist(),
                strict=True,
            )
        ):
            year = None if birth is None else birth[i].as_py()
            facts.subscribers[msisdn] = (imsi, year)
    registry = _whole_table(ds, "registry", quarantine, report)
    facts.registry = dict(
        zip(
            registry.column("number").to_pylist(), registry.column("owner").to_pylist(), strict=True
        )
    )
    reports = _whole_table(ds, "reports", quarantine, report)
    for number, category in zip(
        reports.column("reported_number").to_pylist(),
        reports.column("category").to_pylist(),
        strict=True,
    ):
        if number:
            facts.reported.setdefault(number, Counter())[category] += 1
    return facts


@dataclass(frozen=True, slots=True)
class _Decision:
    record_id: str
    action: str
    score: float
    reasons: str | None
    reason_facts: str | None = None
    """The keys and facts of the reasons (a Qalqan extension of ``decisions``), if written."""


def _said(decision: _Decision) -> list[str | dict[str, object]]:
    """A decision's reasons as the store keeps them (see :func:`_keyed`)."""
    return _keyed(_reasons(decision.reasons), decision.reason_facts)


def _keyed(texts: list[str], cell: str | None) -> list[str | dict[str, object]]:
    """Reasons as the store keeps them: with message keys and facts where the file has them
    (a ``reason_facts`` cell of decisions, calls, sims or farms), as English text alone where
    it does not.

    A cell that is not what Qalqan writes, or does not line up with the
    ``reasons`` text, is not trusted: the English text is kept as it is.
    """
    try:
        keyed = parse_reason_facts(cell)
    except ValueError:
        keyed = []
    if len(keyed) != len(texts):
        return list(texts)
    said: list[str | dict[str, object]] = []
    for sentence, (rule, key, facts) in zip(texts, keyed, strict=True):
        if not sentence.startswith(rule):
            return list(texts)
        said.append({"text": sentence, "rule": rule, "key": key, "facts": facts})
    return said


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
    decision: _Decision, call: _Call | None, facts: _DataSetFacts
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
        _read_data_set(
            data,
            [d.record_id for d in rows],
            with_people=True,
            report=report,
            quarantine=quarantine,
        )
        if data
        else _DataSetFacts()
    )
    before = _count_alerts(session, [AlertKind.INTERCEPTED_CALL], source)
    statistics = _Statistics(session)
    session.commit()
    done = 0
    for batch in _batches(rows, max(1, batch_size)):
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
                "imsi": _keep_or_fill("imsi"),
                "birth_year": _keep_or_fill("birth_year"),
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
                    "reasons": _json(_said(d)),
                    "source_records": _json([d.record_id]),
                    "details": _json({} if call is None else {"ingress": call.ingress}),
                    "occurred_at": now if call is None else call.start_time,
                    "caller": None if call is None else call.caller,
                    "victim_id": None if call is None else victim_ids.get(call.callee),
                }
            )
        alert_ids = _write_alerts(session, AlertKind.INTERCEPTED_CALL, source, alert_rows)
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
            update={"victim_id": _keep_or_fill("victim_id"), "caller": _keep_or_fill("caller")},
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
        _link_alerts(session, [(aid, ids[key], rel) for aid, key, rel in wanted])
        _link_entities(session, [(ids[a], ids[b], rel) for a, b, rel in sim_links])
        _link_calls_to_campaigns(session, source, list(alert_ids.values()))
        _recount_targets(session, victim_ids.values())
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
    after = _count_alerts(session, [AlertKind.INTERCEPTED_CALL], source)
    report.alerts_new = {k: after[k] - before[k] for k in after}
    return report


# -- findings -------------------------------------------------------------------------------


def _split(text: str | None, sep: str = ";") -> list[str]:
    return [p.strip() for p in (text or "").split(sep) if p.strip()]


def _time_of(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


@dataclass(slots=True)
class _Finding:
    """One alert to write with everything it links."""

    kind: AlertKind
    row: dict[str, Any]
    entities: list[tuple[tuple[str, str], str]] = field(default_factory=list)
    """(entity, relation to the alert)."""
    entity_links: list[tuple[tuple[str, str], tuple[str, str], str]] = field(default_factory=list)


def _farm_findings(farms: pa.Table, sims: pa.Table, source: str) -> list[_Finding]:
    members: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for imsi, msisdn, farm_id in zip(
        sims.column("imsi").to_pylist(),
        sims.column("msisdn").to_pylist(),
        sims.column("farm_id").to_pylist(),
        strict=True,
    ):
        if farm_id:
            members[farm_id].append((imsi, msisdn))
    findings = []
    for row in farms.to_pylist():
        farm_id = row["farm_id"]
        farm = (EntityKind.FARM.value, f"{source}/{farm_id}")
        imeis = _split(row.get("imeis"))
        cells = _split(row.get("cells"))
        sites = _split(row.get("sites"))
        severity = _by_count(int(row["n_sims"]), critical=50, high=10)
        size = {"sims": row["n_sims"], "handsets": len(imeis)}
        if row.get("lat") is None or row.get("lon") is None:
            headline = _saying("finding.farm.unplaced", **size)
        else:
            place = {**size, "lat": f"{row['lat']:.5f}", "lon": f"{row['lon']:.5f}"}
            headline = (
                _saying("finding.farm", **place, site=sites[0])
                if sites
                else _saying("finding.farm.no_site", **place)
            )
        reasons: list[str | dict[str, object]] = [headline]
        reasons += _keyed(_split(row.get("reasons"), ";"), row.get("reason_facts"))
        f = _Finding(
            AlertKind.SIM_FARM,
            {
                "source_ref": farm_id,
                "severity": severity.value,
                "severity_rank": severity.rank,
                "score": float(row.get("score") or 1.0),
                "reasons": _json(reasons),
                "source_records": _json([]),
                "details": _json(
                    {
                        "n_sims": row["n_sims"],
                        "lat": row.get("lat"),
                        "lon": row.get("lon"),
                        "sites": sites,
                        "first_seen": row.get("first_seen"),
                        "last_seen": row.get("last_seen"),
                    }
                ),
                "occurred_at": _time_of(row.get("last_seen")),
            },
        )
        f.entities.append((farm, "self"))
        for imei in imeis:
            f.entities.append(((EntityKind.IMEI.value, imei), "handset"))
            f.entity_links.append((farm, (EntityKind.IMEI.value, imei), "handset"))
        for cell in cells:
            f.entities.append(((EntityKind.CELL.value, cell), "cell"))
            f.entity_links.append((farm, (EntityKind.CELL.value, cell), "cell"))
        for imsi, msisdn in members.get(farm_id, []):
            sim = (EntityKind.SIM.value, imsi)
            f.entities.append((sim, "member"))
            f.entity_links.append((farm, sim, "member"))
            if msisdn:
                number = (EntityKind.NUMBER.value, msisdn)
                f.entities.append((number, "member_number"))
                f.entity_links.append((sim, number, "msisdn"))
        findings.append(f)
    return findings


MAX_CAMPAIGN_NUMBERS: Final = 10_000
"""A campaign links at most this many of the numbers it called from (the rest are counted)."""


def _campaign_findings(
    campaigns: pa.Table,
    calls: list[dict[str, Any]],
    facts: _DataSetFacts,
    source: str,
) -> list[_Finding]:
    by_campaign: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in calls:
        if call["campaign_id"]:
            by_campaign[call["campaign_id"]].append(call)
    findings = []
    for row in campaigns.to_pylist():
        cid = row["campaign_id"]
        members = by_campaign.get(cid, [])
        severity = _by_count(int(row["n_victims"]), critical=100, high=20)
        offset = row.get("utc_offset_h")
        farms = _split(row.get("farm_ids"))
        routes = _split(row.get("routes"))
        reasons: list[str | dict[str, object]] = [
            _saying("finding.campaign", calls=f"{row['n_calls']:,}", people=f"{row['n_victims']:,}")
        ]
        if offset is not None:
            reasons.append(_saying("finding.campaign.offset", offset=f"{offset:+g}"))
        if farms:
            key = "finding.campaign.farms" if len(farms) > 1 else "finding.campaign.farm"
            reasons.append(_saying(key, farms=", ".join(farms)))
        if routes:
            reasons.append(_saying("finding.campaign.routes", routes=", ".join(routes)))
        votes = Counter(
            c.value for c in (guess_category(call["reasons"]) for call in members) if c is not None
        )
        numbers = sorted({n for n in (_presented(call, facts) for call in members) if n})
        f = _Finding(
            AlertKind.CAMPAIGN,
            {
                "source_ref": cid,
                "severity": severity.value,
                "severity_rank": severity.rank,
                "score": 1.0,
                "category": votes.most_common(1)[0][0] if votes else ReportCategory.OTHER.value,
                "reasons": _json(reasons),
                "source_records": _json([c["record_id"] for c in members]),
                "details": _json(
                    {
                        "n_calls": row["n_calls"],
                        "n_victims": row["n_victims"],
                        "utc_offset_h": offset,
                        "farm_ids": farms,
                        "routes": routes,
                        "kind": row.get("kind"),
                        "peak_lines": row.get("peak_lines"),
                        "first_seen": row.get("first_seen"),
                        "last_seen": row.get("last_seen"),
                        "calls_by_utc_hour": [int(h) for h in _split(row.get("calls_by_utc_hour"))],
                        "numbers_total": len(numbers),
                    }
                ),
                "occurred_at": _time_of(row.get("last_seen"))
                or max((c["start_time"] for c in members if c["start_time"]), default=None),
            },
        )
        campaign = (EntityKind.CAMPAIGN.value, f"{source}/{cid}")
        f.entities.append((campaign, "self"))
        for farm_id in farms:
            farm = (EntityKind.FARM.value, f"{source}/{farm_id}")
            f.entities.append((farm, "uses_farm"))
            f.entity_links.append((campaign, farm, "uses_farm"))
        for route in routes:
            f.entities.append(((EntityKind.ROUTE.value, route), "uses_route"))
            f.entity_links.append((campaign, (EntityKind.ROUTE.value, route), "uses_route"))
        for number in numbers[:MAX_CAMPAIGN_NUMBERS]:
            f.entities.append(((EntityKind.NUMBER.value, number), "caller"))
        findings.append(f)
    return findings


def _presented(call: dict[str, Any], facts: _DataSetFacts) -> str | None:
    """The caller ID a call presented: from cdrs when known, else the first number its reason names."""
    known = facts.calls.get(call["record_id"])
    if known is not None:
        return known.caller
    match = _NUMBER.search(call["reasons"] or "")
    return match.group(0) if match else None


_WAVE_HEADLINES: Final = {
    (True, True): "finding.wave.campaign.examples",
    (True, False): "finding.wave.campaign",
    (False, True): "finding.wave.route.examples",
    (False, False): "finding.wave.route",
}
"""A wave's headline by (grouped by campaign rather than route, numbers to show as examples)."""


def _wave_findings(
    calls: list[dict[str, Any]], facts: _DataSetFacts, source: str, min_calls: int
) -> list[_Finding]:
    waves: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for call in calls:
        if call["verdict"] != "spoofed":
            continue
        known = facts.calls.get(call["record_id"])
        start = known.start_time if known is not None else call["start_time"]
        ingress = known.ingress if known is not None else call["ingress"]
        group = (
            f"campaign {call['campaign_id']}"
            if call["campaign_id"]
            else f"route {ingress or 'unknown'}"
        )
        rule = (call["reasons"] or "unexplained").split(":", 1)[0].strip()
        day = start.date().isoformat() if start is not None else "unknown day"
        waves[group, rule, day].append(
            {**call, "_start": start, "_ingress": ingress, "_campaign": call["campaign_id"]}
        )
    findings = []
    for (group, rule, day), members in sorted(waves.items()):
        if len(members) < min_calls:
            continue
        numbers = Counter(n for n in (_presented(c, facts) for c in members) if n)
        severity = _by_count(len(members), critical=50, high=10)
        examples = ", ".join(n for n, _ in numbers.most_common(3))
        cells = {c["reasons"]: c.get("reason_facts") for c in members if c["reasons"]}
        distinct = sorted(cells)
        by_campaign = members[0]["_campaign"]
        told: dict[str, object] = {"calls": len(members), "day": day, "numbers": len(numbers)}
        if by_campaign:
            told["campaign"] = by_campaign
        else:
            told["route"] = members[0]["_ingress"] or "unknown"
        if examples:
            told["examples"] = examples
        key = _WAVE_HEADLINES[bool(by_campaign), bool(examples)]
        reasons: list[str | dict[str, object]] = [_saying(key, **told)]
        for sentence in distinct[:5]:
            reasons += _keyed([sentence], cells[sentence])
        campaign_ids = {c["campaign_id"] for c in members if c["campaign_id"]}
        routes = {c["_ingress"] for c in members if c["_ingress"] and ":" in c["_ingress"]}
        category = guess_category(*distinct[:20]) or ReportCategory.OTHER
        f = _Finding(
            AlertKind.SPOOFED_WAVE,
            {
                "source_ref": f"{group}|{rule}|{day}",
                "severity": severity.value,
                "severity_rank": severity.rank,
                "score": 1.0,
                "category": category.value,
                "reasons": _json(reasons),
                "source_records": _json([c["record_id"] for c in members]),
                "details": _json(
                    {
                        "calls": len(members),
                        "rule": rule,
                        "day": day,
                        "group": group,
                        "numbers": len(numbers),
                    }
                ),
                "occurred_at": max((c["_start"] for c in members if c["_start"]), default=None),
            },
        )
        for number in numbers:
            f.entities.append(((EntityKind.NUMBER.value, number), "presented"))
        for cid in campaign_ids:
            f.entities.append(((EntityKind.CAMPAIGN.value, f"{source}/{cid}"), "campaign"))
        for route in routes:
            f.entities.append(((EntityKind.ROUTE.value, route), "route"))
        findings.append(f)
    return findings


def _write_findings(session: Session, findings: Sequence[_Finding], source: str) -> dict[str, int]:
    now = clock_of(session)
    written: dict[str, int] = {}
    for kind in AlertKind:
        group = [f for f in findings if f.kind is kind]
        if not group:
            continue
        for f in group:
            if f.row.get("occurred_at") is None:
                f.row["occurred_at"] = now
        ids = _write_alerts(session, kind, source, [f.row for f in group])
        pairs = [e for f in group for e, _ in f.entities]
        pairs += [p for f in group for link in f.entity_links for p in link[:2]]
        entity = entity_ids(session, pairs)
        _link_alerts(
            session,
            [(ids[f.row["source_ref"]], entity[e], rel) for f in group for e, rel in f.entities],
        )
        _link_entities(
            session, [(entity[a], entity[b], rel) for f in group for a, b, rel in f.entity_links]
        )
        written[kind.value] = len(ids)
    return written


def ingest_findings(
    session: Session,
    out_dir: Path,
    data: Path | None = None,
    *,
    source: str = "default",
    actor: Actor = SYSTEM,
    batch_size: int = DEFAULT_BATCH,
    min_wave_calls: int = 3,
    progress: IngestProgress | None = None,
    quarantine: Path | None = None,
) -> IngestReport:
    """Load a ``qalqan analyze`` output folder: farms, campaigns and spoofed waves as alerts.

    ``calls.csv`` and ``campaigns.csv`` and ``farms.csv`` are required,
    ``sims.csv`` gives a farm its SIMs and numbers. With ``data`` (the data set
    analysed), the numbers each campaign and wave called from come from its
    ``cdrs``. Rejected rows are counted and quarantined as by
    :func:`ingest_decisions`. Permission: ``ingest``.
    """
    actor = authorize(session, actor, Permission.INGEST, f"folder:{out_dir.name}")
    report = IngestReport()
    tables: dict[str, pa.Table] = {}
    for name in ("farms", "sims", "calls", "campaigns"):
        path = find_table(out_dir, name)
        if path is None:
            if name == "sims":
                continue
            raise MissingTableError(name, out_dir)
        with read_file(path, name, quarantine=quarantine) as reader:
            tables[name] = reader.read_all()
        report.note_rejected(reader.report, quarantine)
        report.rows_read += len(tables[name])
    calls_table = tables["calls"]
    calls_table = calls_table.filter(
        pc.is_in(calls_table.column("verdict"), value_set=pa.array(["fraud", "spoofed"]))
    )
    extra_time = "start_time" in calls_table.column_names
    extra_ingress = "ingress" in calls_table.column_names
    calls = [
        {
            "record_id": r["record_id"],
            "verdict": r["verdict"],
            "campaign_id": r["campaign_id"],
            "reasons": r["reasons"],
            "reason_facts": r.get("reason_facts"),
            "start_time": _time_of(r.get("start_time")) if extra_time else None,
            "ingress": r.get("ingress") if extra_ingress else None,
        }
        for r in calls_table.to_pylist()
    ]
    facts = (
        _read_data_set(
            data,
            [c["record_id"] for c in calls],
            with_people=False,
            report=report,
            quarantine=quarantine,
        )
        if data
        else _DataSetFacts()
    )
    sims = tables.get("sims")
    if sims is None:
        sims = pa.table(
            {
                "imsi": pa.array([], pa.string()),
                "msisdn": pa.array([], pa.string()),
                "farm_id": pa.array([], pa.string()),
            }
        )
    findings = (
        _farm_findings(tables["farms"], sims, source)
        + _campaign_findings(tables["campaigns"], calls, facts, source)
        + _wave_findings(calls, facts, source, min_wave_calls)
    )
    kinds = [AlertKind.SIM_FARM, AlertKind.CAMPAIGN, AlertKind.SPOOFED_WAVE]
    before = _count_alerts(session, kinds, source)
    session.commit()
    total = len(calls) + len(findings)
    done = 0

    def acknowledge(what: str, items: int, alerts: int) -> None:
        nonlocal done
        report.batches += 1
        audit.append(
            session,
            actor,
            "ingest_findings",
            f"folder:{out_dir.name}",
            at=clock_of(session),
            details={
                "source": source,
                "batch": report.batches,
                "what": what,
                "items": items,
                "alerts": alerts,
            },
        )
        session.commit()  # acknowledged from here on
        done += items
        if progress is not None:
            progress(done, total)

    size = max(1, batch_size)
    for part in _batches(calls, size):
        upsert(
            session,
            AnalysedCall,
            [
                {
                    "source": source,
                    "record_id": c["record_id"],
                    "verdict": c["verdict"],
                    "campaign_id": c["campaign_id"],
                }
                for c in {c["record_id"]: c for c in part}.values()
            ],
            keys=("source", "record_id"),
            update={"verdict": "excluded", "campaign_id": "excluded"},
        )
        acknowledge("calls", len(part), 0)
    # a farm links all its SIMs: batches of findings are kept small
    for part in _batches(findings, max(1, size // 20)):
        written = _write_findings(session, part, source)
        for kind, n in written.items():
            report._saw(kind, n)
        acknowledge("findings", len(part), sum(written.values()))
    _link_calls_to_campaigns(session, source, None)
    session.commit()
    after = _count_alerts(session, kinds, source)
    report.alerts_new = {k: after[k] - before[k] for k in after}
    return report
