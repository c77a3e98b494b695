"""The HTTP API's connections under slow, idle, oversized and too many clients, on real sockets.

Every connection holds a file descriptor; a client that never finishes its
request must not hold one for long, and a crowd of them must not keep a real
request from its answer.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from qalqan.api.app import ScreeningApi
from qalqan.api.config import ApiSettings
from qalqan.api.server import ApiServerThread
from tests.api.conftest import attempt_json, rule_decide

ROOT = Path(__file__).resolve().parents[2]


def screen_request(record_id: str = "real-1") -> bytes:
    body = json.dumps(attempt_json(record_id=record_id)).encode()
    head = (
        "POST /v1/screen HTTP/1.1\r\nHost: qalqan.test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def answer_of(connection: socket.socket) -> tuple[int, bytes]:
    """The status and the whole of what the server sent until it closed or went quiet."""
    data = b""
    connection.settimeout(3)
    try:
        while chunk := connection.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    None,
                )
                if length is not None and len(body) >= length:
                    break
    except ConnectionResetError:
        pass
    status = int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data


def real_request(port: int, record_id: str = "real-1") -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as connection:
        connection.sendall(screen_request(record_id))
        return answer_of(connection)[0]


def closed_by_server(connection: socket.socket, *, within_s: float) -> bool:
    connection.settimeout(within_s)
    try:
        while connection.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.fixture
def tight_server() -> Iterator[ApiServerThread]:
    settings = ApiSettings(max_connections=50, header_timeout_s=0.6, max_header_bytes=8192)
    api = ScreeningApi(engine=lambda: rule_decide, settings=settings)
    with ApiServerThread(api) as running:
        deadline = time.monotonic() + 5
        while real_request(running.port, "warm-up") != 200:
            assert time.monotonic() < deadline, "the engine never became ready"
            time.sleep(0.01)
        yield running


def test_slow_connections_past_the_cap_make_room_and_a_real_request_is_answered(
    tight_server: ApiServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with ExitStack() as stack:
        slow = []
        for _ in range(200):
            connection = stack.enter_context(
                socket.create_connection(("127.0.0.1", tight_server.port), timeout=3)
            )
            connection.sendall(b"POST /v1/screen HTTP/1.1\r\nHost: qalqan.test\r\n")
            slow.append(connection)
        started = time.monotonic()
        assert real_request(tight_server.port) == 200
        assert time.monotonic() - started < 1.0
        assert all(closed_by_server(c, within_s=2.0) for c in slow)
        assert time.monotonic() - started < 2.5
    guard = tight_server.guard
    assert guard.evicted >= 150  # displaced by newer ones
    assert guard.timed_out >= 1  # the last ones, after 0.6 s
    assert guard.evicted + guard.timed_out >= 200
    assert guard.refused == 0
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) < 5
    with socket.create_connection(("127.0.0.1", tight_server.port), timeout=3) as connection:
        connection.sendall(b"GET /metrics HTTP/1.1\r\nHost: qalqan.test\r\n\r\n")
        page = answer_of(connection)[1].decode()
    assert f"qalqan_http_connections_evicted {guard.evicted}" in page
    assert f"qalqan_http_connections_timed_out {guard.timed_out}" in page


def test_a_connection_that_sends_nothing_gets_408_and_is_closed(
    tight_server: ApiServerThread,
) -> None:
    with socket.create_connection(("127.0.0.1", tight_server.port), timeout=3) as connection:
        started = time.monotonic()
        status, data = answer_of(connection)
        assert status == 408
        assert json.loads(data.partition(b"\r\n\r\n")[2])["error"]["code"] == "request_timeout"
        assert 0.5 < time.monotonic() - started < 1.5


def test_headers_dribbled_slower_than_the_header_timeout_get_408(
    tight_server: ApiServerThread,
) -> None:
    data = screen_request()
    with socket.create_connection(("127.0.0.1", tight_server.port), timeout=3) as connection:
        started = time.monotonic()
        for i in range(0, 60, 6):  # a few header bytes every 0.1 s: slowloris
            try:
                connection.sendall(data[i : i + 6])
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.1)
        assert answer_of(connection)[0] == 408
        assert time.monotonic() - started < 1.5


def test_a_body_dribbled_slower_than_the_timeout_gets_408(tight_server: ApiServerThread) -> None:
    data = screen_request()
    head, _, body = data.partition(b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", tight_server.port), timeout=3) as connection:
        connection.sendall(head + b"\r\n\r\n" + body[:5])
        started = time.monotonic()
        assert answer_of(connection)[0] == 408
        assert time.monotonic() - started < 1.5


def test_a_keep_alive_connection_between_requests_is_not_cut_by_the_header_timeout(
    tight_server: ApiServerThread,
) -> None:
    with socket.create_connection(("127.0.0.1", tight_server.port), timeout=3) as connection:
        for i in range(3):
            connection.sendall(screen_request(f"ka-{i}"))
            assert answer_of(connection)[0] == 200
            time.sleep(
                0.4
            )  # under keep_alive_s; the header timer runs only while a request arrives


def test_an_endless_header_block_gets_431(tight_server: ApiServerThread) -> None:
    with socket.create_connection(("127.0.0.1", tight_server.port), timeout=3) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: qalqan.test\r\n")
        try:
            for i in range(200):
                connection.sendall(f"X-Padding-{i}: {'a' * 100}\r\n".encode())
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert answer_of(connection)[0] == 431
    with socket.create_connection(("127.0.0.1", tight_server.port), timeout=3) as connection:
        padding = b"".join(b"X-Padding-%d: %s\r\n" % (i, b"a" * 100) for i in range(200))
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: qalqan.test\r\n" + padding + b"\r\n")
        assert answer_of(connection)[0] == 431  # sent at once, too


def test_at_the_cap_with_every_connection_in_a_request_a_newcomer_gets_503() -> None:
    settings = ApiSettings(max_connections=2)
    api = ScreeningApi(engine=lambda: rule_decide, settings=settings)
    with ApiServerThread(api) as running, ExitStack() as stack:
        for i in range(2):
            connection = stack.enter_context(
                socket.create_connection(("127.0.0.1", running.port), timeout=3)
            )
            connection.sendall(screen_request(f"held-{i}"))
            answer_of(connection)  # a whole request sent: no longer a stranger
        with socket.create_connection(("127.0.0.1", running.port), timeout=3) as newcomer:
            status, data = answer_of(newcomer)
        assert status == 503
        assert json.loads(data.partition(b"\r\n\r\n")[2])["error"]["code"] == "too_many_connections"


#: The API under a file-descriptor limit of 128, with the default connection cap (512).
_CHILD = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))
    from qalqan.api.app import ScreeningApi
    from qalqan.api.config import ApiSettings
    from qalqan.api.server import ApiServerThread
    from tests.api.conftest import rule_decide
    with ApiServerThread(ScreeningApi(engine=lambda: rule_decide, settings=ApiSettings())) as s:
        print(s.port, flush=True)
        sys.stdin.readline()
    """
)


