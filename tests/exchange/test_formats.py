"""The same rows read from CSV, CSV.gz and Parquet, with the columns the contract allows to vary."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qalqan.errors import UnreadableFileError
from qalqan.exchange.reader import DataSet, read_file
from qalqan.exchange.schema import CDRS, TABLES
from qalqan.exchange.types import canonical_schema
from tests.exchange.rows import (
    CELLS,
    accepted,
    cdr,
    cdrs_text,
    data_set,
    ids,
    quarantined,
    validate,
    write,
)


def cdr_columns(**override: pa.Array) -> dict[str, pa.Array]:
    """Three CDRs as Parquet columns in their canonical types; keyword arguments replace one."""
    columns: dict[str, pa.Array] = {
        "record_id": pa.array(["r1", "r2", "r3"]),
        "start_time": pa.array(
            [datetime(2026, 3, 2, 7, 15, 2, tzinfo=UTC)] * 3, pa.timestamp("us", tz="UTC")
        ),
        "duration_s": pa.array([30, 0, 12], pa.int64()),
        "event": pa.array(["voice", "sms", "voice"]),
        "result": pa.array(["answered", "answered", "busy"]),
        "a_number": pa.array(["+77011234567", None, "+77011234568"]),
        "b_number": pa.array(["+77021234567"] * 3),
        "ingress": pa.array(["mobile", "international:carrierA", "mobile"]),
        "a_imsi": pa.array(["401011234567890", None, "401011234567891"]),
        "a_imei": pa.array(["356938035643809", None, "356938035643810"]),
        "a_cell": pa.array(["C1", None, "C2"]),
        "b_imsi": pa.array([None, None, None], pa.string()),
        "b_cell": pa.array(["C2", "C1", None]),
    }
    columns.update(override)
    return columns


def parquet_data_set(directory: Path, **override: pa.Array) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cdr_columns(**override)), directory / "cdrs.parquet")
    write(directory, "cells.csv", CELLS)
    return directory


def test_typed_parquet_reads_as_it_is(tmp_path: Path) -> None:
    parquet_data_set(tmp_path)
    report, _ = validate(tmp_path)
    assert report.exit_code == 0
    table = accepted(tmp_path)
    assert table.schema == canonical_schema(CDRS)
    assert table.column("a_number").to_pylist() == ["+77011234567", None, "+77011234568"]


def test_parquet_in_other_units_zones_and_widths_is_converted(tmp_path: Path) -> None:
    naive = pa.array([datetime(2026, 3, 2, 7, 15, 2, 123456)] * 3, pa.timestamp("ns"))
    almaty = pa.array(
        [datetime(2026, 3, 2, 12, 15, 2, tzinfo=UTC)] * 3, pa.timestamp("s", tz="Asia/Almaty")
    )
    parquet_data_set(tmp_path, start_time=naive, duration_s=pa.array([30, 0, 12], pa.int32()))
    times = accepted(tmp_path).column("start_time").to_pylist()
    assert times[0] == datetime(2026, 3, 2, 7, 15, 2, 123456, tzinfo=UTC)  # no zone: read as UTC
    parquet_data_set(tmp_path, start_time=almaty)
    assert accepted(tmp_path).column("start_time").to_pylist()[0] == datetime(
        2026, 3, 2, 12, 15, 2, tzinfo=UTC
    )


def test_parquet_string_columns_are_checked_like_csv(tmp_path: Path) -> None:
    parquet_data_set(
        tmp_path,
        start_time=pa.array(
            ["2026-03-02T07:15:02Z", "2026-02-30T07:15:02Z", "2026-03-02T07:15:03Z"]
        ),
        duration_s=pa.array(["30", "0", "abc"]),
    )
    report, quarantine = validate(tmp_path)
    assert [str(e) for e in report.tables["cdrs"].errors] == [
        "cdrs.parquet:2: cdrs: start_time '2026-02-30T07:15:02Z' is not a UTC time "
        "(ISO 8601 with Z, e.g. 2026-03-02T07:15:02Z)",
        "cdrs.parquet:3: cdrs: duration_s 'abc' is not a whole number",
    ]
    assert ids(accepted(tmp_path)) == ["r1"]
    assert [row["line"] for row in quarantined(quarantine)] == ["2", "3"]  # rows, from 1


def test_parquet_columns_of_the_wrong_type(tmp_path: Path) -> None:
    parquet_data_set(
        tmp_path,
        duration_s=pa.array([30.0, 2.5, None]),  # whole floats are whole numbers
        a_imsi=pa.array([401011234567890, None, 401011234567891], pa.int64()),  # text, as digits
        b_number=pa.array([77021234567] * 3, pa.int64()),  # no +: not E.164
    )
    report, _ = validate(tmp_path)
    assert [e.reason for e in report.tables["cdrs"].errors] == [
        "b_number '77021234567' is not an E.164 number (+ and 7 to 15 digits)",
        "duration_s '2.5' is not a whole number; "
        "b_number '77021234567' is not an E.164 number (+ and 7 to 15 digits)",
        "missing duration_s; b_number '77021234567' is not an E.164 number (+ and 7 to 15 digits)",
    ]


def test_parquet_nested_column_cannot_be_read(tmp_path: Path) -> None:
    parquet_data_set(tmp_path, a_cell=pa.array([["C1"], [], None], pa.list_(pa.string())))
    with pytest.raises(
        UnreadableFileError, match="column 'a_cell' holds list<element: string>, not single values"
    ):
        DataSet.open(tmp_path).read("cdrs")


def test_parquet_nan_is_not_a_number(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"), cells=False)
    cells = pa.table(
        {
            "cell_id": ["C1", "C2"],
            "site_id": ["S1", "S1"],
            "lat": pa.array([43.2, float("nan")]),
            "lon": pa.array([76, 76], pa.int32()),
            "region": pa.array([None, None], pa.string()),
        }
    )
    pq.write_table(cells, tmp_path / "cells.parquet")
    report, _ = validate(tmp_path)
    assert [e.reason for e in report.tables["cells"].errors] == ["lat 'nan' is not a number"]
    assert accepted(tmp_path, "cells").column("lon").to_pylist() == [76.0]


def test_csv_gz_reads_like_csv(tmp_path: Path) -> None:
    text = cdrs_text(cdr("r1"), cdr("r2", event="fax"), cdr("r3"))
    data_set(tmp_path / "plain", cdr("r1"), cdr("r2", event="fax"), cdr("r3"))
    write(tmp_path / "gz", "cdrs.csv.gz", text)
    write(tmp_path / "gz", "cells.csv.gz", CELLS)
    plain, _ = validate(tmp_path / "plain")
    packed, _ = validate(tmp_path / "gz")
    assert [e.line for e in packed.tables["cdrs"].errors] == [3]
    assert packed.tables["cdrs"].problems == []
    assert accepted(tmp_path / "gz").equals(accepted(tmp_path / "plain"))
    assert plain.exit_code == packed.exit_code == 1


def test_multi_member_gzip_reads_whole(tmp_path: Path) -> None:
    import gzip

    head = cdrs_text(cdr("r1"))
    tail = cdr("r2") + "\n"
    (tmp_path / "cdrs.csv.gz").write_bytes(
        gzip.compress(head.encode()) + gzip.compress(tail.encode())
    )
    assert ids(DataSet.open(tmp_path).read_all("cdrs")) == ["r1", "r2"]


def test_extra_columns_are_kept(tmp_path: Path) -> None:
    header = "msc," + ",".join(CDRS.required_names) + ",note"
    write(tmp_path, "cdrs.csv", f"{header}\nMSC1,{cdr('r1')},hello\nMSC2,{cdr('r2')},\n")
    report, _ = validate(tmp_path)
    assert report.exit_code == 0
    table = accepted(tmp_path)
    assert table.schema.names[-2:] == ["msc", "note"]
    assert table.column("msc").to_pylist() == ["MSC1", "MSC2"]
    assert table.column("note").to_pylist() == ["hello", None]


def test_extra_parquet_columns_keep_their_type(tmp_path: Path) -> None:
    parquet_data_set(tmp_path, hop_count=pa.array([1, 2, 3], pa.int16()))
    table = accepted(tmp_path)
    assert table.schema.field("hop_count").type == pa.int16()


def test_optional_columns_may_be_absent_or_present(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"))
    table = accepted(tmp_path)
    assert table.column("identity_attest").to_pylist() == [None]
    assert table.column("orig_country").to_pylist() == [None]
    header = ",".join(CDRS.required_names) + ",identity_attest,orig_country"
    write(tmp_path, "cdrs.csv", f"{header}\n{cdr('r1')},A,TR\n{cdr('r2')},D,\n")
    report, _ = validate(tmp_path)
    assert report.tables["cdrs"].errors == []  # an optional column's bad value keeps its row
    assert report.tables["cdrs"].warnings == {"identity_attest is not one of A, B, C": 1}
    table = accepted(tmp_path)
    assert table.column("identity_attest").to_pylist() == ["A", None]
    assert table.column("orig_country").to_pylist() == ["TR", None]


def test_batches_have_at_most_chunk_rows(tmp_path: Path) -> None:
    data_set(tmp_path, *(cdr(f"r{i}") for i in range(25)))
    sizes = [b.num_rows for b in DataSet.open(tmp_path).read("cdrs", chunk_rows=4)]
    assert max(sizes) <= 4
    assert sum(sizes) == 25


def test_absent_optional_table_reads_empty(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"))
    ds = DataSet.open(tmp_path)
    assert not ds.has("payments")
    assert ds.read_all("payments").schema == canonical_schema(TABLES["payments"])
    assert ds.read_all("payments").num_rows == 0


def test_an_output_table_file_can_be_read_alone(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sims.csv",
        "imsi,msisdn,score,verdict,farm_id,reasons\n1,,0.9,simbox,F1,\n2,,1.5,clear,,\n",
    )
    reader = read_file(path, "sims")
    table = reader.read_all()
    assert table.column("imsi").to_pylist() == ["1"]
    assert reader.report.errors[0].reason == "score '1.5' is above the maximum 1"
    assert reader.report.complete


def test_progress_is_reported_per_chunk(tmp_path: Path) -> None:
    data_set(tmp_path, *(cdr(f"r{i}") for i in range(10)))
    calls: list[tuple[str, int, int, int]] = []
    DataSet.open(tmp_path).validate(progress=lambda *a: calls.append(a), chunk_rows=4)
    cdrs = [c for c in calls if c[0] == "cdrs"]
    assert cdrs[-1][1] == 10
    size = (tmp_path / "cdrs.csv").stat().st_size
    assert cdrs[-1][2:] == (size, size)
    assert calls[0][0] == "cells"


def test_date_column_reads_as_date(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"))
    write(
        tmp_path, "subscribers.csv", "imsi,msisdn,activated,plan\n1,+77011234567,2024-02-29,m2m\n"
    )
    assert accepted(tmp_path, "subscribers").column("activated").to_pylist() == [date(2024, 2, 29)]
