"""Reasons as the case store keeps them, and the fraud scheme they point to."""

from __future__ import annotations

from typing import Final

from qalqan.domain.messages import parse_reason_facts, render
from qalqan.domain.model import ReportCategory

_CATEGORY_WORDS: Final[tuple[tuple[ReportCategory, tuple[str, ...]], ...]] = (
    (ReportCategory.POLICE, ("police", "полици", "полиц", "прокурат", "кнб", "ұқк")),
    (ReportCategory.EGOV, ("egov", "e-gov", "цон", "хқко", "government", "tax", "налог")),
    (ReportCategory.BANK_SECURITY, ("bank", "банк")),
    (ReportCategory.OPERATOR, ("operator customer", "оператор")),
    (ReportCategory.INVESTMENT, ("invest", "инвест", "broker", "брокер", "crypto", "крипт")),
    (ReportCategory.RELATIVE, ("relative", "родствен", "туыс")),
)


def guess_category(*texts: str | None) -> ReportCategory | None:
    """The fraud scheme named in a protected number's owner or a verdict's reasons, if any."""
    for raw in texts:
        if not raw:
            continue
        text = raw.lower()
        for category, words in _CATEGORY_WORDS:
            if any(word in text for word in words):
                return category
    return None


def reason_texts(text: str | None) -> list[str]:
    """Reasons as written by screening (``a | b``) or analysis (``a; b``), one per item."""
    if not text:
        return []
    parts = [p.strip() for p in text.split(" | ")]
    return [p for p in parts if p]


def saying(key: str, /, **facts: object) -> dict[str, object]:
    """A reason the store writes itself, kept as a message of :mod:`qalqan.domain.messages`
    (English text, key and facts), so that the console can say it in the reader's language."""
    values = {name: str(value) for name, value in facts.items()}
    return {"text": render(key, values), "rule": "", "key": key, "facts": values}


def keyed(texts: list[str], cell: str | None) -> list[str | dict[str, object]]:
    """Reasons as the store keeps them: with message keys and facts where the file has them
    (a ``reason_facts`` cell of decisions, calls, sims or farms), as English text alone where
    it does not.

    A cell that is not what Qalqan writes, or does not line up with the
    ``reasons`` text, is not trusted: the English text is kept as it is.
    """
    try:
        keyed = parse_reason_facts(cell)
    except ValueError:
        keyed = []
    if len(keyed) != len(texts):
        return list(texts)
    said: list[str | dict[str, object]] = []
    for sentence, (rule, key, facts) in zip(texts, keyed, strict=True):
        if not sentence.startswith(rule):
            return list(texts)
        said.append({"text": sentence, "rule": rule, "key": key, "facts": facts})
    return said
