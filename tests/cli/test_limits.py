"""The read limits on every command that reads a data set: past one, exit code 2 naming it."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qalqan.analytics.staging import stage
from qalqan.cli.main import app
from qalqan.errors import UnreadableFileError
from qalqan.exchange.limits import ReadLimits
from tests.exchange.rows import cdr, data_set

runner = CliRunner()


def replay(data: Path, out: Path, *options: str) -> tuple[int, str]:
    args = ["replay", str(data), "--out", str(out), "-q", "--analyze-every", "off", *options]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    return result.exit_code, result.stderr


def bad_rows(directory: Path) -> Path:
    """Ten rows with a duration that is no number, between two good ones."""
    rows = [cdr(f"x{i}", duration_s="soon") for i in range(10)]
    return data_set(directory, cdr("r1"), *rows, cdr("r2"))


def test_replay_stops_past_its_limit_of_rejected_rows(tmp_path: Path) -> None:
    data = bad_rows(tmp_path / "data")
    code, err = replay(data, tmp_path / "decisions.csv", "--max-rejected-rows", "3")
    assert code == 2
    assert f"{data / 'cdrs.csv'}: cannot be read: reading stopped at line 12" in err
    assert "10 rows rejected, more than 3 (max_rejected_rows)" in err


def test_replay_under_the_limit_quarantines_and_exits_1(tmp_path: Path) -> None:
    data = bad_rows(tmp_path / "data")
    code, err = replay(data, tmp_path / "decisions.csv", "--max-rejected-rows", "10")
    assert code == 1, err


def test_analysis_staging_stops_at_the_limits(tmp_path: Path) -> None:
    data = bad_rows(tmp_path / "data")
    limits = ReadLimits(max_rejected_rows=3)
    with pytest.raises(UnreadableFileError, match=r"more than 3 \(max_rejected_rows\)"):
        stage(data, tmp_path / "work", quarantine_dir=tmp_path / "q", limits=limits)


def test_analyze_offers_the_limits(tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", "--help"], env={"COLUMNS": "200"})
    for option in (
        "--max-rejected-rows",
        "--max-quarantine-bytes",
        "--max-line-bytes",
        "--max-gzip-ratio",
        "--max-gzip-bytes",
    ):
        assert option in result.stdout


def test_every_limit_is_documented_with_its_option_and_default() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "exchange-format.md").read_text()
    defaults = ReadLimits()
    for field in fields(ReadLimits):
        option = "--" + field.name.replace("_", "-")
        row = re.search(rf"^  \| `{field.name}` \| `{option}` \| (\d+) \|", docs, re.MULTILINE)
        assert row, f"{field.name} is not in the limits table of docs/exchange-format.md"
        assert int(row.group(1)) == getattr(defaults, field.name), field.name
        help_text = runner.invoke(app, ["validate", "--help"], env={"COLUMNS": "200"}).stdout
        assert option in help_text
