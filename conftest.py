"""Collection for the whole repository: ``pytest`` runs the tests and the package's docstring examples.

The Alembic migrations are left out: they run only inside Alembic, which sets up their context.
"""

collect_ignore = ["qalqan/cases/migrations"]
