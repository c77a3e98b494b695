"""The console's URL map: every page and form at its address and with its methods, each from the
module of its area (:mod:`qalqan.console.routes`)."""

from __future__ import annotations

from starlette.routing import Mount, Route

from qalqan.console.routes import ROUTES

GET, POST = frozenset({"GET", "HEAD"}), frozenset({"POST"})

URL_MAP: dict[str, tuple[str, frozenset[str]]] = {
    "/": ("sign_in", GET),
    "/nothing": ("sign_in", GET),
    "/login": ("sign_in", GET | POST),
    "/logout": ("sign_in", POST),
    "/lang": ("sign_in", POST),
    "/queue": ("queue", GET),
    "/alerts/{alert_id:int}/claim": ("queue", POST),
    "/alerts/{alert_id:int}/release": ("queue", POST),
    "/alerts/{alert_id:int}/reassign": ("queue", POST),
    "/alerts/{alert_id:int}": ("alerts", GET),
    "/alerts/{alert_id:int}/outcome": ("alerts", POST),
    "/alerts/{alert_id:int}/escalate": ("alerts", POST),
    "/alerts/{alert_id:int}/case": ("alerts", POST),
    "/alerts/{alert_id:int}/vulnerable": ("alerts", POST),
    "/escalations": ("escalations", GET),
    "/escalations/{escalation_id:int}/answer": ("escalations", POST),
    "/cases": ("cases", GET),
    "/cases/{case_id:int}": ("cases", GET),
    "/cases/{case_id:int}/notes": ("cases", POST),
    "/cases/{case_id:int}/link": ("cases", POST),
    "/cases/{case_id:int}/close": ("cases", POST),
    "/cases/{case_id:int}/evidence": ("evidence", POST),
    "/findings": ("findings", GET),
    "/dashboard": ("dashboard", GET),
    "/users": ("users", GET),
    "/users/add": ("users", POST),
    "/users/change": ("users", POST),
}


def test_every_page_keeps_its_address_and_methods_in_its_areas_module() -> None:
    pages = [r for r in ROUTES if isinstance(r, Route)]
    found = {
        r.path: (r.endpoint.__module__.rpartition(".")[2], frozenset(r.methods or ()))
        for r in pages
    }
    assert len(found) == len(pages)  # no address twice
    assert found == URL_MAP


def test_the_static_files_are_served_under_static() -> None:
    assert [r.path for r in ROUTES if isinstance(r, Mount)] == ["/static"]
