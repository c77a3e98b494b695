"""Every STIX bundle passes stix2-validator (offline); every MISP event loads with pymisp."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pymisp import MISPEvent
from stix2validator import ValidationOptions, validate_parsed_json

from qalqan.intel.analysis import feed_of_analysis
from qalqan.intel.misp import TLP_LEVELS
from qalqan.intel.model import CampaignFacts, Feed, Indicator
from qalqan.intel.sharing import feed_text
from qalqan.intel.stix import CAMPAIGN_EXTENSION, SCO_TYPES


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to open a connection fails the test: the validator must work offline."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def _validate(bundle: dict[str, Any]) -> list[str]:
    results = validate_parsed_json(bundle, ValidationOptions(version="2.1"))
    results = results if isinstance(results, list) else [results]
    assert results
    return [f"{r.object_id}: {e}" for r in results for e in r.errors if not r.is_valid] + [
        f"{r.object_id}: invalid" for r in results if not r.is_valid and not r.errors
    ]


FEEDS = {
    "empty": Feed(source="Operator B"),
    "one number, no campaign": Feed(
        source="Operator B",
        indicators=(
            Indicator(kind="number", value="+77011234567", source="Operator B", reason="x"),
        ),
    ),
    "a campaign with nothing known": Feed(
        source="Operator B", campaigns=(CampaignFacts(campaign_id="C1"),)
    ),
    "confidence and expiry": Feed(
        source="Operator B",
        indicators=(
            Indicator(
                kind="imsi",
                value="401770004272713",
                source="Operator B",
                reason="farm",
                confidence=55,
                until=datetime(2027, 1, 1, tzinfo=UTC),
            ),
        ),
    ),
}


@pytest.mark.parametrize("tlp", ["clear", "green", "amber", "red"])
def test_the_analysis_bundle_passes_the_validator_offline(
    analysis: Path, tlp: str, no_network: None
) -> None:
    bundle = json.loads(feed_text(feed_of_analysis(analysis), format="stix", tlp=tlp))
    assert _validate(bundle) == []


@pytest.mark.parametrize("name", list(FEEDS))
def test_every_bundle_passes_the_validator(name: str, no_network: None) -> None:
    assert _validate(json.loads(feed_text(FEEDS[name], format="stix"))) == []


def test_new_observables_are_declared_extensions_not_custom_objects(analysis: Path) -> None:
    bundle = json.loads(feed_text(feed_of_analysis(analysis), format="stix"))
    by_type: dict[str, list[dict[str, Any]]] = {}
    for obj in bundle["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    assert not [t for t in by_type if t.startswith("x-")]
    declared = {d["id"]: d for d in by_type["extension-definition"]}
    for sco_type in SCO_TYPES.values():
        for obj in by_type[sco_type]:
            (extension,) = obj["extensions"]
            assert declared[extension]["extension_types"] == ["new-sco"]
    (campaign, *_) = by_type["campaign"]
    assert declared[CAMPAIGN_EXTENSION]["extension_types"] == ["property-extension"]
    assert campaign["extensions"][CAMPAIGN_EXTENSION]["extension_type"] == "property-extension"


def test_a_bundle_with_a_broken_extension_fails_the_validator(analysis: Path) -> None:
    """The validator is really checking: an extension's facts given as an empty list fail."""
    bundle = json.loads(feed_text(feed_of_analysis(analysis), format="stix"))
    for obj in bundle["objects"]:
        if obj["type"] == "campaign":
            obj["extensions"][CAMPAIGN_EXTENSION]["farms"] = []
    assert _validate(bundle) != []


@pytest.mark.parametrize("tlp", TLP_LEVELS)
def test_the_misp_event_loads_with_pymisp(analysis: Path, tlp: str) -> None:
    text = feed_text(feed_of_analysis(analysis, source="Operator A"), format="misp", tlp=tlp)
    event = MISPEvent()
    event.load(text)
    tags = {tag.name for tag in event.tags}
    assert f"tlp:{tlp}" in tags
    assert {'gsma-fraud:business="social-engineering"', 'gsma-fraud:business="wangiri"'} <= tags
    assert event.Orgc.name == "Operator A"
    names = {obj.name for obj in event.objects}
    assert names == {
        "phone-number", "phone", "qalqan-cell", "geolocation", "bank-account", "coin-address",
        "qalqan-campaign",
    }  # fmt: skip
    assert 'gsma-fraud:business="interconnect-abuse"' in tags
    tag_of = {
        a.object_relation: {tag.name for tag in a.tags}
        for obj in event.objects
        for a in obj.attributes
        if a.tags
    }
    assert tag_of["imei"] == {'gsma-fraud:business="interconnect-abuse"'}
    assert tag_of["account"] == {'gsma-fraud:business="social-engineering"'}
    campaign_uuids = {obj.uuid for obj in event.objects if obj.name == "qalqan-campaign"}
    imsi_object = next(o for o in event.objects if o.get_attributes_by_relation("imsi"))
    assert {ref.referenced_uuid for ref in imsi_object.references} <= campaign_uuids
    assert imsi_object.references


def test_a_stix_tlp_the_format_lacks_is_refused(analysis: Path) -> None:
    with pytest.raises(ValueError, match="amber\\+strict"):
        feed_text(feed_of_analysis(analysis), format="stix", tlp="amber+strict")
