"""The case store keeps every reason as data: rule, message key, facts and weight.

What screening and analysis said goes in as they said it (weights included),
an older store is brought to the same shape by its migration, and the
scheme of an alert is taken from data, not from a reason's words.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from qalqan.cases.ingest import ingest_decisions, ingest_findings
from qalqan.cases.models import Alert
from qalqan.cases.store import CaseStore, downgrade, make_engine, upgrade
from qalqan.cases.views import stored_reasons
from qalqan.domain.messages import MESSAGES, parse_reasons
from qalqan.domain.model import Reason
from tests.cases.conftest import People
from tests.cases.feeds import BANK_HOTLINE, Feed, write_feed


@pytest.fixture
def feed(tmp_path: Path) -> Feed:
    return write_feed(tmp_path / "feed", calls=8)


def _stored(store: CaseStore, kind: str) -> dict[str, list[Any]]:
    """The raw reasons of every alert of ``kind``, by source ref."""
    with store.transaction() as session:
        rows = session.execute(
            select(Alert.source_ref, Alert.reasons).where(Alert.kind == kind)
        ).all()
    return {ref: json.loads(raw) for ref, raw in rows}


def test_a_decisions_reasons_are_kept_with_their_weights(store: CaseStore, feed: Feed) -> None:
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
    stored = _stored(store, "intercepted_call")
    assert stored["r1"] == [
        {
            "rule": "spoofed_cli.registry_inbound_only",
            "key": "spoofed_cli.registry_inbound_only",
            "facts": {"caller": BANK_HOTLINE, "owner": "National Bank, hotline"},
            "weight": 0.85,
        }
    ]
    (reason,) = stored_reasons(json.dumps(stored["r1"]))
    assert reason == Reason.said(
        "spoofed_cli.registry_inbound_only",
        0.85,
        "spoofed_cli.registry_inbound_only",
        caller=BANK_HOTLINE,
        owner="National Bank, hotline",
    )


def test_a_file_without_reason_facts_keeps_its_words_whole(
    sqlite_store: CaseStore, feed: Feed
) -> None:
    # decisions.csv as exchange-v1 has it: five columns, the reasons in words only
    words = "sim_farm.handset_many_sims: IMEI 1 carried 3 SIMs | vulnerable_callee: aged 78"
    rows = [f'r{k},block,0.97,"{words}",40.0' for k in range(3)]
    feed.decisions.write_text(
        "record_id,action,score,reasons,latency_us\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    with sqlite_store.transaction() as session:
        ingest_decisions(session, feed.decisions)
    stored = _stored(sqlite_store, "intercepted_call")
    assert stored["r0"] == [
        {"rule": "decisions.reasons", "key": "", "facts": {}, "weight": 0.0, "text": words}
    ]


def test_a_wave_is_keyed_by_its_calls_rule_and_its_numbers_by_their_cdrs_or_facts(
    sqlite_store: CaseStore, feed: Feed
) -> None:
    with sqlite_store.transaction() as session:
        ingest_findings(session, feed.findings)  # no data set: the facts say the number
        wave = session.scalars(select(Alert).where(Alert.kind == "spoofed_wave")).one()
        numbers = session.execute(
            text(
                "SELECT e.value FROM entities e JOIN alert_entities l ON l.entity_id = e.id "
                "WHERE l.alert_id = :a AND l.relation = 'presented'"
            ),
            {"a": wave.id},
        ).all()
    assert wave.source_ref == "campaign C0002|spoofed_cli.registry_inbound_only|2026-03-02"
    assert json.loads(wave.details)["rule"] == "spoofed_cli.registry_inbound_only"
    assert [n for (n,) in numbers] == [BANK_HOTLINE]
    assert wave.category == "bank_security"  # the owner of the protected number it presented


@pytest.mark.parametrize(
    ("registry", "category"),
    [
        # the registry's category column says it as data, over the words of the owner's name
        (
            'number,owner,policy,category\n{n},"National Bank, hotline",inbound_only,police\n',
            "police",
        ),
        ("number,owner,policy,category\n{n},Dala 102,inbound_only,police\n", "police"),
        # a registry without the column: the owner's name is all there is
        ("number,owner,policy\n{n},Dala 102,inbound_only\n", "other"),
        (
            'number,owner,policy,category\n{n},"National Bank, hotline",inbound_only,\n',
            "bank_security",
        ),
    ],
    ids=["category-over-words", "category-only", "no-column", "empty-category"],
)
def test_an_intercepted_calls_scheme_is_the_registrys_category_of_the_number_it_presented(
    store: CaseStore, feed: Feed, registry: str, category: str
) -> None:
    (feed.data / "registry.csv").write_text(registry.format(n=BANK_HOTLINE), encoding="utf-8")
    decisions = feed.decisions.read_text(encoding="utf-8")
    # the call's own reason names no owner, so only the registry can tell its scheme
    feed.decisions.write_text(
        decisions.replace(', ""owner"": ""National Bank, hotline""', ""), encoding="utf-8"
    )
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
        alert = session.scalars(select(Alert).where(Alert.source_ref == "r1")).one()
    assert alert.category == category


def test_a_campaigns_category_is_the_one_its_complaints_tell(
    sqlite_store: CaseStore, feed: Feed
) -> None:
    campaigns = feed.findings / "campaigns.csv"
    lines = campaigns.read_text(encoding="utf-8").splitlines()
    script = json.dumps(
        [
            {
                "rule": "analysis.campaign",
                "key": "analysis.campaign.script",
                "facts": {"category": "police", "reports": "4", "total": "5"},
                "weight": 1.0,
            }
        ]
    )
    cell = '"' + script.replace('"', '""') + '"'
    rows = [lines[0] + ",reason_facts"] + [f"{line},{cell}" for line in lines[1:]]
    campaigns.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with sqlite_store.transaction() as session:
        ingest_findings(session, feed.findings, feed.data)
        categories = dict(
            session.execute(
                select(Alert.source_ref, Alert.category).where(Alert.kind == "campaign")
            ).all()
        )
    assert categories == {"C0001": "police", "C0002": "police"}


OLD_SHAPES: list[tuple[str, list[object]]] = [
    ("intercepted_call", ["spoofed_cli.unallocated: presents +7999, which lies nowhere"]),
    (
        "intercepted_call",
        [
            {
                "text": "spoofed_cli.registry_inbound_only: presents +77272707000 (Bank), ...",
                "rule": "spoofed_cli.registry_inbound_only",
                "key": "spoofed_cli.registry_inbound_only",
                "facts": {"caller": "+77272707000", "owner": "Bank"},
            }
        ],
    ),
    (
        "sim_farm",
        [
            {
                "text": "3 SIMs in 3 handsets",
                "rule": "",
                "key": "finding.farm.unplaced",
                "facts": {"sims": "3", "handsets": "3"},
            },
            "SIMs shared handsets (3 pairs)",
        ],
    ),
]


def _old_store(url: str) -> None:
    """A store at the previous revision, with alerts whose reasons have the older shapes."""
    upgrade(url, "0002")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for i, (kind, reasons) in enumerate(OLD_SHAPES):
                connection.execute(
                    text(
                        "INSERT INTO alerts (kind, source, source_ref, severity, severity_rank, "
                        "score, category, reasons, source_records, details, occurred_at, "
                        "received_at, status, attempts) VALUES (:kind, 'old', :ref, 'high', 3, "
                        "0.9, 'other', :reasons, '[]', '{}', :at, :at, 'open', 0)"
                    ),
                    {
                        "kind": kind,
                        "ref": f"a{i}",
                        "reasons": json.dumps(reasons),
                        "at": "2026-03-02 08:00:00",
                    },
                )
    finally:
        engine.dispose()


def test_the_migration_brings_an_older_stores_reasons_to_data(store_url: str) -> None:
    _old_store(store_url)
    upgrade(store_url)
    upgrade(store_url)  # a second run changes nothing
    engine = make_engine(store_url)
    try:
        with engine.connect() as connection:
            rows: dict[str, str] = dict(
                connection.execute(text("SELECT source_ref, reasons FROM alerts")).all()
            )
    finally:
        engine.dispose()
    assert json.loads(rows["a0"]) == [
        {
            "rule": "decisions.reasons",
            "key": "",
            "facts": {},
            "weight": 0.0,
            "text": "spoofed_cli.unallocated: presents +7999, which lies nowhere",
        }
    ]
    assert json.loads(rows["a1"]) == [
        {
            "rule": "spoofed_cli.registry_inbound_only",
            "key": "spoofed_cli.registry_inbound_only",
            "facts": {"caller": "+77272707000", "owner": "Bank"},
            "weight": 0.0,
        }
    ]
    headline, evidence = stored_reasons(rows["a2"])
    assert (headline.rule, headline.key, headline.weight) == ("finding.farm.unplaced",) * 2 + (0.0,)
    assert (
        headline.detail == Reason.said("x", 0, "finding.farm.unplaced", sims=3, handsets=3).detail
    )
    assert (evidence.rule, evidence.key) == ("farms.reasons", "")
    assert evidence.detail == "SIMs shared handsets (3 pairs)"
    for raw in rows.values():
        for item in json.loads(raw):
            assert Reason.from_data(item).as_data() == item  # the shape as_data writes
    downgrade(store_url, "0002")  # and back: objects with their English text
    engine = make_engine(store_url)
    try:
        with engine.connect() as connection:
            back: dict[str, str] = dict(
                connection.execute(text("SELECT source_ref, reasons FROM alerts")).all()
            )
    finally:
        engine.dispose()
    assert json.loads(back["a1"]) == [
        {
            "text": "presents +77272707000 (Bank), a number that never calls out",
            "rule": "spoofed_cli.registry_inbound_only",
            "key": "spoofed_cli.registry_inbound_only",
            "facts": {"caller": "+77272707000", "owner": "Bank"},
        }
    ]


# -- a small simulated operator, screened, analysed and loaded ---------------------------------


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(data set, analysis folder, decisions.csv) of a small simulated operator."""
    from qalqan.cli.analyze import run_analysis
    from qalqan.screening.replay import replay
    from qalqan.simulator.config import Scenario
    from qalqan.simulator.operator import simulate

    root = tmp_path_factory.mktemp("operator")
    data, results = root / "data", root / "analysis"
    simulate(data, Scenario(subscribers=1200, days=2, seed=5))
    run_analysis(data, results, quarantine=results / "quarantine")
    decisions = results / "decisions.csv"
    replay(data, decisions)
    return data, results, decisions


