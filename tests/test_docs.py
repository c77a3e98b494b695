"""Docs that cannot drift: every setting (the registry's, the simulator's) is documented with its default."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from qalqan import config
from qalqan.simulator.config import FraudSettings, LookAlikeSettings, OrdinarySettings

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize(
    ("name", "section"),
    [("ordinary", OrdinarySettings), ("look_alikes", LookAlikeSettings), ("fraud", FraudSettings)],
)
def test_every_simulator_setting_is_documented_with_its_default(name: str, section: type) -> None:
    whole = (DOCS / "simulator.md").read_text(encoding="utf-8")
    text = whole.split(f"### `{name}`", 1)[1].split("\n#", 1)[0]
    for f in fields(section):
        row = re.search(rf"^\| `{f.name}` \| ([^|]+) \|", text, re.MULTILINE)
        assert row, f"{section.__name__}.{f.name} is not documented in docs/simulator.md"
        assert float(row.group(1)) == float(getattr(section(), f.name)), f.name


def test_every_setting_of_the_registry_is_documented_with_its_default() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for part in config.parts():
        for name, env, default, _help in config.registry(part.cls):
            row = re.search(
                rf"^\| `{part.section}\.{name}` \| `{env}` \| `([^`]*)` \| .+ \|$",
                text,
                re.MULTILINE,
            )
            assert row, f"{part.section}.{name} ({env}) is not in docs/configuration.md"
            assert row.group(1) == default, f"{env}: docs say {row.group(1)}, code says {default}"


def test_every_variable_qalqan_reads_is_documented() -> None:
    """Variables outside the registry too (QALQAN_CONFIG, QALQAN_CASES_DB, ...)."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    package = Path(__file__).resolve().parents[1] / "qalqan"
    named = {
        found
        for source in package.rglob("*.py")
        for found in re.findall(
            r"\bQALQAN_[A-Z0-9_]*[A-Z0-9]\b", source.read_text(encoding="utf-8")
        )
    }
    prefixes = {part.prefix.rstrip("_") for part in config.parts()}
    for variable in sorted(named - prefixes):
        assert f"`{variable}`" in text, f"{variable} is not in docs/configuration.md"


def test_the_settings_file_example_of_the_configuration_guide_reads(tmp_path: Path) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    file = tmp_path / "qalqan.toml"
    file.write_text(example, encoding="utf-8")
    for part in config.parts():
        config.load(part.cls, environ={}, file=file)
