"""What the SIP redirect server counts, as a plain object.

No metrics library is imported here: the counters are ints and dicts that the
server updates in its own thread. :meth:`SipMetrics.snapshot` turns them into a
flat dict (JSON), :meth:`SipMetrics.render` into the Prometheus text of the
``/metrics`` page of ``qalqan serve --metrics-port``: the screening node's
decision families (:class:`~qalqan.screening.node.NodeMetrics`, the same names
as on the HTTP API's page) and the SIP server's own, ``qalqan_sip_*``. Latency
histograms use fixed upper bounds in milliseconds, Prometheus style
(cumulative when exported, per-bucket here).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from qalqan.metrics import gauge_lines, number
from qalqan.screening.node import NodeMetrics

__all__ = [
    "LATENCY_BOUNDS_MS",
    "LatencyHistogram",
    "SipMetrics",
    "TcpCounters",
    "TransactionCounters",
]

#: Upper bounds of the latency buckets, in milliseconds; a last bucket catches the rest.
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    0.25,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
    250.0,
    1000.0,
)


@dataclass(slots=True)
class LatencyHistogram:
    """Counts of observations per latency bucket, with their sum."""

    bounds_ms: tuple[float, ...] = LATENCY_BOUNDS_MS
    counts: list[int] = field(default_factory=list)
    total: int = 0
    sum_ms: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds_ms) + 1)

    def observe(self, seconds: float) -> None:
        ms = seconds * 1000.0
        self.total += 1
        self.sum_ms += ms
        for index, bound in enumerate(self.bounds_ms):
            if ms <= bound:
                self.counts[index] += 1
                return
        self.counts[-1] += 1

    def quantile_bound_ms(self, q: float) -> float:
        """Upper bound of the bucket holding quantile ``q`` (inf past the last bound)."""
        if self.total == 0:
            return 0.0
        wanted = q * self.total
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= wanted:
                return self.bounds_ms[index] if index < len(self.bounds_ms) else float("inf")
        return float("inf")

    def snapshot(self) -> dict[str, object]:
        cumulative: dict[str, int] = {}
        running = 0
        for bound, count in zip((*self.bounds_ms, float("inf")), self.counts, strict=True):
            running += count
            cumulative["+Inf" if bound == float("inf") else f"{bound:g}"] = running
        return {"buckets_le_ms": cumulative, "count": self.total, "sum_ms": round(self.sum_ms, 3)}


@dataclass(slots=True)
class TransactionCounters:
    """What the transaction layer saw besides new requests."""

    retransmissions: int = 0
    """Requests that matched a transaction already under way (answered from the cache)."""
    acks_absorbed: int = 0
    stray_acks: int = 0
    """ACKs matching no transaction (for example for a 2xx, which this server never sends)."""
    response_retransmissions: int = 0
    """Final responses sent again by Timer G (UDP) because no ACK came."""
    ack_timeouts: int = 0
    """INVITE transactions that Timer H ended without an ACK."""
    cancelled: int = 0
    evicted: int = 0
    """Transactions forgotten early because the table was full."""


@dataclass(slots=True)
class TcpCounters:
    """What happened to TCP connections: how many are open, and why others were closed."""

    open: int = 0
    accepted: int = 0
    refused: int = 0
    """Newcomers closed at once: the connection cap was reached by connections all in use."""
    evicted: int = 0
    """Connections that had not yet sent a whole message, closed to make room for a newcomer."""
    timed_out: Counter[str] = field(default_factory=Counter)
    """Connections closed for being slow (``header``) or silent (``idle``)."""
    accept_failures: int = 0
    """``accept()`` failures, such as EMFILE when the process is out of file descriptors."""


@dataclass(slots=True)
class SipMetrics:
    """Counters of one SIP redirect server, beside its screening node's decision metrics."""

    requests_by_method: Counter[str] = field(default_factory=Counter)
    responses_by_status: Counter[int] = field(default_factory=Counter)
    parse_errors: int = 0
    malformed_dropped: int = 0
    """Malformed messages that could not even be answered with 400 (no Via, garbage)."""
    responses_ignored: int = 0
    """SIP responses received; a redirect server sends no requests, so none are expected."""
    shed: int = 0
    """Requests answered at once, unscreened, because the queue was full."""
    send_failures: int = 0
    handling_errors: int = 0
    """Messages whose handling raised: a bug, counted and logged at most once per interval."""
    tcp: TcpCounters = field(default_factory=TcpCounters)
    transactions: TransactionCounters = field(default_factory=TransactionCounters)
    response_latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    """From the INVITE's arrival to its answer leaving, queueing included."""
    node: NodeMetrics = field(default_factory=NodeMetrics)
    """The screening node's decision metrics (answers, reasons, fail-opens, engine time)."""

    @property
    def decisions_by_action(self) -> Counter[str]:
        """Answers given, by action (the node's count)."""
        return _counts(self.node.decisions.values)

    @property
    def fail_open_by_cause(self) -> Counter[str]:
        """Calls answered with the fail-open action unscreened: error, deadline, overload, expired."""
        return _counts(self.node.fail_open.values)

    @property
    def screening_latency(self) -> LatencyHistogram:
        """Time spent in the engine, in the node's buckets (in milliseconds here)."""
        latency = self.node.engine_latency
        series = latency.series.get(())
        histogram = LatencyHistogram(bounds_ms=tuple(b * 1000.0 for b in latency.bounds))
        if series is not None:
            histogram.counts = list(series.counts)
            histogram.total = series.total
            histogram.sum_ms = series.sum * 1000.0
        return histogram

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready copy of every counter."""
        t = self.transactions
        return {
            "requests_by_method": dict(self.requests_by_method),
            "responses_by_status": {str(k): v for k, v in self.responses_by_status.items()},
            "decisions_by_action": dict(self.decisions_by_action),
            "fail_open_by_cause": dict(self.fail_open_by_cause),
            "parse_errors": self.parse_errors,
            "malformed_dropped": self.malformed_dropped,
            "responses_ignored": self.responses_ignored,
            "shed": self.shed,
            "send_failures": self.send_failures,
            "handling_errors": self.handling_errors,
            "tcp_connections_open": self.tcp.open,
            "tcp_connections_accepted": self.tcp.accepted,
            "tcp_connections_refused": self.tcp.refused,
            "tcp_connections_evicted": self.tcp.evicted,
            "tcp_connections_timed_out": dict(self.tcp.timed_out),
            "tcp_accept_failures": self.tcp.accept_failures,
            "retransmissions": t.retransmissions,
            "acks_absorbed": t.acks_absorbed,
            "stray_acks": t.stray_acks,
            "response_retransmissions": t.response_retransmissions,
            "ack_timeouts": t.ack_timeouts,
            "cancelled": t.cancelled,
            "transactions_evicted": t.evicted,
            "response_latency": self.response_latency.snapshot(),
            "screening_latency": self.screening_latency.snapshot(),
        }

    def render(self, gauges: Mapping[str, tuple[str, float]] | None = None) -> str:
        """Prometheus text: the node's decision families, then the SIP server's own.

        ``gauges`` are values read now (``name: (help, value)``): requests queued,
        uptime.
        """
        lines = self.node.render_lines()
        t = self.transactions
        lines += _family(
            "qalqan_sip_requests_total",
            "SIP requests received, by method.",
            "method",
            self.requests_by_method.items(),
        )
        lines += _family(
            "qalqan_sip_responses_total",
            "SIP responses sent, by status.",
            "status",
            ((str(k), v) for k, v in self.responses_by_status.items()),
        )
        lines += _family(
            "qalqan_sip_messages_total",
            "SIP messages that were not an ordinary request, by what became of them.",
            "result",
            (
                ("parse_error", self.parse_errors),
                ("malformed_dropped", self.malformed_dropped),
                ("response_ignored", self.responses_ignored),
                ("shed", self.shed),
                ("send_failure", self.send_failures),
                ("handling_error", self.handling_errors),
            ),
        )
        lines += _family(
            "qalqan_sip_transactions_total",
            "Transaction events besides new requests, by event.",
            "event",
            (
                ("retransmission", t.retransmissions),
                ("ack_absorbed", t.acks_absorbed),
                ("stray_ack", t.stray_acks),
                ("response_retransmission", t.response_retransmissions),
                ("ack_timeout", t.ack_timeouts),
                ("cancelled", t.cancelled),
                ("evicted", t.evicted),
            ),
        )
        lines += _family(
            "qalqan_sip_tcp_connections_total",
            "TCP connections, by what became of them.",
            "result",
            (
                ("accepted", self.tcp.accepted),
                ("refused", self.tcp.refused),
                ("evicted", self.tcp.evicted),
                ("accept_failure", self.tcp.accept_failures),
                *((f"timed_out_{k}", v) for k, v in sorted(self.tcp.timed_out.items())),
            ),
        )
        lines += _histogram(
            "qalqan_sip_response_seconds",
            "From an INVITE's arrival to its answer leaving, queueing included.",
            self.response_latency,
        )
        all_gauges: dict[str, tuple[str, float]] = {
            "qalqan_sip_tcp_connections_open": ("TCP connections open.", self.tcp.open)
        }
        all_gauges.update(gauges or {})
        for name, (help, value) in all_gauges.items():
            lines += gauge_lines(name, help, value)
        return "\n".join(lines) + "\n"


def _counts(values: Mapping[tuple[str, ...], float]) -> Counter[str]:
    return Counter({key[0]: int(value) for key, value in values.items()})


def _family(name: str, help: str, label: str, values: Iterable[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help}", f"# TYPE {name} counter"]
    lines += [
        f'{name}{{{label}="{_escaped(key)}"}} {number(value)}' for key, value in sorted(values)
    ]
    return lines


def _histogram(name: str, help: str, histogram: LatencyHistogram) -> list[str]:
    lines = [f"# HELP {name} {help}", f"# TYPE {name} histogram"]
    running = 0
    for bound, count in zip((*histogram.bounds_ms, float("inf")), histogram.counts, strict=True):
        running += count
        le = "+Inf" if bound == float("inf") else number(bound / 1000.0)
        lines.append(f'{name}_bucket{{le="{le}"}} {running}')
    lines.append(f"{name}_sum {number(histogram.sum_ms / 1000.0)}")
    lines.append(f"{name}_count {histogram.total}")
    return lines


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
