"""Case store fixtures: SQLite files, and a real PostgreSQL when one answers.

PostgreSQL is used when ``QALQAN_TEST_POSTGRES_URL`` names a server, or the
local one answers (TCP on 127.0.0.1, then the Unix socket) with the
``postgres`` superuser. The session creates a fresh database and drops it at
the end; each test gets its own schema in it. Without a server the
PostgreSQL variants are skipped, saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from qalqan.cases import users
from qalqan.cases.roles import SYSTEM, Actor, Role
from qalqan.cases.store import CaseStore, upgrade
from tests.cases.feeds import T0

CANDIDATES = (
    "postgresql+psycopg://postgres@127.0.0.1/test",
    "postgresql+psycopg://postgres@/test?host=/var/run/postgresql",
)
PASSWORD = "a long enough password"


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2 at its lightest: the tests check the flow, not the cost parameters."""
    kept = users._hasher
    users._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    users._hasher = kept


def _answering_server() -> tuple[str | None, str]:
    given = os.environ.get("QALQAN_TEST_POSTGRES_URL")
    candidates = (given,) if given else CANDIDATES
    why = "no PostgreSQL server answered"
    for url in candidates:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return url, ""
        except Exception as exc:
            why = f"no PostgreSQL at {url}: {str(exc).splitlines()[0]}"
        finally:
            engine.dispose()
    return None, why


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for this test session (dropped afterwards); its URL."""
    server, why = _answering_server()
    if server is None:
        pytest.skip(why)
    server = server.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"qalqan_cases_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _with_search_path(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[str]:
    """A schema of its own for one test, in the session's database; dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _with_search_path(postgres_database, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind the case store runs on."""
    if request.param == "sqlite":
        return str(tmp_path / "cases.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0 + timedelta(minutes=30))


def _open(url: str, clock: FrozenClock) -> Iterator[CaseStore]:
    upgrade(url)
    store = CaseStore.open(url, clock=clock)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def store(store_url: str, clock: FrozenClock) -> Iterator[CaseStore]:
    """A migrated store on SQLite and on PostgreSQL, with a frozen clock."""
    yield from _open(store_url, clock)


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: FrozenClock) -> Iterator[CaseStore]:
    """A migrated SQLite store, for behaviour that does not depend on the database."""
    yield from _open(str(tmp_path / "cases.db"), clock)


@dataclass(frozen=True, slots=True)
class People:
    operator: Actor
    operator2: Actor
    supervisor: Actor
    prosecutor: Actor
    analyst: Actor
    admin: Actor

    def by_role(self) -> dict[Role, Actor]:
        return {
            Role.OPERATOR: self.operator,
            Role.SUPERVISOR: self.supervisor,
            Role.PROSECUTOR: self.prosecutor,
            Role.ANALYST: self.analyst,
            Role.ADMIN: self.admin,
        }


def make_people(store: CaseStore) -> People:
    made = {}
    with store.transaction() as session:
        for name, role in (
            ("aigerim", Role.OPERATOR),
            ("bolat", Role.OPERATOR),
            ("saule", Role.SUPERVISOR),
            ("prokuror", Role.PROSECUTOR),
            ("daniyar", Role.ANALYST),
            ("admin", Role.ADMIN),
        ):
            view = users.add_user(session, SYSTEM, name=name, role=role, password=PASSWORD)
            made[name] = Actor(name=view.name, role=view.role, user_id=view.id)
    return People(
        operator=made["aigerim"],
        operator2=made["bolat"],
        supervisor=made["saule"],
        prosecutor=made["prokuror"],
        analyst=made["daniyar"],
        admin=made["admin"],
    )


@pytest.fixture
def people(store: CaseStore) -> People:
    return make_people(store)


@pytest.fixture
def sqlite_people(sqlite_store: CaseStore) -> People:
    return make_people(sqlite_store)
