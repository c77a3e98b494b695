"""Alembic migrations of the case store, run by :func:`qalqan.cases.store.upgrade`."""
