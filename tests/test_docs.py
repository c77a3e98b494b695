"""Docs that cannot drift: every simulator setting is documented with its default."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

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
