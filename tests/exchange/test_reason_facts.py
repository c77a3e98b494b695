"""The ``reason_facts`` extension: both versions read and validate, a broken cell says where and why.

Version 1 (before weights were kept) has ``rule``, ``key`` and ``facts``;
version 2 adds ``weight``, and ``text`` for a reason without a key. A reader
tells them apart by ``weight`` alone (``docs/exchange-format.md``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.domain.messages import parse_reasons, reasons_cell
from qalqan.domain.model import Reason
from qalqan.errors import MissingTableError
from qalqan.exchange.reader import DataSet, read_file
from qalqan.exchange.schema import DECISIONS, SIMS

UNALLOCATED = Reason.said(
    "spoofed_cli.unallocated", 0.9, "spoofed_cli.unallocated", caller="+77999000111"
)
FREE = Reason(rule="operator.note", weight=0.1, detail="flagged by hand")
VERSION_1 = json.dumps(
    [{"rule": "spoofed_cli.unallocated", "key": "spoofed_cli.unallocated",
      "facts": {"caller": "+77999000111"}}]
)  # fmt: skip


def _decisions(folder: Path, cells: list[str | None], *, column: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "decisions.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DECISIONS.names if column else DECISIONS.names[:-1])
        for i, cell in enumerate(cells):
            row = [f"r{i}", "block", "0.9", "said" if cell else "", "10.5"]
            writer.writerow([*row, cell or ""] if column else row)
    return path


def _read_cells(path: Path, tmp_path: Path) -> tuple[list[str | None], int]:
    with read_file(path, DECISIONS, quarantine=tmp_path / "q") as reader:
        table = reader.read_all()
        emptied = reader.report.cells_emptied.total()
    cells = table.column("reason_facts").to_pylist() if "reason_facts" in table.column_names else []
    return cells, emptied


def test_both_versions_read_and_validate_clean(tmp_path: Path) -> None:
    written = reasons_cell([UNALLOCATED, FREE])
    path = _decisions(tmp_path, [written, VERSION_1, None])
    cells, emptied = _read_cells(path, tmp_path)
    assert emptied == 0
    assert parse_reasons(cells[0]) == [UNALLOCATED, FREE]
    [old] = parse_reasons(cells[1])
    assert (old.rule, old.detail, old.weight) == (UNALLOCATED.rule, UNALLOCATED.detail, 0.0)
    assert cells[2] is None


def test_a_file_without_the_column_still_reads(tmp_path: Path) -> None:
    path = _decisions(tmp_path, [VERSION_1, None], column=False)
    with read_file(path, DECISIONS, quarantine=tmp_path / "q") as reader:
        table = reader.read_all()
        assert reader.report.rows_rejected == 0
    assert table.column("reason_facts").to_pylist() == [None, None]


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ('[{"rule":"x","key":"spoofed_cli.unallocated","facts":{}}]', "facts lack 'caller'"),
        ('[{"rule":"x","key":"no.such","facts":{},"weight":1}]', "not in the message catalog"),
        ('[{"rule":"x","key":"","facts":{},"weight":1}]', "needs its words"),
        ('[{"rule":"x","key":"","facts":{},"weight":"high","text":"t"}]', "finite number"),
        ('{"rule":"x"}', "not an array"),
        ("[{", "not JSON"),
    ],
)
def test_a_broken_cell_is_left_empty_with_its_line_and_reason(
    tmp_path: Path, cell: str, says: str
) -> None:
    path = _decisions(tmp_path, [VERSION_1, cell])
    cells, emptied = _read_cells(path, tmp_path)
    assert emptied == 1 and cells[1] is None and cells[0] == VERSION_1  # the row is kept
    with read_file(path, DECISIONS, quarantine=tmp_path / "q2") as reader:
        reader.read_all()
        [warning] = reader.report.warning_examples
    assert warning.line == 3 and says in warning.reason


def test_qalqan_validate_checks_a_folder_of_outputs(tmp_path: Path) -> None:
    good = reasons_cell([UNALLOCATED])
    _decisions(tmp_path, [good, VERSION_1, '[{"rule":"x","key":"no.such","facts":{}}]'])
    with (tmp_path / "sims.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SIMS.names)
        writer.writerow(["250010000000001", "+77010000001", "0.9", "simbox", "", "said", good])
    result = CliRunner().invoke(app, ["validate", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert (
        "decisions.csv:4: reason_facts item 0: reason 'x': key 'no.such' is not in the message "
        "catalog"
    ) in " ".join(result.output.split())
    report = DataSet.open(tmp_path).validate(quarantine_dir=tmp_path / "q")
    assert set(report.tables) == {"sims", "decisions"} and not report.absent
    assert report.tables["sims"].cells_emptied.total() == 0


def test_a_folder_with_neither_operator_tables_nor_outputs_still_needs_cdrs(
    tmp_path: Path,
) -> None:
    (tmp_path / "notes.csv").write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(MissingTableError):
        DataSet.open(tmp_path)
