"""Counters and histograms rendered in the Prometheus text exposition format (0.0.4).

Written by hand rather than with ``prometheus_client``: a node's counters are a
few dict increments on the hot path with no global registry and no locks (each
face runs them on one thread or one event loop), and the exposition format is a
page of text. The screening node (:mod:`qalqan.screening.node`), the HTTP API
and the SIP server's metrics listener all render their families with these.

Label values that come from outside (rule ids from an engine's rules) are
capped: past :data:`MAX_LABEL_VALUES` distinct values new ones count as
``other``, so a misbehaving engine cannot grow the page without bound.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "LATENCY_BUCKETS_S",
    "MAX_LABEL_VALUES",
    "Counter",
    "Histogram",
    "gauge_lines",
    "number",
]

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


def number(value: float) -> str:
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
            yield f"{self.name}{_labels(self.labels, key)} {number(value)}"


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
                le = f'le="{number(bound)}"'
                yield f"{self.name}_bucket{_labels(self.labels, key, le)} {running}"
            yield f"{self.name}_sum{_labels(self.labels, key)} {number(series.sum)}"
            yield f"{self.name}_count{_labels(self.labels, key)} {series.total}"


def gauge_lines(name: str, help: str, value: float) -> list[str]:
    """One gauge, as the lines of its family."""
    return [f"# HELP {name} {help}", f"# TYPE {name} gauge", f"{name} {number(value)}"]
