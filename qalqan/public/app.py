"""The public application: ``/`` and ``/check`` pages, ``GET /v1/check/{number}``, the report form.

A plain Starlette app, apart from the operators' console: it imports nothing of
it, holds no session and signs nobody in, so it can be served on its own host
(``qalqan serve-public``) with only the case store behind it. Every route is a
thin adapter over :class:`~qalqan.public.face.PublicFace`.

Routes::

    GET  /                     the check form (and the verdict with ?number=)
    GET  /check?number=        the verdict page
    GET  /v1/check/{number}    the verdict as JSON
    GET  /report               the report form (CSRF cookie and field, a challenge)
    POST /report               the form posted (multipart; CSRF, proof of work)
    GET  /v1/challenge         a proof-of-work challenge, JSON
    POST /v1/reports           a report as JSON (proof of work; no cookies used)
    GET  /metrics              counters by outcome (Prometheus text)

Refusals of the JSON API share one shape: ``{"error": {"status", "code",
"message", "field"}}``. A client over its budget gets 429 with ``Retry-After``;
a report that cannot be checked for replay now (the memory of spent challenges
full, or the shared store not answering) 503 with ``Retry-After``.

With a shared store (:mod:`qalqan.public.shared`) taking a token, checking a
proof and reading the counts ask the network: they run off the event loop.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TypeVar, cast

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qalqan.cases.reports import MAX_TEXT, NewReport
from qalqan.cases.store import CaseStore
from qalqan.domain.messages import render
from qalqan.domain.model import ReportCategory, ReportChannel
from qalqan.errors import NumberError, QalqanError
from qalqan.public.checks import NumberVerdict, parse_number
from qalqan.public.face import PublicFace, PublicSettings, outcome_of
from qalqan.public.i18n import LANGUAGES, language_of, words
from qalqan.public.pow import PowError
from qalqan.public.shared import BucketsInRedis
from qalqan.public.throttle import TokenBuckets
from qalqan.public.uploads import UploadError, read_screenshot
from qalqan.screening.network import ProtectedNumbers

__all__ = ["BadReportError", "OverBudgetError", "create_app"]

HERE = Path(__file__).parent
CSRF_COOKIE = "qalqan_public_csrf"
LANG_COOKIE = "qalqan_lang"
MAX_JSON_BYTES = 16 * 1024


class BadReportError(QalqanError):
    """A report refused: the field at fault and why."""

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        status: int = 400,
        code: str = "invalid_field",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.status, self.code = field, reason, status, code
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(int(self.retry_after))}


class OverBudgetError(QalqanError):
    """The budget all clients share has no token left: ``wait`` seconds until it has."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"over budget for {wait} s")
        self.wait = wait


