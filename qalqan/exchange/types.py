"""Arrow types of exchange-v1 columns once read: the canonical in-memory form of every table."""

from __future__ import annotations

import pyarrow as pa

from qalqan.exchange.schema import Column, Kind, Table

__all__ = ["TIME_TYPE", "arrow_type", "canonical_schema"]

TIME_TYPE = pa.timestamp("us", tz="UTC")

_ARROW = {
    Kind.TIME: TIME_TYPE,
    Kind.DATE: pa.date32(),
    Kind.INT: pa.int64(),
    Kind.FLOAT: pa.float64(),
}


def arrow_type(column: Column) -> pa.DataType:
    """Times become UTC timestamps, dates dates, numbers int64/float64, everything else strings."""
    return _ARROW.get(column.kind, pa.string())


def canonical_schema(table: Table, extra: pa.Schema | None = None) -> pa.Schema:
    """The schema of a table's accepted rows: the contract's columns, then any extra columns kept."""
    fields = [pa.field(c.name, arrow_type(c)) for c in table.columns]
    if extra is not None:
        known = set(table.names)
        fields += [f for f in extra if f.name not in known]
    return pa.schema(fields)
