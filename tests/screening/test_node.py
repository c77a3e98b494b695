"""The screening node: one deadline, one fail-open policy and one set of decision metrics."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qalqan.domain.messages import MESSAGES
from qalqan.domain.model import Action, CallAttempt, Decision, Ingress, Reason
from qalqan.errors import ConfigError, QalqanError, UnreadableFileError
from qalqan.screening.engine import DEADLINE_MISSED
from qalqan.screening.node import NodeSettings, ScreeningNode, reputation_lists

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def attempt(ingress: str = "mobile") -> CallAttempt:
    return CallAttempt(
        time=NOW,
        caller="+77011000001",
        callee="+77071234567",
        ingress=Ingress.parse(ingress),
        record_id="call-1",
    )


class Clock:
    """A clock that only the engines of these tests move."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def slow(clock: Clock, seconds: float, action: Action = Action.BLOCK) -> ScreeningNode:
    def decide(call: CallAttempt) -> Decision:
        clock.now += seconds
        return Decision(
            action=action, score=0.95, reasons=(Reason(rule="x.rule", weight=0.95, detail="said"),)
        )

    settings = NodeSettings(
        deadline_ms=50,
        default_action=Action.WARN,
        fail_open_by_ingress={"international": Action.DIVERT},
    )
    return ScreeningNode(decide, settings=settings, clock=clock)


def failing(error: Exception) -> ScreeningNode:
    def decide(call: CallAttempt) -> Decision:
        raise error

    return ScreeningNode(decide)


def test_a_decision_in_time_is_the_engines_and_is_counted() -> None:
    clock = Clock()
    node = slow(clock, 0.001)
    decision, judged = node.judge(attempt(), face="sip")
    assert (decision.action, judged) == (Action.BLOCK, True)
    assert decision.latency_us == pytest.approx(1000.0)
    metrics = node.metrics
    assert metrics.decisions.get(("block",)) == 1
    assert metrics.reasons.get(("x.rule",)) == 1
    assert metrics.engine_latency.count() == 1
    assert metrics.fail_open.values == {} and metrics.deadline_misses.values == {}


def test_one_deadline_from_arrival_with_the_action_of_the_ingress_class() -> None:
    clock = Clock()
    node = slow(clock, 0.030)
    # 30 ms in the engine after 30 ms in the queue: past the one 50 ms budget
    late = node.screen(attempt("international"), face="sip", arrived=clock.now - 0.030)
    assert late.action is Action.DIVERT
    [reason] = late.reasons
    assert reason.rule == "sip.fail_open.deadline"
    assert reason.facts_dict() == {
        "action": "divert",
        "ingress": "international",
        "elapsed_ms": "30",
        "deadline_ms": "50",
    }
    # the same engine time alone is within it; other classes get the default action
    assert node.screen(attempt(), face="http").action is Action.BLOCK
    expired = node.screen(attempt(), face="sip", arrived=clock.now - 0.060)
    assert expired.action is Action.WARN and expired.reasons[0].rule == "sip.fail_open.expired"
    assert node.metrics.deadline_misses.get(("node",)) == 2
    assert node.metrics.fail_open.values == {("deadline",): 1, ("expired",): 1}
    assert node.metrics.decisions.values == {("divert",): 1, ("block",): 1, ("warn",): 1}


