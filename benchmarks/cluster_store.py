"""What a cluster's shared store costs: a replicated log (Redis Streams, NATS JetStream) or look-ups.

    .venv/bin/python benchmarks/cluster_store.py --quick          # about a minute
    .venv/bin/python benchmarks/cluster_store.py                  # about two minutes
    .venv/bin/python benchmarks/cluster_store.py --events 50000 --seconds 20

Screening nodes that share their traffic can do it two ways, and this measures both on the
machine it runs on, against servers it starts itself (``redis-server`` and ``nats-server -js``,
each on a free port of 127.0.0.1 with its data in a temporary folder, stopped at the end):

- **a replicated log applied locally**: each node decides from its own copy of the rolling
  state and publishes one small event per screened call (the attempt, the rules fired, whether
  it was let through: ``msgpack``, or JSON without it), which every other node applies. Figures:
  the publishing thread's CPU per event (``time.thread_time_ns``) and the events per second one
  publisher reaches, one event a round trip and in pipelined batches of 1, 10 and 100; the
  server's CPU per event (from ``/proc``); and the lag from the publisher's send to another
  process's receipt (``XREAD BLOCK``; a JetStream push consumer and a pull consumer kept
  primed), p50 and p99, at ``--rate`` events a second. Redis runs with no persistence and with
  ``appendonly yes`` + ``appendfsync everysec``; JetStream with file storage.
- **remote look-ups in the hot path**: the rolling state lives in Redis. The engine is run
  over the first ``--decisions`` attempts of the data set with its state store traced, so that
  every read (``total``, ``distinct``, ``contains``, ``seen``) and every update of each
  decision is known; those are then replayed against Redis with the structures one would use
  (a HASH of ten time buckets per counted key; per distinct key an exact ZSET of items scored
  by time, or HyperLogLogs per bucket; a string with a TTL per recent key), one pipelined round
  trip for the reads and one for the updates of each decision, from one client. Figures:
  decisions per second, p50 and p99 per decision, the client's CPU per decision, Redis's
  memory. Outcomes revealed later update the state too (their own round trip, counted in the
  throughput, not in a decision's latency).

For the same load the local engine's cost per decision is measured the way
``benchmarks/screening_engine.py`` measures it (``ScreeningEngine.from_dataset``, the attempts
read in time order with ``recorded_calls``, decided and recorded one by one, outcomes revealed
once the calls have ended). The data set is simulated (20,000 subscribers, two days, seed 1:
what ``qalqan simulate DIR -n 20000 -d 2 -s 1`` writes) unless ``--data`` names one.

Every figure is a measurement on this machine with client and servers sharing its cores,
not a pass/fail threshold; ``docs/cluster-store.md`` says what they mean for the choice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import importlib
import importlib.util
import json
import math
import multiprocessing as mp
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from screening_engine import _load, _screen_all

from qalqan.domain.model import Action, CallAttempt, Decision, Event, Ingress, Reason
from qalqan.exchange.reader import DataSet
from qalqan.screening.engine import ScreeningEngine
from qalqan.screening.network import load_network
from qalqan.screening.signals import CallOutcome
from qalqan.screening.state import (
    DEFAULT_MAX_ITEMS,
    InMemoryStateStore,
    RecentKeys,
    RollingCount,
    RollingDistinct,
)

STREAM: Final = "qalqan:events"
"""The Redis stream key (and, with dots, the JetStream subject) events are published to."""
MAXLEN: Final = 1_000_000
"""Events a Redis stream keeps (``XADD ... MAXLEN ~``): trimming is part of every publish."""
JS_STREAM: Final = "QALQAN_EVENTS"
SUBJECT: Final = "qalqan.events.node1"
SENT: Final = struct.Struct("<q")
"""The send time (``time.monotonic_ns``, one clock for every process of the machine) that
prefixes every event, so that the receiving process can tell its lag."""
BUCKETS: Final = 10
"""Time buckets per window, as the local engine's counts keep them."""


# --- servers -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with code {process.returncode} at start")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not open port {port} within 10 s")


