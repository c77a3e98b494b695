"""The engine's fast numbering-plan check says what ``describe`` says, always."""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.domain.numbers import describe
from qalqan.screening.numbering import number_facts

E164 = st.from_regex(r"\A\+[1-9][0-9]{6,14}\Z")

_EXAMPLES = sorted(
    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    for region in phonenumbers.SUPPORTED_REGIONS
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    if (example := phonenumbers.example_number_for_type(region, kind)) is not None
)
NEAR_VALID = st.tuples(st.sampled_from(_EXAMPLES), st.integers(0, 999)).map(
    lambda pair: pair[0][:-3] + f"{pair[1]:03d}"
)


def _same(number: str) -> None:
    facts = number_facts(number)
    info = describe(number)
    assert facts is not None
    assert (facts.valid, facts.region) == (info.valid, info.region), number


@settings(max_examples=400, deadline=None)
@given(E164)
def test_any_e164_number(number: str) -> None:
    _same(number)


@settings(max_examples=400, deadline=None)
@given(NEAR_VALID)
def test_numbers_near_the_plans_examples(number: str) -> None:
    _same(number)


def test_known_numbers() -> None:
    for number in (
        "+77011234567",
        "+77991234567",
        "+74951234567",
        "+380671234567",
        "+390612345678",
        "+88216000000001",
    ):
        _same(number)


def test_what_is_not_e164_has_no_facts() -> None:
    assert number_facts("77011234567") is None
    assert number_facts("+0123456789") is None
    assert number_facts("+7701") is None


def test_no_caller_id_from_any_country_costs_a_pattern_compilation(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Compiling a country's patterns takes milliseconds, past the engine's deadline.

    The caller chooses the caller ID: once the engine exists, a call from any country
    (valid numbers and near misses alike) must be judged without compiling anything.
    """
    import re
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from phonenumbers import re_util

    from qalqan.domain.model import CallAttempt, Ingress
    from qalqan.screening.config import parse_config
    from qalqan.screening.engine import ScreeningEngine

    engine = ScreeningEngine(parse_config("network:\n  home_region: KZ\n"))
    compiled: list[str] = []

    def counting(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(pattern)
        return re.compile(pattern, flags)

    monkeypatch.setattr(re_util, "re", SimpleNamespace(compile=counting))
    route = Ingress.parse("international:carrierA")
    at = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    for number in _EXAMPLES:
        for caller in (number, number[:-3] + "000"):
            engine.screen(CallAttempt(time=at, caller=caller, callee="+77075550202", ingress=route))
    assert compiled == []
