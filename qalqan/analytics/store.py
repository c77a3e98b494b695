"""The analysis store: one DuckDB connection with the data set's tables as typed views.

Analytics is SQL-first: features, detectors and judgements are DuckDB queries
over these views. The views read validated, staged Parquet (see
:mod:`qalqan.analytics.staging`), so every query sees the contract's types:
times as ``TIMESTAMPTZ`` in UTC, numbers as E.164 strings, ids as strings.
DuckDB streams and spills to disk, so a 100-million-row ``cdrs`` fits a machine
with a fraction of its size in memory.

With ``engine="spark"`` the same views are Spark temporary views over the same
Parquet, and ``con`` is a :class:`~qalqan.analytics.engine.SparkConnection`: the
same queries, transpiled (docs/analytics-engines.md). The staged folder may then be
a URL Spark reads where the data lives (``hdfs://…``, ``s3a://…``, a shared mount).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

import duckdb

from qalqan.exchange.schema import INPUT_TABLES

__all__ = ["AnalysisStore"]


@dataclass(slots=True)
class AnalysisStore:
    con: duckdb.DuckDBPyConnection
    tables: set[str] = field(default_factory=set)
    """The input tables present in the data set."""

    @classmethod
    def open(
        cls,
        staged: Path,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        spill_dir: Path | None = None,
        engine: Literal["duckdb", "spark"] = "duckdb",
        spark_master: str | None = None,
    ) -> AnalysisStore:
        """Views over ``staged/<table>.parquet`` (or a folder of Parquet parts) for each present table."""
        if engine == "spark":
            return cls._open_spark(staged, master=spark_master, cores=threads)
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        if spill_dir is not None:
            spill_dir.mkdir(parents=True, exist_ok=True)
            con.execute(f"SET temp_directory = '{spill_dir.as_posix()}'")
        con.execute("SET preserve_insertion_order = false")
        store = cls(con=con)
        for name in INPUT_TABLES:
            single = staged / f"{name}.parquet"
            parts = staged / name
            if single.exists():
                source = single.as_posix()
            elif parts.is_dir() and any(parts.glob("*.parquet")):
                source = (parts / "*.parquet").as_posix()
            else:
                continue
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{source}')")
            store.tables.add(name)
        for name in INPUT_TABLES:
            if name not in store.tables:
                store._empty_view(name)
        return store

    @classmethod
    def _open_spark(
        cls, staged: Path | str, *, master: str | None, cores: int | None
    ) -> AnalysisStore:
        """The same views on Spark; ``staged`` may be a local folder or a URL Spark can read."""
        from qalqan.analytics.engine import SparkConnection

        spark = SparkConnection.start(master, cores=cores)
        # SparkConnection offers the part of DuckDB's connection API the analysis uses.
        store = cls(con=cast(duckdb.DuckDBPyConnection, spark))
        local = not isinstance(staged, str) or "://" not in staged
        for name in INPUT_TABLES:
            source = _spark_source(Path(staged), name) if local else f"{staged}/{name}.parquet"
            if source is None:
                store._empty_view(name)
                continue
            spark.session.read.parquet(source).createOrReplaceTempView(name)
            store.tables.add(name)
        return store

    def _empty_view(self, name: str) -> None:
        """An absent optional table reads as empty, so every query can join it."""
        from qalqan.exchange.types import canonical_schema

        table = INPUT_TABLES[name]
        types = {
            "string": "VARCHAR",
            "int64": "BIGINT",
            "double": "DOUBLE",
            "date32[day]": "DATE",
            "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
        }
        cols = ", ".join(
            f"CAST(NULL AS {types[str(f.type)]}) AS {f.name}" for f in canonical_schema(table)
        )
        self.con.execute(f"CREATE VIEW {name} AS SELECT {cols} WHERE false")

    def has(self, name: str) -> bool:
        return name in self.tables

    def threads(self) -> int:
        """The threads a query runs on here: DuckDB's setting, or on Spark the driver's cores
        (what the driver itself computes, such as the models' answers, runs there)."""
        if isinstance(self.con, duckdb.DuckDBPyConnection):
            found = self.con.execute("SELECT current_setting('threads')").fetchone()
            if found is not None:
                return max(1, int(found[0]))
        return max(1, len(os.sched_getaffinity(0)))

    def close(self) -> None:
        self.con.close()


def _spark_source(staged: Path, name: str) -> str | None:
    """The Parquet file or folder of parts Spark reads for one table, if the data set has it."""
    single = staged / f"{name}.parquet"
    parts = staged / name
    if single.exists():
        return single.resolve().as_posix()
    if parts.is_dir() and any(parts.glob("*.parquet")):
        return parts.resolve().as_posix()
    return None
