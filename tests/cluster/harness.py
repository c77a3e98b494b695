"""Several Qalqan nodes behind Kamailio's dispatcher set, as real processes on loopback.

    sipp caller ──► Kamailio (dispatcher set, OPTIONS probes) ──► qalqan serve × N ──► Redis
                       └──► sipp callee (core, announcement, anti-call-center)

Each piece is started on free ports of its own, in a folder of its own, and
stopped (or killed, for the fault tests) by whoever started it; nothing here
outlives the ``with`` block that made it. The cluster tests and
``benchmarks/cluster_throughput.py`` share these pieces.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KAMAILIO_CFG = REPO / "docs" / "integrations" / "kamailio" / "kamailio.cfg"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def binary(name: str) -> str | None:
    """Where ``name`` is installed (``/usr/sbin`` included, where Debian puts kamailio), or None."""
    found = shutil.which(name)
    if found is None and Path(f"/usr/sbin/{name}").exists():
        found = f"/usr/sbin/{name}"
    return found


def _ephemeral_ports() -> range:
    """The ports the kernel hands out to outgoing connections (32768-60999 by default)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


#: Ports :func:`free_port` gave out in this process: a port is free again the moment its
#: probe closes, so two nodes of one set asking in turn could both be given it.
_GIVEN: set[int] = set()


def free_port() -> int:
    """A port free on 127.0.0.1 for both UDP and TCP at the time of asking, and never given
    out before by this process.

    Taken below the kernel's ephemeral range: a port the kernel handed out once may be handed
    out again to any outgoing connection (a Redis client, sipp) before the node binds it.
    """
    ephemeral = _ephemeral_ports()
    for _ in range(200):
        port = random.randrange(20_000, 32_000)
        if port in ephemeral or port in _GIVEN:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.bind(("127.0.0.1", port))
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
                other.bind(("127.0.0.1", port))
        except OSError:
            continue
        _GIVEN.add(port)
        return port
    raise RuntimeError("no free port on 127.0.0.1")


