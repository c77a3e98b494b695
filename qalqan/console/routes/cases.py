"""Cases: ``/cases``, one case with its graph, timeline and the alerts it may link
(``/cases/{id}``), and its notes, links and closing (``/notes``, ``/link``, ``/close``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qalqan import cases
from qalqan.cases.roles import Permission, may
from qalqan.console.formats import event_text, shared_text
from qalqan.console.forms import form_id, path_id, posted, text
from qalqan.console.graph import case_graph
from qalqan.console.i18n import translate, words
from qalqan.console.routes.money import case_money
from qalqan.console.web import console_of, flash, lang_of, redirect, signed_in_actor
from qalqan.evidence import may_export

__all__ = ["routes"]


async def cases_page(request: Request) -> Response:
    console = console_of(request)
    found = await console.run(request, cases.list_cases, status=None)
    return console.render(request, "cases.html", cases=found)


async def case_page(request: Request) -> Response:
    console = console_of(request)
    case_id = path_id(request, "case_id")
    case = await console.run(request, cases.case_view, case_id)
    suggestions = []
    if case.status == "open" and may(signed_in_actor(request).role, Permission.SUGGEST_LINKS):
        suggestions = await console.run(request, cases.suggest_links, case_id=case_id, limit=20)
    lang = lang_of(request)
    graph = case_graph(
        case,
        episode_label=translate(lang, "graph_episode"),
        victim_label=translate(lang, "graph_victim"),
        kind_label=lambda kind: words(lang, "ent_", kind),
    )
    return console.render(
        request,
        "case.html",
        case=case,
        graph=graph,
        suggestions=[(sug, shared_text(lang, sug.links)) for sug in suggestions],
        timeline=[(event, event_text(lang, event)) for event in case.timeline],
        close_reasons=[r.value for r in cases.CloseReason],
        evidence_export=may_export(signed_in_actor(request).role),
        money=await case_money(request, case_id),
    )


async def close(request: Request) -> Response:
    form = await posted(request)
    case_id = path_id(request, "case_id")
    reason = text(form, "reason")
    if reason not in {r.value for r in cases.CloseReason}:
        flash(request, "choose_close_reason")
        return redirect(f"/cases/{case_id}")
    await console_of(request).run(request, cases.close_case, case_id, reason, text(form, "note"))
    flash(request, "case_closed_flash")
    return redirect(f"/cases/{case_id}")


async def link(request: Request) -> Response:
    form = await posted(request)
    case_id = path_id(request, "case_id")
    alert_id = form_id(form, "alert_id") or 0
    await console_of(request).run(
        request, cases.add_to_case, case_id, [alert_id], move=text(form, "move") == "1"
    )
    return redirect(f"/cases/{case_id}")


async def note(request: Request) -> Response:
    form = await posted(request)
    case_id = path_id(request, "case_id")
    await console_of(request).run(request, cases.add_note, case_id, text(form, "text"))
    return redirect(f"/cases/{case_id}")


routes = [
    Route("/cases", cases_page),
    Route("/cases/{case_id:int}", case_page),
    Route("/cases/{case_id:int}/notes", note, methods=["POST"]),
    Route("/cases/{case_id:int}/link", link, methods=["POST"]),
    Route("/cases/{case_id:int}/close", close, methods=["POST"]),
]
