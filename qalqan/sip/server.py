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

Every TCP connection holds a file descriptor, so none is held for free: the
server accepts connections itself, keeps at most ``tcp_max_connections``
(a newcomer past the cap displaces the oldest connection that has not yet
sent a whole message, else the one silent longest if it has been silent
longer than a message may take to arrive, or is refused), and closes a connection whose message
takes longer than ``tcp_header_timeout_s`` to arrive or that stays silent for
``tcp_idle_timeout_s``. When ``accept`` fails (EMFILE: the process is out of
descriptors) it stops accepting for a moment, counts the failure and logs it
at most once per interval: what an attacker can trigger at will never turns
into a log line per attempt.

:class:`SipServerThread` runs a server on an event loop of its own thread, for
synchronous callers: tests, benchmarks and a command-line ``serve``. The loop is
asyncio's own: uvloop's was tried, and out of file descriptors it gave a closed
connection's descriptor back later, so that the next accept failed again and a
newcomer was closed with the silent ones (``tests/sip/test_tcp_limits.py``). With ``reuse_port``
the listeners bind with SO_REUSEPORT, so that the workers of ``qalqan serve
--workers N`` share one UDP and one TCP port (:mod:`qalqan.sip.workers`).

A node alone sends each answer as soon as its request is screened; a node of a
cluster screens a batch (32 requests or 2 ms, whichever comes first), commits the
batch's state events to the shared log (group commit), then sends its answers.

Given a ``metrics_address``, the server also answers ``GET /metrics`` over HTTP
(:class:`MetricsListener`; ``qalqan serve --metrics-port``, on 127.0.0.1 by default): the
screening node's decision families, the same as on the HTTP API's page, and
the SIP server's own. It is bounded like the API: a request must arrive within
a few seconds and fit in a few kilobytes, at most a few connections are open,
one request each, and it answers nothing but ``/metrics`` and ``/healthz``.

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
import errno
import gc
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import cast

from qalqan.screening.node import ScreeningNode
from qalqan.sip.config import SipConfig
from qalqan.sip.message import Request, Response, SipError, SipParseError, StreamParser
from qalqan.sip.metrics import SipMetrics
from qalqan.sip.redirect import Decide, RedirectService
from qalqan.sip.transaction import Peer, Send
from qalqan.throttled_log import ThrottledLog

__all__ = [
    "MetricsListener",
    "SipServer",
    "SipServerThread",
    "settle_collector",
]

logger = logging.getLogger(__name__)

