"""``qalqan cases …`` and ``qalqan audit verify``: the case store from the command line.

Thin adapters over :mod:`qalqan.cases`: each command opens the store, calls
one library function as the ``system`` actor (whoever runs the machine;
audited under that name), and turns the result into a table, a progress bar
or an exit code. ``--db`` takes an SQLite file path or a ``postgresql://``
URL, or ``QALQAN_CASES_DB`` from the environment, or the ``cases`` table's
``db`` from the settings file.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from qalqan.cli.common import EXIT_BAD_DATA, console, err_console, guarded, progress_bar

if TYPE_CHECKING:
    from qalqan.cases.ingest import IngestReport

__all__ = ["audit_app", "cases_app"]

cases_app = typer.Typer(
    name="cases",
    help="The anti-call-center's case store: set it up, load alerts, manage users.",
    no_args_is_help=True,
    add_completion=False,
)
users_app = typer.Typer(
    name="users", help="Accounts of operators, supervisors, prosecutors, analysts, admins.",
    no_args_is_help=True, add_completion=False,
)  # fmt: skip
cases_app.add_typer(users_app, name="users")
audit_app = typer.Typer(
    name="audit",
    help="The case store's hash-chained audit log.",
    no_args_is_help=True,
    add_completion=False,
)


def _configured_store() -> str:
    """The case store the settings name (the ``[cases]`` table of the settings file), for a
    command given neither ``--db`` nor ``QALQAN_CASES_DB``."""
    from qalqan.cases.store import StoreSettings
    from qalqan.errors import ConfigError

    try:
        db = StoreSettings.from_env().db
    except ConfigError as error:
        raise typer.BadParameter(str(error), param_hint="'--db'") from None
    if db is None:
        raise typer.BadParameter(
            "no case store: give --db, set QALQAN_CASES_DB, or set db in the cases table of "
            "the settings file",
            param_hint="'--db'",
        )
    return db.reveal()


Db = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="QALQAN_CASES_DB",
        default_factory=_configured_store,
        show_default=False,
        help="The case store: an SQLite file path or a postgresql:// URL; default: db in the "
        "cases table of the settings file QALQAN_CONFIG names.",
        show_envvar=True,
    ),
]


@contextmanager
def _database_errors() -> Iterator[None]:
    """A database that goes away mid-command is an unusable input, said in one line."""
    from sqlalchemy.exc import DBAPIError

    from qalqan.cases.errors import StoreUnavailableError

    try:
        yield
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreUnavailableError(f"the case store failed: {first}") from None


@cases_app.command("init")
@guarded
def init_command(db: Db) -> None:
    """Create the case store, or migrate it to this Qalqan's schema (safe to repeat)."""
    from qalqan.cases.store import CaseStore, head_revision, upgrade

    with _database_errors():
        upgrade(db)
        CaseStore.open(db).close()
    console.print(f"case store ready at schema {head_revision()}")


@cases_app.command("ingest")
@guarded
def ingest_command(
    db: Db,
    decisions: Annotated[
        Path | None,
        typer.Option(help="decisions.csv of `qalqan replay` (or the screening nodes)."),
    ] = None,
    findings: Annotated[
        Path | None, typer.Option(help="Output folder of `qalqan analyze`.")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="The data set they were made from: who was called, by which number, the "
            "callee's birth year."
        ),
    ] = None,
    source: Annotated[
        str,
        typer.Option(
            help="Name of the feed (an operator, a day): record, farm and campaign ids are "
            "unique only within it."
        ),
    ] = "default",
    batch_size: Annotated[
        int, typer.Option(min=1, help="Alerts committed together; a crash loses at most one batch.")
    ] = 1000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    quarantine: Annotated[
        Path | None,
        typer.Option(
            help="Folder for rejected input rows, one CSV per table (default: DATA/quarantine, "
            "else FINDINGS/quarantine, else beside the decisions file)."
        ),
    ] = None,
) -> None:
    """Load intercepted calls and findings (farms, campaigns, spoofed waves) as alerts.

    Every decision other than allow is an intercepted call. Running it again adds nothing; a crash loses at most the batch in flight. Input rows that break the exchange contract are left out, counted per file and quarantined (exit code 1).
    """
    from qalqan.cases.ingest import ingest_decisions, ingest_findings
    from qalqan.cases.store import CaseStore

    if decisions is None and findings is None:
        raise typer.BadParameter("give --decisions, --findings or both", param_hint="--decisions")
    if quarantine is None:
        beside = data or findings or (decisions.parent if decisions is not None else Path())
        quarantine = beside / "quarantine"
    reports: list[tuple[str, IngestReport]] = []
    with (
        _database_errors(),
        CaseStore.open(db) as store,
        progress_bar(quiet=quiet, transient=True) as bar,
    ):
        if decisions is not None:
            task = bar.add_task("intercepted calls", total=None)
            with store.transaction() as session:
                reports.append(
                    (
                        "intercepted calls",
                        ingest_decisions(
                            session,
                            decisions,
                            data,
                            source=source,
                            batch_size=batch_size,
                            progress=lambda done, total: bar.update(
                                task, completed=done, total=total
                            ),
                            quarantine=quarantine,
                        ),
                    )
                )
        if findings is not None:
            task = bar.add_task("farms, campaigns, spoofed waves", total=None)
            with store.transaction() as session:
                reports.append(
                    (
                        "findings",
                        ingest_findings(
                            session,
                            findings,
                            data,
                            source=source,
                            batch_size=batch_size,
                            progress=lambda done, total: bar.update(
                                task, completed=done, total=total
                            ),
                            quarantine=quarantine,
                        ),
                    )
                )
    if _said_loaded(reports, source):
        raise typer.Exit(EXIT_BAD_DATA)


