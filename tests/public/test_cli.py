"""``qalqan serve-public``: the verdict in-process, the registry read, no access log, bad input refused."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from qalqan.cases import CaseStore, upgrade
from qalqan.cli.main import app
from qalqan.cli.public import uvicorn_config
from qalqan.public import PublicSettings, create_app
from tests.screening.conftest import RedisServer, _free_tcp_port


def _store(tmp_path: Path) -> str:
    url = str(tmp_path / "cases.db")
    upgrade(url)
    return url


def test_check_prints_the_verdict_with_the_registrys_owner(tmp_path: Path) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "number,owner,policy\n+77272707000,National Bank,inbound_only\n", encoding="utf-8"
    )
    result = CliRunner().invoke(
        app,
        ["serve-public", "--db", _store(tmp_path), "--registry", str(registry),
         "--check", "8 727 270 70 00"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["level"] == "danger" and verdict["owner"] == "National Bank"
    assert verdict["reasons"][0]["key"] == "public.registry.inbound_only"


def test_an_unmigrated_store_a_short_secret_and_a_bad_number_are_one_line_each(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    unmigrated = runner.invoke(
        app, ["serve-public", "--db", str(tmp_path / "no.db"), "--check", "+77011234567"]
    )
    assert unmigrated.exit_code == 2 and "error:" in unmigrated.output
    short = tmp_path / "secret"
    short.write_bytes(b"too short")
    refused = runner.invoke(
        app, ["serve-public", "--db", _store(tmp_path), "--secret-file", str(short), "--check", "1"]
    )
    assert refused.exit_code == 2 and "at least 32 bytes" in refused.output
    bad = runner.invoke(app, ["serve-public", "--db", _store(tmp_path), "--check", "call me"])
    assert bad.exit_code == 2 and "error:" in bad.output


def test_the_server_keeps_no_access_log(tmp_path: Path) -> None:
    store = CaseStore.open(_store(tmp_path))
    config = uvicorn_config(create_app(store=store, settings=PublicSettings()), "127.0.0.1", 8080)
    assert config.access_log is False
    store.close()


def test_public_reports_writes_the_exchange_reports_table(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from qalqan.cases.reports import NewReport, file_report
    from qalqan.domain.model import ReportCategory, ReportChannel
    from qalqan.exchange.reader import read_file

    url = _store(tmp_path)
    store = CaseStore.open(url)
    with store.transaction() as session:
        for k, callback in enumerate(["+77015550001", None, "+77015550003"]):
            report = NewReport(
                number="+77079998877",
                channel=ReportChannel.SMS,
                category=ReportCategory.POLICE,
                text=f"report {k}",
                occurred_at=datetime(2026, 12, 5, 10, k, tzinfo=UTC),
                reporter_key=f"r{k}",
                callback=callback,
            )
            file_report(session, report)
    store.close()
    result = CliRunner().invoke(
        app, ["public-reports", "--db", url, "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "2 reports written" in result.output
    table = read_file(tmp_path / "out" / "reports.csv", "reports").read_all()
    assert table.column("text").to_pylist() == ["report 0", "report 2"]
    assert table.column("reporter").to_pylist() == ["+77015550001", "+77015550003"]
    assert [t.minute for t in table.column("time").to_pylist()] == [0, 2]


def test_a_registry_row_that_cannot_be_read_refuses_the_file_naming_its_line(
    tmp_path: Path,
) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "number,owner,policy\n+77272707000,National Bank,inbound_only\n8727,Police,inbound_only\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app,
        ["serve-public", "--db", _store(tmp_path), "--registry", str(registry), "--check", "+77011234567"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert f"{registry}:3:" in result.output.replace("\n", "")


def test_redis_needs_a_shared_secret_and_must_answer_at_start(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    runner = CliRunner()
    db = _store(tmp_path)
    secret = tmp_path / "secret"
    secret.write_bytes(b"s" * 32)
    alone = runner.invoke(
        app, ["serve-public", "--db", db, "--redis", redis_server.url, "--check", "+77011234567"]
    )
    assert alone.exit_code == 2 and "--redis needs --secret-file" in alone.output
    nobody = f"redis://:hunter2@127.0.0.1:{_free_tcp_port()}/0"
    unreachable = runner.invoke(
        app,
        ["serve-public", "--db", db, "--secret-file", str(secret), "--check", "+77011234567"],
        env={"QALQAN_PUBLIC_REDIS": nobody},
    )
    assert unreachable.exit_code == 2 and "cannot be reached" in unreachable.output
    assert "hunter2" not in unreachable.output
    shared = runner.invoke(
        app,
        ["serve-public", "--db", db, "--secret-file", str(secret), "--redis", redis_server.url,
         "--check", "+77011234567"],
    )  # fmt: skip
    assert shared.exit_code == 0, shared.output
    assert json.loads(shared.output)["level"] == "unknown"
