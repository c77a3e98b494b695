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
that are deleted when the run ends; and none at all where the call records are
plain CSV under :data:`UNCOMPRESSED_BELOW` bytes (:func:`scratch_compression`).

Reading the call records keeps about one and a quarter cores busy. The tables that no
other table refers to (:data:`BESIDE`: all but the cells and the call records; the
payments often a third of the bytes) are staged meanwhile in a process of their own,
so that the second core does their work instead of waiting: at 10 million call
records and 5 million payments, 9.6-10.4 s of staging become 8.4-8.8. Their
reports, quarantine and files are those of staging them here. A table it cannot read
(a limit reached, a column missing) raises its error here, read once; should the
process itself fail in any other way, its tables are staged here again, and a failure
then is the same as without it.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from qalqan.errors import DataSetError
from qalqan.exchange.checks import FEW_VALUES
from qalqan.exchange.reader import (
    DEFAULT_CHUNK_ROWS,
    DataSet,
    Progress,
    ReadLimits,
    TableReport,
    ValidationReport,
    find_parts,
)
from qalqan.exchange.schema import INPUT_TABLES, Table
from qalqan.exchange.sources import find_table
from qalqan.exchange.types import arrow_type, canonical_schema

__all__ = [
    "BESIDE",
    "BESIDE_MIN_BYTES",
    "COMPRESSION",
    "SCRATCH_COMPRESSION",
    "UNCOMPRESSED_BELOW",
    "StagedTableWriter",
    "dictionary_columns",
    "scratch_compression",
    "stage",
    "statistics_columns",
]

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1
#: The compression of staged files that only this run reads.
SCRATCH_COMPRESSION = "lz4"
#: Call records in plain CSV below this many bytes are staged for this run alone without
#: compression (:func:`scratch_compression`).
UNCOMPRESSED_BELOW = 4 * 1024**3

#: Tables no other table refers to, staged in a process of their own beside the others
#: (the call records refer to the cells).
BESIDE: tuple[str, ...] = ("subscribers", "roaming", "registry", "payments", "accounts", "reports")
#: Below this many bytes of them, starting a process costs more than it saves.
BESIDE_MIN_BYTES = 64 * 1024 * 1024


def scratch_compression(data_dir: Path) -> str:
    """The compression of the staged files of a run that keeps none of them: none where the
    call records are plain CSV of fewer than :data:`UNCOMPRESSED_BELOW` bytes, else
    :data:`SCRATCH_COMPRESSION`.

    Staged files of that size stay in the page cache while the run reads them, where LZ4
    only costs CPU: at 10 million call records (1.6 GB of CSV) staging took 7.7-7.9 s
    instead of 8.7-8.8 and the analysis read the files as quickly, for 1.6 GB of scratch
    instead of 0.73. Larger or compressed inputs (whose staged size the bytes do not tell)
    keep LZ4, as files that may go to disk read faster small.
    """
    try:
        files = _table_files(data_dir, "cdrs")
    except DataSetError:  # staging says what is wrong
        return SCRATCH_COMPRESSION
    if not files or any(f.suffix != ".csv" for f in files):
        return SCRATCH_COMPRESSION
    plain = sum(f.stat().st_size for f in files)
    return "none" if plain < UNCOMPRESSED_BELOW else SCRATCH_COMPRESSION


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
    beside_min_bytes: int = BESIDE_MIN_BYTES,
) -> ValidationReport:
    """Validate ``data_dir`` into ``work_dir``; returns what was read, accepted and rejected.

    ``compression`` is that of the staged files: :data:`COMPRESSION` for files that may be
    kept, :data:`SCRATCH_COMPRESSION` for those this run alone reads. The tables of
    :data:`BESIDE` are staged in a process of their own when their files hold
    ``beside_min_bytes`` or more (the progress then tells of the others only).

    With ``since``, only the call records of that day and later are kept: of a ``cdrs``
    kept as a folder of daily parts, only the parts named from that day on are read.
    """
    dataset = DataSet.open(data_dir, limits=limits)
    work_dir.mkdir(parents=True, exist_ok=True)
    report = ValidationReport(directory=data_dir)
    options = _Options(quarantine_dir, limits, chunk_rows, compression, since)
    beside = [n for n in BESIDE if dataset.has(n)]
    if sum(f.stat().st_size for n in beside for f in _table_files(data_dir, n)) < beside_min_bytes:
        beside = []
    tables: dict[str, TableReport] = {}
    with _Beside(data_dir, work_dir, beside, options) as elsewhere:
        for name in INPUT_TABLES:
            if name not in beside and dataset.has(name):
                tables[name] = _stage_table(dataset, name, work_dir, options, progress)
        found = elsewhere.reports()
    if found is None:  # that process failed: staged here, where a failure of the data recurs
        found = {name: _stage_table(dataset, name, work_dir, options, progress) for name in beside}
    tables.update(found)
    for name in INPUT_TABLES:
        if name in tables:
            report.tables[name] = tables[name]
        else:
            report.absent.append(name)
    return report


