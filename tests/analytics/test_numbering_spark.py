"""On Spark the number facts are ``describe``'s too: the plan's patterns read the same in Java.

The query anchors every pattern (``^(?:…)$``), which sqlglot writes as ``RLIKE``; Java's
regular expressions then must accept each pattern and match it as RE2 does. Codes with
shared regions (+1, +7, +44), national prefixes with transform rules (+54, +55, +81,
+261) and non-geographic codes (+800, +882) are the ones where a difference would show.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pyarrow as pa
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI installs Java
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

from qalqan.analytics.engine import SparkConnection
from qalqan.analytics.numbering_plan import number_facts_sql
from tests.analytics.test_numbering_plan import EXAMPLES, PLAIN_PREFIXES, _described, _e164

pytestmark = pytest.mark.spark

CODES = (1, 7, 44, 54, 55, 81, 261, 378, 800, 882, 994)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkConnection]:
    con = SparkConnection.start("local[1]")
    yield con
    con.close()


def test_spark_gives_describes_facts(spark: SparkConnection) -> None:
    numbers = set()
    for code, example in EXAMPLES:
        if code not in CODES:
            continue
        for national in (
            example,
            example + "5",
            example[:-1],
            *(p + example for p in PLAIN_PREFIXES),
        ):
            number = _e164(code, national)
            if number:
                numbers.add(number)
    spark.register("drawn", pa.table({"number": sorted(numbers)}))
    sql = number_facts_sql("SELECT DISTINCT number FROM drawn", CODES)
    rows = spark.execute(sql, ["KZ"]).fetchall()
    assert len(rows) == len(numbers)
    differ = [row for row in rows if tuple(row[1:]) != _described(row[0])]
    assert not differ
