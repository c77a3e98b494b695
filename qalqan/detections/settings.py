"""What a detection reads from a screening rules file, said without the screening package.

The detections sit below the screening engine (its rules import them), so they
cannot import its configuration. They name what they read of it instead:
:class:`RulesFile` is any object with the rules' settings by rule id and the
roaming grace, as :class:`qalqan.screening.config.ScreeningConfig` has them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["RuleSettings", "RulesFile"]


class RuleSettings(Protocol):
    """One rule's settings, defaults filled in (``qalqan.screening.signals.Settings``)."""

    def seconds(self, name: str) -> float: ...

    def integer(self, name: str) -> int: ...

    def as_dict(self) -> dict[str, object]: ...


class RulesFile(Protocol):
    """A parsed rules file, as far as the detections read it."""

    @property
    def rules(self) -> Mapping[str, RuleSettings]: ...

    @property
    def roaming_grace_s(self) -> float: ...
