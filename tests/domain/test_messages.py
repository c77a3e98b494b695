"""The message catalog: every reason in Russian, Kazakh and English, and its facts read back.

The console shows a verdict's reasons in the operator's language, so a key
missing a language, or a language using other facts than English, is a bug
found here rather than on an operator's screen. Every key said in the code
is checked against the catalog from the source, variants no test fires included.
"""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.analytics.number_scoring import FeatureContribution
from qalqan.domain import messages
from qalqan.domain.messages import (
    LANGUAGES,
    MESSAGES,
    parse_reasons,
    reasons_cell,
    render,
)
from qalqan.domain.model import Reason

PACKAGE = Path(__file__).resolve().parents[2] / "qalqan"
KEYS = sorted(MESSAGES)


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


# --- the catalog ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_every_message_is_in_every_language_with_the_same_facts(key: str) -> None:
    templates = MESSAGES[key]
    assert set(templates) == set(LANGUAGES), f"{key} lacks {set(LANGUAGES) - set(templates)}"
    english = fields(templates["en"])
    for lang in LANGUAGES:
        assert templates[lang].strip(), f"{key} is empty in {lang}"
        assert fields(templates[lang]) == english, f"{key}: {lang} uses other facts than en"


@pytest.mark.parametrize("key", KEYS)
def test_templates_are_plain_named_fields(key: str) -> None:
    """Facts are finished strings: no format specs, conversions, indexing or positional fields."""
    for lang, template in MESSAGES[key].items():
        for _, name, spec, conversion in string.Formatter().parse(template):
            if name is None:
                continue
            assert name.isidentifier(), f"{key} ({lang}): field '{name}' is not a plain name"
            assert not spec and conversion is None, f"{key} ({lang}): '{{{name}}}' has a format"


@pytest.mark.parametrize("key", KEYS)
def test_every_message_renders_in_every_language(key: str) -> None:
    facts = {name: f"<{name}>" for name in fields(MESSAGES[key]["en"])}
    for lang in LANGUAGES:
        text = render(key, facts, lang)
        assert all(f"<{name}>" in text for name in facts), f"{key} ({lang}) drops a fact"
        assert "{" not in text.replace("<", "").replace(">", "")


def test_keys_are_dotted_lower_case_ids() -> None:
    for key in KEYS:
        assert key == key.lower() and "." in key and " " not in key, key


# --- render -------------------------------------------------------------------------------------


