"""Write exchange-v1 tables as CSV, CSV.gz or Parquet, one chunk at a time.

    with TableWriter(out_dir, CDRS, fmt="csv") as w:
        for batch in batches:
            w.write(batch)

Batches carry the canonical Arrow types (:mod:`qalqan.exchange.types`). In
CSV, times are written as ISO 8601 with ``Z`` (whole seconds when the chunk
has no fractions), empty cells stand for nulls.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from qalqan.exchange.schema import Table
from qalqan.exchange.types import canonical_schema

__all__ = ["FORMATS", "Format", "TableWriter", "to_csv_text_columns", "write_table"]

Format = Literal["csv", "csv.gz", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "csv.gz", "parquet")

_WHOLE_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
_FRACTIONAL = "%Y-%m-%dT%H:%M:%S"  # Arrow prints the fraction after %S for sub-second units


def _time_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    seconds = pc.cast(column, pa.timestamp("s", tz="UTC"), safe=False)
    whole = pc.all(pc.equal(pc.cast(seconds, column.type), column)).as_py()
    if whole in (True, None):
        return pc.strftime(seconds, format=_WHOLE_SECONDS)
    text = pc.strftime(column, format=_FRACTIONAL)
    return pc.binary_join_element_wise(text, pa.scalar("Z"), pa.scalar(""))


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
