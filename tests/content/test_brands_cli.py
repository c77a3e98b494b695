"""``qalqan brands check-text|check-domain`` from the command line: verdicts, reasons, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from qalqan.cli.main import app

runner = CliRunner()


def test_check_text_says_impersonation_with_the_phrases_in_the_operators_language() -> None:
    result = runner.invoke(
        app, ["brands", "check-text", "КазМунайГаз: инвестируйте и получайте доход", "--lang", "kk"]
    )
    assert result.exit_code == 0, result.output
    assert "impersonation" in result.output
    assert "KazMunayGas аталады: «КазМунайГаз»" in result.output
    assert "«инвестируйте»" in result.output


def test_check_text_reads_a_file_and_prints_json(tmp_path: Path) -> None:
    ad = tmp_path / "ad.txt"
    ad.write_text("K a s p i: компенсация 50 000 ₸, подтвердите данные карты", encoding="utf-8")
    result = runner.invoke(app, ["brands", "check-text", "--file", str(ad), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["impersonation"] is True and data["brands"] == ["kaspi"]
    assert data["mentions"][0]["disguised"] is True
    assert {r["key"] for r in data["reasons"]} >= {
        "content.brand.disguised",
        "content.brand.lure_payment",
    }


def test_check_domain_exits_one_on_a_lookalike_and_zero_on_own_addresses(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["brands", "check-domain", "kaspl.kz", "online.halykbank.kz", "--lang", "en"]
    )
    assert result.exit_code == 1, result.output
    assert "kaspl.kz: lookalike of Kaspi Bank (homoglyph; score 0.95)" in result.output
    assert "online.halykbank.kz: own address of Halyk Bank" in result.output
    clean = runner.invoke(app, ["brands", "check-domain", "google.com", "kaspi.kz"])
    assert clean.exit_code == 0, clean.output


def test_check_domain_reads_a_list_and_reports_bad_lines_without_stopping(tmp_path: Path) -> None:
    listed = tmp_path / "domains.txt"
    listed.write_text("# seen in ads\nkaspi-bonus.com\nhal yk.kz\n\ngoogle.com\n", encoding="utf-8")
    result = runner.invoke(app, ["brands", "check-domain", "--from", str(listed), "--json"])
    assert result.exit_code == 1, result.output
    rows = json.loads(result.output)
    assert [row["domain"] for row in rows] == ["kaspi-bonus.com", "hal yk.kz", "google.com"]
    assert rows[0]["lookalike"] is True and rows[0]["kinds"] == ["added-words"]
    assert "characters a name cannot" in rows[1]["error"]
    assert rows[2]["lookalike"] is False


def test_unusable_input_is_one_line_and_exit_two(tmp_path: Path) -> None:
    bad = tmp_path / "brands.yaml"
    bad.write_text("brands: [", encoding="utf-8")
    for args in (
        ["brands", "check-text", "x", "--brands", str(bad)],
        ["brands", "check-text"],
        ["brands", "check-domain"],
        ["brands", "check-text", "x" * 50_001],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args[:3], result.output)
        assert "error:" in result.output and "Traceback" not in result.output
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * ((1 << 20) + 1))
    result = runner.invoke(app, ["brands", "check-domain", "--from", str(big)])
    assert result.exit_code == 2 and "larger than" in result.output


def test_check_text_also_judges_the_addresses_written_in_it() -> None:
    text = "Kaspi: бонус 50 000 ₸ на kaspi-bonus.com/get, подробнее на kaspi.kz или google.com"
    result = runner.invoke(app, ["brands", "check-text", text, "--json"])
    assert result.exit_code == 0, result.output
    links = {link["domain"]: link for link in json.loads(result.output)["links"]}
    assert set(links) == {"kaspi-bonus.com/get", "kaspi.kz"}
    assert links["kaspi-bonus.com/get"]["lookalike"] is True and links["kaspi.kz"]["own"] is True


def test_lint_lists_every_mistake_of_a_brands_file_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "ours.yaml"
    bad.write_text("brands:\n  - id: Bad Id\n    name: x\n    kind: bank\n    names: []\n"
                   "    domains: [x.kz]\n", encoding="utf-8")  # fmt: skip
    result = runner.invoke(app, ["brands", "lint", str(bad)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{bad}:2: ") for line in lines)
    good = tmp_path / "good.yaml"
    good.write_text("drop: [nazarbayev]\n", encoding="utf-8")
    result = runner.invoke(app, ["brands", "lint", str(good)])
    assert result.exit_code == 0 and "ok;" in result.output