def test_strict_keeps_a_late_answer_and_raises_an_engines_error() -> None:
    clock = Clock()
    late, judged = slow(clock, 0.080).judge(attempt(), face="http", strict=True)
    assert (late.action, judged) == (Action.BLOCK, True)
    node = failing(RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        node.judge(attempt(), face="http", strict=True)
    assert node.metrics.engine_latency.count() == 1 and node.metrics.fail_open.values == {}


def test_an_engines_error_fails_open_saying_why() -> None:
    crashed = failing(RuntimeError("boom")).screen(attempt(), face="sip")
    assert crashed.action is Action.ALLOW
    assert crashed.reasons[0].key == "sip.fail_open.error"
    assert crashed.reasons[0].facts_dict()["error_type"] == "RuntimeError"
    refused, judged = failing(QalqanError("no callee")).judge(attempt(), face="http")
    assert refused.reasons[0].key == "http.fail_open.error.refused" and not judged
    assert "no callee" in refused.reasons[0].detail


def test_the_engines_own_missed_budget_is_a_deadline_miss_and_no_judgement() -> None:
    missed = Reason.said(
        DEADLINE_MISSED, 0.0, DEADLINE_MISSED, elapsed_us="9000", budget_us="5000", action="allow"
    )
    node = ScreeningNode(lambda call: Decision(action=Action.ALLOW, score=0.0, reasons=(missed,)))
    decision, judged = node.judge(attempt(), face="sip")
    assert decision.reasons == (missed,) and not judged
    assert node.metrics.deadline_misses.get(("engine",)) == 1


@pytest.mark.parametrize("face", ["sip", "http"])
def test_every_fail_open_reason_is_in_the_catalog_with_its_facts(face: str) -> None:
    clock = Clock()
    made = [
        slow(clock, 0.080).screen(attempt(), face=face),
        slow(clock, 0.0).screen(attempt(), face=face, arrived=clock.now - 1.0),
        failing(RuntimeError("boom")).screen(attempt(), face=face),
        failing(QalqanError("refused")).screen(attempt(), face=face),
        ScreeningNode(lambda call: Decision(action=Action.ALLOW, score=0.0)).fail_open(
            "overload", attempt(), face=face
        ),
    ]
    for decision in made:
        [reason] = decision.reasons
        assert reason.rule.startswith(f"{face}.fail_open.")
        assert reason.key in MESSAGES, reason.key
        assert set(reason.facts_dict()) == fields(MESSAGES[reason.key]["en"]), reason.key


def test_settings_from_the_environment_over_the_faces_older_ones() -> None:
    from qalqan.api.config import ApiSettings
    from qalqan.sip.config import SipConfig

    assert NodeSettings.from_env({}) == NodeSettings()
    node_env = {"QALQAN_NODE_DEADLINE_MS": "20", "QALQAN_NODE_FAIL_OPEN_BY_INGRESS": "voip=block"}
    settings = NodeSettings.from_env(node_env)
    assert (
        settings.deadline_ms == 20
        and settings.fail_open_action(Ingress.parse("voip").kind) is Action.BLOCK
    )
    # what an operator set on a face still counts, unless the node's own variable is set
    sip = SipConfig(deadline_ms=80, default_action=Action.DIVERT)
    from_sip = NodeSettings.from_env({}, face=sip)
    assert (from_sip.deadline_ms, from_sip.default_action) == (80, Action.DIVERT)
    over = NodeSettings.from_env({"QALQAN_NODE_DEADLINE_MS": "30"}, face=sip)
    assert (over.deadline_ms, over.default_action) == (30, Action.DIVERT)
    http = ApiSettings(fail_open_by_ingress={"international": Action.DIVERT})
    from_http = NodeSettings.from_env({}, face=http)
    assert dict(from_http.fail_open_by_ingress) == {"international": Action.DIVERT}


def test_bad_settings_are_named_together() -> None:
    with pytest.raises(ConfigError) as raised:
        NodeSettings.from_env(
            {
                "QALQAN_NODE_DEADLINE_MS": "0",
                "QALQAN_NODE_DEFAULT_ACTION": "hang_up",
                "QALQAN_NODE_DEADLINE": "50",
            }
        )
    message = str(raised.value)
    assert message.startswith("Screening node settings: ")
    for named in ("QALQAN_NODE_DEADLINE_MS", "QALQAN_NODE_DEFAULT_ACTION", "QALQAN_NODE_DEADLINE "):
        assert named in message + " ", named


def test_a_node_is_built_around_qalqans_engine_with_its_lists(tmp_path: Path) -> None:
    listed = tmp_path / "lists.csv"
    listed.write_text("kind,value,source,reason\nnumber,+77011000001,a partner,test\n")
    node = ScreeningNode.build(lists=[listed], environ={})
    assert node.observe is not None  # Qalqan's engine learns how calls ended
    assert node.engine is not None and len(node.engine.lists) == 1
    decision = node.screen(attempt(), face="sip")
    assert any(r.rule.startswith("reputation.") for r in decision.reasons), decision.reasons
    with pytest.raises(ConfigError, match="no such file"):
        ScreeningNode.build(rules=tmp_path / "missing.yaml", environ={})
    with pytest.raises(UnreadableFileError):
        reputation_lists([tmp_path / "nowhere.csv"])


def test_every_node_setting_is_documented_with_its_default() -> None:
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "screening.md").read_text("utf-8")
    for name, env, default, help in NodeSettings.registry():
        row = re.search(rf"^\| `{env}` \| `([^`]*)` \| (.+) \|$", text, re.MULTILINE)
        assert row, f"{name} ({env}) is not documented in docs/screening.md"
        assert (row.group(1), row.group(2)) == (default, help), env
