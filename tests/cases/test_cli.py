"""``qalqan cases …`` and ``qalqan audit verify`` end to end, in-process."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from qalqan.cases.models import Alert, User
from qalqan.cases.store import CaseStore
from qalqan.cli.main import app
from tests.cases.feeds import write_feed

runner = CliRunner()


def test_init_ingest_users_and_verify(tmp_path: Path) -> None:
    db = str(tmp_path / "cases.db")
    feed = write_feed(tmp_path / "feed", calls=10)
    result = runner.invoke(app, ["cases", "init", "--db", db])
    assert result.exit_code == 0, result.output
    assert "case store ready" in result.output
    ingest = [
        "cases", "ingest", "--db", db, "--decisions", str(feed.decisions),
        "--findings", str(feed.findings), "--data", str(feed.data), "--batch-size", "3",
    ]  # fmt: skip
    first = runner.invoke(app, ingest)
    assert first.exit_code == 0, first.output
    assert "intercepted call" in first.output and "10" in first.output
    again = runner.invoke(app, [*ingest, "-q"])
    assert again.exit_code == 0, again.output
    with CaseStore.open(db) as store, store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 10 + 4
    added = runner.invoke(
        app,
        [
            "cases",
            "users",
            "add",
            "--db",
            db,
            "--name",
            "aigerim",
            "--role",
            "operator",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert added.exit_code == 0, added.output
    prompted = runner.invoke(
        app,
        ["cases", "users", "add", "--db", db, "--name", "saule", "--role", "supervisor"],
        input="another long password\nanother long password\n",
    )
    assert prompted.exit_code == 0, prompted.output
    listed = runner.invoke(app, ["cases", "users", "list", "--db", db])
    assert "aigerim" in listed.output and "supervisor" in listed.output
    with CaseStore.open(db) as store, store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 2
    verified = runner.invoke(app, ["audit", "verify", "--db", db])
    assert verified.exit_code == 0, verified.output
    assert "audit log intact" in verified.output


def test_errors_are_one_clear_line(tmp_path: Path) -> None:
    db = str(tmp_path / "cases.db")
    empty = runner.invoke(app, ["audit", "verify", "--db", db])
    assert empty.exit_code == 2
    assert "run `qalqan cases init --db URL` first" in empty.output
    assert "Traceback" not in empty.output
    runner.invoke(app, ["cases", "init", "--db", db])
    short = runner.invoke(
        app,
        ["cases", "users", "add", "--db", db, "--name", "x", "--role", "admin", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    bad_role = runner.invoke(
        app,
        ["cases", "users", "add", "--db", db, "--name", "x", "--role", "boss", "--password-stdin"],
    )
    assert bad_role.exit_code == 2 and "not a role" in bad_role.output
    nothing = runner.invoke(app, ["cases", "ingest", "--db", db])
    assert nothing.exit_code == 2 and "--decisions" in nothing.output
    missing = runner.invoke(
        app, ["cases", "ingest", "--db", db, "--findings", str(tmp_path / "nowhere")]
    )
    assert missing.exit_code == 2 and "is missing" in missing.output
    down = runner.invoke(app, ["cases", "init", "--db", "postgresql://nobody@127.0.0.1:9/none"])
    assert down.exit_code == 2 and "cannot migrate the case store" in down.output
    assert len(down.output.strip().splitlines()) == 1
