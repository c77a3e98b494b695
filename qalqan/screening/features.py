"""The rolling features of the screening engine: what each one counts, keyed by what.

A feature's full name is its name here plus its window, as the rules
configure it: ``distinct_imsi_by_imei`` over 24 hours is held as
``distinct_imsi_by_imei_24h``. Each is updated once per recorded attempt (or
revealed outcome), whatever number of rules read it.

Only what was *known before* the attempt goes in: attempts are recorded after
they are decided, and outcomes (answered or not, talk time) only once the call
has ended.

**What each feature learns from.** The caller ID, the callee and the route of
an attempt are chosen by whoever places it, and an attacker can place as many
as they like. So a feature that speaks *for* later calls — earlier contact
between two numbers, a number established on a route, a number seen on our
radio, calls a SIM received, or the whole a suspicious share is taken of —
learns only from what really happened:

- ``contact_pairs``: answered calls and delivered SMS that the engine allowed
  (or never screened: the operator's own records), from their outcome;
- ``numbers_on_our_radio``, ``callees_by_route_and_caller``,
  ``calls_received_by_number``: attempts the engine allowed;
- ``sims_by_site`` (the whole of the young SIMs' share): attempts allowed, and
  every young SIM's (so that the share never exceeds one);
- ``calls_by_route`` (the whole of a route's spoofed share): attempts allowed,
  and every one proven spoofed;
- ``outcomes_by_range`` and ``one_ring_by_range``: outcomes of voice calls the
  engine allowed (an intercepted call's "outcome" is the intercept's).

Never from an attempt the engine intercepted (``warn``, ``divert``, ``block``),
nor one it only saw (recorded without a decision, or answered by a missed
deadline's default): redialling an intercepted call must not make it look
better. Features that only *raise* suspicion — bursts, distinct callees, SIMs
per handset, batch or owner, a route's proven-spoofed calls — count every
attempt, intercepted ones included: an attacker redialling looks worse.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache, partial
from typing import Final

from qalqan.detections.spoofing import SPOOFING_RULES
from qalqan.detections.wangiri import LEVEL_NAMES, MIN_PREFIX_DIGITS, WangiriBurst
from qalqan.domain.model import Action, Event
from qalqan.screening.signals import ABROAD, FROM_OUTSIDE, MOBILE, Context, FeatureSpec

__all__ = [
    "ACTIVE_SIMS_BY_BATCH",
    "ACTIVE_SIMS_BY_OWNER",
    "CALLEES_BY_CALLER_FROM_ABROAD",
    "CALLEES_BY_ROUTE_AND_CALLER",
    "CALLEES_BY_SOURCE_AND_BLOCK",
    "CALLS_BY_ROUTE",
    "CALLS_RECEIVED_BY_NUMBER",
    "CONTACT_PAIRS",
    "DISTINCT_CALLEES_BY_IMSI",
    "DISTINCT_CALLEES_BY_RANGE",
    "DISTINCT_IMSI_BY_IMEI",
    "FEATURES",
    "NUMBERS_ON_OUR_RADIO",
    "ONE_RING_BY_RANGE",
    "OUTCOMES_BY_RANGE",
    "SIMS_BY_SITE",
    "SPOOFED_BY_ROUTE",
    "SPOOFING_EVIDENCE",
    "WANGIRI_RANGE_FEATURES",
    "YOUNG_SIMS_BY_SITE",
    "RangeFeatures",
    "bursting_ranges",
    "range_features",
]

SPOOFING_EVIDENCE: Final = frozenset(rule.id for rule in SPOOFING_RULES)
"""Rules whose firing proves a caller ID impossible (:mod:`qalqan.detections.spoofing`): what a
route's spoofing wave is counted from."""


_RANG: Final = frozenset({None, Action.ALLOW, Action.WARN})
"""The engine's answers after which a call rang as dialled (a warning is heard, then the call)."""


def _block(c: Context, digits: int) -> str | None:
    """The caller's block of ``digits`` left-out digits, for a call from outside (see
    :mod:`qalqan.detections.wangiri`): bigger than a hundred for foreign caller IDs only."""
    caller = c.caller
    if caller is None or not c.outside or len(caller) < digits + MIN_PREFIX_DIGITS:
        return None
    if digits > 2 and c.caller_domestic():
        return None
    return caller[:-digits]


def _rang_outcome_block(c: Context, digits: int) -> Hashable | None:
    """The caller's block for a voice call from outside that rang as dialled (allowed or warned).

    Or that was stopped for its caller ID lying in no allocated range: such a call is stopped
    whatever its range does, never connects, and counts as a call that rang off (so that a
    burst from a range partly unallocated is found as ``qalqan analyze`` finds it).
    """
    outcome = c.outcome
    if outcome is None or outcome.event is not Event.VOICE:
        return None
    if outcome.action not in _RANG:
        info = c.caller_info()
        if info is None or info.valid:
            return None
    return _block(c, digits)


def _one_ring_block(c: Context, digits: int) -> Hashable | None:
    outcome = c.outcome
    return _rang_outcome_block(c, digits) if outcome is not None and outcome.one_ring else None


