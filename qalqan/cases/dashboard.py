"""The shift's figures for the dashboard: intercepted calls per day, outcomes, losses, traffic mix.

Aggregates only — no numbers, no names — so it reads the tables directly
instead of loading alert views; it still goes through the library's rules:
``authorize`` first (the supervisor's ``view_sla``), an audit entry last,
one transaction, as :func:`~qalqan.cases.intercepts.sla_report` beside it.

Days are grouped in Python over one window of ``occurred_at`` values, so the
same code runs on SQLite and PostgreSQL (whose date functions differ).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qalqan.cases import audit
from qalqan.cases.country import data_country
from qalqan.cases.models import Alert, AlertEntity, AlertKind, Loss, LossKind
from qalqan.cases.roles import Actor, Permission, authorize
from qalqan.cases.store import clock_of
from qalqan.cases.views import stored_reasons
from qalqan.domain.numbers import describe, is_e164

__all__ = ["CALLER_ID_TYPES", "DashboardFigures", "caller_id_type", "dashboard_figures"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardFigures:
    days: tuple[date, ...]
    """Every day of the window, oldest first, also those without calls."""
    intercepted: tuple[int, ...]
    """Intercepted calls placed on each day."""
    worked: tuple[int, ...]
    """Of those, the ones with an outcome recorded."""
    outcomes: dict[str, int]
    """Outcome → intercepted calls of the window with it."""
    prevented: dict[str, Decimal]
    """Currency → losses prevented in the window."""
    suffered: dict[str, Decimal]
    by_route: dict[str, int]
    """Route the call came in by (``mobile``, ``national``, ``international``…) → calls."""
    by_caller_id: dict[str, int]
    """Caller-ID type (``ours``, ``domestic``, ``foreign``, ``withheld``, ``protected``) → calls."""
    route_per_day: dict[str, tuple[int, ...]]
    """Route → calls on each day of ``days``: the trend."""


CALLER_ID_TYPES: tuple[str, ...] = ("ours", "domestic", "foreign", "withheld", "protected")


def caller_id_type(
    caller: str | None, rules: Collection[str], own_sim: bool, home: str | None = None
) -> str:
    """What the call presented as its caller ID, from what the alert stores.

    ``rules`` are the ids of the rules that gave the alert's reasons, as stored beside
    them (never read out of their words). A number of the protected registry (banks,
    police: a ``spoofed_cli.registry…`` rule) first, then withheld (no number), then one
    of our subscribers (the call has the caller's SIM on our network, or the rule said
    it presented our subscriber's number), then domestic (a number of ``home``, the
    operator's country, by the numbering plan) or foreign. With ``home`` unknown, no
    number is called domestic.
    """
    if any(r.startswith("spoofed_cli.registry") for r in rules):
        return "protected"
    if not caller:
        return "withheld"
    if own_sim or "spoofed_cli.own_subscriber_at_home" in rules:
        return "ours"
    domestic = home is not None and is_e164(caller) and describe(caller).region == home
    return "domestic" if domestic else "foreign"


def dashboard_figures(
    session: Session, actor: Actor, *, days: int = 14, home: str | None = None
) -> DashboardFigures:
    """The ``days`` days up to the latest intercepted call. Permission: ``view_sla``.

    ``home`` is the operator's country (ISO 3166 alpha-2), for telling domestic caller IDs
    from foreign ones; None: the data's (:func:`qalqan.cases.country.data_country`).

    Anchored on the latest call rather than the clock, so that a replayed or
    simulated data set (the demo) shows its own days; in live operation the
    latest call is today.
    """
    actor = authorize(session, actor, Permission.VIEW_SLA, "dashboard")
    now = clock_of(session)
    home = home or data_country(session)
    intercepted = Alert.kind == AlertKind.INTERCEPTED_CALL.value
    latest = session.scalar(select(func.max(Alert.occurred_at)).where(intercepted)) or now
    first = latest.date() - timedelta(days=days - 1)
    since = datetime.combine(first, time(), tzinfo=latest.tzinfo)
    rows = session.execute(
        select(
            Alert.id,
            Alert.occurred_at,
            Alert.outcome,
            Alert.caller,
            Alert.details,
            Alert.reasons,
        ).where(intercepted, Alert.occurred_at >= since)
    ).all()
    own_sim = set(
        session.scalars(
            select(AlertEntity.alert_id)
            .join(Alert, Alert.id == AlertEntity.alert_id)
            .where(intercepted, Alert.occurred_at >= since, AlertEntity.relation == "caller_sim")
        )
    )
    per_day: Counter[date] = Counter()
    worked: Counter[date] = Counter()
    outcomes: Counter[str] = Counter()
    by_route: Counter[str] = Counter()
    by_caller_id: Counter[str] = Counter()
    route_day: Counter[tuple[str, date]] = Counter()
    for alert_id, occurred_at, outcome, caller, details, reasons in rows:
        day = occurred_at.date()
        if day < first:
            continue
        per_day[day] += 1
        ingress = str(_loads(details).get("ingress") or "unknown")
        route = ingress.partition(":")[0]
        by_route[route] += 1
        route_day[route, day] += 1
        rules = {reason.rule for reason in stored_reasons(reasons)}
        by_caller_id[caller_id_type(caller, rules, alert_id in own_sim, home)] += 1
        if outcome:
            worked[day] += 1
            outcomes[outcome] += 1
    window = tuple(first + timedelta(days=i) for i in range(days))
    losses = session.execute(
        select(Loss.kind, Loss.currency, func.sum(Loss.amount))
        .join(Alert, Alert.id == Loss.alert_id)
        .where(intercepted, Alert.occurred_at >= since)
        .group_by(Loss.kind, Loss.currency)
    ).all()
    totals: dict[str, dict[str, Decimal]] = {
        LossKind.PREVENTED.value: {},
        LossKind.SUFFERED.value: {},
    }
    for kind, currency, amount in losses:
        totals.setdefault(kind, {})[currency] = Decimal(amount or 0)
    audit.append(session, actor, "view_dashboard", "dashboard", at=now, details={"days": days})
    return DashboardFigures(
        days=window,
        intercepted=tuple(per_day[d] for d in window),
        worked=tuple(worked[d] for d in window),
        outcomes=dict(outcomes),
        prevented=totals[LossKind.PREVENTED.value],
        suffered=totals[LossKind.SUFFERED.value],
        by_route=dict(by_route),
        by_caller_id=dict(by_caller_id),
        route_per_day={r: tuple(route_day[r, d] for d in window) for r in sorted(by_route)},
    )


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}
