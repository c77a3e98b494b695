"""Both faces of a node of a cluster: not ready until caught up, no answer before its event is logged.

The HTTP API answers ``/v1/screen`` only once the cluster's stream holds the
decision's state event, and an outcome it learns is learned by every node; its
``/healthz``, and the SIP metrics listener's, answer 503 while the node is
catching up and say whether the store is up.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any

import redis

from qalqan.api.app import ScreeningApi
from qalqan.api.config import ApiSettings
from qalqan.domain.model import CallAttempt, Ingress
from qalqan.screening.cluster import ClusterSettings, SharedState
from qalqan.screening.node import NodeSettings, ScreeningNode
from qalqan.sip.config import SipConfig
from qalqan.sip.server import SipServerThread
from tests.api.conftest import NOW, real_engine
from tests.screening.conftest import RedisServer
from tests.sip.conftest import invite

RELATIVE = "+77015550101"
SUBSCRIBER = "+77075550202"
FROM_ABROAD = {"caller": RELATIVE, "callee": SUBSCRIBER, "ingress": "international:carrierA"}
AT_HOME = {"caller": RELATIVE, "callee": SUBSCRIBER, "ingress": "national:ic1"}
STREAM = "qalqan:screening"


def cluster_node(server: RedisServer, node_id: str) -> ScreeningNode:
    engine = real_engine()
    shared = SharedState(
        engine,
        ClusterSettings(url=server.url, node_id=node_id, snapshot_every_s=3600.0),  # type: ignore[arg-type]
    )
    return ScreeningNode(
        engine.screen,
        observe=shared.observe,
        settings=NodeSettings(deadline_ms=2_000.0),
        engine=engine,
        shared=shared,
    )


def call(api: ScreeningApi, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    body = b"" if payload is None else json.dumps(payload).encode()
    response = api.handle(method, path, headers={"content-type": "application/json"}, body=body)
    return response.status, response.json()


def test_the_http_face_answers_once_the_log_holds_the_decision_and_shares_outcomes(
    redis_server: RedisServer,
) -> None:
    node = cluster_node(redis_server, "http-a")
    api = ScreeningApi(node=node, settings=ApiSettings(), wall_clock=lambda: NOW)
    status, body = call(api, "GET", "/healthz")
    assert status == 503 and "catching up" in body["error"]["message"]
    assert call(api, "POST", "/v1/screen", FROM_ABROAD)[0] == 503
    other = cluster_node(redis_server, "http-b")
    node.start()
    other.start()
    try:
        status, body = call(api, "GET", "/healthz")
        assert status == 200 and body["cluster_store_up"] is True
        client = redis.Redis.from_url(redis_server.url)
        assert call(api, "POST", "/v1/screen", FROM_ABROAD)[1]["action"] == "divert"
        assert client.xlen(STREAM) == 1  # in the log before the answer was given
        assert call(api, "POST", "/v1/screen", {**AT_HOME, "record_id": "c1"})[1]["action"] == (
            "allow"
        )
        assert client.xlen(STREAM) == 2
        outcome = {**AT_HOME, "record_id": "c1", "answered": True, "duration_s": 95}
        assert call(api, "POST", "/v1/outcome", outcome)[1]["learned"] is True
        assert client.xlen(STREAM) == 3
        # The other node learned the contact from the log: the relative abroad is no stranger.
        assert other.shared is not None
        deadline = time.monotonic() + 10
        while other.shared.metrics.applied.get() < 3 and time.monotonic() < deadline:
            other.shared.apply_pending()
            time.sleep(0.005)
        attempt = CallAttempt(
            time=NOW,
            caller=RELATIVE,
            callee=SUBSCRIBER,
            ingress=Ingress.parse("international:carrierA"),
        )
        here = call(api, "POST", "/v1/screen", FROM_ABROAD)[1]["action"]
        there = other.screen(attempt, face="http").action.value
        assert here == there != "divert"
        metrics = api.handle("GET", "/metrics").body.decode()
        assert "qalqan_cluster_events_published_total 4" in metrics
        assert "qalqan_cluster_ready 1" in metrics
    finally:
        node.stop()
        other.stop()


def test_the_sip_node_says_catching_up_then_ok_and_keeps_up_between_calls(
    redis_server: RedisServer,
) -> None:
    node = cluster_node(redis_server, "sip-a")
    config = SipConfig(listen_host="127.0.0.1", udp_port=0, tcp_port=0)
    with SipServerThread(config, node, metrics_address=("127.0.0.1", 0)) as running:
        url = f"http://127.0.0.1:{running.server.metrics_port}/healthz"
        try:
            urllib.request.urlopen(url, timeout=5)
            raise AssertionError("a node catching up must not say it is healthy")
        except urllib.error.HTTPError as error:
            assert error.code == 503 and b"catching up" in error.read()
        node.start()
        other = cluster_node(redis_server, "sip-b")
        other.start()
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                assert answer.status == 200 and answer.read() == b"ok; cluster store up\n"
            # With no call to answer, the node still applies the other node's events.
            attempt = CallAttempt(
                time=NOW, caller=RELATIVE, callee=SUBSCRIBER, ingress=Ingress.parse("mobile")
            )
            other.screen(attempt, face="sip")
            assert other.commit()
            assert node.shared is not None
            deadline = time.monotonic() + 5
            while node.shared.metrics.applied.get() < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert node.shared.metrics.applied.get() == 1
        finally:
            node.stop()
            other.stop()


def test_the_sip_node_answers_a_burst_of_invites_once_the_log_holds_them(
    redis_server: RedisServer,
) -> None:
    node = cluster_node(redis_server, "sip-a")
    node.start()
    client = redis.Redis.from_url(redis_server.url)
    config = SipConfig(listen_host="127.0.0.1", udp_port=0, tcp_port=0)
    try:
        with (
            SipServerThread(config, node) as running,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sbc,
        ):
            sbc.settimeout(5)
            address = ("127.0.0.1", running.server.udp_port)
            for n in range(20):
                sbc.sendto(invite(branch=f"z9hG4bK-{n}", call_id=f"c{n}@sbc"), address)
            for answered in range(1, 21):
                response, _ = sbc.recvfrom(65536)
                assert response.startswith(b"SIP/2.0 302")
                assert client.xlen(STREAM) >= answered  # its event was logged before it left
    finally:
        node.stop()
