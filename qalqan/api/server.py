"""Serving :class:`~qalqan.api.app.ScreeningApi` over HTTP with uvicorn.

The only module of :mod:`qalqan.api` that opens a socket. :func:`serve`
runs the API in the foreground (``qalqan serve-http``); :class:`ApiServerThread`
runs it on its own thread and event loop for synchronous callers: end-to-end
tests and benchmarks. Both bind the listening socket themselves, so that
port 0 gives a free port that is known before the first request.

uvicorn picks its fastest parts when present: ``httptools`` for HTTP/1.1
parsing and ``uvloop`` for the event loop (both dependencies of Qalqan on
Linux); otherwise it falls back to ``h11`` and asyncio.

uvicorn closes a connection only when it is idle *after* a response
(``keep_alive_s``): a client that connects and never finishes its request
holds a file descriptor for ever, and a few thousand of them hold them all.
Its HTTP protocol is therefore served through :func:`guarded_protocol`, which
adds what a server facing the network needs: a request must arrive (headers
and body) within ``header_timeout_s`` or gets ``408``, a header block larger
than ``max_header_bytes`` gets ``431``, and at most ``max_connections`` are
open (bounded by the file-descriptor limit too): a newcomer past the cap
displaces the oldest connection that has not yet sent a whole request, or
gets ``503`` when every one has. Those answers take the API's one error shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from qalqan.api.app import ScreeningApi
from qalqan.api.config import ApiSettings
from qalqan.api.errors import error_body
from qalqan.api.metrics import ApiMetrics
from qalqan.errors import ConfigError
from qalqan.throttled_log import OncePerInterval

__all__ = [
    "ApiServerThread",
    "ConnectionGuard",
    "bind",
    "guarded_protocol",
    "serve",
]

logger = logging.getLogger(__name__)

_FD_RESERVE = 64
"""File descriptors kept free of client connections: logs, the engine's files, the listener."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.set_inheritable(True)
    return sock


