"""One alert and what is done with it: ``/alerts/{id}``, and its outcome, escalation, a case
opened on it and the victim marked vulnerable (``/outcome``, ``/escalate``, ``/case``,
``/vulnerable``).

An intercepted call shows the call-back script in the reader's language to
those who may read it; a campaign shows its working hours. Losses are typed in
the operator's currency: when none is known, an amount is refused with a message
rather than counted in another country's money.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qalqan import cases
from qalqan.cases.roles import Permission, may
from qalqan.console.formats import campaign
from qalqan.console.forms import amount, path_id, posted, text
from qalqan.console.routes.money import campaign_money
from qalqan.console.web import console_of, flash, lang_of, redirect, signed_in_actor

__all__ = ["OUTCOMES", "routes"]

OUTCOMES: Final[tuple[str, ...]] = (
    "warned",
    "reached",
    "already_paid",
    "not_reachable",
    "false_alarm",
)
"""In the order the form offers them: the commonest good result first."""


async def alert_page(request: Request) -> Response:
    console = console_of(request)
    alert_id = path_id(request, "alert_id")
    alert = await console.run(request, cases.alert_view, alert_id)
    actor = signed_in_actor(request)
    lang = lang_of(request)
    script = None
    if alert.kind == "intercepted_call" and may(actor.role, Permission.READ_SCRIPT):
        script = await console.run(request, cases.callback_script, alert_id, lang)
    hours = campaign(alert.details, lang) if alert.kind == "campaign" else None
    hands = []
    if (
        alert.kind == "intercepted_call"
        and alert.status != "done"
        and may(actor.role, Permission.REASSIGN_ALERT)
    ):
        hands = await console.run(request, cases.workers)
    return console.render(
        request,
        "alert.html",
        currency=await console.currency() or "?",
        alert=alert,
        script=script,
        # a call already dealt with is nobody's to work, whoever last held it
        mine=alert.claimed_by == actor.name and alert.status == "claimed",
        outcomes=OUTCOMES,
        error=request.query_params.get("error"),
        campaign=hours,
        hands=hands,
        money=await campaign_money(request, alert_id) if alert.kind == "campaign" else None,
    )


async def outcome(request: Request) -> Response:
    console = console_of(request)
    form = await posted(request)
    alert_id = path_id(request, "alert_id")
    chosen = text(form, "outcome")
    if chosen not in OUTCOMES:
        flash(request, "choose_outcome")
        return redirect(f"/alerts/{alert_id}")
    await console.signed_in(request)  # the country is looked up for a signed-in user only
    currency = await console.currency()
    if currency is None and (text(form, "prevented") or text(form, "suffered")):
        flash(request, "currency_unknown")
        return redirect(f"/alerts/{alert_id}")
    try:
        prevented = amount(form, "prevented", currency or "")
        suffered = amount(form, "suffered", currency or "")
    except ValueError:
        flash(request, "amount_invalid")
        return redirect(f"/alerts/{alert_id}")
    paid_to = text(form, "paid_to")
    await console.run(
        request,
        cases.record_outcome,
        alert_id,
        chosen,
        note=text(form, "note"),
        prevented=prevented,
        suffered=suffered,
        paid_to=(paid_to,) if paid_to else (),
    )
    flash(request, "outcome_saved")
    return redirect(f"/alerts/{alert_id}")


async def escalate(request: Request) -> Response:
    form = await posted(request)
    alert_id = path_id(request, "alert_id")
    await console_of(request).run(
        request, cases.escalate, reason=text(form, "reason"), alert_id=alert_id
    )
    flash(request, "escalated")
    return redirect(f"/alerts/{alert_id}")


async def open_case(request: Request) -> Response:
    form = await posted(request)
    alert_id = path_id(request, "alert_id")
    summary = await console_of(request).run(
        request, cases.open_case, text(form, "title"), [alert_id]
    )
    return redirect(f"/cases/{summary.id}")


async def vulnerable(request: Request) -> Response:
    form = await posted(request)
    alert_id = path_id(request, "alert_id")
    await console_of(request).run(
        request, cases.mark_vulnerable, alert_id, text(form, "vulnerable") != "0"
    )
    return redirect(f"/alerts/{alert_id}")


routes = [
    Route("/alerts/{alert_id:int}", alert_page),
    Route("/alerts/{alert_id:int}/outcome", outcome, methods=["POST"]),
    Route("/alerts/{alert_id:int}/escalate", escalate, methods=["POST"]),
    Route("/alerts/{alert_id:int}/case", open_case, methods=["POST"]),
    Route("/alerts/{alert_id:int}/vulnerable", vulnerable, methods=["POST"]),
]
