"""Staging: the accepted rows as Parquet, written in a thread while the next chunk is checked.

Whatever the writing thread does, the staged file holds exactly the rows the
reader accepts, in file order, with the contract's types; the rejected rows
are in the quarantine with their lines; and a table that stops reading (a
limit, a broken write) stops the thread and closes its files.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qalqan.analytics import staging
from qalqan.analytics.staging import (
    BESIDE,
    COMPRESSION,
    SCRATCH_COMPRESSION,
    dictionary_columns,
    scratch_compression,
    stage,
    statistics_columns,
)
from qalqan.errors import MissingColumnError, UnreadableFileError
from qalqan.exchange.limits import ReadLimits
from qalqan.exchange.reader import DataSet
from qalqan.exchange.report import TableReport
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


def _money(directory: Path, payments: int) -> None:
    """``payments.csv`` with ``payments`` transfers (every 9th of no amount) and their accounts."""
    lines = ["payment_id,time,payer,payee,amount,currency,channel"]
    for i in range(payments):
        amount = "lots" if i % 9 == 4 else str(500 + i)
        lines.append(
            f"p{i},2026-03-02T00:{i // 60 % 60:02d}:{i % 60:02d}Z,bank:KZ{i:018d},"
            f"msisdn:+7708{i % 1000:07d},{amount},KZT,sim_topup"
        )
    (directory / "payments.csv").write_text("\n".join(lines) + "\n")
    accounts = ["account,holder_msisdn,bank,kind,opened"]
    accounts += [f"bank:KZ{i:018d},+7707{i:07d},Kaspi Bank,card,2023-04-21" for i in range(50)]
    accounts.append("broken,+7707,Kaspi Bank,card,yesterday")
    (directory / "accounts.csv").write_text("\n".join(accounts) + "\n")


def _staged_alike(one: Path, other: Path) -> None:
    for name in ("cdrs", "payments", "accounts"):
        assert pq.read_table(one / f"{name}.parquet").equals(
            pq.read_table(other / f"{name}.parquet")
        )


def _recording_tables_staged_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the tables this process stages from now on, in order."""
    staged_here: list[str] = []
    stage_table = staging._stage_table

    def recorded(dataset: DataSet, name: str, *args: Any) -> TableReport:
        staged_here.append(name)
        return stage_table(dataset, name, *args)

    monkeypatch.setattr(staging, "_stage_table", recorded)
    return staged_here


@pytest.mark.parametrize("process", ["runs", "fails", "cannot start"])
def test_tables_staged_beside_in_a_process_give_the_same_files_quarantine_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, process: str
) -> None:
    """The payments and accounts staged in a process of their own (``beside_min_bytes=0``)
    while the call records are staged here: the same files, quarantined rows and report as
    staging them here; and when that process fails, they are staged here after all, with
    nothing lost (it exits with an error, or cannot start)."""
    data = data_set(tmp_path / "data", *_rows(300, bad_every=11))
    _money(data, 2_000)
    here = stage(data, tmp_path / "here", quarantine_dir=tmp_path / "q-here")
    if process != "runs":
        program = "/bin/false" if process == "fails" else str(tmp_path / "no-such-python")
        monkeypatch.setattr("qalqan.analytics.staging.sys.executable", program)
    staged_here = _recording_tables_staged_here(monkeypatch)
    beside = stage(
        data, tmp_path / "beside", quarantine_dir=tmp_path / "q-beside", beside_min_bytes=0
    )
    _staged_alike(tmp_path / "here", tmp_path / "beside")
    assert list(beside.tables) == list(here.tables) == [n for n in INPUT_TABLES if n in here.tables]
    for name, report in here.tables.items():
        other = beside.tables[name]
        assert (other.rows_read, other.rows_accepted, other.rows_rejected) == (
            report.rows_read,
            report.rows_accepted,
            report.rows_rejected,
        )
        assert other.reasons == report.reasons
        assert [(e.line, e.reason) for e in other.errors] == [
            (e.line, e.reason) for e in report.errors
        ]
    assert here.tables["payments"].rows_rejected == len(range(4, 2_000, 9)) == 222
    assert here.tables["accounts"].rows_rejected == 1
    for table in ("cdrs", "payments", "accounts"):
        assert quarantined(tmp_path / "q-beside", table) == quarantined(tmp_path / "q-here", table)
    assert beside.absent == here.absent
    by_process = set(BESIDE).isdisjoint(staged_here)
    assert by_process == (process == "runs")
    assert "cdrs" in staged_here
    assert sorted(p.name for p in (tmp_path / "beside").iterdir()) == sorted(
        p.name for p in (tmp_path / "here").iterdir()
    )


