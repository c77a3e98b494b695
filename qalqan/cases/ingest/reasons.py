"""Reasons as the case store keeps them, and the fraud scheme they point to.

An alert keeps its reasons as they are: a JSON array of
:meth:`~qalqan.domain.model.Reason.as_data` (rule, message key, facts,
weight, and the words only of a reason without a key), read back with
:meth:`~qalqan.domain.model.Reason.from_data`. They come from the input
file's ``reason_facts`` column; a file without it (another tool's, or one
written before it existed) has only the words of its ``reasons`` column, and
those are kept whole as one reason of rule ``TABLE.reasons``: never cut up,
never read for facts.

**Which scheme.** The report category of an alert (which picks the call-back
script) is taken from data, never from the words of a reason:

1. the data set's ``registry``: the owner of the protected number the call
   presented (:data:`OWNER_WORDS`);
2. the data set's own ``category`` column: what citizens' reports
   (``reports``) say about the number that called;
3. the reasons' message keys, by :data:`SCHEME_OF_KEY`: a key whose facts say
   whom the caller posed as (the owner of a protected number it presented)
   or which scheme complaints tell (a campaign's script);
4. ``other``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Final

from qalqan.domain.messages import parse_reasons
from qalqan.domain.model import Reason, ReportCategory

__all__ = [
    "OWNER_WORDS",
    "SCHEME_OF_KEY",
    "file_reasons",
    "finding",
    "owner_category",
    "reasons_json",
    "scheme_of",
]


def file_reasons(cell: str | None, words: str | None, *, table: str) -> list[Reason]:
    """The reasons of one row of ``table``: its ``reason_facts`` cell as Qalqan writes it.

    A cell that is missing, empty or not what Qalqan writes leaves the row's
    ``reasons`` words, kept whole as one reason without a key, of rule
    ``TABLE.reasons`` (weight 0: the file gave none). A reason the file gives
    no rule is named by its key.
    """
    words_rule = f"{table}.reasons"
    try:
        reasons = parse_reasons(cell)
    except ValueError:
        reasons = []
    if not reasons:
        return [Reason(rule=words_rule, weight=0.0, detail=words)] if words else []
    # the first version of the column left the rule of a farm's evidence empty
    return [r if r.rule else replace(r, rule=r.key or words_rule) for r in reasons]


def reasons_json(reasons: Iterable[Reason]) -> str:
    """The ``reasons`` column of an alert: the reasons' data as a JSON array, each as
    :meth:`~qalqan.domain.model.Reason.as_data` has it (its facts in their order)."""
    return json.dumps([reason.as_data() for reason in reasons], ensure_ascii=False)


def finding(key: str, weight: float, /, **facts: object) -> Reason:
    """A reason the store writes itself about a finding (its headline, the campaign it is in):
    a message of :mod:`qalqan.domain.messages` whose rule is its key."""
    return Reason.said(key, weight, key, **facts)


OWNER_WORDS: Final[tuple[tuple[ReportCategory, tuple[str, ...]], ...]] = (
    (ReportCategory.POLICE, ("police", "полици", "полиц", "прокурат", "кнб", "ұқк")),
    (ReportCategory.EGOV, ("egov", "e-gov", "цон", "хқко", "government", "tax", "налог")),
    (ReportCategory.BANK_SECURITY, ("bank", "банк")),
    (ReportCategory.OPERATOR, ("operator customer", "оператор")),
    (ReportCategory.INVESTMENT, ("invest", "инвест", "broker", "брокер", "crypto", "крипт")),
    (ReportCategory.RELATIVE, ("relative", "родствен", "туыс")),
)
"""The kind of body a protected number belongs to, by the words of its owner's name
(``National Bank, hotline``): only for a registry without the optional ``category`` column,
which says it as data (a registry row with a category is never guessed at)."""


def owner_category(owner: str | None) -> ReportCategory | None:
    """The scheme of a caller posing as the protected number's ``owner`` (None: not told)."""
    if not owner:
        return None
    name = owner.lower()
    for category, words in OWNER_WORDS:
        if any(word in name for word in words):
            return category
    return None


def _complaints(facts: Mapping[str, str]) -> ReportCategory | None:
    category = facts.get("category")
    return ReportCategory(category) if category in set(ReportCategory) else None


def _posed_as(facts: Mapping[str, str]) -> ReportCategory | None:
    return owner_category(facts.get("owner"))


SCHEME_OF_KEY: Final[Mapping[str, Callable[[Mapping[str, str]], ReportCategory | None]]] = {
    "spoofed_cli.registry_inbound_only": _posed_as,
    "spoofed_cli.registry_wrong_route": _posed_as,
    "analysis.campaign.script": _complaints,
    "analysis.campaign.script.text": _complaints,
}
"""Message keys whose facts name a scheme, and how: the owner of the protected number the
call presented (``owner``), the scheme a campaign's complaints tell (``category``)."""


def scheme_of(
    reasons: Iterable[Reason],
    *,
    registered: ReportCategory | None = None,
    owner: str | None = None,
    reported: Counter[str] | None = None,
) -> ReportCategory | None:
    """The scheme of a call or finding, from data: the registry's ``category`` of the number it
    presented (``registered``), else its registry ``owner``'s name (a registry without
    categories), what citizens ``reported`` of that number, else the first scheme a reason's key
    names (:data:`SCHEME_OF_KEY`); None when none says."""
    if registered is not None:
        return registered
    found = owner_category(owner)
    if found is not None:
        return found
    if reported:
        return ReportCategory(reported.most_common(1)[0][0])
    for reason in reasons:
        told = SCHEME_OF_KEY.get(reason.key)
        found = None if told is None else told(reason.facts_dict())
        if found is not None:
            return found
    return None