@dataclass(frozen=True, slots=True)
class _Options:
    """How :func:`stage` stages each table, handed as one to the process beside it."""

    quarantine_dir: Path
    limits: ReadLimits | None
    chunk_rows: int
    compression: str
    since: date | None


def _stage_table(
    dataset: DataSet, name: str, work_dir: Path, options: _Options, progress: Progress | None
) -> TableReport:
    """Read, check and write one table of ``dataset``; its report."""
    since = options.since if name == "cdrs" else None
    table_report = TableReport(table=name)
    with (
        StagedTableWriter(
            work_dir / f"{name}.parquet", INPUT_TABLES[name], compression=options.compression
        ) as writer,
        dataset.read(
            name,
            quarantine=options.quarantine_dir,
            progress=progress,
            report=table_report,
            chunk_rows=options.chunk_rows,
            parts_from=since.isoformat() if since is not None else None,
        ) as reader,
    ):
        for batch in reader:
            if since is not None:
                batch = _from_day(batch, since)
            writer.write(batch)
    return table_report


class _Beside:
    """Stages some tables in a process of its own (``python -m qalqan.analytics.staging``)
    while the caller stages the others; :meth:`reports` waits for it.

    The process is told what to do and answers through files in the work folder, which
    only this run writes. Leaving the with-block stops it if it still runs (the caller
    failed).
    """

    def __init__(self, data_dir: Path, work_dir: Path, names: list[str], options: _Options) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._failed = False
        self._task = work_dir / ".beside-task.pickle"
        self._answer = work_dir / ".beside-reports.pickle"
        if not names:
            return
        self._task.write_bytes(pickle.dumps((data_dir, work_dir, names, options)))
        self._answer.unlink(missing_ok=True)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(self._task), str(self._answer)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self._failed = True

    def __enter__(self) -> _Beside:
        return self

    def reports(self) -> dict[str, TableReport] | None:
        """The tables' reports; ``None`` when the process failed (nothing to stage: empty).

        A table the process found unreadable (a limit reached, a column missing) raises its
        :class:`~qalqan.errors.DataSetError` here, as staging it here would have: what an
        outsider's file costs to read is paid once.
        """
        if self._process is None:
            return None if self._failed else {}
        try:
            if self._process.wait() != 0:
                return None
            found = pickle.loads(self._answer.read_bytes())
        except Exception:  # a missing, cut or unreadable answer: staged here instead
            return None
        if isinstance(found, DataSetError):
            raise found
        return found if isinstance(found, dict) else None

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._task.unlink(missing_ok=True)
        self._answer.unlink(missing_ok=True)


def _stage_beside(task: Path, answer: Path) -> None:
    """The process of :class:`_Beside`: stage the tables ``task`` names, answer their reports
    (or the data-set error that stopped them)."""
    data_dir, work_dir, names, options = pickle.loads(task.read_bytes())
    dataset = DataSet.open(data_dir, limits=options.limits)
    found: dict[str, TableReport] | DataSetError
    try:
        found = {name: _stage_table(dataset, name, work_dir, options, None) for name in names}
    except DataSetError as exc:  # the data's failure, handed back rather than met again
        found = exc
    partial = answer.with_suffix(".tmp")
    partial.write_bytes(pickle.dumps(found))
    partial.replace(answer)


def _table_files(directory: Path, name: str) -> list[Path]:
    """The file of table ``name`` in ``directory``, or its daily parts (none when absent)."""
    path = find_table(directory, name)
    return [path] if path is not None else find_parts(directory, name) or []


def _from_day(batch: pa.RecordBatch, since: date) -> pa.RecordBatch:
    """The call records of ``since`` and later."""
    start = pa.scalar(
        datetime(since.year, since.month, since.day, tzinfo=UTC),
        batch.schema.field("start_time").type,
    )
    return batch.filter(pc.greater_equal(batch.column("start_time"), start))


if __name__ == "__main__":
    _stage_beside(Path(sys.argv[1]), Path(sys.argv[2]))