def _contact_pair(c: Context) -> Hashable | None:
    outcome = c.outcome
    return c.pair() if outcome is not None and outcome.contact else None


def _source(c: Context) -> Hashable | None:
    """Who dialled: the SIM for calls over our radio, the route for calls from outside."""
    if c.imsi is not None:
        return c.imsi
    return c.route if c.outside else None


def _spoofed_route(c: Context) -> Hashable | None:
    return c.route if c.abroad and not c.fired.isdisjoint(SPOOFING_EVIDENCE) else None


def _route_whole(c: Context) -> Hashable | None:
    """A call from abroad counted in its route's whole: allowed, or itself proven spoofed."""
    if not c.abroad:
        return None
    return c.route if c.allowed or not c.fired.isdisjoint(SPOOFING_EVIDENCE) else None


def _site_whole(c: Context) -> Hashable | None:
    """A SIM counted in its site's whole: every young SIM, and the others when allowed."""
    return c.site if c.imsi is not None and (c.young or c.allowed) else None


def _batch(c: Context) -> Hashable | None:
    return c.sim.activation_batch if c.sim is not None else None


def _owner(c: Context) -> Hashable | None:
    return c.sim.owner_id if c.sim is not None else None


def _callee_block(c: Context) -> Hashable | None:
    source = _source(c)
    return None if source is None else (source, c.callee_block)


CONTACT_PAIRS = FeatureSpec(
    name="contact_pairs",
    shape="recent",
    key=_contact_pair,
    stage="outcome",
    doc="pairs of numbers that talked (an answered call) or texted (a delivered SMS), either "
    "way, over any ingress, the engine having let it through (or never screened it)",
)
NUMBERS_ON_OUR_RADIO = FeatureSpec(
    name="numbers_on_our_radio",
    shape="recent",
    key=lambda c: c.caller if c.allowed else None,
    ingress=MOBILE,
    doc="caller IDs of calls over our own radio network that the engine allowed: our "
    "subscribers, even when `subscribers` does not list them",
)
CALLEES_BY_ROUTE_AND_CALLER = FeatureSpec(
    name="callees_by_route_and_caller",
    shape="distinct",
    key=lambda c: (c.route, c.caller) if c.caller is not None and c.allowed else None,
    item=lambda c: c.callee,
    ingress=ABROAD,
    doc="people each caller ID called over each international or VoIP route, in calls the "
    "engine allowed",
)

CALLEES_BY_CALLER_FROM_ABROAD = FeatureSpec(
    name="callees_by_caller_from_abroad",
    shape="distinct",
    key=lambda c: c.caller,
    item=lambda c: c.callee,
    ingress=ABROAD,
    doc="people each caller ID rang over international or VoIP routes, every attempt "
    "(a number working a list; it only ever raises suspicion)",
)


@dataclass(frozen=True, slots=True)
class RangeFeatures:
    """The rolling features of one block size of caller-ID ranges (Wangiri)."""

    callees: FeatureSpec
    outcomes: FeatureSpec
    one_ring: FeatureSpec


@cache
def range_features(digits: int) -> RangeFeatures:
    """Distinct callees, known outcomes and one-ring outcomes per block of ``digits`` left-out digits.

    The hundred-block's are ``distinct_callees_by_range``, ``outcomes_by_range`` and
    ``one_ring_by_range``; bigger blocks' are named after their size
    (``distinct_callees_by_ten_thousand_block``) and hold foreign caller IDs only.
    """
    if digits == 2:
        suffix, what = "range", "caller-ID range (the number without its last two digits)"
    else:
        name = LEVEL_NAMES[digits]
        suffix = f"{name}_block"
        what = f"{name.replace('_', '-')}-block of foreign caller IDs (the number without its last {digits} digits)"
    return RangeFeatures(
        callees=FeatureSpec(
            name=f"distinct_callees_by_{suffix}",
            shape="distinct",
            key=partial(_block, digits=digits),
            item=lambda c: c.callee,
            ingress=FROM_OUTSIDE,
            doc=f"people called from outside by each {what}",
        ),
        outcomes=FeatureSpec(
            name=f"outcomes_by_{suffix}",
            shape="count",
            key=partial(_rang_outcome_block, digits=digits),
            stage="outcome",
            ingress=FROM_OUTSIDE,
            doc=f"voice calls from outside per {what} whose outcome is known (they ended), of "
            "those that rang as dialled (the engine allowed them, or warned and let them ring) "
            "or were stopped for a caller ID in no allocated range (they never connect)",
        ),
        one_ring=FeatureSpec(
            name=f"one_ring_by_{suffix}",
            shape="count",
            key=partial(_one_ring_block, digits=digits),
            stage="outcome",
            ingress=FROM_OUTSIDE,
            doc="of those, calls that rang off unanswered with no talk time",
        ),
    )


def _bursting_range(c: Context, digits: int) -> Hashable | None:
    if "wangiri.one_ring_burst" not in c.fired:
        return None
    return _block(c, digits) or _block(c, 2)