def test_every_stored_reason_has_rule_key_facts_and_weight(
    sqlite_store: CaseStore, simulated: tuple[Path, Path, Path]
) -> None:
    data, results, decisions = simulated
    with sqlite_store.transaction() as session:
        ingest_decisions(session, decisions, data)
        ingest_findings(session, results, data)
        stored = session.execute(select(Alert.kind, Alert.reasons)).all()
    kinds = {kind for kind, _ in stored}
    assert {"intercepted_call", "sim_farm", "campaign", "spoofed_wave"} <= kinds
    items = [(kind, item) for kind, raw in stored for item in json.loads(raw)]
    assert items
    for kind, item in items:
        assert isinstance(item["rule"], str) and item["rule"], (kind, item)
        assert item["key"] in MESSAGES or (item["key"] == "" and item["text"]), (kind, item)
        assert isinstance(item["facts"], dict), (kind, item)
        assert isinstance(item["weight"], float), (kind, item)
        assert Reason.from_data(item).as_data() == item
    # what screening weighed, the store keeps: a decision's reasons as its file has them
    with sqlite_store.transaction() as session:
        by_call = dict(
            session.execute(
                select(Alert.source_ref, Alert.reasons).where(Alert.kind == "intercepted_call")
            ).all()
        )
    with decisions.open(encoding="utf-8", newline="") as f:
        written = {
            row["record_id"]: parse_reasons(row["reason_facts"])
            for row in csv.DictReader(f)
            if row["action"] != "allow"
        }
    assert written
    assert all(stored_reasons(by_call[rid]) == tuple(r) for rid, r in written.items())
    assert any(r.weight for reasons in written.values() for r in reasons)


