"""The audit log's chain catches an entry edited, deleted, inserted or cut off, at that entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from qalqan.cases.audit import GENESIS, canonical_content, chain_hash, verify_audit
from qalqan.cases.ingest import ingest_decisions
from qalqan.cases.intercepts import alert_view, claim, queue, record_outcome
from qalqan.cases.models import AuditEntry
from qalqan.cases.store import CaseStore
from qalqan.cli.main import app
from tests.cases.conftest import People
from tests.cases.feeds import write_feed


@pytest.fixture
def worked(store: CaseStore, people: People, tmp_path: Path) -> CaseStore:
    """A store with a day's work in its log: ingest, views, a claim, an outcome."""
    feed = write_feed(tmp_path / "f", calls=6)
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
    with store.transaction() as session:
        first = queue(session, people.operator)[0]
        alert_view(session, people.operator, first.alert_id)
        claim(session, people.operator, first.alert_id)
    with store.transaction() as session:
        record_outcome(session, people.operator, first.alert_id, "warned")
    return store


def _tamper(engine: Engine, *statements: str) -> None:
    """What someone with direct database access could do, append-only triggers switched off."""
    with engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            connection.execute(text("ALTER TABLE audit_head DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        for statement in statements:
            connection.execute(text(statement))
        if postgres:
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
            connection.execute(text("ALTER TABLE audit_head ENABLE TRIGGER USER"))


def _report(store: CaseStore) -> object:
    with store.transaction() as session:
        return verify_audit(session)


def test_every_action_and_view_is_on_an_intact_chain(worked: CaseStore) -> None:
    with worked.transaction() as session:
        report = verify_audit(session)
        entries = session.query(AuditEntry).order_by(AuditEntry.seq).all()
    assert report.intact and report.entries == len(entries) == report.head_seq
    assert [e.action for e in entries][-5:] == [
        "ingest_decisions",
        "view_queue",
        "view_alert",
        "claim_alert",
        "record_outcome",
    ]
    prev = GENESIS
    for entry in entries:
        assert entry.prev_hash == prev
        assert entry.entry_hash == chain_hash(prev, canonical_content(entry))
        prev = entry.entry_hash
    assert report.head_hash == prev


def test_an_edited_entry_is_named(worked: CaseStore) -> None:
    _tamper(worked.engine, "UPDATE audit_log SET actor_name = 'bolat' WHERE seq = 8")
    report = _report(worked)
    assert (report.broken_at, report.problem) == (8, "its content was changed after it was written")  # type: ignore[attr-defined]


def test_an_edited_entry_with_its_hash_recomputed_breaks_the_next(worked: CaseStore) -> None:
    with worked.transaction() as session:
        entry = session.get(AuditEntry, 5)
        assert entry is not None
        entry.details = "forged"

        forged = chain_hash(entry.prev_hash, canonical_content(entry))
        session.expunge(entry)
    _tamper(
        worked.engine,
        f"UPDATE audit_log SET details = 'forged', entry_hash = '{forged}' WHERE seq = 5",
    )
    report = _report(worked)
    assert report.broken_at == 6  # type: ignore[attr-defined]
    assert "prev_hash differs" in report.problem  # type: ignore[attr-defined]


def test_a_deleted_entry_is_named(worked: CaseStore) -> None:
    _tamper(worked.engine, "DELETE FROM audit_log WHERE seq = 4")
    report = _report(worked)
    assert (report.broken_at, report.problem) == (4, "entry 4 is missing")  # type: ignore[attr-defined]


def test_an_inserted_entry_is_named(worked: CaseStore) -> None:
    # make room at 3 by moving 3.. up one, as a forger would, then slip an entry in
    _tamper(
        worked.engine,
        "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3",
        "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000",
        "INSERT INTO audit_log (seq, at, actor_id, actor_name, actor_role, action, target, allowed, "
        "details, prev_hash, entry_hash) SELECT 3, at, actor_id, actor_name, actor_role, 'view_alert', "
        "'alert:1', allowed, details, prev_hash, entry_hash FROM audit_log WHERE seq = 2",
    )
    report = _report(worked)
    assert report.broken_at == 3  # type: ignore[attr-defined]


def test_entries_cut_off_the_end_are_noticed(worked: CaseStore) -> None:
    with worked.transaction() as session:
        last = verify_audit(session).head_seq
    _tamper(worked.engine, f"DELETE FROM audit_log WHERE seq >= {last - 1}")
    report = _report(worked)
    assert report.broken_at == last - 1  # type: ignore[attr-defined]
    assert "were removed" in report.problem  # type: ignore[attr-defined]


def test_audit_verify_command_exits_0_then_1_after_tampering(
    worked: CaseStore, store_url: str
) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--db", store_url])
    assert ok.exit_code == 0, ok.output
    assert "audit log intact" in ok.output
    _tamper(worked.engine, "UPDATE audit_log SET target = 'alert:999' WHERE seq = 7")
    broken = runner.invoke(app, ["audit", "verify", "--db", store_url])
    assert broken.exit_code == 1
    assert "audit log broken at entry 7: its content was changed" in broken.output


@pytest.mark.parametrize("seq", [-1, 0])
def test_a_row_numbered_outside_the_chain_is_named(worked: CaseStore, seq: int) -> None:
    """A forged row below 1 is no part of the chain: it must not pass as intact."""
    _tamper(
        worked.engine,
        "INSERT INTO audit_log (seq, at, actor_id, actor_name, actor_role, action, target, allowed, "
        f"details, prev_hash, entry_hash) SELECT {seq}, at, actor_id, actor_name, actor_role, "
        "'view_alert', 'alert:1', allowed, details, prev_hash, entry_hash FROM audit_log WHERE seq = 2",
    )
    report = _report(worked)
    assert not report.intact  # type: ignore[attr-defined]
    assert report.broken_at == seq  # type: ignore[attr-defined]
    assert "outside the chain" in report.problem  # type: ignore[attr-defined]


def test_every_row_is_counted_and_the_count_is_said(worked: CaseStore) -> None:
    with worked.transaction() as session:
        rows = session.query(AuditEntry).count()
        report = verify_audit(session)
    assert report.intact
    assert report.entries == rows == report.head_seq
    assert f"{rows:,} entries" in str(report)


def test_audit_verify_command_fails_on_a_forged_row_below_the_chain(
    worked: CaseStore, store_url: str
) -> None:
    _tamper(
        worked.engine,
        "INSERT INTO audit_log (seq, at, actor_id, actor_name, actor_role, action, target, allowed, "
        "details, prev_hash, entry_hash) SELECT -1, at, actor_id, actor_name, actor_role, "
        "'view_alert', 'alert:1', allowed, details, prev_hash, entry_hash FROM audit_log WHERE seq = 2",
    )
    broken = CliRunner().invoke(app, ["audit", "verify", "--db", store_url])
    assert broken.exit_code == 1, broken.output
    assert "audit log broken at entry -1" in broken.output
