"""Public application fixtures: the case store's test feed in a store, and the app over it.

The feed (``tests/cases/feeds.py``) has a SIM farm whose three SIMs call for the
campaign C0001 and spoofed calls presenting the National Bank's hotline for
C0002, both seen minutes before the frozen clock: live campaigns.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qalqan.cases import CaseStore, ingest_decisions, ingest_findings
from qalqan.public import PublicFace, PublicSettings, create_app
from qalqan.public.shared import SharedStore
from qalqan.screening.network import ProtectedNumbers
from tests.cases.conftest import (  # noqa: F401 (fixtures: both databases, a frozen clock)
    FrozenClock,
    clock,
    postgres_database,
    postgres_url,
    store,
    store_url,
)
from tests.cases.feeds import write_feed
from tests.screening.conftest import RedisServer, redis_server  # noqa: F401 (a Redis of its own)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

FAST = PublicSettings(pow_difficulty=8)
#: The error a report spending a challenge spent before gets.
REPLAYED = {"status": 403, "code": "proof_of_work", "message": "replayed", "field": "solution"}
"""A cheap proof of work: the tests check the protocol, not the cost."""


def fill(store: CaseStore, folder: Path) -> CaseStore:  # noqa: F811
    feed = write_feed(folder / "feed")
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
    with store.transaction() as session:
        ingest_findings(session, feed.findings, feed.data)
    return store


@pytest.fixture
def fed(store: CaseStore, tmp_path: Path) -> CaseStore:  # noqa: F811
    """The test feed in a migrated store, on SQLite and on PostgreSQL."""
    return fill(store, tmp_path)


@pytest.fixture
def fed_sqlite(tmp_path: Path, clock: FrozenClock) -> Iterator[CaseStore]:  # noqa: F811
    from qalqan.cases import upgrade

    url = str(tmp_path / "cases.db")
    upgrade(url)
    opened = CaseStore.open(url, clock=clock)
    try:
        yield fill(opened, tmp_path)
    finally:
        opened.close()


def client_for(face: PublicFace, address: str = "203.0.113.7") -> TestClient:
    return TestClient(create_app(store=face.store, face=face), client=(address, 50000))


def face_over(
    store: CaseStore,  # noqa: F811
    settings: PublicSettings = FAST,
    registry: ProtectedNumbers | None = None,
    shared: SharedStore | None = None,
) -> PublicFace:
    return PublicFace(
        store=store,
        registry=registry or ProtectedNumbers(),
        settings=settings,
        secret=b"k" * 32,
        shared=shared,
    )


@pytest.fixture
def workers(
    fed_sqlite: CaseStore,
    redis_server: RedisServer,  # noqa: F811
) -> Iterator[Callable[..., tuple[PublicFace, PublicFace]]]:
    """Two workers' faces over one store, sharing the test's own Redis, with ``settings`` and
    the longest wait for Redis and the pause after it failed."""
    made: list[PublicFace] = []

    def make(
        settings: PublicSettings = FAST, *, timeout_s: float = 0.1, retry_s: float = 1.0
    ) -> tuple[PublicFace, PublicFace]:
        for _ in range(2):
            shared = SharedStore(redis_server.url, timeout_s=timeout_s, retry_s=retry_s)
            made.append(face_over(fed_sqlite, settings, shared=shared))
        return made[-2], made[-1]

    yield make
    for face in made:
        if face.metrics.shared is not None:
            face.metrics.shared.stop()
