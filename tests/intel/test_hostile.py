"""Hostile feeds — huge, deep, malformed, of wrong types — are refused with the file, the
object and the reason, within bounds, and never touch the list."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from qalqan.intel.feed_file import FeedLimits, parse_feed, read_feed
from qalqan.intel.model import Feed, FeedError, Indicator
from qalqan.intel.sharing import feed_text

GOOD_IMEI = "353325102069410"


def _bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "bundle",
        "id": "bundle--6f9e0b1c-2b3a-4c5d-8e7f-0a1b2c3d4e5f",
        "objects": list(objects),
    }


def _indicator(pattern: str, **extra: object) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--0b7d2f0e-6a0b-4c27-9a37-2f3f3a8e4f10",
        "pattern": pattern, "pattern_type": "stix", **extra,
    }  # fmt: skip


def _refused(data: object, match: str, limits: FeedLimits | None = None) -> None:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    with pytest.raises(FeedError, match=match):
        parse_feed(raw, file="partner.json", limits=limits or FeedLimits())


def test_a_file_larger_than_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(2 * 1024 * 1024)  # sparse: two megabytes of nothing
    started = time.perf_counter()
    with pytest.raises(FeedError, match=r"huge.json: is larger than the limit of 1,048,576 bytes"):
        read_feed(path, limits=FeedLimits(max_bytes=1024 * 1024))
    assert time.perf_counter() - started < 0.5


def test_deep_nesting_is_refused_without_recursion() -> None:
    deep = b'{"type": "bundle", "objects": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    _refused(deep, r"partner.json: nests 100002 levels deep, more than the limit 24")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    feed = Feed(
        source="x" + "[" * 500 + '"\\',
        indicators=(Indicator(kind="imei", value=GOOD_IMEI, source="s", reason="{" * 500),),
    )
    read = parse_feed(feed_text(feed, format="stix").encode(), file="partner.json")
    assert [i.value for i in read.feed.indicators] == [GOOD_IMEI]


def test_too_many_objects_are_refused() -> None:
    many = _bundle(*({"type": "note", "id": f"note--{i}"} for i in range(2_000)))
    _refused(
        many, r"holds 2,001 JSON objects, more than the limit 1,000", FeedLimits(max_objects=1_000)
    )


def test_a_long_list_of_bare_values_is_refused() -> None:
    many = b'{"type": "bundle", "objects": [], "x": [' + b"1," * 5_000 + b"1]}"
    _refused(
        many, r"holds 5,003 JSON values, more than the limit 1,000", FeedLimits(max_values=1_000)
    )


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b'{"type": "bundle", "objects": [', r"partner.json: line 1 column 32: not JSON"),
        (b"\xff\xfe{}", r"partner.json: byte 0: is not UTF-8"),
        (b'{"type": "bundle", "objects": [{"type": "x", "id": NaN}]}', r"NaN is not a JSON number"),
        (b"[1, 2, 3]", r"is neither a STIX 2.1 bundle nor a MISP event"),
        (b'{"type": "bundle", "objects": {"a": 1}}', r"bundle: is not a STIX bundle"),
        (b'{"type": "bundle", "objects": [7]}', r"objects\[0\]: is not a STIX object"),
        (b'{"Event": []}', r"Event: is not a MISP event"),
        (b'{"Event": {"info": 5}}', r"Event: is not a MISP event"),
    ],
)
def test_malformed_feeds_say_where_and_why(raw: bytes, match: str) -> None:
    _refused(raw, match)


@pytest.mark.parametrize(
    ("pattern", "extra", "match"),
    [
        ("[imei:value = '353325102069411']", {}, "fails the IMEI's Luhn check digit"),
        ("[phone-number:value = '77011234567']", {}, "is not an E.164 number"),
        ("[imsi:value = '12345']", {}, "is not an IMSI"),
        (
            f"[imei:value = '{GOOD_IMEI}']",
            {"confidence": "high"},
            "confidence 'high' is not a whole number",
        ),
        (f"[imei:value = '{GOOD_IMEI}']", {"confidence": 101}, "confidence 101 is not"),
        (
            f"[imei:value = '{GOOD_IMEI}']",
            {"valid_until": "soon"},
            "'soon' is not a STIX timestamp",
        ),
    ],
)
def test_a_bad_stix_indicator_names_its_object(
    pattern: str, extra: dict[str, object], match: str
) -> None:
    _refused(
        _bundle(_indicator(pattern, **extra)),
        rf"partner.json: object indicator--0b7d2f0e-6a0b-4c27-9a37-2f3f3a8e4f10: .*{match}",
    )


def test_a_bad_misp_value_names_its_object() -> None:
    event = {
        "Event": {
            "info": "partner", "uuid": "b1c7a8a2-0a52-4bb4-9a0e-4f0d4b1f7d11",
            "Object": [{
                "name": "phone", "uuid": "0f3e5c1a-8e8b-4e1c-9a4b-6c3f1f2f9b10",
                "Attribute": [{"object_relation": "imei", "type": "text", "value": "12345678901234x"}],
            }],
        }
    }  # fmt: skip
    _refused(
        event,
        r"object 0f3e5c1a-8e8b-4e1c-9a4b-6c3f1f2f9b10 \(phone\): '12345678901234x' is not an IMEI",
    )


def test_a_misp_attribute_of_the_wrong_type_is_refused() -> None:
    event = {
        "Event": {
            "info": "partner",
            "Attribute": [{"type": "phone-number", "value": ["+77011234567"]}],
        }
    }
    _refused(event, r"partner.json: Event attribute 0: value \['\+77011234567'\] is not text")


def test_objects_of_no_kind_are_counted_not_guessed() -> None:
    bundle = _bundle(
        _indicator(f"[imei:value = '{GOOD_IMEI}']"),
        {"type": "malware", "id": "malware--1", "name": "x"},
        _indicator("[ipv4-addr:value = '10.0.0.1']") | {"id": "indicator--2"},
        _indicator(f"[imei:value = '{GOOD_IMEI}'] AND [imsi:value = '401770004272713']")
        | {"id": "indicator--3"},
    )
    read = parse_feed(json.dumps(bundle).encode(), file="partner.json")
    assert [i.value for i in read.feed.indicators] == [GOOD_IMEI]
    assert read.skipped == 3
