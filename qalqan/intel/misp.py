"""Feeds as MISP events, and MISP events as feeds.

One event per run of ``qalqan analyze``: a partner receives the day's findings
as one event, and MISP's own correlation ties a value seen again to the earlier
events. Each campaign is an object of the event (``qalqan-campaign``: size,
office day, UTC offset, farms) and every indicator of the campaign refers to it
(``part-of``), so a partner who wants one event per campaign can split it.

Values go in MISP's shipped object templates where one fits:

========================  ==============================================================
``number``                ``phone-number`` (``phone-number``)
``number_range``          ``phone-number`` whose number ends in one ``x`` a digit
``imsi``, ``imei``        ``phone`` (``imsi``, ``imei``)
``location``              ``geolocation`` (``latitude``, ``longitude``)
``account``               ``bank-account`` (``account``: ``bank:``, ``ewallet:``,
                          ``msisdn:`` as exchange-v1 writes them); crypto addresses as
                          ``coin-address`` (``address-crypto``)
``cell``                  ``qalqan-cell`` (MISP ships no template for a radio cell)
========================  ==============================================================

The event is tagged with TLP and with the ``gsma-fraud`` taxonomy's kinds of
fraud its campaigns and values show (``interconnect-abuse`` for SIM boxes,
``wangiri``, ``social-engineering`` for call centers and their mule accounts);
each value's attributes carry the kind of fraud it serves. Reading a partner's event accepts
the same templates and MISP's plain attribute types for the same values
(``phone-number``, ``iban``, ``bank-account-nr``, ``btc``); anything else is
counted as skipped, not guessed at.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any, Final

from pymisp import MISPAttribute, MISPEvent, MISPObject, MISPOrganisation

from qalqan.intel.model import CampaignFacts, Feed, FeedError, Indicator, clip, parse_value

__all__ = ["TLP_LEVELS", "from_misp", "to_misp"]

TLP_LEVELS: Final = ("clear", "green", "amber", "amber+strict", "red")
_GSMA_FRAUD: Final = {
    "bypass": 'gsma-fraud:business="interconnect-abuse"',
    "wangiri": 'gsma-fraud:business="wangiri"',
    "call_center": 'gsma-fraud:business="social-engineering"',
}
_KIND_FRAUD: Final = {
    "number": _GSMA_FRAUD["bypass"],
    "imsi": _GSMA_FRAUD["bypass"],
    "imei": _GSMA_FRAUD["bypass"],
    "cell": _GSMA_FRAUD["bypass"],
    "location": _GSMA_FRAUD["bypass"],
    "number_range": _GSMA_FRAUD["wangiri"],
    "account": _GSMA_FRAUD["call_center"],
}
"""The kind of fraud each kind of value serves: SIM boxes' SIMs, numbers, handsets, cells and
places; Wangiri ranges; the mule accounts of call centers' victims."""
_NAMESPACE: Final = uuid.UUID("5b0e3c3e-5d3f-4a53-9a0c-7f1c2e9d4a11")


def _template(
    name: str, description: str, attributes: dict[str, str], required: list[str]
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "meta-category": "network",
        "uuid": str(uuid.uuid5(_NAMESPACE, name)),
        "version": 1,
        "requiredOneOf": required,
        "attributes": {
            relation: {"misp-attribute": kind, "ui-priority": 1, "description": relation}
            for relation, kind in attributes.items()
        },
    }


CELL_TEMPLATE: Final = _template(
    "qalqan-cell",
    "A radio cell of a mobile network, as its operator names it (the cell of a SIM farm).",
    {"cell-id": "text", "latitude": "float", "longitude": "float", "text": "text"},
    ["cell-id"],
)
CAMPAIGN_TEMPLATE: Final = _template(
    "qalqan-campaign",
    "Fraud calls grouped as one campaign by Qalqan: its size, office day and farms.",
    {
        "campaign-id": "text",
        "kind": "text",
        "calls": "counter",
        "victims": "counter",
        "utc-offset": "float",
        "office-start": "counter",
        "office-end": "counter",
        "farm": "text",
        "first-seen": "text",
        "last-seen": "text",
        "text": "text",
    },
    ["campaign-id"],
)


def _object(indicator: Indicator) -> MISPObject:
    kind, value = indicator.kind, indicator.value
    if kind == "cell":
        made = MISPObject("qalqan-cell", misp_objects_template_custom=CELL_TEMPLATE)
        made.add_attribute("cell-id", value)
    elif kind in ("number", "number_range"):
        made = MISPObject("phone-number")
        made.add_attribute("phone-number", value)
    elif kind in ("imsi", "imei"):
        made = MISPObject("phone")
        made.add_attribute(kind, value)
    elif kind == "location":
        made = MISPObject("geolocation")
        lat, lon = value.split(",")
        made.add_attribute("latitude", float(lat))
        made.add_attribute("longitude", float(lon))
    elif value.startswith("crypto:"):
        made = MISPObject("coin-address")
        made.add_attribute("address-crypto", value.removeprefix("crypto:"))
    else:
        made = MISPObject("bank-account")
        made.add_attribute("account", value)
    for attribute in made.attributes:
        attribute.add_tag(_KIND_FRAUD[kind])
    made.add_attribute("text", indicator.reason)
    made.comment = indicator.source
    return made


