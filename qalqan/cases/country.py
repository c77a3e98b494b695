"""The operator's country as its data tells it: the country most of its own numbers belong to.

Those are the numbers only the operator's subscribers have in the store: the
potential victims (the subscribers fraud calls reached) and the SIMs of the
farms analysis found. Callers are left out: they are whoever the fraudsters
chose, abroad as often as not. The console asks this when its
``QALQAN_CONSOLE_COUNTRY`` is left at ``auto``, as the screening engine's
``network.home_region: auto`` does.

At most ``sample`` numbers of each kind are read (the lowest ids: the oldest
data), so the cost does not grow with the store; the numbering plan is asked
once per number (:func:`qalqan.domain.numbers.describe` caches).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from qalqan.cases.models import AlertEntity, Entity, EntityKind, PotentialVictim
from qalqan.domain.numbers import describe, is_e164

__all__ = ["country_of_numbers", "data_country"]


def country_of_numbers(numbers: Iterable[str | None]) -> str | None:
    """The country most of ``numbers`` belong to; None when none is a country's number.

    Ties go to the first code in alphabetical order, so the answer does not depend on
    the order the numbers come in.
    """
    votes: Counter[str] = Counter()
    for number in numbers:
        if number and is_e164(number):
            region = describe(number).region
            if region:
                votes[region] += 1
    if not votes:
        return None
    return min(votes, key=lambda region: (-votes[region], region))


def data_country(session: Session, *, sample: int = 500) -> str | None:
    """The operator's country from its subscribers' numbers in the store; None when it has none."""
    victims = session.scalars(
        select(PotentialVictim.msisdn).order_by(PotentialVictim.id).limit(sample)
    ).all()
    farm_sims = session.scalars(
        select(Entity.value)
        .join(AlertEntity, AlertEntity.entity_id == Entity.id)
        .where(Entity.kind == EntityKind.NUMBER.value, AlertEntity.relation == "member_number")
        .order_by(Entity.id)
        .limit(sample)
    ).all()
    return country_of_numbers([*victims, *farm_sims])
