"""Stage a data set for analysis: validate every row once and keep the accepted ones as Parquet.

One pass over each table: the reader checks rows against the contract,
rejected rows go to the quarantine with file, line and reason, and accepted
rows are written to ``WORK/<table>.parquet`` with the contract's types. The
analysis then runs SQL over those files. Bad rows are reported, never fatal;
a data set that cannot be read at all raises :class:`~qalqan.errors.DataSetError`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from qalqan.exchange.reader import DataSet, Progress, ReadLimits, TableReport, ValidationReport
from qalqan.exchange.schema import INPUT_TABLES
from qalqan.exchange.types import canonical_schema

__all__ = ["stage"]


def stage(
    data_dir: Path,
    work_dir: Path,
    *,
    quarantine_dir: Path,
    progress: Progress | None = None,
    limits: ReadLimits | None = None,
    since: date | None = None,
) -> ValidationReport:
    """Validate ``data_dir`` into ``work_dir``; returns what was read, accepted and rejected.

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
        target = work_dir / f"{name}.parquet"
        writer: pq.ParquetWriter | None = None
        try:
            with dataset.read(
                name,
                quarantine=quarantine_dir,
                progress=progress,
                report=table_report,
                parts_from=since.isoformat() if since is not None and name == "cdrs" else None,
            ) as reader:
                for batch in reader:
                    if since is not None and name == "cdrs":
                        batch = _from_day(batch, since)
                    if writer is None:
                        writer = pq.ParquetWriter(target, batch.schema, compression="zstd")
                    writer.write_batch(batch)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:  # no accepted rows: an empty file with the contract's columns
            pq.write_table(canonical_schema(INPUT_TABLES[name]).empty_table(), target)
    return report


def _from_day(batch: pa.RecordBatch, since: date) -> pa.RecordBatch:
    """The call records of ``since`` and later."""
    start = pa.scalar(
        datetime(since.year, since.month, since.day, tzinfo=UTC),
        batch.schema.field("start_time").type,
    )
    return batch.filter(pc.greater_equal(batch.column("start_time"), start))