def _campaign_object(facts: CampaignFacts) -> MISPObject:
    made = MISPObject("qalqan-campaign", misp_objects_template_custom=CAMPAIGN_TEMPLATE)
    made.add_attribute("campaign-id", facts.campaign_id)
    optional: dict[str, str | int | float | None] = {
        "kind": facts.kind,
        "calls": facts.calls,
        "victims": facts.victims,
        "utc-offset": facts.utc_offset_h,
        "office-start": facts.office_start,
        "office-end": facts.office_end,
        "first-seen": facts.first_seen,
        "last-seen": facts.last_seen,
        "text": facts.reasons,
    }
    for relation, value in optional.items():
        if value not in (None, ""):
            made.add_attribute(relation, value)
    for farm in facts.farms:
        made.add_attribute("farm", farm)
    return made


def to_misp(feed: Feed, *, tlp: str = "amber") -> MISPEvent:
    """One MISP event holding the whole feed, tagged with TLP and ``gsma-fraud``."""
    event = MISPEvent()
    event.info = f"{feed.source}: fraud indicators ({len(feed.indicators)}), campaigns ({len(feed.campaigns)})"
    event.date = feed.made.date()
    event.distribution = 0
    event.threat_level_id = 2
    event.analysis = 2
    event.Orgc = MISPOrganisation()
    event.Orgc.name = feed.source
    event.add_tag(f"tlp:{tlp}")
    kinds = {_GSMA_FRAUD[c.kind] for c in feed.campaigns if c.kind in _GSMA_FRAUD}
    for tag in sorted(kinds | {_KIND_FRAUD[i.kind] for i in feed.indicators}):
        event.add_tag(tag)
    campaign_objects: dict[str, MISPObject] = {}
    for facts in feed.campaigns:
        campaign_objects[facts.campaign_id] = event.add_object(_campaign_object(facts))
    for indicator in feed.indicators:
        made = _object(indicator)
        if indicator.campaign in campaign_objects:
            made.add_reference(campaign_objects[indicator.campaign].uuid, "part-of")
        event.add_object(made)
    return event


# --- reading a partner's event ------------------------------------------------------------
_OBJECT_VALUES: Final[dict[tuple[str, str], str]] = {
    ("phone-number", "phone-number"): "phone",
    ("phone", "msisdn"): "phone",
    ("phone", "imsi"): "imsi",
    ("phone", "imei"): "imei",
    ("qalqan-cell", "cell-id"): "cell",
    ("bank-account", "account"): "account",
    ("bank-account", "iban"): "iban",
    ("coin-address", "address"): "crypto",
    ("coin-address", "address-crypto"): "crypto",
    ("btc-wallet", "wallet-address"): "crypto",
}
_ATTRIBUTE_VALUES: Final[dict[str, str]] = {
    "phone-number": "phone",
    "iban": "iban",
    "bank-account-nr": "account",
    "btc": "crypto",
}


def _indicator_value(how: str, raw: object) -> tuple[str, str]:
    """The kind and value of a value read ``how`` (phone, iban, account, crypto, ...)."""
    text = raw.strip() if isinstance(raw, str) else raw
    if how == "phone":
        kind = "number_range" if isinstance(text, str) and text.endswith("x") else "number"
        return kind, parse_value(kind, text)
    if how in ("iban", "crypto"):
        prefix = "bank:" if how == "iban" else "crypto:"
        return "account", parse_value(
            "account", f"{prefix}{text}" if isinstance(text, str) else text
        )
    if how == "account" and isinstance(text, str) and ":" not in text:
        return "account", parse_value("account", f"bank:{text}")
    return how, parse_value(how, text)


def _location(obj: MISPObject) -> str | None:
    lat = obj.get_attributes_by_relation("latitude")
    lon = obj.get_attributes_by_relation("longitude")
    if not lat or not lon:
        return None
    return parse_value("location", f"{lat[0].value},{lon[0].value}")


def _text(obj: MISPObject, relation: str = "text") -> str:
    found = obj.get_attributes_by_relation(relation)
    return clip(str(found[0].value)) if found else ""


def _object_values(obj: MISPObject) -> Iterator[tuple[str, str]]:
    if obj.name == "geolocation":
        place = _location(obj)
        if place is not None:
            yield "location", place
        return
    for attribute in obj.attributes:
        how = _OBJECT_VALUES.get((obj.name, attribute.object_relation or ""))
        if how is not None:
            yield _indicator_value(how, attribute.value)


def _campaigns_by_object(event: MISPEvent) -> dict[str, str]:
    return {
        str(obj.uuid): _text(obj, "campaign-id")
        for obj in event.objects
        if obj.name == "qalqan-campaign"
    }


