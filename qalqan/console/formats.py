"""How the console writes what the library returns: times, numbers, money, reasons, a timeline.

Everything here is presentation: plain values and :mod:`qalqan.cases.views` in,
text in the reader's language out. The Jinja filters (``when``, ``phone``,
``money``) and the page helpers (``say``) are these functions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qalqan.cases.views import Money, TimelineEvent
from qalqan.console.i18n import translate, words
from qalqan.console.maps import campaign_hours, office_day, offset_text
from qalqan.domain.model import Reason
from qalqan.domain.numbers import is_e164

__all__ = ["campaign", "event_text", "money", "phone", "say", "shared_text", "when"]


def when(moment: datetime | None) -> str:
    """``2026-03-01 02:14 UTC``; "" for no time."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def say(lang: str, reason: Reason) -> tuple[str, str]:
    """A stored reason in the reader's language: (what was seen, the rule's id).

    Rendered from its message key and facts; a reason without a key (free
    text) is shown as its words (:meth:`~qalqan.domain.model.Reason.detail_in`).
    """
    return reason.detail_in(lang), reason.rule


def money(amounts: tuple[Money, ...] | list[Money]) -> str:
    """``(Money(250000), Money(120, "USD"))`` → ``250 000 KZT, 120 USD``: grouped by spaces,
    as amounts are written in Kazakhstan, tiyn shown only when there are any."""
    said = []
    for m in amounts:
        whole = m.amount == m.amount.to_integral_value()
        figure = f"{m.amount:,.0f}" if whole else f"{m.amount:,.2f}"
        said.append(f"{figure.replace(',', ' ')} {m.currency}")
    return ", ".join(said)


def phone(number: str | None) -> str:
    """``+77020000001`` → ``+7 702 000 00 01``: a number read aloud at 3 a.m. is read in groups.

    Any country's: ``+994501234567`` → ``+994 50 123 45 67``, as its numbering plan groups
    it (Kazakhstan's and Russia's +7 numbers as they are read there, 3-3-2-2). A number the
    plan does not know is shown as it came.
    """
    if not number:
        return "—"
    if number.startswith("+7") and len(number) == 12 and number[1:].isdigit():
        d = number[2:]
        return f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}"
    if len(number) <= 16 and is_e164(number):
        import phonenumbers

        parsed = phonenumbers.parse(number, None)
        if phonenumbers.is_valid_number(parsed):
            grouped: str = phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            return grouped
    return number


def campaign(details: dict[str, Any], lang: str) -> dict[str, Any]:
    """A campaign's hourly activity and working hours, as its page states and charts them."""
    hours = campaign_hours(details)
    raw = details.get("utc_offset_h")
    offset = float(raw) if isinstance(raw, int | float) else None
    day = office_day(hours, offset)
    if offset is None:
        works = translate(lang, "campaign_offset_unknown")
    elif day is None:
        works = translate(lang, "campaign_works", offset=offset_text(offset))
    else:
        works = translate(
            lang,
            "campaign_works_day",
            offset=offset_text(offset),
            start=f"{day[0]:02d}",
            end=f"{(day[1] + 1) % 24:02d}",
        )
    return {
        "works": works,
        "hours": hours,
        "chart": {
            "hours": [f"{h:02d}" for h in range(24)],
            "calls": hours,
            "label": translate(lang, "chart_calls_by_hour"),
            "axis": translate(lang, "chart_utc_hour"),
        },
    }


def event_text(lang: str, event: TimelineEvent) -> str:
    """One line of a case's timeline in the reader's language (the library's English otherwise)."""
    v = event.values
    match event.kind:
        case "case_opened":
            return translate(lang, "tl_case_opened", title=v.get("title", ""))
        case "intercepted":
            caller = phone(v.get("caller")) if v.get("caller") else translate(lang, "tl_withheld")
            action = words(lang, "action_", v.get("action", "")) if v.get("action") else "—"
            return translate(lang, "tl_intercepted", caller=caller, action=action)
        case "action":
            said = words(lang, "act_", v.get("action", ""))
            outcome = v.get("outcome")
            return f"{said}: {translate(lang, 'out_' + outcome)}" if outcome else said
        case "note_added" | "escalated":
            return translate(lang, "tl_" + event.kind)
        case "answered":
            return translate(lang, "tl_answered", status=words(lang, "st_", v.get("status", "")))
        case "case_closed":
            return translate(
                lang, "tl_case_closed", reason=words(lang, "close_", v.get("reason", ""))
            )
    return event.what


def shared_text(lang: str, links: tuple[tuple[str, str], ...]) -> list[str]:
    """What a suggested alert shares with the case, in the reader's language."""
    return [
        translate(lang, "shared_victim", number=phone(value))
        if kind == "victim"
        else f"{words(lang, 'ent_', kind)} {value}"
        for kind, value in links
    ]
