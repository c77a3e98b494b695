"""The console's pages, one module per area; :data:`ROUTES` is all of them and the static files.

========================  ==========================================================
module                    pages
========================  ==========================================================
:mod:`.sign_in`           ``/``, ``/nothing``, ``/login``, ``/logout``, ``/lang``
:mod:`.queue`             ``/queue``; claiming, releasing, handing over an alert
:mod:`.alerts`            ``/alerts/{id}``; outcome, escalation, case, vulnerable
:mod:`.escalations`       ``/escalations``; answering one
:mod:`.cases`             ``/cases``, ``/cases/{id}``; notes, links, closing
:mod:`.evidence`          ``/cases/{id}/evidence``: the case's signed evidence package
:mod:`.findings`          ``/findings`` (with the map)
:mod:`.dashboard`         ``/dashboard``
:mod:`.users`             ``/users``; adding and changing accounts
========================  ==========================================================

Each handler reaches the console's core object with
:func:`qalqan.console.web.console_of` and calls one service of
:mod:`qalqan.cases` per thing it shows or does.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from qalqan.console.routes import (
    alerts,
    cases,
    dashboard,
    escalations,
    evidence,
    findings,
    queue,
    sign_in,
    users,
)

__all__ = ["ROUTES", "STATIC"]

STATIC = Path(__file__).parent.parent / "static"

ROUTES: list[BaseRoute] = [
    *sign_in.routes,
    *queue.routes,
    *alerts.routes,
    *escalations.routes,
    *cases.routes,
    *evidence.routes,
    *findings.routes,
    *dashboard.routes,
    *users.routes,
    Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
]
