"""SIM boxes and SIM farms at work, seen call by call on our own radio network.

A farm is equipment in one place — handsets or gateway channels — fed with
SIMs bought in bulk and thrown away fast. What gives it away before the
batch analysis has run:

- ``sim_farm.handset_many_sims``: one handset (IMEI) carrying several SIMs in a day;
- ``sim_farm.young_sims_at_site``: many freshly activated SIMs calling from one site;
- ``sim_farm.activation_batch``: several SIMs of one activation batch (same day,
  neighbouring IMSIs) calling at the same time;
- ``sim_farm.straw_owner``: several SIMs registered to one identity document calling;
- ``sim_box.calls_without_incoming``: a SIM calling many people and called by none.

Corporate and M2M SIMs are left to the batch analysis by default: companies
buy lines in batches and run legal gateways.
"""

from __future__ import annotations

from typing import ClassVar

from qalqan.domain.model import CallAttempt, Reason
from qalqan.screening.features import (
    ACTIVE_SIMS_BY_BATCH,
    ACTIVE_SIMS_BY_OWNER,
    CALLS_RECEIVED_BY_NUMBER,
    CONTACT_PAIRS,
    DISTINCT_CALLEES_BY_IMSI,
    DISTINCT_IMSI_BY_IMEI,
    SIMS_BY_SITE,
    YOUNG_SIMS_BY_SITE,
)
from qalqan.screening.network import SubscriberFacts
from qalqan.screening.signals import (
    MOBILE,
    Context,
    Environment,
    FeatureSpec,
    Rule,
    Setting,
    Settings,
    register,
)
from qalqan.screening.state import counting_this, format_window

__all__ = [
    "ActivationBatch",
    "CallsWithoutIncoming",
    "HandsetManySims",
    "StrawOwner",
    "YoungSimsAtSite",
]

_DAY = Setting(
    name="window", kind="duration", default="24h", help="How far back the SIMs' calls are counted."
)
_CORPORATE = Setting(
    name="include_corporate",
    kind="bool",
    default=False,
    help="Also judge SIMs on corporate and M2M plans (companies buy lines in batches).",
)
_BUSINESS_PLANS = frozenset({"corporate", "m2m"})


