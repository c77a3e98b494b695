"""Properties of the reader over generated data.

(a) Whatever valid CDRs are written with :class:`~qalqan.exchange.writer.TableWriter`,
    as CSV, CSV.gz or Parquet, the reader gives back exactly the same table.
(b) Whatever text is in whatever cell, the validator does not crash, every row
    is either accepted or quarantined at its exact line, and nothing is lost.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qalqan.domain.numbers import E164_PATTERN
from qalqan.exchange.reader import DataSet, read_file
from qalqan.exchange.schema import CDRS, INGRESS_CLASSES
from qalqan.exchange.types import canonical_schema
from qalqan.exchange.writer import FORMATS, TableWriter
from tests.exchange.rows import CDR_COLUMNS, quarantined

e164 = st.from_regex(E164_PATTERN, fullmatch=True)
CONTROL = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]
"""C0 control characters a text cell may not hold (a row holding one is rejected)."""
text = st.text(  # commas, quotes, tabs, line breaks, any script
    st.characters(blacklist_categories=("Cs",), blacklist_characters=CONTROL),
    min_size=1,
    max_size=12,
)
route = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=8)
instants = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
)
whole_seconds = instants.map(lambda t: t.replace(microsecond=0))


@st.composite
def cdr_rows(draw: st.DrawFn) -> dict[str, object]:
    ingress_class = draw(st.sampled_from(INGRESS_CLASSES))
    return {
        "record_id": draw(text),
        "start_time": draw(st.one_of(instants, whole_seconds)),
        "duration_s": draw(st.integers(0, 10**18 - 1)),
        "event": draw(st.sampled_from(["voice", "sms"])),
        "result": draw(st.sampled_from(["answered", "no_answer", "busy", "failed", "rejected"])),
        "a_number": draw(st.none() | e164),
        "b_number": draw(e164),
        "ingress": draw(st.just(ingress_class) | route.map(lambda r: f"{ingress_class}:{r}")),
        "a_imsi": draw(st.none() | text),
        "a_imei": draw(st.none() | text),
        "a_cell": draw(st.none() | text),
        "b_imsi": draw(st.none() | text),
        "b_cell": draw(st.none() | text),
        "identity_attest": draw(st.none() | st.sampled_from(["A", "B", "C"])),
        "orig_country": draw(st.none() | st.from_regex(r"[A-Z]{2}", fullmatch=True)),
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cdr_rows(), min_size=1, max_size=25, unique_by=lambda row: row["record_id"]))
def test_round_trip_through_every_format(rows: list[dict[str, object]]) -> None:
    original = pa.Table.from_pylist(rows, schema=canonical_schema(CDRS))
    with tempfile.TemporaryDirectory() as folder:
        for fmt in FORMATS:
            out = Path(folder) / fmt
            with TableWriter(out, CDRS, fmt=fmt) as writer:
                writer.write(original.slice(0, len(rows) // 2))  # two chunks:
                writer.write(original.slice(len(rows) // 2))  # fractions may differ
            reader = read_file(writer.path, CDRS)
            back = reader.read_all()
            assert reader.report.errors == [], fmt
            assert back.equals(original), fmt


def write_rows(path: Path, rows: list[list[str]]) -> list[int]:
    """Write ``rows`` under the cdrs header as Python's csv module does; return their lines.

    CRLF ends the records (as Excel writes them), so the csv module quotes any
    value holding a CR or an LF; a line ends with LF, CRLF or a lone CR.
    """
    lines = []
    line = 2
    with open(path, "w", newline="", encoding="utf-8") as f:
        f.write(",".join(CDR_COLUMNS) + "\r\n")
        for row in rows:
            record = io.StringIO()
            csv.writer(record, lineterminator="\r\n").writerow(row)
            text = record.getvalue()
            f.write(text)
            lines.append(line)
            line += text.count("\n") + text.count("\r") - text.count("\r\n")
    return lines


cells = st.text(max_size=8) | st.sampled_from(["", "+77011234567", "2026-03-02T07:15:02Z", "voice"])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(cells, min_size=13, max_size=13) | st.lists(cells, min_size=1, max_size=16),
        max_size=20,
    )
)
def test_any_text_in_any_cell_is_accepted_or_quarantined_at_its_line(
    rows: list[list[str]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        lines = write_rows(directory / "cdrs.csv", rows)
        report = DataSet.open(directory).validate(quarantine_dir=directory / "q", chunk_rows=7)
        cdrs = report.tables["cdrs"]
        assert cdrs.failure is None
        assert cdrs.rows_read == cdrs.rows_accepted + cdrs.rows_rejected
        blank = [i for i, row in enumerate(rows) if len(row) == len(CDR_COLUMNS) and not any(row)]
        assert cdrs.rows_read + cdrs.blank_lines == len(rows)
        assert cdrs.blank_lines == len(blank)

        rejected = quarantined(directory / "q") if cdrs.rows_rejected else []
        assert len(rejected) == cdrs.rows_rejected
        row_at = {line: i for i, line in enumerate(lines)}
        rejected_rows = [row_at[int(q["line"])] for q in rejected]  # every line is a row's line
        for q, i in zip(rejected, rejected_rows, strict=True):
            if len(rows[i]) == len(CDR_COLUMNS):
                assert [q[c] for c in CDR_COLUMNS] == rows[i]
        kept = [row[0] for i, row in enumerate(rows) if i not in rejected_rows and i not in blank]
        accepted = DataSet.open(directory).read_all("cdrs")
        assert accepted.column("record_id").to_pylist() == kept
