"""The SIP redirect server on the network: UDP and TCP listeners around :class:`RedirectService`.

This is the only module of :mod:`qalqan.sip` that touches sockets or an event
loop; parsing, transactions, screening and the deadline all live in the
sans-I/O :class:`~qalqan.sip.redirect.RedirectService`, which this module feeds
bytes and the time.

Overload protection is a bounded queue between the sockets and screening. The
UDP socket is drained in bursts into the queue; screening takes requests from
it in batches, yielding to the event loop in between so that reading keeps up.
When the queue is full a new request is answered at once, unscreened, with the
configured default action (or 503), instead of letting memory grow or the
SBC's timers run out. A request that waited in the queue past the screening
deadline is answered the same way. ``decide`` runs synchronously on the loop:
it is meant to be a fast, in-memory engine, and its time is measured.

:class:`SipServerThread` runs a server on an event loop of its own thread, for
synchronous callers: tests, benchmarks and a command-line ``serve``.

    >>> from qalqan.domain.model import Action, Decision
    >>> from qalqan.sip.config import SipConfig
    >>> config = SipConfig(listen_host="127.0.0.1", udp_port=0, tcp_port=0)
    >>> with SipServerThread(config, lambda attempt: Decision(action=Action.ALLOW, score=0.0)) as node:
    ...     node.server.udp_port > 0
    True
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import cast

from qalqan.sip.config import SipConfig
from qalqan.sip.message import Request, Response, SipError, SipParseError, StreamParser
from qalqan.sip.metrics import SipMetrics
from qalqan.sip.redirect import Decide, RedirectService
from qalqan.sip.transaction import Peer, Send

__all__ = ["SipServer", "SipServerThread"]

logger = logging.getLogger(__name__)

_READ_BURST = 64
"""Datagrams read per wake-up of the UDP socket."""
_SCREEN_BATCH = 32
"""Requests screened before yielding to the event loop."""
_TIMER_RESOLUTION_S = 0.02
_TCP_WRITE_LIMIT = 1 << 20
"""A TCP peer that leaves this much unread is cut off rather than buffered for."""


@dataclass(slots=True)
class _Pending:
    peer: Peer
    arrived: float
    data: bytes = b""
    message: Request | Response | None = None


class SipServer:
    """Qalqan's SIP redirect server: ``SipServer(config, decide)``, then ``await start()``.

    ``decide`` is the screening engine: a function from
    :class:`~qalqan.domain.model.CallAttempt` to
    :class:`~qalqan.domain.model.Decision`. Ports 0 pick free ports;
    :attr:`udp_port` and :attr:`tcp_port` tell the ones bound.
    """

    def __init__(
        self,
        config: SipConfig,
        decide: Decide,
        *,
        metrics: SipMetrics | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config
        self.clock = clock
        self.service = RedirectService(config=config, decide=decide, metrics=metrics, clock=clock)
        self._pending: deque[_Pending] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._udp: socket.socket | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: dict[int, _TcpConnection] = {}
        self._connection_count = 0
        self._screening_scheduled = False
        self._timers: asyncio.Task[None] | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def metrics(self) -> SipMetrics:
        return self.service.metrics

    @property
    def udp_port(self) -> int | None:
        """The UDP port bound, None when UDP is off or not started."""
        return None if self._udp is None else int(self._udp.getsockname()[1])

    @property
    def tcp_port(self) -> int | None:
        if self._tcp is None or not self._tcp.sockets:
            return None
        return int(self._tcp.sockets[0].getsockname()[1])

    @property
    def queued(self) -> int:
        """Requests waiting to be screened."""
        return len(self._pending)

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the listeners and start the timers; raises :class:`SipError` if a port is taken."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopped = asyncio.Event()
        config = self.config
        try:
            if config.udp_port is not None:
                self._udp = self._open_udp(config.listen_host, config.udp_port)
                loop.add_reader(self._udp.fileno(), self._read_udp)
            if config.tcp_port is not None:
                self._tcp = await loop.create_server(
                    lambda: _TcpConnection(self),
                    host=config.listen_host,
                    port=config.tcp_port,
                    reuse_address=True,
                )
        except OSError as error:
            await self.stop()
            raise SipError(
                f"cannot listen on {config.listen_host}: {error.strerror or error}"
            ) from error
        self._timers = loop.create_task(self._run_timers())
        logger.info(
            "SIP redirect server listening on %s (udp %s, tcp %s)",
            config.listen_host,
            self.udp_port,
            self.tcp_port,
        )

    async def stop(self) -> None:
        """Close the listeners and connections; requests still queued are dropped."""
        if self._timers is not None:
            self._timers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timers
            self._timers = None
        if self._udp is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._udp.fileno())
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for connection in list(self._connections.values()):
                connection.close()
            await self._tcp.wait_closed()
            self._tcp = None
        self._pending.clear()
        if self._stopped is not None:
            self._stopped.set()

    async def serve_forever(self) -> None:
        """Start and run until :meth:`stop` is called (or the task is cancelled)."""
        await self.start()
        assert self._stopped is not None
        try:
            await self._stopped.wait()
        finally:
            await self.stop()

    # --- receiving -----------------------------------------------------------------------

    @staticmethod
    def _open_udp(host: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.bind((host, port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def _read_udp(self) -> None:
        sock = self._udp
        if sock is None:
            return
        for _ in range(_READ_BURST):
            try:
                data, address = sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                logger.debug("UDP receive failed: %s", error)
                return
            self._admit(_Pending(Peer("udp", address[0], address[1]), self.clock(), data=data))

    def _admit(self, item: _Pending) -> None:
        """Queue a request for screening, or answer it at once when the queue is full."""
        if len(self._pending) >= self.config.queue_size:
            self._process(item, shed=True)
            return
        self._pending.append(item)
        if not self._screening_scheduled and self._loop is not None:
            self._screening_scheduled = True
            self._loop.call_soon(self._screen_batch)

    def _screen_batch(self) -> None:
        self._screening_scheduled = False
        pending = self._pending
        for _ in range(_SCREEN_BATCH):
            if not pending:
                return
            self._process(pending.popleft(), shed=False)
        if pending and self._loop is not None:
            self._screening_scheduled = True
            self._loop.call_soon(self._screen_batch)

    def _process(self, item: _Pending, *, shed: bool) -> None:
        now = self.clock()
        try:
            if item.message is None:
                sends = self.service.handle_datagram(
                    item.data, peer=item.peer, now=now, arrived=item.arrived, shed=shed
                )
            else:
                sends = self.service.handle_message(
                    item.message, peer=item.peer, now=now, arrived=item.arrived, shed=shed
                )
        except Exception:  # the node must outlive any one bad request
            logger.exception(
                "request from %s:%s could not be handled", item.peer.host, item.peer.port
            )
            return
        self._send_all(sends)

    # --- sending -------------------------------------------------------------------------

    def _send_all(self, sends: list[Send]) -> None:
        for send in sends:
            peer = send.peer
            if peer.transport == "udp":
                if self._udp is None:
                    continue
                try:
                    self._udp.sendto(send.data, (peer.host, peer.port))
                except OSError:
                    self.metrics.send_failures += 1
            else:
                connection = self._connections.get(peer.connection)
                if connection is None or not connection.write(send.data):
                    self.metrics.send_failures += 1

    async def _run_timers(self) -> None:
        while True:
            now = self.clock()
            try:
                self._send_all(self.service.tick(now))
            except Exception:
                logger.exception("transaction timers failed")
            deadline = self.service.next_deadline()
            delay = _TIMER_RESOLUTION_S
            if deadline is not None:
                delay = min(max(deadline - now, 0.001), _TIMER_RESOLUTION_S)
            await asyncio.sleep(delay)

    # --- TCP connections -----------------------------------------------------------------

    def _register(self, connection: _TcpConnection) -> int:
        self._connection_count += 1
        self._connections[self._connection_count] = connection
        return self._connection_count

    def _unregister(self, number: int) -> None:
        self._connections.pop(number, None)


class _TcpConnection(asyncio.Protocol):
    """One TCP connection from an SBC: frames messages and queues them for screening."""

    def __init__(self, server: SipServer) -> None:
        self.server = server
        self.parser = StreamParser(max_message_size=server.config.max_message_size)
        self.transport: asyncio.Transport | None = None
        self.peer = Peer("tcp", "", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        name = transport.get_extra_info("peername") or ("", 0)
        number = self.server._register(self)
        self.peer = Peer("tcp", str(name[0]), int(name[1]), number)

    def data_received(self, data: bytes) -> None:
        server = self.server
        self.parser.feed(data)
        while True:
            try:
                message = self.parser.next_message()
            except SipParseError as error:
                server._send_all(server.service.handle_malformed(error, peer=self.peer))
                if self.parser.broken:
                    self.close()
                    return
                continue
            if message is None:
                return
            server._admit(_Pending(self.peer, server.clock(), message=message))

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._unregister(self.peer.connection)
        self.transport = None

    def write(self, data: bytes) -> bool:
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > _TCP_WRITE_LIMIT:
            transport.abort()
            return False
        transport.write(data)
        return True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class SipServerThread:
    """A :class:`SipServer` on its own event-loop thread, for synchronous programs.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        config: SipConfig,
        decide: Decide,
        *,
        metrics: SipMetrics | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.server = SipServer(config, decide, metrics=metrics, clock=clock)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="qalqan-sip", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise SipError(f"the SIP server did not start within {timeout:g} s")
        if self._error is not None:
            raise self._error

    def stop(self, timeout: float = 10.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> SipServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.server.start()
        except BaseException as error:
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()
