"""The number check: what the public is told of one number, with the reasons, and nothing else.

:func:`judge` is pure: it takes the number, the registry of protected numbers,
what the case store knows of the number itself
(:class:`~qalqan.cases.reports.NumberRecord`) and the operator's country, and
gives a :class:`NumberVerdict` — a level, the reasons (catalog messages, so the
page says them in the reader's language) and the advice keys. It says facts
about the number only: who owns a protected number (an organisation, from the
registry), counts and schemes of reports, whether scammers used it. Never a
subscriber's name, SIM or whom the number called.

The levels, worst first:

* ``danger`` — the number belongs to an organisation that never calls from it
  (any call showing it is spoofed), or scammers used it: reported, a campaign's,
  a SIM farm's, shown by spoofed calls (a domestic number arriving from abroad), stopped
  as fraud, Wangiri,
  or in no allocated range;
* ``caution`` — a premium-rate or a foreign number, with nothing else against it;
* ``official`` — a protected number that does call out (a bank's line): real,
  though scammers imitate such numbers too;
* ``unknown`` — nothing is known against it.

:func:`parse_number` reads what a person types (``8 701 123 45 67``) into
E.164 for the operator's country, bounded in length before anything parses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final

from qalqan.cases.reports import NumberRecord
from qalqan.domain.messages import Reason, render
from qalqan.domain.numbers import describe, normalise
from qalqan.errors import NumberError
from qalqan.screening.network import ProtectedNumbers

__all__ = ["MAX_TYPED", "Level", "NumberVerdict", "judge", "parse_number"]

MAX_TYPED: Final = 32
"""Characters of a typed number read; longer input is refused before parsing."""
_TYPED_CHARACTERS: Final = frozenset("0123456789+-() .")


class Level(StrEnum):
    DANGER = "danger"
    CAUTION = "caution"
    OFFICIAL = "official"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberVerdict:
    number: str
    level: Level
    reasons: tuple[Reason, ...]
    advice: tuple[str, ...]
    """Keys of :mod:`qalqan.public.i18n`'s advice, most important first."""
    reports_recent: int
    reports_by_category: dict[str, int]
    owner: str | None
    inbound_only: bool
    schemes: tuple[str, ...] = ()
    """The schemes (report categories) the number was used for: what citizens reported and
    what the campaigns that used it were found to run, most reported first."""

    def as_data(self, lang: str = "en") -> dict[str, object]:
        """The verdict as the JSON API gives it (reasons rendered in ``lang`` beside their keys)."""
        return {
            "number": self.number,
            "level": self.level.value,
            "owner": self.owner,
            "inbound_only": self.inbound_only,
            "reports": {"recent": self.reports_recent, "by_category": self.reports_by_category},
            "schemes": list(self.schemes),
            "reasons": [
                {"key": r.key, "facts": dict(r.facts), "text": render(r.key, dict(r.facts), lang)}
                for r in self.reasons
            ],
            "advice": list(self.advice),
        }


def parse_number(typed: str, *, region: str) -> str:
    """E.164 of what a person typed, for the operator's ``region``; NumberError saying why not."""
    text = typed.strip()
    if not text:
        raise NumberError("no number given")
    if len(text) > MAX_TYPED:
        raise NumberError(f"a number is at most {MAX_TYPED} characters")
    if not set(text) <= _TYPED_CHARACTERS:
        raise NumberError("a number has only digits, spaces, +, -, ( and )")
    return normalise(text, region=region)


_REPORTED: Final = {
    "bank_security": "public.reported.bank_security",
    "police": "public.reported.police",
    "investment": "public.reported.investment",
    "egov": "public.reported.egov",
    "operator": "public.reported.operator",
    "relative": "public.reported.relative",
    "other": "public.reported.other",
}


def _registry_reasons(
    number: str, registry: ProtectedNumbers
) -> tuple[list[Reason], str | None, bool]:
    entry = registry.by_number.get(number)
    if entry is None:
        return [], None, False
    owner, inbound_only, _ = entry
    if inbound_only:
        return (
            [
                Reason.said(
                    "public.registry",
                    1.0,
                    "public.registry.inbound_only",
                    number=number,
                    owner=owner,
                )
            ],
            owner,
            True,
        )
    return (
        [Reason.said("public.registry", 0.0, "public.registry.owner", number=number, owner=owner)],
        owner,
        False,
    )


