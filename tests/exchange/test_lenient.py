"""Lenient where it is safe: exact floats are whole numbers, optional cells empty rather than drop.

An integer written as an exact float (``1989.0``, as pandas and spreadsheets
export it) is read as that integer in every integer column. A bad value in a
column the contract calls optional leaves that cell empty, with a warning
counted in the report, and keeps the row; every other column stays strict.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qalqan.analytics.staging import stage
from qalqan.exchange.checks import check_column
from qalqan.exchange.reader import DataSet, read_file
from qalqan.exchange.schema import INPUT_TABLES, SUBSCRIBERS, Column, Kind, Table
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate
from tests.exchange.rows import accepted, cdr, data_set, quarantined, validate, write

SUBSCRIBERS_HEADER = "imsi,msisdn,activated,plan,birth_year,region,iccid,owner_id"


def subscriber(n: int, birth_year: str, *, msisdn: str = "") -> str:
    msisdn = msisdn or f"+7701{n:07d}"
    return f"40101{n:010d},{msisdn},2024-05-0{n % 9 + 1},prepaid,{birth_year},Almaty,8999{n},P{n}"


def subscribers_data_set(directory: Path, *rows: str) -> Path:
    data_set(directory, cdr("r1"))
    write(directory, "subscribers.csv", "\n".join([SUBSCRIBERS_HEADER, *rows]) + "\n")
    return directory


def test_birth_year_written_as_exact_floats_keeps_every_row(tmp_path: Path) -> None:
    forms = ["1989.0", "1989.00", "1989.", "1989", ""]
    subscribers_data_set(tmp_path, *(subscriber(i, form) for i, form in enumerate(forms)))
    report, _ = validate(tmp_path)
    table = report.tables["subscribers"]
    assert (table.rows_read, table.rows_accepted, table.rows_rejected) == (5, 5, 0)
    assert table.warnings == {}
    assert report.exit_code == 0
    read = accepted(tmp_path, "subscribers")
    assert read.column("birth_year").to_pylist() == [1989, 1989, 1989, 1989, None]
    assert read.column("owner_id").to_pylist() == [f"P{i}" for i in range(5)]


def test_required_integer_written_as_exact_float_is_read_as_the_integer(tmp_path: Path) -> None:
    data_set(
        tmp_path,
        cdr("r1", duration_s="30.0"),
        cdr("r2", duration_s="0.000"),
        cdr("r3", duration_s="30.5"),
        cdr("r4", duration_s="3e1"),
    )
    report, quarantine = validate(tmp_path)
    assert accepted(tmp_path).column("duration_s").to_pylist() == [30, 0]
    assert [e.reason for e in report.tables["cdrs"].errors] == [
        "duration_s '30.5' is not a whole number",
        "duration_s '3e1' is not a whole number",
    ]
    assert [row["line"] for row in quarantined(quarantine)] == ["4", "5"]


def test_bad_optional_value_keeps_the_row_with_the_cell_empty_and_a_warning(
    tmp_path: Path,
) -> None:
    subscribers_data_set(
        tmp_path,
        subscriber(1, "1989.5"),
        subscriber(2, "1850"),
        subscriber(3, "nineteen"),
        subscriber(4, "1975"),
    )
    report, quarantine = validate(tmp_path)
    table = report.tables["subscribers"]
    assert (table.rows_read, table.rows_accepted, table.rows_rejected) == (4, 4, 0)
    assert table.ok and report.exit_code == 0  # warnings do not fail
    assert table.cells_emptied == {"birth_year": 3}
    assert table.warnings == {
        "birth_year is not a whole number": 2,
        "birth_year is below the minimum 1900": 1,
    }
    assert [str(w) for w in table.warning_examples] == [
        "subscribers.csv:2: birth_year '1989.5' is not a whole number "
        "(left empty; the row is kept)",
        "subscribers.csv:3: birth_year '1850' is below the minimum 1900 "
        "(left empty; the row is kept)",
        "subscribers.csv:4: birth_year 'nineteen' is not a whole number "
        "(left empty; the row is kept)",
    ]
    assert [w.column for w in table.warning_examples] == ["birth_year"] * 3
    assert report.cells_emptied == 3
    read = accepted(tmp_path, "subscribers")
    assert read.column("birth_year").to_pylist() == [None, None, None, 1975]
    assert read.column("owner_id").to_pylist() == ["P1", "P2", "P3", "P4"]
    assert not (quarantine / "subscribers.csv").exists()


def test_bad_required_value_still_rejects_the_row(tmp_path: Path) -> None:
    subscribers_data_set(
        tmp_path,
        subscriber(1, "1989.0", msisdn="87011234567"),  # required msisdn: rejected
        subscriber(2, "19x9", msisdn="87011234568"),  # both: rejected, no warning counted
        subscriber(3, "1989.0"),
    )
    report, quarantine = validate(tmp_path)
    table = report.tables["subscribers"]
    assert (table.rows_accepted, table.rows_rejected) == (1, 2)
    assert report.exit_code == 1
    assert table.warnings == {} and table.warning_examples == []
    assert [row["line"] for row in quarantined(quarantine, "subscribers")] == ["2", "3"]
    assert quarantined(quarantine, "subscribers")[1]["birth_year"] == "19x9"
    assert accepted(tmp_path, "subscribers").column("birth_year").to_pylist() == [1989]


def test_warnings_are_counted_in_bounded_examples(tmp_path: Path) -> None:
    subscribers_data_set(tmp_path, *(subscriber(i, "n/a") for i in range(300)))
    report = DataSet.open(tmp_path).validate(chunk_rows=64)
    table = report.tables["subscribers"]
    assert table.rows_accepted == 300
    assert table.cells_emptied == {"birth_year": 300}
    assert len(table.warning_examples) == table.max_errors
    assert [w.line for w in table.warning_examples] == list(range(2, 2 + table.max_errors))


# --- every optional column of the contract ------------------------------------------------

VALID: dict[str, dict[str, str]] = {
    "cdrs": {
        "record_id": "r1",
        "start_time": "2026-03-02T07:15:02Z",
        "duration_s": "30",
        "event": "voice",
        "result": "answered",
        "a_number": "+77011234567",
        "b_number": "+77021234567",
        "ingress": "international:carrierA",
    },
    "cells": {"cell_id": "C1", "site_id": "S1", "lat": "43.25", "lon": "76.95"},
    "subscribers": {
        "imsi": "401011234567890",
        "msisdn": "+77011234567",
        "activated": "2024-05-01",
        "plan": "prepaid",
    },
    "roaming": {
        "imsi": "401011234567890",
        "start_time": "2026-03-02T07:15:02Z",
        "end_time": "2026-03-03T07:15:02Z",
        "country": "TR",
    },
    "registry": {"number": "+77272000000", "owner": "bank", "policy": "inbound_only"},
    "payments": {
        "payment_id": "p1",
        "time": "2026-03-02T07:15:02Z",
        "payer": "bank:1",
        "payee": "ewallet:2",
        "amount": "10",
        "currency": "KZT",
        "channel": "ewallet",
    },
    "accounts": {
        "account": "bank:1",
        "holder_msisdn": "+77011234567",
        "bank": "Halyk",
        "kind": "card",
        "opened": "2019-05-01",
    },
    "reports": {
        "report_id": "q1",
        "time": "2026-03-02T07:15:02Z",
        "reporter": "+77011234567",
        "channel": "call",
        "category": "bank_security",
    },
}
"""One valid row of each operator table: its required columns (nullable ones left empty)."""

BAD: dict[Kind, str] = {
    Kind.TEXT: "a\x00b",
    Kind.TIME: "2026-03-02 07:15:02",
    Kind.DATE: "02.03.2026",
    Kind.INT: "1989.5",
    Kind.FLOAT: "-1e999",
    Kind.E164: "87011234567",
    Kind.ENUM: "?",
    Kind.INGRESS: "satellite",
    Kind.POLICY: "outbound",
    Kind.ACCOUNT: "iban",
    Kind.COUNTRY: "kz",
    Kind.CURRENCY: "tenge",
}
"""A value that breaks the contract, for every kind of column."""

OPTIONAL = [
    pytest.param(table, column, id=f"{table.name}.{column.name}")
    for table in INPUT_TABLES.values()
    for column in table.columns
    if not column.required
]


def test_every_optional_column_is_lenient_and_every_other_strict() -> None:
    assert {p.id for p in OPTIONAL} >= {
        "cdrs.identity_attest",
        "cdrs.orig_country",
        "cells.radius_m",
        "subscribers.birth_year",
        "subscribers.region",
        "subscribers.iccid",
        "subscribers.owner_id",
    }
    for table in INPUT_TABLES.values():
        for column in table.columns:
            assert column.lenient is (not column.required), f"{table.name}.{column.name}"
            if column.lenient:  # ids and references stay strict: they tie rows together
                assert not column.unique and column.references is None


@pytest.mark.parametrize(("table", "column"), OPTIONAL)
def test_bad_value_in_any_optional_column_is_left_empty(table: Table, column: Column) -> None:
    row = {name: VALID[table.name].get(name, "") for name in table.names}
    row[column.name] = BAD[column.kind]
    with tempfile.TemporaryDirectory() as folder:
        path = write(
            Path(folder), f"{table.name}.csv", ",".join(table.names) + "\n" + ",".join(row.values())
        )
        reader = read_file(path, table)
        read = reader.read_all()
    report = reader.report
    assert report.errors == [], report.errors
    assert (report.rows_read, report.rows_accepted) == (1, 1)
    assert read.column(column.name).to_pylist() == [None]
    assert report.cells_emptied == {column.name: 1}
    assert [w.line for w in report.warning_examples] == [2]


def test_parquet_float_column_of_birth_years(tmp_path: Path) -> None:
    """pandas writes an integer column with gaps as float64: whole values are read, NaN emptied."""
    data_set(tmp_path, cdr("r1"))
    pq.write_table(
        pa.table(
            {
                "imsi": ["401010000000001", "401010000000002", "401010000000003"],
                "msisdn": ["+77010000001", "+77010000002", "+77010000003"],
                "activated": ["2024-05-01"] * 3,
                "plan": ["prepaid"] * 3,
                "birth_year": pa.array([1989.0, None, float("nan")]),
            }
        ),
        tmp_path / "subscribers.parquet",
    )
    report, _ = validate(tmp_path)
    table = report.tables["subscribers"]
    assert table.rows_accepted == 3 and report.exit_code == 0
    assert table.warnings == {"birth_year is not a whole number": 1}
    assert accepted(tmp_path, "subscribers").column("birth_year").to_pylist() == [1989, None, None]


# --- text forms of whole numbers ----------------------------------------------------------

WHOLE = Column(name="duration_s", kind=Kind.INT, doc="")


@st.composite
def integer_texts(draw: st.DrawFn) -> tuple[str, int | None]:
    """A whole number in one of its text forms, or a number that is not whole, and its value."""
    n = draw(st.integers(-(10**17), 10**17))
    digits = str(abs(n))
    digits = "0" * min(draw(st.integers(0, 3)), 18 - len(digits)) + digits  # 18 digits at most
    sign = "-" if n < 0 or (n == 0 and draw(st.booleans())) else ""
    form = draw(st.sampled_from(["plain", "zeros", "point", "fraction", "exponent"]))
    if form == "plain":
        return f"{sign}{digits}", n
    if form == "zeros":
        return f"{sign}{digits}.{'0' * draw(st.integers(1, 6))}", n
    if form == "point":
        return f"{sign}{digits}.", n
    if form == "fraction":  # a fraction with a digit other than zero is never whole
        zeros = "0" * draw(st.integers(0, 4))
        last = draw(st.sampled_from(["", "0"]))
        return f"{sign}{digits}.{zeros}{draw(st.integers(1, 9))}{last}", None
    return f"{sign}{digits[0]}.{digits[1:]}e{len(digits) - 1}", None  # exponents: never read


@settings(max_examples=200, deadline=None)
@given(st.lists(integer_texts(), min_size=1, max_size=30))
def test_exact_floats_are_whole_numbers_and_others_are_not(
    cells: list[tuple[str, int | None]],
) -> None:
    checked = check_column(WHOLE, pa.array([text for text, _ in cells], pa.string()))
    assert checked.values.to_pylist() == [value for _, value in cells]
    rejected = [False] * len(cells)
    for problem in checked.problems:
        rejected = [a or bool(b) for a, b in zip(rejected, problem.rows, strict=True)]
    assert rejected == [value is None for _, value in cells]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(integer_texts(), min_size=1, max_size=20))
def test_optional_integer_forms_are_read_or_left_empty_never_rejected(
    cells: list[tuple[str, int | None]],
) -> None:
    column = SUBSCRIBERS.column("birth_year")
    assert column.minimum is not None and column.maximum is not None
    low, high = column.minimum, column.maximum
    rows = [subscriber(i, text) for i, (text, _) in enumerate(cells)]
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), "subscribers.csv", "\n".join([SUBSCRIBERS_HEADER, *rows]) + "\n")
        reader = read_file(path, SUBSCRIBERS)
        read = reader.read_all()
    expected = [v if v is not None and low <= v <= high else None for _, v in cells]
    assert reader.report.rows_rejected == 0
    assert read.column("birth_year").to_pylist() == expected
    assert reader.report.cells_emptied.total() == sum(v is None for v in expected)


# --- what the analysis gets -----------------------------------------------------------------


def test_analysis_stages_the_same_subscribers_from_a_float_export(tmp_path: Path) -> None:
    """The field's case: a simulated operator's subscribers.csv with birth_year as NNNN.0.

    Staging (what ``qalqan analyze`` reads) keeps every subscriber, owner and
    activation date, exactly as from the original export.
    """
    original, floats = tmp_path / "original", tmp_path / "floats"
    simulate(original, Scenario(subscribers=400, days=1, seed=5))
    with open(original / "subscribers.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert any(row["birth_year"] for row in rows)
    for row in rows:
        row["birth_year"] += ".0" if row["birth_year"] else ""
    shutil.copytree(original, floats)
    with open(floats / "subscribers.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    staged = {}
    for data in (original, floats):
        report = stage(data, data / "staged", quarantine_dir=data / "quarantine")
        assert report.rows_rejected == 0 and report.cells_emptied == 0
        staged[data] = pq.read_table(data / "staged" / "subscribers.parquet")
    assert staged[floats].num_rows == len(rows)
    assert staged[floats].equals(staged[original])