@dataclass(frozen=True)
class Server:
    """A server this benchmark started: its process and port."""

    process: subprocess.Popen[bytes]
    port: int

    def cpu_s(self) -> float:
        """The server's CPU time so far (user + system), from ``/proc``; 0 where it is missing."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _serving(args: list[str], port: int, what: str) -> Iterator[Server]:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process, what)
        yield Server(process, port)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def redis_server(scratch: Path, *, aof: bool) -> contextlib.AbstractContextManager[Server]:
    """``redis-server`` on a free port, no snapshots; with ``aof`` the append-only file, fsync each second."""
    port = _free_port()
    folder = scratch / f"redis-{port}"
    folder.mkdir()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    args += ["--save", "", "--logfile", str(folder / "redis.log")]
    args += ["--appendonly", "yes", "--appendfsync", "everysec"] if aof else ["--appendonly", "no"]
    return _serving(args, port, "redis-server")


def nats_server(scratch: Path) -> contextlib.AbstractContextManager[Server]:
    """``nats-server`` with JetStream on a free port, its file store in ``scratch``."""
    port = _free_port()
    folder = scratch / f"nats-{port}"
    folder.mkdir()
    args = ["nats-server", "-js", "-sd", str(folder), "-p", str(port), "-a", "127.0.0.1"]
    return _serving(args, port, "nats-server")


# --- figures -------------------------------------------------------------------------------


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else math.nan


@dataclass(frozen=True)
class LogFigure:
    """One way of publishing events: what it costs the publisher and the server, how fast."""

    store: str
    how: str
    events: int
    client_us: float
    server_us: float
    per_s: float


@dataclass(frozen=True)
class LagFigure:
    """Send-to-receipt lag of events published at a steady rate, as another process saw it."""

    store: str
    how: str
    rate: int
    received: int
    sent: int
    lags_us: list[float]


@dataclass(frozen=True)
class DecisionFigure:
    """What one decision costs in one design."""

    design: str
    decisions: int
    per_s: float
    p50_us: float
    p99_us: float
    client_us: float
    note: str = ""


@dataclass
class Results:
    log: list[LogFigure] = field(default_factory=list)
    lag: list[LagFigure] = field(default_factory=list)
    decisions: list[DecisionFigure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _measured(server: Server) -> Iterator[list[float]]:
    """Times a block: [client thread CPU s, wall s, server CPU s], filled in at its end."""
    spent: list[float] = []
    cpu, wall, served = time.thread_time_ns(), time.perf_counter_ns(), server.cpu_s()
    yield spent
    spent += [
        (time.thread_time_ns() - cpu) / 1e9,
        (time.perf_counter_ns() - wall) / 1e9,
        server.cpu_s() - served,
    ]


def _log_figure(store: str, how: str, events: int, spent: list[float]) -> LogFigure:
    cpu_s, wall_s, server_s = spent
    return LogFigure(
        store, how, events, cpu_s / events * 1e6, server_s / events * 1e6, events / wall_s
    )


# --- the local engine, traced ----------------------------------------------------------------

TOTAL, DISTINCT, CONTAINS, SEEN, ADD = range(5)
READS: Final = frozenset({TOTAL, DISTINCT, CONTAINS, SEEN})
Op = tuple[int, int, str, str | None, float]
"""One use of the rolling state: (what, which aggregate, key, item, time)."""


def _text(value: Hashable) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return "|".join(_text(part) for part in value)
    return repr(value)


class _Tracer:
    """Every use of every aggregate, in order; the aggregates as (shape, full name, window)."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.aggregates: list[tuple[str, str, float]] = []

    def take(self) -> list[Op]:
        ops = self.ops[:]
        self.ops.clear()  # the traced aggregates hold this very list
        return ops


class _TracedCount:
    __slots__ = ("_at", "_inner", "_ops", "name", "window_s")

    def __init__(self, inner: RollingCount, at: int, tracer: _Tracer) -> None:
        self._inner, self._at, self._ops = inner, at, tracer.ops
        self.name, self.window_s = inner.name, inner.window_s

    def add(self, key: Hashable, t: float, amount: int = 1) -> None:
        self._ops.append((ADD, self._at, _text(key), None, t))
        self._inner.add(key, t, amount)

    def total(self, key: Hashable, t: float) -> int:
        self._ops.append((TOTAL, self._at, _text(key), None, t))
        return self._inner.total(key, t)

    def __len__(self) -> int:
        return len(self._inner)


class _TracedDistinct:
    __slots__ = ("_at", "_inner", "_ops", "name", "window_s")

    def __init__(self, inner: RollingDistinct, at: int, tracer: _Tracer) -> None:
        self._inner, self._at, self._ops = inner, at, tracer.ops
        self.name, self.window_s = inner.name, inner.window_s

    def add(self, key: Hashable, t: float, item: Hashable) -> None:
        self._ops.append((ADD, self._at, _text(key), _text(item), t))
        self._inner.add(key, t, item)

    def distinct(self, key: Hashable, t: float) -> int:
        self._ops.append((DISTINCT, self._at, _text(key), None, t))
        return self._inner.distinct(key, t)

    def contains(self, key: Hashable, item: Hashable, t: float) -> bool:
        self._ops.append((CONTAINS, self._at, _text(key), _text(item), t))
        return self._inner.contains(key, item, t)

    def __len__(self) -> int:
        return len(self._inner)


