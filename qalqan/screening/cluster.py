"""A cluster of screening nodes sharing their rolling state through an event log in Redis Streams.

A node alone judges a burst from everything it has seen. Two nodes behind one
load balancer would each see half of every burst and judge it as half as
bad, so nodes of a cluster share what they learn: **every node's decisions
do not depend on which node a call landed on**, up to the propagation lag
(milliseconds; see ``docs/cluster.md``).

- **Decisions stay local.** A node decides from its own
  :class:`~qalqan.screening.state.InMemoryStateStore`, remembers its attempt
  at once, as a node alone does, and appends a *state event* to the stream.
  Every node follows the stream and applies the other nodes' events to its own
  copy, on the engine's thread, before its next decision
  (:meth:`SharedState.apply_pending`).
- **An event is the input of the state's updates, not the state**: the call
  attempt (time, numbers, ingress, SIM, handset, cell, record id) with the
  rules that fired on it with a positive weight and whether it was allowed,
  which :meth:`~qalqan.screening.engine.ScreeningEngine.remember` applies
  exactly as the deciding engine's ``screen`` did; or a call's outcome
  (:meth:`~qalqan.screening.engine.ScreeningEngine.observe`). It carries its
  origin node and that node's sequence number, is MessagePack of plain values
  (never pickle: the stream is shared) and at most ``max_event_bytes``; an
  event that is malformed or too big is skipped, counted and logged (now and
  then), never applied.
- **No decision lost from the log.** :meth:`SharedState.commit` sends every
  event not yet in the stream in one pipelined batch of XADDs and returns once
  the store has them (group commit); the faces call it once per batch of
  requests, before sending the answers.
- **Snapshots.** Every ``snapshot_every_s`` one node (the one holding a short
  lock) writes a zlib-compressed copy of its state, the home-country vote and
  the highest sequence number it applied of every origin, then trims the
  stream to well before it. A starting node loads the newest snapshot, reads
  the stream from where it was taken, and skips every event the snapshot
  already holds, so that nothing counts twice; a snapshot that inflates past
  ``max_snapshot_mb`` is refused unread, and the node catches up from the
  stream alone.
- **Store loss.** While the store cannot be reached, a node answers every call
  the fail-open action (``on_store_loss = fail_open``: a reason
  ``*.fail_open.store``) or keeps judging from its own copy and keeps its
  events (``judge_locally``; at most ``max_pending``, the rest dropped and
  counted). When the store is back, the events kept are published; when it
  came back empty (restarted without its data), the node writes a snapshot at
  once so that a newcomer can still catch up.

Threads: the engine is single-threaded. The follower thread only reads the
stream and hands decoded events over through a bounded queue; publishing,
applying and taking snapshots happen on the engine's thread. Compressing and
writing a snapshot happen on a thread of their own.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from qalqan import config
from qalqan.config import Secret, setting
from qalqan.domain.model import Action, CallAttempt, Decision, Event, Ingress
from qalqan.errors import ConfigError, QalqanError
from qalqan.metrics import Counter, Histogram, gauge_lines
from qalqan.screening.engine import allowed, fired
from qalqan.screening.signals import CallOutcome
from qalqan.throttled_log import ThrottledLog

if TYPE_CHECKING:
    from qalqan.screening.engine import ScreeningEngine

__all__ = [
    "APPLY_PER_CALL",
    "APPLY_PER_TICK",
    "ON_STORE_LOSS",
    "ClusterError",
    "ClusterMetrics",
    "ClusterSettings",
    "SharedState",
    "StateEvent",
    "decode_event",
    "encode_attempt",
    "encode_outcome",
]

logger = logging.getLogger(__name__)

ON_STORE_LOSS: Final = ("fail_open", "judge_locally")
"""What a node does while its store cannot be reached."""
EVENT_FIELD: Final = b"e"
"""The field of a stream entry holding the encoded event."""
ORIGIN_FIELD: Final = b"o"
"""The field of a stream entry naming its origin node, so that a node passes over its own
events without decoding them."""
FORMAT: Final = 1
"""The version of the event and snapshot encodings."""
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TEXT: Final = 256
_MAX_FIRED: Final = 64
_FOLLOW_BLOCK_MS: Final = 500
_FOLLOW_COUNT: Final = 1000
APPLY_PER_CALL: Final = 256
"""Other nodes' events a node applies at most before one decision (some 10 ms of work here)."""
APPLY_PER_TICK: Final = 1024
"""Other nodes' events a node applies at most in one turn of its face's timer, between calls."""
_FOLLOW_PAUSE_S: Final = 0.001
"""After a read that found few entries, the follower waits this long before reading again: its
wake-ups (one per entry, the node's own included, at full speed) would otherwise contend with
the engine's thread for the interpreter, for a millisecond more of propagation lag at most."""
_FOLLOW_FEW: Final = 64
_PUBLISH_CHUNK: Final = 1000
_RETRY_S: Final = 0.5
_LAG_BUCKETS_S: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)


