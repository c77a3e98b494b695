"""``--push``: the MISP event goes to ``POST /events/add`` with the key; checked against a small
local HTTP server standing in for MISP (no MISP runs here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pymisp import MISPEvent

from qalqan.intel.analysis import feed_of_analysis
from qalqan.intel.misp import to_misp
from qalqan.intel.push import PushError, push_event

KEY = "s3cr3t-automation-key-0123456789abcdef"


class _FakeMisp(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.received.append(
            {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
        )
        answer = {"Event": {"id": "42"}} if self.status == 200 else {"message": "Invalid key"}
        payload = json.dumps(answer).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def misp_server() -> Iterator[tuple[str, type[_FakeMisp]]]:
    handler = type("Handler", (_FakeMisp,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_the_event_is_posted_with_the_key_and_loads_with_pymisp(
    analysis: Path, misp_server: tuple[str, type[_FakeMisp]]
) -> None:
    url, handler = misp_server
    feed = feed_of_analysis(analysis, source="Operator A")
    pushed = push_event(url + "/", to_misp(feed, tlp="amber"), key=KEY, allow_http=True)
    assert (pushed.status, pushed.event_id) == (200, "42")
    (request,) = handler.received
    assert request["path"] == "/events/add"
    assert request["headers"]["Authorization"] == KEY
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Accept"] == "application/json"
    event = MISPEvent()
    event.load(request["body"].decode())
    assert "tlp:amber" in {t.name for t in event.tags}
    assert len(event.objects) == len(feed.indicators) + len(feed.campaigns)


def test_a_refusal_says_so_without_the_key(
    analysis: Path, misp_server: tuple[str, type[_FakeMisp]]
) -> None:
    url, handler = misp_server
    handler.status = 403
    with pytest.raises(PushError, match="HTTP 403") as refused:
        push_event(url, to_misp(feed_of_analysis(analysis)), key=KEY, allow_http=True)
    assert KEY not in str(refused.value)


def test_plain_http_and_an_empty_key_are_refused(analysis: Path) -> None:
    event = to_misp(feed_of_analysis(analysis))
    with pytest.raises(PushError, match="https://"):
        push_event("http://misp.example", event, key=KEY)
    with pytest.raises(PushError, match="key is empty"):
        push_event("https://misp.example", event, key="")


def test_an_unreachable_instance_is_one_clear_error(analysis: Path) -> None:
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(PushError, match="cannot reach the MISP instance"):
        push_event(
            f"http://127.0.0.1:{port}",
            to_misp(feed_of_analysis(analysis)),
            key=KEY,
            allow_http=True,
            timeout_s=2,
        )
