"""The number check's verdicts: levels, reasons and advice from the registry, the store and the plan."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.cases.reports import CampaignSeen, NumberRecord
from qalqan.domain.messages import MESSAGES, render
from qalqan.domain.model import RegistryEntry, RegistryPolicy
from qalqan.errors import NumberError
from qalqan.public.checks import MAX_TYPED, Level, judge, parse_number
from qalqan.public.i18n import WORDS
from qalqan.screening.network import ProtectedNumbers

HOTLINE = "+77272707000"
BANK_LINE = "+77272707001"
PLAIN = "+77011234567"
REGISTRY = ProtectedNumbers.from_entries(
    [
        RegistryEntry(
            number=HOTLINE, owner="National Bank", policy=RegistryPolicy.parse("inbound_only")
        ),
        RegistryEntry(
            number=BANK_LINE,
            owner="National Bank",
            policy=RegistryPolicy.parse("route:mobile:bank"),
        ),
    ]
)


def _record(number: str, **changes: object) -> NumberRecord:
    base: dict[str, object] = {
        "number": number,
        "reports_recent": 0,
        "reports_by_category": {},
        "campaigns": (),
        "farm_sim": False,
        "spoofed_waves": 0,
        "intercepted_calls": 0,
        "spoofed_calls": 0,
        "wangiri": False,
    }
    return NumberRecord(**{**base, **changes})  # type: ignore[arg-type]


def _judge(number: str, record: NumberRecord | None = None) -> object:
    return judge(number, registry=REGISTRY, record=record or _record(number), home_region="KZ")


def test_a_number_that_never_calls_out_is_danger_and_says_hang_up() -> None:
    verdict = judge(HOTLINE, registry=REGISTRY, record=_record(HOTLINE), home_region="KZ")
    assert verdict.level is Level.DANGER
    assert verdict.owner == "National Bank" and verdict.inbound_only
    assert verdict.reasons[0].key == "public.registry.inbound_only"
    assert verdict.advice[0] == "advice.inbound_only"
    assert "never calls" in render(verdict.reasons[0].key, dict(verdict.reasons[0].facts))


def test_an_organisations_line_that_calls_out_is_official_with_a_warning() -> None:
    verdict = judge(BANK_LINE, registry=REGISTRY, record=_record(BANK_LINE), home_region="KZ")
    assert verdict.level is Level.OFFICIAL
    assert "advice.official" in verdict.advice


def test_nothing_known_is_unknown_and_still_carries_a_reason() -> None:
    verdict = judge(PLAIN, registry=REGISTRY, record=_record(PLAIN), home_region="KZ")
    assert verdict.level is Level.UNKNOWN
    assert [r.key for r in verdict.reasons] == ["public.nothing"]


@pytest.mark.parametrize(
    ("changes", "key", "advice"),
    [
        (
            {"reports_recent": 3, "reports_by_category": {"police": 3}},
            "public.reported.police",
            "advice.scam",
        ),
        ({"farm_sim": True}, "public.farm_sim", "advice.scam"),
        ({"spoofed_waves": 2}, "public.spoofed", "advice.spoofed"),
        ({"intercepted_calls": 4}, "public.intercepted", "advice.scam"),
        ({"intercepted_calls": 2, "spoofed_calls": 2}, "public.spoofed_calls", "advice.spoofed"),
        ({"wangiri": True, "intercepted_calls": 1}, "public.wangiri", "advice.no_call_back"),
    ],
)
def test_what_the_store_knows_against_a_number_makes_it_danger(
    changes: dict[str, object], key: str, advice: str
) -> None:
    verdict = judge(PLAIN, registry=REGISTRY, record=_record(PLAIN, **changes), home_region="KZ")
    assert verdict.level is Level.DANGER
    assert key in [r.key for r in verdict.reasons]
    assert advice in verdict.advice


def test_the_schemes_are_the_reported_ones_first_then_the_campaigns() -> None:
    from datetime import UTC, datetime

    seen = CampaignSeen(
        category="investment", live=True, last_seen=datetime(2026, 3, 2, tzinfo=UTC)
    )
    told = {"police": 1, "bank_security": 4}
    record = _record(PLAIN, reports_recent=5, reports_by_category=told, campaigns=(seen,))
    verdict = judge(PLAIN, registry=REGISTRY, record=record, home_region="KZ")
    assert verdict.schemes == ("bank_security", "police", "investment")
    assert verdict.as_data()["schemes"] == ["bank_security", "police", "investment"]
    unknown = judge(PLAIN, registry=REGISTRY, record=_record(PLAIN), home_region="KZ")
    assert unknown.schemes == ()


def test_calls_stopped_as_spoofed_are_not_counted_again_as_other_calls_stopped() -> None:
    record = _record(PLAIN, intercepted_calls=5, spoofed_calls=2)
    verdict = judge(PLAIN, registry=REGISTRY, record=record, home_region="KZ")
    facts = {r.key: dict(r.facts) for r in verdict.reasons}
    assert facts["public.spoofed_calls"] == {"calls": "2"}
    assert facts["public.intercepted"] == {"calls": "3"}


def test_a_campaigns_number_is_danger_with_when_it_was_last_seen() -> None:
    from datetime import UTC, datetime

    seen = CampaignSeen(
        category="bank_security", live=True, last_seen=datetime(2026, 3, 2, tzinfo=UTC)
    )
    verdict = judge(
        PLAIN, registry=REGISTRY, record=_record(PLAIN, campaigns=(seen,)), home_region="KZ"
    )
    assert verdict.level is Level.DANGER
    assert ("last_seen", "2026-03-02") in verdict.reasons[0].facts


def test_a_number_in_no_allocated_range_is_spoofed() -> None:
    verdict = judge("+77770000000000", registry=REGISTRY, record=None, home_region="KZ")
    assert verdict.level is Level.DANGER
    assert [r.key for r in verdict.reasons] == ["public.unallocated"]
    assert "advice.spoofed" in verdict.advice


def _example(region: str, kind: int) -> str:
    import phonenumbers

    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def test_a_foreign_or_premium_number_is_caution_and_a_premium_one_not_to_be_called_back() -> None:
    from phonenumbers import PhoneNumberType

    foreign = judge(
        _example("GB", PhoneNumberType.MOBILE), registry=REGISTRY, record=None, home_region="KZ"
    )
    assert foreign.level is Level.CAUTION
    assert "public.foreign" in [r.key for r in foreign.reasons]
    assert "advice.foreign" in foreign.advice
    premium = _example("GB", PhoneNumberType.PREMIUM_RATE)
    rate = judge(premium, registry=REGISTRY, record=None, home_region="KZ")
    assert rate.level is Level.CAUTION
    assert "public.premium" in [r.key for r in rate.reasons]
    assert "advice.no_call_back" in rate.advice


def test_every_advice_and_level_has_words_in_every_language() -> None:
    for level in Level:
        assert set(WORDS[f"level.{level.value}"]) == {"ru", "kk", "en"}
    for key in [k for k in WORDS if k.startswith("advice.")]:
        assert all(WORDS[key][lang] for lang in ("ru", "kk", "en"))
    assert all(k in MESSAGES for k in ("public.nothing", "public.report.campaign"))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("8 701 123 45 67", PLAIN), ("+7 (701) 123-45-67", PLAIN), ("87011234567", PLAIN)],
)
def test_a_typed_number_is_read_in_the_operators_country(typed: str, expected: str) -> None:
    assert parse_number(typed, region="KZ") == expected


@pytest.mark.parametrize("typed", ["", "   ", "+7 701 abc", "1" * (MAX_TYPED + 1), "<script>"])
def test_what_is_not_a_number_is_refused_saying_why(typed: str) -> None:
    with pytest.raises(NumberError):
        parse_number(typed, region="KZ")


@given(st.text(max_size=200))
def test_parsing_any_text_gives_e164_or_a_number_error(typed: str) -> None:
    try:
        number = parse_number(typed, region="KZ")
    except NumberError:
        return
    assert number.startswith("+") and number[1:].isdigit() and len(number) <= 16


@given(st.from_regex(r"\+7[67][0-9]{9}", fullmatch=True))
def test_every_kazakh_mobile_form_reads_back_as_itself(number: str) -> None:
    assert parse_number(number, region="KZ") == number
    spaced = f"8 {number[2:5]} {number[5:8]} {number[8:10]} {number[10:]}"
    assert parse_number(spaced, region="KZ") == number
