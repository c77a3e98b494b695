"""Console fixtures: a small case store with intercepted calls, findings and one account per role.

The data is the case store's own test feed (``tests/cases/feeds.py``), ingested
as the command line would, so that the pages show what operators will see.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from qalqan.cases import CaseStore, ingest_decisions, ingest_findings, upgrade, users
from qalqan.cases.roles import Role
from qalqan.console import create_app
from tests.cases.conftest import (  # noqa: F401 (fixtures, for the PostgreSQL console)
    PASSWORD,
    People,
    make_people,
    postgres_database,
    postgres_url,
)
from tests.cases.feeds import write_feed

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NAMES = {
    Role.OPERATOR: "aigerim",
    Role.SUPERVISOR: "saule",
    Role.PROSECUTOR: "prokuror",
    Role.ANALYST: "daniyar",
    Role.ADMIN: "admin",
}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2 at its lightest: the tests check the flow, not the cost parameters."""
    kept = users._hasher
    users._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    users._hasher = kept


@dataclass(frozen=True, slots=True)
class Console:
    store: CaseStore
    url: str
    people: People

    def client(self, address: str = "testclient") -> TestClient:
        """A browser at ``address`` (the client address the console throttles logins by)."""
        return TestClient(
            create_app(self.url, secret_key="test-secret", store=self.store),
            client=(address, 50000),
        )

    def signed_in(
        self, role: Role, name: str | None = None, address: str = "testclient"
    ) -> Browser:
        client = self.client(address)
        page = client.get("/login")
        page = client.post(
            "/login",
            data={
                "csrf": csrf_of(page.text),
                "username": name or NAMES[role],
                "password": PASSWORD,
            },
        )
        assert page.status_code == 200, page.text
        return Browser(client=client, csrf=csrf_of(page.text))


@dataclass(slots=True)
class Browser:
    """A signed-in client and the CSRF token its pages carry."""

    client: TestClient
    csrf: str

    def post(self, url: str, **data: str) -> httpx.Response:
        return self.client.post(url, data={"csrf": self.csrf, **data})


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def populated_store(
    folder: Path, clock: Callable[[], datetime] | None = None, url: str | None = None
) -> tuple[CaseStore, str, People]:
    """The test feed in a store: an SQLite file in ``folder``, or the database at ``url``."""
    url = url or str(folder / "cases.db")
    upgrade(url)
    store = CaseStore.open(url, clock=clock) if clock else CaseStore.open(url)
    feed = write_feed(folder / "feed")
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
    with store.transaction() as session:
        ingest_findings(session, feed.findings, feed.data)
    return store, url, make_people(store)


CAMPAIGN_HOURS: tuple[int, ...] = (0, 28, 36, 41, 44, 12, 40, 38, 35, 30, 2, 0) + (0,) * 12
"""Calls by UTC hour for the UTC+8 campaign: 01–09 UTC busy, i.e. 09:00–18:00 local, lunch at 13."""


def store_campaign_hours(store: CaseStore, hours: tuple[int, ...] = CAMPAIGN_HOURS) -> int:
    """Give the UTC+8 campaign the hourly activity ``qalqan analyze`` stores (the feed has none).

    Returns the campaign's alert id.
    """
    from sqlalchemy import select

    from qalqan.cases.models import Alert

    with store.transaction() as session:
        for alert in session.scalars(select(Alert).where(Alert.kind == "campaign")):
            details = json.loads(alert.details)
            if details.get("utc_offset_h") == 8.0:
                details["calls_by_utc_hour"] = list(hours)
                alert.details = json.dumps(details)
                return alert.id
    raise AssertionError("the feed has no UTC+8 campaign")


class ShiftClock:
    """Wall-clock time, moved forward by hand: a shift in which minutes pass on demand."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
def clock() -> ShiftClock:
    return ShiftClock()


@pytest.fixture
def console(tmp_path: Path, clock: ShiftClock) -> Iterator[Console]:
    store, url, people = populated_store(tmp_path, clock)
    try:
        yield Console(store=store, url=url, people=people)
    finally:
        store.close()


@pytest.fixture
def pg_console(
    tmp_path: Path, clock: ShiftClock, request: pytest.FixtureRequest
) -> Iterator[Console]:
    """The console's test data on a real PostgreSQL (skipped without one)."""
    database: str = request.getfixturevalue("postgres_url")
    store, url, people = populated_store(tmp_path, clock, url=database)
    try:
        yield Console(store=store, url=url, people=people)
    finally:
        store.close()
