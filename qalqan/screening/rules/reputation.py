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

    def listed(self, what: str, listing: Listing) -> Reason:
        weight = self.weight if listing.weight is None else listing.weight
        return self.reason(f"{what} {listing.describe()}", weight)


@register
class ListedCallerNumber(_Listed):
    """The caller ID, or the number range it lies in, is on a reputation list."""

    id = "reputation.caller_number"
    applies_to = ALL_INGRESS
    default_weight = 0.8

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        caller = context.caller
        if caller is None:
            return None
        listing = self.lists.number_listing(caller, context.t)
        if listing is None:
            return None
        what = (
            f"number {caller}"
            if listing.kind == "number"
            else f"number {caller} of range {listing.value}xx"
        )
        return self.listed(what, listing)


@register
class ListedSim(_Listed):
    """The calling SIM (IMSI) is on a reputation list: a SIM-box SIM found earlier."""

    id = "reputation.sim"
    applies_to = MOBILE
    default_weight = 0.9

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        imsi = context.imsi
        if imsi is None:
            return None
        listing = self.lists.imsis.get(imsi)
        if listing is None or not listing.applies(context.t):
            return None
        return self.listed(f"SIM {imsi}", listing)


@register
class ListedHandset(_Listed):
    """The calling handset (IMEI) is on a reputation list: equipment of a farm found earlier.

    Farms put fresh SIMs into the same handsets, so the handset outlives every SIM.
    """

    id = "reputation.handset"
    applies_to = MOBILE
    default_weight = 0.9

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        imei = context.imei
        if imei is None:
            return None
        listing = self.lists.imeis.get(imei)
        if listing is None or not listing.applies(context.t):
            return None
        return self.listed(f"IMEI {imei}", listing)


@register
class ListedFarmCell(_Listed):
    """A young SIM calling from a cell (or site) listed as a farm's place."""

    id = "reputation.farm_cell"
    applies_to = MOBILE
    default_weight = 0.45

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        if not context.young or context.cell is None:
            return None
        cells = self.lists.cells
        listing = cells.get(context.cell)
        place = f"cell {context.cell}"
        if listing is None and context.site is not None:
            listing = cells.get(context.site)
            place = f"site {context.site}"
        if listing is None or not listing.applies(context.t):
            return None
        return self.listed(
            f"SIM {context.imsi}, {context.sim_age_days or 0:.0f} days old, calling from {place}",
            listing,
        )