class _TracedRecent:
    __slots__ = ("_at", "_inner", "_ops", "name", "window_s")

    def __init__(self, inner: RecentKeys, at: int, tracer: _Tracer) -> None:
        self._inner, self._at, self._ops = inner, at, tracer.ops
        self.name, self.window_s = inner.name, inner.window_s

    def add(self, key: Hashable, t: float) -> None:
        self._ops.append((ADD, self._at, _text(key), None, t))
        self._inner.add(key, t)

    def seen(self, key: Hashable, t: float) -> bool:
        self._ops.append((SEEN, self._at, _text(key), None, t))
        return self._inner.seen(key, t)

    def __len__(self) -> int:
        return len(self._inner)


class TracedStateStore:
    """The engine's own in-memory store, with every read and update written down."""

    def __init__(self, tracer: _Tracer) -> None:
        self._inner = InMemoryStateStore()
        self._tracer = tracer
        self._known: dict[str, Any] = {}

    def _traced(self, shape: str, inner: Any, wrap: Callable[..., Any]) -> Any:
        found = self._known.get(inner.name)
        if found is None:
            at = len(self._tracer.aggregates)
            self._tracer.aggregates.append((shape, inner.name, inner.window_s))
            found = self._known[inner.name] = wrap(inner, at, self._tracer)
        return found

    def count(self, name: str, window_s: float) -> RollingCount:
        inner = self._inner.count(name, window_s)
        traced: RollingCount = self._traced("count", inner, _TracedCount)
        return traced

    def distinct(self, name: str, window_s: float) -> RollingDistinct:
        inner = self._inner.distinct(name, window_s)
        traced: RollingDistinct = self._traced("distinct", inner, _TracedDistinct)
        return traced

    def recent(self, name: str, window_s: float) -> RecentKeys:
        inner = self._inner.recent(name, window_s)
        traced: RecentKeys = self._traced("recent", inner, _TracedRecent)
        return traced

    def sizes(self) -> dict[str, int]:
        return self._inner.sizes()


@dataclass(frozen=True)
class Step:
    """What one decision (or one revealed outcome) read from and wrote to the rolling state."""

    decision: bool
    reads: tuple[Op, ...]
    writes: tuple[Op, ...]


@dataclass
class Trace:
    steps: list[Step]
    aggregates: list[tuple[str, str, float]]
    events: list[bytes]
    reads_asked: int
    """Reads the rules asked for, before a decision's repeated ones were merged."""


def _event(i: int, call: CallOutcome, fired: list[str], allowed: bool, pack: Any) -> bytes:
    """The event a node would publish for one screened call."""
    a = call.attempt
    body = {
        "node": "node-1",
        "seq": i,
        "t": a.time.timestamp(),
        "id": a.record_id,
        "caller": a.caller,
        "callee": a.callee,
        "ingress": str(a.ingress),
        "imsi": a.imsi,
        "imei": a.imei,
        "cell": a.cell,
        "fired": fired,
        "allowed": allowed,
    }
    packed: bytes = pack(body)
    return packed


def _packer() -> tuple[str, Any]:
    try:
        msgpack = importlib.import_module("msgpack")
    except ImportError:
        return "JSON", lambda body: json.dumps(body, separators=(",", ":")).encode()
    return "msgpack", msgpack.packb


def _unpacker() -> Any:
    try:
        msgpack = importlib.import_module("msgpack")
    except ImportError:
        return json.loads
    return msgpack.unpackb


def apply_events(data: Path, events: list[bytes]) -> DecisionFigure:
    """Another node applying the events: decode each, then record it in its own engine."""
    engine = ScreeningEngine.from_dataset(data)
    unpack = _unpacker()
    ingresses: dict[str, Ingress] = {}
    latencies: list[float] = []
    cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
    for raw in events:
        started = time.perf_counter_ns()
        body = unpack(raw)
        ingress = ingresses.get(body["ingress"])
        if ingress is None:
            ingress = ingresses[body["ingress"]] = Ingress.parse(body["ingress"])
        attempt = CallAttempt(
            time=datetime.fromtimestamp(body["t"], UTC),
            caller=body["caller"],
            callee=body["callee"],
            ingress=ingress,
            imsi=body["imsi"],
            imei=body["imei"],
            cell=body["cell"],
            record_id=body["id"],
        )
        reasons = tuple(Reason(rule=rule, weight=1.0, detail="") for rule in body["fired"])
        action = Action.ALLOW if body["allowed"] else Action.WARN
        engine.record(attempt, Decision(action=action, score=0.0, reasons=reasons))
        latencies.append((time.perf_counter_ns() - started) / 1e3)
    elapsed = (time.perf_counter_ns() - wall) / 1e9
    return DecisionFigure(
        "replicated log: applying another node's event",
        len(events),
        len(events) / elapsed,
        _pct(latencies, 0.5),
        _pct(latencies, 0.99),
        (time.thread_time_ns() - cpu) / 1e3 / len(events),
        "decode, then record in this node's engine (events, not decisions, a second)",
    )


