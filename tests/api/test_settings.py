"""Settings of the HTTP API: read from QALQAN_HTTP_*, collect-or-raise, secrets unprinted, all documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qalqan.api.config import ApiSettings, Secret
from qalqan.domain.model import Action
from qalqan.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs"
TOKEN = "correct-horse-battery-staple"


def test_settings_are_read_from_the_environment() -> None:
    settings = ApiSettings.from_env(
        {
            "QALQAN_HTTP_HOST": "0.0.0.0",
            "QALQAN_HTTP_PORT": "9090",
            "QALQAN_HTTP_RULES": "/etc/qalqan/rules.yaml",
            "QALQAN_HTTP_MAX_BATCH": "50",
            "QALQAN_HTTP_DEADLINE_MS": "12.5",
            "QALQAN_HTTP_FAIL_OPEN": "false",
            "QALQAN_HTTP_DEFAULT_ACTION": "WARN",
            "QALQAN_HTTP_API_TOKEN": TOKEN,
            "QALQAN_HTTP_ACCESS_LOG": "yes",
            "UNRELATED": "x",
        }
    )
    assert settings.host == "0.0.0.0" and settings.port == 9090
    assert settings.rules == Path("/etc/qalqan/rules.yaml")
    assert settings.max_batch == 50 and settings.deadline_ms == 12.5
    assert settings.fail_open is False and settings.default_action is Action.WARN
    assert settings.api_token is not None and settings.api_token.reveal() == TOKEN
    assert settings.access_log is True


def test_options_override_the_environment_and_none_means_not_given() -> None:
    settings = ApiSettings.from_env({"QALQAN_HTTP_PORT": "9090"}, port=7070, host=None)
    assert settings.port == 7070 and settings.host == "127.0.0.1"


def test_every_mistake_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        ApiSettings.from_env(
            {
                "QALQAN_HTTP_PORT": "eighty",
                "QALQAN_HTTP_FAIL_OPEN": "perhaps",
                "QALQAN_HTTP_DEFAULT_ACTION": "shout",
                "QALQAN_HTTP_MAX_BATHC": "10",
            }
        )
    message = str(error.value)
    assert "QALQAN_HTTP_PORT='eighty': is not a whole number" in message
    assert "QALQAN_HTTP_FAIL_OPEN='perhaps': is not true or false" in message
    assert "QALQAN_HTTP_DEFAULT_ACTION='shout': is not one of allow, warn, divert, block" in message
    assert "QALQAN_HTTP_MAX_BATHC is not a setting" in message
    with pytest.raises(ConfigError) as error:
        ApiSettings(port=70000, max_batch=0, deadline_ms=0, region="kz", max_body_bytes=10)
    message = str(error.value)
    for name in ("PORT", "MAX_BATCH", "DEADLINE_MS", "REGION", "MAX_BODY_BYTES"):
        assert f"QALQAN_HTTP_{name}" in message


def test_the_token_never_prints() -> None:
    settings = ApiSettings.from_env({"QALQAN_HTTP_API_TOKEN": TOKEN})
    for text in (repr(settings), str(settings), str(settings.shown()), repr(settings.api_token)):
        assert TOKEN not in text
    assert settings.shown()["QALQAN_HTTP_API_TOKEN"] == "Secret('**********')"
    with pytest.raises(ConfigError) as error:
        ApiSettings.from_env({"QALQAN_HTTP_API_TOKEN": "short"})
    assert "short" not in str(error.value).replace("too short", "")
    assert Secret(TOKEN).matches(TOKEN) and not Secret(TOKEN).matches("guess")
    assert ApiSettings(api_token=TOKEN).api_token == Secret(TOKEN)  # type: ignore[arg-type]


def test_every_setting_is_documented_with_its_default() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    for name, env, default, _help in ApiSettings.registry():
        row = re.search(rf"^\| `{env}` \| `([^`]*)` \| (.+) \|$", text, re.MULTILINE)
        assert row, f"{name} ({env}) is not documented in docs/api.md"
        assert row.group(1) == default, f"{env}: docs say {row.group(1)}, code says {default}"
