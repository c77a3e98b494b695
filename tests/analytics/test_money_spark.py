"""The money trail on Spark finds what it finds on DuckDB, row for row, on the same tables."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import duckdb
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI installs Java
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

from qalqan.analytics.campaigns import Campaign
from qalqan.analytics.engine import SparkConnection
from qalqan.analytics.money import money_tables, money_trail
from tests.analytics.test_money import tables

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkConnection]:
    con = SparkConnection.start("local[1]")
    yield con
    con.close()


def test_the_same_trail_victims_and_campaign_money_on_both_engines(
    spark: SparkConnection,
) -> None:
    duck = duckdb.connect()
    tables(duck)
    for name in ("payments", "accounts", "judged_calls", "call_campaigns", "cdrs"):
        spark.register(name, duck.sql(f"SELECT * FROM {name}").to_arrow_table())
    on_spark = money_trail(spark).to_pylist()  # type: ignore[arg-type]
    on_duck = money_trail(duck).to_pylist()
    assert on_spark == on_duck and len(on_duck) == 5
    made_spark = money_tables(spark)  # type: ignore[arg-type]
    for name, table in money_tables(duck).items():
        assert made_spark[name].to_pylist() == table.to_pylist(), name
    c1 = Campaign(
        campaign_id="C1", n_calls=5, n_victims=4, utc_offset_h=5.0, farm_ids=["F1"], routes=[],
        sources=[], peak_lines=0, first_seen=None, last_seen=None, kind="call_center",
    )  # fmt: skip
    given = money_trail(spark, [c1]).to_pylist()  # type: ignore[arg-type]
    assert given == money_trail(duck, [c1]).to_pylist() == on_duck
