"""Counters of the public application, by outcome, in the Prometheus text format.

Lookups and reports are counted, never logged with who asked: a counter holds
an outcome's name and a number, nothing of the client.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Final

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
)


class PublicMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.checks: Counter[str] = Counter({o: 0 for o in CHECK_OUTCOMES})
        self.reports: Counter[str] = Counter({o: 0 for o in REPORT_OUTCOMES})

    def check(self, outcome: str) -> None:
        with self._lock:
            self.checks[outcome] += 1

    def report(self, outcome: str) -> None:
        with self._lock:
            self.reports[outcome] += 1

    def exposition(self) -> str:
        lines = [
            "# HELP qalqan_public_checks_total Number checks answered, by outcome.",
            "# TYPE qalqan_public_checks_total counter",
        ]
        with self._lock:
            lines += [
                f'qalqan_public_checks_total{{outcome="{o}"}} {n}'
                for o, n in sorted(self.checks.items())
            ]
            lines += [
                "# HELP qalqan_public_reports_total Citizens' reports received, by outcome.",
                "# TYPE qalqan_public_reports_total counter",
            ]
            lines += [
                f'qalqan_public_reports_total{{outcome="{o}"}} {n}'
                for o, n in sorted(self.reports.items())
            ]
        return "\n".join(lines) + "\n"
