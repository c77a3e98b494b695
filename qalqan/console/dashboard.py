"""The dashboard's charts: the shift's figures (:mod:`qalqan.cases.dashboard`) in the reader's words.

The figures are counted by the library; this module only names them in the
reader's language and shapes them as the page's ECharts script reads them
(the ``chart-data`` JSON block of ``dashboard.html``).
"""

from __future__ import annotations

from typing import Any

from qalqan.cases.dashboard import CALLER_ID_TYPES, DashboardFigures
from qalqan.console.i18n import translate, words

__all__ = ["dashboard_chart"]


def dashboard_chart(figures: DashboardFigures, lang: str) -> dict[str, Any]:
    """What the dashboard's charts draw: calls per day, outcomes, routes, caller IDs, the trend."""
    return {
        "days": [d.isoformat() for d in figures.days],
        "intercepted": list(figures.intercepted),
        "worked": list(figures.worked),
        "outcomes": [
            {"name": translate(lang, "out_" + o), "value": n}
            for o, n in sorted(figures.outcomes.items(), key=lambda kv: -kv[1])
        ],
        "labels": {
            "intercepted": translate(lang, "chart_intercepted"),
            "worked": translate(lang, "chart_worked"),
        },
        "routes": [
            {"key": r, "name": words(lang, "route_", r), "value": n}
            for r, n in sorted(figures.by_route.items(), key=lambda kv: -kv[1])
        ],
        "caller_ids": [
            {"name": translate(lang, "cid_" + c), "value": figures.by_caller_id[c]}
            for c in CALLER_ID_TYPES
            if figures.by_caller_id.get(c)
        ],
        "trend": [
            {"key": r, "name": words(lang, "route_", r), "data": list(per_day)}
            for r, per_day in figures.route_per_day.items()
        ],
    }
