"""Per-SIM features from mergeable partials: the same as from the call records, day split or not.

The features are computed from partial aggregates (``part_*``). These tests say what
that must never change: the features equal those computed from the records directly
(the definition, kept here as one query), the partials of some days merged with those
of the others give the features of all days, and where a feature names one of equals
(the main site, the busiest handset) the most used wins and ties go to the smallest.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import cast

import duckdb
import pyarrow as pa
import pytest

from qalqan.analytics.features import (
    PARTIALS,
    day_partials,
    estimate_local_offset,
    features_from_partials,
    has_table,
    merge_partials,
    record_partials,
    sim_features,
)
from qalqan.analytics.staging import stage
from qalqan.analytics.store import AnalysisStore
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate

#: The features straight from the records, as they were defined before the partials.
FROM_RECORDS = """
WITH o AS (
    SELECT imsi,
        min(a_number) AS msisdn_seen,
        count(*) FILTER (WHERE event = 'voice') AS voice_out,
        count(*) FILTER (WHERE event = 'sms') AS sms_out,
        count(DISTINCT b_number) FILTER (WHERE event = 'voice') AS distinct_callees,
        avg(CASE WHEN result = 'answered' THEN 1.0 ELSE 0.0 END) FILTER (WHERE event = 'voice') AS answer_rate,
        avg(CASE WHEN result = 'failed' THEN 1.0 ELSE 0.0 END) FILTER (WHERE event = 'voice') AS failed_share,
        median(dur) FILTER (WHERE event = 'voice' AND result = 'answered') AS talk_median_s,
        avg(CASE WHEN dur < 30 THEN 1.0 ELSE 0.0 END)
            FILTER (WHERE event = 'voice' AND result = 'answered') AS short_answered_share,
        count(DISTINCT CAST(t AS DATE)) AS active_days,
        epoch(max(t) - min(t)) / 3600.0 AS lifespan_h,
        count(*) / count(DISTINCT date_trunc('hour', t)) AS calls_per_active_hour,
        avg(CASE WHEN local_hour < 6 THEN 1.0 ELSE 0.0 END) AS night_share,
        count(DISTINCT cell) AS distinct_cells,
        count(DISTINCT site) AS distinct_sites,
        count(DISTINCT imei) AS distinct_imeis,
        min(t) AS first_seen, max(t) AS last_seen, count(*) AS originated
    FROM mo GROUP BY imsi
),
site_n AS (SELECT imsi, site, count(*) AS n FROM mo WHERE site IS NOT NULL GROUP BY 1, 2),
main AS (
    SELECT imsi, min(site) AS main_site, max(n) AS n FROM site_n s
    WHERE n = (SELECT max(n) FROM site_n x WHERE x.imsi = s.imsi) GROUP BY imsi
),
imei_sims AS (SELECT imei, count(DISTINCT imsi) AS n FROM mo WHERE imei IS NOT NULL GROUP BY 1),
busiest AS (
    SELECT DISTINCT m.imsi, first(m.imei ORDER BY w.n DESC, m.imei) OVER (PARTITION BY m.imsi) AS imei
    FROM mo m JOIN imei_sims w USING (imei)
)
SELECT o.imsi, coalesce(s.msisdn, o.msisdn_seen) AS msisdn, o.first_seen, o.last_seen,
       main.main_site, b.imei AS busiest_imei, o.voice_out, o.sms_out,
       o.distinct_callees, o.answer_rate, o.failed_share, o.talk_median_s, o.short_answered_share,
       o.active_days, o.lifespan_h, o.calls_per_active_hour, o.night_share,
       o.distinct_cells, o.distinct_sites, o.distinct_imeis,
       coalesce(main.n, 0) / o.originated AS main_site_share
