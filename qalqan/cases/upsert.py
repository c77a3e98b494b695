"""``INSERT … ON CONFLICT`` on PostgreSQL and SQLite alike: how the store stays free of duplicates.

Both databases speak the same upsert; SQLAlchemy has one ``insert`` per
dialect to say it. Every row the ingest writes has a natural key with a
unique constraint behind it, and goes in through one of these two functions,
so running the same input twice finds the rows already there.

A list of rows goes as one ``executemany``: psycopg pipelines it (one
network round of many statements), sqlite3 runs it in C. (Multi-row
``VALUES`` statements measured slower with psycopg, which re-parses their
thousands of placeholders on every batch.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from qalqan.cases.models import Base, Entity

__all__ = ["dialect_insert", "entity_ids", "insert_new", "upsert"]

Row = Mapping[str, Any]


def dialect_insert(session: Session, model: type[Base] | Table) -> Any:
    """``INSERT`` in the session's dialect, which knows ``ON CONFLICT``."""
    table = _table(model)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the case store does not run on {dialect}")


def _table(model: type[Base] | Table) -> Table:
    table = model if isinstance(model, Table) else model.__table__
    assert isinstance(table, Table)
    return table


def insert_new(
    session: Session, model: type[Base] | Table, rows: Sequence[Row], keys: Sequence[str]
) -> None:
    """Insert rows whose key is not there yet; leave existing rows as they are."""
    if not rows:
        return
    table = _table(model)
    statement = dialect_insert(session, table).on_conflict_do_nothing(index_elements=list(keys))
    session.execute(statement, list(rows))


def upsert(
    session: Session,
    model: type[Base] | Table,
    rows: Sequence[Row],
    keys: Sequence[str],
    update: Mapping[str, Any],
) -> None:
    """Insert rows, or update the listed columns of the row already there (rows' keys must differ).

    ``update`` maps a column to its new value: ``"excluded"`` takes the
    incoming row's value; a callable ``f(table, excluded)`` builds an
    expression from both (to keep an operator's edit, fill only what is empty).
    """
    if not rows:
        return
    table = _table(model)
    insert = dialect_insert(session, table)
    excluded = insert.excluded
    values: dict[str, ColumnElement[Any] | Any] = {}
    for column, how in update.items():
        values[column] = excluded[column] if how == "excluded" else how(table, excluded)
    statement = insert.on_conflict_do_update(index_elements=list(keys), set_=values)
    session.execute(statement, list(rows))


def entity_ids(
    session: Session, pairs: Iterable[tuple[str, str]], *, chunk: int = 500
) -> dict[tuple[str, str], int]:
    """Create the (kind, value) entities not yet known; return every pair's id."""
    wanted = sorted(set(pairs))
    ids: dict[tuple[str, str], int] = {}
    for start in range(0, len(wanted), chunk):
        part = wanted[start : start + chunk]
        insert_new(
            session, Entity, [{"kind": k, "value": v} for k, v in part], keys=("kind", "value")
        )
        found = session.execute(
            Entity.__table__.select()
            .with_only_columns(Entity.id, Entity.kind, Entity.value)
            .where(tuple_(Entity.kind, Entity.value).in_(part))
        )
        for ident, kind, value in found:
            ids[kind, value] = ident
    return ids
