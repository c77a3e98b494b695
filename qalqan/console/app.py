"""The operators' web console: a thin Starlette adapter over :mod:`qalqan.cases`.

Why it is shaped this way:

* **Server-rendered pages** (Jinja2), with htmx only where a page must move by
  itself (the queue refreshes its rows). An operator at 3 a.m. gets plain
  pages that work with the back button, and the tests can read the HTML.
* **The library decides.** Every page and every button calls one service
  function of :mod:`qalqan.cases`, which checks the role and writes the audit
  log. The console never re-implements a permission: it maps
  :class:`~qalqan.cases.errors.PermissionDenied` to a 403 page, and asks
  :func:`~qalqan.cases.roles.may` only to decide which buttons to draw.
* **Sessions** are a signed cookie (Starlette's ``SessionMiddleware``,
  itsdangerous) holding the user's id, name and role, the language, and a
  CSRF token. Every POST must carry that token, as the ``csrf`` form field or
  the ``X-CSRF-Token`` header (htmx); a POST without it is refused with 403
  before anything else happens.
* **In-process first.** :func:`create_app` returns an ASGI app; tests drive it
  with ``httpx.ASGITransport`` or Starlette's ``TestClient`` without a port.

The database work is synchronous (SQLAlchemy), so each request runs its one
transaction in Starlette's thread pool.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qalqan import cases
from qalqan.cases.errors import (
    AlreadyClaimedError,
    LoginError,
    NotFoundError,
    PermissionDenied,
    WorkflowError,
)
from qalqan.cases.models import User
from qalqan.cases.roles import Actor, Permission, Role, may
from qalqan.cases.store import CaseStore
from qalqan.cases.views import Money, Said, TimelineEvent
from qalqan.console.dashboard import CALLER_ID_TYPES, dashboard_figures
from qalqan.console.graph import case_graph
from qalqan.console.i18n import LANGUAGES, MESSAGES, translate, words
from qalqan.console.maps import (
    campaign_hours,
    city_labels,
    farm_points,
    office_day,
    offset_text,
    outline,
)
from qalqan.domain.messages import render

__all__ = ["OUTCOMES", "PAGES", "CsrfError", "create_app"]

HERE = Path(__file__).parent
T = TypeVar("T")

OUTCOMES: tuple[str, ...] = ("warned", "reached", "already_paid", "not_reachable", "false_alarm")
"""In the order the form offers them: the commonest good result first."""

PAGES: dict[str, Permission] = {
    "/queue": Permission.VIEW_QUEUE,
    "/escalations": Permission.VIEW_ESCALATIONS,
    "/cases": Permission.VIEW_CASE,
    "/findings": Permission.VIEW_FINDINGS,
    "/dashboard": Permission.VIEW_SLA,
    "/users": Permission.MANAGE_USERS,
}
"""The navigation: each page and the permission it needs, in the order of the menu."""


class CsrfError(Exception):
    """A POST without the session's CSRF token."""


class NotSignedIn(Exception):  # noqa: N818 (a state, not a failure)
    """No session: the page sends the browser to the login form."""


# ---------------------------------------------------------------------------- helpers


def _lang(request: Request) -> str:
    lang = request.session.get("lang")
    return lang if lang in LANGUAGES else "ru"


def _csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def _form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token has been checked against the session's."""
    form = await request.form()
    expected = request.session.get("csrf")
    given = form.get("csrf") or request.headers.get("x-csrf-token")
    if not isinstance(expected, str) or not isinstance(given, str):
        raise CsrfError
    if not secrets.compare_digest(expected, given):
        raise CsrfError
    return form


def _actor(request: Request) -> Actor:
    user = request.session.get("user")
    if not isinstance(user, dict):
        raise NotSignedIn
    return Actor(name=str(user["name"]), role=Role(user["role"]), user_id=int(user["id"]))


def _flash(request: Request, key: str, **values: object) -> None:
    request.session.setdefault("flash", []).append(translate(_lang(request), key, **values))


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _amount(form: FormData, name: str) -> Money | None:
    raw = _text(form, name).replace(" ", "").replace(",", ".")
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValueError(name) from None
    return Money(amount) if amount > 0 else None


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _reason_parts(reason: str) -> tuple[str, str]:
    """``rule.id: what happened`` → (what happened, rule.id), the words first."""
    rule, sep, detail = reason.partition(": ")
    return (detail, rule) if sep and " " not in rule else (reason, "")


