"""Serving :class:`~qalqan.api.app.ScreeningApi` over HTTP with uvicorn.

The only module of :mod:`qalqan.api` that opens a socket. :func:`serve`
runs the API in the foreground (``qalqan serve-http``); :class:`ApiServerThread`
runs it on its own thread and event loop for synchronous callers: end-to-end
tests and benchmarks. Both bind the listening socket themselves, so that
port 0 gives a free port that is known before the first request.

uvicorn picks its fastest parts when present: ``httptools`` for HTTP/1.1
parsing and ``uvloop`` for the event loop (both dependencies of Qalqan on
Linux); otherwise it falls back to ``h11`` and asyncio.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

import uvicorn

from qalqan.api.app import ScreeningApi
from qalqan.api.config import ApiSettings
from qalqan.errors import ConfigError

__all__ = ["ApiServerThread", "bind", "serve"]


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


def _config(app: ScreeningApi, settings: ApiSettings, *, quiet: bool) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        lifespan="on",
        access_log=settings.access_log,
        log_level="warning" if quiet else "info",
        timeout_keep_alive=settings.keep_alive_s,
        server_header=False,
        proxy_headers=False,
    )


def serve(app: ScreeningApi, *, sock: socket.socket | None = None) -> None:
    """Serve ``app`` until interrupted (Ctrl-C or SIGTERM stop it gracefully)."""
    settings = app.settings
    sock = sock or bind(settings.host, settings.port)
    uvicorn.Server(_config(app, settings, quiet=False)).run(sockets=[sock])


class ApiServerThread:
    """The API served by uvicorn on a thread of its own; ``with ApiServerThread(app) as s: s.url``."""

    def __init__(self, app: ScreeningApi, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.sock = bind(host, port)
        address = self.sock.getsockname()
        self.host = host
        self.port = int(address[1])
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, *, timeout_s: float = 10.0) -> None:
        server = uvicorn.Server(_config(self.app, self.app.settings, quiet=True))
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
