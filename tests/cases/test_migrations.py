"""The schema comes from the shipped migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from qalqan.cases.errors import StoreUnavailableError
from qalqan.cases.models import Base
from qalqan.cases.roles import SYSTEM
from qalqan.cases.store import CaseStore, downgrade, head_revision, make_engine, upgrade
from qalqan.cases.users import add_user
from tests.cases.conftest import PASSWORD


def test_migrations_build_every_table_from_empty_and_match_the_models(store_url: str) -> None:
    with pytest.raises(StoreUnavailableError, match="qalqan cases init"):
        CaseStore.open(store_url)
    upgrade(store_url)
    upgrade(store_url)  # a second run changes nothing
    engine = make_engine(store_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
            )
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()
    store = CaseStore.open(store_url)
    store.close()


def test_downgrade_removes_everything_and_upgrade_rebuilds_it(store_url: str) -> None:
    upgrade(store_url)
    downgrade(store_url)
    engine = make_engine(store_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(store_url)
    with CaseStore.open(store_url) as store, store.transaction() as session:
        add_user(session, SYSTEM, name="anna", role="operator", password=PASSWORD)  # type: ignore[arg-type]


def test_the_database_refuses_to_change_or_delete_audit_entries(store_url: str) -> None:
    upgrade(store_url)
    store = CaseStore.open(store_url)
    with store.transaction() as session:
        add_user(session, SYSTEM, name="anna", role="operator", password=PASSWORD)  # type: ignore[arg-type]
    for statement in ("UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.transaction() as session:
            session.execute(text(statement))
    with pytest.raises(DBAPIError, match="append-only"), store.transaction() as session:
        session.execute(text("DELETE FROM audit_head"))
    store.close()


def test_a_store_at_another_revision_is_refused(tmp_path: object) -> None:
    url = f"{tmp_path}/old.db"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'elsewhere'"))
    engine.dispose()
    with pytest.raises(StoreUnavailableError, match=head_revision()):
        CaseStore.open(url)
