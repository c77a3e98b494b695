"""The SIP server's ``/metrics`` over real HTTP, and the same decision families as the HTTP API's."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qalqan.api.app import ScreeningApi
from qalqan.api.server import ApiServerThread
from qalqan.screening.node import NodeSettings, ScreeningNode
from qalqan.sip.server import SipServerThread
from tests.api.conftest import attempt_json
from tests.sip.conftest import invite, table_decide, test_config

ROOT = Path(__file__).resolve().parents[2]


def families(page: str, prefix: str) -> set[str]:
    """The metric families of a Prometheus page whose names start with ``prefix``."""
    return {line.split()[2] for line in page.splitlines() if line.startswith(f"# TYPE {prefix}")}


@pytest.fixture
def sip_with_metrics() -> Iterator[SipServerThread]:
    node = ScreeningNode(table_decide, settings=NodeSettings(deadline_ms=50))
    with SipServerThread(test_config(), node, metrics_address=("127.0.0.1", 0)) as running:
        yield running


def screen_one(running: SipServerThread, callee: str) -> bytes:
    port = running.server.udp_port
    assert port is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.bind(("127.0.0.1", 0))
        uri = f"sip:{callee}@sbc.example;user=phone"
        sock.sendto(
            invite(uri=uri, via_host=f"127.0.0.1:{sock.getsockname()[1]}"), ("127.0.0.1", port)
        )
        return sock.recv(65535)


def test_the_sip_server_answers_metrics_over_http(sip_with_metrics: SipServerThread) -> None:
    assert screen_one(sip_with_metrics, "+77015550002").startswith(b"SIP/2.0 302")
    url = f"http://127.0.0.1:{sip_with_metrics.server.metrics_port}"
    response = httpx.get(f"{url}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    page = response.text
    assert 'qalqan_node_decisions_total{action="warn"} 1' in page
    assert 'qalqan_node_decision_reasons_total{rule="test.table"} 1' in page
    assert "qalqan_node_engine_seconds_count 1" in page
    assert 'qalqan_sip_requests_total{method="INVITE"} 1' in page
    assert 'qalqan_sip_responses_total{status="302"} 1' in page
    assert "qalqan_sip_queued_requests 0" in page
    assert httpx.get(f"{url}/healthz", timeout=5).text == "ok\n"
    assert httpx.get(f"{url}/v1/screen", timeout=5).status_code == 404
    assert httpx.post(f"{url}/metrics", timeout=5).status_code == 405


def test_the_metrics_listener_holds_few_connections(sip_with_metrics: SipServerThread) -> None:
    port = sip_with_metrics.server.metrics_port
    assert port is not None
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(8)]
    try:
        time.sleep(0.2)  # let the server take them in
        newcomer = socket.create_connection(("127.0.0.1", port), timeout=5)
        # closed at once, unanswered: the listener is full
        with newcomer, contextlib.suppress(ConnectionResetError):
            newcomer.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            assert newcomer.recv(1024) == b""
        oversized = idle.pop()
        oversized.sendall(b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 10_000 + b"\r\n\r\n")
        assert oversized.recv(1024).startswith(b"HTTP/1.1 400")
        oversized.close()
    finally:
        for sock in idle:
            sock.close()
    assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200


def test_both_faces_show_the_same_decision_families(sip_with_metrics: SipServerThread) -> None:
    screen_one(sip_with_metrics, "+77015550004")
    sip_page = httpx.get(
        f"http://127.0.0.1:{sip_with_metrics.server.metrics_port}/metrics", timeout=5
    ).text
    api = ScreeningApi(node=ScreeningNode(table_decide))
    with ApiServerThread(api) as http, httpx.Client(base_url=http.url, timeout=5) as client:
        assert client.post("/v1/screen", json=attempt_json()).status_code == 200
        http_page = client.get("/metrics").text
    node_families = {
        "qalqan_node_decisions_total",
        "qalqan_node_decision_reasons_total",
        "qalqan_node_fail_open_total",
        "qalqan_node_deadline_misses_total",
        "qalqan_node_engine_seconds",
    }
    assert families(sip_page, "qalqan_node_") == node_families
    assert families(http_page, "qalqan_node_") == node_families
    assert 'qalqan_node_decisions_total{action="block"} 1' in sip_page


@pytest.mark.parametrize(
    ("flags", "environ"),
    [(["--metrics-port", "0"], {}), ([], {"QALQAN_SIP_METRICS_PORT": "0"})],
    ids=["flag", "setting"],
)
def test_qalqan_serve_opens_its_metrics_on_localhost(
    flags: list[str], environ: dict[str, str]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "qalqan.cli.main", "serve", "--udp-port", "0", "--tcp-port", "0", *flags],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **environ},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", line)
        assert found, line + (process.stderr.read() if process.stderr else "")
        page = httpx.get(f"http://127.0.0.1:{found.group(1)}/metrics", timeout=5).text
        assert "# TYPE qalqan_node_decisions_total counter" in page
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(20)


def test_a_taken_metrics_port_is_a_clear_error() -> None:
    from qalqan.sip.message import SipError

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        thread = SipServerThread(test_config(), table_decide, metrics_address=("127.0.0.1", port))
        with pytest.raises(SipError, match=rf"cannot open /metrics on 127\.0\.0\.1:{port}"):
            thread.start()
        thread.stop()
