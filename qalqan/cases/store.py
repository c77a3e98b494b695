"""Opening the case store: one object the console and the CLI share.

    store = CaseStore.open("cases.db")                    # an SQLite file (the default)
    store = CaseStore.open("postgresql://qalqan@db/qalqan")
    store.upgrade()                                       # Alembic migrations, shipped in the package
    with store.transaction() as session:
        items = queue(session, actor)

**One transaction per action.** :meth:`CaseStore.transaction` is the unit of
work: it commits when the block ends and rolls back on any error. When the
error is a :class:`~qalqan.cases.errors.PermissionDenied`, the refused attempt
is then written to the audit log in a transaction of its own, so a refusal
is recorded even though the action was not.

**SQLite** is the default for one machine: the file is opened in WAL mode
with foreign keys on, and every transaction starts with ``BEGIN IMMEDIATE``,
so two writers queue up (for up to ``busy_timeout``) instead of failing
half-way. **PostgreSQL** is for production: ``postgresql://`` URLs use the
psycopg 3 driver.

The clock and the workflow settings travel with the session
(:func:`clock_of`, :func:`settings_of`), so service functions keep short
signatures and tests can freeze time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from qalqan import config
from qalqan.cases import audit
from qalqan.cases.clock import CLOCK_KEY, Clock, clock_of, utc_now
from qalqan.cases.errors import PermissionDenied, StoreUnavailableError
from qalqan.cases.roles import Actor, Role
from qalqan.config import Secret
from qalqan.errors import ConfigError

__all__ = [
    "DEFAULT_SETTINGS",
    "CaseStore",
    "Clock",
    "StoreSettings",
    "WorkflowSettings",
    "clock_of",
    "make_engine",
    "normalise_url",
    "settings_of",
    "upgrade",
]

MIGRATIONS: Final = Path(__file__).with_name("migrations")


def _about(name: str, help: str) -> dict[str, Any]:
    return config.setting(f"QALQAN_WORKFLOW_{name.upper()}", help)


@config.part("workflow", prefix="QALQAN_WORKFLOW_", title="workflow settings")
@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowSettings:
    """The anti-call-center's service levels and how the queue judges urgency: the
    ``[workflow]`` table, ``QALQAN_WORKFLOW_*``."""

    claim_ttl: timedelta = field(
        default=timedelta(minutes=15),
        metadata=_about(
            "claim_ttl",
            "A claim lapses after this long without an outcome; the call goes back to the queue "
            "(a duration: 90s, 15m, 2h).",
        ),
    )
    claim_within: timedelta = field(
        default=timedelta(minutes=5),
        metadata=_about(
            "claim_within",
            "Service level: an intercepted call should be claimed this soon after it reached "
            "the store.",
        ),
    )
    contact_within: timedelta = field(
        default=timedelta(minutes=15),
        metadata=_about(
            "contact_within",
            "Service level: the potential victim should be spoken to this soon after the call "
            "reached the store.",
        ),
    )
    in_progress_within: timedelta = field(
        default=timedelta(minutes=10),
        metadata=_about(
            "in_progress_within",
            "A call placed this recently may still be going on (or the victim about to act): "
            "it comes first in the queue.",
        ),
    )
    vulnerable_age: int = field(
        default=65,
        metadata=_about(
            "vulnerable_age",
            "Subscribers this old or older (from the birth year) are called back first.",
        ),
    )
    repeat_target_calls: int = field(
        default=2,
        metadata=_about(
            "repeat_target_calls",
            "A subscriber with this many intercepted calls or more is a repeat target.",
        ),
    )
    center_name: str = field(
        default="",
        metadata=_about(
            "center_name",
            "The anti-call-center's name in the call-back scripts; empty: each language's default.",
        ),
    )

    def __post_init__(self) -> None:
        problems = [
            f"{f.metadata['env']}={config.shown_value(getattr(self, f.name))} must be above 0"
            for f in fields(self)
            if f.name != "center_name" and not _above_zero(getattr(self, f.name))
        ]
        if problems:
            raise ConfigError("workflow settings: " + "; ".join(problems))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkflowSettings:
        """Settings from the file ``QALQAN_CONFIG`` names (its ``[workflow]`` table), then
        ``QALQAN_WORKFLOW_*`` variables; every mistake named in one ConfigError."""
        return config.from_env(cls, environ)


def _above_zero(value: timedelta | int) -> bool:
    return value > timedelta(0) if isinstance(value, timedelta) else value > 0


@config.part("cases", prefix="QALQAN_CASES_", title="case store settings")
@dataclass(frozen=True, slots=True, kw_only=True)
class StoreSettings:
    """Which case store the commands open: the ``[cases]`` table, ``QALQAN_CASES_DB``."""

    db: Secret | None = field(
        default=None,
        metadata=config.setting(
            "QALQAN_CASES_DB",
            "The case store of qalqan cases, audit and console when --db is not given: an "
            "SQLite file path or a postgresql:// URL (never printed: it may hold a password).",
            secret=True,
        ),
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StoreSettings:
        """Settings from the file ``QALQAN_CONFIG`` names (its ``[cases]`` table), then
        ``QALQAN_CASES_DB``."""
        return config.from_env(cls, environ)


DEFAULT_SETTINGS: Final = WorkflowSettings()

_SETTINGS_KEY: Final = "qalqan.settings"


def settings_of(session: Session) -> WorkflowSettings:
    settings: WorkflowSettings = session.info.get(_SETTINGS_KEY, DEFAULT_SETTINGS)
    return settings


def normalise_url(url: str | Path) -> str:
    """A database URL from what a person types: a file path means SQLite; ``postgresql://`` means psycopg 3."""
    text = str(url)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser()}"
    for prefix in ("postgresql://", "postgres://"):
        if text.startswith(prefix):
            return "postgresql+psycopg://" + text[len(prefix) :]
    return text