def _refusal(status: int, phrase: str, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 answer in the API's error shape, closing the connection."""
    body = json.dumps(error_body(status, code, message)).encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class ConnectionGuard:
    """The limits one server puts on its connections, and the count of what they cost.

    ``strangers`` are the open connections that have not yet sent a whole
    request, oldest first: the ones displaced when a newcomer finds the server
    full, because a client that is talking must keep its connection.
    """

    def __init__(
        self, *, header_timeout_s: float, max_header_bytes: int, max_connections: int
    ) -> None:
        self.header_timeout_s = header_timeout_s
        self.max_header_bytes = max_header_bytes
        self.max_connections = max_connections
        self.strangers: dict[Any, None] = {}
        self.timed_out = 0
        self.headers_too_large = 0
        self.evicted = 0
        self.refused = 0

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> ConnectionGuard:
        """The guard ``settings`` ask for, with the cap kept under the file-descriptor limit."""
        cap = settings.max_connections
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and cap > soft - _FD_RESERVE:
            cap = max(soft - _FD_RESERVE, 1)
            logger.warning(
                "QALQAN_HTTP_MAX_CONNECTIONS=%d is more than the file-descriptor limit (%d) "
                "allows; at most %d connections will be open",
                settings.max_connections,
                soft,
                cap,
            )
        return cls(
            header_timeout_s=settings.header_timeout_s,
            max_header_bytes=settings.max_header_bytes,
            max_connections=cap,
        )

    def expose(self, metrics: ApiMetrics) -> None:
        """Show what the guard counts on the API's ``/metrics`` page."""
        for name, help, read in (
            (
                "timed_out",
                "Connections answered 408 and closed since start: a request came too slowly.",
                lambda: self.timed_out,
            ),
            (
                "headers_too_large",
                "Connections answered 431 and closed since start: a header block too large.",
                lambda: self.headers_too_large,
            ),
            (
                "evicted",
                "Connections yet to send a whole request, closed since start to make room.",
                lambda: self.evicted,
            ),
            (
                "refused",
                "Newcomers answered 503 since start: every open connection was in use.",
                lambda: self.refused,
            ),
            (
                "strangers",
                "Open connections that have not yet sent a whole request.",
                lambda: len(self.strangers),
            ),
        ):
            metrics.gauge(f"qalqan_http_connections_{name}", help, read)


_TIMEOUT = _refusal(408, "Request Timeout", "request_timeout", "the request did not arrive in time")
_TOO_LARGE = _refusal(
    431,
    "Request Header Fields Too Large",
    "headers_too_large",
    "the request line and headers are over the size limit",
)
_FULL = _refusal(
    503, "Service Unavailable", "too_many_connections", "too many open connections; retry"
)


# A class factory: its complexity is the sum of its methods', each of them short.
def guarded_protocol(guard: ConnectionGuard) -> type[asyncio.Protocol]:  # noqa: C901
    """uvicorn's HTTP protocol with ``guard``'s timeouts, header bound and connection cap.

    The timer runs from a new connection, or the first byte of a request, until
    that request has arrived whole (its headers and, if it has one, its body):
    a request still arriving when it fires is answered 408. Between requests
    uvicorn's own keep-alive timeout closes idle connections.
    """
    base: Any = AutoHTTPProtocol

    class GuardedHttpProtocol(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._deadline: asyncio.TimerHandle | None = None
            self._waited_cycle: Any = None
            self._header_bytes = 0
            self._header_tail = b""

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > guard.max_connections:
                stranger = next(iter(guard.strangers), None)
                if stranger is None:
                    guard.refused += 1
                    transport.write(_FULL)
                    transport.close()
                    return
                guard.evicted += 1
                stranger._drop()
            guard.strangers[self] = None
            self._start_waiting()

        def connection_lost(self, exc: Exception | None) -> None:
            guard.strangers.pop(self, None)
            self._stop_waiting()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and self._between_requests():
                self._start_waiting()
            in_headers = self._deadline is not None and self.cycle is self._waited_cycle
            if in_headers and self._header_block_too_large(data):
                guard.headers_too_large += 1
                self._refuse(_TOO_LARGE)
                return
            super().data_received(data)
            if self._deadline is not None and self._arrived():
                guard.strangers.pop(self, None)
                self._stop_waiting()

        def _header_block_too_large(self, data: bytes) -> bool:
            """Whether the header block now arriving, ``data`` included, is over the bound.

            Only the header block counts: a body arriving in the same chunk does not.
            """
            tail = self._header_tail
            end = (tail + data).find(b"\r\n\r\n")
            block = self._header_bytes + (len(data) if end < 0 else end + 4 - len(tail))
            self._header_bytes += len(data)
            self._header_tail = data[-3:]
            return block > guard.max_header_bytes

        # --- the request timer ---------------------------------------------------------

        def _between_requests(self) -> bool:
            return self.cycle is None or bool(self.cycle.response_complete)

        def _arrived(self) -> bool:
            """Whether the request being waited for is in whole (or already answered)."""
            cycle = self.cycle
            if cycle is None or cycle is self._waited_cycle:
                return False
            return not cycle.more_body or bool(cycle.response_started)

        def _start_waiting(self) -> None:
            self._stop_waiting()
            self._waited_cycle = self.cycle
            self._header_bytes = 0
            self._header_tail = b""
            self._deadline = self.loop.call_later(guard.header_timeout_s, self._too_slow)

        def _stop_waiting(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self._arrived():
                return
            guard.timed_out += 1
            self._refuse(_TIMEOUT)

        def _refuse(self, answer: bytes) -> None:
            guard.strangers.pop(self, None)
            self._stop_waiting()
            transport = self.transport
            if transport is None or transport.is_closing():
                return
            cycle = self.cycle
            if cycle is None or cycle.response_complete or not cycle.response_started:
                transport.write(answer)
            transport.close()

        def _drop(self) -> None:
            """Close at once, to give the descriptor to a newcomer."""
            guard.strangers.pop(self, None)
            self._stop_waiting()
            if self.transport is not None:
                self.transport.abort()

    return GuardedHttpProtocol


def _quiet_uvicorn_errors() -> None:
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, OncePerInterval) for f in error_log.filters):
        error_log.addFilter(OncePerInterval())


def _config(
    app: ScreeningApi, settings: ApiSettings, *, quiet: bool, guard: ConnectionGuard | None = None
) -> uvicorn.Config:
    config = uvicorn.Config(
        app,
        http=guarded_protocol(guard or ConnectionGuard.from_settings(settings)),
        lifespan="on",
        access_log=settings.access_log,
        log_level="warning" if quiet else "info",
        timeout_keep_alive=settings.keep_alive_s,
        server_header=False,
        proxy_headers=False,
    )
    _quiet_uvicorn_errors()  # after the config, which sets uvicorn's logging up
    return config


def serve(app: ScreeningApi, *, sock: socket.socket | None = None) -> None:
    """Serve ``app`` until interrupted (Ctrl-C or SIGTERM stop it gracefully)."""
    settings = app.settings
    sock = sock or bind(settings.host, settings.port)
    guard = ConnectionGuard.from_settings(settings)
    guard.expose(app.metrics)
    uvicorn.Server(_config(app, settings, quiet=False, guard=guard)).run(sockets=[sock])


class ApiServerThread:
    """The API served by uvicorn on a thread of its own; ``with ApiServerThread(app) as s: s.url``."""

    def __init__(self, app: ScreeningApi, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.sock = bind(host, port)
        address = self.sock.getsockname()
        self.host = host
        self.port = int(address[1])
        self.guard = ConnectionGuard.from_settings(app.settings)
        self.guard.expose(app.metrics)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, *, timeout_s: float = 10.0) -> None:
        server = uvicorn.Server(_config(self.app, self.app.settings, quiet=True, guard=self.guard))
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self.sock]}, name="qalqan-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.005)

    def stop(self, *, timeout_s: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> ApiServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