def trace_engine(data: Path, calls: list[CallOutcome], limit: int) -> Trace:
    """Screen the first ``limit`` calls with a traced store: each decision's reads and writes."""
    tracer = _Tracer()
    network = load_network(DataSet.open(data))
    engine = ScreeningEngine(
        state=TracedStateStore(tracer),
        subscribers=network.subscribers,
        protected=network.protected,
        cells=network.cells,
    )
    _, pack = _packer()
    steps: list[Step] = []
    events: list[bytes] = []
    pending: list[tuple[float, int, CallOutcome]] = []
    asked = 0

    def step(decision: bool) -> None:
        ops = tracer.take()
        reads = [op for op in ops if op[0] in READS]
        nonlocal asked
        asked += len(reads)
        writes = tuple(op for op in ops if op[0] == ADD)
        steps.append(Step(decision, tuple(dict.fromkeys(reads)), writes))

    for i, call in enumerate(calls[:limit]):
        attempt = call.attempt
        t = attempt.time.timestamp()
        while pending and pending[0][0] <= t:
            engine.observe(heapq.heappop(pending)[2])
            step(decision=False)
        decision = engine.screen(attempt)
        step(decision=True)
        fired = sorted({reason.rule for reason in decision.reasons if reason.weight > 0})
        events.append(_event(i, call, fired, decision.action is Action.ALLOW, pack))
        if call.event is Event.VOICE:
            outcome = CallOutcome(
                attempt=attempt,
                answered=call.answered,
                duration_s=call.duration_s,
                action=decision.action,
            )
            heapq.heappush(pending, (t + call.duration_s + 30.0, i, outcome))
    return Trace(steps, tracer.aggregates, events, asked)


def local_engine(data: Path, calls: list[CallOutcome]) -> DecisionFigure:
    """The engine deciding from its own memory, as ``benchmarks/screening_engine.py`` runs it."""
    engine = ScreeningEngine.from_dataset(data)
    cpu = time.thread_time_ns()
    latencies, elapsed = _screen_all(engine, calls)
    cpu_us = (time.thread_time_ns() - cpu) / 1e3 / len(calls)
    return DecisionFigure(
        "local engine (state in this process)",
        len(calls),
        len(calls) / elapsed,
        _pct(latencies, 0.5),
        _pct(latencies, 0.99),
        cpu_us,
        "whole decision: every rule, inside the engine",
    )


# --- the replicated log: Redis Streams -----------------------------------------------------


def _batches(batch: int) -> str:
    return "one XADD a round trip" if batch == 0 else f"pipelined, {batch} a round trip"


def _stamped(event: bytes) -> bytes:
    return SENT.pack(time.monotonic_ns()) + event


def _xadd(client: Any, events: list[bytes], batch: int, n: int) -> None:
    """Publish ``n`` events: one ``XADD`` a call (``batch`` 0) or ``batch`` per pipeline."""
    m = len(events)
    if batch == 0:
        for i in range(n):
            client.xadd(STREAM, {"e": _stamped(events[i % m])}, maxlen=MAXLEN, approximate=True)
        return
    for start in range(0, n, batch):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(n, start + batch)):
            pipe.xadd(STREAM, {"e": _stamped(events[i % m])}, maxlen=MAXLEN, approximate=True)
        pipe.execute()


def _paced(rate: int, seconds: float) -> Iterator[int]:
    """0, 1, 2, ... each at its time, ``rate`` a second for ``seconds``."""
    start = time.monotonic()
    for i in range(max(1, int(rate * seconds))):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield i


def _redis_reader(port: int, expected: int, ready: Any, queue: Any) -> None:
    """Another node: ``XREAD BLOCK`` from the start of the stream; each event's lag in µs."""
    import redis

    client: Any = redis.Redis(port=port)
    client.ping()
    last: bytes | str = "0-0"
    lags: list[float] = []
    ready.set()
    give_up = time.monotonic() + 60
    while len(lags) < expected and time.monotonic() < give_up:
        got = client.xread({STREAM: last}, count=1000, block=1000)
        now = time.monotonic_ns()
        for _, entries in got:
            for entry_id, fields in entries:
                last = entry_id
                lags.append((now - SENT.unpack_from(fields[b"e"])[0]) / 1e3)
        if got:
            give_up = time.monotonic() + 5
    queue.put(lags)


def _lag_run(reader: Callable[..., None], reader_args: tuple[object, ...], expected: int,
             publish: Callable[[], int]) -> tuple[list[float], int]:  # fmt: skip
    """Start ``reader`` in another process, publish once it is ready; its lags and what was sent."""
    context = mp.get_context("spawn")
    ready, queue = context.Event(), context.Queue()
    process = context.Process(target=reader, args=(*reader_args, expected, ready, queue))
    process.start()
    try:
        if not ready.wait(60):
            raise SystemExit("the reading process did not start within 60 s")
        sent = publish()
        lags: list[float] = queue.get(timeout=90)
    finally:
        process.join(10)
        if process.is_alive():
            process.terminate()
    return lags, sent


