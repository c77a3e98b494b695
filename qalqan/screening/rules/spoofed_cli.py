"""Caller IDs that cannot be genuine, and the facts that vouch for a genuine one.

Most scam calls from abroad present a number the caller does not own: a bank's
hotline, a police station, a random domestic mobile, a real subscriber's
number. Each rule here proves one kind of impossibility from reference facts
the operator holds (the registry, its own subscribers and their roaming, the
numbering plan) and the history the engine has seen:

- ``spoofed_cli.registry_inbound_only``: a number that never calls out calls;
- ``spoofed_cli.registry_wrong_route``: a protected number outside its registered route;
- ``spoofed_cli.own_subscriber_at_home``: our subscriber's number arrives from
  outside while the SIM is at home;
- ``spoofed_cli.domestic_from_abroad``: a domestic number (not ours, so its
  roaming cannot be checked) arrives from abroad with no earlier contact with
  the callee;
- ``spoofed_cli.unallocated``: a number in no allocated range;
- ``spoofed_cli.withheld_from_abroad``: no caller ID at all on a call from abroad;
- ``spoofed_cli.route_wave``: a route carrying a wave of impossible caller IDs
  lends suspicion to its other first-contact calls.

The five rules that prove a caller ID impossible are defined once, for this
engine and ``qalqan analyze`` alike, in :mod:`qalqan.detections.spoofing`: their
ids, the ingress on which they are a verdict, what counts as contact, as
established, as our subscriber and as roaming, and their settings.

Two signals speak *for* a call: ``trusted_caller.registered_route`` (a
protected number over its own route) and ``roaming.subscriber_abroad`` (our
subscriber, registered abroad right now, calling home). The engine never
blocks the second, whatever else fires.
"""

from __future__ import annotations

from qalqan.detections.spoofing import (
    DOMESTIC_FROM_ABROAD,
    OWN_SUBSCRIBER_AT_HOME,
    REGISTRY_INBOUND_ONLY,
    REGISTRY_WRONG_ROUTE,
    UNALLOCATED,
)
from qalqan.domain.model import CallAttempt, Reason
from qalqan.screening.features import (
    CALLEES_BY_CALLER_FROM_ABROAD,
    CALLEES_BY_ROUTE_AND_CALLER,
    CALLS_BY_ROUTE,
    CONTACT_PAIRS,
    NUMBERS_ON_OUR_RADIO,
    SPOOFED_BY_ROUTE,
)
from qalqan.screening.signals import (
    ABROAD,
    ALL_INGRESS,
    FROM_OUTSIDE,
    Context,
    Environment,
    Rule,
    Setting,
    Settings,
    register,
)
from qalqan.screening.state import counting_this, format_window

__all__ = [
    "DomesticFromAbroad",
    "OwnSubscriberAtHome",
    "RegisteredRoute",
    "RegistryInboundOnly",
    "RegistryWrongRoute",
    "RoamingSubscriber",
    "RouteWave",
    "Unallocated",
    "WithheldFromAbroad",
]

_HISTORY = Setting(
    name="history_window",
    kind="duration",
    default="30d",
    help="How far back an earlier call between caller and callee (either way) counts as contact.",
)


class _ProtectedCaller(Rule):
    """A rule about a caller ID in the registry of protected numbers: it judges the registry's
    entry for the presented number (owner, inbound only, registered routes); others pass."""

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        self.by_number = env.protected.by_number

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        caller = context.caller
        if caller is None:
            return None
        entry = self.by_number.get(caller)
        if entry is None:
            return None
        return self.judge(caller, entry, context)

    def judge(
        self, caller: str, entry: tuple[str, bool, frozenset[str]], context: Context
    ) -> Reason | None:
        raise NotImplementedError


@register
class RegistryInboundOnly(_ProtectedCaller):
    """A protected number that never calls out (a bank's hotline, the police) is presented as the caller.

    Any call presenting it is spoofed, whatever the ingress: the registry says so.
    """

    id = REGISTRY_INBOUND_ONLY.id
    applies_to = REGISTRY_INBOUND_ONLY.verdict_on
    default_weight = 0.98
    messages = ("spoofed_cli.registry_inbound_only",)

    def judge(
        self, caller: str, entry: tuple[str, bool, frozenset[str]], context: Context
    ) -> Reason | None:
        if not entry[1]:
            return None
        return self.say("spoofed_cli.registry_inbound_only", caller=caller, owner=entry[0])


@register
class RegistryWrongRoute(_ProtectedCaller):
    """A protected number that calls only through its registered route arrives another way."""

    id = REGISTRY_WRONG_ROUTE.id
    applies_to = REGISTRY_WRONG_ROUTE.verdict_on
    default_weight = 0.95
    messages = ("spoofed_cli.registry_wrong_route",)

    def judge(
        self, caller: str, entry: tuple[str, bool, frozenset[str]], context: Context
    ) -> Reason | None:
        if entry[1] or not entry[2] or context.route in entry[2]:
            return None
        routes = ", ".join(sorted(entry[2]))
        return self.say(
            "spoofed_cli.registry_wrong_route",
            caller=caller,
            owner=entry[0],
            route=context.route,
            routes=routes,
        )


