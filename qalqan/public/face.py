"""The public application's one core object: what it knows and the two things it does.

:class:`PublicFace` holds the case store, the registry of protected numbers,
the settings, the rate limits, the proof of work and the counters. The web
routes (:mod:`qalqan.public.app`) and the benchmark call :meth:`PublicFace.check`
and :meth:`PublicFace.report`, which run one short transaction of the store
each: the check reads (:func:`~qalqan.cases.reports.number_record`), the report
writes (:func:`~qalqan.cases.reports.file_report`).

Who asks is never written anywhere: the client's address keys the rate limits
in memory, and a report keeps only an HMAC of it (the reporter's fingerprint,
for deduplication), never the address.

With a :class:`~qalqan.public.shared.SharedStore` (``--redis``) the rate limits,
the spent challenges and the counts live in Redis for every worker (see
:mod:`qalqan.public.shared`); the workers must then share one secret.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from qalqan.cases.reports import FiledReport, NewReport, file_report, number_record
from qalqan.cases.store import CaseStore
from qalqan.errors import ConfigError
from qalqan.exchange.reader import read_file
from qalqan.public.checks import NumberVerdict, judge
from qalqan.public.metrics import FAMILIES, PublicMetrics
from qalqan.public.pow import ProofOfWork
from qalqan.public.shared import BucketsInRedis, CountsInRedis, SharedStore, SpentInRedis
from qalqan.public.throttle import TokenBuckets
from qalqan.screening.network import ProtectedNumbers

__all__ = ["PublicFace", "PublicSettings", "load_registry", "outcome_of"]

log = logging.getLogger("qalqan.public")


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicSettings:
    """The public application's bounds (the ``qalqan serve-public`` options)."""

    home_region: str = "KZ"
    check_rate: float = 1.0
    """Number checks per second per client, after the burst."""
    check_burst: float = 30.0
    report_rate: float = 1 / 60
    """Reports (and challenges) per second per client: one a minute after the burst."""
    report_burst: float = 5.0
    global_rate: float = 500.0
    """All clients together: requests per second, after the global burst."""
    global_burst: float = 1000.0
    max_clients: int = 10_000
    """Clients whose buckets are remembered (least recently seen forgotten first)."""
    pow_difficulty: int = 16
    pow_ttl_s: float = 300.0
    max_spent: int | None = None
    """Spent challenges remembered in the process; None: :attr:`spent_bound`."""
    max_body_bytes: int = 3 * 1024 * 1024
    recent: timedelta = timedelta(days=30)
    dedup_window: timedelta = timedelta(hours=24)

    @property
    def report_global_rate(self) -> float:
        """Reports (and challenges) per second, all clients together: a tenth of the checks'."""
        return self.global_rate / 10

    @property
    def report_global_burst(self) -> float:
        return self.global_burst / 10

    @property
    def spent_bound(self) -> int:
        """The most spent challenges that can be unexpired at once: each spend first takes a
        token of the reports' shared budget, and lives at most a time to live (one more for
        the second an expiry is rounded to)."""
        return math.ceil(self.report_global_burst + self.report_global_rate * self.pow_ttl_s) + 1


def outcome_of(filed: FiledReport) -> str:
    """What came of a report: ``duplicate``, ``queued`` (it named a live campaign) or ``filed``."""
    if filed.duplicate:
        return "duplicate"
    return "queued" if filed.alert_id is not None else "filed"


def load_registry(path: Path | None) -> ProtectedNumbers:
    """The exchange-v1 ``registry`` file at ``path`` (none: an empty registry).

    A row that cannot be read refuses the whole file, naming the file, the line and why:
    a protected number silently dropped would be told to the public as unknown."""
    if path is None:
        return ProtectedNumbers()
    reader = read_file(path, "registry")
    table = reader.read_all()
    errors = reader.report.errors
    if errors:
        lines = "; ".join(f"{path}:{e.line}: {e.reason}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ConfigError(f"the registry has rows that cannot be read: {lines}{more}")
    return ProtectedNumbers.from_table(table)


class PublicFace:
    """One public application over one case store (see the module's docstring)."""

    def __init__(
        self,
        *,
        store: CaseStore,
        registry: ProtectedNumbers,
        settings: PublicSettings,
        secret: bytes | None = None,
        tag_scheme: Callable[[str], str | None] | None = None,
        shared: SharedStore | None = None,
    ) -> None:
        if shared is not None and secret is None:
            raise ConfigError(
                "workers sharing a Redis must share one secret (--secret-file): it signs the "
                "challenges and keys the clients' buckets"
            )
        self.store = store
        self.registry = registry
        self.settings = settings
        self.secret = secret or secrets.token_bytes(32)
        self.shared = shared
        self.tag_scheme = tag_scheme
        """The text classifier's scheme of a report's text (``qalqan.content``), when wired."""
        checks = TokenBuckets(
            rate=settings.check_rate,
            burst=settings.check_burst,
            global_rate=settings.global_rate,
            global_burst=settings.global_burst,
            max_clients=settings.max_clients,
        )
        reports = TokenBuckets(
            rate=settings.report_rate,
            burst=settings.report_burst,
            global_rate=settings.report_global_rate,
            global_burst=settings.report_global_burst,
            max_clients=settings.max_clients,
        )
        self.pow = ProofOfWork(
            secret=self.secret,
            difficulty=settings.pow_difficulty,
            ttl_s=settings.pow_ttl_s,
            max_spent=settings.max_spent or settings.spent_bound,
            spent=None if shared is None else SpentInRedis(shared),
        )
        self.checks: TokenBuckets | BucketsInRedis = checks
        self.reports: TokenBuckets | BucketsInRedis = reports
        if shared is None:
            self.metrics = PublicMetrics()
            return
        self.checks = BucketsInRedis(shared, kind="check", secret=self.secret, fallback=checks)
        self.reports = BucketsInRedis(shared, kind="report", secret=self.secret, fallback=reports)
        self.metrics = PublicMetrics(CountsInRedis(shared, FAMILIES))

    def reporter_key(self, client: str) -> str:
        """A pseudonymous key of a client: an HMAC of its address, never the address."""
        return hmac.new(self.secret, client.encode(), hashlib.sha256).hexdigest()

    def check(self, number: str) -> NumberVerdict:
        """The verdict on an E.164 ``number``; counted by its level, logged without the asker."""
        with self.store.transaction() as session:
            record = number_record(session, number, recent=self.settings.recent)
        verdict = judge(
            number,
            registry=self.registry,
            record=record,
            home_region=self.settings.home_region,
            recent=self.settings.recent,
        )
        self.metrics.check(verdict.level.value)
        log.info("number check: %s", verdict.level.value)
        return verdict

    def report(self, report: NewReport) -> FiledReport:
        """File a report (its text tagged with its scheme when a classifier is wired)."""
        if self.tag_scheme is not None and report.text and report.scheme is None:
            report = replace(report, scheme=self.tag_scheme(report.text))
        with self.store.transaction() as session:
            filed = file_report(session, report, dedup_window=self.settings.dedup_window)
        outcome = outcome_of(filed)
        self.metrics.report(outcome)
        log.info("citizen report: %s", outcome)
        return filed

    @staticmethod
    def when(text: str) -> datetime | None:
        """A report's time as the form or the API gives it (ISO 8601), None when empty."""
        if not text:
            return None
        value = datetime.fromisoformat(text[:40])
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value