def test_more_slow_connections_than_file_descriptors_still_leave_room_for_a_request(
    tmp_path: Path,
) -> None:
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr, ExitStack() as stack:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        stack.callback(child.kill)
        assert child.stdout is not None
        port = int(child.stdout.readline())
        for _ in range(300):
            connection = stack.enter_context(
                socket.create_connection(("127.0.0.1", port), timeout=3)
            )
            connection.sendall(b"GET /healthz HTTP/1.1\r\n")
        time.sleep(0.5)
        statuses = [real_request(port, f"real-{i}") for i in range(3)]
    assert statuses == [200, 200, 200]
    assert stderr_path.stat().st_size < 4096, stderr_path.read_text(errors="replace")[:2000]


def test_a_large_body_sent_at_once_is_not_taken_for_headers(tight_server: ApiServerThread) -> None:
    attempts = [attempt_json(record_id=f"b-{i}", caller=f"+7701{i:07d}") for i in range(200)]
    body = json.dumps(attempts).encode()
    assert len(body) > 8192  # over max_header_bytes of the fixture
    head = (
        "POST /v1/screen/batch HTTP/1.1\r\nHost: qalqan.test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", tight_server.port), timeout=3) as connection:
        for _ in range(2):  # on a fresh connection and between requests of a kept-alive one
            connection.sendall(head + body)
            assert answer_of(connection)[0] == 200


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_stream_of_unparseable_requests_is_logged_now_and_then(
    tight_server: ApiServerThread,
) -> None:
    records = Records()
    uvicorn_errors = logging.getLogger("uvicorn.error")
    uvicorn_errors.addHandler(records)
    try:
        for _ in range(50):
            with socket.create_connection(("127.0.0.1", tight_server.port), timeout=3) as c:
                c.sendall(bytes(range(256)))
                assert answer_of(c)[0] == 400
    finally:
        uvicorn_errors.removeHandler(records)
    assert 1 <= len(records.records) <= 2


def test_the_guard_also_holds_with_the_pure_python_h11_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    import qalqan.api.server

    monkeypatch.setattr(qalqan.api.server, "AutoHTTPProtocol", H11Protocol)
    settings = ApiSettings(max_connections=20, header_timeout_s=0.6)
    api = ScreeningApi(engine=lambda: rule_decide, settings=settings)
    with ApiServerThread(api) as running, ExitStack() as stack:
        deadline = time.monotonic() + 5
        while real_request(running.port, "warm-up") != 200:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        slow = []
        for _ in range(60):
            connection = stack.enter_context(
                socket.create_connection(("127.0.0.1", running.port), timeout=3)
            )
            connection.sendall(b"POST /v1/screen HTTP/1.1\r\nHost: qalqan.test\r\n")
            slow.append(connection)
        assert real_request(running.port) == 200
        assert all(closed_by_server(c, within_s=2.0) for c in slow)
        with socket.create_connection(("127.0.0.1", running.port), timeout=3) as silent:
            assert answer_of(silent)[0] == 408
    assert running.guard.evicted >= 40
