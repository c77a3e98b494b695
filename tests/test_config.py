"""The settings registry: one declaration per setting; default < file < environment < flag."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan import config
from qalqan.api.config import ApiSettings
from qalqan.cases.store import CaseStore, WorkflowSettings
from qalqan.domain.model import Action
from qalqan.errors import ConfigError
from qalqan.screening.farm_watch import FarmWatchSettings
from qalqan.screening.stir import StirSettings
from qalqan.sip.config import SipConfig

TOKEN = "correct-horse-battery-staple"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_later_sources_win_and_each_value_says_where_it_came_from(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        "qalqan.toml",
        "# the node in the lab\n[http]\nport = 9090\ndeadline_ms = 30\nhost = '10.0.0.1'\n",
    )
    resolved = config.resolve(
        ApiSettings,
        environ={"QALQAN_HTTP_PORT": "7070", "QALQAN_HTTP_MAX_BATCH": "10"},
        file=file,
        flags={"host": "0.0.0.0", "rules": None},
    )
    settings = resolved.settings
    assert (settings.port, settings.deadline_ms, settings.host) == (7070, 30.0, "0.0.0.0")
    assert settings.max_batch == 10 and settings.access_log is False
    assert resolved.sources["deadline_ms"] == f"{file}:4"  # the file, with its line
    assert resolved.sources["port"] == "QALQAN_HTTP_PORT"  # the environment over the file
    assert resolved.sources["host"] == "flag"  # the flag over the file
    assert resolved.sources["rules"] == "default"  # a flag not given is not a source


def test_every_command_reads_the_file_qalqan_config_names(tmp_path: Path) -> None:
    file = write(
        tmp_path, "qalqan.toml", "[console]\nidle_minutes = 20\n[workflow]\nclaim_ttl = '1h30m'\n"
    )
    environ = {"QALQAN_CONFIG": str(file)}
    assert config.load(WorkflowSettings, environ=environ).claim_ttl == timedelta(minutes=90)
    from qalqan.console.settings import ConsoleSettings

    assert ConsoleSettings.from_env(environ).idle_minutes == 20.0
    assert ApiSettings.from_env(environ) == ApiSettings()  # no [http] table: the defaults


def test_unknown_keys_and_sections_are_named_with_file_and_line(tmp_path: Path) -> None:
    file = write(tmp_path, "qalqan.toml", "[http]\nport = 9090\nmax_bathc = 10\n")
    with pytest.raises(ConfigError) as raised:
        config.load(ApiSettings, environ={}, file=file)
    assert f"{file}:3: unknown setting http.max_bathc" in str(raised.value)
    file = write(tmp_path, "other.toml", "[http]\nport = 1\n\n[htpp]\nport = 2\n")
    with pytest.raises(ConfigError) as raised:
        config.load(ApiSettings, environ={}, file=file)
    assert f"{file}:4: unknown section 'htpp'" in str(raised.value)
    flat = write(tmp_path, "sip.yaml", "listen_host: 10.0.0.5\n")  # one part's file, given whole
    with pytest.raises(ConfigError) as raised:
        config.load(ApiSettings, environ={}, file=flat)
    assert f"{flat}:1: unknown section 'listen_host'" in str(raised.value)
    assert "listen_host is a setting of the sip table" in str(raised.value)
    assert "is not a table" not in str(raised.value)  # one problem said once


def test_every_mistake_of_every_source_is_named_at_once(tmp_path: Path) -> None:
    file = write(tmp_path, "qalqan.toml", "[http]\nmax_batch = 'lots'\nport = 70000\n")
    with pytest.raises(ConfigError) as raised:
        config.load(ApiSettings, environ={"QALQAN_HTTP_FAIL_OPEN": "perhaps"}, file=file)
    said = str(raised.value)
    assert said.startswith("HTTP API settings: ")
    assert f"{file}:2: http.max_batch = 'lots': is not a whole number" in said
    assert "QALQAN_HTTP_FAIL_OPEN='perhaps': is not true or false" in said
    # a value that reads but is wrong says where it was set
    assert f"QALQAN_HTTP_PORT=70000 is not 0..65535 (http.port from {file}:3)" in said


def test_a_secret_from_the_file_never_prints(tmp_path: Path) -> None:
    file = write(tmp_path, "qalqan.toml", "[http]\napi_token = 'k3y'\n")
    with pytest.raises(ConfigError) as raised:
        config.load(ApiSettings, environ={}, file=file)
    assert "k3y" not in str(raised.value)
    file = write(tmp_path, "good.toml", f"[http]\napi_token = '{TOKEN}'\n")
    settings = config.load(ApiSettings, environ={}, file=file)
    assert settings.api_token is not None and settings.api_token.reveal() == TOKEN
    assert TOKEN not in str(config.shown(settings))


def test_file_values_must_have_the_settings_type(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        "qalqan.toml",
        "[http]\naccess_log = 1\nport = 80.5\nhost = ['a']\n[workflow]\nclaim_ttl = 15\n",
    )
    with pytest.raises(ConfigError) as raised:
        config.load(ApiSettings, environ={}, file=file)
    said = str(raised.value)
    assert "http.access_log = 1: is not true or false" in said
    assert "http.port = 80.5: is not a whole number" in said
    assert "http.host = ['a']: is not one value" in said
    with pytest.raises(ConfigError, match="is not a duration like 90s, 15m"):
        config.load(WorkflowSettings, environ={}, file=file)


def test_a_settings_file_is_bounded_and_must_parse(tmp_path: Path) -> None:
    big = write(tmp_path, "big.toml", "# " + "x" * config.MAX_FILE_BYTES + "\n")
    with pytest.raises(ConfigError, match="at most 1,048,576 bytes"):
        config.load(ApiSettings, environ={}, file=big)
    broken = write(tmp_path, "broken.toml", "[http\nport = 1\n")
    with pytest.raises(ConfigError, match=r"broken.toml: not TOML: .*line 1"):
        config.load(ApiSettings, environ={}, file=broken)
    aliased = write(tmp_path, "aliased.yaml", "http: &a\n  port: 1\nconsole: *a\n")
    with pytest.raises(ConfigError, match="anchors and aliases"):
        config.load(ApiSettings, environ={}, file=aliased)
    with pytest.raises(ConfigError, match="cannot read the settings file"):
        config.load(ApiSettings, environ={"QALQAN_CONFIG": str(tmp_path / "absent.toml")})


def test_yaml_settings_files_give_lines_too(tmp_path: Path) -> None:
    file = write(tmp_path, "qalqan.yaml", "http:\n  port: 9090\n  prot: 1\n")
    with pytest.raises(ConfigError, match=rf"{file}:3: unknown setting http.prot"):
        config.load(ApiSettings, environ={}, file=file)


def test_the_sip_yaml_file_keeps_working_beside_the_environment_and_flags(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        "sip.yaml",
        "listen_host: 10.0.0.5\nudp_port: null\ndefault_action: warn\n"
        "timers:\n  t1: 0.25\nfail_open_by_ingress:\n  international: divert\n",
    )
    settings = SipConfig.read(file, environ={"QALQAN_SIP_BLOCK_STATUS": "608"}, tcp_port=5070)
    assert settings.listen_host == "10.0.0.5" and settings.udp_port is None
    assert settings.default_action is Action.WARN and settings.timers.t1 == 0.25
    assert settings.fail_open_by_ingress["international"] is Action.DIVERT
    assert settings.block_status == 608 and settings.tcp_port == 5070
    environ = {"QALQAN_SIP_UDP_PORT": "off", "QALQAN_SIP_TIMERS": "t1=0.1,t2=2"}
    settings = SipConfig.read(environ=environ)
    assert settings.udp_port is None and (settings.timers.t1, settings.timers.t2) == (0.1, 2.0)
    typo = write(tmp_path, "typo.yaml", "listen_host: 10.0.0.5\nudp_prot: 1\n")
    with pytest.raises(ConfigError, match=rf"{typo}:2: unknown setting sip.udp_prot"):
        SipConfig.read(typo)


def test_stir_settings_are_read_through_the_registry(tmp_path: Path) -> None:
    file = write(tmp_path, "qalqan.toml", "[stir]\nmax_age_s = 0\n")
    with pytest.raises(ConfigError) as raised:
        StirSettings.from_env({"QALQAN_CONFIG": str(file)})
    assert f"QALQAN_STIR_MAX_AGE_S=0 must be above 0 (stir.max_age_s from {file}:2)" in str(
        raised.value
    )
    assert StirSettings.ENV["max_age_s"] == "QALQAN_STIR_MAX_AGE_S"
    with pytest.raises(ConfigError, match="QALQAN_STIR_TRUST_ANCHOR is not a setting"):
        StirSettings.from_env({"QALQAN_STIR_TRUST_ANCHOR": "/etc/roots.pem"})


def test_farm_watch_settings_are_checked() -> None:
    with pytest.raises(ConfigError) as raised:
        FarmWatchSettings.from_env(
            {"QALQAN_FARM_WATCH_MIN_CALLEES": "0", "QALQAN_FARM_WATCH_MIN_STRANGER_SHARE": "1.5"}
        )
    said = str(raised.value)
    assert "QALQAN_FARM_WATCH_MIN_CALLEES=0 must be above 0" in said
    assert "QALQAN_FARM_WATCH_MIN_STRANGER_SHARE=1.5 is above 1" in said
    assert FarmWatchSettings.from_env({"QALQAN_FARM_WATCH_LIST_FARM_SITES": "on"}).list_farm_sites


def test_the_case_store_works_to_the_configured_service_levels(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    CaseStore.open(url, check_schema=False).upgrade()
    environ = {"QALQAN_WORKFLOW_CLAIM_TTL": "40m", "QALQAN_WORKFLOW_CENTER_NAME": "Antifraud"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        with CaseStore.open(url) as store:
            assert store.settings.claim_ttl == timedelta(minutes=40)
            assert store.settings.center_name == "Antifraud"
        patch.setenv("QALQAN_WORKFLOW_VULNERABLE_AGE", "0")
        with pytest.raises(ConfigError, match="QALQAN_WORKFLOW_VULNERABLE_AGE=0 must be above 0"):
            CaseStore.open(url)


def test_durations_read_and_print_in_the_operators_units() -> None:
    assert config.parse_value(timedelta, "90s") == timedelta(seconds=90)
    assert config.parse_value(timedelta, "1h 30m") == timedelta(minutes=90)
    assert config.parse_value(timedelta, "2d") == timedelta(days=2)
    for wrong in ("15", "m", "15 minutes", "-5m"):
        with pytest.raises(ValueError, match="is not a duration"):
            config.parse_value(timedelta, wrong)
    shown = [config.shown_value(timedelta(seconds=s)) for s in (90, 900, 7200, 86_400)]
    assert shown == ["90s", "15m", "2h", "1d"]


def test_every_part_has_its_own_section_and_prefix_and_every_setting_its_help() -> None:
    parts = config.parts()
    assert {p.section for p in parts} >= {
        "http",
        "sip",
        "stir",
        "farm_watch",
        "workflow",
        "console",
    }
    assert len({p.section for p in parts}) == len(parts)
    prefixes = sorted(p.prefix for p in parts)
    assert all(not b.startswith(a) for a, b in itertools.pairwise(prefixes))
    variables = list(config.every_variable())
    assert len(variables) == len(set(variables))
    for p in parts:
        for f in p.settings_fields():
            assert f.metadata["env"].startswith(p.prefix) and f.metadata["help"], f.name


def test_a_mistaken_declaration_cannot_join_the_registry() -> None:
    with pytest.raises(TypeError, match="is not under QALQAN_TEST_"):

        @config.part("test", prefix="QALQAN_TEST_", title="test settings")
        @dataclass(frozen=True)
        class Astray:
            port: int = field(default=1, metadata=config.setting("QALQAN_HTTP_PORT", "A port."))

    with pytest.raises(TypeError, match="has no help text"):

        @config.part("test", prefix="QALQAN_TEST_", title="test settings")
        @dataclass(frozen=True)
        class Unexplained:
            port: int = field(default=1, metadata=config.setting("QALQAN_TEST_PORT", ""))

    with pytest.raises(TypeError, match="is ApiSettings's already"):

        @config.part("http", prefix="QALQAN_TEST_", title="test settings")
        @dataclass(frozen=True)
        class Usurper:
            port: int = field(default=1, metadata=config.setting("QALQAN_TEST_PORT", "A port."))


def test_the_nodes_own_setting_in_the_file_wins_over_a_faces_older_one(tmp_path: Path) -> None:
    from qalqan.screening.node import NodeSettings

    file = write(tmp_path, "qalqan.toml", "[node]\ndeadline_ms = 30\n")
    face = SipConfig(deadline_ms=80, default_action=Action.DIVERT)
    settings = NodeSettings.from_env({"QALQAN_CONFIG": str(file)}, face=face)
    assert (settings.deadline_ms, settings.default_action) == (30, Action.DIVERT)
    assert NodeSettings.from_env({}, face=face).deadline_ms == 80


def test_the_model_cache_folder_can_be_set_in_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qalqan.training.cache import default_model_path

    file = write(tmp_path, "qalqan.toml", f"[models]\nfolder = '{tmp_path / 'models'}'\n")
    monkeypatch.delenv("QALQAN_MODEL_DIR", raising=False)
    monkeypatch.setenv("QALQAN_CONFIG", str(file))
    assert default_model_path().parent == tmp_path / "models"
    monkeypatch.setenv("QALQAN_MODEL_DIR", str(tmp_path / "elsewhere"))
    assert default_model_path().parent == tmp_path / "elsewhere"  # the environment wins


@pytest.mark.parametrize(
    ("part", "name"),
    [(p, f.name) for p in config.parts() for f in p.settings_fields()],
    ids=lambda x: x if isinstance(x, str) else x.section,
)
def test_every_default_as_shown_reads_back_as_itself(part: config.Part, name: str) -> None:
    """What ``qalqan config show`` prints can be set again, in the environment, as it is."""
    default = getattr(part.cls(), name)
    shown = config.shown_value(default)
    if default is None or shown in ("", "(none)"):
        return  # nothing to write back: the variable is left unset
    variable = next(f.metadata["env"] for f in part.settings_fields() if f.name == name)
    assert getattr(config.load(part.cls, environ={variable: shown}), name) == default


@given(st.integers(min_value=1, max_value=10**13))
def test_durations_read_back_as_they_are_shown(microseconds: int) -> None:
    value = timedelta(microseconds=microseconds)
    assert config.parse_value(timedelta, config.shown_value(value)) == value


def test_hostile_settings_files_are_refused_in_one_line(tmp_path: Path) -> None:
    deep = write(tmp_path, "deep.yaml", "http: " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(ConfigError, match=r"deep\.yaml: nested too deep"):
        config.load(ApiSettings, environ={}, file=deep)
    nested = write(tmp_path, "nested.toml", "[sip.source_ingress]\n'10.0.0.1' = { a = 1 }\n")
    with pytest.raises(ConfigError, match="has a table or a list where one value goes"):
        config.load(SipConfig, environ={}, file=nested)
    numbers = write(tmp_path, "numbers.toml", "[sip.source_ingress]\n'10.0.0.1' = 7\n")
    with pytest.raises(ConfigError, match="'7' is not CLASS or CLASS:ROUTE"):
        config.load(SipConfig, environ={}, file=numbers)
    with pytest.raises(ConfigError, match="is too long a duration"):
        config.load(WorkflowSettings, environ={"QALQAN_WORKFLOW_CLAIM_TTL": "9" * 30 + "d"})