def _first_line(exc: OperationalError) -> str:
    text = str(exc.orig if exc.orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | Path, **options: Any) -> Engine:
    """An engine for the case store, set up for its dialect."""
    text = normalise_url(url)
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise StoreUnavailableError(
            f"'{url}' is not a database URL or a file path: {exc}"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            if not folder.is_dir():
                raise StoreUnavailableError(f"{folder}: there is no such folder for the case store")
        engine = create_engine(parsed, **options)
        _sqlite_setup(engine)
        return engine
    if backend == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, **options)
    raise StoreUnavailableError(
        f"'{parsed.render_as_string(hide_password=True)}': the case store runs on SQLite or "
        "PostgreSQL only"
    )


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(url: str | Path | Engine, revision: str = "head") -> None:
    """Bring the database's schema up to ``revision`` (the newest by default); safe to repeat."""
    from alembic import command

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), revision)
    except OperationalError as exc:
        raise StoreUnavailableError(f"cannot migrate the case store: {_first_line(exc)}") from None
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def downgrade(url: str | Path | Engine, revision: str = "base") -> None:
    """Take the schema back to ``revision`` (everything dropped at ``base``): for tests and rollbacks."""
    from alembic import command

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(_alembic_config(connection), revision)
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


class CaseStore:
    """The case store: an engine, a clock and the workflow settings.

    Build it with :meth:`open`; use :meth:`transaction` for every action.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = utc_now,
        settings: WorkflowSettings = DEFAULT_SETTINGS,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(
        cls,
        url: str | Path,
        *,
        clock: Clock = utc_now,
        settings: WorkflowSettings | None = None,
        check_schema: bool = True,
    ) -> CaseStore:
        """Open a store; unless told not to, refuse one whose schema is not the newest.

        Without ``settings``, the workflow settings are those of the settings file
        and the environment (:meth:`WorkflowSettings.from_env`), so that every
        command that opens the store (the console, ``qalqan cases``, the demo)
        works to the same service levels.
        """
        if settings is None:
            settings = WorkflowSettings.from_env()
        engine = make_engine(url)
        store = cls(engine, clock=clock, settings=settings)
        if check_schema:
            store.check_schema()
        return store

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self) -> None:
        upgrade(self.engine)

    def check_schema(self) -> None:
        """Raise :class:`StoreUnavailableError` when the database cannot be reached or is not migrated."""
        try:
            revision = current_revision(self.engine)
        except OperationalError as exc:
            raise StoreUnavailableError(f"cannot open the case store: {_first_line(exc)}") from None
        if revision is None and not inspect(self.engine).has_table("alembic_version"):
            raise StoreUnavailableError(
                "the case store is empty: run `qalqan cases init --db URL` first"
            )
        if revision != head_revision():
            raise StoreUnavailableError(
                f"the case store's schema is at {revision}, this Qalqan needs {head_revision()}: "
                "run `qalqan cases init --db URL` to migrate it"
            )

    def session(self) -> Session:
        """A bare session with this store's clock and settings (the caller commits)."""
        session = self._sessions()
        session.info[CLOCK_KEY] = self.clock
        session.info[_SETTINGS_KEY] = self.settings
        return session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One action: commit at the end, roll back on error, audit a refusal on its own."""
        session = self.session()
        try:
            yield session
            session.commit()
        except PermissionDenied as denied:
            session.rollback()
            self._audit_refusal(denied)
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _audit_refusal(self, denied: PermissionDenied) -> None:
        with self.session() as session:
            audit.append(
                session,
                Actor(name=denied.actor, role=Role(denied.role), user_id=denied.user_id),
                denied.action,
                denied.target,
                at=clock_of(session),
                details={"refused": str(denied)},
                allowed=False,
            )
            session.commit()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
