"""What the HTTP API counts, rendered in the Prometheus text exposition format (0.0.4).

Written by hand rather than with ``prometheus_client``: the API's counters are
a few dict increments on the hot path with no global registry and no locks
(the app runs on one event loop), and the exposition format is a page of
text. The families:

- ``qalqan_http_decisions_total{action}``: screening answers by action;
- ``qalqan_http_decision_reasons_total{rule}``: reasons given, by rule id;
- ``qalqan_http_fail_open_total{cause}``: answers the engine did not give
  (``error``, ``deadline``);
- ``qalqan_http_outcomes_total{result}``: outcomes reported, ``learned`` or
  why not (``intercepted``, ``unknown_attempt``, ...);
- ``qalqan_http_outcome_attempts_held``: screened attempts held for their outcome;
- ``qalqan_http_engine_seconds``: time in the engine per call attempt;
- ``qalqan_http_request_seconds{route}``: time from request to response;
- ``qalqan_http_requests_total{route,status}`` and ``qalqan_http_errors_total{code,status}``;
- ``qalqan_http_engine_ready``: 1 once the engine is loaded.

Label values that come from outside (rule ids from an engine's rules) are
capped: past :data:`MAX_LABEL_VALUES` distinct values new ones count as
``other``, so a misbehaving engine cannot grow the page without bound.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["LATENCY_BUCKETS_S", "MAX_LABEL_VALUES", "ApiMetrics", "Counter", "Histogram"]

#: Upper bounds of the latency buckets, in seconds: 25 µs to 1 s.
LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)
MAX_LABEL_VALUES = 1000


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


@dataclass(slots=True)
class Counter:
    """A counter family with labels; ``inc(("warn",))``."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    values: dict[tuple[str, ...], float] = field(default_factory=dict)
    cap: int = MAX_LABEL_VALUES

    def inc(self, key: tuple[str, ...] = (), amount: float = 1.0) -> None:
        values = self.values
        if key in values:
            values[key] += amount
        elif len(values) < self.cap:
            values[key] = amount
        else:
            other = ("other",) * len(self.labels)
            values[other] = values.get(other, 0.0) + amount

    def get(self, key: tuple[str, ...] = ()) -> float:
        return self.values.get(key, 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for key, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.labels, key)} {_number(value)}"


@dataclass(slots=True)
class _Series:
    counts: list[int]
    total: int = 0
    sum: float = 0.0


@dataclass(slots=True)
class Histogram:
    """A histogram family in seconds, Prometheus style (cumulative when rendered)."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    bounds: tuple[float, ...] = LATENCY_BUCKETS_S
    series: dict[tuple[str, ...], _Series] = field(default_factory=dict)

    def observe(self, seconds: float, key: tuple[str, ...] = ()) -> None:
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = _Series(counts=[0] * (len(self.bounds) + 1))
        series.counts[bisect_left(self.bounds, seconds)] += 1
        series.total += 1
        series.sum += seconds

    def count(self, key: tuple[str, ...] = ()) -> int:
        series = self.series.get(key)
        return 0 if series is None else series.total

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for key, series in sorted(self.series.items()):
            running = 0
            for bound, count in zip((*self.bounds, float("inf")), series.counts, strict=True):
                running += count
                le = f'le="{_number(bound)}"'
                yield f"{self.name}_bucket{_labels(self.labels, key, le)} {running}"
            yield f"{self.name}_sum{_labels(self.labels, key)} {_number(series.sum)}"
            yield f"{self.name}_count{_labels(self.labels, key)} {series.total}"


class ApiMetrics:
    """The counters and histograms of one API instance."""

    def __init__(self) -> None:
        self.decisions = Counter(
            "qalqan_http_decisions_total", "Screening answers given, by action.", ("action",)
        )
        self.reasons = Counter(
            "qalqan_http_decision_reasons_total",
            "Reasons given with screening answers, by rule id.",
            ("rule",),
        )
        self.fail_open = Counter(
            "qalqan_http_fail_open_total",
            "Answers of the default action because the engine failed or was late, by cause.",
            ("cause",),
        )
        self.outcomes = Counter(
            "qalqan_http_outcomes_total",
            "Outcomes reported to POST /v1/outcome, by result: learned, or why not "
            "(intercepted, unscreened, unknown_attempt, mismatch, untrusted, not_learning).",
            ("result",),
        )
        self.engine_latency = Histogram(
            "qalqan_http_engine_seconds", "Time spent in the screening engine per call attempt."
        )
        self.request_latency = Histogram(
            "qalqan_http_request_seconds",
            "Time from a request's arrival to its response, by route.",
            ("route",),
        )
        self.requests = Counter(
            "qalqan_http_requests_total", "HTTP requests, by route and status.", ("route", "status")
        )
        self.errors = Counter(
            "qalqan_http_errors_total", "Error responses, by code and status.", ("code", "status")
        )
        self._gauges: list[tuple[str, str, Callable[[], float]]] = []

    def gauge(self, name: str, help: str, read: Callable[[], float]) -> None:
        """A value read when the page is rendered (engine readiness, uptime)."""
        self._gauges.append((name, help, read))

    def render(self) -> str:
        lines: list[str] = []
        for family in (
            self.decisions,
            self.reasons,
            self.fail_open,
            self.outcomes,
            self.requests,
            self.errors,
            self.engine_latency,
            self.request_latency,
        ):
            lines.extend(family.render())
        for name, help, read in self._gauges:
            lines.append(f"# HELP {name} {help}")
            lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name} {_number(read())}")
        return "\n".join(lines) + "\n"
