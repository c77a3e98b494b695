"""Feeds as STIX 2.1 bundles, and STIX bundles as feeds.

STIX 2.1 has no object for a phone number, an IMSI, an IMEI, a radio cell or a
bank account, so each is a new cyber-observable type declared by an
``extension-definition`` object in the same bundle (``extension_types:
["new-sco"]``), never an opaque ``x-`` custom object:

===============  ==================  ============================================
kind             SCO type            properties
===============  ==================  ============================================
``number``       ``phone-number``    ``value`` (E.164)
``number_range`` ``phone-number-range``  ``value`` (``+222450000xx``)
``imsi``         ``imsi``            ``value``
``imei``         ``imei``            ``value`` (15 digits, Luhn)
``cell``         ``mobile-cell``     ``value`` (the operator's cell id)
``account``      ``financial-account``  ``value`` (``bank:``, ``ewallet:``, ``msisdn:``,
                                     ``crypto:`` as exchange-v1 writes accounts)
===============  ==================  ============================================

Each value is an indicator (``[imei:value = '3533…']``) with its reason as
description, ``based-on`` its observable and ``indicates`` its campaign. A farm's
place is a ``location`` the campaign ``originates-from``. A campaign's facts
(calls, victims, office day, UTC offset, farms) are a property-extension of the
``campaign`` object, declared the same way. Reading a bundle takes the same
indicators back from their patterns (the plain ``[type:value = '…']`` form
alone), observables of the six types, locations and campaigns; anything else is
counted as skipped.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import stix2
from stix2 import v21
from stix2.properties import StringProperty

from qalqan.intel.model import CampaignFacts, Feed, FeedError, Indicator, clip, parse_value

__all__ = ["SCO_TYPES", "from_stix", "to_stix"]

SCO_TYPES: Final[dict[str, str]] = {
    "number": "phone-number",
    "number_range": "phone-number-range",
    "imsi": "imsi",
    "imei": "imei",
    "cell": "mobile-cell",
    "account": "financial-account",
}
_KIND_OF_TYPE: Final = {sco: kind for kind, sco in SCO_TYPES.items()}
_EXTENSION_IDS: Final[dict[str, str]] = {
    "phone-number": "extension-definition--953908fa-27cf-4931-b798-5270d9ba9e9e",
    "phone-number-range": "extension-definition--08a424ab-2281-41ef-be01-acbf57f617d4",
    "imsi": "extension-definition--d5c19cfd-d257-48d5-b03f-6b3986216072",
    "imei": "extension-definition--7568fd11-0afc-425c-810f-dc66517be74e",
    "mobile-cell": "extension-definition--ac150142-3e80-49b7-958b-2b35be17caa3",
    "financial-account": "extension-definition--8e66b4be-7afb-4be5-b915-d792372243b7",
}
CAMPAIGN_EXTENSION: Final = "extension-definition--acd4a48f-c09f-4edb-82bc-d82a064a133f"
_DESCRIPTIONS: Final = {
    "phone-number": "A telephone number in E.164 form (+ and 7 to 15 digits).",
    "phone-number-range": "A range of telephone numbers: an E.164 prefix and one x a digit.",
    "imsi": "The IMSI of a SIM card (14 or 15 digits).",
    "imei": "The IMEI of a handset or SIM-box port (15 digits, Luhn check digit).",
    "mobile-cell": "A radio cell of a mobile network, as its operator names it.",
    "financial-account": "An account money moves through: bank:ID, ewallet:ID, msisdn:+E164 "
    "(a SIM balance) or crypto:ADDRESS.",
    "campaign": "Facts of a fraud campaign: calls, victims, office day, UTC offset, farms.",
}
_TLP: Final = {
    "clear": stix2.TLP_WHITE,
    "green": stix2.TLP_GREEN,
    "amber": stix2.TLP_AMBER,
    "red": stix2.TLP_RED,
}
_PRODUCER: Final = "identity--0b6a4c2e-6c55-4b8e-8a39-2f4a5d1e7c90"
_DEFINED: Final = "2026-12-01T00:00:00.000Z"
_PATTERN: Final = re.compile(r"^\[([a-z][a-z0-9-]{1,40}):value = '([^'\\]{1,200})'\]$")


def _observable_class(sco_type: str) -> type[Any]:
    @v21.CustomObservable(
        sco_type,
        [("value", StringProperty(required=True))],
        id_contrib_props=["value"],
        extension_name=_EXTENSION_IDS[sco_type],
    )
    class Observable:
        pass

    return Observable


_OBSERVABLES: Final = {sco: _observable_class(sco) for sco in _EXTENSION_IDS}


def _extension_definitions() -> list[Any]:
    made = [
        v21.ExtensionDefinition(
            id=ext,
            created_by_ref=_PRODUCER,
            created=_DEFINED,
            modified=_DEFINED,
            name=f"qalqan {sco}",
            description=_DESCRIPTIONS[sco],
            version="1.0.0",
            schema=f"Qalqan docs/intel.md, {sco}",
            extension_types=["new-sco"],
        )
        for sco, ext in _EXTENSION_IDS.items()
    ]
    made.append(
        v21.ExtensionDefinition(
            id=CAMPAIGN_EXTENSION,
            created_by_ref=_PRODUCER,
            created=_DEFINED,
            modified=_DEFINED,
            name="qalqan campaign facts",
            version="1.0.0",
            description=_DESCRIPTIONS["campaign"],
            schema="Qalqan docs/intel.md, campaign",
            extension_types=["property-extension"],
        )
    )
    return made


def _campaign(facts: CampaignFacts, common: Mapping[str, Any]) -> Any:
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "campaign_id": facts.campaign_id,
        "kind": facts.kind,
        "calls": facts.calls,
        "victims": facts.victims,
    }
    if facts.farms:
        extension["farms"] = list(facts.farms)
    for name, value in (
        ("utc_offset_h", facts.utc_offset_h),
        ("office_start_h", facts.office_start),
        ("office_end_h", facts.office_end),
    ):
        if value is not None:
            extension[name] = value
    return v21.Campaign(
        name=f"{common['created_by_name']} campaign {facts.campaign_id}",
        description=facts.reasons or None,
        first_seen=facts.first_seen or None,
        last_seen=facts.last_seen or None,
        extensions={CAMPAIGN_EXTENSION: extension},
        created_by_ref=common["created_by_ref"],
        object_marking_refs=common["object_marking_refs"],
        allow_custom=True,
    )


def _indicator_objects(
    indicator: Indicator, common: Mapping[str, Any], campaigns: Mapping[str, Any], made: datetime
) -> Iterator[Any]:
    marks = {
        "created_by_ref": common["created_by_ref"],
        "object_marking_refs": common["object_marking_refs"],
    }
    if indicator.kind == "location":
        lat, lon = (float(part) for part in indicator.value.split(","))
        place = v21.Location(latitude=lat, longitude=lon, description=indicator.reason, **marks)
        yield place
        if indicator.campaign in campaigns:
            yield v21.Relationship(campaigns[indicator.campaign], "originates-from", place, **marks)
        return
    sco_type = SCO_TYPES[indicator.kind]
    observable = _OBSERVABLES[sco_type](value=indicator.value)
    pattern = f"[{sco_type}:value = '{indicator.value}']"
    found = v21.Indicator(
        name=f"{indicator.kind} {indicator.value}",
        description=indicator.reason,
        pattern=pattern,
        pattern_type="stix",
        valid_from=made,
        valid_until=indicator.until,
        confidence=indicator.confidence,
        indicator_types=["malicious-activity"],
        **marks,
    )
    yield observable
    yield found
    yield v21.Relationship(found, "based-on", observable, **marks)
    if indicator.campaign in campaigns:
        yield v21.Relationship(found, "indicates", campaigns[indicator.campaign], **marks)


def to_stix(feed: Feed, *, tlp: str = "amber") -> dict[str, Any]:
    """One STIX 2.1 bundle holding the whole feed, as parsed JSON."""
    if tlp not in _TLP:
        raise ValueError(f"TLP '{tlp}' has no STIX 2.1 marking here; use one of {', '.join(_TLP)}")
    producer = v21.Identity(
        id=f"identity--{uuid.uuid5(uuid.NAMESPACE_URL, 'qalqan:' + feed.source)}",
        name=feed.source,
        identity_class="organization",
    )
    common = {
        "created_by_ref": producer.id,
        "created_by_name": feed.source,
        "object_marking_refs": [_TLP[tlp].id],
    }
    campaigns = {facts.campaign_id: _campaign(facts, common) for facts in feed.campaigns}
    made = feed.made.astimezone(UTC)
    objects: list[Any] = [
        _TLP[tlp],
        v21.Identity(id=_PRODUCER, name="Qalqan", identity_class="system"),
    ]
    objects += [producer, *_extension_definitions(), *campaigns.values()]
    for indicator in feed.indicators:
        objects.extend(_indicator_objects(indicator, common, campaigns, made))
    bundle = v21.Bundle(objects=objects, allow_custom=True)
    parsed: dict[str, Any] = json.loads(bundle.serialize())
    return parsed


# --- reading a partner's bundle -------------------------------------------------------------
def _time(text: object, file: str, where: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise FeedError(file, where, f"'{text}' is not a STIX timestamp") from None


def _confidence(value: object, file: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise FeedError(file, where, f"confidence {value!r} is not a whole number from 0 to 100")
    return value


class _Bundle:
    """The objects of one bundle by id, and what refers to what."""

    def __init__(self, objects: list[Mapping[str, Any]], file: str, source: str | None) -> None:
        self.file = file
        self.by_id = {str(o.get("id")): o for o in objects}
        self.objects = objects
        self.source = source
        self.skipped = 0
        self.targets: dict[tuple[str, str], list[str]] = {}
        for o in objects:
            if o.get("type") == "relationship":
                key = (str(o.get("source_ref")), str(o.get("relationship_type")))
                self.targets.setdefault(key, []).append(str(o.get("target_ref")))

    def said_by(self, obj: Mapping[str, Any]) -> str:
        if self.source:
            return self.source
        producer = self.by_id.get(str(obj.get("created_by_ref")), {})
        return clip(str(producer.get("name") or self.file))

    def campaign_of(self, obj_id: str, relation: str) -> str:
        for target in self.targets.get((obj_id, relation), []):
            if self.by_id.get(target, {}).get("type") == "campaign":
                return self.campaign_name(target)
        return ""

    def campaign_name(self, campaign_id: str) -> str:
        campaign = self.by_id.get(campaign_id, {})
        facts = campaign.get("extensions", {}).get(CAMPAIGN_EXTENSION, {})
        name = facts.get("campaign_id") if isinstance(facts, Mapping) else None
        return clip(str(name or campaign.get("name") or ""))

    def value(self, sco_type: str, raw: object, where: str) -> tuple[str, str]:
        kind = _KIND_OF_TYPE[sco_type]
        try:
            return kind, parse_value(kind, raw)
        except ValueError as exc:
            raise FeedError(self.file, where, str(exc)) from None

    def indicator(self, obj: Mapping[str, Any]) -> Indicator | None:
        where = f"object {obj.get('id')}"
        match = _PATTERN.match(str(obj.get("pattern", "")))
        if obj.get("pattern_type", "stix") != "stix" or not match or match[1] not in _KIND_OF_TYPE:
            self.skipped += 1
            return None
        kind, value = self.value(match[1], match[2], where)
        return Indicator(
            kind=kind,  # type: ignore[arg-type]  # a kind of SCO_TYPES
            value=value,
            source=self.said_by(obj),
            reason=clip(str(obj.get("description") or obj.get("name") or "STIX indicator")),
            campaign=self.campaign_of(str(obj.get("id")), "indicates"),
            confidence=_confidence(obj.get("confidence"), self.file, where),
            until=_time(obj.get("valid_until"), self.file, where),
        )

    def location(self, obj: Mapping[str, Any]) -> Indicator | None:
        if obj.get("latitude") is None or obj.get("longitude") is None:
            self.skipped += 1
            return None
        try:
            value = parse_value("location", f"{float(obj['latitude'])},{float(obj['longitude'])}")
        except (TypeError, ValueError) as exc:
            raise FeedError(self.file, f"object {obj.get('id')}", str(exc)) from None
        campaign = next(
            (
                self.campaign_name(source)
                for (source, relation), targets in self.targets.items()
                if relation == "originates-from" and obj.get("id") in targets
            ),
            "",
        )
        reason = clip(str(obj.get("description") or obj.get("name") or "STIX location"))
        return Indicator(
            kind="location", value=value, source=self.said_by(obj), reason=reason, campaign=campaign
        )

    def campaign_facts(self, obj: Mapping[str, Any]) -> CampaignFacts:
        facts = obj.get("extensions", {}).get(CAMPAIGN_EXTENSION, {})
        if not isinstance(facts, Mapping):
            raise FeedError(
                self.file, f"object {obj.get('id')}", "campaign facts are not an object"
            )

        def number(name: str) -> float | None:
            value = facts.get(name)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FeedError(
                    self.file, f"object {obj.get('id')}", f"{name} {value!r} is not a number"
                )
            return float(value)

        return CampaignFacts(
            campaign_id=clip(str(facts.get("campaign_id") or obj.get("name") or "")),
            kind=clip(str(facts.get("kind") or "")),
            calls=int(number("calls") or 0),
            victims=int(number("victims") or 0),
            utc_offset_h=number("utc_offset_h"),
            office_start=None if number("office_start_h") is None else int(facts["office_start_h"]),
            office_end=None if number("office_end_h") is None else int(facts["office_end_h"]),
            farms=tuple(clip(str(f)) for f in facts.get("farms") or () if isinstance(f, str)),
            first_seen=_stix_time_text(obj.get("first_seen")),
            last_seen=_stix_time_text(obj.get("last_seen")),
            reasons=clip(str(obj.get("description") or "")),
        )


def _stix_time_text(value: object) -> str:
    """A STIX timestamp as analyze writes times (``2026-03-02T00:00:00Z``)."""
    if not isinstance(value, str):
        return ""
    return value.replace(".000Z", "Z")


def _objects(data: Mapping[str, Any], file: str) -> list[Mapping[str, Any]]:
    if data.get("type") != "bundle" or not isinstance(data.get("objects", []), list):
        raise FeedError(
            file, "bundle", "is not a STIX bundle (type 'bundle' with a list of objects)"
        )
    objects: list[Mapping[str, Any]] = data.get("objects", [])
    for i, obj in enumerate(objects):
        if (
            not isinstance(obj, Mapping)
            or not isinstance(obj.get("type"), str)
            or not isinstance(obj.get("id"), str)
        ):
            raise FeedError(
                file, f"objects[{i}]", "is not a STIX object (an object with type and id)"
            )
    return objects


def from_stix(data: Mapping[str, Any], *, file: str, source: str | None = None) -> tuple[Feed, int]:
    """The feed of a STIX 2.1 bundle and how many of its objects were skipped; raises
    :class:`FeedError` naming the object that is wrong."""
    bundle = _Bundle(_objects(data, file), file, source)
    indicators: dict[tuple[str, str], Indicator] = {}
    observed: list[tuple[str, Mapping[str, Any]]] = []
    campaigns: list[CampaignFacts] = []
    for obj in bundle.objects:
        kind = obj["type"]
        found: Indicator | None = None
        if kind == "indicator":
            found = bundle.indicator(obj)
        elif kind == "location":
            found = bundle.location(obj)
        elif kind == "campaign" and CAMPAIGN_EXTENSION in obj.get("extensions", {}):
            campaigns.append(bundle.campaign_facts(obj))
        elif kind in _KIND_OF_TYPE:
            observed.append((kind, obj))
        elif kind not in ("identity", "marking-definition", "extension-definition", "relationship"):
            bundle.skipped += 1
        if found is not None:
            indicators.setdefault(found.key(), found)
    for sco_type, obj in observed:  # observables no indicator spoke of
        kind, value = bundle.value(sco_type, obj.get("value"), f"object {obj['id']}")
        if (kind, value) not in indicators:
            indicators[(kind, value)] = Indicator(
                kind=kind,  # type: ignore[arg-type]
                value=value,
                source=bundle.said_by(obj),
                reason=f"STIX observable {sco_type}",
            )
    said_by = source or next((i.source for i in indicators.values()), file)
    return Feed(
        source=said_by, indicators=tuple(indicators.values()), campaigns=tuple(campaigns)
    ), bundle.skipped
