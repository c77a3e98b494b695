"""Signing in and out, the language, and the way home: ``/``, ``/nothing``, ``/login``, ``/logout``,
``/lang``.

Sign-in is throttled (:mod:`qalqan.console.throttle`) before any password is
hashed: a locked name or address is answered 429 without a hash, at most
``login_concurrent_hashes`` Argon2 checks run at once with up to
``login_queue`` more waiting, and the rest are answered 503 at once. A
successful sign-in starts a session in the store and a new CSRF token for the
new identity.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qalqan import cases
from qalqan.cases.errors import LoginError
from qalqan.cases.roles import ANONYMOUS, Actor
from qalqan.cases.sessions import end_session, start_session
from qalqan.console.forms import back, posted, text
from qalqan.console.i18n import LANGUAGES, translate
from qalqan.console.web import client_of, console_of, flash, home_of, lang_of, redirect

__all__ = ["routes"]


async def home(request: Request) -> Response:
    return redirect(home_of((await console_of(request).signed_in(request)).role))


async def nothing(request: Request) -> Response:
    console = console_of(request)
    await console.signed_in(request)
    return console.render(request, "message.html", title_key="app_name", text_key="no_pages")


def _locked(request: Request, name: str, client: str) -> Response | None:
    """The 429 page when ``name`` or ``client`` is locked out now; None when neither is."""
    console = console_of(request)
    until = console.throttle.locked_until(name, client, console.store.clock())
    if until is None:
        return None
    seconds = max(1, int((until - console.store.clock()).total_seconds()))
    page = console.render(
        request, "message.html", 429, title_key="login_locked_title",
        text=translate(lang_of(request), "login_locked_text", until=f"{until:%H:%M}"),
    )  # fmt: skip
    page.headers["Retry-After"] = str(seconds)
    return page


async def login_page(request: Request) -> Response:
    console = console_of(request)
    if request.method == "GET":
        return console.render(request, "login.html")
    form = await posted(request)
    name, password = text(form, "username")[:200], str(form.get("password") or "")
    client = client_of(request)
    refused = _locked(request, name, client)  # before any hashing: the right password won't help
    if refused is not None:
        return refused
    if not await console.hashing.acquire():  # bounded work and a bounded wait for it
        page = console.render(
            request, "message.html", 503, title_key="login_busy_title", text_key="login_busy_text"
        )
        page.headers["Retry-After"] = "1"
        return page
    refused = _locked(request, name, client)  # a lock made while this sign-in waited applies
    if refused is not None:
        console.hashing.release()
        return refused

    def attempt(session: Any) -> tuple[Actor, str]:
        actor = cases.login(session, name, password, client=client)
        lifetime = console.settings.session_lifetime
        return actor, start_session(session, actor, client=client, lifetime=lifetime)

    try:
        actor, token = await console.in_store(attempt)
    except LoginError:
        for key in console.throttle.failed(name, client, console.store.clock()):
            kind = key[0]
            target = f"address:{client}" if kind == "address" else f"user:{name[:64]}"
            await console.record(
                request, ANONYMOUS, "login_locked", target,
                {"count": kind, "minutes": console.settings.login_lockout_minutes},
            )  # fmt: skip
        flash(request, "login_failed")
        return console.render(request, "login.html", status_code=401, username=name)
    finally:
        console.hashing.release()
    console.throttle.succeeded(name, client)
    lang = lang_of(request)
    request.session.clear()
    request.session.update(
        sid=token,
        lang=lang,
        csrf=secrets.token_urlsafe(32),  # a new token for a new identity
    )
    return redirect(home_of(actor.role))


async def logout(request: Request) -> Response:
    await posted(request)
    token = request.session.get("sid")
    if isinstance(token, str):
        client = client_of(request)
        await console_of(request).in_store(
            lambda session: end_session(session, token, client=client)
        )
    lang = lang_of(request)
    request.session.clear()
    request.session["lang"] = lang
    return redirect("/login")


async def set_language(request: Request) -> Response:
    form = await posted(request)
    chosen = text(form, "lang")
    if chosen in LANGUAGES:
        request.session["lang"] = chosen  # the cookie only: the session's end does not move
    return redirect(back(form, "/"))


routes = [
    Route("/", home),
    Route("/nothing", nothing),
    Route("/login", login_page, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/lang", set_language, methods=["POST"]),
]
