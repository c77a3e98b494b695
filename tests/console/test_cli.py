"""``qalqan console``: the command builds the app over the store and prints the demo accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qalqan.cases import CaseStore, login, upgrade
from qalqan.cli.main import app


def test_console_serves_the_store_and_prints_demo_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    db = str(tmp_path / "cases.db")
    upgrade(db)
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    result = CliRunner().invoke(
        app, ["console", "--db", db, "--port", "8123", "--demo-users"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert served["port"] == 8123 and served["host"] == "127.0.0.1"
    line = next(row for row in result.output.splitlines() if "prokuror" in row)
    password = line.split()[-2] if line.rstrip().endswith("│") else line.split()[-1]
    store = CaseStore.open(db)
    try:
        with store.transaction() as session:
            assert login(session, "prokuror", password).role.value == "prosecutor"
    finally:
        store.close()


def test_console_refuses_an_unmigrated_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["console", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert "error" in result.output
