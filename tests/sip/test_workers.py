"""``qalqan serve --workers 2``: two worker processes on one port, watched over by their parent.

The invariants, each proven on the real command: both workers answer calls
that come over UDP and TCP from several source ports (the kernel spreads them,
SO_REUSEPORT); a worker killed with SIGKILL is started again by the parent,
which says so, and answers again; SIGTERM to the parent stops every worker;
and the command refuses several workers without a cluster unless told that
each worker may keep its own state.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sip.conftest import free_port, invite

SERVE = [sys.executable, "-m", "qalqan.cli.main", "serve"]


class ServeProcess:
    """``qalqan serve`` as a child process, with its output read line by line as it comes."""

    def __init__(self, args: list[str]) -> None:
        env = {**os.environ, "COLUMNS": "400", "QALQAN_NODE_DEADLINE_MS": "2000"}
        self.process = subprocess.Popen(
            [*SERVE, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def expect(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        """The next line matching ``pattern``, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no line matching {pattern!r}; output so far:\n{''.join(self.seen)}")

    def stop(self) -> None:
        """Kill the parent and whatever of its workers still runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@dataclass
class Workers:
    serve: ServeProcess
    udp: int
    tcp: int
    pids: dict[int, int]
    """Worker (1, 2) → its process id."""
    metrics: dict[int, int]
    """Worker → the port of its /metrics."""


@pytest.fixture
def two_workers() -> Iterator[Workers]:
    """``qalqan serve --workers 2 --allow-split-state``, both workers listening."""
    udp, tcp = free_port(), free_port(socket.SOCK_STREAM)
    metrics = free_port(socket.SOCK_STREAM)
    while not _free_tcp(metrics + 1):  # worker 2 answers on the next port
        metrics = free_port(socket.SOCK_STREAM)
    serve = ServeProcess(
        ["--workers", "2", "--allow-split-state", "--udp-port", str(udp), "--tcp-port", str(tcp),
         "--metrics-port", str(metrics)]
    )  # fmt: skip
    try:
        pids: dict[int, int] = {}
        ports: dict[int, int] = {}
        for _ in range(2):
            found = serve.expect(r"worker (\d) \(pid (\d+)\) listening: .*metrics port (\d+)")
            pids[int(found[1])] = int(found[2])
            ports[int(found[1])] = int(found[3])
        yield Workers(serve, udp, tcp, pids, ports)
    finally:
        serve.stop()


def _free_tcp(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _requests_seen(metrics_port: int) -> float:
    """INVITEs a worker has counted, from its own /metrics page."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as page:
        text = page.read().decode()
    found = re.findall(r'^qalqan_sip_requests_total\{method="INVITE"\} (\S+)$', text, re.M)
    return sum(float(v) for v in found)


def _call_over_udp(port: int, number: int) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # a new source port each call
        sock.settimeout(10)
        sock.bind(("127.0.0.1", 0))
        me = sock.getsockname()[1]
        data = invite(via_host=f"127.0.0.1:{me}", branch=f"z9hG4bK-u{number}", call_id=f"u{number}")
        sock.sendto(data, ("127.0.0.1", port))
        return sock.recv(65535).decode()


def _call_over_tcp(port: int, number: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        me = sock.getsockname()[1]
        data = invite(
            via_host=f"127.0.0.1:{me}",
            transport="TCP",
            branch=f"z9hG4bK-t{number}",
            call_id=f"t{number}",
        )
        sock.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65535)
            assert chunk, "the connection closed before the answer"
            answer += chunk
        return answer.decode()


def test_both_workers_answer_over_udp_and_tcp_from_several_source_ports(
    two_workers: Workers,
) -> None:
    udp, tcp, metrics = two_workers.udp, two_workers.tcp, two_workers.metrics
    for number in range(24):
        assert _call_over_udp(udp, number).startswith("SIP/2.0 302 ")
    seen_udp = {k: _requests_seen(port) for k, port in metrics.items()}
    assert all(seen > 0 for seen in seen_udp.values()), seen_udp
    assert sum(seen_udp.values()) == 24
    for number in range(24):
        assert _call_over_tcp(tcp, number).startswith("SIP/2.0 302 ")
    seen = {k: _requests_seen(port) - seen_udp[k] for k, port in metrics.items()}
    assert all(count > 0 for count in seen.values()), seen
    assert sum(seen.values()) == 24


def test_a_killed_worker_is_started_again_and_sigterm_stops_them_all(two_workers: Workers) -> None:
    serve, udp, pids, metrics = (
        two_workers.serve,
        two_workers.udp,
        two_workers.pids,
        two_workers.metrics,
    )
    os.kill(pids[1], signal.SIGKILL)
    serve.expect(rf"worker 1 \(pid {pids[1]}\) ended with exit code -9 .*starting it again")
    found = serve.expect(r"worker 1 \(pid (\d+)\) listening")
    restarted = int(found[1])
    assert restarted != pids[1]
    answered = {_call_over_udp(udp, 100 + n).split("\r\n")[0] for n in range(16)}
    assert answered == {"SIP/2.0 302 Moved Temporarily"}
    assert _requests_seen(metrics[1]) > 0  # the new worker 1 takes its share again
    serve.process.send_signal(signal.SIGTERM)
    assert serve.process.wait(30) == 0
    for pid in (restarted, pids[2]):
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), f"worker pid {pid} still runs"


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def test_workers_stop_when_their_parent_is_killed(two_workers: Workers) -> None:
    """SIGKILL to the parent passes nothing on: the workers notice it is gone, and stop."""
    two_workers.serve.process.kill()
    two_workers.serve.process.wait(10)
    deadline = time.monotonic() + 15
    running = set(two_workers.pids.values())
    while running and time.monotonic() < deadline:
        running = {pid for pid in running if _alive(pid)}
        time.sleep(0.2)
    assert not running, f"workers {running} outlived their parent"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def test_several_workers_without_a_cluster_are_refused_unless_allowed() -> None:
    result = subprocess.run(
        [*SERVE, "--workers", "2", "--udp-port", "0", "--tcp-port", "0"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "400"}, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    said = result.stdout + result.stderr
    assert "own rolling state" in said
    assert "--cluster" in said
    assert "--allow-split-state" in said
