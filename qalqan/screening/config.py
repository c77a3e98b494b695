"""The screening configuration: one documented YAML file, parsed collect-or-raise.

    config = load_config()                       # the shipped default_rules.yaml
    config = load_config(Path("rules.yaml"))     # raises ConfigError at the first problem
    problems = lint_config_file(Path("rules.yaml"))   # every problem, each with its place

The file says which rules run and with what weights and thresholds, how the
score maps to an action, what to answer when the time budget runs out, and
how much more readily vulnerable callees are warned::

    actions: {warn: 0.4, divert: 0.65, block: 0.9}
    deadline: {budget_us: 5000, on_miss: allow}
    rules:
      wangiri.one_ring_burst:
        window: 10m
        min_callees: 10

Keys left out take their defaults; every key is listed with its default and
meaning in ``docs/screening.md`` (a test keeps the two in step). The schema is
not written twice: general keys are :data:`GENERAL_SETTINGS`, and each rule's
keys come from its registered class (:data:`qalqan.screening.signals.SIGNALS`).

Parsing follows the linter/runtime split: :func:`lint_config` walks the whole
file and returns every problem with ``file:line:column`` and the key path
(``rules.wangiri.one_ring_burst.min_callees``); :func:`parse_config` raises
:class:`~qalqan.errors.ConfigError` on the first, so a screening node never
starts on a file it half understood.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Final

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode

import qalqan.screening.rules  # noqa: F401  (registers the shipped signals)
from qalqan.domain.model import Action
from qalqan.errors import ConfigError
from qalqan.screening.signals import SIGNALS, Setting, Settings

__all__ = [
    "DEFAULT_RULES_FILE",
    "GENERAL_SETTINGS",
    "YOUNG_SIM_DAYS",
    "ActionThresholds",
    "ConfigProblem",
    "ScreeningConfig",
    "all_setting_paths",
    "lint_config",
    "lint_config_file",
    "load_config",
    "parse_config",
    "parse_duration",
]

DEFAULT_RULES_FILE: Final = "default_rules.yaml"

YOUNG_SIM_DAYS: Final = 120.0
"""A SIM activated at most this many days before a call is young (``network.young_sim_days``).

