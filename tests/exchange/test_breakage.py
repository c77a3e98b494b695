"""One test per way an operator's file can break the contract.

Each states the file line by line and checks the exact reason, the line it
points to, what the quarantine holds, and that every good row still loads.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from qalqan.errors import MissingColumnError, MissingTableError, RowError, UnreadableFileError
from qalqan.exchange.reader import DataSet
from tests.exchange.rows import (
    CDR_COLUMNS,
    CDR_HEADER,
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

TIME_REASON = "is not a UTC time (ISO 8601 with Z, e.g. 2026-03-02T07:15:02Z)"


def one_rejection(directory: Path, line: int, reason: str, *, good: list[str]) -> dict[str, str]:
    """Validate; expect exactly one rejected cdrs row, at ``line`` for ``reason``."""
    report, quarantine = validate(directory)
    cdrs = report.tables["cdrs"]
    assert cdrs.errors == [RowError(table="cdrs", file="cdrs.csv", line=line, reason=reason)]
    assert (cdrs.rows_read, cdrs.rows_accepted, cdrs.rows_rejected) == (len(good) + 1, len(good), 1)
    assert report.exit_code == 1
    assert ids(accepted(directory)) == good
    [row] = quarantined(quarantine)
    assert (row["file"], row["line"], row["reason"]) == ("cdrs.csv", str(line), reason)
    return row


def test_a_valid_data_set_loads_whole_and_exits_0(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"), cdr("r2", a_number="", ingress="international:carrierA"))
    report, quarantine = validate(tmp_path)
    assert report.exit_code == 0
    assert report.tables["cdrs"].rows_accepted == 2
    assert not (quarantine / "cdrs.csv").exists()
    table = accepted(tmp_path)
    assert table.column("a_number").to_pylist() == ["+77011234567", None]
    assert str(table.schema.field("start_time").type) == "timestamp[us, tz=UTC]"


@pytest.mark.parametrize(
    "time",
    [
        "2026-13-01T00:00:00Z",  # no month 13
        "2026-03-02 07:15:02Z",  # space instead of T
        "2026-03-02T07:15:02",  # no Z: local time of who knows where
        "2026-03-02T07:15:02+05:00",  # an offset instead of UTC
        "2026-03-02T07:15Z",  # no seconds
        "02.03.2026 07:15:02",
    ],
)
def test_bad_time(tmp_path: Path, time: str) -> None:
    data_set(tmp_path, cdr("r1"), cdr("r2", start_time=time), cdr("r3"))
    row = one_rejection(tmp_path, 3, f"start_time '{time}' {TIME_REASON}", good=["r1", "r3"])
    assert row["record_id"] == "r2"
    assert row["start_time"] == time


@pytest.mark.parametrize(
    "time",
    [
        "2026-02-30T10:00:00Z",
        "2026-02-29T10:00:00Z",  # 2026 is no leap year
        "2100-02-29T10:00:00Z",  # nor is 2100
        "2026-04-31T10:00:00Z",
        "2026-03-02T24:00:00Z",
        "2026-03-02T23:60:00Z",
        "2026-03-02T23:59:60Z",
        "2026-00-10T10:00:00Z",
    ],
)
def test_impossible_date(tmp_path: Path, time: str) -> None:
    data_set(tmp_path, cdr("r1", start_time="2024-02-29T10:00:00Z"), cdr("r2", start_time=time))
    one_rejection(tmp_path, 3, f"start_time '{time}' {TIME_REASON}", good=["r1"])


def test_fractions_of_a_second_up_to_nanoseconds_are_read(tmp_path: Path) -> None:
    data_set(
        tmp_path,
        cdr("r1", start_time="2026-03-02T07:15:02.5Z"),
        cdr("r2", start_time="2026-03-02T07:15:02.123456789Z"),  # cut to microseconds
        cdr("r3", start_time="2026-02-30T07:15:02.1Z"),
    )
    report, _ = validate(tmp_path)
    assert report.tables["cdrs"].errors[0].line == 4
    times = accepted(tmp_path).column("start_time").to_pylist()
    assert [t.microsecond for t in times] == [500000, 123456]


def test_number_that_is_not_e164(tmp_path: Path) -> None:
    data_set(
        tmp_path,
        cdr("r1"),
        cdr("r2", a_number="87011234567"),
        cdr("r3", a_number="+79990000000"),  # well-formed but unallocated: evidence, not an error
        cdr("r4", a_number=""),  # withheld
    )
    row = one_rejection(
        tmp_path,
        3,
        "a_number '87011234567' is not an E.164 number (+ and 7 to 15 digits)",
        good=["r1", "r3", "r4"],
    )
    assert row["a_number"] == "87011234567"


def test_unknown_enum_value(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1", result="hangup"), cdr("r2"))
    one_rejection(
        tmp_path,
        2,
        "result 'hangup' is not one of answered, no_answer, busy, failed, rejected",
        good=["r2"],
    )


@pytest.mark.parametrize("ingress", ["satellite", "international:", "Mobile", "voip carrierA"])
def test_bad_ingress(tmp_path: Path, ingress: str) -> None:
    data_set(tmp_path, cdr("r1", ingress=ingress), cdr("r2", ingress="voip:trunk7"))
    one_rejection(
        tmp_path,
        2,
        f"ingress '{ingress}' is not CLASS or CLASS:ROUTE with CLASS one of "
        "mobile, fixed, national, international, voip",
        good=["r2"],
    )


def test_duplicate_id_keeps_the_first(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"), cdr("r17"), cdr("r2"), cdr("r17", duration_s="99"), cdr("r3"))
    row = one_rejection(
        tmp_path, 5, "record_id 'r17' repeats line 3", good=["r1", "r17", "r2", "r3"]
    )
    assert row["duration_s"] == "99"
    assert accepted(tmp_path).column("duration_s").to_pylist() == [30, 30, 30, 30]


def test_duplicate_ids_are_found_across_chunks(tmp_path: Path) -> None:
    data_set(tmp_path, *(cdr(f"r{i}") for i in range(10)), cdr("r3"), cdr("r9"))
    quarantine = tmp_path / "quarantine"
    report = DataSet.open(tmp_path).validate(quarantine_dir=quarantine, chunk_rows=3)
    assert [str(e) for e in report.tables["cdrs"].errors] == [
        "cdrs.csv:12: cdrs: record_id 'r3' repeats line 5",
        "cdrs.csv:13: cdrs: record_id 'r9' repeats line 11",
    ]
    assert report.tables["cdrs"].reasons == {"record_id repeats an earlier row": 2}


def test_a_rejected_first_occurrence_does_not_make_the_next_a_repeat(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1", event="call"), cdr("r1"), cdr("r1", result="x"))
    report, _ = validate(tmp_path)
    assert [str(e) for e in report.tables["cdrs"].errors] == [
        "cdrs.csv:2: cdrs: event 'call' is not one of voice, sms",
        "cdrs.csv:4: cdrs: result 'x' is not one of answered, no_answer, busy, failed, rejected; "
        "record_id 'r1' repeats line 3",
    ]
    assert ids(accepted(tmp_path)) == ["r1"]


def test_dangling_cell_reference(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"), cdr("r2", a_cell="C999"), cdr("r3", a_cell="", b_cell=""))
    one_rejection(tmp_path, 3, "a_cell 'C999' is not in cells", good=["r1", "r3"])


def test_cell_references_are_not_checked_without_cells(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1", a_cell="C999"), cells=False)
    report, _ = validate(tmp_path)
    assert report.exit_code == 0
    assert report.tables["cdrs"].skipped_checks == [
        "a_cell is not checked against cells.cell_id: the data set has no cells table",
        "b_cell is not checked against cells.cell_id: the data set has no cells table",
    ]
    assert "cells" in report.absent


def test_reading_cdrs_alone_still_checks_cells(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"), cdr("r2", b_cell="C3"))
    reader = DataSet.open(tmp_path).read("cdrs")
    assert ids(reader.read_all()) == ["r1"]
    assert reader.report.errors[0].reason == "b_cell 'C3' is not in cells"


def test_missing_required_column(tmp_path: Path) -> None:
    header = CDR_HEADER.replace(",b_number", "")
    line = cdr("r1").replace(",+77021234567", "")
    write(tmp_path, "cdrs.csv", cdrs_text(line, header=header))
    with pytest.raises(MissingColumnError) as caught:
        DataSet.open(tmp_path).read("cdrs")
    assert (
        str(caught.value) == f"{tmp_path / 'cdrs.csv'}: table 'cdrs' lacks required column b_number"
    )
    report, _ = validate(tmp_path)
    assert report.exit_code == 2
    assert report.tables["cdrs"].failure is not None


def test_missing_required_table(tmp_path: Path) -> None:
    write(tmp_path, "cells.csv", CELLS)
    with pytest.raises(MissingTableError) as caught:
        DataSet.open(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}: required table 'cdrs' is missing "
        "(expected cdrs.csv, cdrs.csv.gz or cdrs.parquet)"
    )


def test_two_files_for_one_table_are_ambiguous(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"))
    write(tmp_path, "cdrs.csv.gz", cdrs_text(cdr("r1")))
    with pytest.raises(UnreadableFileError, match=r"both cdrs\.csv and cdrs\.csv\.gz exist"):
        DataSet.open(tmp_path)


def test_truncated_gzip_keeps_every_row_before_the_cut(tmp_path: Path) -> None:
    lines = [cdr(f"r{i}") for i in range(1, 401)]
    whole = gzip.compress(cdrs_text(*lines).encode(), mtime=0)
    write(tmp_path, "cells.csv", CELLS)
    (tmp_path / "cdrs.csv.gz").write_bytes(whole[: len(whole) * 2 // 3])
    report, quarantine = validate(tmp_path)

    cdrs = report.tables["cdrs"]
    [damage] = cdrs.problems
    complete = damage.line  # the last line that arrived whole
    assert damage.problem == f"gzip stream ends early: file is truncated after line {complete}"
    assert 100 < complete < 400
    good = [f"r{i}" for i in range(1, complete)]  # lines 2..complete hold r1..r(complete-1)
    assert ids(accepted(tmp_path)) == good
    assert cdrs.rows_read == cdrs.rows_accepted + cdrs.rows_rejected == len(good) + 1
    assert report.exit_code == 1
    [cut, problem] = quarantined(quarantine)
    assert cut["file"] == "cdrs.csv.gz"
    assert cut["line"] == str(complete + 1)
    assert cut["reason"].endswith("row is cut off where the gzip stream breaks off")
    what_arrived = ",".join(cut[c] for c in CDR_COLUMNS).rstrip(",")
    assert lines[complete - 1].startswith(what_arrived)  # the row of r{complete}, in part
    assert (problem["line"], problem["reason"], problem["record_id"]) == (
        str(complete),
        damage.problem,
        "",
    )


def test_row_with_the_wrong_number_of_fields(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"), "r2,2026-03-02T07:15:02Z,30,voice,answered", cdr("r3"))
    row = one_rejection(tmp_path, 3, "row has 5 fields, the header has 13", good=["r1", "r3"])
    assert (row["record_id"], row["result"], row["a_number"]) == ("r2", "answered", "")


def test_surplus_fields_are_kept_in_the_last_column(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1") + ",extra,more")
    report, quarantine = validate(tmp_path)
    assert report.tables["cdrs"].errors[0].reason == "row has 15 fields, the header has 13"
    assert quarantined(quarantine)[0]["b_cell"] == "C2,extra,more"


def test_quoted_line_breaks_keep_later_line_numbers_exact(tmp_path: Path) -> None:
    header = "report_id,time,reporter,reported_number,channel,category,text"
    text = (
        f"{header}\n"
        'p1,2026-03-02T08:00:00Z,+77011112233,+77470001122,call,bank_security,"He said he was\n'
        'from the bank\'s ""security service"",\nand asked for the code"\n'
        "p2,2026-03-02T09:00:00Z,+77011112234,,sms,other,\n"
        'p3,2026-03-02T10:00:00Z,+7701,,call,police,"two\nlines"\n'
        "p4,2026-03-02T11:00:00Z,+77011112235,,call,police,short\n"
        "p5,2026-03-02T12:00:00Z,+77011112236,,fax,police,\n"
    )
    data_set(tmp_path, cdr("r1"))
    write(tmp_path, "reports.csv", text)
    report, quarantine = validate(tmp_path)
    assert [str(e) for e in report.tables["reports"].errors] == [
        "reports.csv:6: reports: reporter '+7701' is not an E.164 number (+ and 7 to 15 digits)",
        "reports.csv:9: reports: channel 'fax' is not one of call, sms, video_call, messenger, ad, web",
    ]
    kept = accepted(tmp_path, "reports")
    assert kept.column("report_id").to_pylist() == ["p1", "p2", "p4"]
    assert kept.column("text").to_pylist()[:2] == [
        'He said he was\nfrom the bank\'s "security service",\nand asked for the code',
        None,
    ]
    assert quarantined(quarantine, "reports")[0]["text"] == "two\nlines"


def test_a_row_with_several_problems_lists_them_all(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1", duration_s="-5", event="", b_number="7701", b_cell="C9"))
    report, _ = validate(tmp_path)
    [error] = report.tables["cdrs"].errors
    assert error.reason == (
        "duration_s '-5' is below the minimum 0; missing event; "
        "b_number '7701' is not an E.164 number (+ and 7 to 15 digits); b_cell 'C9' is not in cells"
    )
    assert report.tables["cdrs"].reasons == {
        "duration_s is below the minimum 0": 1,
        "missing event": 1,
        "b_number is not an E.164 number (+ and 7 to 15 digits)": 1,
        "b_cell is not in cells": 1,
    }


def test_numbers_out_of_form_and_range(tmp_path: Path) -> None:
    write(
        tmp_path,
        "cells.csv",
        "cell_id,site_id,lat,lon,region,radius_m\n"
        "C1,S1,43.25,76.95,Almaty,\n"
        "C2,S1,95,76.95,,500\n"
        "C3,S1,north,76.95,,\n"
        "C4,S1,43.2,1e999,,\n"
        "C5,S1,-43.2,.5,,-1\n"
        "C6,S1,-4.32e1,76.,,12.5\n",
    )
    data_set(
        tmp_path,
        cdr("r1", duration_s="3.5", b_cell="C1"),
        cdr("r2", duration_s="12345678901234567890", b_cell="C1"),
        cells=False,
    )
    report, _ = validate(tmp_path)
    assert [e.reason for e in report.tables["cells"].errors] == [
        "lat '95' is above the maximum 90",
        "lat 'north' is not a number",
        "lon '1e999' is not a number",
    ]
    # radius_m is optional: its bad value is left empty and the cell kept, with a warning
    assert [str(w) for w in report.tables["cells"].warning_examples] == [
        "cells.csv:6: radius_m '-1' is below the minimum 0 (left empty; the row is kept)"
    ]
    assert [e.reason for e in report.tables["cdrs"].errors] == [
        "duration_s '3.5' is not a whole number",
        "duration_s '12345678901234567890' is not a whole number",
    ]
    cells = accepted(tmp_path, "cells")
    assert cells.column("lat").to_pylist() == [43.25, -43.2, -43.2]
    assert cells.column("lon").to_pylist() == [76.95, 0.5, 76.0]
    assert cells.column("radius_m").to_pylist() == [None, None, 12.5]


def test_roaming_period_must_not_end_before_it_starts(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"))
    write(
        tmp_path,
        "roaming.csv",
        "imsi,start_time,end_time,country\n"
        "401011234567890,2026-03-01T00:00:00Z,2026-03-05T00:00:00Z,TR\n"
        "401011234567891,2026-03-05T00:00:00Z,2026-03-01T00:00:00Z,tr\n",
    )
    report, _ = validate(tmp_path)
    assert report.tables["roaming"].errors[0].reason == (
        "country 'tr' is not a country code (ISO 3166 alpha-2, e.g. KZ); "
        "end_time '2026-03-01T00:00:00Z' is before start_time '2026-03-05T00:00:00Z'"
    )


@pytest.mark.parametrize(
    ("table", "text", "reason"),
    [
        (
            "subscribers.csv",
            "imsi,msisdn,activated,plan\n4010100,+77011234567,2026-02-30,prepaid\n",
            "activated '2026-02-30' is not a date (YYYY-MM-DD, e.g. 2026-03-02)",
        ),
        (
            "registry.csv",
            "number,owner,policy\n+77272000000,Halyk Bank,route:bank:trunk1\n",
            "policy 'route:bank:trunk1' is not inbound_only or route:CLASS:ROUTE with CLASS one "
            "of mobile, fixed, national, international, voip",
        ),
        (
            "payments.csv",
            "payment_id,time,payer,payee,amount,currency,channel\n"
            "p1,2026-03-02T10:00:00Z,card:4400,msisdn:+77011234567,5000,kzt,bank_transfer\n",
            "payer 'card:4400' is not an account (bank:ID, msisdn:+E164, ewallet:ID or "
            "crypto:ADDRESS); currency 'kzt' is not a currency code (ISO 4217, e.g. KZT)",
        ),
    ],
)
def test_other_kinds_of_value(tmp_path: Path, table: str, text: str, reason: str) -> None:
    data_set(tmp_path, cdr("r1"))
    write(tmp_path, table, text)
    report, _ = validate(tmp_path)
    assert [e.reason for e in report.tables[table.removesuffix(".csv")].errors] == [reason]


def test_blank_lines_are_skipped_and_counted_in_lines(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"), "", cdr("r2", event="x"), ",,,,,,,,,,,,", "")
    report, _ = validate(tmp_path)
    cdrs = report.tables["cdrs"]
    assert cdrs.errors[0].line == 4
    assert (cdrs.rows_read, cdrs.blank_lines) == (2, 3)


def test_cells_that_are_not_utf8(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"))
    (tmp_path / "reports.csv").write_bytes(
        b"report_id,time,reporter,reported_number,channel,category,text\n"
        b"p1,2026-03-02T08:00:00Z,+77011112233,,call,other,\xd0\x9f\xd1\x80\n"
        b"p2,2026-03-02T08:00:00Z,+77011112233,,call,other,caf\xe9\n"
    )
    report, quarantine = validate(tmp_path)
    assert report.tables["reports"].errors[0].reason == "text 'caf\ufffd' is not UTF-8 text"
    assert quarantined(quarantine, "reports")[0]["text"] == "caf\ufffd"
    assert accepted(tmp_path, "reports").column("text").to_pylist() == ["Пр"]


def test_empty_file_cannot_be_read(tmp_path: Path) -> None:
    write(tmp_path, "cdrs.csv", "")
    report, _ = validate(tmp_path)
    assert report.exit_code == 2
    assert str(report.tables["cdrs"].failure).endswith("the file is empty: it has no header row")


def test_a_stale_quarantine_file_is_replaced(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1", event="x"))
    validate(tmp_path)
    data_set(tmp_path, cdr("r1"))
    _, quarantine = validate(tmp_path)
    assert not (quarantine / "cdrs.csv").exists()
