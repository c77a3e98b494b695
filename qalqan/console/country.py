"""The operator's country, as the console needs it: which map to draw, which currency losses are in.

Nothing in the console assumes a country. A setting names it
(``QALQAN_CONSOLE_COUNTRY``, an ISO 3166 alpha-2 code); left at ``auto``, the
data says it (:func:`qalqan.cases.country.data_country`: the country most of
the operator's own numbers belong to).
"""

from __future__ import annotations

__all__ = ["AUTO", "CURRENCIES", "currency_of"]

AUTO = "auto"
"""The setting's value that asks the data."""

CURRENCIES: dict[str, str] = {
    "KZ": "KZT", "AZ": "AZN", "UZ": "UZS", "KG": "KGS", "TJ": "TJS", "TM": "TMT", "RU": "RUB",
    "BY": "BYN", "AM": "AMD", "GE": "GEL", "MN": "MNT", "UA": "UAH", "TR": "TRY",
}  # fmt: skip
"""ISO 4217 currency of the countries the console knows (ISO 3166 alpha-2 → code)."""


def currency_of(country: str | None) -> str | None:
    """The currency losses are counted in at an operator in ``country``; None when not known."""
    return CURRENCIES.get(country) if country else None
