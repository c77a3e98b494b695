"""Every fraud scheme has a call-back script in Russian, Kazakh and English."""

from __future__ import annotations

import re

import pytest

from qalqan.cases.scripts import SCRIPTS, Language, render_script
from qalqan.domain.model import ReportCategory

KAZAKH_LETTERS = set("әғқңөұүһі")
NEVER = {Language.RU: "никогда", Language.KK: "ешқашан", Language.EN: "never"}


@pytest.mark.parametrize("language", list(Language), ids=str)
@pytest.mark.parametrize("category", list(ReportCategory), ids=str)
def test_every_scheme_has_a_script_in_every_language(
    category: ReportCategory, language: Language
) -> None:
    script = SCRIPTS[category, language]
    assert script.title and len(script.lines) >= 5
    assert "{operator}" in script.lines[0] and "{center}" in script.lines[0]
    words = sum(len(line.split()) for line in script.lines)
    assert words <= 140, "an operator reads this to a frightened person: keep it short"
    rendered = render_script(category, language, operator="Aigerim")
    assert "Aigerim" in rendered.lines[0] and "{" not in rendered.text
    if language is Language.KK:
        assert KAZAKH_LETTERS & set(rendered.text.lower()), "Kazakh, not Russian"
    if language is not Language.EN:  # Latin only for the words people say in Latin
        latin = set(re.findall(r"[a-z]+", rendered.text.lower()))
        assert latin <= {"sms", "sim", "egov", "anydesk", "aigerim"}, latin


@pytest.mark.parametrize("language", list(Language), ids=str)
def test_scripts_say_what_no_real_bank_or_officer_does(language: Language) -> None:
    said = " ".join(SCRIPTS[c, language].text.lower() for c in ReportCategory)
    assert said.count(NEVER[language]) >= 4 or (
        language is Language.EN and said.count("never") >= 4
    )
    for category in (ReportCategory.BANK_SECURITY, ReportCategory.EGOV, ReportCategory.OPERATOR):
        assert "sms" in SCRIPTS[category, language].text.lower()


def test_an_unknown_scheme_falls_back_and_an_unknown_language_is_refused() -> None:
    assert render_script("lottery", "en", operator="A").category is ReportCategory.OTHER
    with pytest.raises(ValueError):
        render_script("police", "de", operator="A")
    assert (
        "Qalqan Center" in render_script("police", "en", operator="A", center="Qalqan Center").text
    )
