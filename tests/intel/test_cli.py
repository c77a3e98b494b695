"""``qalqan intel export`` and ``qalqan intel import`` from the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.intel.analysis import feed_of_analysis
from qalqan.intel.model import SCREENING_KINDS
from qalqan.intel.sharing import import_feed
from qalqan.screening.reputation import ReputationLists
from tests.intel.test_hostile import GOOD_IMEI, _bundle, _indicator
from tests.intel.test_push import KEY, _FakeMisp, misp_server

__all__ = ["misp_server"]  # the fixture, shared with test_push

FORMATS = ("misp", "stix")


@pytest.mark.parametrize("format", FORMATS)
def test_the_command_line_round_trip_lists_what_screening_uses(
    analysis: Path, tmp_path: Path, format: str
) -> None:
    runner = CliRunner()
    out = tmp_path / f"feed.{format}.json"
    exported = runner.invoke(
        app,
        ["intel", "export", "--analysis", str(analysis), "--format", format, "--out", str(out),
         "--source", "Operator A"],
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    listed, others = tmp_path / "partner.csv", tmp_path / "others.csv"
    imported = runner.invoke(
        app,
        ["intel", "import", str(out), "--into", str(listed), "--others", str(others),
         "--confidence", "70", "--expires", "30"],
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    lists = ReputationLists()
    lists.load_csv(listed)
    feed = feed_of_analysis(analysis, source="Operator A")
    expected = {
        (i.kind, i.value.rstrip("x") if i.kind == "number_range" else i.value)
        for i in feed.indicators
        if i.kind in SCREENING_KINDS
    }
    tables = (lists.numbers, lists.ranges, lists.imsis, lists.imeis, lists.cells)
    listed_values = {(x.kind, x.value) for table in tables for x in table.values()}
    assert listed_values == expected
    assert {x.source for table in tables for x in table.values()} == {"Operator A"}
    assert {x.weight for table in tables for x in table.values()} == {0.7}
    with others.open(newline="", encoding="utf-8") as handle:
        rest = {(row["kind"], row["value"]) for row in csv.DictReader(handle)}
    assert rest == {(i.kind, i.value) for i in feed.indicators if i.kind not in SCREENING_KINDS}


def test_the_command_line_refuses_with_one_line_and_leaves_the_list_alone(tmp_path: Path) -> None:
    listed = tmp_path / "list.csv"
    listed.write_text("kind,value,source,reason\nimsi,401770004272713,own,found here\n")
    before = listed.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_bundle(_indicator("[imei:value = '353325102069411']"))))
    result = CliRunner().invoke(app, ["intel", "import", str(bad), "--into", str(listed)])
    assert result.exit_code == 2
    assert "bad.json: object indicator--" in result.output and "Luhn" in result.output
    assert "Traceback" not in result.output
    assert listed.read_bytes() == before


def test_import_options_out_of_range_are_refused(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_bundle(_indicator(f"[imei:value = '{GOOD_IMEI}']"))))
    with pytest.raises(ValueError, match="confidence 150"):
        import_feed(good, into=tmp_path / "l.csv", confidence=150)
    with pytest.raises(ValueError, match="expiry of -1 days"):
        import_feed(good, into=tmp_path / "l.csv", expires_days=-1)
    result = CliRunner().invoke(
        app,
        ["intel", "import", str(good), "--into", str(tmp_path / "l.csv"), "--confidence", "150"],
    )
    assert result.exit_code == 2 and "confidence 150" in result.output


def test_the_command_line_pushes_and_never_prints_the_key(
    analysis: Path,
    tmp_path: Path,
    misp_server: tuple[str, type[_FakeMisp]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, handler = misp_server
    monkeypatch.setenv("PARTNER_MISP_KEY", KEY)
    result = CliRunner().invoke(
        app,
        ["intel", "export", "--analysis", str(analysis), "--format", "misp",
         "--out", str(tmp_path / "event.json"), "--push", url, "--key-env", "PARTNER_MISP_KEY",
         "--allow-http"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "HTTP 200, event 42" in result.output and KEY not in result.output
    (request,) = handler.received
    assert request["headers"]["Authorization"] == KEY
    monkeypatch.delenv("PARTNER_MISP_KEY")
    missing = CliRunner().invoke(
        app,
        ["intel", "export", "--analysis", str(analysis), "--format", "misp",
         "--out", str(tmp_path / "event.json"), "--push", url, "--key-env", "PARTNER_MISP_KEY"],
    )  # fmt: skip
    assert missing.exit_code == 2 and "PARTNER_MISP_KEY is empty" in missing.output