_READ_BURST = 64
"""Datagrams read per wake-up of the UDP socket."""
_SCREEN_BATCH = 32
"""Requests screened before yielding to the event loop."""
_COMMIT_WINDOW_S = 0.002
"""In a cluster, a batch's screening stops after this long for its group commit."""
_TIMER_RESOLUTION_S = 0.02
_TCP_WRITE_LIMIT = 1 << 20
"""A TCP peer that leaves this much unread is cut off rather than buffered for."""
_TCP_BACKLOG = 1024
_ACCEPT_BURST = 64
"""Connections accepted per wake-up of the listening socket."""
_ACCEPT_PAUSE_S = (0.1, 1.0)
"""After a failed accept, accepting pauses this long, doubling while failures last."""
_SWEEP_INTERVAL_S = 0.25
"""How often TCP connections are checked against their timeouts (at most)."""
_LOG_INTERVAL_S = 10.0
"""The same complaint is logged at most once per this many seconds."""


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
        decide: Decide | ScreeningNode,
        *,
        metrics: SipMetrics | None = None,
        clock: Callable[[], float] = time.perf_counter,
        metrics_address: tuple[str, int] | None = None,
        reuse_port: bool = False,
    ) -> None:
        self.config = config
        self.clock = clock
        self.reuse_port = reuse_port
        """Bind with SO_REUSEPORT, beside the other workers of one host (:mod:`qalqan.sip.workers`)."""
        self.service = RedirectService(config=config, decide=decide, metrics=metrics, clock=clock)
        self.metrics_address = metrics_address
        self.metrics_listener = MetricsListener(self) if metrics_address is not None else None
        self._started_at = clock()
        self._pending: deque[_Pending] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._connections: dict[int, _TcpConnection] = {}
        self._connection_count = 0
        self._accept_pause_s = _ACCEPT_PAUSE_S[0]
        self._accept_resume: asyncio.TimerHandle | None = None
        self._starting: set[asyncio.Task[None]] = set()
        self._last_sweep = 0.0
        self._complaints = ThrottledLog(logger, interval_s=_LOG_INTERVAL_S)
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
        """The TCP port bound, None when TCP is off or not started."""
        return None if self._tcp is None else int(self._tcp.getsockname()[1])

    @property
    def tcp_connections(self) -> int:
        """TCP connections open now."""
        return len(self._connections)

    @property
    def queued(self) -> int:
        """Requests waiting to be screened."""
        return len(self._pending)

    @property
    def metrics_port(self) -> int | None:
        """The port of the ``/metrics`` listener, None when it is off or not started."""
        return None if self.metrics_listener is None else self.metrics_listener.port

    def metrics_page(self) -> str:
        """The ``/metrics`` page: Prometheus text of the node's and the server's metrics."""
        return self.metrics.render(
            {
                "qalqan_sip_queued_requests": ("Requests waiting to be screened.", self.queued),
                "qalqan_sip_uptime_seconds": (
                    "Seconds since the server was made.",
                    self.clock() - self._started_at,
                ),
            }
        )

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the listeners and start the timers; raises :class:`SipError` if a port is taken."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopped = asyncio.Event()
        config = self.config
        try:
            if config.udp_port is not None:
                self._udp = self._open_udp(config.listen_host, config.udp_port, self.reuse_port)
                loop.add_reader(self._udp.fileno(), self._read_udp)
            if config.tcp_port is not None:
                self._tcp = self._open_tcp(config.listen_host, config.tcp_port, self.reuse_port)
                loop.add_reader(self._tcp.fileno(), self._accept)
            if self.metrics_listener is not None and self.metrics_address is not None:
                await self.metrics_listener.start(*self.metrics_address)
        except SipError:
            await self.stop()
            raise
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
        await self._stop_metrics()
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
        if self._accept_resume is not None:
            self._accept_resume.cancel()
            self._accept_resume = None
        if self._tcp is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._tcp.fileno())
            self._tcp.close()
            self._tcp = None
        for connection in list(self._connections.values()):
            connection.close()
        if self._connections:
            await asyncio.sleep(0)  # let the transports close
        self._pending.clear()
        if self._stopped is not None:
            self._stopped.set()

    async def _stop_metrics(self) -> None:
        if self.metrics_listener is not None:
            await self.metrics_listener.stop()

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
    def _open_udp(host: str, port: int, reuse_port: bool = False) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    @staticmethod
    def _open_tcp(host: str, port: int, reuse_port: bool = False) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(_TCP_BACKLOG)
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
            self._send_all(self._process(item, shed=True))
            return
        self._pending.append(item)
        if not self._screening_scheduled and self._loop is not None:
            self._screening_scheduled = True
            self._loop.call_soon(self._screen_batch)

    def _screen_batch(self) -> None:
        """Screen what waits, a batch at a time; answer each at once, or (in a cluster) after the
        group commit that puts the batch's state events in the shared log first.

        A cluster's batch ends after ``_SCREEN_BATCH`` requests or ``_COMMIT_WINDOW_S`` of
        screening, whichever comes first, so that the first answer of a batch waits for no more
        than that (and the commit) behind the others.
        """
        self._screening_scheduled = False
        pending = self._pending
        node = self.service.node
        if node.shared is None:  # alone: nothing to wait for
            for _ in range(_SCREEN_BATCH):
                if not pending:
                    break
                self._send_all(self._process(pending.popleft(), shed=False))
        else:
            answers: list[Send] = []
            window_ends = self.clock() + _COMMIT_WINDOW_S
            for _ in range(_SCREEN_BATCH):
                if not pending:
                    break
                answers += self._process(pending.popleft(), shed=False)
                if self.clock() >= window_ends:
                    break
            node.commit()  # the batch's state events are in the log before its answers leave
            self._send_all(answers)
        if pending and self._loop is not None:
            self._screening_scheduled = True
            self._loop.call_soon(self._screen_batch)

    def _process(self, item: _Pending, *, shed: bool) -> list[Send]:
        """The answers to one request (sent by the caller)."""
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
            self._handling_failed(f"request from {item.peer.host}:{item.peer.port}")
            return []
        return sends

    def _handling_failed(self, what: str) -> None:
        """Count a message whose handling raised; log it (with its traceback) now and then."""
        self.metrics.handling_errors += 1
        self._complaints.log(
            logging.ERROR, "handling", "%s could not be handled", what, exc_info=True
        )

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
                self.service.node.keep_up()  # in a cluster: the others' events, between calls
                if now - self._last_sweep >= _SWEEP_INTERVAL_S:
                    self._last_sweep = now
                    self._close_late_connections(now)
            except Exception:
                self._complaints.log(
                    logging.ERROR, "timers", "transaction timers failed", exc_info=True
                )
            deadline = self.service.next_deadline()
            delay = _TIMER_RESOLUTION_S
            if deadline is not None:
                delay = min(max(deadline - now, 0.001), _TIMER_RESOLUTION_S)
            await asyncio.sleep(delay)

    # --- TCP connections -----------------------------------------------------------------

    def _accept(self) -> None:
        sock = self._tcp
        if sock is None:
            return
        for _ in range(_ACCEPT_BURST):
            try:
                connection, address = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as error:
                self._accept_failed(error)
                return
            self._accept_pause_s = _ACCEPT_PAUSE_S[0]
            self._adopt(connection, address)

    def _accept_failed(self, error: OSError) -> None:
        """Out of descriptors (or another accept failure): pause accepting, count, log rarely.

        When the process is out of descriptors, the oldest connections that have
        not yet sent a whole message are closed to give them back, so that the
        connections waiting in the backlog (a real SBC among them) get their turn.
        """
        self.metrics.tcp.accept_failures += 1
        freed = 0
        if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
            strangers = [n for n, c in self._connections.items() if c.messages == 0]
            for number in strangers[:_ACCEPT_BURST]:
                self.metrics.tcp.evicted += 1
                self._connections.pop(number).abort()
                freed += 1
            self.metrics.tcp.open = len(self._connections)
        pause = _ACCEPT_PAUSE_S[0] if freed else self._accept_pause_s
        self._complaints.log(
            logging.WARNING,
            "accept",
            "cannot accept TCP connections (%s, %d open, %d silent ones closed); pausing %.1f s",
            errno.errorcode.get(error.errno or 0, str(error)),
            len(self._connections),
            freed,
            pause,
        )
        if self._loop is None or self._tcp is None:
            return
        self._loop.remove_reader(self._tcp.fileno())
        self._accept_pause_s = min(pause * 2, _ACCEPT_PAUSE_S[1])
        self._accept_resume = self._loop.call_later(pause, self._resume_accepting)

    def _resume_accepting(self) -> None:
        self._accept_resume = None
        if self._loop is not None and self._tcp is not None:
            self._loop.add_reader(self._tcp.fileno(), self._accept)

    def _adopt(self, connection: socket.socket, address: tuple[str, int]) -> None:
        """Take an accepted connection, making room under the cap or refusing it."""
        tcp = self.metrics.tcp
        if len(self._connections) >= self.config.tcp_max_connections:
            room = self._room_for_newcomer()
            if room is None:
                tcp.refused += 1
                connection.close()
                return
            tcp.evicted += 1
            self._connections.pop(room).abort()
            tcp.open = len(self._connections)
        tcp.accepted += 1
        connection.setblocking(False)
        protocol = _TcpConnection(self)
        protocol.peer = Peer("tcp", str(address[0]), int(address[1]), self._register(protocol))
        assert self._loop is not None
        task = self._loop.create_task(self._start_connection(connection, protocol))
        self._starting.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._starting.discard)

    def _room_for_newcomer(self) -> int | None:
        """The connection to close for a newcomer at the cap, or None to refuse the newcomer.

        First the oldest that has not yet sent a whole message; else the one
        silent longest, once it has been silent longer than a message may take
        to arrive (``tcp_header_timeout_s``): an SBC's connection carries calls
        or keep-alives, and one OPTIONS per connection must not buy a squatter
        its place until the idle timeout. Connections that keep talking are
        never displaced: then the newcomer is refused.
        """
        quietest: tuple[float, int] | None = None
        for number, connection in self._connections.items():
            if connection.messages == 0:
                return number
            if connection.message_started is None and (
                quietest is None or connection.last_heard < quietest[0]
            ):
                quietest = (connection.last_heard, number)
        if quietest is None or self.clock() - quietest[0] <= self.config.tcp_header_timeout_s:
            return None
        return quietest[1]

    async def _start_connection(self, connection: socket.socket, protocol: _TcpConnection) -> None:
        assert self._loop is not None
        if protocol.closed:  # displaced or the server stopped before it started
            connection.close()
            return
        try:
            await self._loop.connect_accepted_socket(lambda: protocol, connection)
        except OSError:
            connection.close()
            self._unregister(protocol.peer.connection)

    def _close_late_connections(self, now: float) -> None:
        """Close connections slower than ``tcp_header_timeout_s`` or idler than ``tcp_idle_timeout_s``."""
        header_s, idle_s = self.config.tcp_header_timeout_s, self.config.tcp_idle_timeout_s
        late: list[tuple[int, str]] = []
        for number, connection in self._connections.items():
            if connection.message_started is not None:
                if now - connection.message_started > header_s:
                    late.append((number, "header"))
            elif connection.messages == 0:
                if now - connection.opened > header_s:
                    late.append((number, "header"))
            elif now - connection.last_heard > idle_s:
                late.append((number, "idle"))
        for number, cause in late:
            self.metrics.tcp.timed_out[cause] += 1
            self._connections.pop(number).abort()
        self.metrics.tcp.open = len(self._connections)

    def _register(self, connection: _TcpConnection) -> int:
        self._connection_count += 1
        self._connections[self._connection_count] = connection
        self.metrics.tcp.open = len(self._connections)
        return self._connection_count

    def _unregister(self, number: int) -> None:
        self._connections.pop(number, None)
        self.metrics.tcp.open = len(self._connections)


