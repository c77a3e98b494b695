"""Qalqan's SIP server against a real SIP peer: sipp playing the operator's SBC.

The scenarios live in ``tests/sip/scenarios/``; each asserts the answer it
expects (status, Contact, X-Qalqan-* headers) and sipp exits non-zero when one
does not match. The tests also read sipp's message trace to check what
crossed the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qalqan.sip.message import Response, parse_message
from qalqan.sip.server import SipServerThread
from tests.sip.conftest import SippRun, require_binary, run_sipp, table_decide, test_config


@pytest.fixture(scope="module")
def node() -> Iterator[SipServerThread]:
    require_binary("sipp")
    with SipServerThread(test_config(), table_decide) as running:
        yield running


def udp_target(node: SipServerThread) -> str:
    return f"127.0.0.1:{node.server.udp_port}"


def responses(run: SippRun) -> list[Response]:
    found = []
    for text in run.received():
        message = parse_message((text + "\r\n\r\n").encode())
        assert isinstance(message, Response)
        found.append(message)
    return found


def check(run: SippRun) -> None:
    assert run.returncode == 0, f"sipp failed:\n{run.errors}\n{run.stdout[-2000:]}"


@pytest.mark.parametrize(
    ("scenario", "number", "status", "action"),
    [
        ("allow.xml", "+77015550001", 302, "allow"),
        ("warn.xml", "+77015550002", 302, "warn"),
        ("divert.xml", "+77015550003", 302, "divert"),
        ("block.xml", "+77015550004", 603, "block"),
    ],
)
def test_each_verdict_over_udp(
    node: SipServerThread, tmp_path: Path, scenario: str, number: str, status: int, action: str
) -> None:
    acks_before = node.server.metrics.transactions.acks_absorbed
    run = run_sipp(scenario, target=udp_target(node), workdir=tmp_path, service=number)
    check(run)
    [answer] = responses(run)
    assert answer.status == status
    assert answer.headers.get("X-Qalqan-Action") == action
    assert f"{number} is listed as {action}" in (answer.headers.get("X-Qalqan-Reasons") or "")
    if action == "allow":
        assert answer.headers.get("Contact") == f"<tel:{number}>"
    assert node.server.metrics.transactions.acks_absorbed == acks_before + 1


def test_allow_over_tcp(node: SipServerThread, tmp_path: Path) -> None:
    run = run_sipp(
        "allow.xml",
        target=f"127.0.0.1:{node.server.tcp_port}",
        workdir=tmp_path,
        service="+77015550001",
        extra=["-t", "t1"],
    )
    check(run)
    assert "TCP message received" in run.messages
    [answer] = responses(run)
    assert answer.headers.get("Contact") == "<tel:+77015550001>"
    assert answer.headers.get_all("Via")[0].startswith("SIP/2.0/TCP ")


def test_a_retransmitted_invite_gets_the_identical_response(
    node: SipServerThread, tmp_path: Path
) -> None:
    metrics = node.server.metrics
    allowed_before = metrics.decisions_by_action["allow"]
    retransmissions_before = metrics.transactions.retransmissions
    run = run_sipp(
        "retransmission.xml",
        target=udp_target(node),
        workdir=tmp_path,
        service="+77015550001",
        extra=["-nr"],
    )
    check(run)
    first, second = run.received()
    assert first == second
    assert metrics.decisions_by_action["allow"] == allowed_before + 1  # screened once
    assert metrics.transactions.retransmissions == retransmissions_before + 1


def test_options_ping(node: SipServerThread, tmp_path: Path) -> None:
    run = run_sipp("options.xml", target=udp_target(node), workdir=tmp_path)
    check(run)
    [answer] = responses(run)
    assert answer.status == 200


def test_a_malformed_invite_gets_400(node: SipServerThread, tmp_path: Path) -> None:
    run = run_sipp(
        "malformed.xml", target=udp_target(node), workdir=tmp_path, service="+77015550001"
    )
    check(run)
    [answer] = responses(run)
    assert answer.status == 400
    assert "Content-Length 500" in answer.reason


def test_many_calls_in_a_row(node: SipServerThread, tmp_path: Path) -> None:
    run = run_sipp(
        "allow.xml",
        target=udp_target(node),
        workdir=tmp_path,
        service="+77015550001",
        calls=200,
        extra=["-r", "200", "-l", "50"],
    )
    check(run)
    assert len(responses(run)) == 200
