"""``qalqan console``: serve the operators' web console over a case store.

A thin adapter: it opens the store (refusing an unmigrated one, with one line
saying to run ``qalqan cases init``), optionally creates the demo accounts and
prints their passwords, and hands :func:`qalqan.console.create_app` to uvicorn.
Its settings come from ``QALQAN_CONSOLE_*`` (:class:`qalqan.console.settings.ConsoleSettings`).
The session key comes from ``QALQAN_CONSOLE_SECRET``; without it a random key
is made, so sessions end when the server restarts (fine for a demo, not for a
shift: set the variable in production).
"""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from rich.table import Table

from qalqan.cli.cases import Db
from qalqan.cli.common import console, guarded

__all__ = ["console_command"]


@guarded
def console_command(
    db: Db,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    demo_users: Annotated[
        bool,
        typer.Option(
            "--demo-users",
            help="Create (or reset) one account per role with fresh passwords, and print them.",
        ),
    ] = False,
    https_only: Annotated[
        bool, typer.Option("--https-only", help="Send the session cookie over HTTPS only.")
    ] = False,
) -> None:
    """Serve the operators' console: queue, alerts, escalations, cases, findings."""
    import uvicorn

    from qalqan.cases.store import CaseStore
    from qalqan.console import create_app
    from qalqan.console.demo import create_demo_users
    from qalqan.console.settings import ConsoleSettings

    settings = ConsoleSettings.from_env()
    store = CaseStore.open(db)
    if demo_users:
        table = Table(title="Demo accounts (new passwords each run)", title_justify="left")
        for column in ("name", "role", "password"):
            table.add_column(column)
        for user in create_demo_users(store):
            table.add_row(user.name, user.role.value, user.password)
        console.print(table)
    secret = settings.secret.reveal() if settings.secret else secrets.token_urlsafe(32)
    app = create_app(db, secret_key=secret, store=store, https_only=https_only, settings=settings)
    console.print(f"console at http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning")