def redis_log(server: Server, label: str, events: list[bytes], args: argparse.Namespace,
              results: Results) -> None:  # fmt: skip
    """Publish costs and lag of a Redis stream on ``server``."""
    import redis

    client = redis.Redis(port=server.port)
    for batch in (0, 1, 10, 100):
        client.delete(STREAM)
        with _measured(server) as spent:
            _xadd(client, events, batch, args.events)
        results.log.append(_log_figure(label, _batches(batch), args.events, spent))
    client.delete(STREAM)
    expected = max(1, int(args.rate * args.seconds))

    def publish() -> int:
        for i in _paced(args.rate, args.seconds):
            event = _stamped(events[i % len(events)])
            client.xadd(STREAM, {"e": event}, maxlen=MAXLEN, approximate=True)
        return expected

    lags, sent = _lag_run(_redis_reader, (server.port,), expected, publish)
    results.lag.append(
        LagFigure(label, "XREAD BLOCK, other process", args.rate, len(lags), sent, lags)
    )
    client.delete(STREAM)


# --- the replicated log: NATS JetStream ----------------------------------------------------


async def _jetstream(port: int) -> tuple[Any, Any]:
    import nats

    nc = await nats.connect(f"nats://127.0.0.1:{port}", connect_timeout=5)
    return nc, nc.jetstream()


async def _fresh_stream(js: Any) -> None:
    from nats.js import api
    from nats.js.errors import NotFoundError

    with contextlib.suppress(NotFoundError):
        await js.delete_stream(JS_STREAM)
    await js.add_stream(
        name=JS_STREAM,
        subjects=["qalqan.events.>"],
        storage=api.StorageType.FILE,
        max_msgs=MAXLEN,
        discard=api.DiscardPolicy.OLD,
    )


async def _js_publish(js: Any, events: list[bytes], batch: int, n: int) -> None:
    """Publish ``n`` events, each acknowledged: awaited one by one (``batch`` 0) or in batches."""
    m = len(events)
    if batch == 0:
        for i in range(n):
            await js.publish(SUBJECT, _stamped(events[i % m]))
        return
    for start in range(0, n, batch):
        acks = [
            await js.publish_async(SUBJECT, _stamped(events[i % m]))
            for i in range(start, min(n, start + batch))
        ]
        await asyncio.gather(*acks)


async def _js_costs(server: Server, events: list[bytes], n: int) -> list[LogFigure]:
    nc, js = await _jetstream(server.port)
    figures = []
    try:
        for batch in (0, 1, 10, 100):
            await _fresh_stream(js)
            with _measured(server) as spent:
                await _js_publish(js, events, batch, n)
            how = "publish, each ack awaited" if batch == 0 else f"publish_async, {batch} a batch"
            figures.append(_log_figure("NATS JetStream, file", how, n, spent))
        await _fresh_stream(js)
    finally:
        await nc.close()
    return figures


async def _js_read(port: int, mode: str, expected: int, ready: Any) -> list[float]:
    """Another node reading the stream: a push consumer, or a pull consumer kept primed."""
    from nats.js import api

    nc, js = await _jetstream(port)
    lags: list[float] = []
    done = asyncio.Event()

    async def on_event(msg: Any) -> None:
        if not msg.data:  # a status (pull request expired, no messages): not an event
            if mode == "pull":
                await ask()
            return
        lags.append((time.monotonic_ns() - SENT.unpack_from(msg.data)[0]) / 1e3)
        if len(lags) >= expected:
            done.set()
        elif mode == "pull" and len(lags) % 250 == 0:
            await ask()

    async def ask() -> None:  # 500 more, as a consuming client keeps a pull request outstanding
        request = json.dumps({"batch": 500, "expires": 60_000_000_000}).encode()
        await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{JS_STREAM}.applier", request, reply=inbox)

    inbox = nc.new_inbox()
    if mode == "push":
        await js.subscribe(SUBJECT, cb=on_event, ordered_consumer=True,
                           deliver_policy=api.DeliverPolicy.NEW)  # fmt: skip
    else:
        config = api.ConsumerConfig(
            durable_name="applier",
            ack_policy=api.AckPolicy.NONE,
            deliver_policy=api.DeliverPolicy.NEW,
            max_waiting=4,
        )
        await js.add_consumer(JS_STREAM, config)
        await nc.subscribe(inbox, cb=on_event)
        await ask()
        await ask()
    await nc.flush()
    ready.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=90)
    await nc.close()
    return lags


