"""The console's one core object: its store, settings and pages, and the request's place in them.

:class:`Console` is built once by :func:`qalqan.console.app.create_app` and kept
on the app (``app.state.console``); each area's routes (:mod:`qalqan.console.routes`)
reach it with :func:`console_of` and do all their work through it:

* :meth:`Console.signed_in` — who the request's session signs in, looked up in
  the store once per request (:mod:`qalqan.cases.sessions`);
* :meth:`Console.run` — one service call of :mod:`qalqan.cases` as that person,
  in its own transaction on Starlette's thread pool; a refusal of the workflow is
  audited with the client's address;
* :meth:`Console.render` — a page in the reader's language, with the navigation
  the person's role may see;
* :meth:`Console.country` and :meth:`Console.currency` — the operator's, from the
  settings or (asked at most every few minutes) the data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from qalqan.cases import audit
from qalqan.cases.country import data_country
from qalqan.cases.errors import AlreadyClaimedError, SessionEndedError, WorkflowError
from qalqan.cases.roles import Actor, Permission, Role, may
from qalqan.cases.sessions import resume_session
from qalqan.cases.store import CaseStore, clock_of
from qalqan.console.country import AUTO, currency_of
from qalqan.console.formats import money, phone, say, when
from qalqan.console.forms import csrf_token
from qalqan.console.i18n import LANGUAGES, translate, words
from qalqan.console.settings import ConsoleSettings
from qalqan.console.throttle import HashingQueue, LoginThrottle

__all__ = [
    "PAGES",
    "Console",
    "NotSignedIn",
    "client_of",
    "console_of",
    "flash",
    "home_of",
    "lang_of",
    "redirect",
    "signed_in_actor",
]

T = TypeVar("T")

TEMPLATES = Path(__file__).parent / "templates"

PAGES: dict[str, Permission] = {
    "/queue": Permission.VIEW_QUEUE,
    "/escalations": Permission.VIEW_ESCALATIONS,
    "/cases": Permission.VIEW_CASE,
    "/findings": Permission.VIEW_FINDINGS,
    "/dashboard": Permission.VIEW_SLA,
    "/users": Permission.MANAGE_USERS,
}
"""The navigation: each page and the permission it needs, in the order of the menu."""

COUNTRY_KNOWN_S = 300.0
"""How long the data's country is remembered once known, in seconds."""
COUNTRY_UNKNOWN_S = 30.0
"""How soon the data is asked again while it names no country, in seconds."""


class NotSignedIn(Exception):  # noqa: N818 (a state, not a failure)
    """No session: the page sends the browser to the login form."""


def lang_of(request: Request) -> str:
    """The language the session reads in (Russian until one is chosen)."""
    lang = request.session.get("lang")
    return lang if lang in LANGUAGES else "ru"


def client_of(request: Request) -> str:
    """The address a request came from (the TCP peer, or what a trusted proxy says it is)."""
    return request.client.host if request.client is not None else "unknown"


def target_of(request: Request) -> str:
    """What a request acts on, as the audit log names it: ``alert:12``, ``case:3``, or its path."""
    for name, value in request.path_params.items():
        if name.endswith("_id"):
            return f"{name.removesuffix('_id')}:{value}"
    return request.url.path


def signed_in_actor(request: Request) -> Actor:
    """Who this request's session signs in, once :meth:`Console.signed_in` has looked."""
    actor = request.scope.get("qalqan.actor")
    if not isinstance(actor, Actor):
        raise NotSignedIn
    return actor


def flash(request: Request, key: str, **values: object) -> None:
    """A message for the next page the session sees, in its language."""
    request.session.setdefault("flash", []).append(translate(lang_of(request), key, **values))


def home_of(role: Role) -> str:
    """The first page of the menu ``role`` may open (``/nothing`` when none)."""
    for path, permission in PAGES.items():
        if may(role, permission):
            return path
    return "/nothing"


def redirect(url: str) -> RedirectResponse:
    """See other: where a POST sends the browser next."""
    return RedirectResponse(url, status_code=303)


def console_of(request: Request) -> Console:
    """The console the request came to."""
    return cast(Console, request.app.state.console)


