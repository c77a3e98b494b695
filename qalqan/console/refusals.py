"""The pages a refusal gets, at the edge: each exception of the library or the console to its page.

* :class:`~qalqan.console.web.NotSignedIn` → the login form (303; an htmx refresh gets
  ``HX-Redirect``);
* :class:`~qalqan.cases.errors.PermissionDenied` → 403, "not for your role";
* :class:`~qalqan.console.forms.CsrfError` → 403, audited, and counted toward an address's lock;
* :class:`~qalqan.console.forms.BadRequest` → 400;
* :class:`~qalqan.cases.errors.NotFoundError` → 404;
* :class:`~qalqan.cases.errors.WorkflowError` → 409, in the reader's language when it has a code;
* :class:`~qalqan.cases.errors.AlreadyClaimedError` → 409, saying who holds the alert;
* anything else → 500, with no details and the security headers of every page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from qalqan.cases.errors import (
    AlreadyClaimedError,
    NotFoundError,
    PermissionDenied,
    WorkflowError,
)
from qalqan.cases.roles import ANONYMOUS
from qalqan.console.forms import BadRequest, CsrfError
from qalqan.console.i18n import MESSAGES, translate
from qalqan.console.middleware import SecurityHeaders
from qalqan.console.web import NotSignedIn, client_of, console_of, lang_of, redirect

__all__ = ["EXCEPTION_HANDLERS"]


async def not_signed_in(request: Request, exc: Exception) -> Response:
    if request.headers.get("hx-request"):  # a refresh of part of a page: leave the page
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return redirect("/login")


async def forbidden(request: Request, exc: Exception) -> Response:
    actor = request.scope.get("qalqan.actor")
    role = translate(lang_of(request), f"role_{actor.role.value}") if actor else ""
    return console_of(request).render(
        request, "message.html", 403, title_key="forbidden_title",
        text=translate(lang_of(request), "forbidden_text", role=role),
    )  # fmt: skip


async def bad_csrf(request: Request, exc: Exception) -> Response:
    console = console_of(request)
    try:
        actor = await console.signed_in(request)
    except NotSignedIn:
        actor = ANONYMOUS
    client, now = client_of(request), console.store.clock()
    if actor is ANONYMOUS and console.throttle.address_locked(client, now):
        pass  # a flood from a locked address: its lock is on record, not every refusal
    else:
        await console.record(
            request, actor, "csrf_refused", request.url.path, {"method": request.method}
        )
        if actor is ANONYMOUS and console.throttle.refused(client, now):
            await console.record(
                request, ANONYMOUS, "login_locked", f"address:{client}",
                {"count": "address", "minutes": console.settings.login_lockout_minutes},
            )  # fmt: skip
    return console.render(
        request, "message.html", 403, title_key="csrf_title", text_key="csrf_text"
    )


async def bad_request(request: Request, exc: Exception) -> Response:
    return console_of(request).render(
        request, "message.html", 400, title_key="bad_request_title", text_key="csrf_text"
    )


async def claimed(request: Request, exc: Exception) -> Response:
    holder = exc.holder if isinstance(exc, AlreadyClaimedError) else ""
    said = translate(lang_of(request), "claimed_by_other", holder=holder)
    return console_of(request).render(
        request, "message.html", 409, title_key="workflow_error", text=said
    )


async def server_error(request: Request, exc: Exception) -> Response:
    """A bug's page: no details, and the same security headers as every other page."""
    lang = lang_of(request) if "session" in request.scope else "ru"
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
    return console_of(request).render(
        request, "message.html", 404, title_key="not_found_title", text=str(exc)
    )


async def workflow(request: Request, exc: Exception) -> Response:
    said = str(exc)
    code = getattr(exc, "code", "")
    if code and "wf_" + code in MESSAGES:
        values = dict(getattr(exc, "values", {}))
        if "outcome" in values:
            values["outcome"] = translate(lang_of(request), "out_" + values["outcome"])
        said = translate(lang_of(request), "wf_" + code, **values)
    return console_of(request).render(
        request, "message.html", 409, title_key="workflow_error", text=said
    )


EXCEPTION_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
    NotSignedIn: not_signed_in,
    PermissionDenied: forbidden,
    CsrfError: bad_csrf,
    NotFoundError: not_found,
    WorkflowError: workflow,
    AlreadyClaimedError: claimed,
    BadRequest: bad_request,
    Exception: server_error,
}
"""Handed to Starlette as the app's ``exception_handlers``."""
