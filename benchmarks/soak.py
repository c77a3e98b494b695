"""Soak: the HTTP API and the SIP node under valid calls, slow connections and hostile input at once.

    .venv/bin/python benchmarks/soak.py                 # 60 s
    .venv/bin/python benchmarks/soak.py --seconds 20 --fd-limit 1024 --burst 50000

Each face runs in a child process of its own, as ``qalqan serve-http`` and
``qalqan serve`` do, on 127.0.0.1 (free ports) with the full default
screening engine, under a file-descriptor limit of ``--fd-limit`` (1,024 by
default, a common ``ulimit -n``), with connection timeouts lowered (2 s for a
request to arrive) so that slow clients churn within the run. For
``--seconds`` they are driven with, all at the same time:

- valid calls, paced, from this process: ``POST /v1/screen`` over keep-alive,
  SIP INVITEs over UDP (with their ACKs) and over one TCP connection;
- from a second process, so that the attackers' own load does not count in
  the valid calls' latency: slow connections, HTTP and SIP/TCP clients that
  dribble a request a byte a second (slowloris) and clients that connect and
  say nothing (``--slow`` of each kind, 1,200 in all by default, past the
  descriptor limit of both servers together), each reopened ``--reconnect``
  seconds after the server closes it; and hostile messages: malformed JSON,
  a 5,000-digit ``Content-Length``, a 70 KB header block and binary garbage
  over HTTP; garbage and mutated INVITEs over UDP, a 5,000-digit
  ``Content-Length`` and an oversized message over TCP;
- a third of the way in, a burst of ``--burst`` distinct call attempts
  (batches of 1,000) followed by one call whose ``time`` is 11 minutes later:
  the stall case, whose answer must still come within the deadline. The HTTP
  node believes a client's time only within ``QALQAN_HTTP_CLIENT_TIME_SKEW_S``
  of its clock (5 s by default), so for this case it runs with
  :data:`STALL_CLIENT_TIME_SKEW_S` (15 minutes): the jump then really reaches
  the engine, whose whole state goes stale at once, and the report says
  whether the answer was judged at the client's time.

It prints answers per second and the p50/p99 latency of the valid calls as
this client saw them (the client's own time included), how many missed the
50 ms screening deadline or failed open, what the hostile messages got, the
server's resident memory and open descriptors after warm-up and after the
run (once slow connections have been let go), and the bytes it logged.
``soak()`` returns the same figures; ``tests/sip/test_soak.py`` runs it for a
few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEADLINE_MS = 50.0
HEADER_TIMEOUT_S = 2.0
SIP_IDLE_TIMEOUT_S = 10.0
STALL_CLIENT_TIME_SKEW_S = 900.0
"""The HTTP node's QALQAN_HTTP_CLIENT_TIME_SKEW_S in the soak (default 5 s): wide enough that
the stall case's call dated 11 minutes ahead moves the engine's clock, as it did before the
node bounded client time."""
STALL_JUMP = timedelta(minutes=11)
SUBSCRIBERS = 2000
"""Valid calls are between this many callers and callees, as on a real network, where
subscribers call again; the burst is of numbers never seen before."""


# --- the server side ------------------------------------------------------------------------


def serve_child(face: str, fd_limit: int) -> None:
    """One face with the default engine: print its ports, serve until stdin says, print counters."""
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if face == "http":
        from qalqan.api.app import ScreeningApi
        from qalqan.api.config import ApiSettings
        from qalqan.api.engine import engine_factory
        from qalqan.api.server import ApiServerThread

        settings = ApiSettings(
            header_timeout_s=HEADER_TIMEOUT_S,
            deadline_ms=DEADLINE_MS,
            max_body_bytes=4 << 20,
            client_time_skew_s=STALL_CLIENT_TIME_SKEW_S,
        )
        api = ScreeningApi(engine=engine_factory(), settings=settings)
        with ApiServerThread(api) as http:
            print(json.dumps({"http": http.port}), flush=True)
            sys.stdin.readline()
            guard = http.guard
            counters = {
                "timed_out": guard.timed_out,
                "headers_too_large": guard.headers_too_large,
                "evicted": guard.evicted,
                "refused": guard.refused,
                "cap": guard.max_connections,
            }
            print(json.dumps({"http_connections": counters}), flush=True)
        return

    from qalqan.screening.config import load_config
    from qalqan.screening.engine import ScreeningEngine
    from qalqan.sip.config import SipConfig
    from qalqan.sip.server import SipServerThread

    sip_config = SipConfig(
        listen_host="127.0.0.1",
        udp_port=0,
        tcp_port=0,
        deadline_ms=DEADLINE_MS,
        tcp_header_timeout_s=HEADER_TIMEOUT_S,
        tcp_idle_timeout_s=SIP_IDLE_TIMEOUT_S,
    )
    engine = ScreeningEngine(load_config(None))
    with SipServerThread(sip_config, engine.screen) as sip:
        print(json.dumps({"udp": sip.server.udp_port, "tcp": sip.server.tcp_port}), flush=True)
        sys.stdin.readline()
        print(json.dumps({"sip": sip.server.metrics.snapshot()}), flush=True)


def _bucket_bound(histogram: dict[str, Any], q: float) -> float:
    """Upper bound of the bucket holding quantile ``q`` of a cumulative histogram snapshot."""
    wanted = q * histogram["count"]
    for bound, running in histogram["buckets_le_ms"].items():
        if running >= wanted:
            return float("inf") if bound == "+Inf" else float(bound)
    return float("inf")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _usage(pids: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: (_rss_kib(pid), _fds(pid)) for name, pid in pids.items()}


# --- what the client sees -------------------------------------------------------------------


@dataclass
class Face:
    """The valid calls of one face, as this client saw them."""

    sent: int = 0
    answered: int = 0
    failed_open: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def line(self, name: str, seconds: float) -> str:
        lat = sorted(self.latencies_ms) or [0.0]
        p99 = lat[int(0.99 * (len(lat) - 1))]
        late = sum(1 for v in lat if v > DEADLINE_MS)
        return (
            f"  {name:<10} {self.answered:>6}/{self.sent:<6} answered  {self.answered / seconds:7.1f}/s  "
            f"p50 {statistics.median(lat):6.2f} ms  p99 {p99:7.2f} ms  max {lat[-1]:7.1f} ms  "
            f"over {DEADLINE_MS:g} ms: {late}  failed open: {self.failed_open}"
        )


@dataclass
class SoakResult:
    seconds: float
    faces: dict[str, Face]
    hostile: Counter[str]
    slow_closed: Counter[str]
    stall_ms: float | None
    stall_failed_open: bool
    stall_time_ignored: bool
    """The node judged the stall case's call at its own time, not 11 minutes ahead."""
    burst: int
    rss_kib: dict[str, tuple[int, int]]
    """Each server's resident memory after warm-up and after the run."""
    timeline: list[tuple[float, dict[str, tuple[int, int]]]]
    """Seconds into the run → each server's (RSS KiB, open descriptors)."""
    fds: dict[str, tuple[int, int]]
    log_bytes: int
    log_lines: list[str]
    server: dict[str, Any]

    def report(self) -> str:
        lines = [f"soak of {self.seconds:.0f} s"]
        lines += [face.line(name, self.seconds) for name, face in self.faces.items()]
        if self.stall_ms is not None:
            jump = (
                "the node ignored the client's time, so the jump did not happen"
                if self.stall_time_ignored
                else "judged 11 min ahead (client time believed within "
                f"{STALL_CLIENT_TIME_SKEW_S:g} s)"
            )
            lines.append(
                f"  stall case: {self.burst} distinct attempts, then one 11 min later: answered in "
                f"{self.stall_ms:.1f} ms{' (failed open)' if self.stall_failed_open else ''}; "
                + jump
            )
        lines.append(f"  slow connections closed by the server: {dict(self.slow_closed)}")
        lines.append(f"  hostile messages, by answer: {dict(sorted(self.hostile.items()))}")
        for name, (before, after) in self.rss_kib.items():
            fds = self.fds[name]
            lines.append(
                f"  {name} server: RSS {before / 1024:.1f} → {after / 1024:.1f} MiB, "
                f"open descriptors {fds[0]} → {fds[1]}; during the run (s: MiB, descriptors) "
                + ", ".join(
                    f"{t:.0f}: {servers[name][0] / 1024:.0f}, {servers[name][1]}"
                    for t, servers in self.timeline
                )
            )
        lines.append(f"  logged by both servers: {self.log_bytes} bytes")
        for text in dict.fromkeys(self.log_lines[:200]):
            lines.append(f"    log: {text[:160]}")
        sip = self.server.get("sip", {})
        if sip:
            lines.append(
                "  SIP node's own view, arrival to answer: "
                + ", ".join(
                    f"p{q * 100:g} ≤ {_bucket_bound(sip['response_latency'], q):g} ms"
                    for q in (0.5, 0.99)
                )
            )
        lines.append(
            "  server counters: SIP tcp "
            + json.dumps(
                {
                    k: v
                    for k, v in sip.items()
                    if k.startswith("tcp_")
                    or k in ("shed", "parse_errors", "malformed_dropped", "handling_errors")
                }
            )
            + "; HTTP connections "
            + json.dumps(self.server.get("http_connections", {}))
        )
        return "\n".join(lines)