class Console:
    """One console over one case store (see the module's docstring)."""

    def __init__(self, *, store: CaseStore, settings: ConsoleSettings) -> None:
        self.store = store
        self.settings = settings
        self.throttle = LoginThrottle(settings=settings)
        self.hashing = HashingQueue(
            slots=settings.login_concurrent_hashes,
            queue=settings.login_queue,
            wait=settings.login_queue_seconds,
        )
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.templates.env.filters["when"] = when
        self.templates.env.filters["phone"] = phone
        self.templates.env.filters["money"] = money
        self.templates.env.globals["may"] = may
        self.templates.env.globals["P"] = Permission
        self._country_seen: tuple[float, str | None] | None = None
        """The data's country and when to ask again."""

    async def in_store(self, work: Callable[..., T]) -> T:
        """``work(session)`` in one transaction of the store, on the thread pool."""

        def transaction() -> T:
            with self.store.transaction() as session:
                return work(session)

        return await run_in_threadpool(transaction)

    async def signed_in(self, request: Request) -> Actor:
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
        try:
            actor = await self.in_store(
                lambda session: resume_session(
                    session, token, idle=self.settings.idle, active=not refresh
                )
            )
        except SessionEndedError:
            lang = lang_of(request)
            request.session.clear()
            request.session["lang"] = lang
            flash(request, "session_ended")
            raise NotSignedIn from None
        request.scope["qalqan.actor"] = actor
        return actor

    async def run(self, request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One service call as the signed-in user, in its own transaction.

        The service checks the user's *current* role; a refusal of the workflow
        (a call already worked, someone else's claim, …) is written to the audit
        log in a transaction of its own, as the store does for a refused permission.
        """
        actor = await self.signed_in(request)
        try:
            return await self.in_store(lambda session: fn(session, actor, *args, **kwargs))
        except (WorkflowError, AlreadyClaimedError) as refused:
            await self.record(
                request,
                actor,
                fn.__name__,
                target_of(request),
                {"refused": str(refused), "code": getattr(refused, "code", "")},
            )
            raise

    async def record(
        self, request: Request, actor: Actor, action: str, target: str, details: dict[str, Any]
    ) -> None:
        """A refused attempt in the audit log, with the client's address."""
        await self.in_store(
            lambda session: audit.append(
                session,
                actor,
                action,
                target[:200],
                at=clock_of(session),
                details={**details, "client": client_of(request)},
                allowed=False,
            )
        )

    def render(
        self, request: Request, name: str, status_code: int = 200, **context: Any
    ) -> Response:
        """The page ``name`` in the session's language, with the menu its role may see."""
        lang = lang_of(request)
        actor = request.scope.get("qalqan.actor")
        role = actor.role if isinstance(actor, Actor) else None
        user = {"name": actor.name, "role": actor.role.value} if isinstance(actor, Actor) else None
        nav = [
            (path, translate(lang, "nav_" + path.strip("/")))
            for path, permission in PAGES.items()
            if role is not None and may(role, permission)
        ]
        return self.templates.TemplateResponse(
            request,
            name,
            {
                "t": lambda key, **v: translate(lang, key, **v),
                "words": lambda prefix, value: words(lang, prefix, value),
                "say": lambda said: say(lang, said),
                "headline": lambda f: say(lang, f.said)[0] if f.said else f.headline,
                "lang": lang,
                "languages": LANGUAGES,
                "user": user,
                "role": role,
                "nav": nav,
                "csrf": csrf_token(request),
                "flash": request.session.pop("flash", []),
                "path": request.url.path,
                **context,
            },
            status_code=status_code,
        )

    async def country(self) -> str | None:
        """The setting's country, or the data's (:func:`qalqan.cases.country.data_country`).

        The data's is asked at most once per 5 minutes (every 30 s while it is not known),
        however many pages are opened: it changes only when another operator's data is loaded.
        """
        if self.settings.country != AUTO:
            return self.settings.country
        seen = self._country_seen
        if seen is not None and time.monotonic() < seen[0]:
            return seen[1]
        found = await self.in_store(data_country)
        wait = COUNTRY_KNOWN_S if found else COUNTRY_UNKNOWN_S
        self._country_seen = (time.monotonic() + wait, found)
        return found

    async def currency(self) -> str | None:
        """The setting's currency, or the operator's country's; None when neither is known."""
        if self.settings.currency != AUTO:
            return self.settings.currency
        return currency_of(await self.country())