def _say(lang: str, said: Said) -> tuple[str, str]:
    """A stored reason in the reader's language: (what was seen, the rule's id).

    Rendered from its message key and facts when it has them; otherwise (an
    older store, a key this version does not know) the library's English.
    """
    if said.key:
        try:
            return render(said.key, said.facts, lang), said.rule
        except (KeyError, IndexError, ValueError):
            pass
    return _reason_parts(said.text)


def _money(amounts: tuple[Money, ...] | list[Money]) -> str:
    """``(Money(250000), Money(120, "USD"))`` → ``250 000 KZT, 120 USD``: grouped by spaces,
    as amounts are written in Kazakhstan, tiyn shown only when there are any."""
    said = []
    for m in amounts:
        whole = m.amount == m.amount.to_integral_value()
        figure = f"{m.amount:,.0f}" if whole else f"{m.amount:,.2f}"
        said.append(f"{figure.replace(',', ' ')} {m.currency}")
    return ", ".join(said)


def _phone(number: str | None) -> str:
    """``+77020000001`` → ``+7 702 000 00 01``: a number read aloud at 3 a.m. is read in groups."""
    if not number:
        return "—"
    if number.startswith("+7") and len(number) == 12 and number[1:].isdigit():
        d = number[2:]
        return f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}"
    return number


def _campaign(details: dict[str, Any], lang: str) -> dict[str, Any]:
    """A campaign's hourly activity and working hours, as its page states and charts them."""
    hours = campaign_hours(details)
    raw = details.get("utc_offset_h")
    offset = float(raw) if isinstance(raw, int | float) else None
    day = office_day(hours, offset)
    if offset is None:
        works = translate(lang, "campaign_offset_unknown")
    elif day is None:
        works = translate(lang, "campaign_works", offset=offset_text(offset))
    else:
        works = translate(
            lang,
            "campaign_works_day",
            offset=offset_text(offset),
            start=f"{day[0]:02d}",
            end=f"{(day[1] + 1) % 24:02d}",
        )
    return {
        "works": works,
        "hours": hours,
        "chart": {
            "hours": [f"{h:02d}" for h in range(24)],
            "calls": hours,
            "label": translate(lang, "chart_calls_by_hour"),
            "axis": translate(lang, "chart_utc_hour"),
        },
    }


def _event_text(lang: str, event: TimelineEvent) -> str:
    """One line of a case's timeline in the reader's language (the library's English otherwise)."""
    v = event.values
    match event.kind:
        case "case_opened":
            return translate(lang, "tl_case_opened", title=v.get("title", ""))
        case "intercepted":
            caller = _phone(v.get("caller")) if v.get("caller") else translate(lang, "tl_withheld")
            action = words(lang, "action_", v.get("action", "")) if v.get("action") else "—"
            return translate(lang, "tl_intercepted", caller=caller, action=action)
        case "action":
            said = words(lang, "act_", v.get("action", ""))
            outcome = v.get("outcome")
            return f"{said}: {translate(lang, 'out_' + outcome)}" if outcome else said
        case "note_added" | "escalated":
            return translate(lang, "tl_" + event.kind)
        case "answered":
            return translate(lang, "tl_answered", status=words(lang, "st_", v.get("status", "")))
        case "case_closed":
            return translate(
                lang, "tl_case_closed", reason=words(lang, "close_", v.get("reason", ""))
            )
    return event.what


def _shared_text(lang: str, links: tuple[tuple[str, str], ...]) -> list[str]:
    """What a suggested alert shares with the case, in the reader's language."""
    return [
        translate(lang, "shared_victim", number=_phone(value))
        if kind == "victim"
        else f"{words(lang, 'ent_', kind)} {value}"
        for kind, value in links
    ]


def _back(form: FormData, default: str) -> str:
    """Where a form asked to return to: a path of this site only."""
    back = _text(form, "next")
    # "//host" and "/\\host" are read by browsers as another site
    return back if back.startswith("/") and not back.startswith(("//", "/\\")) else default