def _nats_reader(port: int, mode: str, expected: int, ready: Any, queue: Any) -> None:
    queue.put(asyncio.run(_js_read(port, mode, expected, ready)))


def nats_log(server: Server, events: list[bytes], args: argparse.Namespace,
             results: Results) -> None:  # fmt: skip
    """Publish costs and lag of a JetStream stream (file storage) on ``server``."""
    results.log.extend(asyncio.run(_js_costs(server, events, args.events)))
    expected = max(1, int(args.rate * args.seconds))

    async def paced_publish() -> int:
        nc, js = await _jetstream(server.port)
        try:
            start = time.monotonic()
            for i in range(expected):
                delay = start + i / args.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await js.publish(SUBJECT, _stamped(events[i % len(events)]))
        finally:
            await nc.close()
        return expected

    for mode, how in (("push", "push consumer (ordered)"), ("pull", "pull consumer, primed")):
        asyncio.run(_reset_stream(server.port))
        lags, sent = _lag_run(
            _nats_reader, (server.port, mode), expected, lambda: asyncio.run(paced_publish())
        )
        label = "NATS JetStream, file"
        results.lag.append(LagFigure(label, how, args.rate, len(lags), sent, lags))


async def _reset_stream(port: int) -> None:
    nc, js = await _jetstream(port)
    try:
        await _fresh_stream(js)
    finally:
        await nc.close()


# --- remote look-ups in the hot path (Redis) ------------------------------------------------


