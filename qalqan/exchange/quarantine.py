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

The file's size is known as it grows (:attr:`QuarantineFile.bytes`), and a
write stops at a given size a few rows past it, so that a file of junk cannot
fill the disk through its quarantine (:mod:`qalqan.exchange.limits`).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Final

import pyarrow as pa
import pyarrow.csv as pcsv

__all__ = ["LEAD_COLUMNS", "QuarantineFile"]

LEAD_COLUMNS = ("file", "line", "reason")

_SLICE: Final = 1024
"""Rows written between two looks at the file's size."""


class QuarantineFile:
    """The rejected rows of one table, streamed to ``DIR/<table>.csv``."""

    def __init__(self, directory: Path, table: str, columns: list[str]) -> None:
        self.path = Path(directory) / f"{table}.csv"
        self.rows = 0
        self.schema = pa.schema(
            [pa.field("file", pa.string()), pa.field("line", pa.int64())]
            + [pa.field(name, pa.string()) for name in ["reason", *columns]]
        )
        self._sink: pa.NativeFile | None = None
        self._writer: pcsv.CSVWriter | None = None
        self.path.unlink(missing_ok=True)

    @property
    def bytes(self) -> int:
        """Bytes written to the file so far."""
        return self._sink.tell() if self._sink is not None else 0

    def write(self, rows: pa.RecordBatch, *, max_bytes: int | None = None) -> int:
        """Append rows with the columns of :attr:`schema` (file, line, reason, the raw cells).

        With ``max_bytes``, writing stops once the file has grown past it (a
        slice of rows later at most); the rows written are counted and returned.
        """
        if rows.num_rows == 0:
            return 0
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._sink = pa.OSFile(str(self.path), "wb")
            self._writer = pcsv.CSVWriter(
                self._sink,
                self.schema,
                write_options=pcsv.WriteOptions(quoting_style="needed"),
            )
        rows = rows.cast(self.schema)
        written = 0
        while written < rows.num_rows and (max_bytes is None or self.bytes <= max_bytes):
            piece = rows.slice(written, _SLICE)
            self._writer.write_batch(piece)
            written += piece.num_rows
        self.rows += written
        return written

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def __enter__(self) -> QuarantineFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
