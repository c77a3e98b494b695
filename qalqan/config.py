"""One settings registry for every part of Qalqan: declared once, read from a file and the environment.

A part's settings are a frozen dataclass whose fields each declare, with
:func:`setting`, their environment variable and help text (and whether the
value is a secret); the class joins the registry with :func:`part`, which
names its section in the settings file and its variables' prefix, and
refuses a setting without help or with a variable outside the prefix. From
that one declaration:

- :func:`resolve` gives a part's effective settings and where each value came
  from. Later sources win: the default, then the settings file (TOML, or YAML;
  named by ``--file`` or ``QALQAN_CONFIG``), then the environment, then the
  command line's flags. It reads collect-or-raise: every unreadable value,
  every unknown key of the file (with its ``file:line``) and every unknown
  variable under the part's prefix (usually a typo) is named in one
  :class:`~qalqan.errors.ConfigError`;
- :func:`parts` lists every part; :func:`registry` lists ``(field, variable,
  default as shown, help)`` for the docs and ``--help`` (a test checks that
  ``docs/configuration.md`` lists every setting);
- :func:`shown` gives every value as it may be printed, secrets as stars.

Secrets are held in :class:`Secret`, which never prints its value: not in
``repr``, not in logs, not in error messages.

The dataclass checks its own values in ``__post_init__`` and raises a
``ConfigError`` whose message starts with its title (``"HTTP API settings: "``);
:func:`resolve` folds those problems into its own single error, adding where a
value named in them was set.

A settings file has one table per part::

    [http]
    port = 9090
    deadline_ms = 30

    [workflow]
    claim_ttl = "20m"

The SIP server's YAML file (``qalqan serve --sip-config``) is the ``sip`` table
on its own: :meth:`SettingsFile.read` with ``section="sip"``. The rules file of
the screening engine is not flattened in here: its path is a setting
(``http.rules``) and it keeps its own linter.
"""

from __future__ import annotations

import hmac
import importlib
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import Field, dataclass, fields, is_dataclass
from datetime import timedelta
from enum import Enum
from pathlib import Path
from types import UnionType
from typing import Any, Final, TypeVar, Union, get_args, get_origin, get_type_hints

from qalqan.errors import ConfigError

__all__ = [
    "CONFIG_VARIABLE",
    "DEFAULT",
    "FLAG",
    "MAX_FILE_BYTES",
    "Part",
    "Resolved",
    "Secret",
    "SettingsFile",
    "every_variable",
    "from_env",
    "load",
    "parse_value",
    "part",
    "parts",
    "registry",
    "resolve",
    "setting",
    "settings_file",
    "shown",
    "shown_value",
]

S = TypeVar("S")
T = TypeVar("T")

CONFIG_VARIABLE: Final = "QALQAN_CONFIG"
"""The environment variable naming the settings file every command reads."""
MAX_FILE_BYTES: Final = 1 << 20
"""A settings file is a few kilobytes; one past this size is refused unread."""

DEFAULT: Final = "default"
"""The source of a value nothing set."""
FLAG: Final = "flag"
"""The source of a value a command's option set."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_NONE = ("none", "off")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|min|h|d)", re.IGNORECASE)
_MAX_YAML_DEPTH = 8  # sections, their settings, a group's or a mapping's values: 3 at most
_DURATION_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86_400.0}

# The modules whose settings join the registry; importing them registers their parts.
_MODULES: Final = (
    "qalqan.api.config",
    "qalqan.sip.config",
    "qalqan.screening.stir",
    "qalqan.screening.node",
    "qalqan.screening.farm_watch",
    "qalqan.cases.store",
    "qalqan.console.settings",
    "qalqan.training.cache",
)


class Secret:
    """A value that must not be printed: ``str()`` and ``repr()`` show stars."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one place that needs it."""
        return self._value

    def matches(self, candidate: str) -> bool:
        """Compare in constant time, so that timing does not leak the value."""
        return hmac.compare_digest(self._value.encode(), candidate.encode())

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and self.matches(other._value)

    def __hash__(self) -> int:
        return hash(self._value)


def setting(env: str, help: str, *, secret: bool = False) -> dict[str, Any]:
    """A field's entry in the registry (its ``metadata``): environment variable and help text."""
    return {"env": env, "help": help, "secret": secret}


