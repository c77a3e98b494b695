"""Write exchange-v1 tables as CSV, CSV.gz or Parquet, one chunk at a time.

    with TableWriter(out_dir, CDRS, fmt="csv") as w:
        for batch in batches:
            w.write(batch)

Batches carry the canonical Arrow types (:mod:`qalqan.exchange.types`). In
CSV, times are written as ISO 8601 with ``Z`` (whole seconds when the chunk
has no fractions), empty cells stand for nulls.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from qalqan.exchange.schema import Table
from qalqan.exchange.types import canonical_schema

__all__ = ["FORMATS", "Format", "TableWriter", "to_csv_text_columns", "write_table"]

Format = Literal["csv", "csv.gz", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "csv.gz", "parquet")

_DATE = "%Y-%m-%dT"
_CLOCK = "%H:%M:%SZ"
_WHOLE_SECONDS = _DATE + _CLOCK
_FRACTIONAL = "%Y-%m-%dT%H:%M:%S"  # Arrow prints the fraction after %S for sub-second units


_DAY_S = 86_400


def _time_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    seconds = pc.cast(column, pa.timestamp("s", tz="UTC"), safe=False)
    whole = pc.all(pc.equal(pc.cast(seconds, column.type), column)).as_py()
    if whole in (True, None):
        return _whole_seconds_text(seconds)
    text = pc.strftime(column, format=_FRACTIONAL)
    return pc.binary_join_element_wise(text, pa.scalar("Z"), pa.scalar(""))


def _whole_seconds_text(seconds: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Times in whole seconds (UTC) as :data:`_WHOLE_SECONDS` writes them, put together from
    :data:`_DATE` of each distinct day and :data:`_CLOCK` of each second of a day.

    Arrow's ``strftime`` costs about a microsecond a time, a second for the judged calls of
    10 million call records, while their times fall on a few days: the dates are formatted
    once each and the clock once for all, then taken by index.
    """
    if isinstance(seconds, pa.ChunkedArray):
        seconds = seconds.combine_chunks()
    present = np.asarray(seconds.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    count = pc.fill_null(seconds.cast(pa.int64()), 0).to_numpy()
    day, second = np.divmod(count, _DAY_S)  # floored: the second of the day is never negative
    days, which = np.unique(day, return_inverse=True)
    dates = pc.strftime(pa.array(days * _DAY_S, pa.timestamp("s", tz="UTC")), format=_DATE)
    return pc.binary_join_element_wise(
        dates.take(pa.array(which, mask=~present)), _clock().take(pa.array(second)), ""
    )


@functools.cache
def _clock() -> pa.Array:
    """:data:`_CLOCK` of each second of a day, by the second."""
    midnight = pa.array(np.arange(_DAY_S), pa.timestamp("s", tz="UTC"))
    return pc.strftime(midnight, format=_CLOCK)


def to_csv_text_columns(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Times as ISO 8601 ``Z`` strings; every other column is left to Arrow's CSV writer."""
    arrays = []
    fields = []
    for field, array in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            array = _time_text(array)
            field = pa.field(field.name, pa.string())
        arrays.append(array)
        fields.append(field)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


class TableWriter:
    """Streams one table to ``DIR/NAME.csv``, ``NAME.csv.gz`` or ``NAME.parquet``."""

    def __init__(
        self,
        directory: Path,
        table: Table,
        *,
        fmt: Format = "csv",
        schema: pa.Schema | None = None,
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format '{fmt}' (use one of {', '.join(FORMATS)})")
        self.table = table
        self.fmt: Format = fmt
        self.schema = schema if schema is not None else canonical_schema(table)
        self.path = Path(directory) / f"{table.name}.{fmt}"
        self.rows = 0
        self._raw: BinaryIO | gzip.GzipFile | None = None
        self._csv: pcsv.CSVWriter | None = None
        self._parquet: pq.ParquetWriter | None = None

    def __enter__(self) -> TableWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fmt == "parquet":
            self._parquet = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        else:
            # mtime=0 keeps gzip output byte-identical from run to run.
            self._raw = (
                gzip.GzipFile(self.path, "wb", compresslevel=6, mtime=0)
                if self.fmt == "csv.gz"
                else open(self.path, "wb")
            )
            header = ",".join(self.schema.names) + "\n"
            self._raw.write(header.encode())
        return self

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        if isinstance(data, pa.Table):
            for part in data.to_batches():
                self.write(part)
            return
        batch = data.select(self.schema.names).cast(self.schema)
        if batch.num_rows == 0:
            return
        if self._parquet is not None:
            self._parquet.write_batch(batch)
        else:
            assert self._raw is not None, "TableWriter used outside its with-block"
            text = to_csv_text_columns(batch)
            if self._csv is None:
                options = pcsv.WriteOptions(include_header=False, quoting_style="needed")
                self._csv = pcsv.CSVWriter(self._raw, text.schema, write_options=options)
            self._csv.write_batch(text)
        self.rows += batch.num_rows

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
        if self._raw is not None:
            self._raw.close()


def write_table(
    directory: Path, table: Table, data: pa.Table | pa.RecordBatch, *, fmt: Format = "csv"
) -> Path:
    """Write a whole table at once (small tables: cells, registry, outputs)."""
    with TableWriter(directory, table, fmt=fmt) as writer:
        writer.write(data)
    return writer.path
