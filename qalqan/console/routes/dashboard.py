"""The supervisor's dashboard: ``/dashboard``, the shift's figures (:mod:`qalqan.cases.dashboard`)
and the SLA report, drawn as charts (:mod:`qalqan.console.dashboard`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qalqan import cases
from qalqan.cases.dashboard import dashboard_figures
from qalqan.console.dashboard import dashboard_chart
from qalqan.console.routes.money import money_totals
from qalqan.console.web import console_of, lang_of

__all__ = ["routes"]


async def dashboard_page(request: Request) -> Response:
    console = console_of(request)
    await console.signed_in(request)  # the country is looked up for a signed-in user only
    figures = await console.run(request, dashboard_figures, home=await console.country())
    sla = await console.run(request, cases.sla_report)
    chart = dashboard_chart(figures, lang_of(request))
    money = await money_totals(request)
    return console.render(
        request, "dashboard.html", figures=figures, sla=sla, chart=chart, money=money
    )


routes = [Route("/dashboard", dashboard_page)]
