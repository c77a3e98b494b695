"""Alembic's entry point: run the migrations on the connection ``upgrade()`` hands over.

Qalqan never runs Alembic from an ``alembic.ini``: :func:`qalqan.cases.store.upgrade`
builds the configuration and passes its open connection in ``config.attributes``.
A developer making a new revision does the same (see ``docs/cases.md``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from qalqan.cases.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the case store's migrations through qalqan.cases.store.upgrade()")
_run(connection)
