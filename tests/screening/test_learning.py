"""What the engine learns from, and what it must not: an attacker's own intercepted attempts.

Rolling state that speaks *for* a call (earlier contact between two numbers,
a number established on a route, a number seen on our radio, calls a SIM
received, the calls a share is taken of) learns only from what really
happened: attempts the engine allowed, answered calls and delivered SMS the
engine allowed, and the operator's own records. Redialling a call the engine
intercepted must never make it look better; state that only raises suspicion
(bursts, distinct callees) keeps counting every attempt.
"""

from __future__ import annotations

from collections.abc import Callable

from qalqan.domain.model import Action, Event
from qalqan.screening.reputation import Listing, ReputationLists
from qalqan.screening.signals import CallOutcome
from tests.screening.conftest import (
    FOREIGN,
    OTHER_OPERATOR,
    YOUNG_ADULT,
    Operator,
    call,
    rules_of,
)
from tests.screening.test_rules import (
    ORDINARY,
    ORDINARY_IMSI,
    WANGIRI,
    YOUNG_IMSI,
    YOUNG_NUMBER,
)

SPOOFED = "+77015550101"
"""A domestic number of another operator, presented from abroad by a call center."""
VICTIM = "+77075550202"


# --- contact between two numbers -----------------------------------------------------------


def test_redialling_a_spoofed_call_does_not_make_it_earlier_contact(operator: Operator) -> None:
    decisions = [
        operator.screen(call(SPOOFED, VICTIM, "international:carrierA", seconds=i))
        for i in range(5)
    ]
    assert [d.action for d in decisions] == [Action.DIVERT] * 5
    assert all(rules_of(d) == {"spoofed_cli.domestic_from_abroad"} for d in decisions)


def test_an_attempt_from_the_victim_to_the_spoofed_number_is_no_contact(
    operator: Operator,
) -> None:
    """The pre-seeding trick: one national attempt under the victim's number, never answered."""
    seed = call(VICTIM, SPOOFED, "national:interconnect1")
    assert operator.screen(seed).action is Action.ALLOW
    operator.ended(seed, answered=False)
    decision = operator.screen(call(SPOOFED, VICTIM, "international:carrierA", seconds=60))
    assert decision.action is Action.DIVERT


def test_an_answered_call_the_engine_allowed_is_contact(operator: Operator) -> None:
    earlier = call(VICTIM, SPOOFED, "national:interconnect1")
    assert operator.screen(earlier).action is Action.ALLOW
    operator.ended(earlier, answered=True, duration_s=95)
    decision = operator.screen(call(SPOOFED, VICTIM, "international:carrierA", seconds=600))
    assert decision.action is Action.ALLOW


def test_an_answered_call_the_engine_intercepted_is_no_contact(operator: Operator) -> None:
    """A diverted call 'answered' by the announcement it was diverted to is not contact."""
    first = call(SPOOFED, VICTIM, "international:carrierA")
    decision = operator.screen(first)
    assert decision.action is Action.DIVERT
    operator.engine.observe(
        CallOutcome(attempt=first, answered=True, duration_s=30, action=decision.action)
    )
    again = operator.screen(call(SPOOFED, VICTIM, "international:carrierA", seconds=120))
    assert again.action is Action.DIVERT


def test_the_operators_own_records_give_contact(operator: Operator) -> None:
    """Calls the engine never screened (history loaded at start) count when answered."""
    past = call(VICTIM, SPOOFED, "mobile", seconds=-86_400)
    operator.engine.observe(CallOutcome(attempt=past, answered=True, duration_s=40, action=None))
    decision = operator.screen(call(SPOOFED, VICTIM, "international:carrierA"))
    assert decision.action is Action.ALLOW


def test_a_delivered_sms_the_engine_allowed_is_contact(operator: Operator) -> None:
    sms = call(VICTIM, SPOOFED, "national:interconnect1")
    decision = operator.screen(sms)
    operator.engine.observe(
        CallOutcome(
            attempt=sms, answered=True, duration_s=0, action=decision.action, event=Event.SMS
        )
    )
    assert operator.screen(call(SPOOFED, VICTIM, "international:x", seconds=60)).action is (
        Action.ALLOW
    )


def test_a_number_diverted_on_a_route_does_not_become_established_there(
    operator: Operator,
) -> None:
    """Calling three people over one route, each call diverted, must not clear the fourth."""
    route = "voip:trunk7"
    decisions = [
        operator.screen(call(OTHER_OPERATOR, ORDINARY[i], route, seconds=10 * i)) for i in range(6)
    ]
    assert [d.action for d in decisions] == [Action.DIVERT] * 6


def test_an_intercepted_call_over_our_radio_does_not_vouch_for_the_number(
    operator_with: Callable[..., Operator],
) -> None:
    """A number seen on our radio weighs little from abroad, unless its call there was stopped."""
    lists = ReputationLists()
    lists.add(Listing(kind="imei", value="35875908999999", source="analysis", reason="farm"))
    op = operator_with(lists=lists)
    number = "+77471239999"  # not in `subscribers`: known to be ours only from our radio
    blocked = op.screen(
        call(number, ORDINARY[1], "mobile", imsi="401770009999999", imei="35875908999999")
    )
    assert blocked.action is Action.BLOCK
    decision = op.screen(call(number, YOUNG_ADULT, "international:x", seconds=60))
    assert rules_of(decision) == {"spoofed_cli.domestic_from_abroad"}
    assert decision.action is Action.DIVERT