# -- nothing reads facts back out of a reason's words -----------------------------------------

PACKAGE = Path(__file__).resolve().parents[2] / "qalqan"
CUTS = frozenset({"split", "rsplit", "partition", "rpartition"})
"""Cutting text: on a reason, a way to fish out its rule or its facts."""
PATTERNS = frozenset(
    {"search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"}
)
"""A regular expression's methods (``re.search`` or a compiled pattern's)."""
REASON_WORDS = re.compile(r"reason|detail|said", re.IGNORECASE)
SEPARATORS = frozenset({" | ", "; ", " |", "|", ";"})
"""What reasons were once joined with: cutting on them is cutting reasons apart."""
NOT_REASONS = {
    ("screening/stir.py", "detail.split("): "the words of a JWT library's error, not a reason",
    ("sip/message.py", '.split(";")'): "SIP header parameters",
    ("sip/message.py", '.partition(";")'): "SIP URI parameters",
    ("sip/redirect.py", '.split(";", 1)'): "SIP URI user parameters",
    (
        "sip/radio.py",
        '.partition(";")',
    ): "P-Access-Network-Info: the access type and its parameters",
    ("sip/radio.py", '.split(";")'): "P-Access-Network-Info's parameters",
    ("api/app.py", '.split(";", 1)'): "an HTTP Content-Type's parameters",
    ("analytics/evaluate.py", '.split(";")'): "a farm's site coordinates (a list column)",
    ("screening/reputation.py", '.split(";")'): "a farm's IMEIs and cells (list columns)",
    (
        "intel/analysis.py",
        '.split(";")',
    ): "a farm's IMEIs and cells, a campaign's farms (list columns)",
    ("public/app.py", '.split(";")'): "an HTTP Content-Type's parameters",
    ("public/i18n.py", '.split(";")'): "an Accept-Language entry's quality parameter",
}
"""Lines the scan flags that do not touch a reason, and what they cut instead."""


