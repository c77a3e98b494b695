"""Stage a data set for analysis: validate every row once and keep the accepted ones as Parquet.

One pass over each table: the reader checks rows against the contract,
rejected rows go to the quarantine with file, line and reason, and accepted
rows are written to ``WORK/<table>.parquet`` with the contract's types. The
analysis then runs SQL over those files. Bad rows are reported, never fatal;
a data set that cannot be read at all raises :class:`~qalqan.errors.DataSetError`.

Writing Parquet costs about as much as checking the rows, so a chunk is
written in a thread of its own while the next one is checked (Arrow lets go
of the GIL while it encodes): at most one chunk waits to be written. Columns
whose values repeat (an event, a route, a cell) are dictionary-encoded; ids
and numbers, nearly all distinct, are not, which spares the encoder a
dictionary it would only give up on. Nor do those get minimum and maximum
statistics: every row group of them spans about the whole range, so no query
could skip one by them. Compression is zstd at its fastest level when the staged
call records are kept (``--state``), so that they stay small; otherwise
(:data:`SCRATCH_COMPRESSION`) LZ4, which costs about 4 CPU seconds less to write
at 10 million call records and reads faster, for files about twice as large
that are deleted when the run ends.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from qalqan.exchange.checks import FEW_VALUES
from qalqan.exchange.reader import (
    DEFAULT_CHUNK_ROWS,
    DataSet,
    Progress,
    ReadLimits,
    TableReport,
    ValidationReport,
)
from qalqan.exchange.schema import INPUT_TABLES, Table
from qalqan.exchange.types import arrow_type, canonical_schema

__all__ = [
    "COMPRESSION",
    "SCRATCH_COMPRESSION",
    "StagedTableWriter",
    "dictionary_columns",
    "stage",
    "statistics_columns",
]

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1
#: The compression of staged files that only this run reads.
SCRATCH_COMPRESSION = "lz4"


def dictionary_columns(table: Table) -> list[str]:
    """The columns of ``table`` whose values repeat: a handful of kinds, or another table's keys."""
    return [
        column.name
        for column in table.columns
        if column.kind in FEW_VALUES or column.references is not None
    ]


def statistics_columns(table: Table) -> list[str]:
    """The columns of ``table`` whose minimum and maximum per row group can spare a query work:
    times, numbers and the columns whose values repeat; not ids and numbers written as text."""
    repeating = set(dictionary_columns(table))
    return [
        column.name
        for column in table.columns
        if column.name in repeating or arrow_type(column) != pa.string()
    ]


class StagedTableWriter:
    """Writes a table's accepted rows to Parquet in a thread, one chunk behind the caller.

    :meth:`write` hands a batch over and returns once the batch before it is
    written, so at most two are held; an error in writing is raised there or
    when the writer is closed. The file is closed on leaving the with-block,
    also when reading stops with an error.
    """

    def __init__(self, path: Path, table: Table, *, compression: str = COMPRESSION) -> None:
        self.path = path
        self.table = table
        self.compression = compression
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._pending: Future[None] | None = None
        self._thread = ThreadPoolExecutor(1, "qalqan-stage")

    def __enter__(self) -> StagedTableWriter:
        return self

    def write(self, batch: pa.RecordBatch) -> None:
        self._wait()
        if self._writer is None:
            names = set(batch.schema.names)
            self._writer = pq.ParquetWriter(
                self.path,
                batch.schema,
                compression=self.compression,
                compression_level=COMPRESSION_LEVEL if self.compression == COMPRESSION else None,
                use_dictionary=[n for n in dictionary_columns(self.table) if n in names],
                write_statistics=[n for n in statistics_columns(self.table) if n in names],
            )
        self._pending = self._thread.submit(self._writer.write_batch, batch)
        self.rows += batch.num_rows

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        failed = exc_type is not None
        try:
            self._wait()
        except BaseException:
            failed = True
            raise
        finally:
            self._thread.shutdown()
            self._close(failed=failed)

    def _close(self, *, failed: bool) -> None:
        """Close the file; after a failure, an error in closing it does not hide the failure."""
        if self._writer is None:
            if not failed:  # no accepted rows: an empty file with the contract's columns
                pq.write_table(canonical_schema(self.table).empty_table(), self.path)
            return
        try:
            self._writer.close()
        except (OSError, pa.ArrowException):
            if not failed:
                raise


def stage(
    data_dir: Path,
    work_dir: Path,
    *,
    quarantine_dir: Path,
    progress: Progress | None = None,
    limits: ReadLimits | None = None,
    since: date | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    compression: str = COMPRESSION,
) -> ValidationReport:
    """Validate ``data_dir`` into ``work_dir``; returns what was read, accepted and rejected.

    ``compression`` is that of the staged files: :data:`COMPRESSION` for files that may be
    kept, :data:`SCRATCH_COMPRESSION` for those this run alone reads.

    With ``since``, only the call records of that day and later are kept: of a ``cdrs``
    kept as a folder of daily parts, only the parts named from that day on are read.
    """
    dataset = DataSet.open(data_dir, limits=limits)
    work_dir.mkdir(parents=True, exist_ok=True)
    report = ValidationReport(directory=data_dir)
    for name in INPUT_TABLES:
        if not dataset.has(name):
            report.absent.append(name)
            continue
        table_report = report.tables[name] = TableReport(table=name)
        with (
            StagedTableWriter(
                work_dir / f"{name}.parquet", INPUT_TABLES[name], compression=compression
            ) as writer,
            dataset.read(
                name,
                quarantine=quarantine_dir,
                progress=progress,
                report=table_report,
                chunk_rows=chunk_rows,
                parts_from=since.isoformat() if since is not None and name == "cdrs" else None,
            ) as reader,
        ):
            for batch in reader:
                if since is not None and name == "cdrs":
                    batch = _from_day(batch, since)
                writer.write(batch)
    return report


def _from_day(batch: pa.RecordBatch, since: date) -> pa.RecordBatch:
    """The call records of ``since`` and later."""
    start = pa.scalar(
        datetime(since.year, since.month, since.day, tzinfo=UTC),
        batch.schema.field("start_time").type,
    )
    return batch.filter(pc.greater_equal(batch.column("start_time"), start))