def _terminate(process: subprocess.Popen[bytes], *, group: bool, grace_s: float = 5.0) -> None:
    if process.poll() is not None:
        return
    kill = (lambda sig: os.killpg(process.pid, sig)) if group else process.send_signal
    with contextlib.suppress(ProcessLookupError):
        kill(signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            kill(signal.SIGKILL)
        process.wait(timeout=grace_s)


def _wait_for(
    predicate: object, what: str, timeout_s: float, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what}: not within {timeout_s:g} s")


# --- the shared store ---------------------------------------------------------------------


@dataclass
class RedisStore:
    """A redis-server of its own on a free port, its data in ``workdir``, append-only.

    ``fsync`` is ``always`` by default, so that a server killed with SIGKILL and started
    again has every event it acknowledged; ``everysec`` is Redis's own default (a second
    of events at risk, far less time per write)."""

    workdir: Path
    fsync: str = "always"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> None:
        server = binary("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [
            server, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
            "--appendonly", "yes", "--appendfsync", self.fsync, "--save", "",
            "--protected-mode", "no", "--daemonize", "no",
        ]  # fmt: skip
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait_for(self.answers, "redis-server", timeout_s, self.process)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the store vanishes mid-work, as when its machine fails."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def stop(self) -> None:
        if self.process is not None:
            _terminate(self.process, group=False)

    def __enter__(self) -> RedisStore:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


# --- the screening nodes ------------------------------------------------------------------


@dataclass
class QalqanNode:
    """One ``qalqan serve`` process: SIP on UDP ``udp_port``, ``/metrics`` and ``/healthz`` on
    ``metrics_port``, sharing its state through ``cluster`` (a Redis URL) when given."""

    name: str
    workdir: Path
    data: Path
    cluster: str | None = None
    sip_config: Path | None = None
    extra: Sequence[str] = ()
    env: dict[str, str] = field(default_factory=dict)
    log_decisions: bool = False
    """Write each INVITE's decision to :attr:`decisions_log` (``--decisions-log``)."""
    udp_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.udp_port}"

    @property
    def decisions_log(self) -> Path:
        return self.workdir / f"{self.name}-decisions.csv"

    def decisions(self) -> dict[str, tuple[str, str]]:
        """Record id → (action, reasons) of every INVITE it answered, in all its lives."""
        import csv
        from urllib.parse import unquote

        if not self.decisions_log.exists():
            return {}
        with self.decisions_log.open(newline="", encoding="utf-8") as handle:
            return {
                unquote(row["record_id"].split("///", 1)[0]): (row["action"], row["reasons"])
                for row in csv.DictReader(handle)
            }

    def command(self) -> list[str]:
        command = [
            sys.executable, "-m", "qalqan.cli.main", "serve",
            "--host", "127.0.0.1", "--udp-port", str(self.udp_port), "--tcp-port", str(self.udp_port),
            "--metrics-port", str(self.metrics_port), "--data", str(self.data),
        ]  # fmt: skip
        if self.sip_config is not None:
            command += ["--sip-config", str(self.sip_config)]
        if self.cluster is not None:
            command += ["--cluster", self.cluster, "--node-id", self.name]
        if self.log_decisions:
            command += ["--decisions-log", str(self.decisions_log)]
        return command + list(self.extra)

    def start(self) -> None:
        """Start the process (not waiting for it: see :meth:`wait_ready`)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / f"{self.name}.log").open("ab")
        environment = {**os.environ, "QALQAN_DEBUG": "1", **self.env}
        self.process = subprocess.Popen(
            self.command(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=environment
        )
        log.close()

    def healthz(self) -> tuple[int, str]:
        """``GET /healthz``: (status, body), or (0, why) when nothing answers."""
        return http_get(f"http://127.0.0.1:{self.metrics_port}/healthz")

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Until ``/healthz`` says 200 (caught up with the shared state, when there is one)."""
        assert self.process is not None
        _wait_for(
            lambda: self.healthz()[0] == 200, f"node {self.name} ready", timeout_s, self.process
        )

    def metrics(self) -> dict[str, float]:
        """The ``/metrics`` page as {"family{labels}": value}; empty when nothing answers."""
        status, body = http_get(f"http://127.0.0.1:{self.metrics_port}/metrics")
        return parse_metrics(body) if status == 200 else {}

    def kill(self) -> None:
        """SIGKILL, as a crash: no goodbye to Kamailio or to the store."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def stop(self) -> None:
        if self.process is not None:
            _terminate(self.process, group=False)

    def log(self) -> str:
        path = self.workdir / f"{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def http_get(url: str, timeout_s: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:
            return int(answer.status), answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode(errors="replace")
    except (OSError, ValueError, http.client.HTTPException) as error:
        return 0, str(error)


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text as {"name{labels}": value}, comments dropped."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        with contextlib.suppress(ValueError):
            values[key] = float(value)
    return values


def metric_sum(values: dict[str, float], family: str, **labels: str) -> float:
    """The sum of a family's samples whose labels include ``labels``."""
    total = 0.0
    for key, value in values.items():
        name, _, rest = key.partition("{")
        if name != family:
            continue
        if all(f'{label}="{wanted}"' in rest for label, wanted in labels.items()):
            total += value
    return total


@contextlib.contextmanager
def running_nodes(nodes: Sequence[QalqanNode], timeout_s: float = 90.0) -> Iterator[None]:
    """Start every node, wait until each says ready, stop them all at the end."""
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_ready(timeout_s)
        yield
    finally:
        for node in nodes:
            node.stop()


# --- Kamailio with the dispatcher set ------------------------------------------------------