def _home(role: Role) -> str:
    for path, permission in PAGES.items():
        if may(role, permission):
            return path
    return "/nothing"


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------------------- the app


def create_app(
    store_url: str,
    *,
    secret_key: str,
    store: CaseStore | None = None,
    https_only: bool = False,
    session_max_age: int = 12 * 3600,
) -> Starlette:
    """The console over the case store at ``store_url`` (or an already open ``store``).

    ``secret_key`` signs the session cookie; keep it out of logs and the same
    across restarts if sessions should survive them. A session lasts one
    12-hour shift by default.
    """
    the_store = store if store is not None else CaseStore.open(store_url)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["when"] = _when
    templates.env.filters["phone"] = _phone
    templates.env.filters["money"] = _money
    templates.env.globals["may"] = may
    templates.env.globals["P"] = Permission
    kazakhstan = outline()  # read once: the map's offline outline

    async def run(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One service call as the signed-in user, in its own transaction.

        The service checks the user's *current* role; the session is brought up to
        date with it too, so that the menu and buttons follow a role an admin changed.
        """
        actor = _actor(request)

        def work() -> tuple[T, str | None]:
            with the_store.transaction() as session:
                result = fn(session, actor, *args, **kwargs)
                return result, session.scalar(select(User.role).where(User.id == actor.user_id))

        result, role = await run_in_threadpool(work)
        user = request.session.get("user")
        if role is not None and isinstance(user, dict) and user.get("role") != role:
            request.session["user"] = {**user, "role": role}
        return result

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        lang = _lang(request)
        user = request.session.get("user")
        role = Role(user["role"]) if isinstance(user, dict) else None
        nav = [
            (path, translate(lang, "nav_" + path.strip("/")))
            for path, permission in PAGES.items()
            if role is not None and may(role, permission)
        ]
        return templates.TemplateResponse(
            request,
            name,
            {
                "t": lambda key, **v: translate(lang, key, **v),
                "words": lambda prefix, value: words(lang, prefix, value),
                "say": lambda said: _say(lang, said),
                "headline": lambda f: _say(lang, f.said)[0] if f.said else f.headline,
                "lang": lang,
                "languages": LANGUAGES,
                "user": user,
                "role": role,
                "nav": nav,
                "csrf": _csrf_token(request),
                "flash": request.session.pop("flash", []),
                "path": request.url.path,
                **context,
            },
            status_code=status_code,
        )

    # -- sign in and out, language

    async def home(request: Request) -> Response:
        return _redirect(_home(_actor(request).role))

    async def nothing(request: Request) -> Response:
        _actor(request)
        return render(request, "message.html", title_key="app_name", text_key="no_pages")

    async def login_page(request: Request) -> Response:
        if request.method == "GET":
            return render(request, "login.html")
        form = await _form(request)
        name, password = _text(form, "username"), str(form.get("password") or "")

        def attempt() -> Actor:
            with the_store.transaction() as session:
                return cases.login(session, name, password)

        try:
            actor = await run_in_threadpool(attempt)
        except LoginError:
            _flash(request, "login_failed")
            return render(request, "login.html", status_code=401, username=name)
        lang = _lang(request)
        request.session.clear()
        request.session.update(
            user={"id": actor.user_id, "name": actor.name, "role": actor.role.value},
            lang=lang,
            csrf=secrets.token_urlsafe(32),  # a new token for a new identity
        )
        return _redirect(_home(actor.role))

    async def logout(request: Request) -> Response:
        await _form(request)
        lang = _lang(request)
        request.session.clear()
        request.session["lang"] = lang
        return _redirect("/login")

    async def set_language(request: Request) -> Response:
        form = await _form(request)
        chosen = _text(form, "lang")
        if chosen in LANGUAGES:
            request.session["lang"] = chosen
        return _redirect(_back(form, "/"))

    # -- the queue and an intercepted call

    async def queue_page(request: Request) -> Response:
        items = await run(request, cases.queue, limit=50)
        if request.headers.get("hx-request"):
            return render(request, "queue_rows.html", items=items)
        mine = await run(request, cases.my_claims)
        floor, hands = [], []
        if may(_actor(request).role, Permission.REASSIGN_ALERT):  # the supervisor's view
            floor = await run(request, cases.claims)
            hands = await run(request, cases.workers)
        return render(request, "queue.html", items=items, mine=mine, floor=floor, hands=hands)

    async def claim(request: Request) -> Response:
        await _form(request)
        alert_id = int(request.path_params["alert_id"])
        try:
            await run(request, cases.claim, alert_id)
        except AlreadyClaimedError as taken:
            _flash(request, "claimed_by_other", holder=taken.holder)
            return _redirect("/queue")
        return _redirect(f"/alerts/{alert_id}")

    async def release(request: Request) -> Response:
        form = await _form(request)
        await run(request, cases.release, int(request.path_params["alert_id"]))
        return _redirect(_back(form, "/queue"))

    async def reassign(request: Request) -> Response:
        form = await _form(request)
        alert_id = int(request.path_params["alert_id"])
        to = _text(form, "to")
        if not to.isdigit():
            _flash(request, "choose_person")
            return _redirect(_back(form, f"/alerts/{alert_id}"))
        item = await run(request, cases.reassign, alert_id, int(to), note=_text(form, "note"))
        _flash(request, "handed_over", name=item.claimed_by or "")
        return _redirect(_back(form, f"/alerts/{alert_id}"))

    async def alert_page(request: Request) -> Response:
        alert_id = int(request.path_params["alert_id"])
        alert = await run(request, cases.alert_view, alert_id)
        actor = _actor(request)
        script = None
        if alert.kind == "intercepted_call" and may(actor.role, Permission.READ_SCRIPT):
            script = await run(request, cases.callback_script, alert_id, _lang(request))
        campaign = _campaign(alert.details, _lang(request)) if alert.kind == "campaign" else None
        hands = []
        if (
            alert.kind == "intercepted_call"
            and alert.status != "done"
            and may(actor.role, Permission.REASSIGN_ALERT)
        ):
            hands = await run(request, cases.workers)
        return render(
            request,
            "alert.html",
            alert=alert,
            script=script,
            # a call already dealt with is nobody's to work, whoever last held it
            mine=alert.claimed_by == actor.name and alert.status == "claimed",
            outcomes=OUTCOMES,
            error=request.query_params.get("error"),
            campaign=campaign,
            hands=hands,
        )

    async def outcome(request: Request) -> Response:
        form = await _form(request)
        alert_id = int(request.path_params["alert_id"])
        chosen = _text(form, "outcome")
        if chosen not in OUTCOMES:
            _flash(request, "choose_outcome")
            return _redirect(f"/alerts/{alert_id}")
        try:
            prevented, suffered = _amount(form, "prevented"), _amount(form, "suffered")
        except ValueError:
            _flash(request, "amount_invalid")
            return _redirect(f"/alerts/{alert_id}")
        paid_to = _text(form, "paid_to")
        await run(
            request,
            cases.record_outcome,
            alert_id,
            chosen,
            note=_text(form, "note"),
            prevented=prevented,
            suffered=suffered,
            paid_to=(paid_to,) if paid_to else (),
        )
        _flash(request, "outcome_saved")
        return _redirect(f"/alerts/{alert_id}")

    async def escalate(request: Request) -> Response:
        form = await _form(request)
        alert_id = int(request.path_params["alert_id"])
        await run(request, cases.escalate, reason=_text(form, "reason"), alert_id=alert_id)
        _flash(request, "escalated")
        return _redirect(f"/alerts/{alert_id}")

    async def open_case(request: Request) -> Response:
        form = await _form(request)
        alert_id = int(request.path_params["alert_id"])
        summary = await run(request, cases.open_case, _text(form, "title"), [alert_id])
        return _redirect(f"/cases/{summary.id}")

    # -- prosecutors, cases, findings

    async def escalations_page(request: Request) -> Response:
        found = await run(request, cases.escalations, status=None)
        waiting = [e for e in found if e.status == "open"]  # oldest first: answer in turn
        answered = sorted(
            (e for e in found if e.status != "open"),
            key=lambda e: e.responded_at or e.raised_at,
            reverse=True,
        )
        return render(request, "escalations.html", waiting=waiting, answered=answered)

    async def answer(request: Request) -> Response:
        form = await _form(request)
        await run(
            request,
            cases.answer_escalation,
            int(request.path_params["escalation_id"]),
            accept=_text(form, "decision") == "accept",
            response=_text(form, "response"),
        )
        _flash(request, "answered")
        return _redirect("/escalations")

    async def cases_page(request: Request) -> Response:
        found = await run(request, cases.list_cases, status=None)
        return render(request, "cases.html", cases=found)

    async def case_page(request: Request) -> Response:
        case_id = int(request.path_params["case_id"])
        case = await run(request, cases.case_view, case_id)
        suggestions = []
        if case.status == "open" and may(_actor(request).role, Permission.SUGGEST_LINKS):
            suggestions = await run(request, cases.suggest_links, case_id=case_id, limit=20)
        lang = _lang(request)
        graph = case_graph(
            case,
            episode_label=translate(lang, "graph_episode"),
            victim_label=translate(lang, "graph_victim"),
            kind_label=lambda kind: words(lang, "ent_", kind),
        )
        return render(
            request,
            "case.html",
            case=case,
            graph=graph,
            suggestions=[(sug, _shared_text(lang, sug.links)) for sug in suggestions],
            timeline=[(event, _event_text(lang, event)) for event in case.timeline],
            close_reasons=[r.value for r in cases.CloseReason],
        )

    async def close(request: Request) -> Response:
        form = await _form(request)
        case_id = int(request.path_params["case_id"])
        reason = _text(form, "reason")
        if reason not in {r.value for r in cases.CloseReason}:
            _flash(request, "choose_close_reason")
            return _redirect(f"/cases/{case_id}")
        await run(request, cases.close_case, case_id, reason, _text(form, "note"))
        _flash(request, "case_closed_flash")
        return _redirect(f"/cases/{case_id}")

    async def link(request: Request) -> Response:
        form = await _form(request)
        case_id = int(request.path_params["case_id"])
        alert_id = int(_text(form, "alert_id") or 0)
        await run(request, cases.add_to_case, case_id, [alert_id], move=_text(form, "move") == "1")
        return _redirect(f"/cases/{case_id}")

    async def vulnerable(request: Request) -> Response:
        form = await _form(request)
        alert_id = int(request.path_params["alert_id"])
        await run(request, cases.mark_vulnerable, alert_id, _text(form, "vulnerable") != "0")
        return _redirect(f"/alerts/{alert_id}")

    async def note(request: Request) -> Response:
        form = await _form(request)
        case_id = int(request.path_params["case_id"])
        await run(request, cases.add_note, case_id, _text(form, "text"))
        return _redirect(f"/cases/{case_id}")

    async def findings_page(request: Request) -> Response:
        found = await run(request, cases.findings)
        lang = _lang(request)
        farms = farm_points(found, lang)
        world = {
            "outline": kazakhstan,
            "farms": farms,
            "cities": city_labels(lambda key: translate(lang, "city_" + key)),
            "labels": {
                "farm": translate(lang, "kind_sim_farm"),
                "sims": translate(lang, "map_sims"),
            },
        }
        return render(request, "findings.html", findings=found, farms=farms, world=world)

    async def dashboard_page(request: Request) -> Response:
        figures = await run(request, dashboard_figures)
        sla = await run(request, cases.sla_report)
        lang = _lang(request)
        chart = {
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
        return render(request, "dashboard.html", figures=figures, sla=sla, chart=chart)

    async def users_page(request: Request, **shown: Any) -> Response:
        users = await run(request, cases.list_users)
        return render(request, "users.html", users=users, roles=[r.value for r in Role], **shown)

    async def add_user(request: Request) -> Response:
        form = await _form(request)
        name, role = _text(form, "username"), _text(form, "role")
        if not name or role not in {r.value for r in Role}:
            _flash(request, "user_form_incomplete")
            return _redirect("/users")
        password = secrets.token_urlsafe(9)
        await run(request, cases.add_user, name=name, role=Role(role), password=password)
        # shown once, on this page only: never in a redirect, a cookie or a log
        return await users_page(request, new_password=(name, password))

    async def change_user(request: Request) -> Response:
        form = await _form(request)
        name, what = _text(form, "username"), _text(form, "what")
        if what == "role" and _text(form, "role") in {r.value for r in Role}:
            await run(request, cases.set_role, name, Role(_text(form, "role")))
        elif what in ("disable", "enable"):
            await run(request, cases.set_user_active, name, what == "enable")
        elif what == "password":
            password = secrets.token_urlsafe(9)
            await run(request, cases.set_password, name, password)
            return await users_page(request, new_password=(name, password))
        else:
            _flash(request, "user_form_incomplete")
            return _redirect("/users")
        _flash(request, "user_saved", name=name)
        return _redirect("/users")

    # -- errors, at the edge

    async def not_signed_in(request: Request, exc: Exception) -> Response:
        if request.headers.get("hx-request"):  # a refresh of part of a page: leave the page
            return Response(status_code=204, headers={"HX-Redirect": "/login"})
        return _redirect("/login")

    async def forbidden(request: Request, exc: Exception) -> Response:
        user = request.session.get("user")
        role = translate(_lang(request), f"role_{user['role']}") if isinstance(user, dict) else ""
        return render(
            request, "message.html", 403, title_key="forbidden_title",
            text=translate(_lang(request), "forbidden_text", role=role),
        )  # fmt: skip

    async def bad_csrf(request: Request, exc: Exception) -> Response:
        return render(request, "message.html", 403, title_key="csrf_title", text_key="csrf_text")

    async def not_found(request: Request, exc: Exception) -> Response:
        return render(request, "message.html", 404, title_key="not_found_title", text=str(exc))

    async def workflow(request: Request, exc: Exception) -> Response:
        said = str(exc)
        code = getattr(exc, "code", "")
        if code and "wf_" + code in MESSAGES:
            values = dict(getattr(exc, "values", {}))
            if "outcome" in values:
                values["outcome"] = translate(_lang(request), "out_" + values["outcome"])
            said = translate(_lang(request), "wf_" + code, **values)
        return render(request, "message.html", 409, title_key="workflow_error", text=said)

    routes = [
        Route("/", home),
        Route("/nothing", nothing),
        Route("/login", login_page, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang", set_language, methods=["POST"]),
        Route("/queue", queue_page),
        Route("/alerts/{alert_id:int}", alert_page),
        Route("/alerts/{alert_id:int}/claim", claim, methods=["POST"]),
        Route("/alerts/{alert_id:int}/release", release, methods=["POST"]),
        Route("/alerts/{alert_id:int}/reassign", reassign, methods=["POST"]),
        Route("/alerts/{alert_id:int}/outcome", outcome, methods=["POST"]),
        Route("/alerts/{alert_id:int}/escalate", escalate, methods=["POST"]),
        Route("/alerts/{alert_id:int}/case", open_case, methods=["POST"]),
        Route("/escalations", escalations_page),
        Route("/escalations/{escalation_id:int}/answer", answer, methods=["POST"]),
        Route("/cases", cases_page),
        Route("/cases/{case_id:int}", case_page),
        Route("/cases/{case_id:int}/notes", note, methods=["POST"]),
        Route("/cases/{case_id:int}/link", link, methods=["POST"]),
        Route("/cases/{case_id:int}/close", close, methods=["POST"]),
        Route("/alerts/{alert_id:int}/vulnerable", vulnerable, methods=["POST"]),
        Route("/findings", findings_page),
        Route("/dashboard", dashboard_page),
        Route("/users", users_page),
        Route("/users/add", add_user, methods=["POST"]),
        Route("/users/change", change_user, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key,
                session_cookie="qalqan_console",
                max_age=session_max_age,
                same_site="strict",
                https_only=https_only,
            ),
        ],
        exception_handlers={
            NotSignedIn: not_signed_in,
            PermissionDenied: forbidden,
            CsrfError: bad_csrf,
            NotFoundError: not_found,
            WorkflowError: workflow,
        },
    )
    app.state.store = the_store
    return app


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)
"""Scripts only from the console itself (the vendored libraries; no inline code), never framed.

Inline styles stay allowed: htmx, ECharts and Cytoscape.js set them as they draw."""


class SecurityHeaders:
    """Headers on every response that keep the pages from being framed, sniffed or fed scripts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)
