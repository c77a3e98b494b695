"""A table kept as a folder of daily parts reads as one table, each part answering for its own rows."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qalqan.errors import UnreadableFileError
from qalqan.exchange.reader import DataSet
from tests.exchange.rows import (
    CDR_HEADER,
    CELLS,
    accepted,
    cdr,
    cdrs_text,
    ids,
    quarantined,
    validate,
    write,
)


def _parts(directory: Path, parts: dict[str, list[str]]) -> Path:
    """A data set whose ``cdrs`` is the folder ``cdrs/`` with one file per part."""
    write(directory, "cells.csv", CELLS)
    for name, lines in parts.items():
        write(directory / "cdrs", name, cdrs_text(*lines))
    return directory


def test_parts_read_as_one_table_in_the_order_of_their_names(tmp_path: Path) -> None:
    _parts(
        tmp_path,
        {
            "2026-03-03.csv.gz": [cdr("r3", start_time="2026-03-03T08:00:00Z")],
            "2026-03-02.csv": [cdr("r1"), cdr("r2")],
        },
    )
    report, _ = validate(tmp_path)
    assert report.tables["cdrs"].rows_read == 3
    assert [p.name for p in report.tables["cdrs"].files] == ["2026-03-02.csv", "2026-03-03.csv.gz"]
    assert ids(accepted(tmp_path)) == ["r1", "r2", "r3"]


def test_a_record_id_repeated_in_a_later_part_is_rejected_there(tmp_path: Path) -> None:
    _parts(
        tmp_path,
        {"2026-03-02.csv": [cdr("r1"), cdr("r2")], "2026-03-03.csv": [cdr("r3"), cdr("r1")]},
    )
    report, quarantine = validate(tmp_path)
    assert report.tables["cdrs"].rows_rejected == 1
    [row] = quarantined(quarantine / "cdrs", "2026-03-03")
    assert row["file"].endswith("2026-03-03.csv")
    assert row["line"] == "3"
    assert "repeats" in row["reason"]
    assert not (quarantine / "cdrs" / "2026-03-02.csv").exists()


def test_a_bad_row_is_named_by_its_part_and_line(tmp_path: Path) -> None:
    _parts(
        tmp_path,
        {"2026-03-02.csv": [cdr("r1")], "2026-03-03.csv": [cdr("r2"), cdr("r3", event="fax")]},
    )
    _report, quarantine = validate(tmp_path)
    [row] = quarantined(quarantine / "cdrs", "2026-03-03")
    assert (Path(row["file"]).name, row["line"]) == ("2026-03-03.csv", "3")
    assert ids(accepted(tmp_path)) == ["r1", "r2"]


def test_a_part_with_other_columns_cannot_be_read(tmp_path: Path) -> None:
    _parts(tmp_path, {"2026-03-02.csv": [cdr("r1")]})
    write(
        tmp_path / "cdrs",
        "2026-03-03.csv",
        cdrs_text(cdr("r2") + ",x", header=CDR_HEADER + ",note"),
    )
    with pytest.raises(UnreadableFileError, match="same header"):
        accepted(tmp_path)


def test_a_table_both_as_a_file_and_as_a_folder_is_ambiguous(tmp_path: Path) -> None:
    _parts(tmp_path, {"2026-03-02.csv": [cdr("r1")]})
    write(tmp_path, "cdrs.csv", cdrs_text(cdr("r1")))
    with pytest.raises(UnreadableFileError, match="ambiguous"):
        DataSet.open(tmp_path)


def test_one_part_in_two_formats_is_ambiguous(tmp_path: Path) -> None:
    _parts(tmp_path, {"2026-03-02.csv": [cdr("r1")], "2026-03-02.csv.gz": [cdr("r2")]})
    with pytest.raises(UnreadableFileError, match="ambiguous"):
        DataSet.open(tmp_path)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.sampled_from(["a", "b", "c", "d", "bad"]), min_size=1, max_size=12),
    cuts=st.sets(st.integers(1, 11), max_size=4),
)
def test_any_split_into_parts_reads_as_the_whole_file(
    tmp_path: Path, rows: list[str], cuts: set[int]
) -> None:
    lines = [cdr(r, event="fax") if r == "bad" else cdr(r) for r in rows]
    whole, parted = tmp_path / "whole", tmp_path / "parted"
    for folder in (whole, parted):
        shutil.rmtree(folder, ignore_errors=True)
    write(whole, "cells.csv", CELLS)
    write(whole, "cdrs.csv", cdrs_text(*lines))
    bounds = [0, *sorted(c for c in cuts if c < len(lines)), len(lines)]
    _parts(
        parted,
        {
            f"2026-03-{i + 1:02d}.csv": lines[a:b]
            for i, (a, b) in enumerate(itertools.pairwise(bounds))
        },
    )
    one, _ = validate(whole)
    many, _ = validate(parted)
    assert ids(accepted(parted)) == ids(accepted(whole))
    assert many.tables["cdrs"].rows_rejected == one.tables["cdrs"].rows_rejected
    assert many.tables["cdrs"].rows_read == one.tables["cdrs"].rows_read
