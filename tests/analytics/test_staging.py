"""Staging: the accepted rows as Parquet, written in a thread while the next chunk is checked.

Whatever the writing thread does, the staged file holds exactly the rows the
reader accepts, in file order, with the contract's types; the rejected rows
are in the quarantine with their lines; and a table that stops reading (a
limit, a broken write) stops the thread and closes its files.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qalqan.analytics.staging import (
    COMPRESSION,
    SCRATCH_COMPRESSION,
    dictionary_columns,
    stage,
    statistics_columns,
)
from qalqan.errors import UnreadableFileError
from qalqan.exchange.limits import ReadLimits
from qalqan.exchange.reader import DataSet
from qalqan.exchange.schema import INPUT_TABLES
from qalqan.exchange.types import canonical_schema
from tests.exchange.rows import cdr, data_set, quarantined


def _rows(n: int, *, bad_every: int = 0) -> list[str]:
    """``n`` call records; every ``bad_every``-th has a duration that is no number."""
    return [
        cdr(f"r{i}", duration_s="soon" if bad_every and i % bad_every == 0 else str(i % 600))
        for i in range(1, n + 1)
    ]


def _stage_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("qalqan-stage")]


def test_staged_rows_are_the_accepted_rows_in_file_order_over_many_chunks(tmp_path: Path) -> None:
    data = data_set(tmp_path / "data", *_rows(1_000, bad_every=7))
    report = stage(data, tmp_path / "work", quarantine_dir=tmp_path / "q", chunk_rows=64)
    staged = pq.read_table(tmp_path / "work" / "cdrs.parquet")
    expected = DataSet.open(data).read_all("cdrs")
    assert staged.schema.equals(expected.schema)
    assert staged.equals(expected)
    assert staged.num_rows == 1_000 - 1_000 // 7 == report.tables["cdrs"].rows_accepted
    assert staged.column("record_id")[:7].to_pylist() == [f"r{i}" for i in range(1, 9) if i != 7]
    lines = [int(row["line"]) for row in quarantined(tmp_path / "q")]
    assert lines == [i + 1 for i in range(7, 1_001, 7)]  # line 1 is the header
    assert not _stage_threads()


@pytest.mark.parametrize("compression", [COMPRESSION, SCRATCH_COMPRESSION])
def test_staged_files_are_compressed_as_asked_and_hold_the_same_rows(
    tmp_path: Path, compression: str
) -> None:
    data = data_set(tmp_path / "data", *_rows(300, bad_every=11))
    stage(data, tmp_path / "work", quarantine_dir=tmp_path / "q", compression=compression)
    staged = pq.ParquetFile(tmp_path / "work" / "cdrs.parquet")
    codecs = {
        staged.metadata.row_group(g).column(c).compression
        for g in range(staged.metadata.num_row_groups)
        for c in range(staged.metadata.num_columns)
    }
    assert codecs == {compression.upper()}
    assert staged.read().equals(DataSet.open(data).read_all("cdrs"))


def test_a_table_without_accepted_rows_is_staged_empty_with_the_contracts_columns(
    tmp_path: Path,
) -> None:
    data = data_set(tmp_path / "data", *_rows(5, bad_every=1))
    stage(data, tmp_path / "work", quarantine_dir=tmp_path / "q")
    staged = pq.read_table(tmp_path / "work" / "cdrs.parquet")
    assert staged.num_rows == 0
    assert staged.schema.equals(canonical_schema(INPUT_TABLES["cdrs"]))


def test_only_columns_whose_values_repeat_are_dictionary_encoded(tmp_path: Path) -> None:
    data = data_set(tmp_path / "data", *_rows(200))
    stage(data, tmp_path / "work", quarantine_dir=tmp_path / "q")
    metadata = pq.ParquetFile(tmp_path / "work" / "cdrs.parquet").metadata
    group = metadata.row_group(0)
    encoded = {
        group.column(i).path_in_schema: group.column(i).has_dictionary_page
        for i in range(group.num_columns)
    }
    repeating = set(dictionary_columns(INPUT_TABLES["cdrs"]))
    assert {"event", "result", "ingress", "a_cell", "b_cell"} <= repeating
    assert {"record_id", "a_imsi", "duration_s", "start_time"}.isdisjoint(repeating)
    assert encoded == {name: name in repeating for name in encoded}


def test_only_times_numbers_and_repeating_values_have_statistics(tmp_path: Path) -> None:
    data = data_set(tmp_path / "data", *_rows(200))
    stage(data, tmp_path / "work", quarantine_dir=tmp_path / "q")
    group = pq.ParquetFile(tmp_path / "work" / "cdrs.parquet").metadata.row_group(0)
    with_statistics = {
        group.column(i).path_in_schema
        for i in range(group.num_columns)
        if group.column(i).is_stats_set
    }
    assert {"start_time", "duration_s", "event", "a_cell"} <= with_statistics
    assert with_statistics.isdisjoint({"record_id", "a_number", "a_imsi", "a_imei"})
    assert with_statistics == set(statistics_columns(INPUT_TABLES["cdrs"]))


def test_a_limit_reached_mid_file_stops_the_writing_thread_and_closes_the_files(
    tmp_path: Path,
) -> None:
    # about 4.5 MB: the CSV is parsed in blocks of 2 MiB, so the stop comes in a later block
    data = data_set(tmp_path / "data", *_rows(40_000, bad_every=3))
    limits = ReadLimits(max_rejected_rows=10_000)
    with pytest.raises(UnreadableFileError, match=r"more than 10,000 \(max_rejected_rows\)"):
        stage(data, tmp_path / "work", quarantine_dir=tmp_path / "q", limits=limits, chunk_rows=64)
    assert not _stage_threads()
    # the quarantine is closed and whole: every row rejected before the stop, line by line
    lines = [int(row["line"]) for row in quarantined(tmp_path / "q")]
    assert lines[:3] == [4, 7, 10]
    assert lines == list(range(4, lines[-1] + 1, 3))
    assert 10_000 < len(lines) < 40_000 // 3
    # what was written before the stop is a readable Parquet file of the accepted rows so far
    staged = pq.read_table(tmp_path / "work" / "cdrs.parquet").column("record_id").to_pylist()
    assert 0 < len(staged) < 40_000 * 2 // 3
    assert staged == [f"r{i}" for i in range(1, len(staged) * 3 // 2 + 1) if i % 3]


def test_a_failed_write_stops_staging_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = data_set(tmp_path / "data", *_rows(500))
    written: list[int] = []

    class FullDisk(pq.ParquetWriter):  # type: ignore[misc]
        def write_batch(self, batch: pa.RecordBatch, row_group_size: int | None = None) -> None:
            if len(written) == 2:  # the cells, then one chunk of call records
                raise OSError(28, "No space left on device")
            written.append(batch.num_rows)
            super().write_batch(batch, row_group_size)

        def close(self) -> None:
            super().close()
            if len(written) == 2:  # closing the file on the full disk fails too
                raise OSError(5, "Input/output error")

    monkeypatch.setattr(pq, "ParquetWriter", FullDisk)
    with pytest.raises(OSError, match="No space left on device"):
        stage(data, tmp_path / "work", quarantine_dir=tmp_path / "q", chunk_rows=64)
    assert written == [2, 64]
    assert not _stage_threads()
