"""Docs that cannot drift: docstring examples run, and the integration guide lists every setting."""

from __future__ import annotations

import doctest
import re
from dataclasses import fields
from pathlib import Path
from types import ModuleType

import pytest

from qalqan.sip import config, message, redirect, server, transaction
from qalqan.sip.config import SipConfig

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "kamailio" / "README.md"


@pytest.mark.parametrize(
    "module", [message, redirect, server, transaction, config], ids=lambda m: m.__name__
)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_setting_is_in_the_integration_guide_with_its_default() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    defaults = SipConfig()
    for setting in fields(SipConfig):
        row = re.search(rf"^\| `{setting.name}` \| `([^`]*)` \|", text, re.MULTILINE)
        assert row, f"SipConfig.{setting.name} is not in {GUIDE.name}'s settings table"
        value = getattr(defaults, setting.name)
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            shown = row.group(1)
            assert shown == str(value) or float(shown) == value, setting.name
        assert setting.metadata.get("help"), f"SipConfig.{setting.name} has no help text"
