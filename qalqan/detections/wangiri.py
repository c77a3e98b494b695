"""Wangiri, defined once: when calls from one number range are a one-ring burst.

Wangiri ("one ring and cut") rings thousands of people from numbers of one
foreign premium range, hanging up before anyone answers, so that some call back
at a premium rate. One call looks like any missed call; the range's last minutes
give it away. The operation spreads its calls over many numbers of the range and
over several carriers, so the range is looked at in blocks of several sizes —
the caller ID without its last 2 digits (a hundred-block), 3 (a thousand-block),
4, 5, 6 (a million-block) — each with a crowd of callees that grows with the block (a big foreign
operator's ordinary traffic, many callers each calling one or two people and
often answered, never reaches it), and never by carrier.

At the moment ``t`` of a call from outside, for each block size (a *level*) the
call's block is

- **ringing** when at least ``min_callees`` (grown for the level) different
  people were rung from it in the window before ``t`` (every attempt counts,
  calls and SMS, whatever the engine answered);
- **confirmed** when it is ringing and, of its voice calls that began in the
  window's buckets (the window in ten buckets, as the engine's rolling counts
  keep it: :mod:`qalqan.screening.state`) and whose outcome was known by ``t``
  (ended, plus ``outcome_delay_s``), at least ``min_ended`` ended, at least
  ``min_one_ring_share`` of them unanswered with no talk time.

A call is **Wangiri** when one of its blocks is confirmed (the burst's evidence,
:meth:`WangiriBurst.confirmed`), or when one of its blocks is ringing and a
call from the same range was Wangiri less than ``window`` before it (the burst
goes on: once calls are intercepted their outcomes no longer come in, so the
evidence must not have to be found again). The range a burst is remembered by
is the caller's coarsest block.

Blocks bigger than a hundred are looked at for foreign caller IDs only: a
domestic operator's ten-thousand-block rings many of our subscribers every
minute, by ordinary calls.

The screening engine evaluates this call by call
(:class:`qalqan.screening.rules.wangiri.OneRingBurst`, counting outcomes of the
calls it let ring), ``qalqan analyze`` in SQL over the whole data set
(:func:`burst_sql`, counting every outcome); both read the settings of the rule
``wangiri.one_ring_burst`` in the rules file. The analysis is causal: a call is
judged only from calls and outcomes known at its time, so every call the
analysis finds, the engine intercepts live (unless it intercepted that range's
earlier calls for another reason and so never heard how they ended).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from qalqan.detections.settings import RulesFile

__all__ = [
    "BUCKETS_PER_WINDOW",
    "LEVEL_NAMES",
    "MIN_PREFIX_DIGITS",
    "RangeLevel",
    "WangiriBurst",
    "burst_sql",
    "range_text",
]

BUCKETS_PER_WINDOW: Final = 10
"""The window in buckets, as the engine's rolling counts keep it (``qalqan.screening.state``)."""
MIN_PREFIX_DIGITS: Final = 4
"""Digits a block's prefix keeps at least: shorter caller IDs belong to no block at that level."""
LEVEL_NAMES: Final = {
    2: "hundred",
    3: "thousand",
    4: "ten_thousand",
    5: "hundred_thousand",
    6: "million",
}
"""Blocks by the digits they leave out of the caller ID."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeLevel:
    """One block size: the caller ID without its last ``digits`` digits, and its thresholds."""

    digits: int
    min_callees: int
    min_ended: int

    @property
    def foreign_only(self) -> bool:
        """Blocks bigger than a hundred are looked at for foreign caller IDs only."""
        return self.digits > 2

    @property
    def name(self) -> str:
        return LEVEL_NAMES[self.digits]

    def prefix(self, caller: str) -> str | None:
        """The caller's block at this level, as the caller ID without its last digits."""
        if len(caller) < self.digits + MIN_PREFIX_DIGITS:
            return None
        return caller[: -self.digits]