class _Reading:
    """The indicators of one event, with the file name for errors and a count of the skipped."""

    def __init__(self, file: str, source: str) -> None:
        self.file = file
        self.source = source
        self.skipped = 0

    def of_object(self, obj: MISPObject, campaigns: Mapping[str, str]) -> Iterator[Indicator]:
        campaign = next(
            (
                campaigns[str(ref.referenced_uuid)]
                for ref in obj.references
                if str(ref.referenced_uuid) in campaigns
            ),
            "",
        )
        try:
            values = list(_object_values(obj))
        except ValueError as exc:
            raise FeedError(self.file, f"object {obj.uuid} ({obj.name})", str(exc)) from None
        if not values:
            self.skipped += obj.name != "qalqan-campaign"
        for kind, value in values:
            yield Indicator(
                kind=kind,  # type: ignore[arg-type]  # parse_value checked it is a kind
                value=value,
                source=self.source,
                reason=_text(obj)
                or clip(str(getattr(obj, "comment", "") or ""))
                or f"MISP object {obj.name}",
                campaign=campaign,
            )

    def of_attribute(self, attribute: MISPAttribute) -> Iterator[Indicator]:
        how = _ATTRIBUTE_VALUES.get(str(attribute.type))
        if how is None:
            self.skipped += 1
            return
        try:
            kind, value = _indicator_value(how, attribute.value)
        except ValueError as exc:
            raise FeedError(self.file, f"attribute {attribute.uuid}", str(exc)) from None
        yield Indicator(
            kind=kind,  # type: ignore[arg-type]
            value=value,
            source=self.source,
            reason=clip(str(getattr(attribute, "comment", "") or ""))
            or f"MISP attribute {attribute.type}",
        )


def _campaign_facts(obj: MISPObject) -> CampaignFacts:
    def number(relation: str) -> float | None:
        text = _text(obj, relation)
        try:
            return float(text) if text else None
        except ValueError:
            return None

    def whole(relation: str) -> int | None:
        found = number(relation)
        return None if found is None else int(found)

    return CampaignFacts(
        campaign_id=_text(obj, "campaign-id"),
        kind=_text(obj, "kind"),
        calls=whole("calls") or 0,
        victims=whole("victims") or 0,
        utc_offset_h=number("utc-offset"),
        office_start=whole("office-start"),
        office_end=whole("office-end"),
        farms=tuple(clip(str(a.value)) for a in obj.get_attributes_by_relation("farm")),
        first_seen=_text(obj, "first-seen"),
        last_seen=_text(obj, "last-seen"),
        reasons=_text(obj),
    )


def _checked_attributes(attributes: object, file: str, where: str) -> None:
    """Refuse attributes that are not objects with a text type and a text or number value."""
    if not isinstance(attributes, list):
        raise FeedError(file, where, "Attribute is not a list")
    for i, attribute in enumerate(attributes):
        here = f"{where} attribute {attribute.get('uuid', i) if isinstance(attribute, dict) else i}"
        if not isinstance(attribute, dict):
            raise FeedError(file, here, "is not an object")
        value = attribute.get("value")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise FeedError(file, here, f"value {value!r} is not text or a number")
        if not isinstance(attribute.get("type", ""), str) or not isinstance(
            attribute.get("object_relation") or "", str
        ):
            raise FeedError(file, here, "type and object_relation must be text")


def _checked(body: Mapping[str, Any], file: str) -> None:
    _checked_attributes(body.get("Attribute", []), file, "Event")
    objects = body.get("Object", [])
    if not isinstance(objects, list):
        raise FeedError(file, "Event", "Object is not a list")
    for i, obj in enumerate(objects):
        where = f"object {obj.get('uuid', i) if isinstance(obj, dict) else i}"
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            raise FeedError(file, where, "is not a MISP object (an object with a name)")
        _checked_attributes(obj.get("Attribute", []), file, where)


def from_misp(data: Mapping[str, Any], *, file: str, source: str | None = None) -> tuple[Feed, int]:
    """The feed of a MISP event (``{"Event": {...}}`` or the event itself) and how many of its
    objects and attributes were skipped as no kind of indicator; raises :class:`FeedError`."""
    body = data.get("Event", data)
    if not isinstance(body, Mapping) or not isinstance(body.get("info", ""), str):
        raise FeedError(
            file, "Event", "is not a MISP event (an object with info, Attribute, Object)"
        )
    _checked(body, file)
    event = MISPEvent()
    try:
        event.load({"Event": dict(body)})
    except Exception as exc:  # pymisp raises bare exceptions of many kinds on bad input
        raise FeedError(
            file, f"Event {body.get('uuid', '')}".strip(), f"MISP cannot load it: {exc}"
        ) from None
    said_by = source or (
        event.Orgc.name if getattr(event, "Orgc", None) and event.Orgc.name else file
    )
    reading = _Reading(file, str(said_by))
    campaigns = _campaigns_by_object(event)
    indicators = [i for obj in event.objects for i in reading.of_object(obj, campaigns)]
    indicators += [i for a in event.attributes for i in reading.of_attribute(a)]
    facts = tuple(_campaign_facts(obj) for obj in event.objects if obj.name == "qalqan-campaign")
    return Feed(source=str(said_by), indicators=tuple(indicators), campaigns=facts), reading.skipped
