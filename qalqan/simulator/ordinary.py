"""Ordinary subscribers: calls and SMS to their contacts, calls from other networks and from abroad."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qalqan.simulator.events import ANSWERED, FAILED, SMS, Events, Truth
from qalqan.simulator.population import SimKind
from qalqan.simulator.world import World

__all__ = ["ordinary_traffic"]

I64 = npt.NDArray[np.int64]


def _pick_contacts(world: World, rng: np.random.Generator, subs: I64) -> I64:
    """Index into the contact arrays: a few close contacts get most of the calls."""
    pop = world.pop
    start = pop.contact_start[subs]
    k = pop.contact_start[subs + 1] - start
    rank = np.minimum((k * rng.random(subs.size) ** 2.2).astype(np.int64), np.maximum(k - 1, 0))
    return start + rank


def ordinary_traffic(
    world: World, rng: np.random.Generator, day: int, minutes: tuple[int, int]
) -> Events:
    """Attempts of ordinary subscribers in UTC minutes [m0, m1) of ``day``."""
    pop = world.pop
    m0, m1 = minutes
    weights = world.ordinary_minutes(day)
    window = np.zeros_like(weights)
    window[m0:m1] = weights[m0:m1]
    share = window.sum() / weights.sum()
    people = np.flatnonzero(
        (pop.kind == SimKind.ORDINARY) | (pop.kind == SimKind.TAXI_COURIER)
    ).astype(np.int64)
    elderly = pop.birth_year[people] <= world.scenario.start.year - 65
    parts: list[Events] = []
    s = world.scenario.ordinary

    # Outgoing voice to contacts.
    counts = rng.poisson(pop.voice_rate[people] * share)
    caller = np.repeat(people, counts)
    t = world.sample_times(rng, day, window, caller.size)
    here = ~world.abroad(caller, t)
    caller, t = caller[here], t[here]
    contact = _pick_contacts(world, rng, caller)
    callee = pop.contact_number[contact]
    old = np.repeat(elderly, counts)[here]
    result, duration = world.outcome(rng, caller.size, s.answered_share, 60.0)
    long_talk = old & (result == ANSWERED)
    duration[long_talk] = (duration[long_talk] * 1.8).astype(np.int32)
    parts.append(
        Events.make(
            caller.size,
            t=t,
            dur=duration,
            result=result,
            **world.from_subscriber(rng, caller, t, day),
            **world.to_numbers(rng, callee, t, day),
        )
    )

    # SMS to contacts.
    counts = rng.poisson(pop.sms_rate[people] * share)
    sender = np.repeat(people, counts)
    t = world.sample_times(rng, day, window, sender.size)
    here = ~world.abroad(sender, t)
    sender, t = sender[here], t[here]
    to = pop.contact_number[_pick_contacts(world, rng, sender)]
    delivered = np.where(rng.random(sender.size) < 0.97, ANSWERED, FAILED)
    parts.append(
        Events.make(
            sender.size,
            t=t,
            event=SMS,
            result=delivered,
            **world.from_subscriber(rng, sender, t, day),
            **world.to_numbers(rng, to, t, day),
        )
    )

    # Incoming from contacts on other networks: other domestic operators and relatives abroad.
    counts = rng.poisson(pop.voice_rate[people] * s.incoming_offnet_ratio * share)
    receiver = np.repeat(people, counts)
    contact = _pick_contacts(world, rng, receiver)
    offnet = pop.contact_sub[contact] < 0
    receiver, contact = receiver[offnet], contact[offnet]
    caller_number = pop.contact_number[contact]
    t = world.sample_times(rng, day, window, receiver.size)
    orig = world.country_of_number(caller_number)
    foreign = orig >= 0
    ingress = world.national_route(caller_number)
    ingress[foreign] = world.carrier(rng, int(foreign.sum()))
    result, duration = world.outcome(rng, receiver.size, s.answered_share, 75.0)
    group = np.where(foreign, world.group("relative_abroad"), -1)
    parts.append(
        Events.make(
            receiver.size,
            t=t,
            dur=duration,
            result=result,
            a_num=caller_number,
            ingress=ingress,
            orig=orig,
            truth=np.where(foreign, Truth.LEGIT, Truth.NONE),
            group=group,
            **world.to_numbers(rng, pop.msisdn[receiver], t, day),
        )
    )
    return Events.concat(parts)