def _send_and_read(connection: Any, packed: list[bytes], replies: int) -> None:
    """Send packed commands on a redis-py connection and read their replies, in order."""
    connection.send_packed_command(packed)
    for _ in range(replies):
        connection.read_response()


def _msgpack() -> Any:
    """MessagePack, imported when first needed (it ships no type hints)."""
    import msgpack  # type: ignore[import-untyped]

    return msgpack


class ClusterError(QalqanError):
    """The cluster's store cannot be used (not reached at start, or not a Redis)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSettings:
    """How a screening node shares its state with the others, read from ``QALQAN_CLUSTER_*``."""

    url: Secret | None = field(
        default=None,
        metadata=setting(
            "QALQAN_CLUSTER_URL",
            "Redis holding the cluster's event log (redis://host:6379/0, with a password if "
            "needed); none: the node keeps its state to itself.",
            secret=True,
        ),
    )
    stream: str = field(
        default="qalqan:screening",
        metadata=setting(
            "QALQAN_CLUSTER_STREAM",
            "Name of the Redis stream of state events; its snapshot and lock keys are named "
            "after it. Nodes sharing one stream share their state.",
        ),
    )
    node_id: str = field(
        default="",
        metadata=setting(
            "QALQAN_CLUSTER_NODE_ID",
            "This node's name in the event log; empty: hostname-pid.",
        ),
    )
    on_store_loss: str = field(
        default="fail_open",
        metadata=setting(
            "QALQAN_CLUSTER_ON_STORE_LOSS",
            "While the store cannot be reached: fail_open (answer every call the fail-open "
            "action) or judge_locally (judge from this node's own copy, keep its events).",
        ),
    )
    snapshot_every_s: float = field(
        default=60.0,
        metadata=setting(
            "QALQAN_CLUSTER_SNAPSHOT_EVERY_S",
            "Seconds between two snapshots of the state (written by one node of the cluster).",
        ),
    )
    max_pending: int = field(
        default=100_000,
        metadata=setting(
            "QALQAN_CLUSTER_MAX_PENDING",
            "Most of this node's events kept while the store is down; past it new ones are "
            "dropped and counted.",
        ),
    )
    catch_up_timeout_s: float = field(
        default=30.0,
        metadata=setting(
            "QALQAN_CLUSTER_CATCH_UP_TIMEOUT_S",
            "Seconds a starting node tries to reach the store and catch up before it gives up.",
        ),
    )
    commit_timeout_ms: float = field(
        default=250.0,
        metadata=setting(
            "QALQAN_CLUSTER_COMMIT_TIMEOUT_MS",
            "Milliseconds a commit (and any other request to the store) may take before the "
            "store is deemed lost.",
        ),
    )
    max_event_bytes: int = field(
        default=4096,
        metadata=setting(
            "QALQAN_CLUSTER_MAX_EVENT_BYTES",
            "Largest state event read from the stream; larger ones are skipped and counted.",
        ),
    )
    max_snapshot_mb: float = field(
        default=1024.0,
        metadata=setting(
            "QALQAN_CLUSTER_MAX_SNAPSHOT_MB",
            "Largest snapshot once inflated, in MB; a larger one is refused unread.",
        ),
    )

    def __post_init__(self) -> None:
        url: object = self.url
        if isinstance(url, str):  # a plain string is accepted and wrapped; empty is none
            object.__setattr__(self, "url", Secret(url) if url.strip() else None)
        problems = self.problems()
        if problems:
            raise ConfigError("Cluster settings: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every mistake in these settings, each naming its environment variable."""
        env = {f.name: f.metadata["env"] for f in fields(self)}
        problems: list[str] = []
        if self.url is not None and not self.url.reveal().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            problems.append(f"{env['url']} must start with redis://, rediss:// or unix://")
        if self.on_store_loss not in ON_STORE_LOSS:
            problems.append(
                f"{env['on_store_loss']}: '{self.on_store_loss}' is not one of "
                + ", ".join(ON_STORE_LOSS)
            )
        if not self.stream or len(self.stream) > _MAX_TEXT:
            problems.append(f"{env['stream']} must be a name of 1 to {_MAX_TEXT} characters")
        if len(self.node_id) > _MAX_TEXT:
            problems.append(f"{env['node_id']} is longer than {_MAX_TEXT} characters")
        for name in ("snapshot_every_s", "catch_up_timeout_s", "commit_timeout_ms"):
            if not getattr(self, name) > 0:
                problems.append(f"{env[name]} must be above 0")
        for name in ("max_pending", "max_event_bytes", "max_snapshot_mb"):
            if not getattr(self, name) >= 1:
                problems.append(f"{env[name]} must be at least 1")
        return problems

    @property
    def node_name(self) -> str:
        """This node's name in the event log: ``node_id``, else hostname-pid."""
        return self.node_id or f"{socket.gethostname()}-{os.getpid()}"

    @property
    def enabled(self) -> bool:
        """Whether a store is given: without one the node keeps its state to itself."""
        return self.url is not None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> ClusterSettings:
        """Settings from the ``cluster`` table of the settings file and ``QALQAN_CLUSTER_*``;
        ``overrides`` (None: not given) win over both."""
        resolved: ClusterSettings = config.resolve(cls, environ=environ, flags=overrides).settings
        return resolved

    @classmethod
    def registry(cls) -> list[tuple[str, str, str, str]]:
        """``(field, environment variable, default as shown, help)`` of every setting."""
        return config.registry(cls)

    def shown(self) -> dict[str, str]:
        """Every setting as it may be printed."""
        return config.shown(self)


