"""The SIP node's decisions, one CSV line per screened INVITE, as replay writes them.

``sip.decisions_log`` names the file; each INVITE the node screened (or answered by
fail-open) adds one line in the columns of replay's ``decisions.csv`` (exchange-v1
``record_id, action, score, reasons, latency_us``, then ``reason_facts``), the record id
being the INVITE's ``Call-ID``. So what a node decided live can be set beside what
``qalqan replay`` decides for the same calls, line by line.

**Bounded.** Callers choose how many INVITEs arrive, so the file cannot grow without end:
past ``sip.decisions_log_max_bytes`` it is moved aside to ``FILE.1`` (replacing the one
before) and a new file is begun, so the log never holds more than about twice that on disk.
Each line is flushed as written: a node stopped by a signal loses none.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Final

from qalqan.domain.messages import reasons_cell
from qalqan.domain.model import Decision
from qalqan.exchange.schema import DECISIONS

__all__ = ["COLUMNS", "DecisionsLog"]

COLUMNS: Final = DECISIONS.names
"""replay's ``decisions.csv`` columns: exchange-v1's, then ``reason_facts``."""
_MAX_RECORD_ID_CHARS: Final = 256


class DecisionsLog:
    """An append-only, size-capped CSV of decisions; not thread-safe (the SIP loop writes it)."""

    def __init__(self, path: Path, *, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.rotations = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._open()
        self._size = self._file.tell()

    def _open(self) -> io.TextIOWrapper:
        handle = self.path.open("a", encoding="utf-8", newline="")
        if handle.tell() == 0:
            handle.write(_line(COLUMNS))
            handle.flush()
        return handle

    def write(self, record_id: str | None, decision: Decision) -> None:
        """Add the decision on one INVITE."""
        reasons = decision.reasons
        line = _line(
            (
                (record_id or "")[:_MAX_RECORD_ID_CHARS],
                decision.action.value,
                f"{decision.score:.6g}",
                decision.reasons_text() if reasons else "",
                f"{decision.latency_us:.1f}",
                (reasons_cell(reasons) or "") if reasons else "",
            )
        )
        size = len(line) if line.isascii() else len(line.encode("utf-8"))
        if self._size + size > self.max_bytes:
            self._rotate()
        self._file.write(line)
        self._file.flush()
        self._size += size

    def _rotate(self) -> None:
        self._file.close()
        os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        self.rotations += 1
        self._file = self._open()
        self._size = self._file.tell()

    def close(self) -> None:
        self._file.close()


def _line(values: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()