# --- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Part:
    """One part's settings: its class, its table in the settings file, its variables' prefix."""

    section: str
    cls: type[Any]
    prefix: str
    title: str
    parse: Callable[[Any, str], Any]
    """Reads a value given as text (the environment's): :func:`parse_value` or the part's own."""

    def settings_fields(self) -> list[Field[Any]]:
        """The fields that are settings (a field without a variable is derived, not set)."""
        return [f for f in fields(self.cls) if "env" in f.metadata]


_PARTS: dict[type[Any], Part] = {}


def part(
    section: str,
    *,
    prefix: str,
    title: str,
    parse: Callable[[Any, str], Any] | None = None,
) -> Callable[[type[T]], type[T]]:
    """Register a settings dataclass as the part ``section`` (a class decorator).

    A setting without help text, or whose variable is outside ``prefix``,
    cannot be registered.
    """

    def register(cls: type[T]) -> type[T]:
        for f in fields(cls):  # type: ignore[arg-type]
            if not f.metadata.get("help"):
                raise TypeError(f"{cls.__name__}.{f.name} has no help text")
            env = f.metadata.get("env")
            if env is not None and not env.startswith(prefix):
                raise TypeError(f"{cls.__name__}.{f.name}: {env} is not under {prefix}")
        found = Part(section, cls, prefix, title, parse or parse_value)
        clash = [p for p in _PARTS.values() if p.section == section and p.cls is not cls]
        if clash:
            raise TypeError(f"the section {section} is {clash[0].cls.__name__}'s already")
        _PARTS[cls] = found
        return cls

    return register


def parts() -> list[Part]:
    """Every registered part, in the order of the settings file's documentation."""
    for module in _MODULES:
        importlib.import_module(module)
    return list(_PARTS.values())


