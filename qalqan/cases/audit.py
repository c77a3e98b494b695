"""The append-only audit log: every view of personal data and every action, hash-chained.

Prosecutors must be able to trust that the log says who looked at whose
number and who did what, and that nobody quietly edited it afterwards. So:

- each entry is written in the same transaction as the action it records
  (no action without its entry, no entry for an action rolled back); a
  refused attempt is recorded too (``allowed`` false);
- entries are numbered ``1, 2, 3 …`` (``seq``) and each stores
  ``entry_hash = SHA-256(prev_hash + canonical content)``, where the content
  is the entry's own fields as canonical JSON (sorted keys, UTC times with
  microseconds) and ``prev_hash`` is the previous entry's hash (64 zeros for
  the first). Editing, deleting or inserting an entry breaks the chain at
  that entry; :func:`verify_audit` reads every row, whatever its number, and
  names the first one broken (a row numbered below 1 is outside the chain);
- the ``audit_head`` row holds the last number and hash; appends lock it
  first (``UPDATE … RETURNING``), which orders concurrent writers on
  PostgreSQL and SQLite alike, and makes cutting entries off the end visible;
- the database itself refuses ``UPDATE`` and ``DELETE`` on ``audit_log``
  (triggers installed by the migration) — the chain is what still catches
  someone who disables them.

A chain proves the log is intact only back to its head: someone able to
rewrite the whole table and recompute every hash would go unnoticed. Write
the head (``qalqan audit verify`` prints it) somewhere else from time to time
— a shift report, a message to the prosecutor — and compare.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qalqan.cases.clock import clock_of
from qalqan.cases.errors import StoreUnavailableError
from qalqan.cases.models import AuditEntry, AuditHead
from qalqan.cases.roles import Actor, Permission, authorize

__all__ = [
    "GENESIS",
    "AuditReport",
    "append",
    "canonical_content",
    "chain_hash",
    "check_audit",
    "verify_audit",
]

GENESIS: Final = "0" * 64
"""The ``prev_hash`` of the first entry."""


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_content(entry: AuditEntry) -> str:
    """The entry's own fields as one canonical JSON text: what its hash covers."""
    return json.dumps(
        {
            "seq": entry.seq,
            "at": _time(entry.at),
            "actor_id": entry.actor_id,
            "actor_name": entry.actor_name,
            "actor_role": entry.actor_role,
            "action": entry.action,
            "target": entry.target,
            "allowed": bool(entry.allowed),
            "details": entry.details,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def chain_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def _details(details: Mapping[str, Any] | None) -> str:
    return json.dumps(
        dict(details or {}), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def append(
    session: Session,
    actor: Actor,
    action: str,
    target: str,
    *,
    at: datetime,
    details: Mapping[str, Any] | None = None,
    allowed: bool = True,
) -> AuditEntry:
    """Add one entry at the end of the chain, in the session's transaction.

    Call it last in a transaction: it locks the head row until commit, so
    every other writer of the log waits for this transaction to end.
    """
    head = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.last_hash)
    ).one_or_none()
    if head is None:
        raise StoreUnavailableError(
            "the audit log has no head row: this database was not set up by "
            "`qalqan cases init` (or the row was deleted)"
        )
    seq, prev = head.seq, head.last_hash
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor_id=actor.user_id,
        actor_name=actor.name,
        actor_role=actor.role.value,
        action=action,
        target=target,
        allowed=allowed,
        details=_details(details),
        prev_hash=prev,
        entry_hash="",
    )
    entry.entry_hash = chain_hash(prev, canonical_content(entry))
    session.add(entry)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=entry.entry_hash))
    session.flush()
    return entry


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    """The result of walking the chain: intact, or where and how it first breaks."""

    entries: int
    """Rows read and verified (every row of the table when intact)."""
    head_seq: int
    head_hash: str
    """The last entry's hash: write it down elsewhere to anchor the chain."""
    broken_at: int | None = None
    """``seq`` of the first entry that does not fit (None when intact)."""
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None

    def __str__(self) -> str:
        if self.intact:
            return (
                f"audit log intact: {self.entries:,} entries, head {self.head_seq} {self.head_hash}"
            )
        return (
            f"audit log broken at entry {self.broken_at}: {self.problem} "
            f"({self.entries:,} entries read)"
        )


