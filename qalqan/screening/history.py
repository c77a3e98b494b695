"""Contact from the operator's own records, learned by a live node when it starts.

    learned = learn_contacts(engine, Path("operator-data"))   # before the first call
    print(learned.summary())

A live node learns contact from the outcomes of the calls it allowed, reported
as they end. Started fresh, though, it knows none, and every domestic number
calling from abroad would be "first contact" (``spoofed_cli.domestic_from_abroad``)
— the relative of a subscriber, roaming on another operator's SIM, included.
The operator's CDRs already say who talks to whom: :func:`learn_contacts` feeds
the engine the answered calls and delivered SMS of ``cdrs`` that began within
the contact window before ``now`` (the longest window any rule reads contact
over, 30 days by default), as outcomes the engine never screened
(``action=None``: the operator's own records), in time order, so that the
engine's clock moves forward as it does live.

Contact is what the batch analysis counts too (:mod:`qalqan.detections.spoofing`):
a record from outside whose caller ID a spoofing rule proves impossible at its
time (the engine judges it, changing nothing, as the records go by) teaches no
contact, though the victim answered it — a scammer's redial under the same
number must not pass as a known caller. ``skipped_spoofed`` counts them.

Bounded: the rows are streamed through the exchange reader (rejected ones are
skipped, as everywhere) and sorted by DuckDB on disk, as
:func:`~qalqan.screening.replay.sorted_cdrs` does for replay; the engine holds
at most its ``max_keys`` pairs. Rows dated after ``now`` are not history and
are left out.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Final

from qalqan.detections.spoofing import SPOOFING_RULES
from qalqan.domain.model import CallAttempt, Event, Ingress
from qalqan.exchange.reader import DataSet, TableReport
from qalqan.screening.engine import ScreeningEngine
from qalqan.screening.features import CONTACT_PAIRS
from qalqan.screening.replay import sorted_cdrs
from qalqan.screening.signals import CallOutcome

__all__ = ["ContactHistory", "contact_window_s", "learn_contacts"]

_SPOOFING: Final = frozenset(rule.id for rule in SPOOFING_RULES)

Progress = Callable[[int], None]
"""Called with the rows read so far."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactHistory:
    """What a node learned from the operator's records at start."""

    contacts: int
    """Answered calls and delivered SMS fed to the engine."""
    pairs: int
    """Pairs of numbers the engine now holds as contacts."""
    rows_read: int
    rows_rejected: int
    since: datetime
    until: datetime
    seconds: float
    skipped_spoofed: int = 0
    """Answered records from outside whose caller ID a spoofing rule proved impossible."""

    def summary(self) -> str:
        return (
            f"learned {self.pairs} pairs of numbers in contact from {self.contacts} answered "
            f"calls and delivered SMS between {self.since:%Y-%m-%d %H:%M} and "
            f"{self.until:%Y-%m-%d %H:%M} UTC ({self.rows_read} rows read, "
            f"{self.rows_rejected} rejected, {self.skipped_spoofed} with impossible caller IDs "
            f"not taken as contact, {self.seconds:.1f} s)"
        )


def contact_window_s(engine: ScreeningEngine) -> float:
    """The longest window over which any of the engine's rules reads contact; 0 when none does."""
    return max(
        (u.aggregate.window_s for u in engine.env.updates.values() if u.spec is CONTACT_PAIRS),
        default=0.0,
    )


def learn_contacts(
    engine: ScreeningEngine,
    data_dir: Path,
    *,
    now: datetime | None = None,
    work_dir: Path | None = None,
    memory_limit: str | None = "256MB",
    progress: Progress | None = None,
) -> ContactHistory:
    """Feed ``engine`` the contact in ``data_dir``'s ``cdrs`` within its contact window before ``now``.

    ``memory_limit`` bounds DuckDB's sort (it spills to ``work_dir`` past it), so that a
    node's start does not take the memory the node needs to serve.
    """
    started = perf_counter()
    until = now if now is not None else datetime.now(UTC)
    since = until - timedelta(seconds=contact_window_s(engine))
    report = TableReport(table="cdrs")
    contacts = 0
    skipped = 0
    if since < until:
        dataset = DataSet.open(data_dir)
        scratch = Path(tempfile.mkdtemp(prefix="qalqan-history-", dir=work_dir))
        ingresses: dict[str, Ingress] = {}
        try:
            batches = sorted_cdrs(
                dataset,
                scratch,
                quarantine=None,
                report=report,
                since=since,
                until=until,
                memory_limit=memory_limit,
            )
            for batch in batches:
                columns = batch.select(
                    [
                        "record_id",
                        "start_us",
                        "duration_s",
                        "event",
                        "result",
                        "a_number",
                        "b_number",
                        "ingress",
                    ]
                ).to_pylist()
                for row in columns:
                    if row["result"] != "answered" or row["a_number"] is None:
                        continue
                    text = row["ingress"]
                    ingress = ingresses.get(text)
                    if ingress is None:
                        ingress = ingresses[text] = Ingress.parse(text)
                    attempt = CallAttempt(
                        time=datetime.fromtimestamp(row["start_us"] / 1_000_000, UTC),
                        caller=row["a_number"],
                        callee=row["b_number"],
                        ingress=ingress,
                        record_id=row["record_id"],
                    )
                    if ingress.from_outside and _SPOOFING.intersection(
                        r.rule for r in engine.decide(attempt).reasons
                    ):
                        skipped += 1
                        continue
                    sms = row["event"] == "sms"
                    engine.observe(
                        CallOutcome(
                            attempt=attempt,
                            answered=True,
                            duration_s=0.0 if sms else float(row["duration_s"] or 0),
                            action=None,  # the operator's own record: never screened here
                            event=Event.SMS if sms else Event.VOICE,
                        )
                    )
                    contacts += 1
                if progress is not None:
                    progress(report.rows_read)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    pairs = max(
        (len(u.aggregate) for u in engine.env.updates.values() if u.spec is CONTACT_PAIRS),
        default=0,
    )
    return ContactHistory(
        contacts=contacts,
        pairs=pairs,
        rows_read=report.rows_read,
        rows_rejected=report.rows_rejected,
        since=since,
        until=until,
        seconds=perf_counter() - started,
        skipped_spoofed=skipped,
    )
