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
* **Sessions live in the store** (:mod:`qalqan.cases.sessions`): the signed
  cookie (Starlette's ``SessionMiddleware``, itsdangerous) holds a random
  session token, the language and a CSRF token; every request looks the token
  up, so logout, a password reset, a role change or a disabled account ends a
  session at once, and no click stretches it past its absolute lifetime. Every
  POST must carry the CSRF token, as the ``csrf`` form field or the
  ``X-CSRF-Token`` header (htmx); a POST without it is refused with 403 (and
  audited) before anything else happens.
* **Sign-in is throttled** (:mod:`qalqan.console.throttle`) before any
  password is hashed, and at most ``login_concurrent_hashes`` Argon2 checks
  run at once; up to ``login_queue`` more sign-ins wait for one, each at most
  ``login_queue_seconds`` (:class:`~qalqan.console.throttle.HashingQueue`),
  and the rest are answered 503 at once. A request body is capped
  (:class:`BodyLimit`) before it is read.
* **In-process first.** :func:`create_app` returns an ASGI app; tests drive it
  with ``httpx.ASGITransport`` or Starlette's ``TestClient`` without a port.

The database work is synchronous (SQLAlchemy), so each request runs its one
transaction in Starlette's thread pool.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qalqan import cases
from qalqan.cases import audit
from qalqan.cases.country import data_country
from qalqan.cases.dashboard import dashboard_figures
from qalqan.cases.errors import (
    AlreadyClaimedError,
    LoginError,
    NotFoundError,
    PermissionDenied,
    SessionEndedError,
    WorkflowError,
)
from qalqan.cases.roles import ANONYMOUS, Actor, Permission, Role, may
from qalqan.cases.sessions import end_session, resume_session, start_session
from qalqan.cases.store import CaseStore, clock_of
from qalqan.cases.views import Money, Said, TimelineEvent
from qalqan.console.country import AUTO, currency_of
from qalqan.console.dashboard import dashboard_chart
from qalqan.console.graph import case_graph
from qalqan.console.i18n import LANGUAGES, MESSAGES, translate, words
from qalqan.console.maps import (
    campaign_hours,
    city_labels,
    farm_points,
    map_file,
    office_day,
    offset_text,
    outline,
)
from qalqan.console.settings import ConsoleSettings
from qalqan.console.throttle import HashingQueue, LoginThrottle
from qalqan.domain.messages import render
from qalqan.domain.numbers import is_e164

__all__ = ["MAX_ID", "OUTCOMES", "PAGES", "BodyLimit", "CsrfError", "create_app"]

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


MAX_ID: Final = 2**31 - 1
"""The largest id the store's integer keys hold: a larger one in a URL or a form is not found."""

MAX_AMOUNT: Final = Decimal(10) ** 12
"""A trillion tenge: more than any one victim's loss, well inside the store's ``Numeric(18, 2)``."""


class CsrfError(Exception):
    """A POST without the session's CSRF token."""


class BadRequest(Exception):  # noqa: N818 (a state, not a failure)
    """A request no form of the console sends: a 400 page."""


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
    """Who this request's session signs in, once :func:`create_app`'s ``signed_in`` has looked."""
    actor = request.scope.get("qalqan.actor")
    if not isinstance(actor, Actor):
        raise NotSignedIn
    return actor


def _client(request: Request) -> str:
    """The address a request came from (the TCP peer, or what a trusted proxy says it is)."""
    return request.client.host if request.client is not None else "unknown"


def _ident(request: Request, name: str) -> int:
    """An id from the path; one larger than the store can hold is simply not found."""
    value = int(request.path_params[name])
    if value > MAX_ID:
        raise NotFoundError(name.removesuffix("_id"), value)
    return value


def _form_id(form: FormData, name: str) -> int | None:
    """An id from a form field: digits within the store's range, else None."""
    raw = _text(form, name)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_ID:
        return None
    return int(raw)


def _target(request: Request) -> str:
    """What a request acts on, as the audit log names it: ``alert:12``, ``case:3``, or its path."""
    for name, value in request.path_params.items():
        if name.endswith("_id"):
            return f"{name.removesuffix('_id')}:{value}"
    return request.url.path


def _flash(request: Request, key: str, **values: object) -> None:
    request.session.setdefault("flash", []).append(translate(_lang(request), key, **values))


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    if "\x00" in value:  # no form of ours sends one, and PostgreSQL refuses it in text
        raise BadRequest(name)
    return value.strip()


def _amount(form: FormData, name: str, currency: str) -> Money | None:
    raw = _text(form, name).replace(" ", "").replace(",", ".")
    if not raw:
        return None
    if len(raw) > 40:
        raise ValueError(name)
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValueError(name) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ValueError(name)
    return Money(amount.quantize(Decimal("0.01")), currency) if amount > 0 else None


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
    """``+77020000001`` → ``+7 702 000 00 01``: a number read aloud at 3 a.m. is read in groups.

    Any country's: ``+994501234567`` → ``+994 50 123 45 67``, as its numbering plan groups
    it (Kazakhstan's and Russia's +7 numbers as they are read there, 3-3-2-2). A number the
    plan does not know is shown as it came.
    """
    if not number:
        return "—"
    if number.startswith("+7") and len(number) == 12 and number[1:].isdigit():
        d = number[2:]
        return f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}"
    if len(number) <= 16 and is_e164(number):
        import phonenumbers

        parsed = phonenumbers.parse(number, None)
        if phonenumbers.is_valid_number(parsed):
            grouped: str = phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            return grouped
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
    settings: ConsoleSettings | None = None,
) -> Starlette:
    """The console over the case store at ``store_url`` (or an already open ``store``).

    ``secret_key`` signs the session cookie; keep it out of logs and the same
    across restarts if sessions should survive them. ``settings`` (read from
    ``QALQAN_CONSOLE_*`` by the command line) bound sessions, sign-in attempts
    and request bodies; a session lasts one 12-hour shift by default.
    """
    the_store = store if store is not None else CaseStore.open(store_url)
    config = settings if settings is not None else ConsoleSettings()
    throttle = LoginThrottle(settings=config)
    hashing = HashingQueue(
        slots=config.login_concurrent_hashes,
        queue=config.login_queue,
        wait=config.login_queue_seconds,
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["when"] = _when
    templates.env.filters["phone"] = _phone
    templates.env.filters["money"] = _money
    templates.env.globals["may"] = may
    templates.env.globals["P"] = Permission

    async def signed_in(request: Request) -> Actor:
        """Who the request's session token signs in, as the account is now (looked up once).

        The queue refreshing itself (htmx, every 30 s) does not count as activity,
        so a screen left open still ends its session when idle.
        """
        cached = request.scope.get("qalqan.actor")
        if isinstance(cached, Actor):
            return cached
        token = request.session.get("sid")
        if not isinstance(token, str):
            raise NotSignedIn
        refresh = bool(request.headers.get("hx-request")) and (
            request.headers.get("hx-trigger") == "queue"
        )

        def look_up() -> Actor:
            with the_store.transaction() as session:
                return resume_session(session, token, idle=config.idle, active=not refresh)

        try:
            actor = await run_in_threadpool(look_up)
        except SessionEndedError:
            lang = _lang(request)
            request.session.clear()
            request.session["lang"] = lang
            _flash(request, "session_ended")
            raise NotSignedIn from None
        request.scope["qalqan.actor"] = actor
        return actor

    async def run(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One service call as the signed-in user, in its own transaction.

        The service checks the user's *current* role; a refusal of the workflow
        (a call already worked, someone else's claim, …) is written to the audit
        log in a transaction of its own, as the store does for a refused permission.
        """
        actor = await signed_in(request)

        def work() -> T:
            with the_store.transaction() as session:
                return fn(session, actor, *args, **kwargs)

        try:
            return await run_in_threadpool(work)
        except (WorkflowError, AlreadyClaimedError) as refused:
            await record(
                request,
                actor,
                fn.__name__,
                _target(request),
                {"refused": str(refused), "code": getattr(refused, "code", "")},
            )
            raise

    async def record(
        request: Request, actor: Actor, action: str, target: str, details: dict[str, Any]
    ) -> None:
        """A refused attempt in the audit log, with the client's address."""

        def write() -> None:
            with the_store.transaction() as session:
                audit.append(
                    session,
                    actor,
                    action,
                    target[:200],
                    at=clock_of(session),
                    details={**details, "client": _client(request)},
                    allowed=False,
                )

        await run_in_threadpool(write)

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        lang = _lang(request)
        actor = request.scope.get("qalqan.actor")
        role = actor.role if isinstance(actor, Actor) else None
        user = {"name": actor.name, "role": actor.role.value} if isinstance(actor, Actor) else None
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
        return _redirect(_home((await signed_in(request)).role))

    async def nothing(request: Request) -> Response:
        await signed_in(request)
        return render(request, "message.html", title_key="app_name", text_key="no_pages")

    async def login_page(request: Request) -> Response:
        if request.method == "GET":
            return render(request, "login.html")
        form = await _form(request)
        name, password = _text(form, "username")[:200], str(form.get("password") or "")
        client = _client(request)

        def locked() -> Response | None:
            until = throttle.locked_until(name, client, the_store.clock())
            if until is None:
                return None
            seconds = max(1, int((until - the_store.clock()).total_seconds()))
            page = render(
                request, "message.html", 429, title_key="login_locked_title",
                text=translate(_lang(request), "login_locked_text", until=f"{until:%H:%M}"),
            )  # fmt: skip
            page.headers["Retry-After"] = str(seconds)
            return page

        refused = locked()  # before any hashing: the right password does not help
        if refused is not None:
            return refused
        if not await hashing.acquire():  # bounded work and a bounded wait for it
            page = render(
                request, "message.html", 503, title_key="login_busy_title",
                text_key="login_busy_text",
            )  # fmt: skip
            page.headers["Retry-After"] = "1"
            return page
        refused = locked()  # a lock made while this sign-in waited applies to it too
        if refused is not None:
            hashing.release()
            return refused

        def attempt() -> tuple[Actor, str]:
            with the_store.transaction() as session:
                actor = cases.login(session, name, password, client=client)
                token = start_session(
                    session, actor, client=client, lifetime=config.session_lifetime
                )
                return actor, token

        try:
            actor, token = await run_in_threadpool(attempt)
        except LoginError:
            for key in throttle.failed(name, client, the_store.clock()):
                kind = key[0]
                target = f"address:{client}" if kind == "address" else f"user:{name[:64]}"
                await record(
                    request, ANONYMOUS, "login_locked", target,
                    {"count": kind, "minutes": config.login_lockout_minutes},
                )  # fmt: skip
            _flash(request, "login_failed")
            return render(request, "login.html", status_code=401, username=name)
        finally:
            hashing.release()
        throttle.succeeded(name, client)
        lang = _lang(request)
        request.session.clear()
        request.session.update(
            sid=token,
            lang=lang,
            csrf=secrets.token_urlsafe(32),  # a new token for a new identity
        )
        return _redirect(_home(actor.role))

    async def logout(request: Request) -> Response:
        await _form(request)
        token = request.session.get("sid")
        if isinstance(token, str):
            client = _client(request)

            def sign_out() -> None:
                with the_store.transaction() as session:
                    end_session(session, token, client=client)

            await run_in_threadpool(sign_out)
        lang = _lang(request)
        request.session.clear()
        request.session["lang"] = lang
        return _redirect("/login")

    async def set_language(request: Request) -> Response:
        form = await _form(request)
        chosen = _text(form, "lang")
        if chosen in LANGUAGES:
            request.session["lang"] = chosen  # the cookie only: the session's end does not move
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
        alert_id = _ident(request, "alert_id")
        try:
            await run(request, cases.claim, alert_id)
        except AlreadyClaimedError as taken:
            _flash(request, "claimed_by_other", holder=taken.holder)
            return _redirect("/queue")
        return _redirect(f"/alerts/{alert_id}")

    async def release(request: Request) -> Response:
        form = await _form(request)
        await run(request, cases.release, _ident(request, "alert_id"))
        return _redirect(_back(form, "/queue"))

    async def reassign(request: Request) -> Response:
        form = await _form(request)
        alert_id = _ident(request, "alert_id")
        to = _form_id(form, "to")
        if to is None:
            _flash(request, "choose_person")
            return _redirect(_back(form, f"/alerts/{alert_id}"))
        item = await run(request, cases.reassign, alert_id, to, note=_text(form, "note"))
        _flash(request, "handed_over", name=item.claimed_by or "")
        return _redirect(_back(form, f"/alerts/{alert_id}"))

    async def alert_page(request: Request) -> Response:
        alert_id = _ident(request, "alert_id")
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
            currency=await operator_currency() or "?",
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
        alert_id = _ident(request, "alert_id")
        chosen = _text(form, "outcome")
        if chosen not in OUTCOMES:
            _flash(request, "choose_outcome")
            return _redirect(f"/alerts/{alert_id}")
        await signed_in(request)  # the country is looked up for a signed-in user only
        currency = await operator_currency()
        if currency is None and (_text(form, "prevented") or _text(form, "suffered")):
            _flash(request, "currency_unknown")
            return _redirect(f"/alerts/{alert_id}")
        try:
            prevented = _amount(form, "prevented", currency or "")
            suffered = _amount(form, "suffered", currency or "")
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
        alert_id = _ident(request, "alert_id")
        await run(request, cases.escalate, reason=_text(form, "reason"), alert_id=alert_id)
        _flash(request, "escalated")
        return _redirect(f"/alerts/{alert_id}")

    async def open_case(request: Request) -> Response:
        form = await _form(request)
        alert_id = _ident(request, "alert_id")
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
            _ident(request, "escalation_id"),
            accept=_text(form, "decision") == "accept",
            response=_text(form, "response"),
        )
        _flash(request, "answered")
        return _redirect("/escalations")

    async def cases_page(request: Request) -> Response:
        found = await run(request, cases.list_cases, status=None)
        return render(request, "cases.html", cases=found)

    async def case_page(request: Request) -> Response:
        case_id = _ident(request, "case_id")
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
        case_id = _ident(request, "case_id")
        reason = _text(form, "reason")
        if reason not in {r.value for r in cases.CloseReason}:
            _flash(request, "choose_close_reason")
            return _redirect(f"/cases/{case_id}")
        await run(request, cases.close_case, case_id, reason, _text(form, "note"))
        _flash(request, "case_closed_flash")
        return _redirect(f"/cases/{case_id}")

    async def link(request: Request) -> Response:
        form = await _form(request)
        case_id = _ident(request, "case_id")
        alert_id = _form_id(form, "alert_id") or 0
        await run(request, cases.add_to_case, case_id, [alert_id], move=_text(form, "move") == "1")
        return _redirect(f"/cases/{case_id}")

    async def vulnerable(request: Request) -> Response:
        form = await _form(request)
        alert_id = _ident(request, "alert_id")
        await run(request, cases.mark_vulnerable, alert_id, _text(form, "vulnerable") != "0")
        return _redirect(f"/alerts/{alert_id}")

    async def note(request: Request) -> Response:
        form = await _form(request)
        case_id = _ident(request, "case_id")
        await run(request, cases.add_note, case_id, _text(form, "text"))
        return _redirect(f"/cases/{case_id}")

    country_seen: list[tuple[float, str | None]] = []
    """The data's country and when to ask again: once per 5 minutes, 30 s while unknown."""

    async def operator_country() -> str | None:
        """The setting's country, or the data's (see :mod:`qalqan.console.country`).

        The data's is asked at most once per 5 minutes (every 30 s while it is not known),
        however many pages are opened: it changes only when another operator's data is loaded.
        """
        if config.country != AUTO:
            return config.country
        if country_seen and time.monotonic() < country_seen[0][0]:
            return country_seen[0][1]

        def ask() -> str | None:
            with the_store.transaction() as session:
                return data_country(session)

        found = await run_in_threadpool(ask)
        country_seen[:] = [(time.monotonic() + (300.0 if found else 30.0), found)]
        return found

    async def operator_currency() -> str | None:
        """The setting's currency, or the operator's country's; None when neither is known."""
        if config.currency != AUTO:
            return config.currency
        return currency_of(await operator_country())

    async def findings_page(request: Request) -> Response:
        found = await run(request, cases.findings)
        lang = _lang(request)
        country = await operator_country()
        farms = farm_points(found, lang, country=country)
        world = None
        if country is not None and map_file(country) is not None:
            world = {
                "outline": outline(country),
                "farms": farms,
                "cities": city_labels(country, lambda key: translate(lang, "city_" + key)),
                "labels": {
                    "farm": translate(lang, "kind_sim_farm"),
                    "sims": translate(lang, "map_sims"),
                },
            }
        return render(
            request, "findings.html", findings=found, farms=farms, world=world, country=country
        )

    async def dashboard_page(request: Request) -> Response:
        await signed_in(request)  # the country is looked up for a signed-in user only
        figures = await run(request, dashboard_figures, home=await operator_country())
        sla = await run(request, cases.sla_report)
        chart = dashboard_chart(figures, _lang(request))
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
        elif what == "sign_out":
            await run(request, cases.end_sessions, name)
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
        actor = request.scope.get("qalqan.actor")
        role = translate(_lang(request), f"role_{actor.role.value}") if actor else ""
        return render(
            request, "message.html", 403, title_key="forbidden_title",
            text=translate(_lang(request), "forbidden_text", role=role),
        )  # fmt: skip

    async def bad_csrf(request: Request, exc: Exception) -> Response:
        try:
            actor = await signed_in(request)
        except NotSignedIn:
            actor = ANONYMOUS
        client, now = _client(request), the_store.clock()
        if actor is ANONYMOUS and throttle.address_locked(client, now):
            pass  # a flood from a locked address: its lock is on record, not every refusal
        else:
            await record(
                request, actor, "csrf_refused", request.url.path, {"method": request.method}
            )
            if actor is ANONYMOUS and throttle.refused(client, now):
                await record(
                    request, ANONYMOUS, "login_locked", f"address:{client}",
                    {"count": "address", "minutes": config.login_lockout_minutes},
                )  # fmt: skip
        return render(request, "message.html", 403, title_key="csrf_title", text_key="csrf_text")

    async def bad_request(request: Request, exc: Exception) -> Response:
        return render(
            request, "message.html", 400, title_key="bad_request_title", text_key="csrf_text"
        )

    async def claimed(request: Request, exc: Exception) -> Response:
        holder = exc.holder if isinstance(exc, AlreadyClaimedError) else ""
        said = translate(_lang(request), "claimed_by_other", holder=holder)
        return render(request, "message.html", 409, title_key="workflow_error", text=said)

    async def server_error(request: Request, exc: Exception) -> Response:
        """A bug's page: no details, and the same security headers as every other page."""
        lang = _lang(request) if "session" in request.scope else "ru"
        page = HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>Qalqan</title>"
            f"<h1>{translate(lang, 'server_error_title')}</h1>"
            f"<p>{translate(lang, 'server_error_text')}</p><p><a href=/>"
            f"{translate(lang, 'go_home')}</a></p>",
            status_code=500,
        )
        SecurityHeaders.apply(page.headers)
        return page

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
            Middleware(BodyLimit, max_bytes=config.max_body_bytes),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key,
                session_cookie="qalqan_console",
                max_age=int(config.session_lifetime.total_seconds()),
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
            AlreadyClaimedError: claimed,
            BadRequest: bad_request,
            Exception: server_error,
        },
    )
    app.state.store = the_store
    app.state.settings = config
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
                self.apply(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, with_headers)

    @staticmethod
    def apply(headers: MutableHeaders) -> None:
        """Set the headers (where a response has not set its own); also for the 500 page,
        which Starlette sends from outside every middleware."""
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cache-Control", "no-store")


class _TooLarge(Exception):  # noqa: N818 (a state, not a failure)
    """The body went past the cap while it was being read."""


class BodyLimit:
    """Refuse a request body over ``max_bytes`` with 413, before reading it when it says its size.

    A ``Content-Length`` over the cap (or not a number) is refused at once,
    without reading a byte; a streamed (chunked) body is counted as it is read
    and refused as soon as it passes the cap, so nothing large is ever parsed
    or spooled to disk.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            too_large = not value.isdigit() or len(value) > 18 or int(value) > self.max_bytes
            if name == b"content-length" and too_large:
                await self._refuse(scope, receive, send)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = PlainTextResponse(
            f"Request body too large: at most {self.max_bytes} bytes.\n",
            status_code=413,
            headers={"Connection": "close"},
        )
        await answer(scope, receive, send)
