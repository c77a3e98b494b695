"""Wangiri and dialling through number blocks: patterns visible only across many calls.

Wangiri ("one ring and cut") rings thousands of people from a few numbers of
one foreign premium range, hanging up before anyone answers, so that some call
back at a premium rate. One call looks like any missed call; the range's last
minutes give it away: many people rung, almost none answered, no talk time.
Outcomes are learned only when calls end, so the first few calls of a burst
pass and the rest are stopped.

Dialling through number blocks — calling ``…4500``, ``…4501``, ``…4502`` — is
how call centers without a lead list find victims, and how SIM boxes are
tested. The source (a SIM, or a route for calls from outside, since their
caller IDs change every call) dialling several numbers of one hundred-block
in minutes gives it away.
"""

from __future__ import annotations

from qalqan.domain.model import CallAttempt, Reason
from qalqan.screening.features import (
    CALLEES_BY_SOURCE_AND_BLOCK,
    DISTINCT_CALLEES_BY_RANGE,
    ONE_RING_BY_RANGE,
    OUTCOMES_BY_RANGE,
)
from qalqan.screening.signals import (
    ALL_INGRESS,
    FROM_OUTSIDE,
    Context,
    Environment,
    Rule,
    Setting,
    Settings,
    register,
)
from qalqan.screening.state import format_window

__all__ = ["CallingBurst", "OneRingBurst", "SequentialDialling"]

_WINDOW = Setting(
    name="window",
    kind="duration",
    default="10m",
    help="How far back the range's calls are counted.",
)


@register
class OneRingBurst(Rule):
    """Wangiri: a caller-ID range from outside rang many people, and its calls ended unanswered at once."""

    id = "wangiri.one_ring_burst"
    applies_to = FROM_OUTSIDE
    default_weight = 0.92
    messages = ("wangiri.one_ring_burst",)
    settings = (
        _WINDOW,
        Setting(
            name="min_callees",
            kind="int",
            default=10,
            minimum=1,
            help="People rung from the range within the window.",
        ),
        Setting(
            name="min_ended",
            kind="int",
            default=5,
            minimum=1,
            help="Calls from the range within the window whose outcome is known.",
        ),
        Setting(
            name="min_one_ring_share",
            kind="float",
            default=0.8,
            minimum=0.0,
            maximum=1.0,
            help="Share of those that rang off unanswered with no talk time.",
        ),
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        window = settings.seconds("window")
        self.callees = env.distinct(DISTINCT_CALLEES_BY_RANGE, window)
        self.ended = env.count(OUTCOMES_BY_RANGE, window)
        self.one_ring = env.count(ONE_RING_BY_RANGE, window)
        self.min_callees = settings.integer("min_callees")
        self.min_ended = settings.integer("min_ended")
        self.min_share = settings.number("min_one_ring_share")
        self.window_text = format_window(window)

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        key = context.caller_range
        if key is None:
            return None
        t = context.t
        callees = self.callees.distinct(key, t)
        if callees < self.min_callees:
            return None
        ended = self.ended.total(key, t)
        if ended < self.min_ended:
            return None
        one_ring = self.one_ring.total(key, t)
        if one_ring < self.min_share * ended:
            return None
        return self.say(
            "wangiri.one_ring_burst",
            one_ring=one_ring,
            ended=ended,
            range=key,
            window=self.window_text,
            callees=callees,
        )


@register
class CallingBurst(Rule):
    """A caller-ID range from outside ringing very many different people within minutes: a robo-dialer.

    Weaker than a one-ring burst (the outcome is not needed), so it fires only
    on a larger crowd of callees.
    """

    id = "wangiri.calling_burst"
    applies_to = FROM_OUTSIDE
    default_weight = 0.6
    messages = ("wangiri.calling_burst",)
    settings = (
        _WINDOW,
        Setting(
            name="min_callees",
            kind="int",
            default=40,
            minimum=1,
            help="People rung from the range within the window.",
        ),
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        window = settings.seconds("window")
        self.callees = env.distinct(DISTINCT_CALLEES_BY_RANGE, window)
        self.min_callees = settings.integer("min_callees")
        self.window_text = format_window(window)

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        key = context.caller_range
        if key is None:
            return None
        callees = self.callees.distinct(key, context.t)
        if callees < self.min_callees:
            return None
        return self.say(
            "wangiri.calling_burst", callees=callees, range=key, window=self.window_text
        )


@register
class SequentialDialling(Rule):
    """One source dialling through a block of consecutive numbers: a dialer without a lead list.

    The source is the SIM for calls over our radio network and the route for
    calls from outside. The callee counts too, when it is new in its block.
    """

    id = "sequential_dialling.number_blocks"
    applies_to = ALL_INGRESS
    default_weight = 0.6
    messages = ("sequential_dialling.number_blocks", "sequential_dialling.number_blocks.route")
    settings = (
        _WINDOW,
        Setting(
            name="min_numbers",
            kind="int",
            default=4,
            minimum=2,
            help="Different numbers of one hundred-block dialled by the source within the window.",
        ),
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        window = settings.seconds("window")
        self.blocks = env.distinct(CALLEES_BY_SOURCE_AND_BLOCK, window)
        self.min_numbers = settings.integer("min_numbers")
        self.window_text = format_window(window)

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        source = (
            context.imsi if context.imsi is not None else context.route if context.outside else None
        )
        if source is None:
            return None
        key = (source, context.callee_block)
        t = context.t
        dialled = self.blocks.distinct(key, t)
        if not self.blocks.contains(key, context.callee, t):
            dialled += 1
        if dialled < self.min_numbers:
            return None
        if context.imsi is not None:
            return self.say(
                "sequential_dialling.number_blocks",
                imsi=source,
                dialled=dialled,
                block=context.callee_block,
                window=self.window_text,
            )
        return self.say(
            "sequential_dialling.number_blocks.route",
            route=source,
            dialled=dialled,
            block=context.callee_block,
            window=self.window_text,
        )
