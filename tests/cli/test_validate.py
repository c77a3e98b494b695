"""``qalqan validate``: what the operator sees, and the exit codes scripts rely on."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from qalqan.cli.main import app
from tests.exchange.rows import CDR_HEADER, CELLS, cdr, cdrs_text, data_set, write

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["validate", *args], env={"COLUMNS": "160"})
    return result.exit_code, result.stdout, result.stderr


def table_row(out: str, table: str) -> list[str]:
    """The cells of one row of the printed table."""
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] == table:
            return cells
    raise AssertionError(f"no row for {table} in:\n{out}")


def test_valid_data_set_exits_0_with_a_table_per_table(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"), cdr("r2"))
    code, out, _ = run(str(tmp_path))
    assert code == 0
    assert "cdrs.csv" in out and "cells.csv" in out
    assert table_row(out, "cdrs") == ["cdrs", "cdrs.csv", "2", "2", "0", "valid"]
    assert table_row(out, "cells") == ["cells", "cells.csv", "2", "2", "0", "valid"]
    assert table_row(out, "payments") == ["payments", "absent", "", "", "", "optional"]
    assert "4 rows read, 4 accepted, 0 rejected" in out
    assert not (tmp_path / "quarantine" / "cdrs.csv").exists()


def test_rejected_rows_exit_1_and_show_where_and_why(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"), cdr("r2", start_time="2026-13-01T00:00:00Z"), cdr("r1"))
    code, out, _ = run(str(tmp_path), "--quarantine", str(tmp_path / "q"))
    assert code == 1
    assert (
        "cdrs.csv:3: start_time '2026-13-01T00:00:00Z' is not a UTC time "
        "(ISO 8601 with Z, e.g. 2026-03-02T07:15:02Z)"
    ) in out
    assert "cdrs.csv:4: record_id 'r1' repeats line 2" in out
    assert "1  record_id repeats an earlier row" in out
    assert table_row(out, "cdrs") == ["cdrs", "cdrs.csv", "3", "1", "2", "rows rejected"]
    assert "rejected rows are in" in out
    assert (tmp_path / "q" / "cdrs.csv").read_text().count("\n") == 3


def test_missing_required_column_exits_2_with_one_red_line(tmp_path: Path) -> None:
    write(tmp_path, "cdrs.csv", cdrs_text("r1", header="record_id"))
    code, _, err = run(str(tmp_path))
    assert code == 2
    assert "table 'cdrs' lacks required columns start_time, duration_s" in err
    assert "Traceback" not in err


def test_missing_required_table_exits_2(tmp_path: Path) -> None:
    write(tmp_path, "cells.csv", CELLS)
    code, out, err = run(str(tmp_path))
    assert code == 2
    assert err.strip().startswith("error:")
    assert "required table 'cdrs' is missing" in err
    assert len(err.strip().splitlines()) <= 2  # one line, maybe wrapped by the terminal
    assert out == ""


def test_no_such_folder_exits_2(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path / "nowhere"))
    assert code == 2
    assert "there is no such folder" in err


def test_damaged_gzip_exits_1_and_names_the_cut(tmp_path: Path) -> None:
    import gzip

    packed = gzip.compress(cdrs_text(*(cdr(f"r{i}") for i in range(300))).encode())
    write(tmp_path, "cells.csv", CELLS)
    (tmp_path / "cdrs.csv.gz").write_bytes(packed[: len(packed) // 2])
    code, out, _ = run(str(tmp_path))
    assert code == 1
    assert "gzip stream ends early: file is truncated after line" in out
    assert table_row(out, "cdrs")[-1] == "damaged"


def test_quiet_prints_the_summary_only(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1", event="fax"))
    code, out, err = run(str(tmp_path), "--quiet", "--chunk-rows", "10")
    assert code == 1
    assert out.strip().startswith("3 rows read, 2 accepted, 1 rejected")
    assert "┃" not in out
    assert err == ""


def test_header_only_file_is_valid(tmp_path: Path) -> None:
    write(tmp_path, "cdrs.csv", CDR_HEADER + "\n")
    code, out, _ = run(str(tmp_path), "-q")
    assert code == 0
    assert "0 rows read" in out


def test_optional_cells_left_empty_are_warnings_and_exit_0(tmp_path: Path) -> None:
    data_set(tmp_path, cdr("r1"))
    write(
        tmp_path,
        "subscribers.csv",
        "imsi,msisdn,activated,plan,birth_year\n"
        "401010000000001,+77010000001,2024-05-01,prepaid,1989.0\n"
        "401010000000002,+77010000002,2024-05-01,prepaid,1989.5\n",
    )
    code, out, _ = run(str(tmp_path))
    assert code == 0
    assert table_row(out, "subscribers") == [
        "subscribers",
        "subscribers.csv",
        "2",
        "2",
        "0",
        "valid, cells left empty",
    ]
    assert "optional cells left empty, rows kept: birth_year 1" in out
    assert "1  birth_year is not a whole number" in out
    assert (
        "subscribers.csv:3: birth_year '1989.5' is not a whole number (left empty; the row is kept)"
    ) in out
    assert "0 rejected, 1 optional cells left empty for a bad value" in out
    assert not (tmp_path / "quarantine" / "subscribers.csv").exists()