@register
class HandsetManySims(Rule):
    """One handset (IMEI) carried several different SIMs within a day: a SIM box or a farm's phone.

    A household moving a SIM between two phones makes two; SIM boxes swap SIMs
    all day.
    """

    id = "sim_farm.handset_many_sims"
    applies_to = MOBILE
    default_weight = 0.85
    messages = ("sim_farm.handset_many_sims",)
    settings = (
        _DAY,
        Setting(
            name="min_sims",
            kind="int",
            default=3,
            minimum=2,
            help="Different SIMs seen in the handset within the window, this call's included.",
        ),
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        window = settings.seconds("window")
        self.sims = env.distinct(DISTINCT_IMSI_BY_IMEI, window)
        self.min_sims = settings.integer("min_sims")
        self.window_text = format_window(window)

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        imei, imsi = context.imei, context.imsi
        if imei is None or imsi is None:
            return None
        sims = counting_this(self.sims, imei, imsi, context.t)
        if sims < self.min_sims:
            return None
        return self.say("sim_farm.handset_many_sims", imei=imei, sims=sims, window=self.window_text)


@register
class YoungSimsAtSite(Rule):
    """A young SIM calling a stranger from a site where many young SIMs call: a farm's stock at work.

    Fires when the young SIMs calling from the site within the window are both
    many and a large share of all SIMs calling from it, and this SIM calls or
    texts someone it never talked with (within ``history_window``): people with
    new SIMs who live next to a farm call the people they know; the farm's SIMs
    call strangers.
    """

    id = "sim_farm.young_sims_at_site"
    applies_to = MOBILE
    default_weight = 0.6
    messages = ("sim_farm.young_sims_at_site",)
    settings = (
        Setting(
            name="window",
            kind="duration",
            default="2h",
            help="How far back the SIMs' calls are counted: a farm that moves on leaves the "
            "people living there alone after this long.",
        ),
        Setting(
            name="min_young_sims",
            kind="int",
            default=8,
            minimum=1,
            help="Young SIMs calling from the site within the window, this one included.",
        ),
        Setting(
            name="min_young_share",
            kind="float",
            default=0.3,
            minimum=0.0,
            maximum=1.0,
            help="Share of young SIMs among all SIMs calling from the site within the window "
            "(about one SIM in ten is young anywhere).",
        ),
        Setting(
            name="history_window",
            kind="duration",
            default="30d",
            help="How far back an earlier call or SMS between the SIM and its callee (either "
            "way) counts as contact, which spares the call.",
        ),
        _CORPORATE,
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        window = settings.seconds("window")
        self.pairs = env.recent(CONTACT_PAIRS, settings.seconds("history_window"))
        self.young = env.distinct(YOUNG_SIMS_BY_SITE, window)
        self.all = env.distinct(SIMS_BY_SITE, window)
        self.min_young = settings.integer("min_young_sims")
        self.min_share = settings.number("min_young_share")
        self.corporate = settings.flag("include_corporate")
        self.young_days = env.young_sim_days
        self.window_text = format_window(window)

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        site, imsi, sim = context.site, context.imsi, context.sim
        if not context.young or site is None or imsi is None or sim is None:
            return None
        if not self.corporate and sim.plan in _BUSINESS_PLANS:
            return None
        t = context.t
        young = counting_this(self.young, site, imsi, t)
        if young < self.min_young:
            return None
        pair = context.pair()
        if pair is not None and self.pairs.seen(pair, t):
            return None
        callers = counting_this(self.all, site, imsi, t)
        share = young / callers
        if share < self.min_share:
            return None
        return self.say(
            "sim_farm.young_sims_at_site",
            imsi=imsi,
            age_days=f"{context.sim_age_days or 0:.0f}",
            young=young,
            young_days=f"{self.young_days:g}",
            site=site,
            window=self.window_text,
            share=f"{share:.0%}",
        )


class _SimsOfOneGroup(Rule):
    """Several SIMs of one group (an activation batch, an owner) calling within a window.

    Subclasses name the rolling feature that counts the group's active SIMs, how a
    SIM's group is found, and what to say (:meth:`says`).
    """

    feature: ClassVar[FeatureSpec]

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        window = settings.seconds("window")
        self.active = env.distinct(self.feature, window)
        self.min_sims = settings.integer("min_sims")
        self.corporate = settings.flag("include_corporate")
        self.window_text = format_window(window)

    def group_of(self, sim: SubscriberFacts) -> str | None:
        raise NotImplementedError

    def says(self, imsi: str, group: str, active: int) -> Reason:
        raise NotImplementedError

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        sim, imsi = context.sim, context.imsi
        if sim is None or imsi is None:
            return None
        if not self.corporate and sim.plan in _BUSINESS_PLANS:
            return None
        group = self.group_of(sim)
        if group is None:
            return None
        active = counting_this(self.active, group, imsi, context.t)
        if active < self.min_sims:
            return None
        return self.says(imsi, group, active)


@register
class ActivationBatch(_SimsOfOneGroup):
    """Several SIMs of one activation batch (same day, IMSIs in one thousand) calling in the same day.

    Farms buy SIMs by the box; ordinary buyers of consecutive SIMs rarely all
    make calls the same day.
    """

    id = "sim_farm.activation_batch"
    applies_to = MOBILE
    default_weight = 0.75
    messages = ("sim_farm.activation_batch",)
    settings = (
        _DAY,
        Setting(
            name="min_sims",
            kind="int",
            default=3,
            minimum=2,
            help="SIMs of the batch calling within the window, this one included.",
        ),
        _CORPORATE,
    )

    feature = ACTIVE_SIMS_BY_BATCH

    def group_of(self, sim: SubscriberFacts) -> str | None:
        batch: str | None = sim.activation_batch
        return batch

    def says(self, imsi: str, group: str, active: int) -> Reason:
        return self.say(
            "sim_farm.activation_batch",
            imsi=imsi,
            active=active,
            batch=imsi[:-3],
            window=self.window_text,
        )


@register
class StrawOwner(_SimsOfOneGroup):
    """Several SIMs registered to one identity document calling within a day: a straw owner's stock."""

    id = "sim_farm.straw_owner"
    applies_to = MOBILE
    default_weight = 0.6
    messages = ("sim_farm.straw_owner",)
    settings = (
        _DAY,
        Setting(
            name="min_sims",
            kind="int",
            default=4,
            minimum=2,
            help="SIMs of one owner calling within the window, this one included.",
        ),
        _CORPORATE,
    )

    feature = ACTIVE_SIMS_BY_OWNER

    def group_of(self, sim: SubscriberFacts) -> str | None:
        owner: str | None = sim.owner_id
        return owner

    def says(self, imsi: str, group: str, active: int) -> Reason:
        return self.say(
            "sim_farm.straw_owner", imsi=imsi, active=active, owner=group, window=self.window_text
        )


@register
class CallsWithoutIncoming(Rule):
    """A SIM calling many different people while nobody calls or texts it: a SIM box channel.

    Young SIMs get the full weight at ``min_callees``; older SIMs need twice as
    many callees and get half the weight (taxi drivers and couriers are called
    back; sales lines are corporate and skipped by default).
    """

    id = "sim_box.calls_without_incoming"
    applies_to = MOBILE
    default_weight = 0.7
    messages = ("sim_box.calls_without_incoming", "sim_box.calls_without_incoming.age_unknown")
    settings = (
        _DAY,
        Setting(
            name="min_callees",
            kind="int",
            default=10,
            minimum=1,
            help="Different people the SIM called within the window, this call's included.",
        ),
        Setting(
            name="max_received",
            kind="int",
            default=0,
            minimum=0,
            help="Calls and SMS the SIM's number may have received within the window.",
        ),
        _CORPORATE,
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        window = settings.seconds("window")
        self.callees = env.distinct(DISTINCT_CALLEES_BY_IMSI, window)
        self.received = env.count(CALLS_RECEIVED_BY_NUMBER, window)
        self.min_callees = settings.integer("min_callees")
        self.max_received = settings.integer("max_received")
        self.corporate = settings.flag("include_corporate")
        self.window_text = format_window(window)

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        imsi = context.imsi
        if imsi is None:
            return None
        sim = context.sim
        if sim is not None and not self.corporate and sim.plan in _BUSINESS_PLANS:
            return None
        t = context.t
        callees = counting_this(self.callees, imsi, context.callee, t)
        if callees < self.min_callees:
            return None
        young = context.young
        if not young and callees < 2 * self.min_callees:
            return None
        number = sim.msisdn if sim is not None else context.caller
        received = self.received.total(number, t) if number is not None else 0
        if received > self.max_received:
            return None
        weight = self.weight if young else self.weight / 2
        if context.sim_age_days is None:
            return self.say(
                "sim_box.calls_without_incoming.age_unknown",
                weight=weight,
                imsi=imsi,
                callees=callees,
                window=self.window_text,
                received=received,
            )
        return self.say(
            "sim_box.calls_without_incoming",
            weight=weight,
            imsi=imsi,
            age_days=f"{context.sim_age_days:.0f}",
            callees=callees,
            window=self.window_text,
            received=received,
        )
