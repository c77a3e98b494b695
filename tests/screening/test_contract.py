"""Contract tests that run over every registered rule automatically.

A rule added to the registry is held to the same contract without anyone
writing a test for it: it has a docstring and a documented entry in
``docs/screening.md`` and ``default_rules.yaml``; it survives attempts with
missing inputs (no caller ID, IMSI, IMEI or cell) over every ingress; it is
deterministic given the same traffic; and every reason it gives carries its own
id, a weight within -1..1, a message key it declares and the facts that
message needs, its English detail rendered from them.
"""

from __future__ import annotations

import random
import string
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from qalqan.domain.messages import MESSAGES, render
from qalqan.domain.model import CallAttempt, IngressClass, Reason
from qalqan.screening.config import default_rules_text
from qalqan.screening.signals import SIGNALS, Context, Rule
from tests.screening.conftest import (
    BANK_HOTLINE,
    BANK_OUTBOUND,
    ELDERLY,
    FOREIGN,
    HOME_SUBSCRIBER,
    ROAMER,
    T0,
    UNALLOCATED,
    Operator,
    call,
)

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "screening.md").read_text(encoding="utf-8")
RULES = sorted(SIGNALS)
INGRESS = [
    "mobile",
    "fixed",
    "national:opB",
    "international:carrierA",
    "voip:sip1",
    "international",
]
CALLERS = [None, HOME_SUBSCRIBER, ROAMER, ELDERLY, BANK_HOTLINE, BANK_OUTBOUND, FOREIGN, UNALLOCATED,
           "+77471234567", "+37125000001", "+37125000002", *(f"+7705666{i:04d}" for i in range(20))]  # fmt: skip
CALLEES = [
    HOME_SUBSCRIBER,
    ELDERLY,
    *(f"+770120{i:02d}{i:03d}" for i in range(50)),
    "+77015550101",
    "+77015550102",
]
IMSIS = [
    None,
    "401770000000001",
    *(f"40177555000{i:04d}" for i in range(20)),
    *(f"4017766{i:08d}" for i in range(20)),
]
IMEIS = [None, "35875908000001", "35875908000002", "35875908000003"]
CELLS = [None, "C001-1", "C001-2", "C005-3", "C999-1"]


def traffic(seed: int, n: int = 1500) -> list[CallAttempt]:
    """Random attempts over the hand-made operator, with every input sometimes missing."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append(
            call(
                rng.choice(CALLERS),
                rng.choice(CALLEES),
                rng.choice(INGRESS),
                imsi=rng.choice(IMSIS),
                imei=rng.choice(IMEIS),
                cell=rng.choice(CELLS),
                seconds=i * rng.uniform(1, 40),
            )
        )
    return out


def _signal(op: Operator, rule: str) -> Rule:
    found = [s for s in op.engine.signals if s.id == rule]
    assert found, f"{rule} is not built by the engine"
    signal = found[0]
    assert isinstance(signal, Rule)
    return signal


def _check(rule: str, reason: Reason | None) -> None:
    if reason is None:
        return
    assert isinstance(reason, Reason)
    assert reason.rule == rule
    assert -1.0 <= reason.weight <= 1.0
    assert reason.detail.strip(), f"{rule} gave a reason without detail"
    assert reason.key in SIGNALS[rule].messages, f"{rule} said '{reason.key}', not declared"
    fields = {f for _, f, _, _ in string.Formatter().parse(MESSAGES[reason.key]["en"]) if f}
    assert set(reason.facts_dict()) == fields, f"{reason.key}: facts do not fill the message"
    assert reason.detail == render(reason.key, reason.facts_dict())


@pytest.mark.parametrize("rule", RULES)
def test_the_rule_is_documented(rule: str) -> None:
    cls = SIGNALS[rule]
    assert (cls.__doc__ or "").strip(), f"{rule} has no docstring"
    assert "." in rule and rule == rule.lower(), "ids are family.what in lower case"
    assert f"### `{rule}`" in DOCS, f"{rule} has no section in docs/screening.md"
    shipped = yaml.safe_load(default_rules_text())["rules"]
    assert rule in shipped, f"{rule} is missing from default_rules.yaml"
    assert cls.applies_to, f"{rule} judges no ingress at all"


@pytest.mark.parametrize("rule", RULES)
def test_the_rule_handles_missing_inputs_over_every_ingress(rule: str) -> None:
    op = Operator()
    signal = _signal(op, rule)
    for attempt in traffic(seed=1, n=600):
        _check(rule, signal.evaluate(attempt, Context(attempt, op.engine.env)))
        op.screen(attempt)
    for ingress in INGRESS:
        bare = CallAttempt(
            time=T0 + timedelta(days=1),
            caller=None,
            callee=HOME_SUBSCRIBER,
            ingress=call(None, ingress=ingress).ingress,
        )
        _check(rule, signal.evaluate(bare, Context(bare, op.engine.env)))


@pytest.mark.parametrize("rule", RULES)
def test_the_rule_is_deterministic(rule: str) -> None:
    # The hand-made operator screens without a time budget (conftest.timeless): a screen that
    # overruns it on a busy machine answers the deadline's action, and the state learns from that.
    runs = []
    for _ in range(2):
        op = Operator()
        signal = _signal(op, rule)
        said = []
        for attempt in traffic(seed=7, n=800):
            said.append(signal.evaluate(attempt, Context(attempt, op.engine.env)))
            op.screen(attempt)
        runs.append(said)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("rule", RULES)
def test_only_the_ingress_it_declares_reaches_it(rule: str) -> None:
    op = Operator()
    signal = _signal(op, rule)
    for kind in IngressClass:
        assert (signal in op.engine._by_ingress[kind]) == (kind in signal.applies_to)


def test_whole_decisions_are_deterministic() -> None:
    # Without a time budget (conftest.timeless): a decision that overruns it (a first lookup of
    # numbering-plan metadata, a busy machine) answers the deadline's action instead, by design.
    first, second = Operator(), Operator()
    for attempt in traffic(seed=3):
        a, b = first.screen(attempt), second.screen(attempt)
        assert (a.action, a.score, a.reasons) == (b.action, b.score, b.reasons)