config.part("cluster", prefix="QALQAN_CLUSTER_", title="Cluster settings")(ClusterSettings)


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateEvent:
    """One event of the log: an attempt remembered (``outcome`` None) or an outcome observed."""

    origin: str
    seq: int
    published: float
    """When the origin node made it (seconds since the epoch, its clock)."""
    attempt: CallAttempt
    fired: frozenset[str] = frozenset()
    allowed: bool = False
    outcome: CallOutcome | None = None


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _attempt_fields(attempt: CallAttempt) -> list[object]:
    return [
        _micros(attempt.time),
        attempt.caller,
        attempt.callee,
        str(attempt.ingress),
        attempt.imsi,
        attempt.imei,
        attempt.cell,
        attempt.record_id,
    ]


def encode_attempt(
    origin: str, seq: int, attempt: CallAttempt, decision: Decision, *, now: float
) -> bytes:
    """The event of an attempt the engine judged and remembered (its Identity header left out)."""
    msgpack = _msgpack()
    body = [FORMAT, "a", origin, seq, now, *_attempt_fields(attempt)]
    body += [sorted(fired(decision)), allowed(decision)]
    packed: bytes = msgpack.packb(body)
    return packed


def encode_outcome(origin: str, seq: int, outcome: CallOutcome, *, now: float) -> bytes:
    """The event of a call's outcome the engine observed."""
    msgpack = _msgpack()
    action = None if outcome.action is None else outcome.action.value
    body = [FORMAT, "o", origin, seq, now, *_attempt_fields(outcome.attempt)]
    body += [outcome.answered, outcome.duration_s, action, outcome.event.value]
    packed: bytes = msgpack.packb(body)
    return packed


def _required(value: object) -> str:
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise ValueError("a text field is not a short string")
    return value


def _text(value: object) -> str | None:
    return None if value is None else _required(value)


def _whole(value: object) -> int:
    if type(value) is not int:
        raise ValueError("a whole number is not one")
    return value


def _decode_attempt(values: list[Any]) -> CallAttempt:
    micros, caller, callee, ingress, imsi, imei, cell, record_id = values
    return CallAttempt(
        time=_EPOCH + timedelta(microseconds=_whole(micros)),
        caller=_text(caller),
        callee=_required(callee),
        ingress=Ingress.parse(_required(ingress)),
        imsi=_text(imsi),
        imei=_text(imei),
        cell=_text(cell),
        record_id=_text(record_id),
    )


