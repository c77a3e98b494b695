"""Property tests of the values an import accepts: numbers, ranges, IMEIs with Luhn, IMSIs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.intel.feed_file import parse_feed
from qalqan.intel.model import INDICATOR_KINDS, Feed, FeedError, Indicator, luhn_ok, parse_value
from qalqan.intel.sharing import feed_text
from tests.intel.conftest import with_luhn

digits = st.text(alphabet="0123456789", min_size=1, max_size=20)
e164 = st.builds(
    lambda first, rest: f"+{first}{rest}",
    st.sampled_from("123456789"),
    st.text(alphabet="0123456789", min_size=6, max_size=14),
)
imei_bodies = st.text(alphabet="0123456789", min_size=14, max_size=14)
imsis = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("234567"),
    st.text(alphabet="0123456789", min_size=13, max_size=14),
)


def _luhn_by_hand(number: str) -> bool:
    """The Luhn check as its definition says: double every second digit from the right."""
    doubled = [int(c) * (2 if i % 2 else 1) for i, c in enumerate(reversed(number))]
    return sum(d // 10 + d % 10 for d in doubled) % 10 == 0


@given(digits)
def test_luhn_agrees_with_its_definition(number: str) -> None:
    assert luhn_ok(number) == _luhn_by_hand(number)


@given(imei_bodies, st.integers(0, 14), st.integers(1, 9))
def test_an_imei_with_its_check_digit_is_accepted_and_one_changed_digit_is_not(
    body: str, position: int, shift: int
) -> None:
    imei = with_luhn(body)
    assert parse_value("imei", f"  {imei} ") == imei
    changed = imei[:position] + str((int(imei[position]) + shift) % 10) + imei[position + 1 :]
    with pytest.raises(ValueError, match="Luhn"):
        parse_value("imei", changed)


@given(e164)
def test_e164_numbers_are_accepted_as_written(number: str) -> None:
    assert parse_value("number", number) == number


@given(e164, st.integers(1, 6))
def test_a_range_is_a_prefix_and_xs(number: str, width: int) -> None:
    block = number[: max(4, len(number) - width)] + "x" * width
    if len(block.rstrip("x")) - 1 > 14:
        return
    assert parse_value("number_range", block) == block
    with pytest.raises(ValueError):
        parse_value("number", block)


@given(imsis)
def test_imsis_are_accepted(imsi: str) -> None:
    assert parse_value("imsi", imsi) == imsi


@given(
    st.sampled_from(INDICATOR_KINDS),
    st.one_of(st.text(max_size=300), st.integers(), st.none(), st.lists(st.text(max_size=3))),
)
def test_any_value_is_accepted_whole_or_refused_with_a_reason(kind: str, raw: object) -> None:
    try:
        value = parse_value(kind, raw)
    except ValueError as exc:
        assert str(exc)
        return
    assert isinstance(raw, str) and value == raw.strip() and value
    assert parse_value(kind, value) == value


@given(st.sampled_from(["number", "imsi", "imei"]), st.text(max_size=40))
def test_a_stix_pattern_value_is_read_back_or_refused_naming_the_object(
    kind: str, text: str
) -> None:
    sco = {"number": "phone-number", "imsi": "imsi", "imei": "imei"}[kind]
    bundle = {"type": "bundle", "id": "bundle--1", "objects": [{
        "type": "indicator", "id": "indicator--1", "pattern_type": "stix",
        "pattern": f"[{sco}:value = '{text}']",
    }]}  # fmt: skip
    try:
        expected = parse_value(kind, text)
    except ValueError:
        expected = None
    if not text or "'" in text or "\\" in text:  # not the plain pattern form: skipped
        read = parse_feed(json.dumps(bundle).encode(), file="p.json")
        assert read.skipped == 1 and not read.feed.indicators
    elif expected is None:
        with pytest.raises(FeedError, match=r"^p\.json: object indicator--1: "):
            parse_feed(json.dumps(bundle).encode(), file="p.json")
    else:
        read = parse_feed(json.dumps(bundle).encode(), file="p.json")
        assert [(i.kind, i.value) for i in read.feed.indicators] == [(kind, expected)]


@given(st.lists(st.tuples(st.sampled_from(["number", "imei"]), e164, imei_bodies), max_size=5))
def test_generated_feeds_survive_both_formats(rows: list[tuple[str, str, str]]) -> None:
    indicators = tuple(
        Indicator(kind="number", value=number, source="P", reason="r")
        if kind == "number"
        else Indicator(kind="imei", value=with_luhn(body), source="P", reason="r")
        for kind, number, body in rows
    )
    feed = Feed(source="P", indicators=indicators)
    for format in ("misp", "stix"):
        read = parse_feed(feed_text(feed, format=format).encode(), file="p.json")  # type: ignore[arg-type]
        assert {i.key() for i in read.feed.indicators} == {i.key() for i in indicators}