class _TcpConnection(asyncio.Protocol):
    """One TCP connection from an SBC: frames messages and queues them for screening."""

    def __init__(self, server: SipServer) -> None:
        self.server = server
        self.parser = StreamParser(max_message_size=server.config.max_message_size)
        self.transport: asyncio.Transport | None = None
        self.peer = Peer("tcp", "", 0)
        self.opened = self.last_heard = server.clock()
        self.message_started: float | None = None
        """When the first byte of the message now arriving came; None between messages."""
        self.messages = 0
        """Whole, well-formed messages received so far (garbage earns no standing)."""
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self.closed:  # displaced or timed out before it started
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        server = self.server
        now = server.clock()
        self.last_heard = now
        started = self.message_started if self.parser.buffered else now
        completed = False
        self.parser.feed(data)
        try:
            while True:
                try:
                    message = self.parser.next_message()
                except SipParseError as error:
                    completed = True
                    server._send_all(server.service.handle_malformed(error, peer=self.peer))
                    if self.parser.broken:
                        self.close()
                        return
                    continue
                if message is None:
                    break
                self.messages += 1
                completed = True
                server._admit(_Pending(self.peer, now, message=message))
        except Exception:  # a bug must cost this connection, not the node or its log
            server._handling_failed(f"TCP data from {self.peer.host}:{self.peer.port}")
            self.abort()
            return
        if not self.parser.buffered:
            self.message_started = None
        else:
            self.message_started = now if completed else started

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
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Close at once, unsent data dropped: the descriptor is freed without waiting on the peer."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


