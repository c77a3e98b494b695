"""Hostile texts: huge, binary, odd Unicode. Every verdict is whole and its cost is bounded."""

from __future__ import annotations

import time
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.content.schemes import MAX_TEXT_CHARS, _char_occurrences, _word_occurrences, normalise
from qalqan.content.texts import SCHEMES
from tests.content.schemes_trained import shipped


def _whole(text: str) -> None:
    verdict = shipped().classify(text)
    assert verdict.scheme in SCHEMES
    assert 0.0 <= verdict.score <= 1.0 and 0.0 <= verdict.scam_score <= 1.0
    for phrase in verdict.phrases:
        assert 0 <= phrase.start < phrase.end <= min(len(text), MAX_TEXT_CHARS)
        assert text[phrase.start : phrase.end] == phrase.text


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gets_a_whole_verdict(text: str) -> None:
    _whole(text)


@settings(max_examples=40, deadline=None)
@given(
    st.text(alphabet=st.characters(categories=["Mn", "Me", "Cf", "Zs", "Lo", "Lu"]), max_size=200)
)
def test_combining_marks_and_format_characters_get_a_whole_verdict(text: str) -> None:
    _whole(text)
    assert len(normalise(text)) == len(text)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=400))
def test_binary_read_as_text_gets_a_whole_verdict(raw: bytes) -> None:
    _whole(raw.decode("latin-1"))


def test_a_huge_text_is_judged_on_its_start_and_says_so() -> None:
    classifier = shipped()
    classifier.classify("warm up")
    start = time.perf_counter()
    verdict = classifier.classify("Служба безопасности банка, назовите код из СМС. " * 200_000)
    assert time.perf_counter() - start < 5.0
    assert any(f"first {MAX_TEXT_CHARS}" in note.detail for note in verdict.notes)
    assert all(p.end <= MAX_TEXT_CHARS for p in verdict.phrases)
    assert verdict.scheme == "bank_security"


def test_a_text_without_words_says_it_has_none() -> None:
    verdict = shipped().classify(" \x00 !!! ")
    assert verdict.phrases == ()
    assert any("no words" in note.detail for note in verdict.notes)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120))
def test_the_ngrams_and_their_spans_are_the_vectorisers_own(text: str) -> None:
    classifier = shipped()
    norm = normalise(text)
    chars = list(_char_occurrences(norm))
    assert Counter(g for g, _, _ in chars) == Counter(classifier.chars.build_analyzer()(norm))
    for gram, start, end in chars:
        assert gram.strip(" ") == norm[start:end] or not gram.strip(" ")
    words = list(_word_occurrences(norm))
    assert Counter(g for g, _, _ in words) == Counter(classifier.words.build_analyzer()(norm))
    for gram, start, end in words:
        assert norm[start:end].startswith(gram.split(" ")[0]) and norm[start:end].endswith(
            gram.split(" ")[-1]
        )
