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
* **A room per area.** :func:`create_app` only builds the core object
  (:class:`~qalqan.console.web.Console`: the store, the settings, the pages),
  the middleware and the error pages (:mod:`qalqan.console.refusals`), and
  includes each area's routes (:mod:`qalqan.console.routes`). Forms are read by
  :mod:`qalqan.console.forms`, values written for people by
  :mod:`qalqan.console.formats`; the console runs no query of its own.

The database work is synchronous (SQLAlchemy), so each request runs its one
transaction in Starlette's thread pool.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware

from qalqan.cases.store import CaseStore
from qalqan.console.forms import MAX_ID, CsrfError
from qalqan.console.middleware import BodyLimit, SecurityHeaders
from qalqan.console.refusals import EXCEPTION_HANDLERS
from qalqan.console.routes import ROUTES
from qalqan.console.routes.alerts import OUTCOMES
from qalqan.console.settings import ConsoleSettings
from qalqan.console.web import PAGES, Console

__all__ = ["MAX_ID", "OUTCOMES", "PAGES", "BodyLimit", "CsrfError", "create_app"]


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
    app = Starlette(
        routes=list(ROUTES),  # each app its own table: a test may add a route to one
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
        exception_handlers=dict(EXCEPTION_HANDLERS),
    )
    app.state.console = Console(store=the_store, settings=config)
    app.state.store = the_store
    app.state.settings = config
    return app