def decode_event(raw: bytes, *, max_bytes: int) -> StateEvent:
    """An event read from the stream; raises :class:`ValueError` when it is too big or malformed."""
    msgpack = _msgpack()
    if len(raw) > max_bytes:
        raise ValueError(f"an event of {len(raw)} bytes is over the limit of {max_bytes}")
    try:
        body = msgpack.unpackb(raw, raw=False, strict_map_key=True, use_list=True)
    except Exception as error:  # msgpack raises several kinds for bytes that are not its own
        raise ValueError(f"not MessagePack ({type(error).__name__})") from None
    if not isinstance(body, list) or len(body) < 5 or body[0] != FORMAT:
        raise ValueError(f"not a state event of format {FORMAT}")
    kind, origin, seq, published = body[1:5]
    head = (_required(origin), _whole(seq))
    if isinstance(published, bool) or not isinstance(published, int | float):
        raise ValueError("its time of publication is not a number")
    if kind == "a" and len(body) == 15:
        attempt = _decode_attempt(body[5:13])
        rules, was_allowed = body[13:15]
        if not isinstance(rules, list) or len(rules) > _MAX_FIRED or type(was_allowed) is not bool:
            raise ValueError("its fired rules or allowed flag are malformed")
        names = frozenset(_required(rule) for rule in rules)
        return StateEvent(*head, float(published), attempt, names, was_allowed)
    if kind == "o" and len(body) == 17:
        attempt = _decode_attempt(body[5:13])
        answered, duration, action, event = body[13:17]
        if type(answered) is not bool or isinstance(duration, bool):
            raise ValueError("its answered flag is malformed")
        if not isinstance(duration, int | float) or not 0 <= duration < 1e7:
            raise ValueError("its talk time is malformed")
        outcome = CallOutcome(
            attempt=attempt,
            answered=answered,
            duration_s=float(duration),
            action=None if action is None else Action(_required(action)),
            event=Event(_required(event)),
        )
        return StateEvent(*head, float(published), attempt, outcome=outcome)
    raise ValueError(f"not a state event of format {FORMAT}")


# --- metrics -----------------------------------------------------------------------------------


class ClusterMetrics:
    """The cluster's families on the node's ``/metrics``.

    - ``qalqan_cluster_store_up``: 1 while the store answers;
    - ``qalqan_cluster_ready``: 1 once the node has caught up;
    - ``qalqan_cluster_pending_events``: this node's events not yet in the store;
    - ``qalqan_cluster_events_published_total``, ``..._applied_total``,
      ``..._skipped_total{why}`` (``malformed``, ``oversized``, ``duplicate``),
      ``..._dropped_total`` (past ``max_pending``);
    - ``qalqan_cluster_snapshots_total{what}`` (``written``, ``loaded``, ``refused``);
    - ``qalqan_cluster_apply_lag_seconds``: from an event's making on its node to its
      application here.
    """

    def __init__(self) -> None:
        self.published = Counter(
            "qalqan_cluster_events_published_total", "This node's state events the store holds."
        )
        self.applied = Counter(
            "qalqan_cluster_events_applied_total", "Other nodes' state events applied here."
        )
        self.skipped = Counter(
            "qalqan_cluster_events_skipped_total",
            "State events read but not applied: malformed, oversized, or already held.",
            ("why",),
        )
        self.dropped = Counter(
            "qalqan_cluster_events_dropped_total",
            "This node's state events dropped while the store was down (past max_pending).",
        )
        self.snapshots = Counter(
            "qalqan_cluster_snapshots_total",
            "Snapshots of the state written, loaded and refused.",
            ("what",),
        )
        self.lag = Histogram(
            "qalqan_cluster_apply_lag_seconds",
            "From a state event's making on its node to its application here.",
            bounds=_LAG_BUCKETS_S,
        )
        self.store_up = 0.0
        self.ready = 0.0
        self.pending: Callable[[], int] = lambda: 0

    def render_lines(self) -> list[str]:
        """The families as lines of the Prometheus text format."""
        lines = gauge_lines(
            "qalqan_cluster_store_up", "1 while the cluster's store answers.", self.store_up
        )
        lines += gauge_lines(
            "qalqan_cluster_ready", "1 once the node has caught up with the cluster.", self.ready
        )
        lines += gauge_lines(
            "qalqan_cluster_pending_events",
            "This node's state events not yet in the store.",
            float(self.pending()),
        )
        for family in (
            self.published,
            self.applied,
            self.skipped,
            self.dropped,
            self.snapshots,
            self.lag,
        ):
            lines.extend(family.render())
        return lines


# --- the shared state --------------------------------------------------------------------------


@dataclass(slots=True)
class _Snapshot:
    state: object
    applied: dict[str, int]
    last_id: str
    home_region: str | None
    votes: dict[str, int]


