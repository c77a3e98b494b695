"""Shared pieces of the SIP tests: a table-driven ``decide``, messages, real peers on free ports."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qalqan.domain.model import Action, CallAttempt, Decision, Reason
from qalqan.sip.config import SipConfig
from qalqan.sip.server import SipServerThread

SCENARIOS = Path(__file__).parent / "scenarios"

#: The screening verdicts of the tests, by dialled number.
TABLE = {
    "+77015550001": Action.ALLOW,
    "+77015550002": Action.WARN,
    "+77015550003": Action.DIVERT,
    "+77015550004": Action.BLOCK,
}
SCORES = {Action.ALLOW: 0.05, Action.WARN: 0.55, Action.DIVERT: 0.75, Action.BLOCK: 0.97}


def table_decide(attempt: CallAttempt) -> Decision:
    """A deterministic stand-in for the screening engine: the verdict is looked up by callee."""
    action = TABLE.get(attempt.callee, Action.ALLOW)
    return Decision(
        action=action,
        score=SCORES[action],
        reasons=(
            Reason(
                rule="test.table",
                weight=SCORES[action],
                detail=f"{attempt.callee} is listed as {action.value}",
            ),
        ),
    )


def invite(
    *,
    uri: str = "sip:+77015550001@sbc.example;user=phone",
    branch: str = "z9hG4bK-1",
    call_id: str = "call-1@sbc.example",
    cseq: int = 1,
    from_: str = "<sip:+77019990001@sbc.example;user=phone>;tag=caller1",
    to: str = "<sip:+77015550001@sbc.example;user=phone>",
    via_host: str = "192.0.2.10:5060",
    transport: str = "UDP",
    extra: str = "",
    method: str = "INVITE",
    body: bytes = b"",
) -> bytes:
    """An INVITE (or another request) as an SBC would send it; ``extra`` is raw header lines."""
    head = (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {via_host};branch={branch}\r\n"
        f"From: {from_}\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"Max-Forwards: 70\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def ack_for(request: bytes, response: bytes) -> bytes:
    """The ACK an SBC sends for a non-2xx final response (RFC 3261 §17.1.1.3): same branch, To tag of the response."""
    lines = request.split(b"\r\n")
    _, uri, _ = lines[0].split(b" ")
    to_line = next(line for line in response.split(b"\r\n") if line.startswith(b"To:"))
    out = [b"ACK " + uri + b" SIP/2.0"]
    for line in lines[1:]:
        if line.startswith((b"Via:", b"From:", b"Call-ID:", b"Max-Forwards:")):
            out.append(line)
        elif line.startswith(b"CSeq:"):
            out.append(line.split(b" ")[0] + b" " + line.split(b" ")[1] + b" ACK")
    out.append(to_line)
    out.append(b"Content-Length: 0")
    return b"\r\n".join(out) + b"\r\n\r\n"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free on 127.0.0.1 for both UDP and TCP at the time of asking."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        with socket.socket(socket.AF_INET, other) as check:
            try:
                check.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port on 127.0.0.1")


def test_config(**overrides: object) -> SipConfig:
    settings: dict[str, object] = {
        "listen_host": "127.0.0.1",
        "udp_port": 0,
        "tcp_port": 0,
        "warning_uri": "sip:warning@announcements.test",
        "divert_uri": "sip:operators@anti-fraud.test",
    }
    settings.update(overrides)
    return SipConfig(**settings)  # type: ignore[arg-type]


test_config.__test__ = False  # type: ignore[attr-defined]  # a factory, not a test


@pytest.fixture
def sip_node() -> Iterator[SipServerThread]:
    """A running SIP redirect server on free UDP and TCP ports, screening with :func:`table_decide`."""
    with SipServerThread(test_config(), table_decide) as node:
        yield node


# --- real peers ---------------------------------------------------------------------------


def require_binary(name: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if path is None:
        pytest.skip(
            f"{name} is not installed (apt-get install {'sip-tester' if name == 'sipp' else name})"
        )
    return path


@dataclass
class SippRun:
    returncode: int
    stdout: str
    messages: str
    errors: str

    def received(self) -> list[str]:
        """The SIP messages sipp received, as text (CRLFs kept, trailing blank lines cut), in order."""
        found = []
        for chunk in self.messages.split("-----------------------------------------------")[1:]:
            head, _, message = chunk.partition("\n\n")
            if "message received" in head:
                found.append(message.rstrip())
        return found


def sipp_command(
    scenario: str,
    *,
    target: str | None,
    workdir: Path,
    name: str,
    calls: int = 1,
    service: str | None = None,
    extra: list[str] | None = None,
    timeout_s: int = 10,
) -> list[str]:
    command = [require_binary("sipp")]
    if target is not None:
        command.append(target)
    command += [
        "-sf",
        str(SCENARIOS / scenario),
        "-i",
        "127.0.0.1",
        "-m",
        str(calls),
        "-nostdin",
        "-timeout",
        f"{timeout_s}s",
        "-timeout_error",
        "-trace_msg",
        "-message_file",
        str(workdir / f"{name}_messages.log"),
        "-trace_err",
        "-error_file",
        str(workdir / f"{name}_errors.log"),
    ]
    if service is not None:
        command += ["-s", service]
    return command + (extra or [])


def sipp_result(
    process: subprocess.Popen[str], workdir: Path, name: str, timeout_s: float
) -> SippRun:
    try:
        stdout, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, _ = process.communicate()
    messages = workdir / f"{name}_messages.log"
    errors = workdir / f"{name}_errors.log"
    return SippRun(
        returncode=process.returncode,
        stdout=stdout,
        messages=messages.read_bytes().decode(errors="replace") if messages.exists() else "",
        errors=errors.read_bytes().decode(errors="replace") if errors.exists() else "",
    )


def start_sipp(command: list[str], workdir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def run_sipp(
    scenario: str, *, target: str, workdir: Path, name: str = "uac", **options: object
) -> SippRun:
    """Run one sipp client to completion (bounded in time) and collect its traces."""
    command = sipp_command(scenario, target=target, workdir=workdir, name=name, **options)  # type: ignore[arg-type]
    return sipp_result(start_sipp(command, workdir), workdir, name, timeout_s=30)


def stop_process(process: subprocess.Popen[str], *, grace_s: float = 5.0) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace_s)


REFERENCE_TABLES = ("cells", "subscribers", "roaming", "registry")
"""The operator's reference tables of a data set (what a served node knows besides traffic)."""


def reference_only(data: Path, target: Path) -> Path:
    """The operator's reference tables of ``data`` in ``target``, and a ``cdrs`` with no calls:
    a node learns no contact at start, as replay without outcomes learns none."""
    target.mkdir(parents=True)
    for name in REFERENCE_TABLES:
        shutil.copy(data / f"{name}.csv", target / f"{name}.csv")
    with (data / "cdrs.csv").open(encoding="utf-8") as handle:
        header = handle.readline()
    (target / "cdrs.csv").write_text(header, encoding="utf-8")
    return target


def rules_without_budget(path: Path) -> Path:
    """The shipped rules without their time budget, written to ``path``: a busy machine must not
    decide for them."""
    from qalqan.screening.config import default_rules_text

    text = default_rules_text()
    assert "budget_us: 5000.0" in text
    path.write_text(
        text.replace("budget_us: 5000.0", "budget_us: 1000000000000.0"), encoding="utf-8"
    )
    return path
