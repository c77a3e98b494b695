"""Where rejected rows go: ``QUARANTINE_DIR/<table>.csv``, so that nothing is silently lost.

Each quarantined row says where it came from and why it was refused, then
repeats the row's cells exactly as they were read::

    file,line,reason,record_id,start_time,...
    cdrs.csv,5,"start_time '2026-13-01T00:00:00Z' is not a UTC time (...)",r4,2026-13-01T00:00:00Z,...

An operator can fix the rows there and hand them over again. Damage to a file
as a whole (a gzip stream that ends early) is recorded as a row of its own,
at the last line that could be read, with empty cells.

Rows are written as they are found, chunk by chunk, so a file with millions
of bad rows streams through in constant memory. The file is created with the
first rejected row; a quarantine file left from an earlier run of the same
table is removed first, so that what is there always belongs to the last read.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.csv as pcsv

__all__ = ["LEAD_COLUMNS", "QuarantineFile"]

LEAD_COLUMNS = ("file", "line", "reason")


class QuarantineFile:
    """The rejected rows of one table, streamed to ``DIR/<table>.csv``."""

    def __init__(self, directory: Path, table: str, columns: list[str]) -> None:
        self.path = Path(directory) / f"{table}.csv"
        self.rows = 0
        self.schema = pa.schema(
            [pa.field("file", pa.string()), pa.field("line", pa.int64())]
            + [pa.field(name, pa.string()) for name in ["reason", *columns]]
        )
        self._writer: pcsv.CSVWriter | None = None
        self.path.unlink(missing_ok=True)

    def write(self, rows: pa.RecordBatch) -> None:
        """Append rows with the columns of :attr:`schema` (file, line, reason, the raw cells)."""
        if rows.num_rows == 0:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pcsv.CSVWriter(
                str(self.path),
                self.schema,
                write_options=pcsv.WriteOptions(quoting_style="needed"),
            )
        self._writer.write_batch(rows.cast(self.schema))
        self.rows += rows.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> QuarantineFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
