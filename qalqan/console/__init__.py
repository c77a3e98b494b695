"""The anti-call-center's web console: the queue, alerts, escalations, cases, findings.

A thin adapter over :mod:`qalqan.cases` (see :mod:`qalqan.console.app` for why
it is built as it is). Serve it with ``qalqan console --db cases.db``, or build
it in-process for tests::

    app = create_app("cases.db", secret_key="…")
"""

from __future__ import annotations

from qalqan.console.app import create_app

__all__ = ["create_app"]