def _attempt(
    rng: random.Random, *, at: datetime | None = None, caller: str | None = None
) -> dict[str, Any]:
    return {
        "time": (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        "caller": caller or f"+7701{rng.randrange(SUBSCRIBERS):07d}",
        "callee": f"+7707{rng.randrange(SUBSCRIBERS):07d}",
        "ingress": rng.choice(["national", "international:carrierA", "mobile"]),
    }


def _http_post(path: str, payload: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: qalqan.test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


async def _read_http(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


def _invite(n: int, *, transport: str, via: str, caller: str | None = None) -> bytes:
    callee = f"+7707{n % SUBSCRIBERS:07d}"
    caller = caller or f"+7701{(n * 7919) % SUBSCRIBERS:07d}"
    return (
        f"INVITE sip:{callee}@sbc.example;user=phone SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {via};branch=z9hG4bK-soak-{transport}-{n}\r\n"
        f"From: <sip:{caller}@sbc.example;user=phone>;tag=s{n}\r\n"
        f"To: <sip:{callee}@sbc.example;user=phone>\r\n"
        f"Call-ID: soak-{transport}-{n}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def _ack(invite: bytes, answer: bytes) -> bytes:
    lines = invite.split(b"\r\n")
    to = next(line for line in answer.split(b"\r\n") if line.startswith(b"To:"))
    out = [lines[0].replace(b"INVITE", b"ACK", 1)]
    out += [
        line
        for line in lines[1:]
        if line.startswith((b"Via:", b"From:", b"Call-ID:", b"Max-Forwards:"))
    ]
    out += [b"CSeq: 1 ACK", to, b"Content-Length: 0"]
    return b"\r\n".join(out) + b"\r\n\r\n"


class Driver:
    def __init__(
        self,
        ports: dict[str, int],
        *,
        seconds: float,
        scale: float,
        burst: int,
        server_pids: dict[str, int],
        reconnect_s: float = 0.5,
    ) -> None:
        self.ports = ports
        self.server_pids = server_pids
        self.reconnect_s = reconnect_s
        self.timeline: list[tuple[float, dict[str, tuple[int, int]]]] = []
        self.seconds = seconds
        self.scale = scale
        self.burst = burst
        self.faces = {"http": Face(), "sip-udp": Face(), "sip-tcp": Face()}
        self.hostile: Counter[str] = Counter()
        self.slow_closed: Counter[str] = Counter()
        self.stall_ms: float | None = None
        self.stall_failed_open = False
        self.stall_time_ignored = False
        self.rng = random.Random(9)
        self.stop = 0.0

    def running(self) -> bool:
        return time.monotonic() < self.stop

    async def paced(self, rate: float, step: Any) -> None:
        interval = 1.0 / rate
        next_at = time.monotonic()
        while self.running():
            await step()
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    # --- valid calls ---------------------------------------------------------------------

    async def valid_http(self, rate: float) -> None:
        face = self.faces["http"]
        reader, writer = await asyncio.open_connection("127.0.0.1", self.ports["http"])

        async def one() -> None:
            nonlocal reader, writer
            face.sent += 1
            started = time.perf_counter()
            try:
                writer.write(_http_post("/v1/screen", json.dumps(_attempt(self.rng)).encode()))
                status, body = await asyncio.wait_for(_read_http(reader), 2.0)
            except (OSError, asyncio.IncompleteReadError, TimeoutError):
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", self.ports["http"])
                return
            if status == 200:
                face.answered += 1
                face.latencies_ms.append((time.perf_counter() - started) * 1000)
                face.failed_open += b"fail_open" in body

        await self.paced(rate, one)
        writer.close()

    async def valid_sip_udp(self, rate: float) -> None:
        face = self.faces["sip-udp"]
        loop = asyncio.get_running_loop()
        waiting: dict[bytes, tuple[float, bytes]] = {}

        class Client(asyncio.DatagramProtocol):
            transport: asyncio.DatagramTransport

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport  # type: ignore[assignment]

            def datagram_received(self, data: bytes, addr: Any) -> None:
                call_id = next(
                    (ln[9:].strip() for ln in data.split(b"\r\n") if ln.startswith(b"Call-ID:")),
                    b"",
                )
                sent = waiting.pop(call_id, None)
                if sent is None:
                    return
                face.answered += 1
                face.latencies_ms.append((time.perf_counter() - sent[0]) * 1000)
                face.failed_open += b"sip.fail_open" in data
                self.transport.sendto(_ack(sent[1], data))

        transport, _ = await loop.create_datagram_endpoint(
            Client, remote_addr=("127.0.0.1", self.ports["udp"])
        )
        via = f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"
        n = 0

        async def one() -> None:
            nonlocal n
            n += 1
            data = _invite(n, transport="UDP", via=via)
            waiting[b"soak-UDP-%d" % n] = (time.perf_counter(), data)
            face.sent += 1
            transport.sendto(data)

        await self.paced(rate, one)
        await asyncio.sleep(0.5)
        transport.close()

    async def valid_sip_tcp(self, rate: float) -> None:
        from qalqan.sip.message import StreamParser

        face = self.faces["sip-tcp"]
        reader, writer = await asyncio.open_connection("127.0.0.1", self.ports["tcp"])
        via = f"127.0.0.1:{writer.get_extra_info('sockname')[1]}"
        parser = StreamParser()
        n = 0

        async def one() -> None:
            nonlocal n, reader, writer, parser
            n += 1
            data = _invite(n, transport="TCP", via=via)
            face.sent += 1
            started = time.perf_counter()
            try:
                writer.write(data)
                while (answer := parser.next_message()) is None:
                    chunk = await asyncio.wait_for(reader.read(65536), 2.0)
                    if not chunk:
                        raise ConnectionResetError
                    parser.feed(chunk)
            except (OSError, TimeoutError):
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", self.ports["tcp"])
                parser = StreamParser()
                return
            face.answered += 1
            face.latencies_ms.append((time.perf_counter() - started) * 1000)
            wire = answer.to_bytes()
            face.failed_open += b"sip.fail_open" in wire
            writer.write(_ack(data, wire))

        await self.paced(rate, one)
        writer.close()

    # --- slow connections ----------------------------------------------------------------

    async def slow(self, kind: str, port: int, *, dribble: bool) -> None:
        opening = (
            b"POST /v1/screen HTTP/1.1\r\nHost: qalqan.test\r\n"
            if kind == "http"
            else b"INVITE sip:+77070000001@sbc.example SIP/2.0\r\n"
        )
        label = f"{kind}-{'slowloris' if dribble else 'idle'}"
        await asyncio.sleep(self.rng.random())
        while self.running():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            try:
                if dribble:
                    writer.write(opening)
                while self.running():
                    if dribble:
                        writer.write(b"X")  # a byte a second
                    try:
                        got = await asyncio.wait_for(reader.read(4096), 1.0)
                    except TimeoutError:
                        continue
                    if not got:
                        self.slow_closed[label] += 1
                        break
            except OSError:
                self.slow_closed[label] += 1
            finally:
                writer.close()
            await asyncio.sleep(self.reconnect_s)

    # --- hostile messages ----------------------------------------------------------------

    async def hostile_http(self, rate: float) -> None:
        attacks = {
            "http malformed JSON": _http_post("/v1/screen", b'{"caller": "+7701'),
            "http 5000-digit Content-Length": b"POST /v1/screen HTTP/1.1\r\nHost: q\r\nContent-Length: "
            + b"9" * 5000
            + b"\r\n\r\n{}",
            "http 70 KB of headers": b"GET /healthz HTTP/1.1\r\nHost: q\r\n"
            + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 100) for i in range(700))
            + b"\r\n",
            "http garbage": bytes(range(256)) * 4,
        }
        names = list(attacks)
        i = 0

        async def one() -> None:
            nonlocal i
            name = names[i % len(names)]
            i += 1
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.ports["http"])
            except OSError:
                self.hostile[f"{name}: connect failed"] += 1
                return
            try:
                writer.write(attacks[name])
                status, _ = await asyncio.wait_for(_read_http(reader), 3.0)
                self.hostile[f"{name}: {status}"] += 1
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError):
                self.hostile[f"{name}: closed"] += 1
            finally:
                writer.close()

        await self.paced(rate, one)

    async def hostile_sip(self, rate: float) -> None:
        valid = _invite(0, transport="TCP", via="127.0.0.1:9")
        attacks = {
            "sip tcp 5000-digit Content-Length": valid.replace(
                b"Content-Length: 0", b"Content-Length: " + b"9" * 5000
            ),
            "sip tcp oversized": valid.replace(b"Content-Length: 0", b"Content-Length: 70000")
            + b"v" * 70000,
        }
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.setblocking(False)
        i = 0

        async def one() -> None:
            nonlocal i
            i += 1
            garbage = bytes(self.rng.randrange(256) for _ in range(200))
            mutated = bytearray(_invite(i, transport="UDP", via="127.0.0.1:9"))
            for _ in range(4):
                mutated[self.rng.randrange(len(mutated))] = self.rng.choice(b"\r\n:;<>\x00\xff9")
            for data in (garbage, bytes(mutated)):
                udp.sendto(data, ("127.0.0.1", self.ports["udp"]))
            self.hostile["sip udp garbage and mutants: sent"] += 2
            name = list(attacks)[i % len(attacks)]
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.ports["tcp"])
            except OSError:
                self.hostile[f"{name}: connect failed"] += 1
                return
            try:
                writer.write(attacks[name])
                answer = await asyncio.wait_for(reader.read(200), 3.0)
                self.hostile[
                    f"{name}: {answer[8:11].decode() if answer.startswith(b'SIP/2.0 ') else 'closed'}"
                ] += 1
            except (OSError, TimeoutError):
                self.hostile[f"{name}: closed"] += 1
            finally:
                writer.close()

        await self.paced(rate, one)
        udp.close()

    # --- the stall case ------------------------------------------------------------------

    async def burst_then_jump(self) -> None:
        await asyncio.sleep(self.seconds / 3)
        reader, writer = await asyncio.open_connection("127.0.0.1", self.ports["http"])
        at = datetime.now(UTC)
        for start in range(0, self.burst, 1000):
            batch = [
                _attempt(self.rng, at=at, caller=f"+7702{n:07d}")
                for n in range(start, min(start + 1000, self.burst))
            ]
            writer.write(_http_post("/v1/screen/batch", json.dumps(batch).encode()))
            await asyncio.wait_for(_read_http(reader), 30.0)
        later = _attempt(self.rng, at=at + STALL_JUMP)
        started = time.perf_counter()
        writer.write(_http_post("/v1/screen", json.dumps(later).encode()))
        status, body = await asyncio.wait_for(_read_http(reader), 30.0)
        self.stall_ms = (time.perf_counter() - started) * 1000
        self.stall_failed_open = status != 200 or b"fail_open" in body
        self.stall_time_ignored = b"http.client_time_ignored" in body
        writer.close()

    async def sample(self) -> None:
        """The server's memory and descriptors every few seconds, to tell growth from a plateau."""
        started = time.monotonic()
        every = max(self.seconds / 6, 1.0)
        while self.running():
            self.timeline.append((time.monotonic() - started, _usage(self.server_pids)))
            await asyncio.sleep(every)

    async def run_valid(self) -> None:
        """The valid calls, the stall case and the sampling of the servers."""
        self.stop = time.monotonic() + self.seconds
        s = self.scale
        tasks = [self.valid_http(100 * s), self.valid_sip_udp(100 * s), self.valid_sip_tcp(50 * s)]
        if self.burst:
            tasks.append(self.burst_then_jump())
        if self.server_pids:
            tasks.append(self.sample())
        await asyncio.gather(*tasks)

    async def run_attacks(self, *, slow_per_kind: int) -> None:
        """The slow connections and the hostile messages."""
        self.stop = time.monotonic() + self.seconds
        tasks = [self.hostile_http(20 * self.scale), self.hostile_sip(10 * self.scale)]
        for kind, port in (("http", self.ports["http"]), ("sip", self.ports["tcp"])):
            for dribble in (True, False):
                tasks += [self.slow(kind, port, dribble=dribble) for _ in range(slow_per_kind)]
        await asyncio.gather(*tasks)


