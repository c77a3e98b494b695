"""Every rule's reasons as the operator reads them: a catalog message in Russian, Kazakh and English.

The contract tests check the reasons that random traffic brings out; here the
variants it rarely reaches (listings without a reason, a farm's cell listed
by cell or by site, a route dialling through a block, a SIM we do not know,
STIR/SHAKEN attestations) are brought out on purpose, and the rules'
declarations are checked against the catalog and their own source.
"""

from __future__ import annotations

import ast
import inspect
import string
from dataclasses import dataclass
from datetime import datetime

import pytest

from qalqan.domain.messages import LANGUAGES, MESSAGES, render
from qalqan.domain.model import Decision, Reason
from qalqan.screening.reputation import Listing, ReputationLists
from qalqan.screening.signals import SIGNALS, IdentityChecked
from tests.screening.conftest import FOREIGN, Operator, call

RULES = sorted(SIGNALS)
YOUNG_IMSI = "401776600000005"
YOUNG_NUMBER = "+77056660005"
ORDINARY = [f"+770120{i:02d}{i:03d}" for i in range(50)]


def speaks_every_language(reason: Reason) -> None:
    """The reason is a catalog message: its English detail, and Russian and Kazakh of its own."""
    assert reason.key in MESSAGES, f"{reason.rule} gave no catalog message"
    facts = reason.facts_dict()
    fields = {f for _, f, _, _ in string.Formatter().parse(MESSAGES[reason.key]["en"]) if f}
    assert set(facts) == fields
    assert reason.detail == render(reason.key, facts, "en")
    for lang in LANGUAGES:
        text = reason.detail_in(lang)
        assert text.strip() and "{" not in text
        assert all(value in text for name, value in facts.items() if name != "window")
    assert reason.detail_in("ru") != reason.detail and reason.detail_in("kk") != reason.detail


def said(decision: Decision, rule: str) -> Reason:
    found = [r for r in decision.reasons if r.rule == rule]
    assert found, f"{rule} did not fire: {decision.reasons}"
    for reason in decision.reasons:
        speaks_every_language(reason)
    return found[0]


# --- what the rules declare -------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
def test_the_rule_declares_its_messages_and_the_catalog_has_them(rule: str) -> None:
    declared = SIGNALS[rule].messages
    assert declared, f"{rule} declares no messages"
    assert len(set(declared)) == len(declared)
    for key in declared:
        assert key == rule or key.startswith(f"{rule}."), f"{key} is not named after {rule}"
        assert key in MESSAGES, f"{rule} declares '{key}', which the catalog lacks"


@pytest.mark.parametrize("rule", RULES)
def test_every_key_the_rules_source_says_is_declared(rule: str) -> None:
    """Literal keys in the class's own source (and its helpers') are among its ``messages``."""
    cls = SIGNALS[rule]
    tree = ast.parse(inspect.getsource(inspect.getmodule(cls)))  # type: ignore[arg-type]
    body = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    literal = {
        node.args[0].value
        for node in ast.walk(body)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("say", "listed")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }
    assert literal, f"{rule} says nothing in its own source"
    assert literal <= set(cls.messages), f"{rule} says {literal - set(cls.messages)} undeclared"


# --- reputation listings, with and without a reason ---------------------------------------------


def _listed(*listings: Listing) -> Operator:
    lists = ReputationLists()
    for listing in listings:
        lists.add(listing)
    return Operator(lists=lists)


@pytest.mark.parametrize("why", ["complaints", ""])
def test_a_listed_number_and_range_say_who_listed_them(why: str) -> None:
    op = _listed(
        Listing(kind="number", value=FOREIGN, source="a partner", reason=why),
        Listing(kind="number_range", value="+37125000", source="ops", reason=why),
    )
    number = said(
        op.screen(call(FOREIGN, ORDINARY[0], "international:x")), "reputation.caller_number"
    )
    ranged = said(
        op.screen(call("+37125000017", ORDINARY[1], "international:x", seconds=5)),
        "reputation.caller_number",
    )
    tail = "" if why else ".no_reason"
    assert number.key == f"reputation.caller_number{tail}"
    assert ranged.key == f"reputation.caller_number.range{tail}"
    assert ranged.detail.startswith("number +37125000017 of range +37125000xx listed by ops")
    assert ranged.detail.endswith(f"({why})" if why else "listed by ops")
    assert "+37125000xx" in ranged.detail_in("ru") and "ops" in ranged.detail_in("kk")