def error(
    status: int, code: str, message: str, field: str | None = None, **headers: str
) -> JSONResponse:
    body = {"error": {"status": status, "code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers or None)


class BodyLimit:
    """A POST must say its length, at most ``max_bytes``: 411 or 413 before a byte is read."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            length = dict(scope["headers"]).get(b"content-length")
            refusal = None
            if length is None:
                refusal = error(411, "length_required", "a request body must say its length")
            elif not length.isdigit() or len(length) > 18 or int(length) > self.max_bytes:
                refusal = error(413, "body_too_large", f"a body is at most {self.max_bytes} bytes")
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


SECURITY_HEADERS: Final = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)
"""On every answer: only the application's own scripts, no framing, and no Referer that would
carry the number checked to another site; nothing cached on a shared phone."""


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def face_of(request: Request) -> PublicFace:
    return cast(PublicFace, request.app.state.face)


IPV6_CLIENT_PREFIX: Final = 64
"""An IPv6 client is its /64: a subscriber is given a whole /64 (or more) and can take any
address in it, so keying on the address would give one person 2⁶⁴ budgets."""


def client_of(request: Request) -> str:
    """The client the limits and the reporter's fingerprint key on: an IPv4 address, an IPv6
    address's /64 network (an IPv4-mapped one as its IPv4 address), or the host as given when
    it is no address."""
    host = request.client.host if request.client is not None else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)


def lang_of(request: Request) -> str:
    return language_of(
        request.query_params.get("lang") or request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def _page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    lang = lang_of(request)
    templates = cast(Jinja2Templates, request.app.state.templates)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "w": words(lang),
            "languages": LANGUAGES,
            "say": render,
            "dict": dict,
            **context,
        },
        status_code=status,
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def _limited(seconds: float, lang: str | None = None) -> JSONResponse:
    message = "too many requests" if lang is None else words(lang)["error.limited"]
    return error(429, "rate_limited", message, **{"Retry-After": str(int(seconds))})


async def _take_own(limiter: TokenBuckets | BucketsInRedis, client: str) -> float | None:
    """A token of ``client``'s own bucket (off the event loop when it asks the network)."""
    if isinstance(limiter, BucketsInRedis):
        return await run_in_threadpool(limiter.take_own, client)
    return limiter.take_own(client)


def _verdict_of(face: PublicFace, client: str, typed: str) -> NumberVerdict | Response:
    wait = face.checks.take(client)
    if wait is not None:
        face.metrics.check("limited")
        return _limited(wait)
    try:
        number = parse_number(typed, region=face.settings.home_region)
    except NumberError as e:
        face.metrics.check("invalid")
        return error(400, "invalid_number", str(e), "number")
    return face.check(number)


async def _verdict(request: Request, typed: str) -> NumberVerdict | Response:
    """The token, the number read and the store asked, in one trip off the event loop (the
    token may be in Redis, the store is a database)."""
    return await run_in_threadpool(_verdict_of, face_of(request), client_of(request), typed)


async def check_json(request: Request) -> Response:
    verdict = await _verdict(request, request.path_params["number"])
    if isinstance(verdict, Response):
        return verdict
    return JSONResponse(verdict.as_data(lang_of(request)))


async def check_page(request: Request) -> Response:
    typed = request.query_params.get("number", "")
    if not typed:
        return _page(request, "check.html", verdict=None, typed="")
    verdict = await _verdict(request, typed)
    if isinstance(verdict, Response):
        status = verdict.status_code
        key = "error.limited" if status == 429 else "error.number"
        page = _page(
            request, "check.html", status=status, verdict=None, typed=typed[:40], problem=key
        )
        if "retry-after" in verdict.headers:
            page.headers["Retry-After"] = verdict.headers["retry-after"]
        return page
    return _page(request, "check.html", verdict=verdict, typed=typed[:40])


async def challenge(request: Request) -> Response:
    face = face_of(request)
    wait = await _take_own(face.reports, client_of(request))
    if wait is not None:
        return _limited(wait)
    token = face.pow.issue()
    return JSONResponse({"challenge": token, "difficulty": int(token.split(".")[2])})


async def report_form(request: Request) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = _page(
        request,
        "report.html",
        csrf=token,
        challenge=face_of(request).pow.issue(),
        channels=[c.value for c in ReportChannel],
        categories=[c.value for c in ReportCategory],
        outcome=None,
        problem=None,
    )
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


def _text(fields: dict[str, Any], name: str, limit: int) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadReportError(name, "must be text")
    if len(value) > limit:
        raise BadReportError(name, f"at most {limit} characters")
    return value.strip()


E = TypeVar("E", bound=StrEnum)


def _choice(fields: dict[str, Any], name: str, kind: type[E], default: E) -> E:
    """The field ``name`` as one of ``kind``'s values (``default`` when left empty)."""
    try:
        return kind(_text(fields, name, 20) or default.value)
    except ValueError as e:
        raise BadReportError(name, "one of " + ", ".join(c.value for c in kind)) from e


def read_report(face: PublicFace, fields: dict[str, Any], client: str) -> NewReport:
    """A report from its fields (form or JSON); BadReportError naming the field and why."""
    region = face.settings.home_region
    try:
        number = parse_number(_text(fields, "number", 64), region=region)
    except NumberError as e:
        raise BadReportError("number", str(e)) from e
    callback_typed = _text(fields, "callback", 64)
    try:
        callback = parse_number(callback_typed, region=region) if callback_typed else None
    except NumberError as e:
        raise BadReportError("callback", str(e)) from e
    channel = _choice(fields, "channel", ReportChannel, ReportChannel.CALL)
    category = _choice(fields, "category", ReportCategory, ReportCategory.OTHER)
    try:
        when = face.when(_text(fields, "time", 40))
    except ValueError as e:
        raise BadReportError("time", "an ISO 8601 time such as 2026-12-05T10:30") from e
    return NewReport(
        number=number,
        channel=channel,
        category=category,
        text=_text(fields, "text", MAX_TEXT),
        occurred_at=when,
        reporter_key=face.reporter_key(client),
        callback=callback,
    )


def _proof(face: PublicFace, fields: dict[str, Any]) -> None:
    """The proof checked, a token of the reports' shared budget taken (OverBudgetError when
    none is left), and the challenge spent: only a solved challenge costs everyone's budget,
    and every spent challenge took a token of it (which bounds the memory of spent ones)."""
    try:
        solved = face.pow.check(_text(fields, "challenge", 200), _text(fields, "solution", 20))
        wait = face.reports.take_shared()
        if wait is not None:
            face.metrics.report("limited")
            raise OverBudgetError(wait)
        face.pow.spend(solved)
    except PowError as e:
        if e.reason == "unavailable":
            face.metrics.report("unavailable")
            raise BadReportError(
                "solution", e.reason, status=503, code="unavailable", retry_after=e.retry_after
            ) from e
        face.metrics.report("pow_refused")
        status = 403 if e.retry_after is None else 503
        raise BadReportError(
            "solution", e.reason, status=status, code="proof_of_work", retry_after=e.retry_after
        ) from e


async def _proven(face: PublicFace, fields: dict[str, Any]) -> None:
    """The proof of work checked (off the event loop: the spent challenges may be in Redis)."""
    await run_in_threadpool(_proof, face, fields)


async def _file(face: PublicFace, report: NewReport) -> dict[str, Any]:
    filed = await run_in_threadpool(face.report, report)
    return {"report_id": filed.report_id, "outcome": outcome_of(filed)}


async def report_json(request: Request) -> Response:
    face = face_of(request)
    wait = await _take_own(face.reports, client_of(request))
    if wait is not None:
        face.metrics.report("limited")
        return _limited(wait)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return error(415, "unsupported_media_type", "send the report as application/json")
    if int(request.headers.get("content-length", "0")) > MAX_JSON_BYTES:
        return error(413, "body_too_large", f"a report is at most {MAX_JSON_BYTES} bytes")
    body = await request.body()
    try:
        fields = json.loads(body)
    except ValueError:
        return error(400, "invalid_json", "the body is not JSON")
    if not isinstance(fields, dict):
        return error(400, "invalid_body", "the body is a JSON object")
    try:
        await _proven(face, fields)
        report = read_report(face, fields, client_of(request))
    except OverBudgetError as e:
        return _limited(e.wait)
    except BadReportError as e:
        if e.code not in ("proof_of_work", "unavailable"):
            face.metrics.report("invalid")
        return error(e.status, e.code, e.reason, e.field, **e.headers)
    return JSONResponse(await _file(face, report), status_code=201)


async def _form_fields(request: Request) -> tuple[dict[str, Any], bytes | None]:
    max_part = face_of(request).settings.max_body_bytes
    form = await request.form(max_files=1, max_fields=20, max_part_size=max_part)
    fields: dict[str, Any] = {}
    upload = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            upload = data or None
        else:
            fields[name] = value
    return fields, upload


def _limited_page(request: Request, wait: float, again: dict[str, Any]) -> Response:
    page = _page(
        request, "report.html", status=429, csrf="", challenge="", problem="error.limited", **again
    )
    page.headers["Retry-After"] = str(int(wait))
    return page


async def report_post(request: Request) -> Response:
    face = face_of(request)
    again = {
        "channels": [c.value for c in ReportChannel],
        "categories": [c.value for c in ReportCategory],
        "outcome": None,
    }
    wait = await _take_own(face.reports, client_of(request))
    if wait is not None:
        face.metrics.report("limited")
        return _limited_page(request, wait, again)
    fields, upload = await _form_fields(request)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, str(fields.get("csrf", ""))):
        face.metrics.report("csrf_refused")
        return _page(
            request,
            "report.html",
            status=403,
            csrf=cookie,
            challenge=face.pow.issue(),
            problem="error.form",
            **again,
        )
    try:
        await _proven(face, fields)
        report = read_report(face, fields, client_of(request))
        if upload is not None:
            try:
                report = replace(report, attachment=read_screenshot(upload))
            except UploadError as e:
                raise BadReportError("screenshot", str(e)) from e
    except OverBudgetError as e:
        return _limited_page(request, e.wait, again)
    except BadReportError as e:
        if e.code not in ("proof_of_work", "unavailable"):
            face.metrics.report("invalid")
        problem = "error.field"
        if e.status == 503:  # busy or unavailable: worth sending again shortly
            problem = "error.unavailable"
        elif e.code == "proof_of_work":
            problem = "error.pow"
        page = _page(
            request,
            "report.html",
            status=e.status,
            csrf=cookie,
            challenge=face.pow.issue(),
            problem=problem,
            field=e.field,
            reason=e.reason,
            **again,
        )
        page.headers.update(e.headers)
        return page
    filed = await _file(face, report)
    return _page(
        request,
        "report.html",
        status=201,
        csrf=cookie,
        challenge=face.pow.issue(),
        problem=None,
        **{**again, "outcome": filed["outcome"]},
    )


async def metrics(request: Request) -> Response:
    face = face_of(request)
    page = await run_in_threadpool(face.metrics.exposition)
    return PlainTextResponse(page, media_type="text/plain; version=0.0.4")


ROUTES = [
    Route("/", check_page),
    Route("/check", check_page),
    Route("/v1/check/{number:path}", check_json),
    Route("/report", report_form, methods=["GET"]),
    Route("/report", report_post, methods=["POST"]),
    Route("/v1/challenge", challenge),
    Route("/v1/reports", report_json, methods=["POST"]),
    Route("/metrics", metrics),
    Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
]


def create_app(
    *,
    store: CaseStore,
    registry: ProtectedNumbers | None = None,
    settings: PublicSettings | None = None,
    secret: bytes | None = None,
    face: PublicFace | None = None,
) -> Starlette:
    """The public application over ``store`` (see the module's docstring)."""
    config = settings or PublicSettings()
    the_face = face or PublicFace(
        store=store, registry=registry or ProtectedNumbers(), settings=config, secret=secret
    )
    app = Starlette(
        routes=list(ROUTES),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodyLimit, max_bytes=the_face.settings.max_body_bytes),
        ],
    )
    app.state.face = the_face
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    return app