def range_text(prefix: str, digits: int) -> str:
    """A block as an operator reads it: ``+22245012xxx``."""
    return prefix + "x" * digits


def _grown(base: int, growth: float, level: int) -> int:
    return max(1, math.ceil(base * growth**level - 1e-9))


@dataclass(frozen=True, slots=True, kw_only=True)
class WangiriBurst:
    """The settings of the definition; :meth:`from_settings` reads them from the rule's."""

    window_s: float = 600.0
    min_callees: int = 10
    """People rung from a hundred-block within the window."""
    min_ended: int = 5
    """Calls from a hundred-block within the window whose outcome is known."""
    min_one_ring_share: float = 0.8
    range_levels: int = 5
    """Block sizes looked at: 1 hundred-blocks only, 5 up to million-blocks."""
    level_growth: float = 1.5
    """How much both crowds grow from one block size to the next (ten times bigger)."""
    outcome_delay_s: float = 30.0
    """For the analysis: how long after a call ends its outcome is known (as replay assumes)."""
    levels: tuple[RangeLevel, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if not 1 <= self.range_levels <= len(LEVEL_NAMES):
            raise ValueError(f"range_levels must be 1 to {len(LEVEL_NAMES)}")
        levels = tuple(
            RangeLevel(
                digits=2 + i,
                min_callees=_grown(self.min_callees, self.level_growth, i),
                min_ended=_grown(self.min_ended, self.level_growth, i),
            )
            for i in range(self.range_levels)
        )
        object.__setattr__(self, "levels", levels)

    @classmethod
    def from_settings(
        cls, values: Mapping[str, object], *, outcome_delay_s: float = 30.0
    ) -> WangiriBurst:
        """From the settings of ``wangiri.one_ring_burst`` (``Settings.as_dict()``)."""

        def number(name: str) -> float:
            value = values[name]
            assert isinstance(value, int | float)
            return float(value)

        return cls(
            window_s=number("window"),
            min_callees=int(number("min_callees")),
            min_ended=int(number("min_ended")),
            min_one_ring_share=number("min_one_ring_share"),
            range_levels=int(number("range_levels")),
            level_growth=number("level_growth"),
            outcome_delay_s=outcome_delay_s,
        )

    @classmethod
    def from_config(cls, config: RulesFile) -> WangiriBurst:
        """As a screening rules file sets ``wangiri.one_ring_burst``."""
        return cls.from_settings(config.rules["wangiri.one_ring_burst"].as_dict())

    def levels_for(self, foreign: bool) -> tuple[RangeLevel, ...]:
        """The block sizes a caller ID is looked at in: all for a foreign one, else hundreds."""
        return self.levels if foreign else self.levels[:1]

    def ringing(self, level: RangeLevel, callees: int) -> bool:
        return callees >= level.min_callees

    def confirmed(self, level: RangeLevel, callees: int, ended: int, one_ring: int) -> bool:
        """The burst's evidence at one block size: many rung, and the calls that ended rang off."""
        return (
            callees >= level.min_callees
            and ended >= level.min_ended
            and one_ring >= self.min_one_ring_share * ended
        )


def _level_rows(burst: WangiriBurst, level: RangeLevel, source: str) -> str:
    coarsest = burst.levels[-1].digits
    foreign = " AND NOT coalesce(cli_domestic, false)" if level.foreign_only else ""
    # The range a burst is remembered by: the coarsest block the caller is looked at in.
    latch_digits = (
        "2"
        if coarsest == 2
        else f"CASE WHEN coalesce(cli_domestic, false) OR length(a_number) < {coarsest + MIN_PREFIX_DIGITS}"
        f" THEN 2 ELSE {coarsest} END"
    )
    latch = f"left(a_number, length(a_number) - {latch_digits})"
    return f"""
        SELECT record_id, epoch_us(t) AS us, b_number, event, dur, result,
               {level.digits} AS digits, {level.min_callees} AS min_callees,
               {level.min_ended} AS min_ended,
               left(a_number, length(a_number) - {level.digits}) AS prefix,
               {latch} AS latch, {latch_digits} AS latch_digits
        FROM {source}
        WHERE a_number IS NOT NULL AND length(a_number) >= {level.digits + MIN_PREFIX_DIGITS}{foreign}
    """


def _ranged_sql(levels: str) -> str:
    """SQL: the rows of ``levels`` (:func:`_level_rows`) of the blocks with at least their crowd
    of calls in all (one with fewer can never ring it: left out at once), the calls counted by
    a grouping, cheaper than a window over every call's row."""
    return f"""
        SELECT l.* FROM ({levels}) AS l
        JOIN (SELECT digits, prefix FROM ({levels}) AS c
              GROUP BY digits, prefix, min_callees HAVING count(*) >= min_callees) AS k
          ON k.digits = l.digits AND k.prefix = l.prefix
    """


def burst_sql(burst: WangiriBurst, source: str) -> str:
    """A query giving, for each call of ``source`` the definition finds, the evidence it had.

    ``source`` holds the calls from outside: ``record_id``, ``t`` (TIMESTAMP),
    ``dur`` (talk time, s), ``event``, ``result``, ``a_number``, ``b_number`` and
    ``cli_domestic``. The query gives ``record_id``, ``wangiri_state``
    (``confirmed`` or ``continues``), ``wangiri_range`` (the block, ``+22245012xxx``),
    ``wangiri_callees``, ``wangiri_ended`` and ``wangiri_one_ring`` at the finest
    block that showed it. Besides, in hindsight only (no engine can know it at the
    time): the burst's *opening*, its one-ring calls from the range in the window
    before it was first found (``wangiri_state`` ``opening``, ``wangiri_callees`` the
    people rung when it was found).
    """
    window_us = round(burst.window_s * 1_000_000)
    width_us = window_us // BUCKETS_PER_WINDOW
    delay_us = round(burst.outcome_delay_s * 1_000_000)
    levels = " UNION ALL ".join(_level_rows(burst, level, source) for level in burst.levels)
    share = repr(float(burst.min_one_ring_share))
    return f"""
    WITH ranged AS ({_ranged_sql(levels)}),
    -- people rung from the block in the window before the call (calls at the same moment not
    -- counted): its calls there, less those to someone it had rung less than a window before
    -- the repeat (exact when nobody is rung twice within a window, never more than the engine's
    -- count otherwise)
    repeats AS (
        SELECT *, CASE WHEN us - lag(us) OVER (PARTITION BY digits, prefix, b_number ORDER BY us)
                            < {window_us} THEN 1 ELSE 0 END AS repeat
        FROM ranged
    ),
    rung AS (
        SELECT *, count(*) OVER w - coalesce(sum(repeat) OVER w, 0) AS callees
        FROM repeats
        WINDOW w AS (PARTITION BY digits, prefix ORDER BY us
                     RANGE BETWEEN {window_us - 1} PRECEDING AND 1 PRECEDING)
    ),
    ringing AS (SELECT * FROM rung WHERE callees >= min_callees),
    -- the outcomes are counted only in the blocks that rang at some time: no other is asked
    watched AS (
        SELECT r.* FROM ranged r
        JOIN (SELECT DISTINCT digits, prefix FROM ringing) AS q
          ON q.digits = r.digits AND q.prefix = r.prefix
        WHERE r.event = 'voice'
    ),
    -- a voice call's outcome counts from when it is known until its bucket leaves the window
    outcome_events AS (
        SELECT digits, prefix, us + CAST(coalesce(dur, 0) AS BIGINT) * 1000000 + {delay_us} AS at_us, 1 AS d_ended,
               CASE WHEN result <> 'answered' AND coalesce(dur, 0) <= 0 THEN 1 ELSE 0 END AS d_one_ring,
               NULL::VARCHAR AS record_id, 0 AS is_query
        FROM watched
        WHERE us + CAST(coalesce(dur, 0) AS BIGINT) * 1000000 + {delay_us} < (us // {width_us} + {BUCKETS_PER_WINDOW}) * {width_us}
        UNION ALL
        SELECT digits, prefix, (us // {width_us} + {BUCKETS_PER_WINDOW}) * {width_us}, -1,
               CASE WHEN result <> 'answered' AND coalesce(dur, 0) <= 0 THEN -1 ELSE 0 END, NULL, 0
        FROM watched
        WHERE us + CAST(coalesce(dur, 0) AS BIGINT) * 1000000 + {delay_us} < (us // {width_us} + {BUCKETS_PER_WINDOW}) * {width_us}
        UNION ALL
        SELECT digits, prefix, us, 0, 0, record_id, 1 FROM ringing
    ),
    known AS (
        SELECT record_id, digits,
               sum(d_ended) OVER w AS ended, sum(d_one_ring) OVER w AS one_ring
        FROM outcome_events
        WINDOW w AS (PARTITION BY digits, prefix ORDER BY at_us, is_query
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        QUALIFY is_query = 1
    ),
    judged AS (
        SELECT r.record_id, r.us, r.digits, r.prefix, r.latch, r.callees,
               k.ended, k.one_ring,
               k.ended >= r.min_ended AND k.one_ring >= {share} * k.ended AS confirmed
        FROM ringing r JOIN known k USING (record_id, digits)
    ),
    -- one row per call: the finest confirmed block, else the finest ringing one
    calls AS (
        SELECT record_id, us, latch,
               arg_min(digits, CASE WHEN confirmed THEN digits ELSE 100 + digits END) AS digits,
               bool_or(confirmed) AS confirmed
        FROM judged GROUP BY record_id, us, latch
    ),
    -- calls of one range ringing with less than a window between them go on one burst
    sessions AS (
        SELECT *, sum(CASE WHEN us - prev < {window_us} THEN 0 ELSE 1 END)
                      OVER (PARTITION BY latch ORDER BY us ROWS UNBOUNDED PRECEDING) AS session
        FROM (SELECT *, lag(us) OVER (PARTITION BY latch ORDER BY us) AS prev FROM calls)
    ),
    started AS (
        SELECT *, min(CASE WHEN confirmed THEN us END)
                      OVER (PARTITION BY latch, session) AS first_confirmed
        FROM sessions
    ),
    found AS (
        SELECT s.record_id, s.us, s.latch, s.first_confirmed, s.confirmed,
               j.prefix || repeat('x', j.digits) AS wangiri_range,
               j.callees, j.ended, j.one_ring
        FROM started s JOIN judged j ON j.record_id = s.record_id AND j.digits = s.digits
        WHERE s.confirmed OR s.us > s.first_confirmed
    ),
    -- afterwards, not live: the burst's one-ring calls in the window before it was first found
    opening AS (
        SELECT DISTINCT r.record_id, r.latch || repeat('x', r.latch_digits) AS wangiri_range,
               b.callees AS wangiri_callees
        FROM ranged r
        JOIN (SELECT latch, us, callees FROM found WHERE us = first_confirmed) b
          ON b.latch = r.latch AND r.us >= b.us - {window_us} AND r.us < b.us
        WHERE r.event = 'voice' AND r.result <> 'answered' AND coalesce(r.dur, 0) <= 0
    )
    SELECT record_id,
           CASE WHEN confirmed THEN 'confirmed' ELSE 'continues' END AS wangiri_state,
           wangiri_range, callees AS wangiri_callees, ended AS wangiri_ended,
           one_ring AS wangiri_one_ring
    FROM found
    UNION ALL
    SELECT o.record_id, 'opening', arg_min(o.wangiri_range, o.wangiri_callees),
           min(o.wangiri_callees), NULL, NULL
    FROM opening o ANTI JOIN found f USING (record_id)
    GROUP BY o.record_id
    """