def test_the_tables_staged_beside_neither_refer_to_a_table_nor_are_referred_to() -> None:
    """What the process beside stages needs no other table's keys, and no table read here
    waits for its keys: the split stays right as the contract grows."""
    referred = {c.references[0] for t in INPUT_TABLES.values() for c in t.columns if c.references}
    assert referred.isdisjoint(BESIDE)
    for name in BESIDE:
        assert all(c.references is None for c in INPUT_TABLES[name].columns), name
    assert "cdrs" not in BESIDE


def test_a_run_that_keeps_nothing_stages_small_plain_call_records_uncompressed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain CSV call records under the bound are staged without compression (they stay in
    the page cache, where LZ4 only costs CPU); larger ones, and inputs whose staged size their
    bytes do not tell (gzip, Parquet), keep LZ4."""
    data = data_set(tmp_path / "data", *_rows(200))
    assert scratch_compression(data) == "none"
    stage(data, tmp_path / "work", quarantine_dir=tmp_path / "q", compression="none")
    staged = pq.ParquetFile(tmp_path / "work" / "cdrs.parquet")
    assert staged.metadata.row_group(0).column(0).compression == "UNCOMPRESSED"
    assert staged.read().equals(DataSet.open(data).read_all("cdrs"))
    size = (data / "cdrs.csv").stat().st_size
    monkeypatch.setattr(staging, "UNCOMPRESSED_BELOW", size)
    assert scratch_compression(data) == SCRATCH_COMPRESSION
    monkeypatch.setattr(staging, "UNCOMPRESSED_BELOW", size + 1)
    assert scratch_compression(data) == "none"
    parted = tmp_path / "parted"
    (parted / "cdrs").mkdir(parents=True)
    (data / "cdrs.csv").rename(parted / "cdrs" / "2026-03-02.csv")
    assert scratch_compression(parted) == "none"
    (parted / "cdrs" / "2026-03-03.csv.gz").write_bytes(b"")
    assert scratch_compression(parted) == SCRATCH_COMPRESSION
    assert scratch_compression(tmp_path / "no-such-folder") == SCRATCH_COMPRESSION


@pytest.mark.parametrize("problem", ["a limit", "a missing column"])
def test_a_table_the_process_beside_cannot_read_raises_its_error_here_and_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    """A hostile payments file (too many bad rows, or no amount column) stops the process
    beside with the error staging it here gives, handed back whole: the main process does
    not read that file a second time."""
    data = data_set(tmp_path / "data", *_rows(50))
    _money(data, 2_000)
    limits = None
    if problem == "a limit":
        limits = ReadLimits(max_rejected_rows=100)  # 222 payments have no amount
    else:
        lines = (data / "payments.csv").read_text().splitlines()
        (data / "payments.csv").write_text(
            "\n".join(line.rsplit(",", 3)[0] for line in lines) + "\n"
        )
    error = MissingColumnError if problem == "a missing column" else UnreadableFileError
    with pytest.raises(error) as here:
        stage(data, tmp_path / "here", quarantine_dir=tmp_path / "q-here", limits=limits)
    staged_here = _recording_tables_staged_here(monkeypatch)
    with pytest.raises(error) as beside:
        stage(
            data,
            tmp_path / "beside",
            quarantine_dir=tmp_path / "q-beside",
            limits=limits,
            beside_min_bytes=0,
        )
    assert str(beside.value) == str(here.value).replace("q-here", "q-beside")
    assert "payments" in str(beside.value)
    assert staged_here == ["cells", "cdrs"]
