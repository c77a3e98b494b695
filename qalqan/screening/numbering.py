"""Numbering-plan facts of a caller ID on the engine's hot path: valid, and which country.

:func:`qalqan.domain.numbers.describe` is the reference, and it is cached; but
a number the engine has never seen costs it ~40 µs, mostly spent parsing a
string that is already E.164 and classifying the number's type, which the
engine does not need. Ordinary callers from other networks are new numbers
every few calls, so those 40 µs set the engine's 99th percentile.

:func:`number_facts` builds the ``phonenumbers`` object straight from the
E.164 digits and asks only "is it valid, and where": about 15 µs. When that
says *valid*, ``describe`` says the same, region included (a property test
holds the two together); when it says *invalid*, the answer is taken from
``describe`` itself, which also reads numbers written with a trunk prefix
after the country code. The rare invalid caller IDs pay both; they are
mostly repeats (a spoofing wave, a Wangiri range) and then come from the
cache.

``phonenumbers`` compiles a country's patterns the first time it meets one of its
numbers (1-10 ms), and by default keeps them only in the ``re`` module's bounded
cache. Callers choose their caller IDs: a call from a country the engine had not seen
since it started would outlast the engine's deadline and be answered by its default
(allow), and a caller rotating through countries could keep it so. :func:`warm_up`
keeps every pattern once compiled and compiles them all before the first call (about
0.6 s, once per process), so no caller ID costs a compilation on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType, re_util
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from qalqan.domain.numbers import describe
from qalqan.errors import NumberError

__all__ = ["NumberFacts", "number_facts", "warm_up"]

_NOT_GEOGRAPHIC: Final = (None, "ZZ", "001")


@dataclass(frozen=True, slots=True)
class NumberFacts:
    """What the engine asks of the numbering plan about one caller ID."""

    valid: bool
    """The number lies in a range the plan allocates."""
    region: str | None
    """ISO 3166 alpha-2 of the number's country, by its prefix even when invalid."""


def _valid_region(number: str) -> str | None:
    """The region of ``number`` when valid (the fast path), else None."""
    digits = number[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if not national:
        return None
    parsed = PhoneNumber(country_code=code, national_number=int(national))
    if len(national) > 1 and national[0] == "0":
        parsed.italian_leading_zero = True
        zeros = len(national) - len(national.lstrip("0"))
        if zeros > 1:
            parsed.number_of_leading_zeros = zeros
    if not phonenumbers.is_valid_number(parsed):
        return None
    region: str | None = phonenumbers.region_code_for_number(parsed)
    if region in _NOT_GEOGRAPHIC:
        return describe(number).region
    return region


def number_facts(number: str) -> NumberFacts | None:
    """Validity and country of an E.164 number; None when it is not E.164 at all."""
    if len(number) < 8 or number[0] != "+" or not number[1:].isdigit() or number[1] == "0":
        return None
    region = _valid_region(number)
    if region is not None:
        return NumberFacts(valid=True, region=region)
    try:
        info = describe(number)
    except NumberError:
        return None
    return NumberFacts(valid=info.valid, region=info.region)


@cache
def warm_up() -> None:
    """Compile every country's numbering patterns now and keep them (once per process)."""
    re_util.enable_pattern_cache()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                phonenumbers.is_valid_number(example)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            phonenumbers.is_valid_number(example)