@cache
def bursting_ranges(digits: int) -> FeatureSpec:
    """Ranges (the caller's coarsest block, ``digits`` left out) where a one-ring burst was just found."""
    return FeatureSpec(
        name=f"wangiri_bursting_{LEVEL_NAMES[digits]}_blocks",
        shape="recent",
        key=partial(_bursting_range, digits=digits),
        ingress=FROM_OUTSIDE,
        doc="caller-ID ranges (the caller's coarsest block looked at; its hundred-block for a "
        "domestic number) that a call found in a one-ring burst came from",
    )


_HUNDRED: Final = range_features(2)
DISTINCT_CALLEES_BY_RANGE: Final = _HUNDRED.callees
OUTCOMES_BY_RANGE: Final = _HUNDRED.outcomes
ONE_RING_BY_RANGE: Final = _HUNDRED.one_ring
_DEFAULT_LEVELS: Final = WangiriBurst().levels
WANGIRI_RANGE_FEATURES: Final = (
    *(
        spec
        for level in _DEFAULT_LEVELS
        for spec in (
            range_features(level.digits).callees,
            range_features(level.digits).outcomes,
            range_features(level.digits).one_ring,
        )
    ),
    bursting_ranges(_DEFAULT_LEVELS[-1].digits),
)
"""The Wangiri features of the default block sizes."""
DISTINCT_IMSI_BY_IMEI = FeatureSpec(
    name="distinct_imsi_by_imei",
    shape="distinct",
    key=lambda c: c.imei if c.imsi is not None else None,
    item=lambda c: c.imsi,
    ingress=MOBILE,
    doc="SIMs (IMSIs) each handset (IMEI) carried",
)
SIMS_BY_SITE = FeatureSpec(
    name="sims_by_site",
    shape="distinct",
    key=_site_whole,
    item=lambda c: c.imsi,
    ingress=MOBILE,
    doc="SIMs that made calls from each site (the cell's site; the cell when sites are unknown): "
    "every young SIM, the others in calls the engine allowed",
)
YOUNG_SIMS_BY_SITE = FeatureSpec(
    name="young_sims_by_site",
    shape="distinct",
    key=lambda c: c.site if c.young else None,
    item=lambda c: c.imsi,
    ingress=MOBILE,
    doc="of those, SIMs activated recently (``network.young_sim_days``)",
)
ACTIVE_SIMS_BY_BATCH = FeatureSpec(
    name="active_sims_by_batch",
    shape="distinct",
    key=_batch,
    item=lambda c: c.imsi,
    ingress=MOBILE,
    doc="SIMs of one activation batch (same day, IMSIs in the same thousand) that made calls",
)
ACTIVE_SIMS_BY_OWNER = FeatureSpec(
    name="active_sims_by_owner",
    shape="distinct",
    key=_owner,
    item=lambda c: c.imsi,
    ingress=MOBILE,
    doc="SIMs registered to one identity document that made calls",
)
DISTINCT_CALLEES_BY_IMSI = FeatureSpec(
    name="distinct_callees_by_imsi",
    shape="distinct",
    key=lambda c: c.imsi,
    item=lambda c: c.callee,
    ingress=MOBILE,
    doc="people each SIM called",
)
CALLS_RECEIVED_BY_NUMBER = FeatureSpec(
    name="calls_received_by_number",
    shape="count",
    key=lambda c: c.callee if c.allowed else None,
    doc="calls and SMS each number received, over any ingress, that the engine allowed",
)
CALLEES_BY_SOURCE_AND_BLOCK = FeatureSpec(
    name="callees_by_source_and_block",
    shape="distinct",
    key=_callee_block,
    item=lambda c: c.callee,
    doc="numbers of one hundred-block dialled by one SIM, or over one route from outside",
)
CALLS_BY_ROUTE = FeatureSpec(
    name="calls_by_route",
    shape="count",
    key=_route_whole,
    ingress=ABROAD,
    doc="calls over each international or VoIP route: those the engine allowed, and every one "
    "proven spoofed",
)
SPOOFED_BY_ROUTE = FeatureSpec(
    name="spoofed_by_route",
    shape="count",
    key=_spoofed_route,
    ingress=ABROAD,
    doc="of those, calls whose caller ID a rule proved impossible (registry, our subscriber "
    "at home, domestic number from abroad, unallocated)",
)

FEATURES: Final[tuple[FeatureSpec, ...]] = (
    CONTACT_PAIRS,
    NUMBERS_ON_OUR_RADIO,
    CALLEES_BY_ROUTE_AND_CALLER,
    CALLEES_BY_CALLER_FROM_ABROAD,
    *WANGIRI_RANGE_FEATURES,
    DISTINCT_IMSI_BY_IMEI,
    SIMS_BY_SITE,
    YOUNG_SIMS_BY_SITE,
    ACTIVE_SIMS_BY_BATCH,
    ACTIVE_SIMS_BY_OWNER,
    DISTINCT_CALLEES_BY_IMSI,
    CALLS_RECEIVED_BY_NUMBER,
    CALLEES_BY_SOURCE_AND_BLOCK,
    CALLS_BY_ROUTE,
    SPOOFED_BY_ROUTE,
)