def test_a_listed_sim_and_handset_without_a_reason() -> None:
    op = _listed(
        Listing(kind="imsi", value="401770000100001", source="qalqan analyze", reason=""),
        Listing(kind="imei", value="35875908999999", source="Dala Bank", reason=""),
    )
    decision = op.screen(
        call(ORDINARY[1], ORDINARY[2], "mobile", imsi="401770000100001", imei="35875908999999")
    )
    sim, handset = said(decision, "reputation.sim"), said(decision, "reputation.handset")
    assert sim.key == "reputation.sim.no_reason"
    assert sim.detail == "SIM 401770000100001 listed by qalqan analyze"
    assert handset.key == "reputation.handset.no_reason"
    assert handset.detail_in("ru") == "аппарат IMEI 35875908999999 в списке: Dala Bank"


@pytest.mark.parametrize(
    ("listed", "why", "key"),
    [
        ("C008-2", "farm F1", "reputation.farm_cell"),
        ("C008-2", "", "reputation.farm_cell.no_reason"),
        ("S008", "farm F1", "reputation.farm_cell.site"),
        ("S008", "", "reputation.farm_cell.site.no_reason"),
    ],
)
def test_a_young_sim_in_a_listed_farm_cell_or_site(listed: str, why: str, key: str) -> None:
    op = _listed(Listing(kind="cell", value=listed, source="qalqan analyze", reason=why))
    decision = op.screen(call(YOUNG_NUMBER, ORDINARY[0], "mobile", imsi=YOUNG_IMSI, cell="C008-2"))
    reason = said(decision, "reputation.farm_cell")
    assert reason.key == key
    place = "cell C008-2" if listed == "C008-2" else "site S008"
    assert f"calling from {place} listed by qalqan analyze" in reason.detail


# --- patterns across calls ----------------------------------------------------------------------


def test_a_route_dialling_through_a_block_names_the_route() -> None:
    op = Operator()
    decisions = [
        op.screen(call(f"+4930123456{i:02d}", f"+770155501{i:02d}", "voip:sip9", seconds=20 * i))
        for i in range(4)
    ]
    reason = said(decisions[3], "sequential_dialling.number_blocks")
    assert reason.key == "sequential_dialling.number_blocks.route"
    assert (
        reason.detail
        == "route voip:sip9 dialled 4 numbers of the block +770155501xx in the last 10m"
    )
    assert reason.detail_in("ru").endswith(
        "за 10 мин набрано разных номеров из блока +770155501xx: 4"
    )


def test_a_sim_we_do_not_know_calling_everyone_is_said_without_its_age() -> None:
    op = Operator()
    decisions = [
        op.screen(
            call("+77059999001", ORDINARY[i], "mobile", imsi="401779999900001", seconds=60 * i)
        )
        for i in range(20)
    ]
    reason = said(decisions[-1], "sim_box.calls_without_incoming")
    assert reason.key == "sim_box.calls_without_incoming.age_unknown"
    assert reason.detail == (
        "SIM 401779999900001 called 20 different people in 24h and received 0 calls or SMS"
    )
    assert reason.detail_in("kk").startswith("401779999900001 SIM-картасы 24 сағ ішінде")


# --- STIR/SHAKEN --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    valid: bool
    attestation: str | None
    reason: str


@dataclass(frozen=True)
class _Verifier:
    answer: _Check

    def verify(
        self, identity_header: str, *, caller: str | None, callee: str, now: datetime
    ) -> IdentityChecked:
        return self.answer


@pytest.mark.parametrize(
    ("check", "key"),
    [
        (_Check(False, None, "orig +7 ≠ caller +8"), "stir_shaken.identity.failed"),
        (_Check(True, "A", "verified"), "stir_shaken.identity.full"),
        (_Check(True, "C", "verified"), "stir_shaken.identity.gateway"),
    ],
)
def test_what_the_identity_header_says(check: _Check, key: str) -> None:
    op = Operator()
    op.engine.env.verifier = _Verifier(check)
    decision = op.screen(
        call(FOREIGN, ORDINARY[0], "international:x", identity="eyJ...;info=<https://x>")
    )
    reason = said(decision, "stir_shaken.identity")
    assert reason.key == key
    if key.endswith("failed"):
        assert reason.detail == "Identity header failed verification: orig +7 ≠ caller +8"
        assert reason.facts_dict() == {"failure": "orig +7 ≠ caller +8"}
