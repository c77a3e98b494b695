"""Wangiri in real time: a burst recognised across the numbers of its range, and kept stopped.

The definition is :mod:`qalqan.detections.wangiri`; ``tests/screening/test_replay_agrees_wangiri.py``
checks that the engine catches what ``qalqan analyze`` finds.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from qalqan.domain.model import Action, CallAttempt
from qalqan.screening.replay import replay  # noqa: F401  (the engine's shipped rules, registered)
from tests.screening.conftest import Operator, call, rules_of

NO_DEADLINE = "deadline:\n  budget_us: 1000000000\n"
"""A machine under load must not turn a decision into a missed deadline's default here."""


@pytest.fixture
def engine(operator_with: Callable[..., Operator]) -> Operator:
    return operator_with(NO_DEADLINE)


def callee(i: int) -> str:
    """Our i-th subscriber rung, none in the same hundred-block as another (no block dialled)."""
    return f"+7705{i * 7919 % 10**5:05d}{i % 100:02d}"


def spread(i: int) -> str:
    """The i-th number of a Wangiri operation: each in its own thousand-block of +371200xxxxx."""
    return f"+371200{i % 100:02d}{i * 37 % 1000:03d}"


def ring(engine: Operator, caller: str, i: int, seconds: float, *, outcome: bool = True) -> Action:
    """One call of a burst, rung off unanswered; its outcome is known 30 s later."""
    attempt = call(caller, callee(i), "international:carrierA", seconds=seconds)
    action = engine.screen(attempt).action
    pending.append((seconds + 30, attempt))
    while outcome and pending and pending[0][0] <= seconds:
        engine.ended(pending.pop(0)[1], answered=False)
    return action


pending: list[tuple[float, CallAttempt]] = []


@pytest.fixture(autouse=True)
def _no_pending() -> None:
    pending.clear()


def test_a_burst_spread_over_a_range_is_stopped_in_its_bigger_block(engine: Operator) -> None:
    # one call every 10 s, every call from another number and another thousand-block:
    # no hundred- or thousand-block ever rings a crowd, the range's hundred-thousand-block does
    actions = [ring(engine, spread(i), i, 10.0 * i) for i in range(80)]
    first = actions.index(Action.BLOCK)
    assert 34 <= first <= 45  # 34 people rung and 17 ended, as the hundred-thousand-block needs
    assert set(actions[first:]) == {Action.BLOCK}
    decision = engine.screen(call(spread(80), callee(80), "international:carrierB", seconds=800))
    burst = next(r for r in decision.reasons if r.rule == "wangiri.one_ring_burst")
    assert "from +371200xxxxx" in burst.detail  # whatever the carrier


def test_a_burst_stays_stopped_though_its_intercepted_calls_tell_no_outcome(
    engine: Operator,
) -> None:
    # three calls a minute from one hundred-block, for forty minutes: too few for a calling
    # burst; once stopped, none of its calls ends as dialled, and the evidence grows old
    caller = "+3712500000"
    actions = [ring(engine, f"{caller}{i % 10}", i, 20.0 * i) for i in range(120)]
    first = actions.index(Action.BLOCK)
    assert first <= 15
    assert set(actions[first:]) == {Action.BLOCK}
    last = engine.screen(call(f"{caller}1", callee(200), "international:x", seconds=2400))
    assert "wangiri.one_ring_burst" in rules_of(last)
    goes_on = next(r for r in last.reasons if r.rule == "wangiri.one_ring_burst")
    assert goes_on.detail.startswith("one-ring burst goes on")


def test_a_burst_stopped_is_forgotten_once_its_range_is_quiet(engine: Operator) -> None:
    for i in range(30):
        ring(engine, f"+3712500000{i % 10}", i, 10.0 * i)
    later = engine.screen(call("+37125000001", callee(99), "international:x", seconds=3000))
    assert later.action is Action.ALLOW


def test_a_foreign_operators_ordinary_callers_are_no_burst(engine: Operator) -> None:
    # sixty people of one foreign mobile range calling sixty of ours in ten minutes, one each,
    # two in three answered: the range's hundred-thousand-block rings a crowd, but not off
    last = None
    for i in range(60):
        caller = f"+3806712{i * 97 % 1000:03d}{i:02d}"
        attempt = call(caller, callee(i), "international:x", seconds=10 * i)
        last = engine.screen(attempt)
        assert last.action is Action.ALLOW, last.reasons
        engine.ended(attempt, answered=i % 3 != 0, duration_s=0 if i % 3 == 0 else 90)
    assert last is not None


def test_a_calling_burst_only_warns_and_spares_people_who_talked_with_the_caller(
    engine: Operator,
) -> None:
    friend = callee(500)
    known = call("+37125000001", friend, "international:x", seconds=0)
    engine.screen(known)
    engine.ended(known, answered=True, duration_s=300)
    for i in range(45):  # a crowd rung in 45 s, none of the outcomes known yet
        engine.screen(call(f"+3712500000{i % 10}", callee(i), "international:x", seconds=100 + i))
    stranger = engine.screen(call("+37125000002", callee(77), "international:x", seconds=150))
    assert rules_of(stranger) == {"wangiri.calling_burst"}
    assert stranger.action is Action.WARN
    again = engine.screen(call("+37125000001", friend, "international:x", seconds=151))
    assert "wangiri.calling_burst" not in rules_of(again)


def test_warned_calls_still_tell_how_they_ended(engine: Operator) -> None:
    # a crowd rung at once is warned; the warned calls ring, ring off, and confirm the burst
    actions = [ring(engine, f"+3712500000{i % 10}", i, 1.0 * i, outcome=False) for i in range(45)]
    assert actions[40:] == [Action.WARN] * 5
    for _, attempt in pending[40:]:  # only the warned calls' outcomes: five, enough
        engine.ended(attempt, answered=False)
    decision = engine.screen(call("+37125000003", callee(90), "international:x", seconds=80))
    assert decision.action is Action.BLOCK
    assert "wangiri.one_ring_burst" in rules_of(decision)