def _said_loaded(reports: list[tuple[str, IngestReport]], source: str) -> bool:
    """Print the alerts loaded and, on stderr, every file's rejected rows; True if there were."""
    table = Table(title=f"Alerts loaded (source '{source}')", title_justify="left")
    table.add_column("alerts")
    table.add_column("new", justify="right")
    table.add_column("already there", justify="right")
    for _, report in reports:
        for kind, new in report.alerts_new.items():
            table.add_row(kind.replace("_", " "), f"{new:,}", f"{report.already_there(kind):,}")
    console.print(table)
    # A file read for both (the data set's cdrs) is said once: its last reading.
    rejected = {r.file: r for _, report in reports for r in report.rejected}
    for r in rejected.values():
        kept = f"; they are in {r.quarantine}" if r.quarantine is not None else ""
        noun = "row" if r.rows == 1 else "rows"
        err_console.print(
            f"[yellow]{r.file}: {r.rows:,} {noun} rejected (broke the exchange contract) "
            f"and left out{kept}[/]",
            soft_wrap=True,
        )
    return bool(rejected)


@users_app.command("add")
@guarded
def add_user_command(
    db: Db,
    name: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[str, typer.Option(help="operator, supervisor, prosecutor, analyst or admin.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add an account; the password is asked for (twice), or read from standard input."""
    from qalqan.cases.roles import SYSTEM, Role
    from qalqan.cases.store import CaseStore
    from qalqan.cases.users import add_user

    try:
        chosen = Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise typer.BadParameter(f"'{role}' is not a role ({roles})", param_hint="--role") from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _database_errors(), CaseStore.open(db) as store, store.transaction() as session:
        user = add_user(session, SYSTEM, name=name, role=chosen, password=password)
    console.print(f"user {user.name} added as {user.role.value}")


@users_app.command("list")
@guarded
def list_users_command(db: Db) -> None:
    """List the accounts and their roles."""
    from qalqan.cases.roles import SYSTEM
    from qalqan.cases.store import CaseStore
    from qalqan.cases.users import list_users

    with _database_errors(), CaseStore.open(db) as store, store.transaction() as session:
        users = list_users(session, SYSTEM)
    table = Table(title_justify="left")
    for column in ("name", "role", "active"):
        table.add_column(column)
    for user in users:
        table.add_row(user.name, user.role.value, "yes" if user.active else "no")
    console.print(table)


@audit_app.command("verify")
@guarded
def verify_command(db: Db) -> None:
    """Walk the audit log's hash chain: exit 0 when intact, 1 at the first broken entry."""
    from qalqan.cases.audit import verify_audit
    from qalqan.cases.store import CaseStore

    with _database_errors(), CaseStore.open(db) as store, store.transaction() as session:
        report = verify_audit(session)
    if report.intact:
        console.print(str(report), soft_wrap=True)
        return
    err_console.print(f"[bold red]{report}[/]", soft_wrap=True)
    raise typer.Exit(1)