def _text_cuts(path: Path) -> Iterator[tuple[int, str]]:
    """(line, code) of every call that cuts or matches text on a line that speaks of reasons,
    or cuts text on a separator reasons were joined with."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, receiver = node.func.attr, ast.get_source_segment(source, node.func.value) or ""
        code = "\n".join(lines[node.lineno - 1 : node.end_lineno]).strip()
        literals = {a.value for a in node.args if isinstance(a, ast.Constant)}
        compiled = receiver.lstrip("_").isupper() or receiver.endswith(("_re", "pattern"))
        regex = method in PATTERNS and (receiver == "re" or compiled)
        cut = method in CUTS and receiver != "re"
        if (cut or regex) and (REASON_WORDS.search(code) or (cut and literals & SEPARATORS)):
            yield node.lineno, code


def test_no_code_reads_facts_out_of_a_reasons_words() -> None:
    """A later step that needs a fact takes it from the reason's facts, rule or key, or from
    the data, never by cutting or matching the English a reason was rendered in."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        for line, code in _text_cuts(path):
            if not any(where == file and snippet in code for file, snippet in NOT_REASONS):
                found.append(f"qalqan/{where}:{line}: {code}")
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    "code",
    [
        'parts = text.split(" | ")',
        "rule = (call['reasons'] or '').split(':', 1)[0]",
        'rules = [r.partition(":")[0] for r in reasons]',
        "match = _NUMBER.search(call['reasons'] or '')",
        "found = re.search(r'from (\\+[0-9]+)xx', reasons)",
        'evidence = row["reasons"].split("; ")',
    ],
)
def test_the_scan_finds_each_way_reasons_were_read(tmp_path: Path, code: str) -> None:
    path = tmp_path / "parsing.py"
    path.write_text(code + "\n", encoding="utf-8")
    assert [line for line, _ in _text_cuts(path)] == [1]


def test_a_view_hands_the_stored_reasons_to_a_screen_which_says_them_in_its_language(
    sqlite_store: CaseStore, sqlite_people: People, tmp_path: Path
) -> None:
    from qalqan.cases.intercepts import alert_view
    from qalqan.console.formats import say

    feed = write_feed(tmp_path / "f", calls=2)
    words = "handset seen in 3 farms, by a partner's list"
    lines = feed.decisions.read_text(encoding="utf-8").splitlines()
    feed.decisions.write_text(  # r0 as the replay writes it, r1 in words only
        "\n".join([lines[0], lines[1], f'r1,divert,0.85,"{words}",40.0,']) + "\n",
        encoding="utf-8",
    )
    with sqlite_store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
        ids = dict(session.execute(select(Alert.source_ref, Alert.id)).all())
        keyed = alert_view(session, sqlite_people.operator, ids["r0"])
        free = alert_view(session, sqlite_people.operator, ids["r1"])
    (reason,) = keyed.said
    assert isinstance(reason, Reason) and reason.weight == 0.97
    assert say("ru", reason) == (reason.detail_in("ru"), "sim_farm.handset_many_sims")
    assert say("ru", reason)[0].startswith("аппарат IMEI")
    assert keyed.reasons == (reason.detail,)
    (told,) = free.said
    assert say("kk", told) == (words, "decisions.reasons")  # free text: its words, as written


_FIELDS = {
    key: sorted({name for _, name, _, _ in string.Formatter().parse(lang["en"]) if name})
    for key, lang in MESSAGES.items()
}
_words = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@st.composite
def _reasons(draw: st.DrawFn) -> Reason:
    """A reason any rule could give: a catalog message with its facts, or free text."""
    rule = draw(st.from_regex(r"[a-z_]{1,12}\.[a-z_]{1,12}", fullmatch=True))
    weight = draw(st.floats(-5, 5, allow_nan=False))
    if draw(st.booleans()):
        return Reason(rule=rule, weight=weight, detail=draw(_words))
    key = draw(st.sampled_from(sorted(_FIELDS)))
    facts = {name: draw(_words) for name in _FIELDS[key]}
    return Reason.said(rule, weight, key, **facts)


@given(st.lists(_reasons(), max_size=4))
def test_reasons_read_back_from_the_store_as_they_were_written(reasons: list[Reason]) -> None:
    from qalqan.cases.ingest.reasons import reasons_json

    assert stored_reasons(reasons_json(reasons)) == tuple(reasons)
