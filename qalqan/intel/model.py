"""What partners exchange: indicators and campaign facts, each with who said so and why.

An :class:`Indicator` is one value a partner can act on — a number, a number
range, an IMSI, an IMEI, a cell, a place, an account — with its ``source`` and
``reason``; a :class:`Feed` is what one export holds, or one import read. The
formats (:mod:`qalqan.intel.misp`, :mod:`qalqan.intel.stix`) translate feeds;
nothing here knows either of them.

Values are checked by :func:`parse_value` the same way whatever brought them:
a value that is not what its kind says is refused with the reason, never
listed. A number range is written as the numbers it covers, a prefix and one
``x`` a digit (``+222450000xx``), as fraud feeds write them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from qalqan.domain.numbers import is_e164
from qalqan.errors import QalqanError

__all__ = [
    "INDICATOR_KINDS",
    "SCREENING_KINDS",
    "CampaignFacts",
    "Feed",
    "FeedError",
    "Indicator",
    "IndicatorKind",
    "luhn_ok",
    "parse_value",
]

IndicatorKind = Literal["number", "number_range", "imsi", "imei", "cell", "location", "account"]
INDICATOR_KINDS: Final[tuple[IndicatorKind, ...]] = (
    "number",
    "number_range",
    "imsi",
    "imei",
    "cell",
    "location",
    "account",
)
SCREENING_KINDS: Final[frozenset[str]] = frozenset(
    {"number", "number_range", "imsi", "imei", "cell"}
)
"""The kinds the screening engine's reputation lists hold; the others inform investigators."""

_RANGE = re.compile(r"^\+[1-9][0-9]{2,13}x{1,12}$")
_IMSI = re.compile(r"^[2-7][0-9]{13,14}$")
_IMEI = re.compile(r"^[0-9]{15}$")
_CELL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
_ACCOUNT = re.compile(
    r"^(bank:[A-Za-z0-9_.-]{1,64}|msisdn:\+[1-9][0-9]{6,14}|ewallet:[A-Za-z0-9_.-]{1,64}"
    r"|crypto:[A-Za-z0-9]{8,128})$"
)
MAX_TEXT = 1000
"""Longest reason, source or campaign text kept; longer text is cut."""


class FeedError(QalqanError):
    """A partner's feed cannot be used: which file, which object, and why."""

    def __init__(self, file: str, where: str, reason: str) -> None:
        super().__init__(f"{file}: {where}: {reason}" if where else f"{file}: {reason}")
        self.file = file
        self.where = where
        self.reason = reason


def luhn_ok(digits: str) -> bool:
    """Whether the last digit of ``digits`` is the Luhn check digit of the others."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char)
        if i % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _location(text: str) -> str | None:
    lat_text, _, lon_text = text.partition(",")
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        return "is not a latitude,longitude pair"
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return "lies outside latitudes -90..90 and longitudes -180..180"
    return None


def _problem(kind: str, value: str) -> str | None:
    """Why ``value`` is not a ``kind``, or None when it is."""
    if kind == "number":
        return None if is_e164(value) else "is not an E.164 number (+ and 7 to 15 digits)"
    if kind == "number_range":
        return None if _RANGE.match(value) else "is not a number range (+, 3 to 14 digits, x's)"
    if kind == "imsi":
        return None if _IMSI.match(value) else "is not an IMSI (14 or 15 digits, MCC first)"
    if kind == "imei":
        if not _IMEI.match(value):
            return "is not an IMEI (15 digits)"
        return None if luhn_ok(value) else "fails the IMEI's Luhn check digit"
    if kind == "cell":
        return None if _CELL.match(value) else "is not a cell id (letters, digits, _.:/-)"
    if kind == "location":
        return _location(value)
    if kind == "account":
        return (
            None
            if _ACCOUNT.match(value)
            else "is not bank:ID, msisdn:+E164, ewallet:ID or crypto:ADDRESS"
        )
    return f"kind '{kind}' is not one of {', '.join(INDICATOR_KINDS)}"


def parse_value(kind: str, raw: object) -> str:
    """The value of an indicator of ``kind``, stripped; raises ValueError saying why not."""
    if not isinstance(raw, str):
        raise ValueError(f"a {kind} must be text, not {type(raw).__name__}")
    value = raw.strip()
    if len(value) > 200:
        raise ValueError(f"a {kind} of {len(value)} characters is too long")
    problem = _problem(kind, value)
    if problem is not None:
        raise ValueError(f"'{value}' {problem}")
    return value


def clip(text: str) -> str:
    """``text`` on one line and at most :data:`MAX_TEXT` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_TEXT else flat[: MAX_TEXT - 1] + "…"


@dataclass(frozen=True, slots=True, kw_only=True)
class Indicator:
    """One value a partner can act on, with who said so and why."""

    kind: IndicatorKind
    value: str
    source: str
    reason: str
    campaign: str = ""
    """The campaign the value served, when known (``C0002``)."""
    confidence: int | None = None
    """How sure the source is, 0–100 (STIX's and MISP's scale); None when it did not say."""
    until: datetime | None = None
    """When the source says the indicator stops being good."""

    def key(self) -> tuple[str, str]:
        return (self.kind, self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignFacts:
    """What ``qalqan analyze`` knows of one campaign: its size, its office day, its farms."""

    campaign_id: str
    kind: str = ""
    calls: int = 0
    victims: int = 0
    utc_offset_h: float | None = None
    office_start: int | None = None
    """The hour its office day starts, local time (0–23)."""
    office_end: int | None = None
    farms: tuple[str, ...] = ()
    first_seen: str = ""
    last_seen: str = ""
    reasons: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Feed:
    """Indicators and campaign facts, as one export holds them or one import read them."""

    source: str
    indicators: tuple[Indicator, ...] = ()
    campaigns: tuple[CampaignFacts, ...] = ()
    made: datetime = field(default_factory=lambda: datetime.now().astimezone())

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = dict.fromkeys(INDICATOR_KINDS, 0)
        for indicator in self.indicators:
            counted[indicator.kind] += 1
        return counted