def _queue_read(pipe: Any, aggregate: tuple[str, str, float], op: Op, exact: bool) -> int:
    """Queue one read of a decision on ``pipe`` as Redis would serve it; the commands queued."""
    what, _, key, item, t = op
    _, name, window = aggregate
    tag = f"{{{name}:{key}}}"  # one hash slot a key, so that a Redis Cluster could hold it
    width = window / BUCKETS
    bucket = int(t // width)
    if what == TOTAL:
        pipe.hmget(f"c:{tag}", list(range(bucket - BUCKETS + 1, bucket + 1)))
    elif what == DISTINCT and exact:
        pipe.zcount(f"d:{tag}", f"({t - window}", "+inf")
    elif what == DISTINCT:
        pipe.pfcount(*(f"h:{tag}:{b}" for b in range(bucket - BUCKETS + 1, bucket + 1)))
    elif what == CONTAINS and exact:
        pipe.zscore(f"d:{tag}", item)
    elif what == CONTAINS:
        return 0  # a HyperLogLog cannot say whether it holds an item: the answer is lost
    else:
        pipe.get(f"r:{tag}")
    return 1


def _queue_write(pipe: Any, aggregate: tuple[str, str, float], op: Op, exact: bool) -> int:
    """Queue one update of the rolling state on ``pipe``; the commands queued."""
    _, _, key, item, t = op
    shape, name, window = aggregate
    tag = f"{{{name}:{key}}}"
    width = window / BUCKETS
    bucket = int(t // width)
    ttl = math.ceil(window + width)
    if shape == "count":
        pipe.hincrby(f"c:{tag}", str(bucket), 1)
        pipe.hdel(f"c:{tag}", str(bucket - BUCKETS))
        pipe.expire(f"c:{tag}", ttl)
        return 3
    if shape == "distinct" and exact:
        pipe.zadd(f"d:{tag}", {item: t})
        pipe.zremrangebyscore(f"d:{tag}", "-inf", t - window)
        pipe.zremrangebyrank(f"d:{tag}", 0, -(DEFAULT_MAX_ITEMS + 1))
        pipe.expire(f"d:{tag}", ttl)
        return 4
    if shape == "distinct":
        pipe.pfadd(f"h:{tag}:{bucket}", item)
        pipe.expire(f"h:{tag}:{bucket}", ttl)
        return 2
    pipe.set(f"r:{tag}", t, ex=ttl)
    return 1


class RawPipeline:
    """Commands encoded by hiredis and written to one socket, replies parsed by hiredis.

    The floor a fast client reaches: what is left is the round trip and Redis's own work, not
    redis-py's Python per command. Speaks the few commands the look-ups use.
    """

    def __init__(self, port: int) -> None:
        import hiredis

        self._pack = hiredis.pack_command
        self._reader = hiredis.Reader()
        self._sock = socket.create_connection(("127.0.0.1", port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._queued: list[bytes] = []

    def _queue(self, *args: str | int | float) -> None:
        # hiredis's stub types the command as a tuple of one item; it takes any length.
        self._queued.append(self._pack(args))  # type: ignore[arg-type]

    def hmget(self, key: str, fields: list[int]) -> None:
        self._queue("HMGET", key, *fields)

    def zcount(self, key: str, low: str, high: str) -> None:
        self._queue("ZCOUNT", key, low, high)

    def pfcount(self, *keys: str) -> None:
        self._queue("PFCOUNT", *keys)

    def zscore(self, key: str, member: str) -> None:
        self._queue("ZSCORE", key, member)

    def get(self, key: str) -> None:
        self._queue("GET", key)

    def hincrby(self, key: str, name: str, amount: int) -> None:
        self._queue("HINCRBY", key, name, amount)

    def hdel(self, key: str, name: str) -> None:
        self._queue("HDEL", key, name)

    def expire(self, key: str, seconds: int) -> None:
        self._queue("EXPIRE", key, seconds)

    def zadd(self, key: str, mapping: dict[str, float]) -> None:
        for member, score in mapping.items():
            self._queue("ZADD", key, score, member)

    def zremrangebyscore(self, key: str, low: str, high: float) -> None:
        self._queue("ZREMRANGEBYSCORE", key, low, high)

    def zremrangebyrank(self, key: str, start: int, stop: int) -> None:
        self._queue("ZREMRANGEBYRANK", key, start, stop)

    def pfadd(self, key: str, *values: str) -> None:
        self._queue("PFADD", key, *values)

    def set(self, key: str, value: float, ex: int) -> None:
        self._queue("SET", key, value, "EX", ex)

    def execute(self) -> list[object]:
        """Send what is queued in one write; read one reply for each command."""
        wanted = len(self._queued)
        self._sock.sendall(b"".join(self._queued))
        self._queued = []
        replies: list[object] = []
        while len(replies) < wanted:
            reply = self._reader.gets()
            if reply is False:
                chunk = self._sock.recv(1 << 16)
                if not chunk:
                    raise ConnectionError("Redis closed the connection")
                self._reader.feed(chunk)
            else:
                replies.append(reply)
        return replies

    def close(self) -> None:
        self._sock.close()


def lookups(
    server: Server, trace: Trace, *, exact: bool, raw: bool, seconds: float
) -> DecisionFigure:
    """Replay the traced decisions against Redis: reads in one round trip, updates in another.

    ``raw``: through :class:`RawPipeline` rather than redis-py's pipelines.
    """
    import redis

    client = redis.Redis(port=server.port)
    client.flushall()
    raw_pipe = RawPipeline(server.port) if raw else None

    def pipeline() -> Any:
        return raw_pipe if raw_pipe is not None else client.pipeline(transaction=False)

    answers: list[float] = []
    whole: list[float] = []
    commands = [0, 0]
    stop = time.monotonic() + seconds
    with _measured(server) as spent:
        for n, step in enumerate(trace.steps):
            started = time.perf_counter_ns()
            if step.reads:
                pipe = pipeline()
                for op in step.reads:
                    commands[0] += _queue_read(pipe, trace.aggregates[op[1]], op, exact)
                pipe.execute()
            answered = time.perf_counter_ns()
            if step.writes:
                pipe = pipeline()
                for op in step.writes:
                    commands[1] += _queue_write(pipe, trace.aggregates[op[1]], op, exact)
                pipe.execute()
            if step.decision:
                answers.append((answered - started) / 1e3)
                whole.append((time.perf_counter_ns() - started) / 1e3)
            if n % 512 == 511 and time.monotonic() > stop:
                break
    cpu_s, wall_s, server_s = spent
    decided = len(answers)
    memory = client.info("memory")["used_memory"] / 2**20
    keys = client.dbsize()
    client.close()
    if raw_pipe is not None:
        raw_pipe.close()
    design = "Redis look-ups, " + (
        "exact (ZSET per distinct key)" if exact else "approximate (HyperLogLog per bucket)"
    )
    design += ", hiredis on a socket" if raw else ", redis-py"
    note = (
        f"reads then updates p50 {_pct(whole, 0.5):,.0f} µs, p99 {_pct(whole, 0.99):,.0f} µs; "
        f"{commands[0] / decided:.1f} read and {commands[1] / decided:.1f} update commands a "
        f"decision; server CPU {server_s / decided * 1e6:,.0f} µs a decision; Redis "
        f"{memory:,.0f} MiB for {keys:,} keys"
    )
    return DecisionFigure(
        design,
        decided,
        decided / wall_s,
        _pct(answers, 0.5),
        _pct(answers, 0.99),
        cpu_s / decided * 1e6,
        note,
    )


# --- the report ----------------------------------------------------------------------------


def _describe_trace(trace: Trace) -> list[str]:
    decisions = [s for s in trace.steps if s.decision]
    outcomes = [s for s in trace.steps if not s.decision]
    reads = [len(s.reads) for s in decisions]
    writes = [len(s.writes) for s in decisions]
    sizes = [len(e) + SENT.size for e in trace.events]
    packer, _ = _packer()
    return [
        f"traced {len(decisions):,} decisions and {len(outcomes):,} outcomes over "
        f"{len(trace.aggregates)} rolling aggregates",
        f"per decision: {trace.reads_asked / len(decisions):.1f} reads asked by the rules, "
        f"{sum(reads) / len(decisions):.1f} once merged (p50 {_pct(reads, 0.5):.0f}, "
        f"max {max(reads)}); {sum(writes) / len(decisions):.1f} updates "
        f"(p50 {_pct(writes, 0.5):.0f}, max {max(writes)}); "
        f"{sum(len(s.writes) for s in outcomes) / max(1, len(outcomes)):.1f} updates an outcome",
        f"events ({packer}, with the 8-byte send time): mean {sum(sizes) / len(sizes):.0f} bytes, "
        f"min {min(sizes)}, max {max(sizes)}",
    ]


def _print_table(header: Sequence[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def report(results: Results) -> None:
    for note in results.notes:
        print(note)
    print()
    _print_table(
        ["store", "publishing", "events", "publisher CPU µs/event", "server CPU µs/event",
         "events/s"],
        [[f.store, f.how, f"{f.events:,}", f"{f.client_us:.1f}", f"{f.server_us:.1f}",
          f"{f.per_s:,.0f}"] for f in results.log],
    )  # fmt: skip
    _print_table(
        ["store", "reader", "events/s sent", "received", "lag p50 ms", "lag p99 ms", "max ms"],
        [[f.store, f.how, f"{f.rate:,}", f"{f.received:,} of {f.sent:,}",
          f"{_pct(f.lags_us, 0.5) / 1e3:.2f}", f"{_pct(f.lags_us, 0.99) / 1e3:.2f}",
          f"{max(f.lags_us, default=math.nan) / 1e3:.1f}"] for f in results.lag],
    )  # fmt: skip
    _print_table(
        ["design", "decisions", "decisions/s", "p50 µs", "p99 µs", "client CPU µs", "note"],
        [[f.design, f"{f.decisions:,}", f"{f.per_s:,.0f}", f"{f.p50_us:,.1f}",
          f"{f.p99_us:,.1f}", f"{f.client_us:,.1f}", f.note] for f in results.decisions],
    )  # fmt: skip


def _data_set(args: argparse.Namespace, scratch: Path) -> Path:
    if args.data is not None:
        return Path(args.data)
    from qalqan.simulator.config import Scenario
    from qalqan.simulator.operator import simulate

    data = scratch / "data"
    simulate(data, Scenario(subscribers=20_000, days=2, seed=1))
    return data


FULL: Final = {"events": 20_000, "seconds": 10.0, "decisions": 50_000}
QUICK: Final = {"events": 2_000, "seconds": 2.0, "decisions": 5_000}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, help="events per publishing run (20,000)")
    parser.add_argument("--seconds", type=float,
                        help="length of each lag run and bound of each look-up replay (10)")  # fmt: skip
    parser.add_argument("--rate", type=int, default=2_000, help="events a second in lag runs")
    parser.add_argument("--decisions", type=int,
                        help="decisions traced and replayed as look-ups (50,000)")  # fmt: skip
    parser.add_argument("--data", type=Path, help="an exchange-v1 data set instead of simulating")
    parser.add_argument("--quick", action="store_true",
                        help="a short run, about a minute: 2,000 events, 2 s, 5,000 decisions "
                        "unless given")  # fmt: skip
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if min(args.events, args.rate, args.decisions) < 1 or args.seconds <= 0:
        parser.error("--events, --rate, --decisions and --seconds must be positive")
    return args


def main() -> None:
    args = _arguments()
    results = Results()
    scratch = Path(tempfile.mkdtemp(prefix="qalqan-cluster-store-"))
    try:
        data = _data_set(args, scratch)
        calls = _load(data)
        results.decisions.append(local_engine(data, calls))
        trace = trace_engine(data, calls, args.decisions)
        del calls
        results.decisions.append(apply_events(data, trace.events))
        results.notes += _describe_trace(trace)
        if shutil.which("redis-server"):
            for aof, label in ((False, "Redis, no persistence"), (True, "Redis, AOF everysec")):
                with redis_server(scratch, aof=aof) as server:
                    redis_log(server, label, trace.events, args, results)
            with redis_server(scratch, aof=False) as server:
                clients = (False, True) if importlib.util.find_spec("hiredis") else (False,)
                for raw in clients:
                    for exact in (True, False):
                        figure = lookups(server, trace, exact=exact, raw=raw, seconds=args.seconds)
                        results.decisions.append(figure)
                if len(clients) == 1:
                    results.notes.append("hiredis is not installed: look-ups through redis-py only")
        else:
            results.notes.append("redis-server is not installed: Redis not measured")
        if shutil.which("nats-server"):
            with nats_server(scratch) as server:
                nats_log(server, trace.events, args, results)
        else:
            results.notes.append("nats-server is not installed: NATS JetStream not measured")
        report(results)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
