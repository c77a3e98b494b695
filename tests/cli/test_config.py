"""``qalqan config show``: every effective setting, where it came from, secrets as stars."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qalqan import config
from qalqan.cli.main import app
from qalqan.screening.farm_watch import FarmWatchSettings

runner = CliRunner()
TOKEN = "correct-horse-battery-staple"


def show(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    # every QALQAN_* variable of the registry unset, so that the machine's own do not leak in
    unset: dict[str, str | None] = {name: None for name in config.every_variable()}
    result = runner.invoke(
        app, ["config", "show", *args], env={**unset, "COLUMNS": "200", **(env or {})}
    )
    return result.exit_code, result.stdout, result.stderr


def by_setting(out: str) -> dict[str, dict[str, str]]:
    return {row["setting"]: row for row in json.loads(out)["settings"]}


def test_every_setting_is_shown_with_its_value_and_where_it_came_from(tmp_path: Path) -> None:
    file = tmp_path / "qalqan.toml"
    file.write_text(
        f"[http]\nport = 9090\napi_token = '{TOKEN}'\n\n[workflow]\nclaim_ttl = '20m'\n",
        encoding="utf-8",
    )
    code, out, _ = show("--file", str(file), "--json", env={"QALQAN_SIP_UDP_PORT": "off"})
    assert code == 0
    rows = by_setting(out)
    every = {f"{p.section}.{f.name}" for p in config.parts() for f in p.settings_fields()}
    assert set(rows) == every
    assert rows["http.port"] == {
        "setting": "http.port",
        "variable": "QALQAN_HTTP_PORT",
        "value": "9090",
        "from": "file",
        "where": f"{file}:2",
    }
    assert rows["workflow.claim_ttl"]["value"] == "20m"
    assert rows["sip.udp_port"]["value"] == "(none)"
    assert rows["sip.udp_port"]["where"] == "QALQAN_SIP_UDP_PORT"
    assert rows["http.host"]["from"] == "default" and rows["http.host"]["value"] == "127.0.0.1"
    assert TOKEN not in out and "*****" in rows["http.api_token"]["value"]


def test_the_table_names_the_file_line_and_the_variable(tmp_path: Path) -> None:
    file = tmp_path / "qalqan.yaml"
    file.write_text("console:\n  idle_minutes: 20\n", encoding="utf-8")
    code, out, _ = show(env={"QALQAN_CONFIG": str(file), "QALQAN_HTTP_API_TOKEN": TOKEN})
    assert code == 0
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert "20.0" in lines["console.idle_minutes"] and f"{file}:2" in lines["console.idle_minutes"]
    assert "QALQAN_HTTP_API_TOKEN" in lines["http.api_token"]
    assert "default" in lines["stir.max_age_s"]
    assert TOKEN not in out


def test_a_bad_value_exits_non_zero_naming_the_setting_and_the_reason(tmp_path: Path) -> None:
    file = tmp_path / "qalqan.toml"
    file.write_text("[http]\nport = 70000\n[sip]\nblock_status = 486\n", encoding="utf-8")
    code, out, err = show(
        "--file", str(file), env={"QALQAN_CONSOLE_SECRET": "k3y-9", "QALQAN_STIR_MAX_AGE": "9"}
    )
    assert code == 2 and out == ""
    said = " ".join(err.split())
    assert f"QALQAN_HTTP_PORT=70000 is not 0..65535 (http.port from {file}:2)" in said
    assert f"block_status 486 is not 603 or 608 (sip.block_status from {file}:4)" in said
    assert "QALQAN_CONSOLE_SECRET is too short" in said and "k3y-9" not in said
    assert "QALQAN_STIR_MAX_AGE is not a setting" in said


def test_an_unknown_section_is_named_with_its_line(tmp_path: Path) -> None:
    file = tmp_path / "qalqan.toml"
    file.write_text("[http]\nport = 1\n\n[htpp]\nport = 2\n", encoding="utf-8")
    code, _, err = show("--file", str(file))
    assert code == 2
    assert f"{file}:4: unknown section 'htpp'" in " ".join(err.split())


def test_serve_reads_its_sip_file_then_the_environment_then_its_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qalqan.cli.serve import _sip_config

    file = tmp_path / "sip.yaml"
    file.write_text("listen_host: 10.0.0.5\nudp_port: 5070\ntcp_port: 5071\n", encoding="utf-8")
    monkeypatch.setenv("QALQAN_SIP_TCP_PORT", "5080")
    settings = _sip_config(file, host=None, udp_port=None, tcp_port=None)
    # the file's listening address is no longer overwritten by the options' defaults
    assert (settings.listen_host, settings.udp_port, settings.tcp_port) == ("10.0.0.5", 5070, 5080)
    settings = _sip_config(file, host="127.0.0.1", udp_port=None, tcp_port=6000)
    assert (settings.listen_host, settings.tcp_port) == ("127.0.0.1", 6000)
    settings = _sip_config(None, host=None, udp_port=None, tcp_port=None)
    assert (settings.listen_host, settings.udp_port) == ("127.0.0.1", 5060)


def test_replay_hands_the_farm_watch_settings_to_its_batch_detector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qalqan.screening import replay as replay_module
    from qalqan.screening.config import load_config

    handed: dict[str, object] = {}

    def replay(*args: object, **kwargs: object) -> None:
        handed.update(kwargs)
        raise KeyboardInterrupt  # enough: nothing is replayed

    monkeypatch.setattr(replay_module, "replay", replay)
    (tmp_path / "data").mkdir()
    environ = {"QALQAN_FARM_WATCH_MIN_CALLEES": "20"}
    result = runner.invoke(app, ["replay", str(tmp_path / "data"), "--quiet"], env=environ)
    assert result.exit_code != 0 and handed, result.output
    settings = handed["farm_watch"]
    assert isinstance(settings, FarmWatchSettings) and settings.min_callees == 20
    assert settings.young_sim_days == load_config(None).young_sim_days  # the rules' own
    environ = {"QALQAN_FARM_WATCH_MIN_CALLEES": "many"}
    result = runner.invoke(app, ["replay", str(tmp_path / "data"), "--quiet"], env=environ)
    assert result.exit_code == 2
    assert "QALQAN_FARM_WATCH_MIN_CALLEES='many': is not a whole number" in result.stderr


def test_the_rules_file_a_setting_names_is_linted_with_its_own_locations(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("network:\n  young_sim_dayz: 30\n", encoding="utf-8")
    code, _, err = show(env={"QALQAN_HTTP_RULES": str(rules)})
    assert code == 2
    said = " ".join(err.split())
    assert f"rules file of http.rules (from QALQAN_HTTP_RULES): {rules}:2:3:" in said
    assert "young_sim_dayz" in said
    rules.write_text("network:\n  young_sim_days: 30\n", encoding="utf-8")
    assert show(env={"QALQAN_HTTP_RULES": str(rules)})[0] == 0


def test_the_case_store_commands_find_their_store_in_the_settings_file(tmp_path: Path) -> None:
    file = tmp_path / "qalqan.toml"
    file.write_text(f"[cases]\ndb = '{tmp_path / 'cases.db'}'\n", encoding="utf-8")
    unset: dict[str, str | None] = {name: None for name in config.every_variable()}
    result = runner.invoke(app, ["cases", "init"], env={**unset, "QALQAN_CONFIG": str(file)})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cases.db").exists()
    code, out, _ = show("--file", str(file), "--json")
    assert code == 0 and str(tmp_path / "cases.db") not in out  # a URL may hold a password
    result = runner.invoke(app, ["cases", "init"], env=unset)
    assert result.exit_code == 2
    assert "give --db, set QALQAN_CASES_DB" in " ".join(result.output.split())