FROM o LEFT JOIN sim_subscriber s USING (imsi) LEFT JOIN main USING (imsi)
LEFT JOIN busiest b USING (imsi)
ORDER BY o.imsi
"""


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """A small simulated operator over four days, staged."""
    root = tmp_path_factory.mktemp("features")
    simulate(root / "data", Scenario(subscribers=1500, days=4, seed=77))
    stage(root / "data", root / "staged", quarantine_dir=root / "q")
    store = AnalysisStore.open(root / "staged")
    yield store.con
    store.close()


def _full(con: duckdb.DuckDBPyConnection) -> pa.Table:
    return sim_features(con, local_offset_h=estimate_local_offset(con))


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def _assert_tables_equal(got: pa.Table, want: pa.Table) -> None:
    assert got.num_rows == want.num_rows
    for name in want.column_names:
        g, w = got[name].to_pylist(), want[name].to_pylist()
        wrong = [(i, x, y) for i, (x, y) in enumerate(zip(g, w, strict=True)) if not _same(x, y)]
        assert not wrong, f"{name}: {len(wrong)} rows differ, first {wrong[:3]}"


def test_features_from_partials_equal_the_features_from_the_records(
    operator: duckdb.DuckDBPyConnection,
) -> None:
    features = _full(operator)
    direct = operator.sql(FROM_RECORDS).to_arrow_table()
    assert direct.num_rows > 1000
    _assert_tables_equal(features.select(direct.column_names), direct)


def test_the_shares_of_young_and_elderly_contacts_count_every_contact_once(
    operator: duckdb.DuckDBPyConnection,
) -> None:
    """Each SIM called or calling, once, whether or not it made calls itself (and so has an
    age) or is a subscriber (and so has a birth year): the shares as defined on the records."""
    features = _full(operator)
    [(year,)] = operator.execute("SELECT year(max(start_time)) FROM cdrs").fetchall()
    direct = operator.sql(
        f"""
        WITH contact AS (
            SELECT imsi, b_imsi AS other FROM mo WHERE b_imsi IS NOT NULL
            UNION SELECT b_imsi AS imsi, imsi AS other FROM mo WHERE b_imsi IS NOT NULL
        )
        SELECT c.imsi, avg(CASE WHEN a.young THEN 1.0 ELSE 0.0 END) AS young,
               avg(CASE WHEN s.birth_year <= {int(year) - 65} THEN 1.0 ELSE 0.0 END) AS elderly
        FROM contact c LEFT JOIN sim_age a ON a.imsi = c.other
        LEFT JOIN sim_subscriber s ON s.imsi = c.other
        GROUP BY c.imsi
        """
    ).fetchall()
    want = {imsi: (young, elderly) for imsi, young, elderly in direct}
    got = dict(
        zip(
            features["imsi"].to_pylist(),
            zip(
                features["young_contact_share"].to_pylist(),
                features["elderly_callee_share"].to_pylist(),
                strict=True,
            ),
            strict=True,
        )
    )
    assert any(y for y, _ in want.values()) and any(e for _, e in want.values())
    assert {imsi: shares for imsi, shares in got.items() if shares != (None, None)} == {
        imsi: shares for imsi, shares in want.items() if imsi in got
    }


def test_partials_of_early_and_late_days_merge_into_the_features_of_all_days(
    operator: duckdb.DuckDBPyConnection,
) -> None:
    full = _full(operator)
    [(first,)] = operator.execute("SELECT min(CAST(start_time AS DATE)) FROM cdrs").fetchall()
    cut = first + timedelta(days=2)
    for part, test in (("early", "<"), ("late", ">=")):
        when = f"{test} DATE '{cut.isoformat()}'"
        operator.execute(
            f"CREATE OR REPLACE TEMP VIEW mo_{part} AS SELECT * FROM mo WHERE CAST(t AS DATE) {when}"
        )
        operator.execute(
            f"CREATE OR REPLACE TEMP VIEW cdrs_{part} AS "
            f"SELECT * FROM cdrs WHERE CAST(start_time AS DATE) {when}"
        )
        day_partials(operator, prefix=f"{part}_", mo=f"mo_{part}", cdrs=f"cdrs_{part}")
    merge_partials(operator, ["early_", "late_"])
    _assert_tables_equal(features_from_partials(operator), full)


def test_the_partials_of_some_days_come_from_the_records_named(
    operator: duckdb.DuckDBPyConnection,
) -> None:
    full = _full(operator)
    [(first,)] = operator.execute("SELECT min(CAST(start_time AS DATE)) FROM cdrs").fetchall()
    cut = first + timedelta(days=2)
    offset = estimate_local_offset(operator)
    for part, test in (("early", "<"), ("late", ">=")):
        operator.execute(
            f"CREATE OR REPLACE TEMP VIEW records_{part} AS SELECT * FROM cdrs "
            f"WHERE CAST(start_time AS DATE) {test} DATE '{cut.isoformat()}'"
        )
        record_partials(operator, local_offset_h=offset, prefix=f"{part}_", cdrs=f"records_{part}")
    [(late_mo,)] = operator.execute("SELECT count(*) FROM mo").fetchall()
    [(late_records,)] = operator.execute(
        "SELECT count(*) FROM records_late WHERE ingress = 'mobile' AND a_imsi IS NOT NULL"
    ).fetchall()
    assert late_mo == late_records > 0
    merge_partials(operator, ["early_", "late_"])
    _assert_tables_equal(features_from_partials(operator), full)
    record_partials(operator, local_offset_h=offset)  # the other tests read every day's


def test_every_partial_merges_every_value_it_holds() -> None:
    for partial in PARTIALS:
        assert set(partial.merge.values()) <= {"sum", "min", "max"}, partial.name
        assert not set(partial.merge) & set(partial.keys), partial.name


def _tied(con: duckdb.DuckDBPyConnection, order: list[tuple[str, str]]) -> tuple[str, str]:
    """One SIM calling from the (site, handset) pairs in ``order``: its main site and busiest handset."""
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    rows = [
        {"record_id": f"r{i}", "start_time": t0 + timedelta(minutes=i), "duration_s": 40,
         "event": "voice", "result": "answered", "a_number": "+77010000001",
         "b_number": f"+7702000000{i}", "ingress": "mobile", "a_imsi": "401770000000001",
         "a_imei": imei, "a_cell": f"{site}-1", "b_imsi": None}
        for i, (site, imei) in enumerate(order)
    ]  # fmt: skip
    cells = [{"cell_id": f"S{i}-1", "site_id": f"S{i}"} for i in range(1, 10)]
    subs = [{"imsi": "401770000000001", "msisdn": "+77010000001", "activated": date(2020, 1, 1),
             "plan": "prepaid", "birth_year": 1980, "owner_id": "P1"}]  # fmt: skip
    for name, table in (("cdrs", rows), ("cells", cells), ("subscribers", subs)):
        con.register(f"_{name}", pa.Table.from_pylist(table))
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _{name}")
    got = sim_features(con, local_offset_h=0)
    return got["main_site"][0].as_py(), got["busiest_imei"][0].as_py()


@pytest.mark.parametrize("seed", range(8))
def test_ties_go_to_the_smallest_site_and_handset_whatever_the_order(seed: int) -> None:
    import random

    order = [("S9", "359"), ("S2", "352"), ("S5", "355"), ("S9", "359"), ("S2", "352"),
             ("S5", "355"), ("S1", "351")]  # fmt: skip
    random.Random(seed).shuffle(order)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    assert _tied(con, order) == ("S2", "351")


def test_most_calls_win_over_a_smaller_site() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    order = [("S1", "351"), ("S7", "357"), ("S7", "357")]
    assert _tied(con, order) == ("S7", "351")


class _Recorder:
    """A DuckDB connection that keeps every statement it is given."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.statements = con, list[str]()

    def execute(self, sql: str, params: object = None) -> duckdb.DuckDBPyConnection:
        self.statements.append(sql)
        return self.con.execute(sql, params)

    def sql(self, sql: str) -> duckdb.DuckDBPyRelation:
        self.statements.append(sql)
        return self.con.sql(sql)