@register
class RegisteredRoute(_ProtectedCaller):
    """A protected number calling through its own registered route: the genuine caller."""

    id = "trusted_caller.registered_route"
    applies_to = ALL_INGRESS
    default_weight = -0.9
    messages = ("trusted_caller.registered_route",)

    def judge(
        self, caller: str, entry: tuple[str, bool, frozenset[str]], context: Context
    ) -> Reason | None:
        if context.route not in entry[2]:
            return None
        return self.say(
            "trusted_caller.registered_route", owner=entry[0], caller=caller, route=context.route
        )


@register
class OwnSubscriberAtHome(Rule):
    """Our own subscriber's number arrives from outside while the SIM is at home, not roaming.

    A genuine call from that number would come over our radio network, or over
    an international route while the SIM is registered abroad.
    """

    id = OWN_SUBSCRIBER_AT_HOME.id
    applies_to = FROM_OUTSIDE  # a verdict from abroad; over national interconnect, weaker
    default_weight = 0.95
    messages = (
        "spoofed_cli.own_subscriber_at_home",
        "spoofed_cli.own_subscriber_at_home.no_roaming_data",
        "spoofed_cli.own_subscriber_at_home.national",
    )
    settings = (
        Setting(
            name="national_weight",
            kind="float",
            default=0.3,
            minimum=0.0,
            maximum=1.0,
            help="Weight when the number arrives over national interconnect rather than from abroad "
            "(forwarded calls and some corporate trunks do this legitimately).",
        ),
        Setting(
            name="unknown_roaming_weight",
            kind="float",
            default=0.15,
            minimum=0.0,
            maximum=1.0,
            help="Weight from abroad when the operator gave no roaming data at all, so that the SIM "
            "being at home cannot be checked: low, so that it only adds to other evidence.",
        ),
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        self.national_weight = settings.number("national_weight")
        self.unknown_roaming_weight = settings.number("unknown_roaming_weight")
        self.subscribers = env.subscribers

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        sub = context.caller_sub
        if sub is None or self.env.roaming_country(sub, context.t) is not None:
            return None
        if context.abroad:
            if not self.subscribers.roaming_known:
                return self.say(
                    "spoofed_cli.own_subscriber_at_home.no_roaming_data",
                    weight=self.unknown_roaming_weight,
                    subscriber=sub.msisdn,
                    route=context.route,
                )
            return self.say(
                "spoofed_cli.own_subscriber_at_home", subscriber=sub.msisdn, route=context.route
            )
        if self.national_weight <= 0:
            return None
        return self.say(
            "spoofed_cli.own_subscriber_at_home.national",
            weight=self.national_weight,
            subscriber=sub.msisdn,
            route=context.route,
        )


@register
class RoamingSubscriber(Rule):
    """Our subscriber, registered abroad at this moment, calling home: the number is genuine.

    The engine also caps the action for such calls (``roaming.max_action``):
    a roaming subscriber's call from abroad is never blocked.
    """

    id = "roaming.subscriber_abroad"
    applies_to = FROM_OUTSIDE
    default_weight = -0.9
    messages = ("roaming.subscriber_abroad",)

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        self.subscribers = env.subscribers

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        sub = context.caller_sub
        if sub is None:
            return None
        country = self.env.roaming_country(sub, context.t)
        if country is None:
            return None
        return self.say("roaming.subscriber_abroad", subscriber=sub.msisdn, country=country)


@register
class DomesticFromAbroad(Rule):
    """A domestic number that is not ours arrives from abroad with no earlier contact with the callee.

    Other operators' subscribers do roam, but their roaming cannot be checked;
    a first call from abroad under a domestic number is what spoofing call
    centers do all day. They change numbers all the time, too: a number that
    has already called several people over this same route (a company's line on
    its VoIP trunk) is established there and is left alone.
    """

    id = DOMESTIC_FROM_ABROAD.id
    applies_to = DOMESTIC_FROM_ABROAD.verdict_on
    default_weight = 0.75
    messages = ("spoofed_cli.domestic_from_abroad", "spoofed_cli.domestic_from_abroad.our_radio")
    settings = (
        _HISTORY,
        Setting(
            name="our_radio_weight",
            kind="float",
            default=0.15,
            minimum=0.0,
            maximum=1.0,
            help="Weight instead when the number has called over our own radio network within "
            "`history_window` but `subscribers` does not list it: probably ours, roaming unknown.",
        ),
        Setting(
            name="established_callees",
            kind="int",
            default=3,
            minimum=1,
            help="People a number must have called over the same route within `history_window` "
            "to count as established there (and be left alone).",
        ),
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        window = settings.seconds("history_window")
        self.pairs = env.recent(CONTACT_PAIRS, window)
        self.on_our_radio = env.recent(NUMBERS_ON_OUR_RADIO, window)
        self.our_radio_weight = settings.number("our_radio_weight")
        self.route_callees = env.distinct(CALLEES_BY_ROUTE_AND_CALLER, window)
        self.established = settings.integer("established_callees")
        self.protected = env.protected.by_number

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        caller = context.caller
        if caller is None or context.caller_sub is not None or caller in self.protected:
            return None
        if not context.caller_domestic():
            return None
        pair = context.pair()
        t = context.t
        if pair is not None and self.pairs.seen(pair, t):
            return None
        if self.route_callees.distinct((context.route, caller), t) >= self.established:
            return None
        if self.on_our_radio.seen(caller, t):
            return self.say(
                "spoofed_cli.domestic_from_abroad.our_radio",
                weight=self.our_radio_weight,
                caller=caller,
                route=context.route,
                callee=context.callee,
            )
        return self.say(
            "spoofed_cli.domestic_from_abroad",
            caller=caller,
            route=context.route,
            callee=context.callee,
        )


@register
class Unallocated(Rule):
    """The caller ID lies in no range the numbering plan allocates: no one can own it."""

    id = UNALLOCATED.id
    applies_to = UNALLOCATED.verdict_on
    default_weight = 0.9
    messages = ("spoofed_cli.unallocated",)

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        info = context.caller_info()
        if info is None or info.valid:
            return None
        return self.say("spoofed_cli.unallocated", caller=context.caller)


@register
class WithheldFromAbroad(Rule):
    """No caller ID on a call from abroad: weak alone, telling beside other evidence."""

    id = "spoofed_cli.withheld_from_abroad"
    applies_to = ABROAD
    default_weight = 0.3
    messages = ("spoofed_cli.withheld_from_abroad",)

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        if context.caller is not None:
            return None
        return self.say("spoofed_cli.withheld_from_abroad", route=context.route)


@register
class RouteWave(Rule):
    """A route from abroad carrying a wave of impossible caller IDs: its other first-contact calls are suspect.

    Counts, over the window, the calls on the route that another rule proved
    spoofed. When they are both many and a large share, a call on that route
    whose caller never had contact with the callee gets this weight, scaled by
    the share. Calls of our roaming subscribers are spoken for by
    ``roaming.subscriber_abroad``.

    A foreign caller ID on that route is what a relative abroad presents, calling
    minutes after the center rang their family over the same carrier: it is held
    suspect only while the number itself works a list (rang ``foreign_min_callees``
    people or more within the window), as ``qalqan analyze`` holds it.
    """

    id = "spoofed_cli.route_wave"
    applies_to = ABROAD
    default_weight = 0.5
    messages = ("spoofed_cli.route_wave",)
    settings = (
        Setting(
            name="window",
            kind="duration",
            default="1h",
            help="How far back the route's calls are counted.",
        ),
        Setting(
            name="min_spoofed",
            kind="int",
            default=6,
            minimum=1,
            help="Proven-spoofed calls on the route within the window before it counts as a wave.",
        ),
        Setting(
            name="min_share",
            kind="float",
            default=0.4,
            minimum=0.0,
            maximum=1.0,
            help="Share of the route's calls within the window proven spoofed before it counts as a wave.",
        ),
        Setting(
            name="foreign_min_callees",
            kind="int",
            default=2,
            minimum=1,
            help="People a foreign caller ID rang within the window (this call's included) "
            "before the wave weighs on it: a relative abroad rings their family, not a list.",
        ),
        _HISTORY,
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        window = settings.seconds("window")
        self.calls = env.count(CALLS_BY_ROUTE, window)
        self.spoofed = env.count(SPOOFED_BY_ROUTE, window)
        self.pairs = env.recent(CONTACT_PAIRS, settings.seconds("history_window"))
        self.rung = env.distinct(CALLEES_BY_CALLER_FROM_ABROAD, window)
        self.min_spoofed = settings.integer("min_spoofed")
        self.min_share = settings.number("min_share")
        self.foreign_min_callees = settings.integer("foreign_min_callees")
        self.window_text = format_window(window)

    def _works_a_list(self, context: Context) -> bool:
        caller = context.caller
        if caller is None:
            return True
        rung = counting_this(self.rung, caller, context.callee, context.t)
        return rung >= self.foreign_min_callees

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        route = context.route
        spoofed = self.spoofed.total(route, context.t)
        if spoofed < self.min_spoofed:
            return None
        calls = self.calls.total(route, context.t)
        share = spoofed / calls if calls else 0.0
        if share < self.min_share:
            return None
        pair = context.pair()
        if pair is not None and self.pairs.seen(pair, context.t):
            return None
        info = context.caller_info()
        foreign = info is not None and info.region is not None and not context.caller_domestic()
        if foreign and not self._works_a_list(context):
            return None
        weight = self.weight * min(1.0, 0.5 + share)
        return self.say(
            "spoofed_cli.route_wave",
            weight=weight,
            spoofed=spoofed,
            calls=calls,
            route=route,
            window=self.window_text,
        )
