"""The money trail on the pages that show it: a campaign's alert page and a case's page carry
their money flow (:mod:`qalqan.console.money_flow`), the dashboard the totals lost and
preventable (:func:`qalqan.cases.money.money_totals`). No page of its own: these are the
pieces those pages' handlers ask for."""

from __future__ import annotations

from starlette.requests import Request

from qalqan.cases.money import DEFAULT_TOP, MoneyTotals, campaign_money_flow, case_money_flow
from qalqan.cases.money import money_totals as stored_totals
from qalqan.console.money_flow import flow_context
from qalqan.console.web import console_of, lang_of

__all__ = ["campaign_money", "case_money", "money_totals"]


async def campaign_money(request: Request, alert_id: int) -> dict[str, object] | None:
    """A campaign alert's money flow for ``money_flow.html`` (None for other alerts, or none)."""
    flow = await console_of(request).run(request, campaign_money_flow, alert_id, top=DEFAULT_TOP)
    return flow_context(flow, lang_of(request), top=DEFAULT_TOP)


async def case_money(request: Request, case_id: int) -> dict[str, object] | None:
    """The money flow of the campaigns a case touches, for ``money_flow.html``."""
    flow = await console_of(request).run(request, case_money_flow, case_id, top=DEFAULT_TOP)
    return flow_context(flow, lang_of(request), top=DEFAULT_TOP)


async def money_totals(request: Request) -> MoneyTotals:
    """Lost and preventable, and the campaigns that took most, for the dashboard."""
    return await console_of(request).run(request, stored_totals)