class SharedState:
    """One node's share of the cluster: publishes its events, follows the others', catches up.

    ``start()`` catches up (newest snapshot, then the stream after it) and starts
    following; until then :attr:`ready` is False. On the engine's thread:
    :meth:`apply_pending` before each decision, :meth:`recorded` after each
    (or :meth:`observe` for an outcome), :meth:`commit` before answers leave.
    """

    def __init__(
        self,
        engine: ScreeningEngine,
        settings: ClusterSettings,
        *,
        metrics: ClusterMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if settings.url is None:
            raise ConfigError("Cluster settings: QALQAN_CLUSTER_URL is not given")
        self.engine = engine
        self.settings = settings
        self.node_id = settings.node_name
        self.metrics = metrics if metrics is not None else ClusterMetrics()
        self.clock = clock
        self.ready = False
        self._stream = settings.stream
        self._snapshot_key = f"{settings.stream}:snapshot"
        self._lock_key = f"{settings.stream}:snapshot-lock"
        self._epoch_key = f"{settings.stream}:epoch"
        self._epoch: bytes | None = None
        self._outbox: list[bytes] = []
        self._origin = self.node_id.encode()
        self._inbox: deque[tuple[str, StateEvent | None]] = deque()
        self._inbox_room = threading.Semaphore(max(1, settings.max_pending))
        self._applied: dict[str, int] = {}
        self._applied_id = "0-0"
        self._seq_base = 0
        self._seq = 0
        self._up = False
        self._follower_up = False
        self._retry_at = 0.0
        self._next_snapshot = 0.0
        self._snapshot_now = False
        self._writing: threading.Thread | None = None
        self._stopped = threading.Event()
        self._follower: threading.Thread | None = None
        self._complaints = ThrottledLog(logger)
        self._redis = self._client()
        self._commit_connection: Any = None
        self.metrics.pending = lambda: len(self._outbox)

    def _client(self, *, block_ms: int = 0) -> Any:
        import redis

        timeout = self.settings.commit_timeout_ms / 1000.0
        assert self.settings.url is not None
        return redis.Redis.from_url(
            self.settings.url.reveal(),
            socket_timeout=timeout + block_ms / 1000.0,
            socket_connect_timeout=timeout,
            health_check_interval=0,
        )

    # --- state of the store ---------------------------------------------------------------

    @property
    def store_up(self) -> bool:
        """Whether the store answered last time it was asked (by the follower or a commit)."""
        return self._up

    @property
    def judging(self) -> bool:
        """Whether the node may judge now: caught up, and the store up or judging locally."""
        return self.ready and (self._up or self.settings.on_store_loss == "judge_locally")

    def _store_lost(self, error: BaseException, where: str) -> None:
        if self._up or self.metrics.store_up:
            self._complaints.log(
                logging.WARNING,
                "store",
                "the cluster's store %s cannot be reached (%s: %s); %s",
                self._stream,
                where,
                type(error).__name__,
                "judging locally"
                if self.settings.on_store_loss == "judge_locally"
                else "failing open",
            )
        self._up = False
        self.metrics.store_up = 0.0

    def _store_back(self) -> None:
        if not self._up:
            logger.info("the cluster's store %s answers again", self._stream)
        self._up = True
        self.metrics.store_up = 1.0

    # --- starting and stopping ------------------------------------------------------------

    def start(self) -> None:
        """Catch up with the cluster, then follow it; raises :class:`ClusterError` when the store
        cannot be reached within ``catch_up_timeout_s``."""
        import redis

        deadline = time.monotonic() + self.settings.catch_up_timeout_s
        while True:
            try:
                self._catch_up()
                break
            except redis.RedisError as error:
                if time.monotonic() >= deadline:
                    raise ClusterError(
                        f"the cluster's store cannot be reached to catch up "
                        f"({type(error).__name__}: {error})"
                    ) from None
                time.sleep(_RETRY_S)
        self._store_back()
        self._follower_up = True
        self._next_snapshot = time.monotonic() + self.settings.snapshot_every_s
        self._follower = threading.Thread(
            target=self._follow, name=f"qalqan-cluster-{self._stream}", daemon=True
        )
        self._follower.start()
        self.ready = True
        self.metrics.ready = 1.0

    def stop(self) -> None:
        """Stop following (what is not committed stays unpublished)."""
        self._stopped.set()
        for thread in (self._follower, self._writing):
            if thread is not None:
                thread.join(timeout=5.0)
        if self._commit_connection is not None:
            self._commit_connection.disconnect()
        self.ready = False
        self.metrics.ready = 0.0

    def _catch_up(self) -> None:
        """Load the newest snapshot, then apply the stream after it (on the calling thread)."""
        r = self._redis
        self._epoch = self._read_epoch(r)
        snapshot = self._read_snapshot(r)
        if snapshot is not None:
            self._load(snapshot)
        after = self._applied_id
        while True:
            entries = r.xrange(self._stream, min=f"({after}", count=_FOLLOW_COUNT)
            if not entries:
                break
            for entry_id, values in entries:
                after = entry_id.decode()
                self._apply(after, self._decoded(values))
        self._applied_id = after
        own = self._applied.get(self.node_id, 0)
        self._seq_base = self._seq = max(int(self.clock() * 1_000_000), own + 1)

    def _read_epoch(self, r: Any) -> bytes:
        """The token of the stream's life: a store that lost its data has a new one."""
        r.set(self._epoch_key, secrets.token_hex(8), nx=True)
        epoch: bytes | None = r.get(self._epoch_key)
        if epoch is None:
            raise ClusterError("the cluster's store lost the stream's epoch as it was written")
        return epoch

    # --- snapshots ------------------------------------------------------------------------

    def _read_snapshot(self, r: Any) -> _Snapshot | None:
        raw: bytes | None = r.get(self._snapshot_key)
        if raw is None:
            return None
        try:
            return self._decode_snapshot(raw)
        except ValueError as error:
            self.metrics.snapshots.inc(("refused",))
            self._complaints.log(
                logging.WARNING,
                "snapshot",
                "the cluster's snapshot %s is refused (%s); catching up from the stream alone",
                self._snapshot_key,
                error,
            )
            return None

    def _decode_snapshot(self, raw: bytes) -> _Snapshot:
        msgpack = _msgpack()
        limit = int(self.settings.max_snapshot_mb * 1_000_000)
        inflater = zlib.decompressobj()
        try:
            packed = inflater.decompress(raw, limit)
        except zlib.error as error:
            raise ValueError(f"not zlib data ({error})") from None
        if inflater.unconsumed_tail or not inflater.eof:
            raise ValueError(f"it inflates past {self.settings.max_snapshot_mb:g} MB or is cut")
        try:
            body = msgpack.unpackb(packed, raw=False, strict_map_key=True, use_list=True)
        except Exception as error:
            raise ValueError(f"not MessagePack ({type(error).__name__})") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise ValueError(f"not a snapshot of format {FORMAT}")
        applied, last_id, votes = body.get("applied"), body.get("last_id"), body.get("votes")
        home = body.get("home_region")
        if not isinstance(applied, dict) or not all(
            isinstance(k, str) and type(v) is int for k, v in applied.items()
        ):
            raise ValueError("its sequence numbers are malformed")
        if not isinstance(votes, dict) or not all(
            isinstance(k, str) and type(v) is int for k, v in votes.items()
        ):
            raise ValueError("its home-country votes are malformed")
        if not isinstance(last_id, str) or not (home is None or isinstance(home, str)):
            raise ValueError("its stream position or home country is malformed")
        return _Snapshot(body.get("state"), applied, last_id, home, votes)

    def _load(self, snapshot: _Snapshot) -> None:
        from qalqan.screening.state import InMemoryStateStore

        state = self.engine.state
        if not isinstance(state, InMemoryStateStore):  # a store without copies: the stream alone
            logger.warning(
                "this node's state store cannot load the cluster's snapshot; "
                "catching up from the stream alone"
            )
            return
        try:
            state.load(snapshot.state)
        except ValueError as error:
            self.metrics.snapshots.inc(("refused",))
            self._complaints.log(
                logging.WARNING, "snapshot", "the cluster's snapshot is refused (%s)", error
            )
            return
        self._applied = dict(snapshot.applied)
        self._applied_id = snapshot.last_id
        env = self.engine.env
        if env.home_region is None and snapshot.home_region is not None:
            env.home_region = snapshot.home_region
        env._region_votes = dict(snapshot.votes)
        self.metrics.snapshots.inc(("loaded",))

    def snapshot(self, *, force: bool = False) -> bool:
        """Take a snapshot now, on the engine's thread, and write it on a thread of its own.

        Without ``force``, only the node that takes the cluster's snapshot lock for the
        period writes one. False when none is written (lock held elsewhere, store down,
        a snapshot still being written).
        """
        import redis

        from qalqan.screening.state import InMemoryStateStore

        state = self.engine.state
        if not isinstance(state, InMemoryStateStore):
            return False
        if self._writing is not None and self._writing.is_alive():
            return False
        try:
            period_ms = int(self.settings.snapshot_every_s * 1000)
            if not force and not self._redis.set(
                self._lock_key, self.node_id, nx=True, px=period_ms
            ):
                return False
        except redis.RedisError as error:
            self._store_lost(error, "snapshot lock")
            return False
        body = {
            "format": FORMAT,
            "node": self.node_id,
            "taken": self.clock(),
            "applied": {**self._applied, self.node_id: self._seq},
            "last_id": self._applied_id,
            "home_region": self.engine.env.home_region,
            "votes": dict(self.engine.env._region_votes),
            "state": state.copy(),  # made plain data on the writing thread
        }
        self._writing = threading.Thread(target=self._write_snapshot, args=(body,), daemon=True)
        self._writing.start()
        return True

    def _write_snapshot(self, body: dict[str, object]) -> None:
        import redis

        from qalqan.screening.state import StateCopy

        msgpack = _msgpack()

        copy = body["state"]
        if isinstance(copy, StateCopy):
            body = {**body, "state": copy.dump()}
        packed = zlib.compress(msgpack.packb(body), 1)
        try:
            r = self._client()
            r.set(self._snapshot_key, packed)
            last_id = str(body["last_id"])
            millis = int(last_id.partition("-")[0]) if last_id[:1].isdigit() else 0
            keep_ms = int(max(2 * self.settings.snapshot_every_s, 60.0) * 1000)
            if millis > keep_ms:
                r.xtrim(self._stream, minid=f"{millis - keep_ms}-0", approximate=True)
            self.metrics.snapshots.inc(("written",))
        except redis.RedisError as error:
            self._store_lost(error, "snapshot")

    # --- following ------------------------------------------------------------------------

    def _decoded(self, values: Mapping[bytes, bytes]) -> StateEvent | None:
        raw = values.get(EVENT_FIELD)
        if not isinstance(raw, bytes):
            self.metrics.skipped.inc(("malformed",))
            return None
        try:
            return decode_event(raw, max_bytes=self.settings.max_event_bytes)
        except ValueError as error:
            why = "oversized" if len(raw) > self.settings.max_event_bytes else "malformed"
            self.metrics.skipped.inc((why,))
            self._complaints.log(
                logging.WARNING, why, "a state event of the cluster is skipped: %s", error
            )
            return None

    def _follow(self) -> None:
        """The follower thread: read the stream after what was applied, hand events over."""
        import redis

        r = self._client(block_ms=_FOLLOW_BLOCK_MS)
        after = self._applied_id
        while not self._stopped.is_set():
            try:
                if not self._follower_up:
                    after = self._reconnected(r, after)
                found = r.xread({self._stream: after}, count=_FOLLOW_COUNT, block=_FOLLOW_BLOCK_MS)
            except redis.RedisError as error:
                self._follower_up = False
                self._store_lost(error, "follow")
                self._stopped.wait(_RETRY_S)
                continue
            self._follower_up = True
            if not self._up:
                self._store_back()
            for _stream, entries in found or ():
                for entry_id, values in entries:
                    after = entry_id.decode()
                    if values.get(ORIGIN_FIELD) == self._origin:
                        continue  # this node's own, applied when it was decided
                    event = self._decoded(values)
                    while not self._inbox_room.acquire(timeout=_RETRY_S):
                        if self._stopped.is_set():
                            return
                    self._inbox.append((after, event))
            if sum(len(entries) for _stream, entries in found or ()) < _FOLLOW_FEW:
                self._stopped.wait(_FOLLOW_PAUSE_S)

    def _reconnected(self, r: Any, after: str) -> str:
        """Where to read on from once the store answers again: from the start when it lost its
        data (and then a snapshot is taken at once, for newcomers)."""
        r.set(self._epoch_key, secrets.token_hex(8), nx=True)
        epoch: bytes | None = r.get(self._epoch_key)
        if epoch is not None and epoch != self._epoch:
            logger.warning(
                "the cluster's store came back without its stream; a snapshot is taken now"
            )
            self._epoch = epoch
            self._snapshot_now = True
            self._retry_at = 0.0
            return "0-0"
        return after

    # --- the engine's thread --------------------------------------------------------------

    def apply_pending(self, limit: int | None = None) -> int:
        """Apply the other nodes' events read so far, the oldest first, at most ``limit`` of them
        (None: all), on the engine's thread; how many.

        A node applies at most :data:`APPLY_PER_CALL` before each decision, so that a backlog
        (another node's burst, a follower that was cut off) never holds one call past its
        deadline: the rest wait for the next calls and the face's timer."""
        inbox = self._inbox
        applied = 0
        if inbox:
            room = self._inbox_room
            left = len(inbox) if limit is None else min(limit, len(inbox))
            for _ in range(left):
                entry_id, event = inbox.popleft()
                room.release()
                applied += self._apply(entry_id, event)
        if self._snapshot_now or time.monotonic() >= self._next_snapshot:
            self._snapshot_due()
        return applied

    def _snapshot_due(self) -> None:
        force = self._snapshot_now
        if not self.ready or not (self._up or force):
            return
        self._next_snapshot = time.monotonic() + self.settings.snapshot_every_s
        if force:
            self.commit()
        if self.snapshot(force=force):
            self._snapshot_now = False

    def _apply(self, entry_id: str, event: StateEvent | None) -> int:
        self._applied_id = entry_id
        if event is None:
            return 0
        applied = self._applied
        if event.seq <= applied.get(event.origin, -1):
            self.metrics.skipped.inc(("duplicate",))
            return 0
        applied[event.origin] = event.seq
        try:
            if event.outcome is None:
                self.engine.remember(event.attempt, fired=event.fired, allowed=event.allowed)
            else:
                self.engine.observe(event.outcome)
        except Exception as error:  # an event the engine cannot take must not stop the node
            self.metrics.skipped.inc(("malformed",))
            self._complaints.log(
                logging.WARNING, "apply", "a state event could not be applied: %r", error
            )
            return 0
        self.metrics.applied.inc()
        self.metrics.lag.observe(max(0.0, self.clock() - event.published))
        return 1

    def _queue(self, payload: bytes) -> None:
        if len(self._outbox) >= self.settings.max_pending:
            self.metrics.dropped.inc()
            return
        self._outbox.append(payload)

    def recorded(self, attempt: CallAttempt, decision: Decision) -> None:
        """The engine judged and remembered ``attempt``: its event goes out with the next commit."""
        self._seq += 1
        self._queue(encode_attempt(self.node_id, self._seq, attempt, decision, now=self.clock()))

    def observe(self, outcome: CallOutcome) -> None:
        """Learn how a call ended, here and (with the next commit) on every node."""
        self.apply_pending()
        self.engine.observe(outcome)
        self._seq += 1
        self._queue(encode_outcome(self.node_id, self._seq, outcome, now=self.clock()))

    @property
    def pending(self) -> int:
        """This node's events not yet in the store."""
        return len(self._outbox)

    def commit(self) -> bool:
        """Send every event not yet in the store, in pipelined XADDs, and wait for the store.

        True once the store holds them all (or there was nothing to send); False when the
        store is deemed lost (they are kept, up to ``max_pending``, for a later commit).
        While the store is down a commit tries it again at most every half second.
        """
        import redis

        outbox = self._outbox
        if not outbox:
            return self._up
        if not self._up and not self._follower_up and time.monotonic() < self._retry_at:
            return False
        origin, stream = self._origin, self._stream
        connection = self._commit_connection
        if connection is None:
            connection = self._commit_connection = self._redis.connection_pool.make_connection()
        try:
            sent = 0
            while sent < len(outbox):
                chunk = outbox[sent : sent + _PUBLISH_CHUNK]
                # One connection of its own, the commands packed and sent at once, the replies
                # read in order: a pipeline's bookkeeping would cost more than the round trip.
                packed = connection.pack_commands(
                    [
                        ("XADD", stream, "*", EVENT_FIELD, payload, ORIGIN_FIELD, origin)
                        for payload in chunk
                    ]
                )
                try:
                    _send_and_read(connection, packed, len(chunk))
                except (redis.ConnectionError, redis.TimeoutError):
                    # The connection may predate a restart of the store: once more on a new one
                    # (an event sent twice is applied once: its origin and number tell).
                    connection.disconnect()
                    _send_and_read(connection, packed, len(chunk))
                sent += len(chunk)
                self.metrics.published.inc(amount=float(len(chunk)))
        except redis.RedisError as error:
            connection.disconnect()  # a reply half read must not be taken for the next one's
            del outbox[:sent]
            self._retry_at = time.monotonic() + _RETRY_S
            self._store_lost(error, "commit")
            return False
        outbox.clear()
        self._store_back()
        return True
