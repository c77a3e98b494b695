"""``qalqan console``: the command builds the app over the store and prints the demo accounts."""

from __future__ import annotations

from datetime import timedelta
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


def test_demo_serves_its_console_with_the_console_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``qalqan demo`` reads ``QALQAN_CONSOLE_*`` as ``qalqan console`` does: a set secret keeps
    sessions across a restart, and a set lifetime is the session's."""
    import warnings

    import uvicorn
    from sqlalchemy import select

    from qalqan.cases.models import ConsoleSession
    from qalqan.cli import demo
    from tests.cases.conftest import PASSWORD, make_people
    from tests.console.conftest import csrf_of

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    db = tmp_path / "cases.sqlite"
    upgrade(str(db))
    store = CaseStore.open(str(db))
    make_people(store)
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    monkeypatch.setenv("QALQAN_CONSOLE_SECRET", "the demo's own secret key")
    monkeypatch.setenv("QALQAN_CONSOLE_SESSION_HOURS", "2")
    demo._serve_console(db, 8124)
    demo._serve_console(db, 8124)  # the demo started again
    first, again = served
    try:
        browser = TestClient(first)
        page = browser.post(
            "/login",
            data={"csrf": csrf_of(browser.get("/login").text), "username": "aigerim",
                  "password": PASSWORD},
        )  # fmt: skip
        assert page.status_code == 200 and page.url.path == "/queue"
        after_restart = TestClient(again, cookies=dict(browser.cookies))
        assert after_restart.get("/queue").url.path == "/queue"
        with store.transaction() as session:
            opened = session.scalars(select(ConsoleSession)).one()
            assert opened.expires_at - opened.started_at == timedelta(hours=2)
    finally:
        for app in served:
            app.state.store.close()
        store.close()