def test_a_number_allowed_over_our_radio_is_probably_ours(operator: Operator) -> None:
    number = "+77471239999"
    allowed = operator.screen(call(number, ORDINARY[1], "mobile", imsi="401770009999999"))
    assert allowed.action is Action.ALLOW
    decision = operator.screen(call(number, YOUNG_ADULT, "international:x", seconds=60))
    assert [r.key for r in decision.reasons] == ["spoofed_cli.domestic_from_abroad.our_radio"]
    assert decision.action is Action.ALLOW


# --- the other features that speak for a call -----------------------------------------------


def test_intercepted_calls_to_a_sim_box_are_no_incoming_calls(operator: Operator) -> None:
    """Spoofed calls to the channel's number, all stopped, must not make it look called back."""
    box_number = YOUNG_NUMBER[2]
    for i in range(3):
        caller = SPOOFED[:-2] + f"{i:02d}"
        stopped = operator.screen(call(caller, box_number, "international:x", seconds=i))
        assert stopped.action is Action.DIVERT
    decisions = [
        operator.screen(
            call(
                box_number,
                ORDINARY[i],
                "mobile",
                imsi=YOUNG_IMSI[2],
                cell="C008-1",
                seconds=60 * (i + 1),
            )
        )
        for i in range(10)
    ]
    assert "sim_box.calls_without_incoming" in rules_of(decisions[9])


def test_intercepted_calls_do_not_dilute_a_routes_wave_of_spoofed_ids(
    operator: Operator,
) -> None:
    """Diverted (not proven spoofed) calls on the route must not lower its share of spoofed ones."""
    route = "international:wholesale1"
    for i in range(6):
        assert operator.screen(call(f"+7799{i:07d}", ORDINARY[i], route, seconds=i)).action is (
            Action.BLOCK
        )
    for i in range(10):  # the same call center, domestic numbers this time: diverted
        diverted = operator.screen(call(f"+7747{i:07d}", ORDINARY[20 + i], route, seconds=10 + i))
        assert diverted.action is Action.DIVERT
    operator.screen(call(FOREIGN, ORDINARY[41], route, seconds=29))  # a number working a list
    decision = operator.screen(call(FOREIGN, ORDINARY[40], route, seconds=30))
    assert "spoofed_cli.route_wave" in rules_of(decision)


def test_intercepted_old_sims_do_not_dilute_a_sites_share_of_young_ones(
    operator_with: Callable[..., Operator],
) -> None:
    lists = ReputationLists()
    for i in range(30, 50):
        lists.add(Listing(kind="imsi", value=ORDINARY_IMSI[i], source="analysis", reason="box"))
    op = operator_with(
        "rules: {sim_farm.young_sims_at_site: {min_young_sims: 3, min_young_share: 0.5}}",
        lists=lists,
    )
    for i in range(30, 50):  # the farm's old, listed SIMs at the same site: all blocked
        stopped = op.screen(
            call(
                ORDINARY[i], ORDINARY[0], "mobile", imsi=ORDINARY_IMSI[i], cell="C009-1", seconds=i
            )
        )
        assert stopped.action is Action.BLOCK
    decisions = [
        op.screen(
            call(
                YOUNG_NUMBER[i],
                ORDINARY[i],
                "mobile",
                imsi=YOUNG_IMSI[i],
                cell="C009-2",
                seconds=100 + i,
            )
        )
        for i in range(3)
    ]
    assert "sim_farm.young_sims_at_site" in rules_of(decisions[2])


def test_outcomes_of_intercepted_calls_do_not_dilute_a_wangiri_burst(
    operator_with: Callable[..., Operator],
) -> None:
    """Calls of the range stopped for another reason, then 'answered' by an announcement."""
    lists = ReputationLists()
    for i in range(6):
        lists.add(Listing(kind="number", value=WANGIRI[20 + i], source="partner", reason="scam"))
    op = operator_with(lists=lists)
    for i in range(6):
        attempt = call(WANGIRI[20 + i], ORDINARY[30 + i], "international:x", seconds=i)
        decision = op.screen(attempt)
        assert decision.intercepted
        op.engine.observe(
            CallOutcome(attempt=attempt, answered=True, duration_s=20, action=decision.action)
        )
    last = None
    for i in range(10):
        attempt = call(WANGIRI[i], ORDINARY[i], "international:x", seconds=10 + 10 * i)
        last = op.screen(attempt)
        op.ended(attempt, answered=False)
    assert last is not None and "wangiri.one_ring_burst" in rules_of(last)


def test_bursts_keep_counting_intercepted_attempts(operator: Operator) -> None:
    """An attacker redialling must look worse, not better: a stopped call still counts in a burst."""
    last = None
    for i in range(14):
        attempt = call(WANGIRI[i], ORDINARY[i], "international:x", seconds=10 * i)
        last = operator.screen(attempt)
        operator.ended(attempt, answered=False)
    assert last is not None and last.action is Action.BLOCK
