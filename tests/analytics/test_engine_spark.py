"""The Spark connection answers DuckDB-dialect statements as DuckDB does.

Each case runs the same statement on DuckDB and on Spark (local mode, one session
for the module) and compares the rows: the rewrites in ``qalqan.analytics.engine``
exist because sqlglot's own mapping would give a different answer here.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI installs Java
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

from qalqan.analytics.engine import SparkConnection, to_spark_sql
from qalqan.analytics.features import has_table

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkConnection]:
    con = SparkConnection.start("local[1]")
    yield con
    con.close()


@pytest.fixture()
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    yield con
    con.close()


def both(
    spark: SparkConnection, duck: duckdb.DuckDBPyConnection, sql: str, params: Any = None
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    expected = duck.execute(sql, params).fetchall()
    return spark.execute(sql, params).fetchall(), expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT -7 // 2 AS q, 7 // 2 AS r, -7 % 2 AS m",
        "SELECT epoch(TIMESTAMPTZ '2026-03-02 10:00:01.5+00') AS e",
        "SELECT epoch(max(t) - min(t)) AS span FROM (SELECT TIMESTAMPTZ '2026-03-02 10:00:00+00' AS t "
        "UNION ALL SELECT TIMESTAMPTZ '2026-03-03 10:00:30.25+00')",
        "SELECT epoch_us(TIMESTAMPTZ '2026-03-02 10:00:01.000002+00') AS us",
        "SELECT TIMESTAMPTZ '2026-03-02 10:00:00+00' + to_seconds(90) AS later",
        "SELECT avg(CASE WHEN x > 1 THEN 1.0 ELSE 0.0 END) AS share FROM (VALUES (1), (2), (3)) v(x)",
        "SELECT list(x ORDER BY y) AS xs FROM (VALUES ('a', 3), ('b', 1), ('c', 2)) v(x, y)",
        "SELECT CAST(json_array(json_object('rule', 'r\"1', 'n', 3, 'none', NULL, "
        "'facts', json_object('w', CAST(0.25 AS DOUBLE)))) AS VARCHAR) AS j",
        "SELECT 'a' || NULL AS joined, coalesce(NULL, 'b') AS c",
    ],
)
def test_statement_answers_as_on_duckdb(
    spark: SparkConnection, duck: duckdb.DuckDBPyConnection, sql: str
) -> None:
    got, expected = both(spark, duck, sql)
    assert got == expected, to_spark_sql(sql)


def test_parameters_are_bound_as_quoted_literals(
    spark: SparkConnection, duck: duckdb.DuckDBPyConnection
) -> None:
    sneaky = "it's'; DROP TABLE x; --"
    got, expected = both(spark, duck, "SELECT ? AS s, ? AS n, ? AS f", [sneaky, 3, 0.5])
    assert got == expected == [(sneaky, 3, 0.5)]


def test_temp_table_register_and_cursor(spark: SparkConnection) -> None:
    spark.register("people", pa.table({"id": ["b", "a", "c"], "n": [2, 1, 3]}))
    spark.execute("CREATE OR REPLACE TEMP TABLE busy AS SELECT id FROM people WHERE n >= 2")
    cursor = spark.execute("SELECT id FROM busy ORDER BY id")
    assert cursor.fetchmany(1) == [("b",)]
    assert cursor.fetchall() == [("c",)]
    assert cursor.fetchone() is None
    table = spark.sql("SELECT id, n FROM people ORDER BY id").to_arrow_table()
    assert table.column("id").to_pylist() == ["a", "b", "c"]
    engine: Any = spark  # the analysis's functions take either engine's connection
    assert has_table(engine, "busy") and has_table(engine, "people")
    spark.execute("DROP TABLE busy")
    spark.unregister("people")
    assert not spark.session.catalog.tableExists("people")
    assert not has_table(engine, "busy") and not has_table(engine, "people")


@pytest.mark.parametrize(
    "statements",
    [
        [
            "UPDATE calls SET source = 'range:' || r.range FROM ranges r "
            "WHERE starts_with(calls.source, 'route:') AND calls.a_number = r.a_number",
        ],
        ["UPDATE calls SET n = n * 10 WHERE NOT internal"],
        [
            "ALTER TABLE calls ADD COLUMN group_no BIGINT",
            "UPDATE calls SET group_no = m.g FROM (SELECT source, min(n) AS g FROM calls "
            "GROUP BY source) m WHERE calls.source = m.source AND calls.n > 1",
        ],
    ],
)
def test_update_and_add_column_as_on_duckdb(
    spark: SparkConnection, duck: duckdb.DuckDBPyConnection, statements: list[str]
) -> None:
    calls = pa.table(
        {
            "record_id": ["r1", "r2", "r3", "r4"],
            "source": ["route:a", "route:a", "farm:F1", "route:b"],
            "a_number": ["+1", "+2", "+1", None],
            "n": [1, 2, 3, 4],
            "internal": [False, True, False, False],
        }
    )
    ranges = pa.table({"a_number": ["+1", "+2"], "range": ["+1x", "+2x"]})
    for con in (spark, duck):
        con.register("calls_in", calls)
        con.register("ranges", ranges)
        con.execute("CREATE OR REPLACE TEMP TABLE calls AS SELECT * FROM calls_in")
        for sql in statements:
            con.execute(sql)
    query = "SELECT * FROM calls ORDER BY record_id"
    assert spark.sql(query).to_arrow_table() == duck.sql(query).to_arrow_table()
