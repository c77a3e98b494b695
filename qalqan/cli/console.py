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
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from qalqan.cli.cases import Db
from qalqan.cli.common import console, guarded

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from qalqan.cases.store import CaseStore

__all__ = ["console_app", "console_command"]


def console_app(db: str, *, store: CaseStore | None = None, https_only: bool = False) -> Starlette:
    """The console over the store at ``db``, with the settings read from ``QALQAN_CONSOLE_*``.

    Every command that serves the console (``qalqan console``, ``qalqan demo``)
    builds it here, so that a secret or a session lifetime set for one is set
    for the other. Without ``QALQAN_CONSOLE_SECRET`` the key is random.
    """
    from qalqan.console import create_app
    from qalqan.console.settings import ConsoleSettings

    settings = ConsoleSettings.from_env()
    secret = settings.secret.reveal() if settings.secret else secrets.token_urlsafe(32)
    return create_app(db, secret_key=secret, store=store, https_only=https_only, settings=settings)


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
    from qalqan.console.demo import create_demo_users
    from qalqan.console.settings import ConsoleSettings

    ConsoleSettings.from_env()  # a mistake in the settings stops the command before anything else
    store = CaseStore.open(db)
    if demo_users:
        table = Table(title="Demo accounts (new passwords each run)", title_justify="left")
        for column in ("name", "role", "password"):
            table.add_column(column)
        for user in create_demo_users(store):
            table.add_row(user.name, user.role.value, user.password)
        console.print(table)
    app = console_app(db, store=store, https_only=https_only)
    console.print(f"console at http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning")