The one definition of a young SIM: the real-time rules, the replay's farm watch and the
batch analysis (``qalqan analyze``: features, reasons, farms) all read it. Farms buy their
stock weeks to months before they use it, so four months; a person's new SIM is young as
long, which is why youth only ever adds to other evidence.
"""
_ACTIONS: Final = tuple(a.value for a in Action)


def _threshold(name: str, default: float, what: str) -> Setting:
    return Setting(
        name=name,
        kind="float",
        default=default,
        minimum=0.0,
        maximum=1.0,
        help=f"Score from which the call is {what}.",
    )


GENERAL_SETTINGS: Final[dict[str, tuple[Setting, ...]]] = {
    "version": (
        Setting(
            name="version",
            kind="int",
            default=1,
            minimum=1,
            maximum=1,
            help="Version of this file's format.",
        ),
    ),
    "actions": (
        _threshold("warn", 0.4, "warned (the callee hears a warning, then the call)"),
        _threshold("divert", 0.65, "diverted to the anti-call-center's operators"),
        _threshold("block", 0.9, "blocked"),
    ),
    "vulnerable_callee": (
        Setting(
            name="enabled",
            kind="bool",
            default=True,
            help="Warn vulnerable callees (elderly subscribers who want protection) more readily.",
        ),
        Setting(
            name="min_age",
            kind="int",
            default=65,
            minimum=0,
            maximum=150,
            help="Age (from the owner's birth year in `subscribers`) from which a callee counts as elderly.",
        ),
        Setting(
            name="protect_by_default",
            kind="bool",
            default=True,
            help="Elderly subscribers are protected unless they opted out; when false, only those "
            "who opted in (the protection list) are.",
        ),
        _threshold("warn", 0.2, "warned when the callee is vulnerable"),
        _threshold("divert", 0.6, "diverted when the callee is vulnerable"),
        _threshold("block", 0.9, "blocked when the callee is vulnerable"),
    ),
    "deadline": (
        Setting(
            name="budget_us",
            kind="float",
            default=5000.0,
            minimum=1.0,
            help="Time budget of one decision in microseconds; past it the rules still to run are "
            "skipped and `on_miss` is answered.",
        ),
        Setting(
            name="on_miss",
            kind="action",
            default="allow",
            choices=_ACTIONS,
            help="Action answered when the budget is exceeded (fail open with `allow`).",
        ),
    ),
    "roaming": (
        Setting(
            name="max_action",
            kind="action",
            default="warn",
            choices=("allow", "warn", "divert"),
            help="Strongest action for a call presenting our subscriber's number while that SIM is "
            "registered abroad; never `block`.",
        ),
        Setting(
            name="grace",
            kind="duration",
            default="1h",
            help="Roaming periods count this much longer on both sides (registrations reach the "
            "data late; clocks drift).",
        ),
    ),
    "network": (
        Setting(
            name="home_region",
            kind="text",
            default="auto",
            help="ISO 3166 alpha-2 country of the operator, or `auto`: the country most "
            "subscribers' numbers belong to.",
        ),
        Setting(
            name="young_sim_days",
            kind="float",
            default=YOUNG_SIM_DAYS,
            minimum=0.0,
            help="A SIM activated at most this many days before a call is young: the one "
            "definition the real-time rules, the replay's farm watch and `qalqan analyze` share.",
        ),
    ),
    "state": (
        Setting(
            name="max_keys",
            kind="int",
            default=2_000_000,
            minimum=1,
            help="Keys one rolling feature holds at most; the stalest are forgotten first.",
        ),
        Setting(
            name="max_items",
            kind="int",
            default=4096,
            minimum=1,
            help="Distinct items one key of a distinct-count feature holds at most.",
        ),
        Setting(
            name="store",
            kind="text",
            default="exact",
            choices=("exact", "compact"),
            help="How the rolling features are held: `exact` as Python objects (170 to 650 bytes "
            "a key, the fastest), `compact` in arrays of fingerprints (10 to 65 bytes a key, for "
            "a national subscriber base; see State at national scale).",
        ),
    ),
}
"""Every general key of the file, by section (``version`` is a top-level key)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigProblem:
    """One thing wrong in a rules file, with where it is."""

    source: str
    line: int
    column: int
    path: str
    """Key path, ``rules.wangiri.one_ring_burst.window``; empty for the file as a whole."""
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionThresholds:
    """Score → action: at or above ``block`` blocked, else ``divert``, else ``warn``, else allowed."""

    warn: float
    divert: float
    block: float

    def action(self, score: float) -> Action:
        if score >= self.block:
            return Action.BLOCK
        if score >= self.divert:
            return Action.DIVERT
        if score >= self.warn:
            return Action.WARN
        return Action.ALLOW


@dataclass(frozen=True, slots=True, kw_only=True)
class ScreeningConfig:
    """A parsed, checked rules file with every default filled in."""

    thresholds: ActionThresholds
    vulnerable_enabled: bool
    vulnerable_min_age: int
    protect_by_default: bool
    vulnerable_thresholds: ActionThresholds
    deadline_us: float
    on_deadline_miss: Action
    roaming_max_action: Action
    roaming_grace_s: float
    home_region: str | None
    """None: guess from the subscribers."""
    young_sim_days: float
    max_keys: int
    max_items: int
    state_store: str = "exact"
    """``exact`` (:class:`~qalqan.screening.state.InMemoryStateStore`) or ``compact``
    (:class:`~qalqan.screening.compact_state.CompactStateStore`)."""
    rules: Mapping[str, Settings] = field(default_factory=dict)
    """Settings of every registered rule, by id, in the order rules run."""
    source: str = "<defaults>"

    def enabled(self) -> list[str]:
        return [rule for rule, settings in self.rules.items() if settings.flag("enabled")]


def all_setting_paths() -> Iterator[tuple[str, Setting]]:
    """Every key a rules file may hold, as (key path, setting): what the docs must cover."""
    for section, settings in GENERAL_SETTINGS.items():
        for s in settings:
            yield (s.name if section == "version" else f"{section}.{s.name}"), s
    for rule, cls in SIGNALS.items():
        for s in cls.all_settings():
            yield f"rules.{rule}.{s.name}", s


_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(s|m|h|d)\s*$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}


