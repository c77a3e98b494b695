"""Wangiri and dialling through number blocks: patterns visible only across many calls.

Wangiri ("one ring and cut") rings thousands of people from numbers of one
foreign premium range, hanging up before anyone answers, so that some call back
at a premium rate. One call looks like any missed call; the range's last
minutes give it away: many people rung, almost none answered, no talk time.
What a one-ring burst is — the block sizes of the range, the crowds, the share
of calls rung off — is defined once, in :mod:`qalqan.detections.wangiri`, for
this rule and for ``qalqan analyze`` alike. Outcomes are learned only when calls
end, so the first calls of a burst only show the crowd being rung
(``wangiri.calling_burst`` warns on a big one), and once a few calls have rung
off the rest are stopped, whatever number of the range and whatever carrier
they come from.

Dialling through number blocks — calling ``…4500``, ``…4501``, ``…4502`` — is
how call centers without a lead list find victims, and how SIM boxes are
tested. The source (a SIM, or a route for calls from outside, since their
caller IDs change every call) dialling several numbers of one hundred-block
in minutes gives it away.
"""

from __future__ import annotations

from qalqan.detections.wangiri import MIN_PREFIX_DIGITS, RangeLevel, WangiriBurst, range_text
from qalqan.domain.model import CallAttempt, Reason
from qalqan.screening.features import (
    CALLEES_BY_SOURCE_AND_BLOCK,
    CONTACT_PAIRS,
    bursting_ranges,
    range_features,
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
from qalqan.screening.state import (
    RecentKeys,
    RollingCount,
    RollingDistinct,
    counting_this,
    format_window,
)

__all__ = ["CallingBurst", "OneRingBurst", "SequentialDialling"]

_WINDOW = Setting(
    name="window",
    kind="duration",
    default="10m",
    help="How far back the range's calls are counted.",
)
_RANGE_LEVELS = Setting(
    name="range_levels",
    kind="int",
    default=5,
    minimum=1,
    maximum=5,
    help="Block sizes of a caller-ID range looked at: 1 hundred-blocks (the number without its "
    "last two digits) only, 2 also thousand-blocks, up to 5 (million-blocks). Blocks bigger than "
    "a hundred are looked at for foreign caller IDs only.",
)
_LEVEL_GROWTH = Setting(
    name="level_growth",
    kind="float",
    default=1.5,
    minimum=1.0,
    maximum=10.0,
    help="How much the crowd of callees (and of ended calls) needed grows from one block size "
    "to the next, ten times bigger.",
)


def _crowds(settings: Settings) -> WangiriBurst:
    """The block sizes and crowds of a rule with ``min_callees``, ``range_levels``, ``level_growth``."""
    return WangiriBurst(
        window_s=settings.seconds("window"),
        min_callees=settings.integer("min_callees"),
        range_levels=settings.integer("range_levels"),
        level_growth=settings.number("level_growth"),
    )


@register
class OneRingBurst(Rule):
    """Wangiri: a caller-ID range from outside rang many people, and its calls ended unanswered at once.

    Looked at in blocks of several sizes (`qalqan/detections/wangiri.py`); once
    found, the burst goes on as long as its range keeps ringing the crowd, though
    its intercepted calls no longer tell how they ended.
    """

    id = "wangiri.one_ring_burst"
    applies_to = FROM_OUTSIDE
    default_weight = 0.92
    messages = ("wangiri.one_ring_burst", "wangiri.one_ring_burst.continues")
    settings = (
        _WINDOW,
        Setting(
            name="min_callees",
            kind="int",
            default=10,
            minimum=1,
            help="People rung from a hundred-block of the range within the window (more for "
            "bigger blocks, see `level_growth`).",
        ),
        Setting(
            name="min_ended",
            kind="int",
            default=5,
            minimum=1,
            help="Calls from a hundred-block within the window whose outcome is known (more for "
            "bigger blocks).",
        ),
        Setting(
            name="min_one_ring_share",
            kind="float",
            default=0.8,
            minimum=0.0,
            maximum=1.0,
            help="Share of those that rang off unanswered with no talk time.",
        ),
        _RANGE_LEVELS,
        _LEVEL_GROWTH,
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        window = settings.seconds("window")
        self.burst = burst = WangiriBurst.from_settings(settings.as_dict())
        self.levels: list[tuple[RangeLevel, RollingDistinct, RollingCount, RollingCount]] = [
            (
                level,
                env.distinct(range_features(level.digits).callees, window),
                env.count(range_features(level.digits).outcomes, window),
                env.count(range_features(level.digits).one_ring, window),
            )
            for level in burst.levels
        ]
        self.coarsest = burst.levels[-1].digits
        self.bursting: RecentKeys = env.recent(bursting_ranges(self.coarsest), window)
        self.window_text = format_window(window)

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        caller = context.caller
        if caller is None:
            return None
        t = context.t
        foreign = len(self.levels) > 1 and not context.caller_domestic()
        ringing: tuple[RangeLevel, str, int] | None = None
        for level, callees_of, ended_of, one_ring_of in self.levels:
            if level.digits > 2 and not foreign:
                break
            key = level.prefix(caller)
            if key is None:
                break
            callees = callees_of.distinct(key, t)
            if callees < level.min_callees:
                continue
            ended = ended_of.total(key, t)
            one_ring = one_ring_of.total(key, t)
            if self.burst.confirmed(level, callees, ended, one_ring):
                return self.say(
                    "wangiri.one_ring_burst",
                    one_ring=one_ring,
                    ended=ended,
                    range=range_text(key, level.digits),
                    window=self.window_text,
                    callees=callees,
                )
            if ringing is None:
                ringing = (level, key, callees)
        if ringing is None:
            return None
        # The range the burst is remembered by: the caller's coarsest block (see features).
        coarsest = self.coarsest if foreign else 2
        if len(caller) < coarsest + MIN_PREFIX_DIGITS:
            coarsest = 2
        if not self.bursting.seen(caller[:-coarsest], t):
            return None
        level, key, callees = ringing
        return self.say(
            "wangiri.one_ring_burst.continues",
            range=range_text(key, level.digits),
            window=self.window_text,
            callees=callees,
        )


@register
class CallingBurst(Rule):
    """A caller-ID range from outside ringing very many different people within minutes: a robo-dialer.

    Weaker than a one-ring burst (the outcome is not needed), so it fires only
    on a larger crowd of callees, never for a callee who talked with the caller
    before, and only warns: the call still rings, and how it ends tells the
    one-ring rule whether the range is a burst.
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
            help="People rung from a hundred-block of the range within the window (more for "
            "bigger blocks, see `level_growth`).",
        ),
        _RANGE_LEVELS,
        _LEVEL_GROWTH,
        Setting(
            name="history_window",
            kind="duration",
            default="30d",
            help="How far back a callee's contact with the caller (an answered call, a delivered "
            "SMS) spares the call.",
        ),
    )

    def __init__(self, settings: Settings, env: Environment) -> None:
        super().__init__(settings, env)
        window = settings.seconds("window")
        self.levels = [
            (level, env.distinct(range_features(level.digits).callees, window))
            for level in _crowds(settings).levels
        ]
        self.pairs = env.recent(CONTACT_PAIRS, settings.seconds("history_window"))
        self.window_text = format_window(window)

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        caller = context.caller
        if caller is None:
            return None
        t = context.t
        foreign: bool | None = None
        for level, callees_of in self.levels:
            if level.digits > 2:
                if foreign is None:
                    foreign = not context.caller_domestic()
                if not foreign:
                    return None
            key = level.prefix(caller)
            if key is None:
                return None
            callees = callees_of.distinct(key, t)
            if callees < level.min_callees:
                continue
            pair = context.pair()
            if pair is not None and self.pairs.seen(pair, t):
                return None
            return self.say(
                "wangiri.calling_burst",
                callees=callees,
                range=range_text(key, level.digits),
                window=self.window_text,
            )
        return None


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
        dialled = counting_this(self.blocks, key, context.callee, t)
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
