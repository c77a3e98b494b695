"""Protected brands in texts: named with a lure is impersonation, whatever the spelling tricks.

The names are found on a skeleton that folds look-alike spellings together; the
properties below say what the fold must hold (case, look-alike letters of another
script, spacing), the examples say what an operator sees for real ads.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.content.brands import (
    CONFUSABLES,
    MAX_TEXT_CHARS,
    BrandsFileError,
    LureKind,
    TextTooLongError,
    load_registry,
    shipped_registry,
    skeleton,
)

REGISTRY = shipped_registry()

# --- texts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "brand", "lure"),
    [
        ("КазМунайГаз запускает платформу: вложите 90 000 ₸ и получайте пассивный доход", "kmg", "пассивный доход"),
        ("ҚазМұнайГаз акцияларын сатып алыңыз — кепілді табыс!", "kmg", "кепілді"),
        ("Президент Тоқаев: әр азаматқа инвестициялық табыс", "tokayev", "инвестициялық"),
        ("Tokayev backs a new trading platform: guaranteed returns from $250", "tokayev", "trading platform"),
        ("Halyk Bank: ваша карта заблокирована, подтвердите данные карты", "halyk", "подтвердите"),
        ("SOCAR-dan investisiya: aylıq gəlir zəmanətli", "socar", "investisiya"),
        ("Служба безопасности Kaspi: переведите деньги на безопасный счёт", "kaspi", "переведите"),
    ],
)  # fmt: skip
def test_a_protected_name_with_a_lure_is_impersonation(text: str, brand: str, lure: str) -> None:
    verdict = REGISTRY.check_text(text)
    assert verdict.impersonation
    assert brand in {m.brand.id for m in verdict.mentions}
    assert lure in [found.phrase for found in verdict.lures]
    keys = {reason.key for reason in verdict.reasons}
    assert "content.brand.named" in keys
    assert keys & {"content.brand.lure_investment", "content.brand.lure_payment"}
    assert verdict.score >= 0.6


@pytest.mark.parametrize(
    "disguised",
    [
        "Kаspi",  # a Cyrillic "а"
        "КАSРI",  # Cyrillic К, А, Р among Latin letters
        "K a s p i",
        "K.a.s.p.i",
        "Kas\u200bpi",  # a zero-width space
        "Kasp1",
        "ᴋaspi",  # a small capital
        "Ｋａｓｐｉ",  # full-width letters
    ],
)
def test_a_disguised_name_is_found_and_said_to_be_disguised(disguised: str) -> None:
    verdict = REGISTRY.check_text(f"{disguised} дарит бонус 50 000 тенге каждому клиенту")
    assert [m.brand.id for m in verdict.mentions] == ["kaspi"]
    mention = verdict.mentions[0]
    assert mention.phrase == disguised
    assert verdict.impersonation
    if disguised != "Ｋａｓｐｉ":  # full width is how some keyboards type, not a trick
        assert mention.disguised
        assert verdict.reasons[0].key == "content.brand.disguised"
        assert verdict.score > REGISTRY.check_text("Kaspi дарит бонус").score


def test_inflected_names_are_found_by_their_stem() -> None:
    for text in ("клиентам Халык банка", "Тоқаевтың жарлығы", "Kaspi-ге аударыңыз"):
        assert REGISTRY.check_text(text).mentions, text


def test_words_that_start_like_a_name_but_are_not_it_are_left_alone() -> None:
    """ "Каспийское море" is the Caspian Sea, not Kaspi inflected (the brand's not_names)."""
    for text in ("Каспийское море: инвестиции", "Каспий теңізі: табыс", "Kaspiysk invest forum"):
        assert not REGISTRY.check_text(text).mentions, text
    assert REGISTRY.check_text("Каспий банк: доход").mentions  # a name of its own


def test_a_name_without_a_lure_is_a_mention_not_impersonation() -> None:
    verdict = REGISTRY.check_text("Отделение Halyk Bank на Абая работает до 19:00")
    assert [m.brand.id for m in verdict.mentions] == ["halyk"]
    assert not verdict.impersonation
    assert [r.key for r in verdict.reasons] == ["content.brand.named"]


@pytest.mark.parametrize(
    "text",
    [
        "Инвестируйте в себя: пассивный доход от знаний",  # a lure, no protected name
        "Погода в Алматы: солнечно, +25",
        "Халық жиналысы өтті",  # "people" in Kazakh, not Halyk Bank
        "",
    ],
)
def test_no_protected_name_no_impersonation(text: str) -> None:
    verdict = REGISTRY.check_text(text)
    assert not verdict.mentions and not verdict.impersonation and verdict.score == 0.0


def test_reasons_are_said_in_each_language_with_the_phrases_that_decided() -> None:
    verdict = REGISTRY.check_text("КМГ: инвестируйте и получайте доход")
    for reason in verdict.reasons:
        for lang in ("ru", "kk", "en"):
            text = reason.detail_in(lang)
            assert reason.facts_dict()["phrase"] in text
    assert "«КМГ»" in verdict.reasons[0].detail_in("ru")
    data = verdict.as_data()
    assert data["brands"] == ["kmg"] and data["impersonation"] is True


def test_a_text_too_long_is_refused_and_the_longest_allowed_is_fast() -> None:
    with pytest.raises(TextTooLongError, match=str(MAX_TEXT_CHARS)):
        REGISTRY.check_text("a" * (MAX_TEXT_CHARS + 1))
    for hostile in ("K a s p i " * 5000, "a " * 25000, "инвестируйте " * 3800):
        hostile = hostile[:MAX_TEXT_CHARS]
        started = time.perf_counter()
        verdict = REGISTRY.check_text(hostile)
        assert time.perf_counter() - started < 5.0
        assert len(verdict.reasons) <= 40


# --- the skeleton ------------------------------------------------------------------------------

LATIN_LOOKALIKES = {latin: [c for c, v in CONFUSABLES.items() if v == latin and c.isalpha()]
                    for latin in set(CONFUSABLES.values())}  # fmt: skip
words = st.text(alphabet="abcdefghjkmnopqstuvwxyz", min_size=1, max_size=20)


@given(words, st.data())
def test_look_alike_letters_of_another_script_do_not_change_the_skeleton(
    word: str, data: st.DataObject
) -> None:
    swapped = "".join(data.draw(st.sampled_from([c, *LATIN_LOOKALIKES.get(c, [])])) for c in word)
    assert skeleton(swapped) == skeleton(word)


@given(st.text(max_size=60))
def test_the_skeleton_is_case_free_idempotent_and_only_letters_and_digits(text: str) -> None:
    folded = skeleton(text)
    assert skeleton(text.upper()) == skeleton(text.lower()) or not text.isascii()
    assert skeleton(folded) == folded
    assert all(c.isalnum() for c in folded)


@given(words, st.sampled_from([" ", ".", "-", "_", "\u200b", " . "]))
def test_separators_between_letters_do_not_change_the_skeleton(word: str, sep: str) -> None:
    assert skeleton(sep.join(word)) == skeleton(word)


@given(st.sampled_from(["Kaspi", "Halyk Bank", "KazMunayGas", "Tokayev", "Nurbank"]), st.data())
def test_any_mix_of_look_alikes_still_names_the_brand(name: str, data: st.DataObject) -> None:
    mixed = "".join(
        data.draw(st.sampled_from([c, *LATIN_LOOKALIKES.get(c.lower(), [])])) for c in name
    )
    verdict = REGISTRY.check_text(f"{mixed}: инвестируйте сегодня")
    assert verdict.impersonation, mixed


# --- the brands file ---------------------------------------------------------------------------


def test_the_shipped_file_names_every_brand_with_real_domains() -> None:
    kinds = {brand.kind for brand in REGISTRY.brands}
    assert {"bank", "state company", "ministry", "official"} <= kinds
    for brand in REGISTRY.brands:
        assert brand.names and brand.domains, brand.id
    assert {lure.kind for lure in REGISTRY.lures} == set(LureKind)
    assert {lure.language for lure in REGISTRY.lures} == {"ru", "kk", "en", "az"}


def test_an_operators_file_replaces_adds_and_drops(tmp_path: Path) -> None:
    own = tmp_path / "brands.yaml"
    own.write_text(
        """
brands:
  - id: kaspi
    name: Kaspi Bank
    kind: bank
    names: [Kaspi, Каспи]
    domains: [kaspi.kz, kaspi.com]
  - id: shinhan
    name: Shinhan Bank
    kind: bank
    names: [Shinhan]
    domains: [shinhan.kz]
drop: [nazarbayev]
lures:
  payment:
    en: [refund]
""",
        encoding="utf-8",
    )
    registry = load_registry(own)
    assert registry.brand("kaspi").domains == ("kaspi.kz", "kaspi.com")
    assert registry.check_text("Shinhan refund").impersonation
    assert not registry.check_text("Shinhan payout").impersonation  # the en list was replaced
    assert registry.check_text("Shinhan выплата").impersonation  # the ru list was kept
    with pytest.raises(KeyError):
        registry.brand("nazarbayev")
    assert registry.brand("halyk") == REGISTRY.brand("halyk")


def test_every_problem_of_a_bad_file_is_listed_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "brands.yaml"
    bad.write_text(
        """brands:
  - id: Bad Id
    name: x
    kind: bank
    names: [x]
    domains: [x.kz]
  - id: ok
    name: ""
    kind: bank
    names: []
    domains: [NOT A DOMAIN]
    colour: red
lures:
  greed:
    en: [money]
""",
        encoding="utf-8",
    )
    with pytest.raises(BrandsFileError) as caught:
        load_registry(bad)
    lines = [line for line, _ in caught.value.problems]
    text = str(caught.value)
    assert 2 in lines and 7 in lines
    for part in ("Bad Id", "name must be", "names must be", "NOT A DOMAIN", "colour", "greed"):
        assert part in text, part
    assert f"{bad}:2:" in text


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"brands: [", "not YAML"),
        (b"\xff\xfe", "not UTF-8"),
        (b"- just a list", "mapping"),
        (b"brands: []\n" + b"#" * (1 << 20), "larger than"),
    ],
)
def test_an_unreadable_file_is_refused_in_one_line(
    tmp_path: Path, content: bytes, says: str
) -> None:
    bad = tmp_path / "brands.yaml"
    bad.write_bytes(content)
    with pytest.raises(BrandsFileError, match=says):
        load_registry(bad)
