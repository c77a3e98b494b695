"""What one ingest did: rows read and rejected, alerts new and already there, batches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from qalqan.exchange.reader import TableReport

DEFAULT_BATCH: Final = 1_000

IngestProgress = Callable[[int, int], None]
"""Called after each committed batch with (items acknowledged so far, items in all)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectedRows:
    """Rows of one input file that broke the exchange contract and were left out of the load."""

    file: Path
    rows: int
    quarantine: Path | None
    """The file that holds them with their lines and reasons (None: they were only counted)."""


@dataclass(slots=True, kw_only=True)
class IngestReport:
    """What one ingest did; ``alerts_new`` is zero when the same input is loaded again."""

    rows_read: int = 0
    """Rows of the input files read (decisions, or calls + farms + campaigns)."""
    rows_rejected: int = 0
    """Rows that broke the exchange contract and were left out, in every file read."""
    rejected: list[RejectedRows] = field(default_factory=list)
    """Those rows by file, in reading order; only files with rejected rows are listed."""
    alerts_seen: dict[str, int] = field(default_factory=dict)
    """Alerts in the input by kind: new ones plus ones already in the store."""
    alerts_new: dict[str, int] = field(default_factory=dict)
    """New alerts by kind."""
    batches: int = 0

    @property
    def total_new(self) -> int:
        return sum(self.alerts_new.values())

    def already_there(self, kind: str) -> int:
        """Alerts of ``kind`` in the input that the store already had."""
        return self.alerts_seen.get(kind, 0) - self.alerts_new.get(kind, 0)

    def note_rejected(self, table: TableReport, quarantine: Path | None) -> None:
        """Count the rows one table's reading rejected (none is left out silently)."""
        if not table.rows_rejected:
            return
        self.rows_rejected += table.rows_rejected
        self.rejected.append(
            RejectedRows(
                file=table.files[-1],
                rows=table.rows_rejected,
                quarantine=None if quarantine is None else quarantine / f"{table.table}.csv",
            )
        )

    def saw(self, kind: str, n: int) -> None:
        """Count ``n`` alerts of ``kind`` in the input (new or already in the store)."""
        self.alerts_seen[kind] = self.alerts_seen.get(kind, 0) + n
