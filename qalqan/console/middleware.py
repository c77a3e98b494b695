"""What every response and request passes through: security headers and a cap on the body.

:class:`SecurityHeaders` keeps the pages from being framed, sniffed or fed
scripts; :class:`BodyLimit` refuses a request body over the cap (413) before it
is read.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "BodyLimit", "SecurityHeaders"]


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
