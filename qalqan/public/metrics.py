"""Counters of the public application, by outcome, in the Prometheus text format.

Lookups and reports are counted, never logged with who asked: a counter holds
an outcome's name and a number, nothing of the client. With a shared store
(:class:`~qalqan.public.shared.CountsInRedis`) the page shows the totals of
every worker, and the store's own gauge and failures.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from qalqan.public.shared import CountsInRedis

__all__ = ["CHECK_OUTCOMES", "REPORT_OUTCOMES", "PublicMetrics"]

CHECK_OUTCOMES: Final = ("danger", "caution", "official", "unknown", "invalid", "limited")
REPORT_OUTCOMES: Final = (
    "filed",
    "duplicate",
    "queued",
    "invalid",
    "limited",
    "pow_refused",
    "csrf_refused",
    "unavailable",
)
FAMILIES: Final = {"checks": CHECK_OUTCOMES, "reports": REPORT_OUTCOMES}


class PublicMetrics:
    """This worker's counts, and with ``shared`` every worker's (``exposition`` asks the store)."""

    def __init__(self, shared: CountsInRedis | None = None) -> None:
        self._lock = threading.Lock()
        self.shared = shared
        self.checks: Counter[str] = Counter({o: 0 for o in CHECK_OUTCOMES})
        self.reports: Counter[str] = Counter({o: 0 for o in REPORT_OUTCOMES})

    def check(self, outcome: str) -> None:
        with self._lock:
            self.checks[outcome] += 1
        if self.shared is not None:
            self.shared.add("checks", outcome)

    def report(self, outcome: str) -> None:
        with self._lock:
            self.reports[outcome] += 1
        if self.shared is not None:
            self.shared.add("reports", outcome)

    def exposition(self) -> str:
        """The page (with a shared store this asks it: call it off the event loop)."""
        if self.shared is not None:
            totals = self.shared.totals()
            checks, reports = totals["checks"], totals["reports"]
        else:
            with self._lock:
                checks, reports = Counter(self.checks), Counter(self.reports)
        lines = [
            "# HELP qalqan_public_checks_total Number checks answered, by outcome.",
            "# TYPE qalqan_public_checks_total counter",
        ]
        lines += [
            f'qalqan_public_checks_total{{outcome="{o}"}} {n}' for o, n in sorted(checks.items())
        ]
        lines += [
            "# HELP qalqan_public_reports_total Citizens' reports received, by outcome.",
            "# TYPE qalqan_public_reports_total counter",
        ]
        lines += [
            f'qalqan_public_reports_total{{outcome="{o}"}} {n}' for o, n in sorted(reports.items())
        ]
        if self.shared is not None:
            lines += self.shared.store.render_lines()
        return "\n".join(lines) + "\n"
