"""Escalations to the prosecutor: ``/escalations`` (waiting, oldest first, then answered, newest
first) and answering one (``/escalations/{id}/answer``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qalqan import cases
from qalqan.console.forms import path_id, posted, text
from qalqan.console.web import console_of, flash, redirect

__all__ = ["routes"]


async def escalations_page(request: Request) -> Response:
    console = console_of(request)
    found = await console.run(request, cases.escalations, status=None)
    waiting = [e for e in found if e.status == "open"]  # oldest first: answer in turn
    answered = sorted(
        (e for e in found if e.status != "open"),
        key=lambda e: e.responded_at or e.raised_at,
        reverse=True,
    )
    return console.render(request, "escalations.html", waiting=waiting, answered=answered)


async def answer(request: Request) -> Response:
    form = await posted(request)
    await console_of(request).run(
        request,
        cases.answer_escalation,
        path_id(request, "escalation_id"),
        accept=text(form, "decision") == "accept",
        response=text(form, "response"),
    )
    flash(request, "answered")
    return redirect("/escalations")


routes = [
    Route("/escalations", escalations_page),
    Route("/escalations/{escalation_id:int}/answer", answer, methods=["POST"]),
]