def attack_child(
    ports: dict[str, int], seconds: float, scale: float, slow: int, reconnect_s: float
) -> None:
    """The attackers, in a process apart from the valid callers, so that their own load does
    not count in the valid calls' latency; prints what they saw."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8 * slow + 256)), hard))
    driver = Driver(
        ports, seconds=seconds, scale=scale, burst=0, server_pids={}, reconnect_s=reconnect_s
    )
    asyncio.run(driver.run_attacks(slow_per_kind=slow))
    print(json.dumps({"hostile": driver.hostile, "slow_closed": driver.slow_closed}), flush=True)


def soak(
    seconds: float = 60.0,
    *,
    scale: float = 1.0,
    fd_limit: int = 1024,
    slow_per_kind: int = 300,
    reconnect_s: float = 0.5,
    burst: int = 50_000,
    warmup_s: float = 2.0,
) -> SoakResult:
    """Run the soak; each face runs in a child process whose memory and descriptors are read."""
    with tempfile.TemporaryFile() as log, contextlib.ExitStack() as children:
        servers: dict[str, subprocess.Popen[str]] = {}
        ports: dict[str, int] = {}
        for face in ("http", "sip"):
            child = subprocess.Popen(
                [sys.executable, __file__, "--serve", face, "--fd-limit", str(fd_limit)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                cwd=ROOT,
            )
            children.callback(child.kill)
            assert child.stdout is not None
            ports.update(json.loads(child.stdout.readline()))
            servers[face] = child
        pids = {face: child.pid for face, child in servers.items()}
        warm = Driver(ports, seconds=warmup_s, scale=scale, burst=0, server_pids=pids)
        asyncio.run(warm.run_valid())
        before = _usage(pids)
        attackers = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--attack",
                json.dumps(ports),
                "--seconds",
                str(seconds),
                "--scale",
                str(scale),
                "--slow",
                str(slow_per_kind),
                "--reconnect",
                str(reconnect_s),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        children.callback(attackers.kill)
        driver = Driver(
            ports,
            seconds=seconds,
            scale=scale,
            burst=burst,
            server_pids=pids,
            reconnect_s=reconnect_s,
        )
        asyncio.run(driver.run_valid())
        attacked, _ = attackers.communicate(timeout=60)
        seen = json.loads(attacked or "{}")
        driver.hostile.update(seen.get("hostile", {}))
        driver.slow_closed.update(seen.get("slow_closed", {}))
        time.sleep(HEADER_TIMEOUT_S + 1.0)  # the last slow connections are let go
        after = _usage(pids)
        server: dict[str, Any] = {}
        for child in servers.values():
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write("\n")
            child.stdin.flush()
            server.update(json.loads(child.stdout.readline() or "{}"))
            child.wait(30)
        log.seek(0)
        logged = log.read().decode("utf-8", "replace")
    return SoakResult(
        seconds=seconds,
        faces=driver.faces,
        hostile=driver.hostile,
        slow_closed=driver.slow_closed,
        stall_ms=driver.stall_ms,
        stall_failed_open=driver.stall_failed_open,
        stall_time_ignored=driver.stall_time_ignored,
        burst=burst,
        rss_kib={face: (before[face][0], after[face][0]) for face in pids},
        timeline=driver.timeline,
        fds={face: (before[face][1], after[face][1]) for face in pids},
        log_bytes=len(logged.encode()),
        log_lines=logged.splitlines(),
        server=server,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every rate")
    parser.add_argument("--fd-limit", type=int, default=1024)
    parser.add_argument("--slow", type=int, default=300, help="slow connections of each kind")
    parser.add_argument("--burst", type=int, default=50_000)
    parser.add_argument(
        "--reconnect",
        type=float,
        default=0.5,
        help="seconds a slow client waits before reopening a connection the server closed",
    )
    parser.add_argument("--serve", choices=["http", "sip"], help=argparse.SUPPRESS)
    parser.add_argument("--attack", metavar="PORTS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(args.serve, args.fd_limit)
        return
    if args.attack:
        attack_child(json.loads(args.attack), args.seconds, args.scale, args.slow, args.reconnect)
        return
    result = soak(
        args.seconds,
        scale=args.scale,
        fd_limit=args.fd_limit,
        slow_per_kind=args.slow,
        burst=args.burst,
        reconnect_s=args.reconnect,
    )
    print(result.report())


if __name__ == "__main__":
    main()