def parse_duration(value: object) -> float:
    """``90s``, ``10m``, ``1h``, ``30d`` or a number of seconds → seconds (positive)."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number with a unit: 90s, 10m, 1h, 30d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"'{value}' is not a duration (90s, 10m, 1h, 30d)")
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


def _convert(setting: Setting, value: object) -> object:
    """A YAML value as the setting's type; ValueError with the reason when it is not one."""
    kind = setting.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return value
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, got {value!r}")
        if kind == "int" and value != int(value):
            raise ValueError(f"must be a whole number, got {value!r}")
        number: float | int = int(value) if kind == "int" else float(value)
        if setting.minimum is not None and number < setting.minimum:
            raise ValueError(f"must be at least {setting.minimum:g}, got {value!r}")
        if setting.maximum is not None and number > setting.maximum:
            raise ValueError(f"must be at most {setting.maximum:g}, got {value!r}")
        return number
    if kind == "duration":
        return parse_duration(value)
    if kind == "action":
        if value not in setting.choices:
            raise ValueError(f"must be one of {', '.join(setting.choices)}, got {value!r}")
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {value!r}")
    if setting.choices and value not in setting.choices:
        raise ValueError(f"must be one of {', '.join(setting.choices)}, got {value!r}")
    return value


def _default(setting: Setting) -> object:
    return _convert(setting, setting.default)


Given = dict[str, tuple[object, Node]]
"""The settings a file gives in one mapping: name → (converted value, its node)."""


class _Problems:
    """Collects problems (linter) or raises the first (runtime)."""

    def __init__(self, source: str, *, collect: bool) -> None:
        self.source = source
        self.collect = collect
        self.found: list[ConfigProblem] = []

    def add(self, node: Node | None, path: str, message: str) -> None:
        line, column = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        problem = ConfigProblem(
            source=self.source, line=line, column=column, path=path, message=message
        )
        if not self.collect:
            raise ConfigError(str(problem))
        self.found.append(problem)


def _pairs(node: Node, path: str, problems: _Problems) -> Iterator[tuple[str, ScalarNode, Node]]:
    """The (key, key node, value node) of a mapping, reporting duplicate and non-text keys."""
    if not isinstance(node, MappingNode):
        problems.add(node, path, "must be a mapping of keys to values")
        return
    seen: set[str] = set()
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode) or not isinstance(key_node.value, str):
            problems.add(key_node, path, "keys must be plain text")
            continue
        key = key_node.value
        where = f"{path}.{key}" if path else key
        if key in seen:
            problems.add(key_node, where, "appears twice")
            continue
        seen.add(key)
        yield key, key_node, value_node


def _hint(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})"


def _unknown(key: str, known: list[str]) -> str:
    return "unknown key" + _hint(key, known)


def _scalar(node: Node) -> object:
    if not isinstance(node, ScalarNode):
        raise ValueError("must be a single value, not a mapping or a list")
    return SafeConstructor().construct_object(node)


def _settings(node: Node, path: str, schema: tuple[Setting, ...], problems: _Problems) -> Given:
    """The settings one mapping gives, converted; problems for the rest."""
    by_name = {s.name: s for s in schema}
    out: Given = {}
    for key, key_node, value_node in _pairs(node, path, problems):
        where = f"{path}.{key}"
        setting = by_name.get(key)
        if setting is None:
            problems.add(key_node, where, _unknown(key, list(by_name)))
            continue
        try:
            value = _convert(setting, _scalar(value_node))
        except (ValueError, ConstructorError) as exc:
            problems.add(value_node, where, str(exc))
            continue
        out[key] = (value, value_node)
    return out


def _filled(name: str, schema: tuple[Setting, ...], given: Given) -> Settings:
    """The section's settings with the defaults filled in, behind typed getters."""
    return Settings(
        name, {s.name: given[s.name][0] if s.name in given else _default(s) for s in schema}
    )


def _ordered(section: str, values: Settings, given: Given, problems: _Problems) -> None:
    """warn ≤ divert ≤ block, reported at the key that breaks the order."""
    for low, high in (("warn", "divert"), ("divert", "block")):
        if values.number(low) > values.number(high):
            key = low if low in given else high
            node = given[key][1] if key in given else None
            problems.add(node, f"{section}.{key}", f"{low} must not exceed {high}")


def _read(text: str, problems: _Problems) -> Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = ConfigProblem(
            source=problems.source,
            line=line,
            column=column,
            path="",
            message=f"not valid YAML: {exc.problem or exc}",
        )
        if not problems.collect:
            raise ConfigError(str(problem)) from None
        problems.found.append(problem)
    except yaml.YAMLError as exc:
        problems.add(None, "", f"not valid YAML: {exc}")
    return None


