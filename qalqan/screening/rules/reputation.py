"""Calls from numbers, SIMs, handsets and cells already known to be bad.

The listings come from the batch analysis and from partners
(:mod:`qalqan.screening.reputation`); every reason names the list's source and
what it said, so that an operator can tell "our analysis of last night"
from "a partner bank's list". A listing's own weight, when it has one,
overrides the rule's.

A farm cell is different from the rest: ordinary people live next to farms,
so a listed cell weighs only on young SIMs.
"""

from __future__ import annotations

from qalqan.domain.model import CallAttempt, Reason
from qalqan.screening.reputation import Listing
from qalqan.screening.signals import (
    ALL_INGRESS,
    MOBILE,
    Context,
    Environment,
    Rule,
    Settings,
    register,
)

__all__ = ["ListedCallerNumber", "ListedFarmCell", "ListedHandset", "ListedSim"]


class _Listed(Rule):
    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        self.lists = env.lists

    def listed(self, key: str, listing: Listing, **facts: object) -> Reason:
        """Message ``key`` (or its ``.no_reason`` variant) saying who listed it and why."""
        weight = self.weight if listing.weight is None else listing.weight
        if not listing.reason:
            return self.say(f"{key}.no_reason", weight=weight, source=listing.source, **facts)
        return self.say(key, weight=weight, source=listing.source, reason=listing.reason, **facts)


@register
class ListedCallerNumber(_Listed):
    """The caller ID, or the number range it lies in, is on a reputation list."""

    id = "reputation.caller_number"
    applies_to = ALL_INGRESS
    default_weight = 0.8
    messages = (
        "reputation.caller_number",
        "reputation.caller_number.no_reason",
        "reputation.caller_number.range",
        "reputation.caller_number.range.no_reason",
    )

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        caller = context.caller
        if caller is None:
            return None
        listing = self.lists.number_listing(caller, context.t)
        if listing is None:
            return None
        if listing.kind == "number":
            return self.listed("reputation.caller_number", listing, caller=caller)
        return self.listed(
            "reputation.caller_number.range", listing, caller=caller, range=listing.value
        )


@register
class ListedSim(_Listed):
    """The calling SIM (IMSI) is on a reputation list: a SIM-box SIM found earlier."""

    id = "reputation.sim"
    applies_to = MOBILE
    default_weight = 0.9
    messages = ("reputation.sim", "reputation.sim.no_reason")

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        imsi = context.imsi
        if imsi is None:
            return None
        listing = self.lists.imsis.get(imsi)
        if listing is None or not listing.applies(context.t):
            return None
        return self.listed("reputation.sim", listing, imsi=imsi)


@register
class ListedHandset(_Listed):
    """The calling handset (IMEI) is on a reputation list: equipment of a farm found earlier.

    Farms put fresh SIMs into the same handsets, so the handset outlives every SIM.
    """

    id = "reputation.handset"
    applies_to = MOBILE
    default_weight = 0.9
    messages = ("reputation.handset", "reputation.handset.no_reason")

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        imei = context.imei
        if imei is None:
            return None
        listing = self.lists.imeis.get(imei)
        if listing is None or not listing.applies(context.t):
            return None
        return self.listed("reputation.handset", listing, imei=imei)


@register
class ListedFarmCell(_Listed):
    """A young SIM calling from a cell (or site) listed as a farm's place."""

    id = "reputation.farm_cell"
    applies_to = MOBILE
    default_weight = 0.45
    messages = (
        "reputation.farm_cell",
        "reputation.farm_cell.no_reason",
        "reputation.farm_cell.site",
        "reputation.farm_cell.site.no_reason",
    )

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        if not context.young or context.cell is None:
            return None
        cells = self.lists.cells
        site = None
        listing = cells.get(context.cell)
        if listing is None and context.site is not None:
            site = context.site
            listing = cells.get(site)
        if listing is None or not listing.applies(context.t):
            return None
        age = f"{context.sim_age_days or 0:.0f}"
        imsi = context.imsi
        if site is not None:
            return self.listed(
                "reputation.farm_cell.site", listing, imsi=imsi, age_days=age, site=site
            )
        return self.listed(
            "reputation.farm_cell", listing, imsi=imsi, age_days=age, cell=context.cell
        )
