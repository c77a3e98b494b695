"""The queue of intercepted calls and who holds them: ``/queue``, and claiming, releasing and
handing over an alert (``/alerts/{id}/claim``, ``/release``, ``/reassign``).

The queue's rows refresh themselves (htmx, every 30 s) without counting as
activity; a supervisor also sees the floor: every open claim and who can take one.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qalqan import cases
from qalqan.cases.errors import AlreadyClaimedError
from qalqan.cases.roles import Permission, may
from qalqan.console.forms import back, form_id, path_id, posted, text
from qalqan.console.web import console_of, flash, redirect, signed_in_actor

__all__ = ["routes"]


async def queue_page(request: Request) -> Response:
    console = console_of(request)
    items = await console.run(request, cases.queue, limit=50)
    if request.headers.get("hx-request"):
        return console.render(request, "queue_rows.html", items=items)
    mine = await console.run(request, cases.my_claims)
    floor, hands = [], []
    if may(signed_in_actor(request).role, Permission.REASSIGN_ALERT):  # the supervisor's view
        floor = await console.run(request, cases.claims)
        hands = await console.run(request, cases.workers)
    return console.render(request, "queue.html", items=items, mine=mine, floor=floor, hands=hands)


async def claim(request: Request) -> Response:
    await posted(request)
    alert_id = path_id(request, "alert_id")
    try:
        await console_of(request).run(request, cases.claim, alert_id)
    except AlreadyClaimedError as taken:
        flash(request, "claimed_by_other", holder=taken.holder)
        return redirect("/queue")
    return redirect(f"/alerts/{alert_id}")


async def release(request: Request) -> Response:
    form = await posted(request)
    await console_of(request).run(request, cases.release, path_id(request, "alert_id"))
    return redirect(back(form, "/queue"))


async def reassign(request: Request) -> Response:
    form = await posted(request)
    alert_id = path_id(request, "alert_id")
    to = form_id(form, "to")
    if to is None:
        flash(request, "choose_person")
        return redirect(back(form, f"/alerts/{alert_id}"))
    item = await console_of(request).run(
        request, cases.reassign, alert_id, to, note=text(form, "note")
    )
    flash(request, "handed_over", name=item.claimed_by or "")
    return redirect(back(form, f"/alerts/{alert_id}"))


routes = [
    Route("/queue", queue_page),
    Route("/alerts/{alert_id:int}/claim", claim, methods=["POST"]),
    Route("/alerts/{alert_id:int}/release", release, methods=["POST"]),
    Route("/alerts/{alert_id:int}/reassign", reassign, methods=["POST"]),
]
