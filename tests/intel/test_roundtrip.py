"""Export, then import: every kind of indicator comes back with its value, source and campaign."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qalqan.intel.analysis import feed_of_analysis
from qalqan.intel.feed_file import parse_feed
from qalqan.intel.model import INDICATOR_KINDS
from qalqan.intel.sharing import feed_text
from qalqan.screening.reputation import ReputationLists
from tests.intel.conftest import (
    ACCOUNTS,
    FARM_CELLS,
    FARM_IMEIS,
    SIMBOX_IMSI,
    SIMBOX_NUMBER,
    SPOOFED_PRESENTED,
    WANGIRI_BLOCK,
)

FORMATS = ("misp", "stix")


def _facts(indicators: object) -> set[tuple[str, str, str, str, str]]:
    return {(i.kind, i.value, i.source, i.reason, i.campaign) for i in indicators}  # type: ignore[attr-defined]


def test_the_analysis_gives_every_kind_and_no_borrowed_number(analysis: Path) -> None:
    feed = feed_of_analysis(analysis, source="Operator A")
    values = {(i.kind, i.value) for i in feed.indicators}
    assert values == {
        ("number", SIMBOX_NUMBER),
        ("imsi", SIMBOX_IMSI),
        *(("imei", imei) for imei in FARM_IMEIS),
        *(("cell", cell) for cell in FARM_CELLS),
        ("number_range", WANGIRI_BLOCK),
        ("location", "49.927672,82.553073"),
        *(("account", account) for account, _ in ACCOUNTS),
    }
    assert all(i.source == "Operator A" and i.reason for i in feed.indicators)
    assert SPOOFED_PRESENTED not in {i.value for i in feed.indicators}
    by_value = {i.value: i.campaign for i in feed.indicators}
    assert by_value[FARM_IMEIS[0]] == by_value[SIMBOX_IMSI] == "C0002"
    assert by_value[WANGIRI_BLOCK] == "C0003"
    (office,) = [c for c in feed.campaigns if c.campaign_id == "C0002"]
    assert (office.office_start, office.office_end, office.utc_offset_h) == (8, 17, 8.0)
    assert (office.calls, office.victims, office.farms) == (600, 556, ("F0001",))


@pytest.mark.parametrize("format", FORMATS)
def test_a_feed_comes_back_whole(analysis: Path, format: str) -> None:
    feed = feed_of_analysis(analysis, source="Operator A")
    text = feed_text(feed, format=format, tlp="green")  # type: ignore[arg-type]
    read = parse_feed(text.encode(), file=f"feed.{format}.json")
    assert read.format == format and read.skipped == 0
    assert _facts(read.feed.indicators) == _facts(feed.indicators)
    assert {i.kind for i in read.feed.indicators} == set(INDICATOR_KINDS)
    assert read.feed.campaigns == feed.campaigns
    assert read.feed.source == "Operator A"


def test_importing_twice_adds_nothing_and_keeps_the_first_word(
    analysis: Path, tmp_path: Path
) -> None:
    feed = feed_of_analysis(analysis, source="Operator A")
    first = tmp_path / "a.json"
    first.write_text(feed_text(feed, format="stix"), encoding="utf-8")
    listed = tmp_path / "list.csv"
    listed.write_text(f"kind,value,source,reason\nimsi,{SIMBOX_IMSI},own,found here\n")
    from qalqan.intel.sharing import import_feed

    done = import_feed(first, into=listed)
    again = import_feed(first, into=listed)
    assert done.merged.already_listed == 1 and again.merged.added == 0
    lists = ReputationLists()
    lists.load_csv(listed)
    assert lists.imsis[SIMBOX_IMSI].source == "own"
    assert again.merged.already_listed == done.merged.added + 1


def test_a_partners_own_confidence_and_expiry_win(analysis: Path, tmp_path: Path) -> None:
    feed = feed_of_analysis(analysis, source="Operator A")
    bundle = json.loads(feed_text(feed, format="stix"))
    for obj in bundle["objects"]:
        if obj["type"] == "indicator":
            obj["confidence"] = 40
            obj["valid_until"] = "2027-01-01T00:00:00Z"
    path = tmp_path / "partner.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    from qalqan.intel.sharing import import_feed

    import_feed(path, into=tmp_path / "list.csv", confidence=90, expires_days=5)
    lists = ReputationLists()
    lists.load_csv(tmp_path / "list.csv")
    listing = lists.imeis[FARM_IMEIS[0]]
    assert listing.weight == 0.4
    assert listing.until == pytest.approx(1798761600.0)


def test_a_partners_plain_misp_event_is_read_by_attribute_types() -> None:
    """A partner who writes plain attributes, not Qalqan's objects, is read all the same."""
    event = {
        "Event": {
            "info": "Dala Bank: numbers used against our customers",
            "Orgc": {"name": "Dala Bank"},
            "Attribute": [
                {"type": "phone-number", "value": "+77011234567", "comment": "called customers"},
                {"type": "iban", "value": "KZ363167842790181311"},
                {"type": "btc", "value": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"},
                {"type": "bank-account-nr", "value": "40817810099910004312"},
                {"type": "ip-dst", "value": "10.0.0.1"},
            ],
            "Object": [
                {
                    "name": "phone",
                    "Attribute": [
                        {"object_relation": "msisdn", "type": "text", "value": "+77021234567"},
                        {"object_relation": "imei", "type": "text", "value": FARM_IMEIS[1]},
                        {"object_relation": "text", "type": "text", "value": "seen in a box"},
                    ],
                }
            ],
        }
    }
    read = parse_feed(json.dumps(event).encode(), file="dala.json")
    assert read.format == "misp" and read.skipped == 1
    assert {(i.kind, i.value, i.source, i.reason) for i in read.feed.indicators} == {
        ("number", "+77011234567", "Dala Bank", "called customers"),
        ("account", "bank:KZ363167842790181311", "Dala Bank", "MISP attribute iban"),
        ("account", "crypto:1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "Dala Bank", "MISP attribute btc"),
        ("account", "bank:40817810099910004312", "Dala Bank", "MISP attribute bank-account-nr"),
        ("number", "+77021234567", "Dala Bank", "seen in a box"),
        ("imei", FARM_IMEIS[1], "Dala Bank", "seen in a box"),
    }
