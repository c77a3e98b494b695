"""The console's settings: one registry, read from ``QALQAN_CONSOLE_*``, every one documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qalqan.console.settings import ConsoleSettings
from qalqan.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console.md"


def test_every_console_setting_is_documented_with_its_default() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name, env, default, _help in ConsoleSettings.registry():
        row = re.search(rf"^\| `{env}` \| ([^|]+) \|", text, re.MULTILINE)
        assert row, f"{name} ({env}) is not documented in docs/console.md"
        assert row.group(1).strip() == default, env


def test_settings_are_read_from_the_environment() -> None:
    settings = ConsoleSettings.from_env(
        {"QALQAN_CONSOLE_IDLE_MINUTES": "20", "QALQAN_CONSOLE_SECRET": "s" * 32}
    )
    assert settings.idle_minutes == 20.0
    assert settings.secret is not None and settings.secret.reveal() == "s" * 32
    assert "s" * 32 not in repr(settings)


def test_every_mistake_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        ConsoleSettings.from_env(
            {
                "QALQAN_CONSOLE_IDLE_MINUTE": "20",
                "QALQAN_CONSOLE_MAX_BODY_BYTES": "lots",
                "QALQAN_CONSOLE_LOGIN_CONCURRENT_HASHES": "0",
                "QALQAN_CONSOLE_SECRET": "k3y-9",
            }
        )
    said = str(raised.value)
    for name in ("IDLE_MINUTE ", "MAX_BODY_BYTES", "LOGIN_CONCURRENT_HASHES=0", "SECRET"):
        assert f"QALQAN_CONSOLE_{name.strip()}" in said, name
    assert "k3y-9" not in said
