"""``qalqan serve``: the SIP node with the real engine, as an operator starts it."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from qalqan.exchange.schema import INPUT_TABLES


def _write(folder: Path, name: str, rows: list[dict[str, str]]) -> None:
    columns = INPUT_TABLES[name].names
    lines = [",".join(columns)] + [",".join(row.get(c, "") for c in columns) for row in rows]
    (folder / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _invite(caller: str, callee: str, port: int, branch: str) -> bytes:
    return (
        f"INVITE tel:{callee} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{branch}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:{caller}@carrier.example;user=phone>;tag=a1\r\n"
        f"To: <tel:{callee}>\r\n"
        f"Call-ID: {branch}@127.0.0.1\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:{caller}@127.0.0.1:{port};tgrp=carrierA;trunk-context=international>\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


@pytest.fixture
def reference_tables(tmp_path: Path) -> Path:
    _write(tmp_path, "cdrs", [])
    _write(
        tmp_path,
        "subscribers",
        [
            {
                "imsi": "401770000000001",
                "msisdn": "+77071111111",
                "activated": "2020-01-01",
                "plan": "prepaid",
            }
        ],
    )
    _write(
        tmp_path,
        "registry",
        [{"number": "+77272544000", "owner": "Almaty city police", "policy": "inbound_only"}],
    )
    return tmp_path


def test_serve_answers_invites_with_the_engine_and_stops_cleanly(reference_tables: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "qalqan.cli.main", "serve", "--udp-port", "0", "--tcp-port", "0", "--data", str(reference_tables)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"UDP (\d+)", line)
        assert found, line + (process.stderr.read() if process.stderr else "")
        port = int(found.group(1))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(10)
            sock.bind(("127.0.0.1", 0))
            me = sock.getsockname()[1]
            sock.sendto(_invite("+77272544000", "+77071111111", me, "police1"), ("127.0.0.1", port))
            answer = sock.recv(65535).decode()
            # the police never call out: the engine does not let it through as it is
            assert "X-Qalqan-Action: allow" not in answer
            assert "registry" in answer.lower() or "inbound" in answer.lower()
            sock.sendto(
                _invite("+996555123456", "+77071111111", me, "friend1"), ("127.0.0.1", port)
            )
            answer = sock.recv(65535).decode()
            assert answer.startswith("SIP/2.0 302") and "X-Qalqan-Action: allow" in answer
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0