def test_every_statement_reads_as_spark_sql(operator: duckdb.DuckDBPyConnection) -> None:
    import sqlglot
    from sqlglot.errors import ErrorLevel

    recorder = _Recorder(operator)
    con = cast(duckdb.DuckDBPyConnection, recorder)
    sim_features(con, local_offset_h=estimate_local_offset(con))
    day_partials(con, prefix="again_")
    merge_partials(con, ["part_", "again_"])
    assert len(recorder.statements) > 20
    for statement in recorder.statements:
        sqlglot.transpile(
            statement, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE
        )


def test_a_partial_is_there_by_the_catalog_not_by_reading_it() -> None:
    """A daily run's merged partial that fails to read is not taken for an absent one,
    which the farms would make again from the day's records and then drop."""
    from qalqan.analytics.farms import FARM_PARTIALS, _missing_farm_partials

    con = duckdb.connect()
    name = FARM_PARTIALS[0].table
    assert not has_table(con, name)
    con.execute("CREATE TEMP TABLE kept AS SELECT 'a' AS imsi, 'b' AS b_imsi")
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM kept")
    assert has_table(con, name)
    con.execute("DROP TABLE kept")  # the view is still there, and reading it fails
    with pytest.raises(duckdb.CatalogException):
        con.execute(f"SELECT * FROM {name}").fetchall()
    assert _missing_farm_partials(con) == []
    con.execute(f"DROP VIEW {name}")
    assert not has_table(con, name)
