"""The calls are judged on Spark as on DuckDB: the same verdicts, reasons and reason_facts.

The call facts are computed once on DuckDB and handed to Spark, so that this checks the
judgement's own statements (the corroborated calls, the judged calls with their reasons
as data) and nothing before them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pyarrow as pa
import pytest

from qalqan.analytics.pipeline import Analysis
from tests.analytics.test_call_model_corroboration import (
    suspicious_of_every_foreign_or_hidden_caller,
)
from tests.analytics.test_call_rules import call, tables
from tests.analytics.test_judgements_calls import calls_of_every_kind

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI installs Java
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

from qalqan.analytics.engine import SparkConnection

pytestmark = pytest.mark.spark

BOX = "401770000000777"


def test_calls_judged_on_spark_are_those_judged_on_duckdb(
    prepared: Callable[..., Analysis],
) -> None:
    from_box = [
        call(f"box-{k}", "+77075550077", f"+7701300000{k}", "mobile",
             f"2026-03-03T11:0{k}:00Z", a_imsi=BOX, a_imei="861234560000013")
        for k in range(3)
    ]  # fmt: skip
    analysis = prepared(tables(*calls_of_every_kind(), *from_box))
    analysis.models = suspicious_of_every_foreign_or_hidden_caller()
    sims = pa.table(
        {
            "imsi": [BOX, "401770000000778"],
            "verdict": ["simbox", "simbox"],
            "farm_id": pa.array(["F0001", None], pa.string()),
        }
    )
    on_duckdb = analysis.judge_calls(sims)
    assert on_duckdb.num_rows > 0 and "box-0" in on_duckdb.column("record_id").to_pylist()

    spark = SparkConnection.start("local[1]")
    try:
        for name in ("call_facts", "worked_pairs", "mo"):
            spark.register(name, analysis.con.sql(f"SELECT * FROM {name}").to_arrow_table())
        analysis.con = spark  # type: ignore[assignment]
        on_spark = analysis.judge_calls(sims).cast(on_duckdb.schema)
    finally:
        spark.close()
    assert on_spark.to_pylist() == on_duckdb.to_pylist()