def verify_audit(session: Session, *, chunk: int = 5_000) -> AuditReport:
    """Walk every row of the log in order and report the first one that does not fit.

    Every row is read, whatever its number: a row numbered below 1 is outside
    the chain and breaks it (the chain starts at 1), as does any row the walk
    did not reach (the count of rows read must equal the table's). Checks,
    row by row: numbers follow on from 1 without gaps or repeats (a deleted
    entry leaves a gap), ``prev_hash`` is the previous entry's hash, and the
    stored hash is the hash of the entry's content (an edited field changes
    it). Then the head must point at the last entry (entries cut off the end).
    """
    head = session.get(AuditHead, 1)
    rows_in_table, lowest = session.execute(
        select(func.count(), func.min(AuditEntry.seq)).select_from(AuditEntry)
    ).one()
    expected_seq, prev, count = 1, GENESIS, 0
    last_seq = min(0, lowest if lowest is not None else 0) - 1
    while True:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(chunk)
        ).all()
        if not rows:
            break
        for entry in rows:
            count += 1
            if entry.seq < 1:
                return _broken(
                    count, head, entry.seq, "this row is outside the chain (entries start at 1)"
                )
            if entry.seq != expected_seq:
                where = expected_seq if entry.seq > expected_seq else entry.seq
                what = (
                    f"entries {expected_seq}–{entry.seq - 1} are missing"
                    if entry.seq > expected_seq + 1
                    else f"entry {expected_seq} is missing"
                    if entry.seq > expected_seq
                    else "numbered twice or out of order"
                )
                return _broken(count, head, where, what)
            if entry.prev_hash != prev:
                return _broken(
                    count,
                    head,
                    entry.seq,
                    "does not follow the entry before it (its prev_hash differs: "
                    "an entry was inserted, deleted or rewritten before it)",
                )
            if chain_hash(prev, canonical_content(entry)) != entry.entry_hash:
                return _broken(
                    count, head, entry.seq, "its content was changed after it was written"
                )
            prev = entry.entry_hash
            expected_seq += 1
            last_seq = entry.seq
            session.expunge(entry)  # keep memory flat on a long log
    last = expected_seq - 1
    if count != rows_in_table:
        return _broken(
            count,
            head,
            last + 1,
            f"the table holds {rows_in_table:,} rows but {count:,} are on the chain",
        )
    if head is None:
        return _broken(count, head, last + 1, "the log's head row is missing")
    if head.seq != last or head.last_hash != prev:
        if head.seq > last:
            return _broken(
                count,
                head,
                last + 1,
                f"the log ends at entry {last} but {head.seq} were written: "
                f"entries {last + 1}–{head.seq} were removed",
            )
        return _broken(count, head, last, "the head does not point at the last entry")
    return AuditReport(entries=count, head_seq=head.seq, head_hash=head.last_hash)


def _broken(count: int, head: AuditHead | None, seq: int, problem: str) -> AuditReport:
    return AuditReport(
        entries=count,
        head_seq=0 if head is None else head.seq,
        head_hash=GENESIS if head is None else head.last_hash,
        broken_at=seq,
        problem=problem,
    )


def check_audit(session: Session, actor: Actor) -> AuditReport:
    """Verify the chain for someone in the console, and record that they did.

    Permission: ``verify_audit``. (:func:`verify_audit` itself only reads, so
    it can run on a read-only replica.)
    """
    actor = authorize(session, actor, Permission.VERIFY_AUDIT, "audit_log")
    report = verify_audit(session)
    append(
        session,
        actor,
        "verify_audit",
        "audit_log",
        at=clock_of(session),
        details={"intact": report.intact, "broken_at": report.broken_at, "head": report.head_seq},
    )
    return report
