"""Phone numbers: E.164 checks, normalisation and numbering-plan facts.

Qalqan stores every number as E.164 with a leading ``+`` (``+77011234567``).
Operators hand over numbers in many shapes (``8 701 123 45 67``,
``+7 (701) 123-45-67``, ``0077011234567``, in Azerbaijan ``050 123 45 67``);
:func:`normalise` turns them into E.164 or raises :class:`~qalqan.errors.NumberError`.
A national form means nothing without its country, so the caller always names it
(``region``): no country is assumed.

Syntax (:func:`is_e164`) and numbering-plan validity (:func:`describe`) are
kept apart on purpose: a syntactically good number that no operator was ever
allocated is not a broken row, it is evidence of a spoofed caller ID.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

import phonenumbers
from phonenumbers import PhoneNumberType

from qalqan.errors import NumberError

__all__ = [
    "E164_PATTERN",
    "KIND_NAMES",
    "NumberInfo",
    "describe",
    "is_e164",
    "is_region",
    "normalise",
    "region_of_engine",
]

#: E.164: a plus, a country code not starting with 0, at most 15 digits in all.
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
_E164 = re.compile(E164_PATTERN)
_SEPARATORS = re.compile(r"[\s().\-/]")

_TYPE_NAMES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}

#: The kind :func:`describe` gives a number of each ``phonenumbers`` type (read-only).
KIND_NAMES: Mapping[int, str] = MappingProxyType(_TYPE_NAMES)


def is_e164(text: str) -> bool:
    """True when ``text`` is written as E.164: ``+`` and 7 to 15 digits, no separators."""
    return _E164.match(text) is not None


def is_region(code: str) -> bool:
    """Whether ``code`` is an ISO 3166 alpha-2 country with a numbering plan (``KZ``, ``AZ``).

    >>> is_region("AZ"), is_region("az"), is_region("XX")
    (True, False, False)
    """
    return code in phonenumbers.SUPPORTED_REGIONS


def region_of_engine(decide: object) -> str | None:
    """The home country of the screening engine whose method ``decide`` is, None if unknown.

    A node configured with ``region: auto`` reads national-format numbers by it: the
    engine knows its country from its settings, its subscribers or the traffic
    (``network.home_region``).
    """
    home = getattr(getattr(decide, "__self__", None), "home_region", None)
    return home if isinstance(home, str) and is_region(home) else None


def normalise(raw: str, *, region: str | None) -> str:
    """Return ``raw`` as E.164, reading national forms by the numbering plan of ``region``.

    ``region`` is the ISO 3166 alpha-2 code of the country the number was written in
    (the operator's); international forms (``+…``, ``00…``) do not depend on it. With
    ``region`` None (the operator's country is not known yet) a national form is refused:
    guessing a country would give another country's subscriber.

    >>> normalise("8 (701) 123-45-67", region="KZ")
    '+77011234567'
    >>> normalise("050 123 45 67", region="AZ")
    '+994501234567'
    >>> normalise("00 996 555 123 456", region="AZ")
    '+996555123456'
    """
    text = _SEPARATORS.sub("", raw.strip())
    if not text:
        raise NumberError("empty number")
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        if is_e164(text):
            return text
        raise NumberError(f"'{raw}' is not an E.164 number (+ and 7 to 15 digits)")
    if region is None:
        raise NumberError(
            f"'{raw}' is in national form and the operator's country is not known: "
            "send it in E.164 (+...) or set the numbering plan's region"
        )
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise NumberError(f"'{raw}' cannot be read as a phone number: {exc}") from None
    result = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not is_e164(result):
        raise NumberError(f"'{raw}' does not give an E.164 number")
    return result


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberInfo:
    """What the numbering plan says of one E.164 number."""

    number: str
    country_code: int
    region: str | None
    """ISO 3166 alpha-2 of the number's country (``KZ``, ``RU``), None when not geographic."""
    valid: bool
    """True when the number lies in a range allocated by the numbering plan."""
    kind: str
    """``mobile``, ``fixed``, ``toll_free``, ``premium``, ``voip``, ... or ``unknown``."""

    def is_domestic(self, home_region: str) -> bool:
        return self.region == home_region


def _region_by_prefix(parsed: phonenumbers.PhoneNumber) -> str | None:
    code = parsed.country_code or 0
    if code == 7:
        # +7 is shared: Kazakhstan holds the 6xx and 7xx ranges, Russia the rest.
        return "KZ" if str(parsed.national_number)[:1] in ("6", "7") else "RU"
    region: str | None = phonenumbers.region_code_for_country_code(code)
    return None if region in (None, "ZZ", "001") else region


@lru_cache(maxsize=1 << 18)
def describe(number: str) -> NumberInfo:
    """Numbering-plan facts of an E.164 number (cached: numbers repeat a lot in CDRs)."""
    if not is_e164(number):
        raise NumberError(f"'{number}' is not an E.164 number")
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return NumberInfo(number=number, country_code=0, region=None, valid=False, kind="unknown")
    valid = phonenumbers.is_valid_number(parsed)
    region = phonenumbers.region_code_for_number(parsed) if valid else None
    if region in (None, "ZZ", "001"):
        # An unallocated number still belongs to a country by its prefix.
        region = _region_by_prefix(parsed)
    kind = _TYPE_NAMES.get(phonenumbers.number_type(parsed), "unknown") if valid else "unknown"
    return NumberInfo(
        number=number, country_code=parsed.country_code or 0, region=region, valid=valid, kind=kind
    )
