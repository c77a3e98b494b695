"""Scenario settings of the traffic simulator, with their documented defaults.

Every intensity can be changed from a YAML file (``qalqan simulate
--scenario FILE``) whose keys are the field names below, grouped by section::

    ordinary:
      voice_calls_per_day: 4.0
    fraud:
      call_centers: 5
      rotating_farms: 3

Rates "per subscriber per day" scale with ``--subscribers``; counts of
entities (farms, call centers) are absolute, with a floor so that even a
small demo operator shows every scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from qalqan.errors import ConfigError

__all__ = [
    "FraudSettings",
    "LookAlikeSettings",
    "OrdinarySettings",
    "Scenario",
    "load_scenario",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrdinarySettings:
    """Ordinary subscribers: contact networks, daily rhythm, home and work cells."""

    voice_calls_per_day: float = 3.5
    """Mean outgoing voice calls of a subscriber per day (log-normal across people)."""
    sms_per_day: float = 1.2
    """Mean SMS sent per subscriber per day."""
    incoming_offnet_ratio: float = 0.45
    """Calls received from other domestic operators, per outgoing call."""
    contacts_mean: int = 14
    """Mean size of a subscriber's contact list."""
    onnet_contact_share: float = 0.6
    """Share of contacts who are subscribers of this operator."""
    foreign_contact_share: float = 0.02
    """Share of contacts abroad (relatives, friends) with foreign numbers."""
    elderly_share: float = 0.13
    """Share of subscribers aged 65 or more."""
    answered_share: float = 0.72
    ported_share: float = 0.03
    """Subscribers who kept a number of another operator's range (number portability)."""
    handset_change_share: float = 0.05
    """Subscribers who change handset (IMEI) during the simulated period."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LookAlikeSettings:
    """Legitimate behaviour that trips naive detectors."""

    roaming_trip_start_per_day: float = 0.0012
    """Chance a subscriber starts a trip abroad on a given day (trips last 3-14 days)."""
    roamer_calls_home_per_day: float = 1.5
    """Calls a roaming subscriber makes home; they arrive over international routes."""
    other_operator_roamer_calls_per_day: float = 0.0001
    """Per subscriber: calls from other operators' subscribers abroad (domestic CLI, abroad)."""
    taxi_courier_share: float = 0.005
    """Taxi drivers and couriers who call many strangers a day."""
    sales_offices_per_100k: float = 5.0
    """Corporate sales offices (5-20 lines in one building calling many numbers)."""
    gsm_gateways_per_100k: float = 2.0
    """Businesses that legally run GSM gateways with long-lived corporate SIMs."""
    m2m_share: float = 0.005
    """Alarm panels and meters with M2M SIMs."""
    shared_handset_share: float = 0.01
    """Households moving SIMs between phones."""
    bank_calls_per_subscriber_day: float = 0.01
    """Banks calling their customers from registered numbers over their own trunks."""
    banks: int = 4
    relatives_calling_targets_share: float = 0.0
    """Share of the people a call center rang whose relative abroad calls them that day."""
    relatives_per_target: int = 1
    """How many relatives abroad (each with a number of their own) call such a person."""
    relatives_on_center_routes: int = 0
    """1: those relatives live in the countries whose numbers the call centers present, and
    their calls arrive over the very carrier that brought the scam call, minutes after it."""
    foreign_business_calls_per_subscriber_day: float = 0.0
    """Calls from foreign companies' service centers to their customers here, per subscriber."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FraudSettings:
    """Foreign call centers, SIM boxes and farms, Wangiri, victims and their money."""

    call_centers: int = 3
    """Call centers abroad, each with its own time zone, hours, scripts and routes."""
    attempts_per_subscriber_day: float = 0.01
    """Scam call attempts per subscriber per day, shared among call centers."""
    bypass_boxes: int = 1
    """Interconnect-bypass SIM boxes carrying international traffic as local calls."""
    rotating_farms: int = 1
    """Scam farms that use each SIM about twice and then replace it."""
    evasive_farms: int = 1
    """Farms that change IMEIs, move, and fake calls and SMS between their own SIMs."""
    rotating_calls_per_sim: float = 2.0
    """Mean calls a rotating farm's SIM makes before it is replaced."""
    wangiri_bursts_per_day: float = 0.5
    """One-ring bursts from foreign premium ranges."""
    answered_share: float = 0.35
    hooked_share: float = 0.10
    """Share of answered scam calls that draw the victim into a conversation."""
    paid_share: float = 0.4
    """Share of hooked victims who pay."""
    report_share: float = 0.35
    """Share of victims who paid that complain to the authorities."""
    elderly_target_weight: float = 3.0
    """How much more often elderly subscribers are targeted than others."""
    center_time_zones: int = 6
    """How many distinct UTC offsets the call centers are spread over (1-6; fewer overlap)."""
    center_carriers: int = 8
    """How many wholesale carriers the centers choose their two from (2-8; fewer are shared)."""
    split_routes: int = 0
    """1: every center also dials over a VoIP trunk presenting random domestic caller IDs."""
    evasive_sites: int = 3
    """Sites an evasive farm moves among (the nearest to its first hide-out)."""
    evasive_moves_per_day: float = 0.5
    """How often an evasive farm moves on: 0.5 every two days, 6 every four hours."""
    evasive_calls_per_sim: float = 5.0
    """Mean scam calls an evasive farm's SIM makes before it is replaced."""
    evasive_fake_per_sim: int = 2
    """Most fake calls, and as many SMS, between its own SIMs per SIM and day."""
    evasive_incoming_per_sim_day: float = 0.0
    """Calls from people outside the farm (call-backs) per working SIM and day."""
    evasive_texts_per_sim_day: float = 0.0
    """SMS a working evasive SIM sends to people outside the farm a day (as people text)."""
    wangiri_operations: int = 2
    """Wangiri operations, each with its own foreign premium range."""
    wangiri_numbers: int = 12
    """Most numbers of its range one burst rings from (at least a quarter of it)."""
    wangiri_range_span: int = 50
    """Consecutive numbers of the premium range an operation holds, its callers among them."""
    wangiri_burst_calls: int = 1200
    """Most calls in a burst (at least a sixth of it; never more than the subscribers)."""
    wangiri_burst_minutes: int = 45
    """Longest a burst lasts, in minutes (at least 15)."""
    wangiri_carriers: int = 1
    """International carriers a burst arrives over (1: one wholesale carrier)."""
    wangiri_transit_share: float = 0.0
    """Share of a burst's calls handed over by a domestic operator's transit (national ingress)."""
    wangiri_failed_share: float = 0.0
    """Share of a burst's calls the network records as ``busy`` or ``failed``, not ``no_answer``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """Everything that shapes a simulated operator."""

    subscribers: int = 5000
    days: int = 3
    seed: int = 1
    start: date = date(2026, 3, 2)
    """First simulated day (UTC); 2 March 2026 is a Monday."""
    family: str = ""
    """The scenario family the settings were taken from (``qalqan simulate --family``), if any."""
    country: str = "KZ"
    """The country the operator is in (ISO code; KZ or AZ): numbering plan, time zone, cities."""
    ordinary: OrdinarySettings = field(default_factory=OrdinarySettings)
    look_alikes: LookAlikeSettings = field(default_factory=LookAlikeSettings)
    fraud: FraudSettings = field(default_factory=FraudSettings)

    def __post_init__(self) -> None:
        if self.subscribers < 200:
            raise ConfigError(f"subscribers must be at least 200, got {self.subscribers}")
        if self.days < 1:
            raise ConfigError(f"days must be at least 1, got {self.days}")
        from qalqan.simulator.geography import COUNTRIES

        if self.country not in COUNTRIES:
            raise ConfigError(
                f"country must be one of {', '.join(COUNTRIES)}, got {self.country!r}"
            )

    def as_dict(self) -> dict[str, Any]:
        def section(obj: Any) -> dict[str, Any]:
            return {f.name: getattr(obj, f.name) for f in fields(obj)}

        family = {"family": self.family} if self.family else {}
        if self.country != "KZ":
            family["country"] = self.country
        return {
            "subscribers": self.subscribers,
            "days": self.days,
            "seed": self.seed,
            "start": self.start.isoformat(),
            **family,
            "ordinary": section(self.ordinary),
            "look_alikes": section(self.look_alikes),
            "fraud": section(self.fraud),
        }


_SECTIONS = {"ordinary": OrdinarySettings, "look_alikes": LookAlikeSettings, "fraud": FraudSettings}


def _family(name: str) -> dict[str, Any]:
    from qalqan.simulator.families import FAMILIES

    if name not in FAMILIES:
        raise ConfigError(f"unknown scenario family '{name}' (known: {', '.join(FAMILIES)})")
    return {
        key: dict(value) if isinstance(value, dict) else value
        for key, value in FAMILIES[name].settings.items()
    }


def load_scenario(path: Path | None, *, family: str | None = None, **overrides: Any) -> Scenario:
    """Read a scenario file (YAML) and apply command-line overrides; every error names the key.

    ``family`` names one of :data:`qalqan.simulator.families.FAMILIES`: its settings
    come first, the file's on top of them, then the overrides.
    """
    raw = _read_scenario(path) if path is not None else {}
    if family:
        raw = _on_family(family, raw)
    scenario = Scenario(family=family or "")
    top: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SECTIONS:
            top[key] = _section(path, key, value, getattr(scenario, key))
        elif key in ("subscribers", "days", "seed"):
            top[key] = int(value)
        elif key == "start":
            top[key] = date.fromisoformat(str(value))
        elif key == "country":
            top[key] = str(value)
        else:
            raise ConfigError(f"{path}: unknown key '{key}'")
    top.update({k: v for k, v in overrides.items() if v is not None})
    return replace(scenario, **top)


def _read_scenario(path: Path) -> dict[str, Any]:
    """The mapping a scenario file holds (empty for an empty file)."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read scenario: {exc}") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"{path}: a scenario is a mapping of sections to settings")
    return loaded or {}


def _on_family(family: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The family's settings with ``raw``'s on top (a section's settings one by one)."""
    merged = _family(family)
    for key, value in raw.items():
        if key in _SECTIONS and isinstance(value, dict) and key in merged:
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


def _section(path: Path | None, key: str, value: Any, current: Any) -> Any:
    """Section ``key`` of the scenario (``current``) with the settings ``value`` gives, checked."""
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: '{key}' must be a mapping of settings")
    cls = _SECTIONS[key]
    known = {f.name: f for f in fields(cls)}
    for name, setting in value.items():
        if name not in known:
            raise ConfigError(f"{path}: unknown setting '{key}.{name}' (known: {', '.join(known)})")
        expected = type(getattr(cls(), name))
        if not isinstance(setting, int | float) or isinstance(setting, bool):
            raise ConfigError(f"{path}: '{key}.{name}' must be a number, got {setting!r}")
        if setting < 0:
            raise ConfigError(f"{path}: '{key}.{name}' must not be negative")
        if expected is int and setting != int(setting):
            raise ConfigError(f"{path}: '{key}.{name}' must be a whole number")
    return replace(current, **{k: type(getattr(cls(), k))(v) for k, v in value.items()})
