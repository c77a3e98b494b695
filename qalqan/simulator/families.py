"""Scenario families written to break the detectors: the held-out measuring stick.

Each family is a named set of scenario settings (the same sections and keys as a
scenario file) that pushes one kind of fraud, or one kind of innocent look-alike,
past what the shipped models were trained on. ``qalqan simulate OUT --family NAME``
simulates it; a scenario file and the command-line flags are applied on top, so a
family can be made bigger or smaller without changing what it is::

    scenario = load_scenario(None, family="wangiri-ranges", subscribers=4000, seed=3)

The shipped models are trained on default-setting operators only
(:data:`qalqan.training.recipe.TRAINING_RECIPE`): none of these families is in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FAMILIES", "Family"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Family:
    name: str
    breaks: str
    """What the family does that today's detectors do not expect."""
    settings: dict[str, Any]
    """Scenario settings by section, as in a scenario file."""


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            name="mimic-farms",
            breaks="farms whose SIMs live like people: calls and SMS among themselves, "
            "call-backs from outside, one ordinary handset per SIM, moving through a city "
            "every few hours",
            settings={
                "fraud": {
                    "call_centers": 2,
                    "bypass_boxes": 0,
                    "rotating_farms": 0,
                    "evasive_farms": 3,
                    "evasive_sites": 8,
                    "evasive_moves_per_day": 6.0,
                    "evasive_calls_per_sim": 8.0,
                    "evasive_fake_per_sim": 6,
                    "evasive_incoming_per_sim_day": 2.0,
                },
            },
        ),
        Family(
            name="mimic-farms-quiet",
            breaks="farms that mimic people harder still: each SIM places about three scam calls, "
            "is called from outside four times a day, texts people outside the farm, fakes few "
            "calls among its own SIMs, and the farm moves every six hours among six sites",
            settings={
                "fraud": {
                    "call_centers": 2,
                    "bypass_boxes": 0,
                    "rotating_farms": 0,
                    "evasive_farms": 3,
                    "evasive_sites": 6,
                    "evasive_moves_per_day": 4.0,
                    "evasive_calls_per_sim": 3.0,
                    "evasive_fake_per_sim": 1,
                    "evasive_incoming_per_sim_day": 4.0,
                    "evasive_texts_per_sim_day": 3.0,
                },
            },
        ),
        Family(
            name="split-centers",
            breaks="call centers that split one office's calls across a VoIP trunk with random "
            "domestic caller IDs, international carriers and a domestic farm at the same hours; "
            "carriers shared by several centers in overlapping time zones",
            settings={
                "fraud": {
                    "call_centers": 4,
                    "rotating_farms": 4,
                    "evasive_farms": 0,
                    "center_time_zones": 2,
                    "center_carriers": 3,
                    "split_routes": 1,
                },
            },
        ),
        Family(
            name="wangiri-ranges",
            breaks="Wangiri from tens of numbers scattered over one premium range of 100,000 "
            "numbers, bursts of thousands of calls within half an hour over several carriers, "
            "several bursts over days",
            settings={
                "fraud": {
                    "wangiri_operations": 1,
                    "wangiri_bursts_per_day": 1.5,
                    "wangiri_numbers": 60,
                    "wangiri_range_span": 100_000,
                    "wangiri_burst_calls": 4000,
                    "wangiri_burst_minutes": 30,
                    "wangiri_carriers": 4,
                },
            },
        ),
        Family(
            name="wangiri-spread",
            breaks="Wangiri from hundreds of numbers spread over two premium ranges of a million "
            "numbers, each ringing only a few people (no hundred-block rings many), over six "
            "carriers and a domestic transit, a fifth of the calls recorded busy or failed",
            settings={
                "fraud": {
                    "wangiri_operations": 2,
                    "wangiri_bursts_per_day": 1.5,
                    "wangiri_numbers": 1500,
                    "wangiri_range_span": 1_000_000,
                    "wangiri_burst_calls": 4000,
                    "wangiri_burst_minutes": 30,
                    "wangiri_carriers": 6,
                    "wangiri_transit_share": 0.15,
                    "wangiri_failed_share": 0.2,
                },
            },
        ),
        Family(
            name="look-alikes",
            breaks="many more innocent look-alikes: relatives abroad calling people the call "
            "centers also rang, foreign companies' service centers calling customers, "
            "call-center-like sales offices, GSM gateways, roamers",
            settings={
                "ordinary": {"foreign_contact_share": 0.06},
                "look_alikes": {
                    "relatives_calling_targets_share": 0.15,
                    "roaming_trip_start_per_day": 0.004,
                    "roamer_calls_home_per_day": 3.0,
                    "other_operator_roamer_calls_per_day": 0.0005,
                    "taxi_courier_share": 0.01,
                    "sales_offices_per_100k": 40.0,
                    "gsm_gateways_per_100k": 20.0,
                    "foreign_business_calls_per_subscriber_day": 0.02,
                },
                "fraud": {"elderly_target_weight": 5.0},
            },
        ),
        Family(
            name="relatives-abroad",
            breaks="relatives abroad of the people the call centers ring, calling them minutes "
            "after the scam call: several relatives per person, from the very countries whose "
            "numbers the centers present, over the very carrier that brought the scam call, "
            "in the centers' office hours",
            settings={
                "look_alikes": {
                    "relatives_calling_targets_share": 0.3,
                    "relatives_per_target": 3,
                    "relatives_on_center_routes": 1,
                },
                "fraud": {"elderly_target_weight": 5.0},
            },
        ),
        Family(
            name="relatives-abroad-az",
            breaks="the relatives-abroad family at an Azerbaijani operator (+994, UTC+4)",
            settings={
                "country": "AZ",
                "look_alikes": {
                    "relatives_calling_targets_share": 0.3,
                    "relatives_per_target": 3,
                    "relatives_on_center_routes": 1,
                },
                "fraud": {"elderly_target_weight": 5.0},
            },
        ),
        Family(
            name="another-country",
            breaks="the default operator's mechanisms in another numbering plan and time zone: "
            "Azerbaijan, +994 with nine-digit national numbers, UTC+4, its cities and ranges",
            settings={"country": "AZ"},
        ),
    )
}
