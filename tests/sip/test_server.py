"""The SIP server on real loopback sockets: UDP, TCP, overload, garbage, lifecycle."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qalqan.domain.model import CallAttempt, Decision
from qalqan.sip.config import SipTimers
from qalqan.sip.message import Response, SipError, StreamParser, parse_message
from qalqan.sip.server import SipServerThread
from tests.sip.conftest import ack_for, invite, table_decide, test_config
from tests.sip.test_properties import MUTATION, VALID, mutate


@contextmanager
def udp_client() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.bind(("127.0.0.1", 0))
        client.settimeout(3.0)
        yield client


def via_of(client: socket.socket) -> str:
    return f"127.0.0.1:{client.getsockname()[1]}"


def ask_udp(node: SipServerThread, client: socket.socket, data: bytes) -> Response:
    assert node.server.udp_port is not None
    client.sendto(data, ("127.0.0.1", node.server.udp_port))
    reply, _ = client.recvfrom(65535)
    message = parse_message(reply)
    assert isinstance(message, Response)
    return message


def read_tcp(connection: socket.socket, parser: StreamParser) -> Response:
    while True:
        message = parser.next_message()
        if message is not None:
            assert isinstance(message, Response)
            return message
        chunk = connection.recv(65535)
        assert chunk, "the server closed the connection"
        parser.feed(chunk)


def test_udp_invite_gets_a_redirect_and_ack_is_absorbed(sip_node: SipServerThread) -> None:
    with udp_client() as client:
        data = invite(via_host=via_of(client))
        answer = ask_udp(sip_node, client, data)
        assert answer.status == 302
        assert answer.headers.get("Contact") == "<tel:+77015550001>"
        client.sendto(
            ack_for(data, answer.to_bytes()), ("127.0.0.1", sip_node.server.udp_port or 0)
        )
        metrics = sip_node.server.metrics
        assert eventually(lambda: metrics.transactions.acks_absorbed == 1)
    assert metrics.requests_by_method["ACK"] == 1


def eventually(condition: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    """Poll ``condition`` (state the server thread updates) until it holds or time runs out."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_timer_g_retransmits_over_udp_until_the_ack() -> None:
    config = test_config(timers=SipTimers(t1=0.05, t2=0.2, t4=0.1))
    with SipServerThread(config, table_decide) as node, udp_client() as client:
        data = invite(via_host=via_of(client))
        client.sendto(data, ("127.0.0.1", node.server.udp_port or 0))
        first = client.recvfrom(65535)[0]
        replies = [client.recvfrom(65535)[0] for _ in range(2)]  # Timer G: +50 ms, +150 ms
        assert replies == [first, first]
        client.sendto(ack_for(data, first), ("127.0.0.1", node.server.udp_port or 0))
        counters = node.server.metrics.transactions
        assert eventually(lambda: counters.acks_absorbed == 1)
        sent_so_far = counters.response_retransmissions
        assert sent_so_far >= 2
        time.sleep(0.6)  # three T2 periods: Timer G would have fired again
        assert counters.response_retransmissions == sent_so_far


def test_tcp_pipelined_invites_are_all_answered_in_order(sip_node: SipServerThread) -> None:
    assert sip_node.server.tcp_port is not None
    with socket.create_connection(("127.0.0.1", sip_node.server.tcp_port), timeout=3) as connection:
        numbers = ["+77015550001", "+77015550002", "+77015550003", "+77015550004"]
        batch = b"".join(
            invite(
                uri=f"sip:{n}@sbc.example;user=phone",
                branch=f"z9hG4bK-t{i}",
                call_id=f"t{i}",
                transport="TCP",
            )
            for i, n in enumerate(numbers)
        )
        for start in range(0, len(batch), 100):  # arbitrary segmentation
            connection.sendall(batch[start : start + 100])
        parser = StreamParser()
        answers = [read_tcp(connection, parser) for _ in numbers]
    assert [a.headers.get("X-Qalqan-Action") for a in answers] == [
        "allow",
        "warn",
        "divert",
        "block",
    ]
    assert [a.headers.get("Call-ID") for a in answers] == ["t0", "t1", "t2", "t3"]


def test_tcp_framing_loss_is_answered_400_and_the_connection_closed(
    sip_node: SipServerThread,
) -> None:
    assert sip_node.server.tcp_port is not None
    with socket.create_connection(("127.0.0.1", sip_node.server.tcp_port), timeout=3) as connection:
        connection.sendall(invite(transport="TCP").replace(b"Content-Length: 0\r\n", b""))
        parser = StreamParser()
        answer = read_tcp(connection, parser)
        assert answer.status == 400
        assert connection.recv(100) == b""  # closed
    with socket.create_connection(("127.0.0.1", sip_node.server.tcp_port), timeout=3) as connection:
        connection.sendall(invite(transport="TCP"))
        assert read_tcp(connection, StreamParser()).status == 302  # the node carries on


