"""Qalqan behind a real Kamailio, with the configuration operators are given.

    caller (sipp) ──INVITE──► Kamailio ──INVITE──► Qalqan
                                 │   ◄──302/603────┘
                                 └──INVITE (redirect followed)──► callee (sipp)

Kamailio runs ``docs/integrations/kamailio/kamailio.cfg`` unchanged, on free
loopback ports given with ``-l`` and ``-A`` defines; the tests assert what the
caller and the callee see.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from qalqan.sip.server import SipServerThread
from tests.sip.conftest import (
    SippRun,
    free_port,
    require_binary,
    run_sipp,
    sipp_command,
    sipp_result,
    start_sipp,
    table_decide,
    test_config,
)

KAMAILIO_CFG = (
    Path(__file__).resolve().parents[2] / "docs" / "integrations" / "kamailio" / "kamailio.cfg"
)


def wait_until_answering(
    port: int, process: subprocess.Popen[bytes], timeout_s: float = 10.0
) -> None:
    """Wait until Kamailio answers an OPTIONS ping on ``port``."""
    deadline = time.monotonic() + timeout_s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        probe.settimeout(0.2)
        ping = (
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{probe.getsockname()[1]};branch=z9hG4bK-ping;rport\r\n"
            "From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\n"
            "Call-ID: ping@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"kamailio exited with {process.returncode}")
            probe.sendto(ping, ("127.0.0.1", port))
            try:
                if probe.recvfrom(4096)[0].startswith(b"SIP/2.0 200"):
                    return
            except (TimeoutError, ConnectionRefusedError):
                continue
    raise RuntimeError("kamailio did not start answering")


@contextmanager
def kamailio(workdir: Path, *, port: int, qalqan_port: int, core_port: int) -> Iterator[Path]:
    """Kamailio with the operator's configuration; yields its log file. Always stopped."""
    log = workdir / "kamailio.log"
    command = [
        require_binary("kamailio"),
        "-f", str(KAMAILIO_CFG),
        "-DD", "-E",
        "-l", f"udp:127.0.0.1:{port}",
        "-Y", str(workdir),
        "-m", "32", "-M", "8",
        "-A", f'QALQAN_URI="sip:127.0.0.1:{qalqan_port}"',
        "-A", f'CORE_URI="sip:127.0.0.1:{core_port}"',
        "-A", "QALQAN_TIMEOUT_MS=300",
        "-A", "CHILDREN=1",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=workdir, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_until_answering(port, process)
            yield log
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # its own group: it and its children
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)


@contextmanager
def callee(workdir: Path, port: int) -> Iterator[list[SippRun]]:
    """A sipp callee on ``port`` for one call; the list gets its result when the block ends."""
    command = sipp_command(
        "callee.xml", target=None, workdir=workdir, name="callee", extra=["-p", str(port)]
    )
    process = start_sipp(command, workdir)
    result: list[SippRun] = []
    try:
        time.sleep(0.2)  # let it bind
        yield result
    finally:
        result.append(sipp_result(process, workdir, "callee", timeout_s=15))


def first_request_line(run: SippRun) -> str:
    return run.received()[0].split("\r\n", 1)[0]


@pytest.fixture
def ports() -> dict[str, int]:
    require_binary("kamailio")
    require_binary("sipp")
    return {"kamailio": free_port(), "callee": free_port()}


def check(run: SippRun, who: str) -> None:
    assert run.returncode == 0, f"{who} failed:\n{run.errors}\n{run.stdout[-1500:]}"


def test_an_allowed_call_is_connected_to_the_dialled_number(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    with SipServerThread(test_config(tcp_port=None), table_decide) as node:
        with (
            kamailio(
                tmp_path,
                port=ports["kamailio"],
                qalqan_port=node.server.udp_port or 0,
                core_port=ports["callee"],
            ),
            callee(tmp_path, ports["callee"]) as answered,
        ):
            caller = run_sipp(
                "caller_connected.xml",
                target=f"127.0.0.1:{ports['kamailio']}",
                workdir=tmp_path,
                service="+77015550001",
            )
        check(caller, "caller")
        check(answered[0], "callee")
        # The callee got the call at the tel: Contact Qalqan gave, via the core route.
        assert first_request_line(answered[0]) == "INVITE tel:+77015550001 SIP/2.0"
        metrics = node.server.metrics
        assert metrics.decisions_by_action["allow"] == 1
        assert metrics.transactions.acks_absorbed == 1  # Kamailio ACKed the 302


def test_a_diverted_call_goes_to_the_anti_call_center(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    config = test_config(tcp_port=None, divert_uri=f"sip:operators@127.0.0.1:{ports['callee']}")
    with SipServerThread(config, table_decide) as node:
        with (
            kamailio(
                tmp_path,
                port=ports["kamailio"],
                qalqan_port=node.server.udp_port or 0,
                core_port=free_port(),
            ),
            callee(tmp_path, ports["callee"]) as answered,
        ):
            caller = run_sipp(
                "caller_connected.xml",
                target=f"127.0.0.1:{ports['kamailio']}",
                workdir=tmp_path,
                service="+77015550003",
            )
        check(caller, "caller")
        check(answered[0], "callee")
        assert first_request_line(answered[0]) == (
            f"INVITE sip:operators@127.0.0.1:{ports['callee']};target=+77015550003 SIP/2.0"
        )
        assert node.server.metrics.decisions_by_action["divert"] == 1


def test_a_blocked_call_gets_603_at_the_caller(tmp_path: Path, ports: dict[str, int]) -> None:
    with SipServerThread(test_config(tcp_port=None), table_decide) as node:
        with kamailio(
            tmp_path,
            port=ports["kamailio"],
            qalqan_port=node.server.udp_port or 0,
            core_port=ports["callee"],
        ):
            caller = run_sipp(
                "caller_blocked.xml",
                target=f"127.0.0.1:{ports['kamailio']}",
                workdir=tmp_path,
                service="+77015550004",
            )
        check(caller, "caller")
        final = [m for m in caller.received() if m.startswith("SIP/2.0 603")]
        assert len(final) == 1
        assert "X-Qalqan-Action: block" in final[0]
        assert "X-Qalqan-Reasons: test.table: +77015550004 is listed as block" in final[0]
        assert node.server.metrics.transactions.acks_absorbed == 1


def test_kamailio_fails_open_when_qalqan_does_not_answer(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    silent = free_port()  # nothing listens here
    with (
        kamailio(
            tmp_path, port=ports["kamailio"], qalqan_port=silent, core_port=ports["callee"]
        ) as log,
        callee(tmp_path, ports["callee"]) as answered,
    ):
        caller = run_sipp(
            "caller_connected.xml",
            target=f"127.0.0.1:{ports['kamailio']}",
            workdir=tmp_path,
            service="+77015550004",
        )
    check(caller, "caller")
    check(answered[0], "callee")
    assert (
        first_request_line(answered[0])
        == f"INVITE sip:+77015550004@127.0.0.1:{ports['kamailio']};user=phone SIP/2.0"
    )
    assert "failing open" in log.read_text(errors="replace")