def dispatcher_list(nodes: Sequence[QalqanNode], path: Path, *, set_id: int = 1) -> Path:
    """One line per node, each starting outside the set (flags 9: inactive, probing)."""
    lines = [f"{set_id} {node.uri} 9 0 name={node.name}" for node in nodes]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def options_ping(port: int, timeout_s: float = 0.2) -> bytes | None:
    """Send one OPTIONS to 127.0.0.1:port over UDP; the first line of the answer, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        probe.settimeout(timeout_s)
        ping = (
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{probe.getsockname()[1]};branch=z9hG4bK-p{time.monotonic_ns()};rport\r\n"
            "From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\n"
            f"Call-ID: ping-{time.monotonic_ns()}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        probe.sendto(ping, ("127.0.0.1", port))
        try:
            return probe.recvfrom(4096)[0].split(b"\r\n", 1)[0]
        except (TimeoutError, ConnectionRefusedError):
            return None


@dataclass
class KamailioProxy:
    """Kamailio running the operator's ``kamailio.cfg`` with ``WITH_DISPATCHER``, on a free port."""

    workdir: Path
    nodes: Sequence[QalqanNode]
    core_port: int
    children: int = 2
    try_ms: int = 150
    ping_s: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "kamailio.log"

    def start(self, timeout_s: float = 10.0) -> None:
        kamailio = binary("kamailio")
        if kamailio is None:
            raise RuntimeError("kamailio is not installed (apt-get install kamailio)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        listing = dispatcher_list(self.nodes, self.workdir / "dispatcher.list")
        command = [
            kamailio, "-f", str(KAMAILIO_CFG), "-DD", "-E",
            "-l", f"udp:127.0.0.1:{self.port}", "-Y", str(self.workdir),
            "-m", "64", "-M", "8",
            "-A", "WITH_DISPATCHER",
            "-A", f'DISPATCHER_LIST="{listing}"',
            "-A", f'CORE_URI="sip:127.0.0.1:{self.core_port}"',
            "-A", f"QALQAN_TRY_MS={self.try_ms}",
            "-A", f"DS_PING_S={self.ping_s}",
            "-A", f"CHILDREN={self.children}",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        _wait_for(
            lambda: options_ping(self.port) == b"SIP/2.0 200 Keepalive",
            "kamailio answering",
            timeout_s,
            self.process,
        )

    def wait_all_joined(self, timeout_s: float = 15.0) -> None:
        """Until the log says every node joined the set (its probes answered 200)."""
        assert self.process is not None
        _wait_for(
            lambda: all(node.uri in self.joined() for node in self.nodes),
            "every node in the dispatcher set",
            timeout_s,
            self.process,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def joined(self) -> list[str]:
        """The node URIs the set took in, in order, from the log's ``joined`` lines."""
        return [
            line.split("node ", 1)[1].split(" ", 1)[0]
            for line in self.log().splitlines()
            if "joined the screening set" in line
        ]

    def left(self) -> list[str]:
        return [
            line.split("node ", 1)[1].split(" ", 1)[0]
            for line in self.log().splitlines()
            if "left the screening set" in line
        ]

    def stop(self) -> None:
        if self.process is not None:
            _terminate(self.process, group=True)

    def __enter__(self) -> KamailioProxy:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


# --- the callee, the caller and what the caller heard --------------------------------------


@dataclass
class Callee:
    """A sipp callee on a free port standing for the core, the announcement and the
    anti-call-center at once: every INVITE is answered 480 with ``X-Reached: <Request-URI>``."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        sipp = binary("sipp")
        if sipp is None:
            raise RuntimeError("sipp is not installed (apt-get install sip-tester)")
        command = [
            sipp, "-sf", str(SCENARIOS / "callee.xml"), "-i", "127.0.0.1", "-p", str(self.port),
            "-nostdin", "-buff_size", str(4 << 20),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(0.3)  # let it bind
        if self.process.poll() is not None:
            raise RuntimeError(f"the sipp callee exited with {self.process.returncode}")

    def stop(self) -> None:
        if self.process is not None:
            _terminate(self.process, group=False)


@dataclass(frozen=True)
class Answer:
    """The final answer the caller got for one call attempt."""

    status: int
    action: str
    """``block`` (a node's 603/608), ``allow``, ``warn`` or ``divert`` (where the redirect led:
    the dialled number, the announcement, the anti-call-center), or ``unscreened`` (the
    call reached the core unchanged: Kamailio failed open)."""
    reasons: str = ""


def action_reached(uri: str) -> str:
    """The decision a Request-URI at the callee stands for, by the SIP settings of :class:`Cluster`."""
    if uri.startswith("tel:"):
        return "allow"
    if uri.startswith("sip:warning@"):
        return "warn"
    if uri.startswith("sip:operators@"):
        return "divert"
    return "unscreened"


def read_answers(messages: str) -> dict[str, Answer]:
    """Record id → final answer, from a sipp caller's message trace (``-trace_msg``)."""
    from urllib.parse import unquote

    answers: dict[str, Answer] = {}
    for chunk in messages.split("-----------------------------------------------")[1:]:
        head, _, message = chunk.partition("\n\n")
        if "message received" not in head or not message.startswith("SIP/2.0 "):
            continue
        status = int(message[8:11])
        if status < 200:
            continue
        fields: dict[str, str] = {}
        for line in message.splitlines()[1:]:
            name, sep, value = line.partition(":")
            if sep:
                fields.setdefault(name.strip().lower(), value.strip())
        record_id = unquote(fields.get("call-id", "").split("///", 1)[0])
        said = fields.get("x-qalqan-action")
        action = said if said is not None else action_reached(fields.get("x-reached", ""))
        answers[record_id] = Answer(status, action, fields.get("x-qalqan-reasons", ""))
    return answers


@dataclass
class Played:
    returncode: int
    answers: dict[str, Answer]
    stdout: str


def play_command(
    target: str,
    scenario: Path,
    attempts: Path,
    *,
    calls: int,
    rate: int,
    limit: int,
    workdir: Path,
    name: str,
) -> list[str]:
    """The sipp caller playing a feed's attempts to ``target``, its trace in ``workdir/name_*``."""
    sipp = binary("sipp")
    if sipp is None:
        raise RuntimeError("sipp is not installed (apt-get install sip-tester)")
    return [
        sipp, target, "-sf", str(scenario), "-inf", str(attempts),
        "-m", str(calls), "-r", str(rate), "-l", str(limit), "-i", "127.0.0.1",
        "-nostdin", "-timeout", f"{max(60, 3 * calls // max(1, rate) + 30)}s", "-timeout_error",
        "-trace_msg", "-message_file", str(workdir / f"{name}_messages.log"),
        "-buff_size", str(4 << 20),
    ]  # fmt: skip


def played(process: subprocess.Popen[str], workdir: Path, name: str, timeout_s: float) -> Played:
    """Wait for a caller started with :func:`play_command`, and read what it heard."""
    try:
        stdout, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, _ = process.communicate()
    trace = workdir / f"{name}_messages.log"
    messages = trace.read_bytes().decode(errors="replace") if trace.exists() else ""
    return Played(process.returncode, read_answers(messages), stdout or "")


# --- the whole cluster ---------------------------------------------------------------------


@dataclass
class Cluster:
    """Redis, ``size`` nodes sharing their state in it, Kamailio's dispatcher set of them and
    a callee, all on loopback; entered, everything runs and every node is in the set.

    ``sip_settings`` are the nodes' SIP settings (a feed's ``sip.yaml``, say); the
    announcement and the anti-call-center are pointed at the callee. ``env`` is given to
    every node (``QALQAN_CLUSTER_*``, ``QALQAN_NODE_*``).
    """

    workdir: Path
    data: Path
    sip_settings: dict[str, object]
    size: int = 3
    rules: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    try_ms: int = 300
    kamailio_children: int = 2
    shared: bool = True
    store_fsync: str = "always"
    log_decisions: bool = True

    def __post_init__(self) -> None:
        self.store = RedisStore(self.workdir / "redis", fsync=self.store_fsync)
        self.callee = Callee(self.workdir)
        settings = {
            **self.sip_settings,
            "warning_uri": f"sip:warning@127.0.0.1:{self.callee.port}",
            "divert_uri": f"sip:operators@127.0.0.1:{self.callee.port}",
        }
        import yaml

        self.sip_config = self.workdir / "sip.yaml"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sip_config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        extra = [] if self.rules is None else ["--rules", str(self.rules)]
        self.nodes = [
            QalqanNode(
                name=f"qalqan-{chr(ord('a') + i)}",
                workdir=self.workdir,
                data=self.data,
                cluster=self.store.url if self.shared else None,
                sip_config=self.sip_config,
                extra=extra,
                env=self.env,
                log_decisions=self.log_decisions,
            )
            for i in range(self.size)
        ]
        self.kamailio = KamailioProxy(
            self.workdir / "kamailio",
            self.nodes,
            core_port=self.callee.port,
            children=self.kamailio_children,
            try_ms=self.try_ms,
        )

    def __enter__(self) -> Cluster:
        try:
            if self.shared:
                self.store.start()
            for node in self.nodes:
                node.start()
            for node in self.nodes:
                node.wait_ready()
            self.callee.start()
            self.kamailio.start()
            self.kamailio.wait_all_joined()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.kamailio.stop()
        self.callee.stop()
        for node in self.nodes:
            node.stop()
        self.store.stop()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.kamailio.port}"

    def node_by_port(self) -> dict[int, QalqanNode]:
        return {node.udp_port: node for node in self.nodes}

    def answered_by(self) -> dict[str, str]:
        """Record id → the name of the node whose answer Kamailio took, from Kamailio's log."""
        from urllib.parse import unquote

        ports = self.node_by_port()
        found: dict[str, str] = {}
        for line in self.kamailio.log().splitlines():
            if "by the screening node 127.0.0.1:" not in line:
                continue
            call_id = line.split("qalqan: ", 1)[1].split(" ", 1)[0]
            port = line.rsplit(":", 1)[1].strip()
            node = ports.get(int(port)) if port.isdigit() else None
            if node is not None:
                found[unquote(call_id.split("///", 1)[0])] = node.name
        return found