def test_a_five_thousand_digit_content_length_over_tcp_is_answered_400(
    sip_node: SipServerThread,
) -> None:
    assert sip_node.server.tcp_port is not None
    huge = invite(transport="TCP").replace(b"Content-Length: 0", b"Content-Length: " + b"9" * 5000)
    with socket.create_connection(("127.0.0.1", sip_node.server.tcp_port), timeout=3) as connection:
        connection.sendall(huge)
        answer = read_tcp(connection, StreamParser())
        assert answer.status == 400
        assert "Content-Length" in (answer.headers.get("Warning") or "")
        assert connection.recv(100) == b""  # the framing is lost: closed
    with socket.create_connection(("127.0.0.1", sip_node.server.tcp_port), timeout=3) as connection:
        connection.sendall(invite(transport="TCP"))
        assert read_tcp(connection, StreamParser()).status == 302


def test_over_capacity_requests_are_answered_at_once_with_the_default_action() -> None:
    def slow(attempt: CallAttempt) -> Decision:
        time.sleep(0.005)
        return table_decide(attempt)

    config = test_config(queue_size=2, deadline_ms=1000)
    burst = 40
    with SipServerThread(config, slow) as node, udp_client() as client:
        port = node.server.udp_port or 0
        for i in range(burst):
            client.sendto(
                invite(
                    uri="sip:+77015550004@sbc.example",
                    branch=f"z9hG4bK-b{i}",
                    call_id=f"b{i}",
                    via_host=via_of(client),
                ),
                ("127.0.0.1", port),
            )
        answers = [parse_message(client.recvfrom(65535)[0]) for _ in range(burst)]
        metrics = node.server.metrics
    actions = [a.headers.get("X-Qalqan-Action") for a in answers]
    assert len(answers) == burst  # everyone got an answer
    assert actions.count("allow") == metrics.shed > 0  # shed calls are let through unscreened
    assert actions.count("block") == burst - metrics.shed  # screened calls got their verdict
    assert metrics.fail_open_by_cause["overload"] == metrics.shed


def test_under_a_flood_calls_from_a_route_given_its_own_answer_are_not_let_through() -> None:
    def slow(attempt: CallAttempt) -> Decision:
        time.sleep(0.005)
        return table_decide(attempt)

    config = test_config(
        queue_size=2,
        deadline_ms=1000,
        source_ingress={"127.0.0.1": "international:carrierA"},
        fail_open_by_ingress={"international": "divert"},
    )
    burst = 40
    with SipServerThread(config, slow) as node, udp_client() as client:
        port = node.server.udp_port or 0
        for i in range(burst):
            client.sendto(
                invite(branch=f"z9hG4bK-f{i}", call_id=f"f{i}", via_host=via_of(client)),
                ("127.0.0.1", port),
            )
        answers = [parse_message(client.recvfrom(65535)[0]) for _ in range(burst)]
        metrics = node.server.metrics
    actions = [a.headers.get("X-Qalqan-Action") for a in answers]
    assert metrics.shed > 0
    assert actions.count("divert") == metrics.shed  # shed probes from abroad go to the operators
    assert actions.count("allow") == burst - metrics.shed  # screened ones got their verdict


def test_ports_taken_are_reported_as_sip_errors() -> None:
    with SipServerThread(test_config(tcp_port=None), table_decide) as first:
        taken = first.server.udp_port
        with pytest.raises(SipError, match="cannot listen"):
            SipServerThread(test_config(udp_port=taken, tcp_port=None), table_decide).start()


def test_stop_releases_the_ports() -> None:
    node = SipServerThread(test_config(), table_decide)
    node.start()
    udp, tcp = node.server.udp_port, node.server.tcp_port
    node.stop()
    assert node.server.udp_port is None and node.server.tcp_port is None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", udp or 0))
    with SipServerThread(test_config(tcp_port=tcp, udp_port=None), table_decide) as again:
        assert again.server.tcp_port == tcp


# --- garbage in, service continues ---------------------------------------------------------


@pytest.fixture(scope="module")
def shared_node() -> Iterator[SipServerThread]:
    with SipServerThread(test_config(), table_decide) as node:
        yield node


GARBAGE = st.binary(max_size=1500) | st.lists(MUTATION, min_size=1, max_size=6).map(
    lambda m: mutate(VALID, m)
)


@settings(
    max_examples=60,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(GARBAGE, st.integers(0, 10**9))
def test_garbage_over_udp_and_tcp_never_stops_the_node(
    shared_node: SipServerThread, garbage: bytes, salt: int
) -> None:
    udp_port, tcp_port = shared_node.server.udp_port or 0, shared_node.server.tcp_port or 0
    with udp_client() as client:
        client.sendto(garbage or b"\x00", ("127.0.0.1", udp_port))
        with socket.create_connection(("127.0.0.1", tcp_port), timeout=3) as connection:
            connection.sendall(garbage + b"\r\n\r\n")
        # The node still screens: a valid INVITE right after gets its redirect.
        data = invite(branch=f"z9hG4bK-g{salt}", call_id=f"g{salt}", via_host=via_of(client))
        client.sendto(data, ("127.0.0.1", udp_port))
        while True:
            reply = parse_message(client.recvfrom(65535)[0])
            if reply.headers.get("Call-ID") == f"g{salt}":  # skip answers to answerable garbage
                break
        assert isinstance(reply, Response)
        assert reply.status == 302
    with socket.create_connection(("127.0.0.1", tcp_port), timeout=3) as connection:
        connection.sendall(invite(branch=f"z9hG4bK-h{salt}", call_id=f"h{salt}", transport="TCP"))
        assert read_tcp(connection, StreamParser()).status == 302
