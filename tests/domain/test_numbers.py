"""Phone numbers: E.164 syntax, normalisation of national forms, numbering-plan facts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.domain.numbers import E164_PATTERN, describe, is_e164, normalise
from qalqan.errors import NumberError

e164 = st.from_regex(E164_PATTERN, fullmatch=True)
# Kazakhstan's mobile ranges: +7 70x and +7 747, +7 771, +7 775-778, subscriber part 7 digits.
kz_operator = st.sampled_from(
    ["700", "701", "702", "705", "707", "708", "747", "771", "775", "777", "778"]
)
kz_subscriber = st.from_regex(r"[0-9]{7}", fullmatch=True)


def spaced(operator: str, subscriber: str, style: int) -> str:
    """A Kazakh mobile number as people write it at home."""
    a, b, c = subscriber[:3], subscriber[3:5], subscriber[5:]
    return [
        f"8{operator}{subscriber}",
        f"8 {operator} {a} {b} {c}",
        f"8 ({operator}) {a}-{b}-{c}",
        f"8-{operator}-{a}-{b}-{c}",
        f"+7 {operator} {a} {b} {c}",
        f"+7 ({operator}) {a}-{b}-{c}",
        f"007 {operator} {subscriber}",
        f" 8{operator}.{a}.{b}.{c} ",
    ][style]


@given(e164)
def test_an_e164_number_normalises_to_itself(number: str) -> None:
    assert is_e164(number)
    assert normalise(number, region="KZ") == number
    assert normalise(number, region="AZ") == number  # the country matters for national forms only


@given(kz_operator, kz_subscriber, st.integers(0, 7))
def test_national_kazakh_forms_give_plus_7(operator: str, subscriber: str, style: int) -> None:
    assert normalise(spaced(operator, subscriber, style), region="KZ") == (
        f"+7{operator}{subscriber}"
    )


# Azerbaijan's mobile ranges: 0 10, 50, 51, 55, 60, 70, 77, 99 and a 7-digit subscriber part.
az_operator = st.sampled_from(["10", "50", "51", "55", "60", "70", "77", "99"])


def az_spaced(operator: str, subscriber: str, style: int) -> str:
    """An Azerbaijani mobile number as people write it at home."""
    a, b, c = subscriber[:3], subscriber[3:5], subscriber[5:]
    return [
        f"0{operator}{subscriber}",
        f"0{operator} {a} {b} {c}",
        f"(0{operator}) {a}-{b}-{c}",
        f"+994 {operator} {a} {b} {c}",
        f"00994{operator}{subscriber}",
    ][style]


@given(az_operator, kz_subscriber, st.integers(0, 4))
def test_national_azerbaijani_forms_give_plus_994(
    operator: str, subscriber: str, style: int
) -> None:
    raw = az_spaced(operator, subscriber, style)
    assert normalise(raw, region="AZ") == f"+994{operator}{subscriber}"


@given(kz_operator, kz_subscriber)
def test_a_national_form_is_read_in_the_country_named_not_as_kazakh(
    operator: str, subscriber: str
) -> None:
    """``8 701 …`` is a Kazakh number only where Kazakh numbers are written so."""
    raw = f"8{operator}{subscriber}"
    try:
        number = normalise(raw, region="AZ")
    except NumberError:
        return
    assert not number.startswith("+7")


def test_the_country_must_be_named() -> None:
    with pytest.raises(TypeError):
        normalise("87011234567")  # type: ignore[call-arg]


@given(st.text(max_size=20) | st.from_regex(r"[+0-9 ()\-]{0,20}", fullmatch=True))
def test_normalise_gives_e164_or_raises_number_error(raw: str) -> None:
    try:
        number = normalise(raw, region="KZ")
    except NumberError:
        return
    assert re.fullmatch(E164_PATTERN, number)


@given(st.text(max_size=20))
def test_is_e164_is_the_pattern(text: str) -> None:
    assert is_e164(text) == (re.fullmatch(E164_PATTERN, text) is not None)


@pytest.mark.parametrize(
    "text",
    ["87011234567", "+7 701 123 45 67", "+0123456789", "+123456", "+1234567890123456", "", "+"],
)
def test_what_is_not_e164(text: str) -> None:
    assert not is_e164(text)


@given(e164)
def test_describe_any_e164_number(number: str) -> None:
    info = describe(number)
    assert info.number == number
    assert number.startswith(f"+{info.country_code}") or info.country_code == 0
    if not info.valid:
        assert info.kind == "unknown"


def test_describe_tells_allocated_from_unallocated() -> None:
    mobile = describe("+77011234567")
    assert (mobile.region, mobile.valid, mobile.kind) == ("KZ", True, "mobile")
    assert mobile.is_domestic("KZ")
    unallocated = describe("+77990000000")  # well-formed, in Kazakhstan's share of +7, never issued
    assert (unallocated.region, unallocated.valid) == ("KZ", False)
    assert describe("+79161234567").region == "RU"


def test_describe_refuses_what_is_not_e164() -> None:
    with pytest.raises(NumberError):
        describe("87011234567")


@pytest.mark.parametrize("raw", ["", "   ", "abc", "+0123", "+7 (701) 123-45-67-89-01-23"])
def test_what_cannot_be_normalised(raw: str) -> None:
    with pytest.raises(NumberError):
        normalise(raw, region="KZ")


def test_the_docstring_examples_hold() -> None:
    import doctest

    from qalqan.domain import numbers

    result = doctest.testmod(numbers)
    assert result.attempted >= 3 and result.failed == 0


def test_the_simulated_azerbaijani_operators_numbers_read_back_from_national_forms(
    tmp_path: Path,
) -> None:
    """The small AZ operator (``qalqan simulate --family another-country``), written the way its
    subscribers write their numbers at home, reads back to the same E.164 numbers, all Azerbaijani."""
    import csv

    from qalqan.simulator.config import load_scenario
    from qalqan.simulator.operator import simulate

    simulate(tmp_path, load_scenario(None, family="another-country", subscribers=300, days=1))
    with (tmp_path / "subscribers.csv").open(encoding="utf-8", newline="") as f:
        numbers = [row["msisdn"] for row in csv.DictReader(f)]
    assert len(numbers) >= 300
    for number in numbers:
        national = "0" + number[4:]  # +994 50 1234567 -> 050 1234567
        written = f"({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}"
        assert normalise(written, region="AZ") == number
        assert describe(number).region == "AZ"