def _store_reasons(record: NumberRecord, recent: timedelta) -> list[Reason]:
    reasons = []
    days = str(max(1, recent.days))
    for category, count in sorted(record.reports_by_category.items(), key=lambda kv: -kv[1]):
        key = _REPORTED.get(category, "public.reported.other")
        reasons.append(Reason.said("public.reported", 0.8, key, reports=str(count), days=days))
    if record.campaigns:
        last = max(c.last_seen for c in record.campaigns)
        reasons.append(
            Reason.said(
                "public.campaign", 1.0, "public.campaign", last_seen=last.date().isoformat()
            )
        )
    if record.farm_sim:
        reasons.append(Reason.said("public.farm_sim", 1.0, "public.farm_sim"))
    if record.spoofed_waves:
        reasons.append(
            Reason.said("public.spoofed", 0.9, "public.spoofed", waves=str(record.spoofed_waves))
        )
    if record.spoofed_calls:
        calls = str(record.spoofed_calls)
        reasons.append(Reason.said("public.spoofed", 0.9, "public.spoofed_calls", calls=calls))
    if record.wangiri:
        reasons.append(Reason.said("public.wangiri", 1.0, "public.wangiri"))
    elif record.intercepted_calls > record.spoofed_calls:
        calls = str(record.intercepted_calls - record.spoofed_calls)
        reasons.append(Reason.said("public.intercepted", 0.8, "public.intercepted", calls=calls))
    return reasons


def _plan_reasons(number: str, home_region: str) -> tuple[list[Reason], list[Reason]]:
    """(against the number, worth knowing): unallocated; premium rate, foreign."""
    info = describe(number)
    if not info.valid:
        return [Reason.said("public.unallocated", 0.9, "public.unallocated", number=number)], []
    notes = []
    if info.kind in ("premium", "shared_cost"):
        notes.append(Reason.said("public.premium", 0.5, "public.premium", number=number))
    if info.region is not None and not info.is_domestic(home_region):
        notes.append(
            Reason.said("public.foreign", 0.2, "public.foreign", number=number, region=info.region)
        )
    return [], notes


def _schemes(record: NumberRecord | None) -> tuple[str, ...]:
    if record is None:
        return ()
    told = sorted(record.reports_by_category, key=lambda c: -record.reports_by_category[c])
    found = sorted({c.category for c in record.campaigns} - set(told))
    schemes = [*told, *found]
    return tuple(c for c in schemes if c != "other" or len(schemes) == 1)


def _advice(
    level: Level, inbound_only: bool, against: list[Reason], notes: list[Reason]
) -> tuple[str, ...]:
    rules = {r.rule for r in (*against, *notes)}
    advice = []
    if inbound_only:
        advice.append("advice.inbound_only")
    if rules & {"public.spoofed", "public.unallocated"}:
        advice.append("advice.spoofed")
    if rules & {"public.reported", "public.campaign", "public.farm_sim", "public.intercepted"}:
        advice.append("advice.scam")
    if rules & {"public.wangiri", "public.premium"}:
        advice.append("advice.no_call_back")
    if level is Level.OFFICIAL:
        advice.append("advice.official")
    if "public.foreign" in rules and level is not Level.DANGER:
        advice.append("advice.foreign")
    advice.append("advice.always")
    return tuple(advice)


def judge(
    number: str,
    *,
    registry: ProtectedNumbers,
    record: NumberRecord | None,
    home_region: str,
    recent: timedelta = timedelta(days=30),
) -> NumberVerdict:
    """What the public is told of ``number`` (E.164), with its reasons (see the module's doc)."""
    owned, owner, inbound_only = _registry_reasons(number, registry)
    against = _store_reasons(record, recent) if record is not None else []
    unallocated, notes = _plan_reasons(number, home_region)
    against += unallocated
    if inbound_only or against:
        level = Level.DANGER
    elif notes:
        level = Level.CAUTION
    elif owner is not None:
        level = Level.OFFICIAL
    else:
        level = Level.UNKNOWN
    reasons = [*owned, *against, *notes]
    if not reasons:
        reasons = [Reason.said("public.nothing", 0.0, "public.nothing", number=number)]
    return NumberVerdict(
        number=number,
        level=level,
        reasons=tuple(reasons),
        advice=_advice(level, inbound_only, against, notes),
        reports_recent=0 if record is None else record.reports_recent,
        reports_by_category={} if record is None else dict(record.reports_by_category),
        owner=owner,
        inbound_only=inbound_only,
        schemes=_schemes(record),
    )