_METRICS_MAX_CONNECTIONS = 8
_METRICS_MAX_REQUEST_BYTES = 8192
_METRICS_TIMEOUT_S = 5.0


class MetricsListener:
    """``GET /metrics`` (and ``/healthz``) over HTTP/1.1 for a :class:`SipServer`, bounded.

    One request per connection, answered and closed. A request must arrive
    whole within five seconds and in 8 KB; past eight open connections a
    newcomer is closed at once. Runs on the SIP server's own event loop, so the
    page is read between two calls, never during one.
    """

    def __init__(self, server: SipServer) -> None:
        self.server = server
        self._listener: asyncio.Server | None = None
        self._open = 0

    @property
    def port(self) -> int | None:
        if self._listener is None or not self._listener.sockets:
            return None
        return int(self._listener.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port``; raises :class:`SipError` when it cannot."""
        try:
            self._listener = await asyncio.start_server(
                self._answer, host, port, limit=_METRICS_MAX_REQUEST_BYTES, backlog=64
            )
        except OSError as error:
            raise SipError(
                f"cannot open /metrics on {host}:{port}: {error.strerror or error}"
            ) from error

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._listener.wait_closed(), 1.0)
            self._listener = None

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._open >= _METRICS_MAX_CONNECTIONS:
            writer.close()
            return
        self._open += 1
        try:
            status, body, content_type = await asyncio.wait_for(
                self._respond(reader), _METRICS_TIMEOUT_S
            )
        except (TimeoutError, asyncio.LimitOverrunError, asyncio.IncompleteReadError, ValueError):
            status, body, content_type = 400, b"bad request\n", "text/plain; charset=utf-8"
        except ConnectionError:
            self._open -= 1
            writer.close()
            return
        try:
            head = (
                f"HTTP/1.1 {status} {_PHRASES[status]}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await asyncio.wait_for(writer.drain(), _METRICS_TIMEOUT_S)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self._open -= 1
            writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[int, bytes, str]:
        head = await reader.readuntil(b"\r\n\r\n")
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        text = "text/plain; charset=utf-8"
        if path not in ("/metrics", "/healthz"):
            return 404, b"not found: the SIP server answers GET /metrics and /healthz\n", text
        if method not in ("GET", "HEAD"):
            return 405, b"method not allowed: use GET\n", text
        if path == "/healthz":
            node = self.server.service.node
            if not node.ready:
                return 503, b"catching up with the cluster\n", text
            body = {None: b"ok\n", True: b"ok; cluster store up\n"}.get(
                node.store_up, b"ok; cluster store down\n"
            )
        else:
            body = self.server.metrics_page().encode()
            text = "text/plain; version=0.0.4; charset=utf-8"
        return 200, b"" if method == "HEAD" else body, text


_PHRASES = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


#: Collections of the oldest generation wait for this many of the middle one (Python's own: 10).
_OLDEST_GENERATION_AFTER = 1000


def settle_collector() -> None:
    """Set the garbage collector for a node that answers calls, once it has loaded what it knows.

    What was loaded (the engine, its tables) is frozen: the collector no longer walks
    it. And the oldest generation is collected a hundred times less often: a node's
    rolling state and its transactions grow into it, and walking them paused a node
    for 27-47 ms every few thousand calls (measured: 20,000 calls of the benchmark's
    feed, in-process), each pause answering dozens of calls late. Most garbage here
    is freed at once by reference counting; cycles wait longer, never forever.
    """
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _OLDEST_GENERATION_AFTER)


class SipServerThread:
    """A :class:`SipServer` on its own event-loop thread, for synchronous programs.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        config: SipConfig,
        decide: Decide | ScreeningNode,
        *,
        metrics: SipMetrics | None = None,
        clock: Callable[[], float] = time.perf_counter,
        metrics_address: tuple[str, int] | None = None,
        reuse_port: bool = False,
    ) -> None:
        self.server = SipServer(
            config,
            decide,
            metrics=metrics,
            clock=clock,
            metrics_address=metrics_address,
            reuse_port=reuse_port,
        )
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