def test_render_falls_back_to_english_for_a_language_without_a_template(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(messages.MESSAGES, "test.english_only", {"en": "seen {n} times"})  # type: ignore[index]
    assert render("test.english_only", {"n": "3"}, "ru") == "seen 3 times"
    assert render("sim_farm.straw_owner", _facts("sim_farm.straw_owner"), "de") == render(
        "sim_farm.straw_owner", _facts("sim_farm.straw_owner")
    )


def test_render_raises_key_error_for_an_unknown_key_or_a_missing_fact() -> None:
    with pytest.raises(KeyError):
        render("no.such.key", {})
    with pytest.raises(KeyError):
        render("spoofed_cli.unallocated", {}, "ru")


def test_durations_are_spelled_in_the_operators_language() -> None:
    facts = {"imei": "35875908000001", "sims": "41", "window": "24h"}
    key = "sim_farm.handset_many_sims"
    assert render(key, facts) == "IMEI 35875908000001 carried 41 different SIMs in 24h"
    assert render(key, facts, "ru") == "аппарат IMEI 35875908000001: разных SIM-карт за 24 ч — 41"
    assert "24 сағ" in render(key, facts, "kk")
    assert "10 мин" in render(key, {**facts, "window": "10m"}, "ru")
    assert "30 күн" in render(key, {**facts, "window": "30d"}, "kk")
    assert "1.5s" in render(key, {**facts, "window": "1.5s"}, "en")
    assert "1.5 с" in render(key, {**facts, "window": "1.5s"}, "ru")


# --- Reason -------------------------------------------------------------------------------------


def _facts(key: str) -> dict[str, str]:
    return {name: f"<{name}>" for name in fields(MESSAGES[key]["en"])}


def test_a_reason_said_keeps_its_key_and_facts_and_renders_its_english_detail() -> None:
    reason = Reason.said(
        "sim_farm.handset_many_sims",
        0.85,
        "sim_farm.handset_many_sims",
        imei="35875908000001",
        sims=41,
        window="24h",
    )
    assert reason.detail == "IMEI 35875908000001 carried 41 different SIMs in 24h"
    assert reason.key == "sim_farm.handset_many_sims"
    assert reason.facts_dict() == {"imei": "35875908000001", "sims": "41", "window": "24h"}
    assert reason.detail == render(reason.key, reason.facts_dict(), "en")
    assert str(reason) == (
        "sim_farm.handset_many_sims (+0.85): IMEI 35875908000001 carried 41 different SIMs in 24h"
    )
    assert hash(reason) == hash(Reason.said(reason.rule, 0.85, reason.key, **reason.facts_dict()))
    assert "SIM-карт" in reason.detail_in("ru") and "SIM-карта саны" in reason.detail_in("kk")


def test_a_reason_without_a_known_key_reads_as_its_english_detail() -> None:
    free = Reason(rule="partner.flag", weight=0.3, detail="flagged by a partner")
    assert free.key == "" and free.facts == ()
    assert free.detail_in("ru") == "flagged by a partner"
    newer = Reason(rule="x.y", weight=0.3, detail="from a newer Qalqan", key="x.y.z")
    assert newer.detail_in("kk") == "from a newer Qalqan"


@pytest.mark.parametrize(
    ("contribution", "value", "key"),
    [
        (0.7, 0.93, "number_scoring.raises"),
        (-0.2, 0.1, "number_scoring.lowers"),
        (0.4, float("nan"), "number_scoring.raises.no_value"),
        (-0.4, float("nan"), "number_scoring.lowers.no_value"),
    ],
)
def test_the_number_scoring_models_reasons_are_catalog_messages(
    contribution: float, value: float, key: str
) -> None:
    reason = FeatureContribution(
        feature="outgoing_share", value=value, contribution=contribution, detail="…"
    ).as_reason()
    assert reason.key == key and reason.rule == "number_scoring.outgoing_share"
    assert reason.weight == contribution
    assert reason.detail == render(key, reason.facts_dict())
    assert set(reason.facts_dict()) == fields(MESSAGES[key]["en"])


# --- every key said in the code is in the catalog -----------------------------------------------

SAYERS = {
    # call name: (position of the key argument, facts the helper adds itself)
    "say": (0, frozenset()),
    "said": (2, frozenset()),
    "listed": (0, frozenset({"source", "reason"})),
    "_fail_open": (1, frozenset({"action", "ingress"})),
    "_saying": (0, frozenset()),
    "says": (0, frozenset()),  # qalqan.analytics.sim_reasons.SimRule.says
}
NOT_FACTS = frozenset({"weight", "started"})


def _calls_with_keys() -> list[tuple[str, str, str, set[str], bool]]:
    """(file:line, call, key, fact names given, whether more facts are splatted) per literal key."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name not in SAYERS:
                continue
            position, _ = SAYERS[name]
            if len(node.args) <= position:
                continue
            arg = node.args[position]
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                continue
            given = {k.arg for k in node.keywords if k.arg is not None} - NOT_FACTS
            splat = any(k.arg is None for k in node.keywords)
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            found.append((where, name, arg.value, given, splat))
    return found


CALLS = _calls_with_keys()


def test_the_source_says_keys() -> None:
    """The walk finds the rules' and the faces' messages (a guard against checking nothing)."""
    said = {key for _, _, key, _, _ in CALLS}
    assert {"spoofed_cli.unallocated", "deadline.missed"} <= said  # the node's: test_node.py
    assert len(said) >= 40


@pytest.mark.parametrize(
    ("where", "call", "key", "given", "splat"), CALLS, ids=[c[0] for c in CALLS]
)
def test_every_key_said_in_the_code_is_in_the_catalog_with_its_facts(
    where: str, call: str, key: str, given: set[str], splat: bool
) -> None:
    assert key in MESSAGES, f"{where} says '{key}', which the catalog lacks"
    needed = fields(MESSAGES[key]["en"])
    added = SAYERS[call][1]
    if splat:
        assert given <= needed, f"{where}: '{key}' gets facts it does not use"
    else:
        assert given | added >= needed, f"{where}: '{key}' lacks {needed - given - added}"
        assert given <= needed, f"{where}: '{key}' gets {given - needed}, unused"


# --- reason_facts cells ------------------------------------------------------------------------

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),
    max_size=30,
)


@pytest.mark.parametrize("cell", [None, "", "  "])
def test_an_empty_cell_means_no_reasons(cell: str | None) -> None:
    assert parse_reasons(cell) == []


def test_a_cell_is_compact_json_in_the_reasons_order() -> None:
    first = Reason.said("spoofed_cli.unallocated", 0.9, "spoofed_cli.unallocated", caller="+7999")
    second = Reason(rule="free", weight=0.1, detail="free text")
    cell = reasons_cell([first, second])
    assert cell is not None and ", " not in cell and ": " not in cell
    assert json.loads(cell) == [
        {
            "rule": "spoofed_cli.unallocated",
            "key": "spoofed_cli.unallocated",
            "facts": {"caller": "+7999"},
            "weight": 0.9,
        },
        {"rule": "free", "key": "", "facts": {}, "weight": 0.1, "text": "free text"},
    ]


def test_no_message_is_dead() -> None:
    """Every catalog key is said somewhere: literally, declared by a rule, or by the scoring model."""
    import qalqan.screening.rules  # noqa: F401  (registers the shipped rules)
    from qalqan.screening.signals import SIGNALS

    said = {key for _, _, key, _, _ in CALLS}
    declared = {key for cls in SIGNALS.values() for key in cls.messages}
    model = {key for key in MESSAGES if key.startswith("number_scoring.")}
    chosen = {  # keys picked from a table, then said (the node's fail-open reasons too)
        literal
        for path in [
            *(PACKAGE / "cases" / "ingest").glob("*.py"),
            PACKAGE / "screening" / "node.py",
            PACKAGE / "public" / "checks.py",
        ]
        for literal in _literals(path)
    }
    # analyze's keys filled in SQL (calls.py, pipeline.py, money.py) or picked from a table (farms.py)
    analysed = {
        literal
        for name in ("calls.py", "pipeline.py", "farms.py", "money.py")
        for literal in _literals(PACKAGE / "analytics" / name)
        if literal in MESSAGES
    }
    assert set(MESSAGES) - said - declared - model - chosen - analysed == set()


def test_analyzes_sql_says_keys_of_the_catalog() -> None:
    """The keys that calls.csv's reasons are filled from in SQL are in the catalog, facts and all."""
    from qalqan.analytics.calls import CALL_RULES

    for rule, _, _, key, facts in CALL_RULES:
        assert key in MESSAGES, f"{rule} says '{key}', which the catalog lacks"
        assert set(facts) == fields(MESSAGES[key]["en"]), f"{rule}: facts of '{key}' differ"


def _literals(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_every_message_is_documented() -> None:
    """Screening's messages in docs/screening.md, the case store's findings in docs/cases.md,
    analyze's reasons in docs/analytics.md, the content checks' in docs/content.md, the public
    number check's in docs/public.md."""
    pages = {
        "finding.": "cases.md",
        "analysis.": "analytics.md",
        "content.": "content.md",
        "public.": "public.md",
    }
    for key, templates in MESSAGES.items():
        page = next((p for prefix, p in pages.items() if key.startswith(prefix)), "screening.md")
        docs = (PACKAGE.parent / "docs" / page).read_text(encoding="utf-8")
        item = f"\n- `{key}`: {templates['en']}\n"
        assert item in docs, f"{key} is not listed in docs/{page}, or its English differs"


# --- a reason as data (version 2 of reason_facts) -----------------------------------------------


@st.composite
def said_reasons(draw: st.DrawFn) -> Reason:
    """A reason as the code builds one: a catalog key with every fact its template needs."""
    key = draw(st.sampled_from(KEYS))
    facts = {name: draw(texts) for name in sorted(fields(MESSAGES[key]["en"]))}
    weight = draw(st.floats(-5, 5, allow_nan=False))
    rule = draw(st.sampled_from([key, key.rsplit(".", 1)[0]]))
    return Reason.said(rule, weight, key, **facts)


free_reasons = st.builds(
    lambda rule, weight, text: Reason(rule=rule, weight=weight, detail=text),
    rule=texts.filter(bool),
    weight=st.floats(-5, 5, allow_nan=False),
    text=texts,
)


@given(said_reasons())
def test_a_reason_reads_back_from_its_data(reason: Reason) -> None:
    assert Reason.from_data(reason.as_data()) == reason
    assert Reason.from_data(json.loads(json.dumps(reason.as_data()))) == reason


@given(st.lists(st.one_of(said_reasons(), free_reasons), max_size=6))
def test_a_reasons_cell_reads_back_as_written(said: list[Reason]) -> None:
    cell = reasons_cell(said)
    assert parse_reasons(cell) == said
    assert (cell is None) == (not said)


def test_only_a_reason_without_a_key_keeps_its_words() -> None:
    keyed = Reason.said("spoofed_cli.unallocated", 0.9, "spoofed_cli.unallocated", caller="+7999")
    free = Reason(rule="free", weight=0.25, detail="free text")
    assert keyed.as_data() == {
        "rule": "spoofed_cli.unallocated",
        "key": "spoofed_cli.unallocated",
        "facts": {"caller": "+7999"},
        "weight": 0.9,
    }
    assert free.as_data() == {
        "rule": "free",
        "key": "",
        "facts": {},
        "weight": 0.25,
        "text": "free text",
    }


def test_a_version_1_cell_reads_with_weight_zero_and_its_english() -> None:
    """Files written before weights were kept: no weight, no text, an empty rule for farms."""
    cell = (
        '[{"rule":"spoofed_cli.unallocated","key":"spoofed_cli.unallocated","facts":{"caller":"+7999"}},'
        '{"rule":"","key":"","facts":{}}]'
    )
    keyed, free = parse_reasons(cell)
    assert keyed == Reason.said(
        "spoofed_cli.unallocated", 0.0, "spoofed_cli.unallocated", caller="+7999"
    )
    assert keyed.detail == "presents +7999, which lies in no allocated number range"
    assert free == Reason(rule="", weight=0.0, detail="")


def test_fields_a_newer_writer_adds_are_ignored() -> None:
    data = {"rule": "a.b", "key": "spoofed_cli.unallocated", "facts": {"caller": "+7"}, "weight": 1}
    assert Reason.from_data({**data, "source": "elsewhere"}) == Reason.from_data(data)


@pytest.mark.parametrize(
    ("obj", "says"),
    [
        ([1], "not an array"),
        ("reason", "not a string"),
        ({"rule": "a", "key": 3, "facts": {}}, "must be strings"),
        ({"rule": "a", "key": "spoofed_cli.unallocated"}, "facts must be an object of strings"),
        ({"rule": "a", "key": "x", "facts": {"n": 41}}, "facts must be an object of strings"),
        ({"rule": "a", "key": "no.such_key", "facts": {}}, "not in the message catalog"),
        ({"rule": "a", "key": "spoofed_cli.unallocated", "facts": {}}, "lack 'caller'"),
        ({"rule": "a", "key": "", "facts": {}, "weight": "0.9", "text": "t"}, "finite number"),
        ({"rule": "a", "key": "", "facts": {}, "weight": True, "text": "t"}, "finite number"),
        ({"rule": "a", "key": "", "facts": {}, "weight": float("nan"), "text": "t"}, "finite"),
        ({"rule": "", "key": "", "facts": {}, "weight": 0.5, "text": "t"}, "name its rule"),
        ({"rule": "a", "key": "", "facts": {}, "weight": 0.5}, "needs its words"),
        ({"rule": "a", "key": "", "facts": {}, "text": 4}, "needs its words"),
    ],
)
def test_malformed_reason_data_is_refused_saying_why(obj: object, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Reason.from_data(obj)


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ('[{"rule": "a", "key": "b", "facts": {', "not JSON"),
        ('{"rule": "a"}', "not an array"),
        ("[1]", "item 0: a reason is an object"),
        (
            '[{"rule":"a","key":"","facts":{},"weight":1,"text":"t"},{"rule":"a","key":""}]',
            "item 1: reason 'a': facts must",
        ),
    ],
)
def test_a_malformed_reasons_cell_is_refused_saying_which_item(cell: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_reasons(cell)
