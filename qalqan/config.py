"""Settings read from the environment: one idiom for every part of Qalqan that has them.

A part's settings are a frozen dataclass whose fields each declare, with
:func:`setting`, their environment variable and help text (and whether the
value is a secret). From that one declaration:

- :func:`from_env` reads the variables collect-or-raise: every unreadable
  value, and every unknown variable under the part's prefix (usually a typo),
  is named in one :class:`~qalqan.errors.ConfigError`;
- :func:`registry` lists ``(field, variable, default as shown, help)`` for the
  docs and ``--help`` (a test checks the docs list every setting);
- :func:`shown` gives every value as it may be printed, secrets as stars.

Secrets are held in :class:`Secret`, which never prints its value: not in
``repr``, not in logs, not in error messages.

The dataclass checks its own values in ``__post_init__`` and raises a
``ConfigError`` whose message starts with its title (``"HTTP API settings: "``);
:func:`from_env` folds those problems into its own single error.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Mapping
from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from qalqan.errors import ConfigError

__all__ = ["Secret", "from_env", "parse_value", "registry", "setting", "shown", "shown_value"]

S = TypeVar("S")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


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


def parse_value(kind: Any, raw: str) -> Any:
    """``raw`` as the field's type: bool, int, float, an enum, a path, a secret or text."""
    if kind is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ValueError("is not true or false")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError("is not a whole number") from None
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError("is not a number") from None
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(raw.lower())
        except ValueError:
            raise ValueError(f"is not one of {', '.join(str(m.value) for m in kind)}") from None
    if kind in (Path, Path | None):
        return Path(raw)
    if kind in (Secret, Secret | None):
        return Secret(raw)
    return raw


def from_env(
    cls: type[S],
    *,
    prefix: str,
    title: str,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    parse: Callable[[Any, str], Any] = parse_value,
) -> S:
    """Settings ``cls`` from ``prefix*`` variables, then ``overrides`` (None means not given).

    Every unreadable variable, every unknown ``prefix*`` variable and every
    problem the settings find in themselves is named in one
    :class:`ConfigError` that starts with ``title``.
    """
    env = os.environ if environ is None else environ
    hints = get_type_hints(cls)
    declared = fields(cls)  # type: ignore[arg-type]
    known = {f.metadata["env"] for f in declared}
    problems = [
        f"{name} is not a setting (known: {', '.join(sorted(known))})"
        for name in sorted(env)
        if name.startswith(prefix) and name not in known
    ]
    values: dict[str, Any] = {}
    for f in declared:
        raw = env.get(f.metadata["env"], "").strip()
        if not raw:
            continue
        try:
            values[f.name] = parse(hints[f.name], raw)
        except ValueError as error:
            value = "(hidden)" if f.metadata["secret"] else repr(raw)
            problems.append(f"{f.metadata['env']}={value}: {error}")
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    unknown = sorted(set(values) - {f.name for f in declared})
    if unknown:
        problems.append(f"unknown setting(s) {', '.join(unknown)}")
        values = {k: v for k, v in values.items() if k not in unknown}
    heading = f"{title}: "
    try:
        settings = cls(**values)
    except ConfigError as error:  # the values that parsed may still be wrong: name them too
        problems.append(str(error).removeprefix(heading))
    if problems:
        raise ConfigError(heading + "; ".join(problems))
    return settings


def shown_value(value: Any) -> str:
    """One setting's value as it may be printed (a :class:`Secret` prints as stars)."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={shown_value(v)}" for k, v in value.items()) or "(none)"
    return str(value)


def registry(cls: type[Any]) -> list[tuple[str, str, str, str]]:
    """``(field, environment variable, default as shown, help)`` of every setting of ``cls``."""
    defaults = cls()
    return [
        (f.name, f.metadata["env"], shown_value(getattr(defaults, f.name)), f.metadata["help"])
        for f in fields(cls)
    ]


def shown(settings: Any) -> dict[str, str]:
    """Every setting of ``settings`` by its environment variable, as it may be printed."""
    return {f.metadata["env"]: shown_value(getattr(settings, f.name)) for f in fields(settings)}
