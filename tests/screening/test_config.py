"""The rules file: parsed collect-or-raise, every key documented, defaults in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.domain.model import Action
from qalqan.errors import ConfigError
from qalqan.screening.config import (
    DEFAULT_RULES_FILE,
    all_setting_paths,
    default_rules_text,
    lint_config,
    load_config,
    parse_config,
    parse_duration,
)
from qalqan.screening.signals import SIGNALS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screening.md"

BROKEN = """\
version: 2
actions:
  warn: 0.7
  divert: 0.6
  blok: 0.9
deadline:
  budget_us: -5
  on_miss: maybe
rules:
  wangiri.one_ring_burst:
    window: 10 minutes
    min_callees: 2.5
    min_calees: 3
  spoofed_cli.unalocated:
    weight: 0.9
  sim_farm.handset_many_sims:
    enabled: yes please
    weight: 3
network:
  home_region: kz
extra: 1
actions:
  warn: 0.1
"""


def test_the_linter_reports_every_problem_with_its_place() -> None:
    problems = lint_config(BROKEN, source="rules.yaml")
    found = {(p.line, p.column, p.path) for p in problems}
    assert found == {
        (1, 10, "version"),
        (3, 9, "actions.warn"),
        (5, 3, "actions.blok"),
        (7, 14, "deadline.budget_us"),
        (8, 12, "deadline.on_miss"),
        (11, 13, "rules.wangiri.one_ring_burst.window"),
        (12, 18, "rules.wangiri.one_ring_burst.min_callees"),
        (13, 5, "rules.wangiri.one_ring_burst.min_calees"),
        (14, 3, "rules.spoofed_cli.unalocated"),
        (17, 14, "rules.sim_farm.handset_many_sims.enabled"),
        (18, 13, "rules.sim_farm.handset_many_sims.weight"),
        (20, 16, "network.home_region"),
        (21, 1, "extra"),
        (22, 1, "actions"),
    }
    text = [str(p) for p in problems]
    assert text[0].startswith("rules.yaml:1:10: version: ")
    assert any("did you mean 'min_callees'" in t for t in text)
    assert any("did you mean 'spoofed_cli.unallocated'" in t for t in text)
    assert any("appears twice" in t for t in text)
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_the_runtime_stops_at_the_first_problem() -> None:
    with pytest.raises(ConfigError, match=r"^rules.yaml:1:10: version: must be at most 1"):
        parse_config(BROKEN, source="rules.yaml")


def test_yaml_that_does_not_parse_is_one_problem_with_its_place() -> None:
    (problem,) = lint_config("rules:\n  a: [1, 2\n", source="x.yaml")
    assert problem.source == "x.yaml" and problem.line >= 2 and "not valid YAML" in problem.message


def test_a_file_that_is_not_a_mapping_is_a_problem() -> None:
    (problem,) = lint_config("- 1\n- 2\n")
    assert "mapping" in problem.message


def test_an_empty_file_means_every_default() -> None:
    assert lint_config("") == []
    config = parse_config("")
    assert config.enabled() == list(SIGNALS)


def test_the_shipped_file_is_sound_and_states_every_default() -> None:
    assert lint_config(default_rules_text(), source=DEFAULT_RULES_FILE) == []
    shipped = yaml.safe_load(default_rules_text())
    for path, setting in all_setting_paths():
        value = _lookup(shipped, path)
        if setting.kind == "duration":
            assert parse_duration(value) == parse_duration(setting.default), path
        else:
            assert value == setting.default, (
                f"{path}: {value!r} in the file, {setting.default!r} in the code"
            )


def _lookup(shipped: dict[str, object], path: str) -> object:
    """The value at a key path; rule ids contain dots, so ``rules.`` paths split on the id."""
    if path.startswith("rules."):
        rest = path.removeprefix("rules.")
        rule = next(r for r in SIGNALS if rest.startswith(r + "."))
        keys = ["rules", rule, rest.removeprefix(rule + ".")]
    else:
        keys = path.split(".")
    node: object = shipped
    for key in keys:
        assert isinstance(node, dict) and key in node, (
            f"{path} is missing from {DEFAULT_RULES_FILE}"
        )
        node = node[key]
    return node


def test_every_key_is_documented_with_its_default() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set()
    for path, setting in all_setting_paths():
        row = re.search(rf"^\| `{re.escape(path)}` \| ([^|]+) \|", text, re.MULTILINE)
        assert row, f"{path} is not documented in docs/screening.md"
        shown = row.group(1).strip()
        default = setting.default
        expected = ("true" if default else "false") if isinstance(default, bool) else str(default)
        assert shown == expected, f"{path}: docs say {shown}, the code {expected}"
        documented.add(path)
    stale = set(
        re.findall(
            r"^\| `((?:rules\.|actions|vulnerable|deadline|roaming|network|state|version)[^`]*)` \|",
            text,
            re.MULTILINE,
        )
    )
    assert stale <= documented, f"documented keys that do not exist: {sorted(stale - documented)}"


def test_overrides_take_effect_and_the_rest_keeps_its_defaults() -> None:
    config = parse_config(
        "actions: {warn: 0.3}\n"
        "deadline: {on_miss: divert}\n"
        "rules:\n  wangiri.one_ring_burst: {window: 15m, min_callees: 20}\n"
        "  sim_farm.straw_owner: {enabled: false}\n"
    )
    assert config.thresholds.warn == 0.3 and config.thresholds.block == 0.9
    assert config.on_deadline_miss is Action.DIVERT
    wangiri = config.rules["wangiri.one_ring_burst"]
    assert wangiri.seconds("window") == 900 and wangiri.integer("min_callees") == 20
    assert "sim_farm.straw_owner" not in config.enabled()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h", 3600), ("30d", 2_592_000), (45, 45), ("1.5h", 5400)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10 minutes", "0m", "-1h", True, "h"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_rules_lint_command(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text("actions: {warn: 0.35}\n", encoding="utf-8")
    result = runner.invoke(app, ["rules", "lint", str(bad), str(good)])
    assert result.exit_code == 1
    assert f"{bad}:1:10: version:" in result.output
    assert f"{bad}:20:16: network.home_region:" in result.output
    assert f"{good}: ok" in result.output
    assert runner.invoke(app, ["rules", "lint", str(good)]).exit_code == 0


def test_loading_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read rules"):
        load_config(tmp_path / "absent.yaml")
