"""Hostile input files: what reading one may cost is bounded, and no row is lost on the way.

Each test builds its bomb in place, small enough to stay fast: gzip of
newlines, a file of duplicate rows, NUL bytes in text, a line longer than
Arrow's parsing block, bytes that are not UTF-8 in a row of the wrong width.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import re
import subprocess
import sys
import tempfile
import tracemalloc
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.errors import UnreadableFileError
from qalqan.exchange.gzip_stream import SalvagingGzipReader
from qalqan.exchange.limits import QUARANTINE_CELL_CHARS, ReadLimits
from qalqan.exchange.reader import DataSet, read_file
from tests.exchange.rows import (
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

runner = CliRunner()

MiB = 1 << 20


def newline_bomb(path: Path, *, content: int, head: str = "") -> Path:
    """A gzip of ``head`` then ``content`` bytes of newlines (about a thousandth of it on disk)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        f.write(packer.compress(head.encode()))
        piece = b"\n" * MiB
        for _ in range(content // MiB):
            f.write(packer.compress(piece))
        f.write(packer.flush())
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["validate", "-q", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


# -- decompression bombs -------------------------------------------------------------------


def test_a_gzip_of_newlines_is_refused_naming_the_file(tmp_path: Path) -> None:
    bomb = newline_bomb(tmp_path / "cdrs.csv.gz", content=24 * MiB, head=cdrs_text(cdr("r1")))
    write(tmp_path, "cells.csv", CELLS)
    assert bomb.stat().st_size < 64 * 1024
    code, _, err = run(str(tmp_path))
    assert code == 2
    assert f"{bomb}: cannot be read: the gzip content grows past 200 times" in err
    assert "refused as a decompression bomb" in err
    assert "by line" in err


def test_gzip_content_past_its_byte_limit_is_refused(tmp_path: Path) -> None:
    rows = [cdr(f"r{i}") for i in range(20_000)]
    write(tmp_path, "cdrs.csv.gz", cdrs_text(*rows))
    write(tmp_path, "cells.csv", CELLS)
    code, _, err = run(str(tmp_path), "--max-gzip-bytes", "100000")
    assert code == 2
    assert "the gzip content grows past 100,000 bytes (max_gzip_bytes)" in err


def test_an_ordinary_gzip_is_read_whole_under_the_limits(tmp_path: Path) -> None:
    rows = [cdr(f"r{i}") for i in range(20_000)]
    write(tmp_path, "cdrs.csv.gz", cdrs_text(*rows))
    write(tmp_path, "cells.csv", CELLS)
    report, _ = validate(tmp_path)
    assert report.exit_code == 0
    assert report.tables["cdrs"].rows_accepted == 20_000


def test_the_gzip_reader_never_inflates_a_whole_bomb_at_once() -> None:
    packed = gzip.compress(b"\n" * (64 * MiB), mtime=0)
    stream = SalvagingGzipReader(io.BytesIO(packed), max_ratio=200)
    tracemalloc.start()
    try:
        while stream.read(MiB):
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stream.refused is not None
    assert stream.bytes_out < 24 * MiB
    assert peak < 32 * MiB


def test_the_lookup_of_ids_is_not_sized_from_the_files_own_estimate(tmp_path: Path) -> None:
    """64 MiB of newlines estimate 64 million rows; room for them would take 2 GiB."""
    path = newline_bomb(tmp_path / "cdrs.csv.gz", content=64 * MiB, head=cdrs_text(cdr("r1")))
    limits = ReadLimits(max_gzip_ratio=10**6)  # let the bomb through: the estimate is the point
    tracemalloc.start()
    try:
        with read_file(path, "cdrs", limits=limits) as reader:
            first = next(reader)
            peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert first.column("record_id").to_pylist() == ["r1"]
    assert peak < 512 * MiB


# -- a flood of rejected rows -------------------------------------------------------------


def test_duplicate_rows_stop_at_the_limit_of_rejected_rows(tmp_path: Path) -> None:
    data_set(tmp_path, *[cdr("r1")] * 3000)
    code, _, err = run(str(tmp_path), "--max-rejected-rows", "1000")
    assert code == 2
    assert f"{tmp_path / 'cdrs.csv'}: cannot be read: reading stopped at line" in err
    assert "rows rejected, more than 1,000 (max_rejected_rows)" in err
    assert f"the rows rejected so far are in {tmp_path / 'quarantine' / 'cdrs.csv'}" in err
    kept = quarantined(tmp_path / "quarantine")
    assert 1000 < len(kept) < 3000
    assert [int(row["line"]) for row in kept] == list(range(3, 3 + len(kept)))


def test_the_quarantine_stops_growing_at_its_byte_limit(tmp_path: Path) -> None:
    data_set(tmp_path, *[cdr(f"r{i}", duration_s="x") for i in range(5000)])
    limits = ReadLimits(max_quarantine_bytes=50_000)
    report = DataSet.open(tmp_path, limits=limits).validate(quarantine_dir=tmp_path / "q")
    failure = report.tables["cdrs"].failure
    assert isinstance(failure, UnreadableFileError)
    assert "has grown past 50,000 bytes (max_quarantine_bytes)" in failure.reason
    assert report.exit_code == 2
    size = (tmp_path / "q" / "cdrs.csv").stat().st_size
    assert 50_000 < size < 50_000 + 1024 * 400  # a slice of rows past the limit at most


def test_quarantined_cells_are_cut_to_a_prefix_with_their_length_noted(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"), cdr("r2", start_time="9" * 5000), cdr("r3"))
    report, quarantine = validate(tmp_path)
    [row] = quarantined(quarantine)
    assert row["line"] == "3"
    assert row["start_time"] == "9" * QUARANTINE_CELL_CHARS + "…"
    assert row["reason"].endswith("; start_time is cut to its first 1,000 of 5,000 characters here")
    assert ids(accepted(tmp_path)) == ["r1", "r3"]
    assert report.tables["cdrs"].errors[0].line == 3


# -- control characters --------------------------------------------------------------------


def test_nul_in_a_text_cell_rejects_its_row_with_file_line_and_reason(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"), cdr("r2\x00"), cdr("r3", a_cell="C1\x00x"), cdr("r4"))
    report, quarantine = validate(tmp_path)
    rows = quarantined(quarantine)
    assert [(r["file"], r["line"]) for r in rows] == [("cdrs.csv", "3"), ("cdrs.csv", "4")]
    assert rows[0]["reason"] == "record_id holds NUL (U+0000) at byte 3, which text may not contain"
    assert rows[1]["reason"].startswith("a_cell holds NUL (U+0000) at byte 3")
    assert ids(accepted(tmp_path)) == ["r1", "r4"]
    assert report.tables["cdrs"].reasons["record_id holds a control character"] == 1


@pytest.mark.parametrize("char", ["\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f"])
def test_other_control_characters_reject_their_row(tmp_path: Path, char: str) -> None:
    data_set(tmp_path, cdr("r1"), cdr(f"r{char}2"))
    report, _ = validate(tmp_path)
    [error] = report.tables["cdrs"].errors
    assert error.line == 3
    assert error.reason.startswith(f"record_id holds a control character (U+{ord(char):04X})")


def test_tabs_and_quoted_line_breaks_are_text(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r\t1"), cdr('"r\r\n2"'), cdr("r3"))
    report, _ = validate(tmp_path)
    assert report.exit_code == 0
    assert ids(accepted(tmp_path)) == ["r\t1", "r\r\n2", "r3"]


def test_nul_in_a_parquet_text_column_rejects_its_row(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"))
    (tmp_path / "cdrs.csv").unlink()
    table = pa.Table.from_pylist(
        [
            dict(zip(CDR_HEADER.split(","), cdr(rid).split(","), strict=True))
            for rid in ("r1", "r2\x00", "r3")
        ]
    )
    pq.write_table(table, tmp_path / "cdrs.parquet")
    report, _ = validate(tmp_path)
    [error] = report.tables["cdrs"].errors
    assert (error.file, error.line) == ("cdrs.parquet", 2)
    assert ids(accepted(tmp_path)) == ["r1", "r3"]


def test_decisions_with_nul_are_rejected_before_the_case_store(tmp_path: Path) -> None:
    """``qalqan cases ingest`` reads decisions.csv through :func:`read_file`."""
    path = tmp_path / "decisions.csv"
    path.write_text(
        "record_id,action,score,reasons,latency_us\n"
        "r1,divert,0.75,spoofed,40\n"
        "r2,divert,0.75,spoofed\x00 caller,40\n"
        "r3,block,0.9,farm,40\n",
        encoding="utf-8",
    )
    with read_file(path, "decisions") as reader:
        table = reader.read_all()
    assert table.column("record_id").to_pylist() == ["r1", "r3"]
    [error] = reader.report.errors
    assert (error.line, error.reason) == (
        3,
        "reasons holds NUL (U+0000) at byte 8, which text may not contain",
    )


# -- lines Arrow cannot take ---------------------------------------------------------------


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_an_over_long_line_is_one_rejected_row_and_the_rest_loads(tmp_path: Path, end: str) -> None:
    long = cdr("r2", a_imei="9" * (5 * MiB))  # more than two blocks of Arrow's parser
    lines = [CDR_HEADER, cdr("r1"), long, cdr("r3"), cdr("r4", event="x"), cdr("r5")]
    (tmp_path / "cdrs.csv").write_text(end.join(lines) + end, newline="")
    write(tmp_path, "cells.csv", CELLS)
    report, quarantine = validate(tmp_path)
    cdrs = report.tables["cdrs"]
    assert cdrs.failure is None
    assert (cdrs.rows_read, cdrs.rows_accepted, cdrs.rows_rejected) == (5, 3, 2)
    assert cdrs.blank_lines == 0
    assert ids(accepted(tmp_path)) == ["r1", "r3", "r5"]
    first, second = quarantined(quarantine)
    assert first["line"] == "3"
    assert first["reason"] == (
        f"line is {len(long):,} bytes long, more than 1,048,576 (max_line_bytes); "
        "the quarantine keeps its first 1,000 bytes"
    )
    assert first["record_id"] == "r2"
    assert len(first["a_imei"]) < 1000
    assert second["line"] == "5"  # the lines after it keep their numbers


def test_an_over_long_last_line_without_a_line_break(tmp_path: Path) -> None:
    text = cdrs_text(cdr("r1")) + cdr("r2", a_imei="9" * 5000)
    (tmp_path / "cdrs.csv").write_text(text)
    write(tmp_path, "cells.csv", CELLS)
    limits = ReadLimits(max_line_bytes=4096)
    report = DataSet.open(tmp_path, limits=limits).validate(quarantine_dir=tmp_path / "q")
    cdrs = report.tables["cdrs"]
    assert (cdrs.rows_read, cdrs.rows_accepted, cdrs.rows_rejected) == (2, 1, 1)
    assert cdrs.errors[0].line == 3
    assert cdrs.errors[0].reason.startswith("line is 5,")


def test_an_over_long_line_in_a_gzip_file(tmp_path: Path) -> None:
    noise = random.Random(1).randbytes(5 * MiB // 2).hex()  # no bomb: it barely compresses
    write(tmp_path, "cdrs.csv.gz", cdrs_text(cdr("r1"), cdr("r2", a_imei=noise), cdr("r3")))
    write(tmp_path, "cells.csv", CELLS)
    report, quarantine = validate(tmp_path)
    assert report.exit_code == 1
    assert [row["line"] for row in quarantined(quarantine)] == ["3"]
    assert ids(accepted(tmp_path)) == ["r1", "r3"]


def test_an_over_long_header_makes_the_file_unreadable(tmp_path: Path) -> None:
    (tmp_path / "cdrs.csv").write_text(
        CDR_HEADER + "".join(f",x{i}" for i in range(1000)) + "\n" + cdr("r1") + "\n"
    )
    limits = ReadLimits(max_line_bytes=4096)
    with pytest.raises(UnreadableFileError, match="the header row is longer than 4,096 bytes"):
        DataSet.open(tmp_path, limits=limits).read_all("cdrs")


def test_a_row_of_the_wrong_width_that_is_not_utf8_is_rejected_at_its_line(
    tmp_path: Path,
) -> None:
    body = cdrs_text(cdr("r1")).encode() + b"ab\xff\xfecd,x\n\xff\n" + cdr("r2").encode() + b"\n"
    (tmp_path / "cdrs.csv").write_bytes(body)
    write(tmp_path, "cells.csv", CELLS)
    report, quarantine = validate(tmp_path)
    cdrs = report.tables["cdrs"]
    assert cdrs.failure is None
    assert ids(accepted(tmp_path)) == ["r1", "r2"]
    rows = quarantined(quarantine)
    assert [(r["line"], r["reason"]) for r in rows] == [
        ("3", "line is not UTF-8 text (byte 0xFF at byte 3)"),
        ("4", "line is not UTF-8 text (byte 0xFF at byte 1)"),
    ]
    assert rows[0]["record_id"] == "ab\ufffd\ufffdcd"


# -- any bytes at all ------------------------------------------------------------------------

LIMIT = 256
"""The line limit of the property below: a valid row (about 150 bytes) fits, junk may not."""

junk_bytes = st.binary(max_size=3 * LIMIT).filter(
    lambda b: b'"' not in b and b"\n" not in b and b"\r" not in b
)
hostile_lines = st.one_of(
    st.integers(0, 10**6).map(lambda i: ("row", cdr(f"r{i}").encode())),
    junk_bytes.map(lambda b: ("junk", b)),
    st.sampled_from([b"\x00", b"\xff\xfe", b",,,,,,,,,,,,", b"", b"\t", b"a,\x00,\xc3"]).map(
        lambda b: ("junk", b)
    ),
    st.integers(LIMIT + 1, 4 * LIMIT).map(lambda n: ("junk", b"x," * (n // 2))),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(hostile_lines, st.sampled_from([b"\n", b"\r\n", b"\r"])), max_size=40),
    st.booleans(),
)
def test_any_bytes_are_read_without_a_crash_and_every_line_is_accounted_for(
    lines: list[tuple[tuple[str, bytes], bytes]], packed: bool
) -> None:
    """Every line is accepted, quarantined at its own line number, or blank; counts add up."""
    body = [CDR_HEADER.encode() + b"\n"]
    rows: dict[int, bytes] = {}  # line number -> valid row's id
    blank: set[int] = set()
    junk: set[int] = set()
    after_cr = False
    for number, ((kind, text), end) in enumerate(lines, start=2):
        if after_cr and not text and end != b"\r":
            end = b"\r"  # "\r" then "\n" would be one CRLF: keep the lines apart
        body.append(text + end)
        after_cr = end == b"\r"
        if kind == "row" and text.split(b",")[0] not in rows.values():
            rows[number] = text.split(b",")[0]
        elif kind == "row" or (text and text != b",,,,,,,,,,,,"):
            junk.add(number)  # (a repeated id is rejected too)
        else:
            blank.add(number)
    content = b"".join(body)
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        name = "cdrs.csv.gz" if packed else "cdrs.csv"
        (directory / name).write_bytes(gzip.compress(content, mtime=0) if packed else content)
        limits = ReadLimits(max_line_bytes=LIMIT)
        report = DataSet.open(directory, limits=limits).validate(
            quarantine_dir=directory / "q", chunk_rows=7
        )
        cdrs = report.tables["cdrs"]
        assert cdrs.failure is None
        assert cdrs.rows_read == cdrs.rows_accepted + cdrs.rows_rejected
        assert cdrs.rows_read + cdrs.blank_lines == len(lines)
        assert cdrs.blank_lines == len(blank)
        rejected = quarantined(directory / "q") if cdrs.rows_rejected else []
        assert sorted(int(row["line"]) for row in rejected) == sorted(junk)
        kept = DataSet.open(directory, limits=limits).read_all("cdrs")
        assert kept.column("record_id").to_pylist() == [rid.decode() for rid in rows.values()]


# -- quotes that are never closed ------------------------------------------------------------


def test_an_unclosed_quote_in_a_large_file_loses_only_its_line(tmp_path: Path) -> None:
    """The rest of the file would be one quoted value: Arrow gave up on the whole table."""
    rows = [cdr(f"r{i}") for i in range(3, 30_003)]  # 4 MB: more than Arrow's block
    rows[20_000] = cdr("r20003", event="x")  # a rejected row far below keeps its line
    lines = [cdr("r1"), cdr("r2", a_imei='"35693803564'), *rows]
    data_set(tmp_path, *lines)
    report, quarantine = validate(tmp_path)
    cdrs = report.tables["cdrs"]
    assert cdrs.failure is None
    assert (cdrs.rows_read, cdrs.rows_rejected) == (30_002, 2)
    first, second = quarantined(quarantine)
    assert (first["line"], first["record_id"]) == ("3", "r2")
    assert first["reason"] == (
        "the quote at byte 92 opens a value that is not closed (max_line_bytes 1,048,576); "
        "this line is left out and the next is read as a row of its own"
    )
    assert (second["line"], second["record_id"]) == ("20004", "r20003")
    kept = ids(accepted(tmp_path))
    assert kept[:3] == ["r1", "r3", "r4"]
    assert len(kept) == 30_000


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_an_unclosed_quote_near_the_end_loses_only_its_line(tmp_path: Path, end: str) -> None:
    lines = [CDR_HEADER, cdr("r1"), cdr("r2", b_cell='"C2'), cdr("r3"), cdr("r4")]
    (tmp_path / "cdrs.csv").write_text(end.join(lines) + end, newline="")
    write(tmp_path, "cells.csv", CELLS)
    report, quarantine = validate(tmp_path)
    assert [row["line"] for row in quarantined(quarantine)] == ["3"]
    assert ids(accepted(tmp_path)) == ["r1", "r3", "r4"]
    assert report.tables["cdrs"].blank_lines == 0


def test_a_quoted_record_longer_than_the_limit_gives_up_its_first_line(tmp_path: Path) -> None:
    """A quote closed only far further on: the lines between are rows of their own."""
    rows = [cdr(f"r{i}") for i in range(3, 60)]  # about 9,000 bytes
    lines = [cdr("r1"), cdr("r2", b_cell='"C2'), *rows, cdr("r60", b_cell='C2"'), cdr("r61")]
    data_set(tmp_path, *lines)
    limits = ReadLimits(max_line_bytes=4096)
    report = DataSet.open(tmp_path, limits=limits).validate(quarantine_dir=tmp_path / "q")
    cdrs = report.tables["cdrs"]
    assert cdrs.failure is None
    rejected = quarantined(tmp_path / "q")
    assert [row["line"] for row in rejected] == ["3", "61"]  # r60 has a stray quote in b_cell
    assert rejected[0]["reason"].startswith(
        "the quote at byte 112 opens a value that is closed only past 4,096 bytes"
    )
    assert len(ids(DataSet.open(tmp_path, limits=limits).read_all("cdrs"))) == 59


def test_quoted_values_over_several_lines_still_read_as_text(tmp_path: Path) -> None:
    text = 'He said ""I am from the bank"",\nand then\r\n""give me the code""'
    data_set(tmp_path, cdr("r1"), cdr(f'"r\n2{text}"'), cdr('"r""3"'), cdr("r4"))
    report, _ = validate(tmp_path)
    assert report.exit_code == 0
    assert ids(accepted(tmp_path)) == ["r1", f"r\n2{text}".replace('""', '"'), 'r"3', "r4"]


quoted_text = st.text(alphabet=st.sampled_from('ab,"\n\r x'), max_size=12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(quoted_text, min_size=1, max_size=30), st.sampled_from(["\n", "\r\n"]))
def test_quoted_values_read_back_exactly_and_later_lines_keep_their_numbers(
    values: list[str], end: str
) -> None:
    """RFC 4180 quoting: "" is a quote, a quoted value may hold commas and line breaks."""
    record_ids = [f"r{i}{value}" for i, value in enumerate(values)]
    rows = [cdr('"' + rid.replace('"', '""') + '"') for rid in record_ids]
    line = 2 + sum(1 + len(re.findall("\r\n|\r|\n", rid)) for rid in record_ids)
    text = end.join([CDR_HEADER, *rows, cdr("bad", event="x")]) + end
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        (directory / "cdrs.csv").write_text(text, newline="")
        limits = ReadLimits(max_line_bytes=LIMIT)
        report = DataSet.open(directory, limits=limits).validate(chunk_rows=7)
        (error,) = report.tables["cdrs"].errors
        assert error.line == line
        kept = DataSet.open(directory, limits=limits).read_all("cdrs")
        assert kept.column("record_id").to_pylist() == record_ids


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 40),
    st.integers(0, 40),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
)
def test_an_unclosed_quote_anywhere_loses_only_its_line(
    before: int, after: int, end: str, packed: bool
) -> None:
    spoiled = cdr("spoiled", a_cell='"C1')
    lines = [cdr(f"r{i}") for i in range(before + after)]
    lines.insert(before, spoiled)
    content = (end.join([CDR_HEADER, *lines]) + end).encode()
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        name = "cdrs.csv.gz" if packed else "cdrs.csv"
        (directory / name).write_bytes(gzip.compress(content, mtime=0) if packed else content)
        limits = ReadLimits(max_line_bytes=LIMIT)
        report = DataSet.open(directory, limits=limits).validate(
            quarantine_dir=directory / "q", chunk_rows=7
        )
        cdrs = report.tables["cdrs"]
        assert cdrs.failure is None
        assert (cdrs.rows_read, cdrs.rows_rejected, cdrs.blank_lines) == (len(lines), 1, 0)
        assert [row["line"] for row in quarantined(directory / "q")] == [str(before + 2)]


# -- blank lines -------------------------------------------------------------------------------


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_runs_of_blank_lines_are_counted_and_later_lines_keep_their_numbers(
    tmp_path: Path, end: str
) -> None:
    lines = [CDR_HEADER, "", cdr("r1"), *[""] * 5, cdr("r2", event="x"), "", cdr("r3")]
    lines += [*[""] * 3, cdr('"r\n4"'), *[""] * 2, cdr("r5", event="y"), *[""] * 4]
    (tmp_path / "cdrs.csv").write_text(end.join(lines) + end, newline="")
    write(tmp_path, "cells.csv", CELLS)
    report, quarantine = validate(tmp_path)
    cdrs = report.tables["cdrs"]
    assert (cdrs.rows_read, cdrs.rows_rejected, cdrs.blank_lines) == (5, 2, 16)
    assert [row["line"] for row in quarantined(quarantine)] == ["9", "19"]
    assert ids(accepted(tmp_path)) == ["r1", "r3", "r\n4"]
    _, out, _ = run(str(tmp_path))
    assert "7 rows read, 5 accepted, 2 rejected, 16 blank lines skipped" in " ".join(out.split())


BLANK_LINES_MEMORY = """
import sys
from pathlib import Path
import pyarrow as pa
from qalqan.exchange.reader import DataSet
report = DataSet.open(Path(sys.argv[1])).validate()
print(report.tables["cdrs"].blank_lines, pa.default_memory_pool().max_memory())
"""


def test_a_file_of_newlines_is_cheap(tmp_path: Path) -> None:
    """Arrow made a row of empty cells of every blank line: about 80 bytes a line at peak."""
    (tmp_path / "cdrs.csv").write_bytes(CDR_HEADER.encode() + b"\n" * (12 * MiB))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", BLANK_LINES_MEMORY, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    blank, peak = map(int, done.stdout.split())
    assert blank == 12 * MiB - 1  # the first newline ends the header
    assert peak < 64 * MiB


@pytest.mark.parametrize("last", [False, True])
def test_a_quoted_record_over_several_lines_that_is_not_utf8_is_one_rejected_row(
    tmp_path: Path, last: bool
) -> None:
    spoiled = b'"a\n\xff b\r\n""c"""'  # one field over three lines
    body = cdrs_text(cdr("r1")).encode() + spoiled
    body += b"" if last else b"\n" + cdr("r2", event="x").encode() + b"\n" + cdr("r3").encode()
    (tmp_path / "cdrs.csv").write_bytes(body)
    write(tmp_path, "cells.csv", CELLS)
    report, quarantine = validate(tmp_path)
    cdrs = report.tables["cdrs"]
    assert cdrs.failure is None
    assert cdrs.blank_lines == 0
    lines = [(row["line"], row["reason"]) for row in quarantined(quarantine)]
    assert lines[0] == ("3", "line is not UTF-8 text (byte 0xFF at byte 4)")
    assert [line for line, _ in lines[1:]] == ([] if last else ["6"])
    assert ids(accepted(tmp_path)) == (["r1"] if last else ["r1", "r3"])