def _build(text: str, source: str, problems: _Problems) -> ScreeningConfig:
    root = _read(text, problems)
    general: dict[str, Given] = {name: {} for name in GENERAL_SETTINGS}
    rules: dict[str, Given] = {}
    if root is not None and not (isinstance(root, ScalarNode) and root.value in ("", "~", "null")):
        for key, key_node, value_node in _pairs(root, "", problems):
            if key == "version":
                try:
                    version = _convert(GENERAL_SETTINGS["version"][0], _scalar(value_node))
                    general["version"]["version"] = (version, value_node)
                except (ValueError, ConstructorError) as exc:
                    problems.add(value_node, "version", str(exc))
            elif key in GENERAL_SETTINGS:
                general[key] = _settings(value_node, key, GENERAL_SETTINGS[key], problems)
            elif key == "rules":
                for rule, rule_node, settings_node in _pairs(value_node, "rules", problems):
                    cls = SIGNALS.get(rule)
                    if cls is None:
                        problems.add(
                            rule_node, f"rules.{rule}", "no such rule" + _hint(rule, list(SIGNALS))
                        )
                        continue
                    rules[rule] = _settings(
                        settings_node, f"rules.{rule}", cls.all_settings(), problems
                    )
            else:
                problems.add(key_node, key, _unknown(key, [*GENERAL_SETTINGS, "rules"]))
    section = {
        name: _filled(name, schema, general[name]) for name, schema in GENERAL_SETTINGS.items()
    }
    for name in ("actions", "vulnerable_callee"):
        _ordered(name, section[name], general[name], problems)
    home = section["network"].text("home_region")
    if home != "auto" and not re.fullmatch(r"[A-Z]{2}", home):
        problems.add(
            general["network"]["home_region"][1],
            "network.home_region",
            f"must be 'auto' or a country code like KZ, got {home!r}",
        )
        home = "auto"

    def thresholds(values: Settings) -> ActionThresholds:
        return ActionThresholds(
            warn=values.number("warn"), divert=values.number("divert"), block=values.number("block")
        )

    vulnerable, deadline, roaming = (
        section["vulnerable_callee"],
        section["deadline"],
        section["roaming"],
    )
    return ScreeningConfig(
        thresholds=thresholds(section["actions"]),
        vulnerable_enabled=vulnerable.flag("enabled"),
        vulnerable_min_age=vulnerable.integer("min_age"),
        protect_by_default=vulnerable.flag("protect_by_default"),
        vulnerable_thresholds=thresholds(vulnerable),
        deadline_us=deadline.number("budget_us"),
        on_deadline_miss=Action(deadline.text("on_miss")),
        roaming_max_action=Action(roaming.text("max_action")),
        roaming_grace_s=roaming.seconds("grace"),
        home_region=None if home == "auto" else home,
        young_sim_days=section["network"].number("young_sim_days"),
        max_keys=section["state"].integer("max_keys"),
        max_items=section["state"].integer("max_items"),
        state_store=section["state"].text("store"),
        rules={
            rule: _filled(rule, cls.all_settings(), rules.get(rule, {}))
            for rule, cls in SIGNALS.items()
        },
        source=source,
    )


def parse_config(text: str, *, source: str = "<rules>") -> ScreeningConfig:
    """The configuration in ``text``; raises :class:`ConfigError` at the first problem."""
    return _build(text, source, _Problems(source, collect=False))


def lint_config(text: str, *, source: str = "<rules>") -> list[ConfigProblem]:
    """Every problem of the configuration in ``text``, in file order; empty when it is sound."""
    problems = _Problems(source, collect=True)
    try:
        _build(text, source, problems)
    except ConfigError:  # pragma: no cover - collect mode never raises
        raise
    return sorted(problems.found, key=lambda p: (p.line, p.column))


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read rules: {exc.strerror or exc}") from None


def lint_config_file(path: Path) -> list[ConfigProblem]:
    return lint_config(_read_file(path), source=str(path))


def default_rules_text() -> str:
    """The shipped ``default_rules.yaml``.

    Every value in it equals the registry's default (a test holds them
    together), so an installation that lost the file still gets the same
    configuration from an empty one.
    """
    try:
        return (
            resources.files("qalqan.screening")
            .joinpath(DEFAULT_RULES_FILE)
            .read_text(encoding="utf-8")
        )
    except FileNotFoundError:
        return "version: 1\n"


def load_config(path: Path | None = None) -> ScreeningConfig:
    """The rules file at ``path``, or the shipped ``default_rules.yaml``; raises at the first problem."""
    if path is None:
        return parse_config(default_rules_text(), source=DEFAULT_RULES_FILE)
    return parse_config(_read_file(path), source=str(path))
