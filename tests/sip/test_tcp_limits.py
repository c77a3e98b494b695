"""SIP over TCP under slow, idle and too many connections, on real loopback sockets.

Every connection holds a file descriptor; these tests prove that connections
which never finish a message, or stop talking, are closed on time, that the
connection cap makes room for a real call, and that running out of
descriptors costs a counter and a log line now and then, not a traceback per
attempt.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from qalqan.sip.message import StreamParser
from qalqan.sip.server import SipServerThread
from tests.sip.conftest import invite, table_decide, test_config
from tests.sip.test_server import read_tcp

ROOT = Path(__file__).resolve().parents[2]


def slow_connections(port: int, count: int, stack: ExitStack) -> list[socket.socket]:
    """``count`` connections that each start an INVITE and never finish its header block."""
    opened = []
    for _ in range(count):
        connection = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=3))
        connection.sendall(b"INVITE sip:+77015550001@sbc.example SIP/2.0\r\nVia: SIP/2.0/TCP h")
        opened.append(connection)
    return opened


def closed_by_server(connection: socket.socket, *, within_s: float) -> bool:
    connection.settimeout(within_s)
    try:
        return connection.recv(100) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def call_over_tcp(port: int, *, call_id: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as connection:
        connection.sendall(invite(transport="TCP", call_id=call_id, branch=f"z9hG4bK-{call_id}"))
        return read_tcp(connection, StreamParser()).status


@pytest.fixture
def tight_node() -> Iterator[SipServerThread]:
    config = test_config(tcp_max_connections=50, tcp_header_timeout_s=0.6, tcp_idle_timeout_s=1.2)
    with SipServerThread(config, table_decide) as node:
        yield node


def test_slow_connections_past_the_cap_make_room_and_a_real_call_is_answered(
    tight_node: SipServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    port = tight_node.server.tcp_port or 0
    caplog.set_level(logging.DEBUG, logger="qalqan.sip")
    with ExitStack() as stack:
        slow = slow_connections(port, 200, stack)
        started = time.monotonic()
        assert call_over_tcp(port, call_id="real-1") == 302  # answered, at once
        assert time.monotonic() - started < 1.0
        assert tight_node.server.tcp_connections <= 50
        # Every slow connection is closed: displaced by newer ones, or past its header timeout.
        assert all(closed_by_server(c, within_s=2.0) for c in slow)
        assert time.monotonic() - started < 2.5
    tcp = tight_node.server.metrics.tcp
    assert tcp.evicted >= 150
    assert tcp.timed_out["header"] >= 1
    assert tcp.evicted + tcp.timed_out["header"] >= 200
    assert tcp.refused == 0
    assert tight_node.server.tcp_connections == 0
    assert len(caplog.records) < 5  # no line per connection
    assert call_over_tcp(port, call_id="real-2") == 302


def test_a_message_dribbled_slower_than_the_header_timeout_is_cut_off(
    tight_node: SipServerThread,
) -> None:
    port = tight_node.server.tcp_port or 0
    data = invite(transport="TCP")
    with socket.create_connection(("127.0.0.1", port), timeout=3) as connection:
        started = time.monotonic()
        closed = False
        for i in range(0, len(data), 8):  # slowloris: a few bytes every 0.1 s
            try:
                connection.sendall(data[i : i + 8])
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.1)
        closed = closed or closed_by_server(connection, within_s=1.0)
        assert closed
        assert time.monotonic() - started < 1.6  # 0.6 s of header timeout, 0.25 s of sweep
    assert tight_node.server.metrics.tcp.timed_out["header"] == 1


def test_an_idle_connection_is_closed_and_keep_alives_keep_one_open(
    tight_node: SipServerThread,
) -> None:
    port = tight_node.server.tcp_port or 0
    with (
        socket.create_connection(("127.0.0.1", port), timeout=3) as idle,
        socket.create_connection(("127.0.0.1", port), timeout=3) as alive,
    ):
        for connection, call_id in ((idle, "idle-1"), (alive, "alive-1")):
            connection.sendall(
                invite(transport="TCP", call_id=call_id, branch=f"z9hG4bK-{call_id}")
            )
            assert read_tcp(connection, StreamParser()).status == 302
        for _ in range(8):  # 2 s, past the 1.2 s idle timeout
            alive.sendall(b"\r\n\r\n")  # RFC 5626 keep-alive
            time.sleep(0.25)
        assert closed_by_server(idle, within_s=0.5)
        alive.sendall(invite(transport="TCP", call_id="alive-2", branch="z9hG4bK-alive-2"))
        assert read_tcp(alive, StreamParser()).status == 302
    assert tight_node.server.metrics.tcp.timed_out["idle"] == 1


def test_at_the_cap_with_every_connection_talking_a_newcomer_is_refused() -> None:
    config = test_config(tcp_max_connections=3)
    with SipServerThread(config, table_decide) as node, ExitStack() as stack:
        port = node.server.tcp_port or 0
        for i in range(3):
            connection = stack.enter_context(
                socket.create_connection(("127.0.0.1", port), timeout=3)
            )
            connection.sendall(invite(transport="TCP", call_id=f"sbc-{i}", branch=f"z9hG4bK-s{i}"))
            assert read_tcp(connection, StreamParser()).status == 302
        newcomer = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=3))
        assert closed_by_server(newcomer, within_s=2.0)
        assert node.server.metrics.tcp.refused == 1
        assert node.server.tcp_connections == 3


#: A SIP node under a file-descriptor limit of 64, reporting its log size on request.
_CHILD = textwrap.dedent(
    """
    import json, logging, resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from qalqan.sip.server import SipServerThread
    from tests.sip.conftest import table_decide, test_config
    with SipServerThread(test_config(tcp_max_connections=1000), table_decide) as node:
        print(node.server.udp_port, node.server.tcp_port, flush=True)
        sys.stdin.readline()
        print(json.dumps(node.server.metrics.snapshot()), flush=True)
    """
)


def test_out_of_file_descriptors_the_node_pauses_accepting_and_logs_rarely(
    tmp_path: Path,
) -> None:
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr, ExitStack() as stack, ExitStack() as held:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        stack.callback(child.kill)
        assert child.stdout is not None and child.stdin is not None
        udp_port, tcp_port = map(int, child.stdout.readline().split())
        # Hold every descriptor the node has: 100 connections against a limit of 64.
        for _ in range(100):
            connection = held.enter_context(
                socket.create_connection(("127.0.0.1", tcp_port), timeout=3)
            )
            connection.sendall(b"\r\n")
        time.sleep(2.0)
        logged = os.path.getsize(stderr_path)
        # UDP needs no descriptor: calls are still answered.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.bind(("127.0.0.1", 0))
            client.settimeout(3)
            via = f"127.0.0.1:{client.getsockname()[1]}"
            client.sendto(invite(via_host=via, call_id="udp-1"), ("127.0.0.1", udp_port))
            assert client.recvfrom(65535)[0].startswith(b"SIP/2.0 302")
        # Silent connections are closed to give descriptors back: a real call gets its turn.
        assert call_over_tcp(tcp_port, call_id="tcp-during") == 302
        held.close()
        assert call_over_tcp(tcp_port, call_id="tcp-after") == 302
        child.stdin.write("\n")
        child.stdin.flush()
        snapshot = child.stdout.readline()
        child.wait(10)
    assert '"tcp_accept_failures": 0' not in snapshot
    assert logged < 2048, stderr_path.read_text(errors="replace")[:2000]
    assert "Traceback" not in stderr_path.read_text(errors="replace")


def options_over(connection: socket.socket, *, call_id: str) -> int:
    """Send one OPTIONS on an open connection and read its answer (the connection stays open)."""
    message = (
        f"OPTIONS sip:qalqan@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-{call_id}\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag={call_id}\r\n"
        f"To: <sip:qalqan@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    connection.sendall(message)
    return read_tcp(connection, StreamParser()).status


def test_connections_that_talked_once_and_went_quiet_make_room_for_a_newcomer() -> None:
    """Filling the cap with one OPTIONS per connection must not lock the SBC out until the idle timeout."""
    config = test_config(tcp_max_connections=5, tcp_header_timeout_s=0.3, tcp_idle_timeout_s=60)
    with SipServerThread(config, table_decide) as node, ExitStack() as stack:
        port = node.server.tcp_port or 0
        squatters = []
        for i in range(5):
            connection = stack.enter_context(
                socket.create_connection(("127.0.0.1", port), timeout=3)
            )
            assert options_over(connection, call_id=f"squat-{i}") == 200
            squatters.append(connection)
        time.sleep(0.5)  # quiet for longer than a message may take to arrive
        assert call_over_tcp(port, call_id="real-after-squat") == 302
        assert closed_by_server(squatters[0], within_s=1.0)  # the quietest made room
        assert node.server.metrics.tcp.refused == 0


def test_a_full_cap_of_busy_connections_refuses_a_newcomer() -> None:
    """Connections that keep talking are not displaced: the newcomer is the one refused."""
    config = test_config(tcp_max_connections=3, tcp_header_timeout_s=5, tcp_idle_timeout_s=60)
    with SipServerThread(config, table_decide) as node, ExitStack() as stack:
        port = node.server.tcp_port or 0
        for i in range(3):
            connection = stack.enter_context(
                socket.create_connection(("127.0.0.1", port), timeout=3)
            )
            assert options_over(connection, call_id=f"busy-{i}") == 200
        with socket.create_connection(("127.0.0.1", port), timeout=3) as newcomer:
            assert closed_by_server(newcomer, within_s=1.0)
        assert node.server.metrics.tcp.refused == 1
