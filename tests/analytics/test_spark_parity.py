"""The analysis on Spark writes what it writes on DuckDB: the same SIMs, farms, calls and campaigns.

One small simulated operator (with SIM boxes, a farm, call centres abroad and Wangiri)
goes through ``qalqan analyze`` twice, once per engine, and the four tables an operator
acts on are compared cell by cell. The one allowance: a float may differ in its last
bits (relative 1e-9), because the engines add up in different orders; every other
difference fails the test and is named (table, row, column, both values).
"""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI installs Java
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

from qalqan.cli.analyze import run_analysis
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate

pytestmark = pytest.mark.spark

TABLES = ("sims.csv", "farms.csv", "calls.csv", "campaigns.csv")
FLOAT_RELATIVE = 1e-9


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    """Both engines' output folders; a run that fails is kept as its error, so that it runs once."""
    root = tmp_path_factory.mktemp("parity")
    data = root / "operator"
    simulate(data, Scenario(subscribers=2000, days=2, seed=1))
    out: dict[str, Path | str] = {}
    for engine in ("duckdb", "spark"):
        try:
            run_analysis(
                data,
                root / engine,
                quarantine=root / f"q-{engine}",
                quiet=True,
                engine=engine,
                spark_master="local[2]",
            )
            out[engine] = root / engine
        except Exception as e:
            notes = "\n".join(getattr(e, "__notes__", []))
            out[engine] = f"{engine} run failed: {type(e).__name__}: {str(e)[:600]}\n{notes[:1500]}"
    return out


def differences(name: str, duck: Path, spark: Path) -> list[str]:
    """Every cell that differs beyond the float allowance, as 'table row column: a != b'."""
    a = list(csv.reader(duck.open(newline="")))
    b = list(csv.reader(spark.open(newline="")))
    if a[:1] != b[:1]:
        return [f"{name}: columns {a[:1]} != {b[:1]}"]
    found = (
        [f"{name}: {len(a) - 1} rows on DuckDB, {len(b) - 1} on Spark"] if len(a) != len(b) else []
    )
    header = a[0]
    for i, (ra, rb) in enumerate(zip(a[1:], b[1:], strict=False), start=1):
        for col, x, y in zip(header, ra, rb, strict=True):
            if x != y and not same_float(x, y):
                found.append(f"{name} row {i} ({ra[0]}) {col}: {x!r} != {y!r}")
    return found


def same_float(x: str, y: str) -> bool:
    try:
        fx, fy = float(x), float(y)
    except ValueError:
        return False
    return math.isclose(fx, fy, rel_tol=FLOAT_RELATIVE, abs_tol=FLOAT_RELATIVE)


@pytest.mark.parametrize("table", TABLES)
def test_table_is_the_same_on_spark(outputs: dict[str, Path | str], table: str) -> None:
    duck, spark = outputs["duckdb"], outputs["spark"]
    for run in (duck, spark):
        if isinstance(run, str):
            pytest.fail(run)
    assert isinstance(duck, Path) and isinstance(spark, Path)
    found = differences(table, duck / table, spark / table)
    assert not found, f"{len(found)} differences:\n" + "\n".join(found[:60])