def _part_of(cls: type[Any]) -> Part:
    try:
        return _PARTS[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a registered settings part") from None


# --- reading values ----------------------------------------------------------------------------


def _unwrap(kind: Any) -> tuple[Any, bool]:
    """``(kind without None, whether None is allowed)`` for ``X | None``."""
    if get_origin(kind) in (Union, UnionType):
        args = [a for a in get_args(kind) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(get_args(kind))
    return kind, False


def _bool(raw: str) -> bool:
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ValueError("is not true or false")


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("is not a whole number") from None


def _float(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError("is not a number") from None


def _duration(raw: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d`` or ``1h30m``."""
    text = raw.replace(" ", "")
    found = list(_DURATION.finditer(text))
    if not found or "".join(m.group(0) for m in found) != text:
        raise ValueError("is not a duration like 90s, 15m, 2h or 1d")
    seconds = sum(float(m.group(1)) * _DURATION_UNITS[m.group(2).lower()] for m in found)
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError("is too long a duration") from None


def _pairs(raw: str) -> dict[str, str]:
    """``a=1,b=2`` as a mapping of text to text."""
    found: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, equals, value = item.partition("=")
        if not equals or not key.strip() or not value.strip():
            raise ValueError(f"'{item.strip()}' is not KEY=VALUE")
        found[key.strip()] = value.strip()
    return found


_PARSERS: Final[Mapping[Any, Callable[[str], Any]]] = {
    bool: _bool,
    int: _int,
    float: _float,
    timedelta: _duration,
    Path: Path,
    Secret: Secret,
    str: str,
}


def parse_value(kind: Any, raw: str) -> Any:
    """``raw`` as the field's type: bool, int, float, a duration, an enum, a path, a secret,
    ``KEY=VALUE,...`` for a mapping or a group of settings, or text.

    ``none`` or ``off`` turns off a number that may be None (a port).
    """
    inner, optional = _unwrap(kind)
    if optional and inner in (int, float) and raw.strip().lower() in _NONE:
        return None
    if inner in _PARSERS:
        return _PARSERS[inner](raw)
    if isinstance(inner, type) and issubclass(inner, Enum):
        try:
            return inner(raw.lower())
        except ValueError:
            raise ValueError(f"is not one of {', '.join(str(m.value) for m in inner)}") from None
    if is_dataclass(inner):
        return _group(inner, _pairs(raw))
    if get_origin(inner) is Mapping or inner is Mapping:
        return _pairs(raw)
    return raw


def _group(kind: Any, values: Mapping[str, Any]) -> Any:
    """A group of settings (``timers``) from a mapping; unknown names are refused."""
    hints = get_type_hints(kind)
    names = {f.name for f in fields(kind)}
    extra = sorted(str(k) for k in values if k not in names)
    if extra:
        raise ValueError(f"unknown {getattr(kind, 'ITEM', 'setting')} {', '.join(extra)}")
    return kind(**{k: _file_value(hints[k], v, parse_value) for k, v in values.items()})


def _file_value(kind: Any, value: Any, parse: Callable[[Any, str], Any]) -> Any:
    """A value as the settings file gave it (TOML or YAML types) as the field's type."""
    inner, optional = _unwrap(kind)
    if value is None:
        if optional:
            return None
        raise ValueError("must have a value")
    if isinstance(value, str):
        return parse(kind, value)
    if isinstance(value, Mapping):
        if is_dataclass(inner):
            return _group(inner, value)
        if get_origin(inner) is Mapping:
            if any(isinstance(v, Mapping | list) for v in value.values()):
                raise ValueError("has a table or a list where one value goes")
            return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}
        raise ValueError("is a table, not one value")
    if isinstance(value, bool) != (inner is bool):
        raise ValueError("is not true or false" if inner is bool else "is true or false")
    if isinstance(value, bool | int | float):
        return _number(inner, value, parse, kind)
    raise ValueError("is not one value")


def _number(inner: Any, value: bool | float, parse: Callable[[Any, str], Any], kind: Any) -> Any:
    if inner is bool or (inner is int and isinstance(value, int)):
        return value
    if inner is float:
        return float(value)
    if inner is int:
        raise ValueError("is not a whole number")
    return parse(kind, str(value))


# --- the settings file -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettingsFile:
    """A settings file as read: each part's table, and the line each key is on."""

    path: Path | None
    """None for settings handed over already parsed (no file to point into)."""
    sections: Mapping[str, Mapping[str, Any]]
    lines: Mapping[tuple[str, str], int]

    @classmethod
    def read(cls, path: Path, *, section: str | None = None) -> SettingsFile:
        """Read TOML (``.toml``) or YAML (any other name), at most :data:`MAX_FILE_BYTES`.

        With ``section``, the file holds that one part's settings at its top
        level (the SIP server's YAML file).
        """
        text = _bounded_text(path)
        if path.suffix.lower() == ".toml":
            data, lines = _read_toml(path, text)
        else:
            data, lines = _read_yaml(path, text)
        if section is not None:
            data = {section: data}
            lines = {(section, key): line for (key, _), line in lines.items()}
        return cls.of(path, data, lines)

    @classmethod
    def of(
        cls,
        path: Path | None,
        data: Mapping[str, Any],
        lines: Mapping[tuple[str, str], int] | None = None,
    ) -> SettingsFile:
        """Settings already parsed: ``{section: {key: value}}``; each section must be a table."""
        found = cls(path, {str(k): v for k, v in data.items()}, lines or {})
        problems = [found.at(str(name), "") + problem for name, problem in _sections_wrong(data)]
        if problems:
            raise ConfigError("; ".join(problems))
        return found

    def where(self, section: str, key: str) -> str:
        """``file:line`` of a key (the section's line, or line 1, when the key's is not known);
        ``section.key`` for settings that came from no file."""
        if self.path is None:
            return f"{section}.{key}"
        line = self.lines.get((section, key)) or self.lines.get((section, "")) or 1
        return f"{self.path}:{line}"

    def at(self, section: str, key: str) -> str:
        """``file:line: `` to put before a problem, or nothing for settings from no file."""
        return "" if self.path is None else f"{self.where(section, key)}: "


def _sections_wrong(data: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(name, what is wrong)`` for each top-level name of a settings file that is no part's
    table; a setting's name there (a file of one part's settings) is told where it goes."""
    known = {p.section for p in _PARTS.values()}
    if set(data) - known:  # only then is every part imported, to be sure
        known = {p.section for p in parts()}
    for name, table in data.items():
        if name in known:
            if not isinstance(table, Mapping):
                yield name, f"section '{name}' is not a table of settings"
            continue
        owners = [p.section for p in _PARTS.values() for f in p.settings_fields() if f.name == name]
        hint = f"; {name} is a setting of the {' or '.join(owners)} table" if owners else ""
        yield name, f"unknown section '{name}' (known: {', '.join(sorted(known))}{hint})"


def _bounded_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the settings file: {error.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: a settings file is at most {MAX_FILE_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start})") from None


_TOML_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\" ]+?)\s*=")


def _toml_path(text: str) -> list[str]:
    return [p.strip().strip('"') for p in text.split(".")]


def _read_toml(path: Path, text: str) -> tuple[dict[str, Any], dict[tuple[str, str], int]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deep for a settings file") from None
    lines: dict[tuple[str, str], int] = {}
    table: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if found := _TOML_TABLE.match(line):
            table = _toml_path(found.group(1))
            lines.setdefault((table[0], "" if len(table) == 1 else table[1]), number)
        elif found := _TOML_KEY.match(line):
            keys = [*table, *_toml_path(found.group(1))]
            lines.setdefault((keys[0], "" if len(keys) == 1 else keys[1]), number)
    return data, lines


def _read_yaml(path: Path, text: str) -> tuple[dict[str, Any], dict[tuple[str, str], int]]:
    import yaml

    try:
        _check_yaml_shape(path, yaml.parse(text, Loader=yaml.SafeLoader))
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not YAML: {error}".replace("\n", " ")) from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}: settings are a mapping of names to values")
    lines: dict[tuple[str, str], int] = {}
    for key, value in root.value:
        lines[(str(key.value), "")] = key.start_mark.line + 1
        if isinstance(value, yaml.MappingNode):
            for inner, _ in value.value:
                lines[(str(key.value), str(inner.value))] = inner.start_mark.line + 1
    return data, lines


def _check_yaml_shape(path: Path, events: Iterable[Any]) -> None:
    """Refuse, before building anything, YAML nested deeper than settings go, or with aliases
    (a small file that expands to a large one); the events stop at the first."""
    import yaml

    depth = 0
    for event in events:
        if isinstance(event, yaml.AliasEvent):
            raise ConfigError(f"{path}: anchors and aliases have no place in a settings file")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_YAML_DEPTH:
                raise ConfigError(f"{path}: nested too deep for a settings file")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


# --- resolving a part --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolved:
    """A part's effective settings and, per field, where its value came from."""

    part: Part
    settings: Any
    sources: Mapping[str, str]
    """Field name → ``default``, ``file:line``, the environment variable, or ``flag``."""


def settings_file(
    file: SettingsFile | Path | str | None, environ: Mapping[str, str]
) -> SettingsFile | None:
    """The settings file to read: the one given, else the one ``QALQAN_CONFIG`` names, else none."""
    if isinstance(file, SettingsFile):
        return file
    if file is None:
        file = environ.get(CONFIG_VARIABLE, "").strip() or None
    return SettingsFile.read(Path(file)) if file is not None else None


def resolve(
    cls: type[Any],
    *,
    environ: Mapping[str, str] | None = None,
    file: SettingsFile | Path | str | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Resolved:
    """``cls``'s settings from its defaults, the file, the environment and ``flags``, in that order.

    ``flags`` are the command line's options by field name; None means not given.
    Every problem of every source is named in one :class:`ConfigError` that
    starts with the part's title.
    """
    found = _part_of(cls)
    env = os.environ if environ is None else environ
    source = settings_file(file, env)
    values: dict[str, Any] = {}
    sources = {f.name: DEFAULT for f in found.settings_fields()}
    problems: list[str] = []
    if source is not None:
        problems += _from_file(found, source, values, sources)
    problems += _from_environ(found, env, values, sources)
    problems += _from_flags(found, flags or {}, values, sources)
    heading = f"{found.title}: "
    settings = None
    try:
        settings = found.cls(**values)
    except ConfigError as error:  # the values that parsed may still be wrong: name them too
        problems.append(_located(str(error).removeprefix(heading), found, sources))
    if problems:
        raise ConfigError(heading + "; ".join(problems))
    return Resolved(found, settings, sources)


def load(
    cls: type[S],
    *,
    environ: Mapping[str, str] | None = None,
    file: SettingsFile | Path | str | None = None,
    flags: Mapping[str, Any] | None = None,
) -> S:
    """``cls``'s effective settings (see :func:`resolve`)."""
    settings: S = resolve(cls, environ=environ, file=file, flags=flags).settings
    return settings


def from_env(
    cls: type[S],
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> S:
    """``cls``'s settings from the file ``QALQAN_CONFIG`` names, the environment and
    ``overrides`` (a command's options by field name; None means not given)."""
    return load(cls, environ=environ, flags=overrides)


def _from_file(
    found: Part, source: SettingsFile, values: dict[str, Any], sources: dict[str, str]
) -> list[str]:
    hints = get_type_hints(found.cls)
    by_name = {f.name: f for f in found.settings_fields()}
    problems: list[str] = []
    for key, raw in source.sections.get(found.section, {}).items():
        at = source.at(found.section, str(key))
        if key not in by_name:
            problems.append(f"{at}unknown setting {found.section}.{key}")
            continue
        try:
            values[key] = _file_value(hints[key], raw, found.parse)
        except ValueError as error:
            shown = "(hidden)" if by_name[key].metadata["secret"] else repr(raw)
            problems.append(f"{at}{found.section}.{key} = {shown}: {error}")
            continue
        sources[key] = source.where(found.section, str(key))
    return problems


def _from_environ(
    found: Part, env: Mapping[str, str], values: dict[str, Any], sources: dict[str, str]
) -> list[str]:
    hints = get_type_hints(found.cls)
    declared = found.settings_fields()
    known = {f.metadata["env"] for f in declared}
    problems = [
        f"{name} is not a setting (known: {', '.join(sorted(known))})"
        for name in sorted(env)
        if name.startswith(found.prefix) and name not in known
    ]
    for f in declared:
        variable = f.metadata["env"]
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        try:
            values[f.name] = found.parse(hints[f.name], raw)
        except ValueError as error:
            shown = "(hidden)" if f.metadata["secret"] else repr(raw)
            problems.append(f"{variable}={shown}: {error}")
            continue
        sources[f.name] = variable
    return problems


def _from_flags(
    found: Part, flags: Mapping[str, Any], values: dict[str, Any], sources: dict[str, str]
) -> list[str]:
    given = {k: v for k, v in flags.items() if v is not None}
    unknown = sorted(set(given) - set(sources))
    for name in set(given) - set(unknown):
        values[name] = given[name]
        sources[name] = FLAG
    return [f"unknown setting(s) {', '.join(unknown)}"] if unknown else []


def _located(problem: str, found: Part, sources: Mapping[str, str]) -> str:
    """``problem``, followed by where each setting it names was set (when not by default)."""
    notes = [
        f"{found.section}.{f.name} from {sources[f.name]}"
        for f in found.settings_fields()
        if sources[f.name] not in (DEFAULT, f.metadata["env"])
        and (f.metadata["env"] in problem or re.search(rf"\b{f.name}\b", problem))
    ]
    return f"{problem} ({', '.join(notes)})" if notes else problem


# --- showing -----------------------------------------------------------------------------------


def _shown_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:.6f}".rstrip("0").rstrip(".") + "s"


def shown_value(value: Any) -> str:
    """One setting's value as it may be printed (a :class:`Secret` prints as stars)."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, timedelta):
        return _shown_duration(value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={shown_value(v)}" for k, v in value.items()) or "(none)"
    if is_dataclass(value) and not isinstance(value, type):
        return ",".join(f"{f.name}={shown_value(getattr(value, f.name))}" for f in fields(value))
    return str(value)


def registry(cls: type[Any]) -> list[tuple[str, str, str, str]]:
    """``(field, environment variable, default as shown, help)`` of every setting of ``cls``."""
    defaults = cls()
    return [
        (f.name, f.metadata["env"], shown_value(getattr(defaults, f.name)), f.metadata["help"])
        for f in fields(cls)
        if "env" in f.metadata
    ]


def shown(settings: Any) -> dict[str, str]:
    """Every setting of ``settings`` by its environment variable, as it may be printed."""
    return {
        f.metadata["env"]: shown_value(getattr(settings, f.name))
        for f in fields(settings)
        if "env" in f.metadata
    }


def every_variable() -> Iterable[str]:
    """Every environment variable of every part, and :data:`CONFIG_VARIABLE`."""
    yield CONFIG_VARIABLE
    for found in parts():
        for f in found.settings_fields():
            yield f.metadata["env"]
