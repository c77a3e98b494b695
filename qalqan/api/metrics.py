"""What the HTTP API counts, rendered in the Prometheus text exposition format (0.0.4).

The primitives are :mod:`qalqan.metrics`'s. The page holds, first, the
screening node's decision families, the same on the SIP server's page
(:class:`~qalqan.screening.node.NodeMetrics`):

- ``qalqan_node_decisions_total{action}``: screening answers by action;
- ``qalqan_node_decision_reasons_total{rule}``: reasons given, by rule id;
- ``qalqan_node_fail_open_total{cause}``: answers the engine did not give
  (``error``, ``deadline``);
- ``qalqan_node_deadline_misses_total{budget}``: calls past the node's
  deadline or the engine's rules budget;
- ``qalqan_node_engine_seconds``: time in the engine per call attempt;

then the API's own:

- ``qalqan_http_outcomes_total{result}``: outcomes reported, ``learned`` or
  why not (``intercepted``, ``unknown_attempt``, ...);
- ``qalqan_http_outcome_attempts_held``: screened attempts held for their outcome;
- ``qalqan_http_request_seconds{route}``: time from request to response;
- ``qalqan_http_requests_total{route,status}`` and ``qalqan_http_errors_total{code,status}``;
- ``qalqan_http_engine_ready``: 1 once the engine is loaded.

The node's families are also rendered under the API's former names
(``qalqan_http_decisions_total``, ``qalqan_http_decision_reasons_total``,
``qalqan_http_fail_open_total``, ``qalqan_http_engine_seconds``), marked
deprecated, so that dashboards built on them keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from qalqan.metrics import LATENCY_BUCKETS_S, MAX_LABEL_VALUES, Counter, Histogram, gauge_lines
from qalqan.screening.node import NodeMetrics

__all__ = ["LATENCY_BUCKETS_S", "MAX_LABEL_VALUES", "ApiMetrics", "Counter", "Histogram"]

#: The HTTP API's former names of the node's decision families, still rendered beside them.
FORMER_NAMES = {
    "qalqan_node_decisions_total": "qalqan_http_decisions_total",
    "qalqan_node_decision_reasons_total": "qalqan_http_decision_reasons_total",
    "qalqan_node_fail_open_total": "qalqan_http_fail_open_total",
    "qalqan_node_engine_seconds": "qalqan_http_engine_seconds",
}


class ApiMetrics:
    """The counters and histograms of one API instance, beside its screening node's."""

    def __init__(self, node: NodeMetrics | None = None) -> None:
        self.node = node if node is not None else NodeMetrics()
        self.outcomes = Counter(
            "qalqan_http_outcomes_total",
            "Outcomes reported to POST /v1/outcome, by result: learned, or why not "
            "(intercepted, unscreened, unknown_attempt, mismatch, untrusted, not_learning).",
            ("result",),
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

    @property
    def decisions(self) -> Counter:
        return self.node.decisions

    @property
    def reasons(self) -> Counter:
        return self.node.reasons

    @property
    def fail_open(self) -> Counter:
        return self.node.fail_open

    @property
    def engine_latency(self) -> Histogram:
        return self.node.engine_latency

    def render(self) -> str:
        lines = self.node.render_lines()
        for family in (self.outcomes, self.requests, self.errors, self.request_latency):
            lines.extend(family.render())
        for family in self.node.families():
            former = FORMER_NAMES.get(family.name)
            if former is not None:
                help = f"Deprecated: the same as {family.name}."
                lines.extend(replace(family, name=former, help=help).render())
        for name, help, read in self._gauges:
            lines.extend(gauge_lines(name, help, read()))
        return "\n".join(lines) + "\n"
