"""``qalqan content classify``: a text or a CSV file's column; the cached model; the bounds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.content.schemes import (
    MAX_TEXT_CHARS,
    SchemeClassifier,
    TextInputError,
    cached_classifier,
)
from qalqan.content.text_file import read_texts
from qalqan.content.texts import generate_texts

runner = CliRunner()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder whose classifier is trained once for the module."""
    folder = tmp_path_factory.mktemp("models")
    cached_classifier(folder)
    return folder


def run(models: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app, ["content", "classify", *args], env={"QALQAN_MODEL_DIR": str(models), "COLUMNS": "200"}
    )
    return result.exit_code, result.stdout, result.stderr


def test_a_text_prints_its_scheme_score_and_phrases(models: Path) -> None:
    code, out, _ = run(models, "Здравствуйте, служба безопасности банка, назовите код из СМС")
    assert code == 0
    assert out.startswith("bank_security (fake bank security service) score 0.")
    assert 'the words "' in out
    assert out.count(" point to bank_security") >= 1


def test_the_reasons_are_in_the_operators_language(models: Path) -> None:
    code, out, _ = run(
        models, "--lang", "kk", "Сіздің атыңызға қылмыстық іс қозғалды, тергеуші хабарласады"
    )
    assert code == 0
    assert "сөздері police схемасын көрсетеді" in out
    code, _, err = run(models, "--lang", "de", "hallo")
    assert code == 2 and "--lang de: not one of ru, kk, en" in err


def test_a_file_prints_each_row_as_json(models: Path, tmp_path: Path) -> None:
    data = tmp_path / "reports.csv"
    data.write_text(
        'id,text\nr1,"Мам, я задержусь, ужинайте без меня"\nr2,"Вы выиграли автомобиль, оплатите налог"\n',
        encoding="utf-8",
    )
    code, out, _ = run(
        models, "--file", str(data), "--column", "text", "--id-column", "id", "--json"
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["r1", "r2"]
    assert rows[0]["scheme"] == "legitimate" and rows[1]["scheme"] == "prize_refund"
    texts = ["Мам, я задержусь, ужинайте без меня", "Вы выиграли автомобиль, оплатите налог"]
    for row, text in zip(rows, texts, strict=True):
        assert all(text[p["start"] : p["end"]] == p["text"] for p in row["phrases"])
        assert row["reasons"][0]["key"] == "content.scheme"
        assert [r["facts"]["phrase"] for r in row["reasons"][1:]] == [
            p["text"] for p in row["phrases"]
        ]


def test_a_long_text_is_cut_with_a_note(models: Path) -> None:
    code, out, _ = run(models, "код из СМС " * 2000)
    assert code == 0
    assert f"note: judged on the first {MAX_TEXT_CHARS} of 22000 characters" in out


def test_a_file_with_too_many_rows_is_refused(models: Path, tmp_path: Path) -> None:
    data = tmp_path / "many.csv"
    data.write_text("text\n" + "привет\n" * 11, encoding="utf-8")
    code, out, err = run(models, "--file", str(data), "--max-rows", "10")
    assert code == 2 and out == ""
    assert f"{data}:12: more than 10 rows: split the file" in err


def test_a_binary_file_is_refused_with_its_line(models: Path, tmp_path: Path) -> None:
    data = tmp_path / "binary.csv"
    data.write_bytes(b"text\nhello\n\xff\xfe\x00\x81garbage\n")
    code, _, err = run(models, "--file", str(data))
    assert code == 2
    assert f"{data}:3: not UTF-8 text (byte 11)" in err


def test_a_missing_column_names_the_columns(models: Path, tmp_path: Path) -> None:
    data = tmp_path / "other.csv"
    data.write_text("body\nhello\n", encoding="utf-8")
    code, _, err = run(models, "--file", str(data), "--column", "text")
    assert code == 2
    assert "no column 'text' (columns: body)" in err


def test_a_text_and_a_file_together_are_refused(models: Path, tmp_path: Path) -> None:
    code, _, err = run(models, "hello", "--file", str(tmp_path / "x.csv"))
    assert code == 2 and "either a TEXT or --file" in err


def test_the_cached_model_is_loaded_not_retrained(models: Path) -> None:
    (cached,) = models.glob("qalqan-schemes-*.pkl")
    before = cached.stat().st_mtime_ns
    assert isinstance(cached_classifier(models), SchemeClassifier)
    assert cached.stat().st_mtime_ns == before


def test_a_damaged_cache_is_trained_again(tmp_path: Path, models: Path) -> None:
    (cached,) = models.glob("qalqan-schemes-*.pkl")
    damaged = tmp_path / cached.name
    damaged.write_bytes(b"not a pickle")
    classifier = cached_classifier(tmp_path)
    assert classifier.classify("Мам, я дома").scheme == "legitimate"
    assert damaged.stat().st_size > 1000


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60), max_size=20)
)
def test_a_written_csv_reads_back_row_for_row(tmp_path: Path, texts: list[str]) -> None:
    data = tmp_path / "round.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows([t] for t in texts)
    assert [r.text for r in read_texts(data, column="text")] == texts


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_any_bytes_are_rows_or_one_clear_refusal(tmp_path: Path, raw: bytes) -> None:
    data = tmp_path / "any.csv"
    data.write_bytes(b"text\n" + raw)
    try:
        rows = read_texts(data, column="text")
    except TextInputError as exc:
        assert str(exc).startswith(f"{data}:")
    else:
        assert all(isinstance(r.text, str) and r.line >= 2 for r in rows)


def test_a_file_of_reports_is_grouped_by_script(models: Path, tmp_path: Path) -> None:
    chosen = [
        t
        for t in generate_texts(seed=8, per_template=3)
        if t.template in {"police/ru/0", "delivery/en/1"}
    ]
    data = tmp_path / "reports.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["report_id", "text"])
        writer.writerows([f"R{i}", t.text] for i, t in enumerate(chosen))
        writer.writerow(["R9", "Мам, я дома"])
    args = ["content", "clusters", str(data), "--id-column", "report_id", "--json"]
    result = runner.invoke(app, args, env={"QALQAN_MODEL_DIR": str(models)})
    assert result.exit_code == 0, result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(c["cluster_id"], len(c["ids"])) for c in found] == [
        ("T00001", 3),
        ("T00002", 3),
        ("T00003", 1),
    ]
    assert {c["scheme"] for c in found[:2]} == {"police", "delivery"}
    assert {c["report_category"] for c in found[:2]} == {"police", "other"}
    assert found[2]["ids"] == ["R9"] and found[2]["report_category"] is None
