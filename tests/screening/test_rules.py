"""Each rule's behaviour on hand-made calls, as an operator would describe it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from qalqan.domain.model import Action, CallAttempt
from qalqan.screening.reputation import Listing, ReputationLists
from tests.screening.conftest import (
    BANK_HOTLINE,
    BANK_OUTBOUND,
    BANK_TRUNK,
    ELDERLY,
    FOREIGN,
    HOME_SUBSCRIBER,
    OPTED_IN,
    OTHER_OPERATOR,
    ROAMER,
    T0,
    UNALLOCATED,
    YOUNG_ADULT,
    Operator,
    call,
    rules_of,
)

ORDINARY = [f"+770120{i:02d}{i:03d}" for i in range(50)]
"""Our ordinary subscribers, each in a different hundred-block."""
ORDINARY_IMSI = [f"4017700001{i:05d}" for i in range(50)]
BATCH_IMSI = [f"40177555000{i:04d}" for i in range(20)]
YOUNG_IMSI = [f"4017766{i:08d}" for i in range(20)]
YOUNG_NUMBER = [f"+7705666{i:04d}" for i in range(20)]


# --- caller IDs that cannot be genuine ------------------------------------------------------


def test_a_roaming_subscribers_call_home_from_abroad_is_allowed(operator: Operator) -> None:
    decision = operator.screen(call(ROAMER, ingress="international:carrierA"))
    assert decision.action is Action.ALLOW
    assert "roaming.subscriber_abroad" in rules_of(decision)
    assert "spoofed_cli.own_subscriber_at_home" not in rules_of(decision)
    assert any("TR" in r.detail for r in decision.reasons)


def test_a_roaming_subscriber_is_never_blocked_whatever_else_fires(
    operator_with: Callable[..., Operator],
) -> None:
    lists = ReputationLists()
    lists.add(
        Listing(kind="number", value=ROAMER, source="a partner", reason="complaints", weight=0.99)
    )
    op = operator_with("rules: {roaming.subscriber_abroad: {enabled: false}}", lists)
    decision = op.screen(call(ROAMER, ingress="voip:sip7"))
    assert decision.score >= 0.9
    assert decision.action is Action.WARN  # roaming.max_action
    assert "roaming.guard" in rules_of(decision)


def test_roaming_counts_a_little_beyond_the_period(operator: Operator) -> None:
    after_return = T0 + timedelta(days=3, minutes=30)
    decision = operator.screen(call(ROAMER, at=after_return))
    assert "roaming.subscriber_abroad" in rules_of(decision)
    later = operator.screen(call(ROAMER, at=T0 + timedelta(days=3, hours=2)))
    assert "spoofed_cli.own_subscriber_at_home" in rules_of(later)


def test_own_subscribers_number_from_abroad_while_at_home_is_blocked(operator: Operator) -> None:
    decision = operator.screen(call(HOME_SUBSCRIBER, callee=YOUNG_ADULT, ingress="international:x"))
    assert decision.action is Action.BLOCK
    reason = decision.reasons[0]
    assert reason.rule == "spoofed_cli.own_subscriber_at_home"
    assert HOME_SUBSCRIBER in reason.detail and "not roaming" in reason.detail


def test_own_subscribers_number_over_national_interconnect_weighs_less(operator: Operator) -> None:
    decision = operator.screen(call(HOME_SUBSCRIBER, callee=YOUNG_ADULT, ingress="national:opB"))
    assert decision.action is Action.ALLOW
    (reason,) = decision.reasons
    assert reason.rule == "spoofed_cli.own_subscriber_at_home" and reason.weight == 0.3


def test_without_roaming_data_our_number_from_abroad_is_only_a_hint(operator: Operator) -> None:
    operator.subscribers.roaming_known = False
    operator.subscribers.roaming.clear()
    decision = operator.screen(call(ROAMER, callee=YOUNG_ADULT, ingress="international:x"))
    assert decision.action is Action.ALLOW
    assert "no roaming data" in decision.reasons[0].detail


def test_a_number_that_never_calls_out_is_blocked_over_any_ingress(operator: Operator) -> None:
    for ingress in ("international:x", "national:opB", "voip:sip1"):
        decision = operator.screen(call(BANK_HOTLINE, ingress=ingress))
        assert decision.action is Action.BLOCK, ingress
        assert decision.reasons[0].rule == "spoofed_cli.registry_inbound_only"
        assert "Dala Bank, hotline" in decision.reasons[0].detail


def test_a_protected_number_outside_its_route_is_blocked_and_inside_it_trusted(
    operator: Operator,
) -> None:
    wrong = operator.screen(call(BANK_OUTBOUND, ingress="international:carrierB"))
    assert wrong.action is Action.BLOCK
    assert wrong.reasons[0].rule == "spoofed_cli.registry_wrong_route"
    assert BANK_TRUNK in wrong.reasons[0].detail
    right = operator.screen(call(BANK_OUTBOUND, ingress=BANK_TRUNK))
    assert right.action is Action.ALLOW
    assert rules_of(right) == {"trusted_caller.registered_route"}


def test_an_unallocated_number_is_stopped(operator: Operator) -> None:
    decision = operator.screen(call(UNALLOCATED, ingress="national:opB"))
    assert decision.action is Action.BLOCK
    assert "spoofed_cli.unallocated" in rules_of(decision)
    assert "no allocated number range" in decision.reasons[0].detail


def test_a_domestic_number_from_abroad_without_history_is_diverted(operator: Operator) -> None:
    decision = operator.screen(call(OTHER_OPERATOR, callee=YOUNG_ADULT, ingress="international:x"))
    assert decision.action is Action.DIVERT
    assert rules_of(decision) == {"spoofed_cli.domestic_from_abroad"}


def test_a_domestic_number_from_abroad_that_talked_to_the_callee_before_passes(
    operator: Operator,
) -> None:
    earlier = call(YOUNG_ADULT, callee=OTHER_OPERATOR, ingress="mobile", imsi="401770000000004")
    operator.screen(earlier)
    operator.ended(earlier, answered=True, duration_s=60)
    decision = operator.screen(
        call(OTHER_OPERATOR, callee=YOUNG_ADULT, ingress="international:x", seconds=3600)
    )
    assert decision.action is Action.ALLOW


def test_a_withheld_caller_from_abroad_alone_is_allowed(operator: Operator) -> None:
    decision = operator.screen(call(None, callee=YOUNG_ADULT, ingress="international:x"))
    assert decision.action is Action.ALLOW
    assert rules_of(decision) == {"spoofed_cli.withheld_from_abroad"}


def test_a_route_carrying_a_wave_of_spoofed_ids_lends_suspicion_to_its_other_calls(
    operator: Operator,
) -> None:
    route = "international:wholesale1"
    for i in range(6):
        spoofed = f"+7799{i:07d}"
        assert operator.screen(call(spoofed, ORDINARY[i], route, seconds=i)).action is Action.BLOCK
    first = operator.screen(call(FOREIGN, ORDINARY[9], route, seconds=9))
    assert first.action is Action.ALLOW  # one person rung: as a relative abroad would
    decision = operator.screen(call(FOREIGN, ORDINARY[10], route, seconds=10))
    assert rules_of(decision) == {"spoofed_cli.route_wave"}  # the number works a list
    assert decision.action is Action.WARN
    assert "6 of 7 calls over international:wholesale1" in decision.reasons[0].detail
    elsewhere = operator.screen(call(FOREIGN, ORDINARY[11], "international:carrierA", seconds=11))
    assert elsewhere.action is Action.ALLOW


def test_relatives_abroad_calling_over_a_wave_route_are_left_alone(operator: Operator) -> None:
    """Minutes after a center rang a family over a carrier, their relatives abroad call over it.

    Each relative's foreign number rings one person: the route's wave of spoofed caller
    IDs does not weigh on it. A domestic caller ID new to the callee still does (proven
    spoofed on its own), and a foreign number that goes on to ring a second person does.
    """
    route = "international:wholesale1"
    for i in range(6):
        assert operator.screen(call(f"+7799{i:07d}", ORDINARY[i], route, seconds=i)).action is (
            Action.BLOCK
        )
    relatives = [f"+90532{i:07d}" for i in range(5)]  # Turkish mobiles, one family member each
    for i, relative in enumerate(relatives):
        decision = operator.screen(call(relative, ORDINARY[i], route, seconds=10 + i))
        assert decision.action is Action.ALLOW, decision.reasons
    again = operator.screen(call(relatives[0], ORDINARY[20], route, seconds=20))
    assert "spoofed_cli.route_wave" in rules_of(again)


# --- patterns across calls -----------------------------------------------------------------

WANGIRI = [f"+371250000{i:02d}" for i in range(1, 30)]


def test_a_wangiri_burst_is_stopped_once_its_first_calls_rang_off(operator: Operator) -> None:
    decisions = []
    for i in range(14):
        attempt = call(WANGIRI[i], ORDINARY[i], "international:x", seconds=10 * i)
        decisions.append(operator.screen(attempt))
        operator.ended(attempt, answered=False)
    assert decisions[0].action is Action.ALLOW
    assert decisions[-1].action is Action.BLOCK
    burst = next(r for r in decisions[-1].reasons if r.rule == "wangiri.one_ring_burst")
    assert "from +371250000xx" in burst.detail and "rang off unanswered" in burst.detail


def test_a_burst_whose_calls_are_answered_is_no_wangiri(operator: Operator) -> None:
    last = None
    for i in range(14):
        attempt = call(WANGIRI[i], ORDINARY[i], "international:x", seconds=10 * i)
        last = operator.screen(attempt)
        operator.ended(attempt, answered=True, duration_s=120)
    assert last is not None and "wangiri.one_ring_burst" not in rules_of(last)


def test_outcomes_not_yet_known_do_not_count(operator: Operator) -> None:
    last = None
    for i in range(14):
        last = operator.screen(call(WANGIRI[i], ORDINARY[i], "international:x", seconds=10 * i))
    assert last is not None and "wangiri.one_ring_burst" not in rules_of(last)


def test_a_range_ringing_a_crowd_is_a_calling_burst(operator: Operator) -> None:
    last = None
    for i in range(41):
        callee = ORDINARY[i % 50] if i < 50 else YOUNG_NUMBER[i - 50]
        last = operator.screen(
            call(WANGIRI[i % 29][:-2] + f"{i % 29:02d}", callee, "international:x", seconds=i)
        )
    assert last is not None and "wangiri.calling_burst" in rules_of(last)


def test_dialling_through_a_block_of_numbers_is_flagged(operator: Operator) -> None:
    decisions = [
        operator.screen(
            call(
                ORDINARY[0],
                f"+770155501{i:02d}",
                "mobile",
                imsi=ORDINARY_IMSI[0],
                imei="35875908000000",
                cell="C001-1",
                seconds=30 * i,
            )
        )
        for i in range(4)
    ]
    assert [d.action for d in decisions[:3]] == [Action.ALLOW] * 3
    assert decisions[3].action is Action.WARN
    (reason,) = decisions[3].reasons
    assert reason.rule == "sequential_dialling.number_blocks"
    assert "4 numbers of the block +770155501xx" in reason.detail


# --- SIM boxes and farms -------------------------------------------------------------------


def test_a_handset_carrying_many_sims_is_a_sim_box(operator: Operator) -> None:
    decisions = [
        operator.screen(
            call(
                ORDINARY[i],
                ORDINARY[20 + i],
                "mobile",
                imsi=ORDINARY_IMSI[i],
                imei="35875908000001",
                cell="C002-1",
                seconds=60 * i,
            )
        )
        for i in range(3)
    ]
    assert decisions[1].action is Action.ALLOW  # a household: two SIMs in one phone
    assert decisions[2].action is Action.DIVERT
    assert decisions[2].reasons[0].detail == "IMEI 35875908000001 carried 3 different SIMs in 24h"


def test_sims_of_one_activation_batch_calling_together_are_a_farm(operator: Operator) -> None:
    decisions = [
        operator.screen(
            call(
                f"+7702555{i:04d}",
                ORDINARY[i],
                "mobile",
                imsi=BATCH_IMSI[i],
                imei=f"3587590800010{i}",
                cell="C003-1",
                seconds=60 * i,
            )
        )
        for i in range(4)
    ]
    assert decisions[1].action is Action.ALLOW
    assert "sim_farm.activation_batch" in rules_of(decisions[2])
    assert "sim_farm.straw_owner" in rules_of(decisions[3])
    assert decisions[2].action is Action.DIVERT and decisions[3].action is Action.BLOCK


def test_young_sims_crowding_one_site_are_a_farms_stock(operator: Operator) -> None:
    decisions = [
        operator.screen(
            call(
                YOUNG_NUMBER[i],
                ORDINARY[i],
                "mobile",
                imsi=YOUNG_IMSI[i],
                imei=f"3587590800020{i}",
                cell=f"C005-{1 + i % 3}",
                seconds=60 * i,
            )
        )
        for i in range(8)
    ]
    assert all(d.action is Action.ALLOW for d in decisions[:7])
    assert rules_of(decisions[7]) == {"sim_farm.young_sims_at_site"}
    assert "site S005" in decisions[7].reasons[0].detail


def test_a_young_sim_at_a_crowded_site_calling_someone_it_talks_with_is_spared(
    operator: Operator,
) -> None:
    """People with new SIMs who live where a farm stands call the people they know."""
    earlier = call(
        YOUNG_NUMBER[7], ORDINARY[7], "mobile", imsi=YOUNG_IMSI[7], cell="C005-1", seconds=-3600
    )
    operator.screen(earlier)
    operator.ended(earlier, answered=True, duration_s=60)
    decisions = [
        operator.screen(
            call(
                YOUNG_NUMBER[i],
                ORDINARY[i],
                "mobile",
                imsi=YOUNG_IMSI[i],
                imei=f"3587590800020{i}",
                cell=f"C005-{1 + i % 3}",
                seconds=60 * i,
            )
        )
        for i in range(9)
    ]
    assert "sim_farm.young_sims_at_site" not in rules_of(decisions[7])
    assert rules_of(decisions[8]) == {"sim_farm.young_sims_at_site"}


def test_a_young_sim_calling_many_and_called_by_none_is_a_sim_box_channel(
    operator: Operator,
) -> None:
    def make(i: int) -> CallAttempt:
        return call(
            YOUNG_NUMBER[0],
            ORDINARY[i],
            "mobile",
            imsi=YOUNG_IMSI[0],
            imei="35875908000300",
            cell="C006-1",
            seconds=60 * i,
        )

    decisions = [operator.screen(make(i)) for i in range(10)]
    assert decisions[8].action is Action.ALLOW
    assert "sim_box.calls_without_incoming" in rules_of(decisions[9])
    assert decisions[9].action is Action.DIVERT


def test_a_sim_that_people_call_back_is_no_sim_box(operator: Operator) -> None:
    operator.screen(call(ORDINARY[40], YOUNG_NUMBER[1], "mobile", imsi=ORDINARY_IMSI[40]))
    last = None
    for i in range(12):
        last = operator.screen(
            call(
                YOUNG_NUMBER[1],
                ORDINARY[i],
                "mobile",
                imsi=YOUNG_IMSI[1],
                cell="C007-1",
                seconds=60 * (i + 1),
            )
        )
    assert last is not None and "sim_box.calls_without_incoming" not in rules_of(last)


# --- reputation ------------------------------------------------------------------------------


def test_a_listed_handset_is_blocked_and_the_reason_names_the_source(
    operator_with: Callable[..., Operator],
) -> None:
    lists = ReputationLists()
    lists.add(
        Listing(
            kind="imei", value="35875908999999", source="Dala Bank", reason="farm seen in Almaty"
        )
    )
    op = operator_with(lists=lists)
    decision = op.screen(
        call(ORDINARY[0], ORDINARY[1], "mobile", imsi=ORDINARY_IMSI[0], imei="35875908999999")
    )
    assert decision.action is Action.BLOCK
    (reason,) = decision.reasons
    assert reason.rule == "reputation.handset"
    assert "Dala Bank" in reason.detail and "farm seen in Almaty" in reason.detail


def test_a_listed_number_range_and_its_time_span(operator_with: Callable[..., Operator]) -> None:
    lists = ReputationLists()
    since = (T0 + timedelta(hours=1)).timestamp()
    lists.add(
        Listing(kind="number_range", value="+37125000", source="ops", reason="Wangiri", since=since)
    )
    op = operator_with(lists=lists)
    before = op.screen(call(WANGIRI[0], ORDINARY[0], "international:x"))
    after = op.screen(call(WANGIRI[0], ORDINARY[1], "international:x", seconds=7200))
    assert "reputation.caller_number" not in rules_of(before)
    assert "reputation.caller_number" in rules_of(after)
    assert "range +37125000xx" in after.reasons[0].detail


def test_a_listed_farm_cell_weighs_only_on_young_sims(
    operator_with: Callable[..., Operator],
) -> None:
    lists = ReputationLists()
    lists.add(Listing(kind="cell", value="S008", source="qalqan analyze", reason="farm F1"))
    op = operator_with(lists=lists)
    young = op.screen(
        call(YOUNG_NUMBER[5], ORDINARY[0], "mobile", imsi=YOUNG_IMSI[5], cell="C008-2")
    )
    old = op.screen(call(ORDINARY[3], ORDINARY[4], "mobile", imsi=ORDINARY_IMSI[3], cell="C008-2"))
    assert rules_of(young) == {"reputation.farm_cell"} and young.action is Action.WARN
    assert old.action is Action.ALLOW and not old.reasons


# --- the callee ------------------------------------------------------------------------------


def test_a_vulnerable_callee_is_warned_at_a_lower_score(operator: Operator) -> None:
    young = operator.screen(call(None, callee=YOUNG_ADULT, ingress="international:x"))
    elderly = operator.screen(call(None, callee=ELDERLY, ingress="international:x", seconds=1))
    opted_in = operator.screen(call(None, callee=OPTED_IN, ingress="international:x", seconds=2))
    assert young.score == elderly.score == opted_in.score == 0.3
    assert young.action is Action.ALLOW
    assert elderly.action is Action.WARN and opted_in.action is Action.WARN
    assert "vulnerable_callee" in rules_of(elderly)
    assert "is 76" in next(r.detail for r in elderly.reasons if r.rule == "vulnerable_callee")


def test_elderly_subscribers_who_opted_out_are_not_treated_as_vulnerable(
    operator: Operator,
) -> None:
    operator.subscribers.protection_opt_out.add(ELDERLY)
    decision = operator.screen(call(None, callee=ELDERLY, ingress="international:x"))
    assert decision.action is Action.ALLOW


# --- STIR/SHAKEN, deadline, state -------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    valid: bool
    attestation: str | None
    reason: str


class _Verifier:
    def __init__(self, check: _Check) -> None:
        self.check = check
        self.calls = 0

    def verify(
        self, identity_header: str, *, caller: str | None, callee: str, now: datetime
    ) -> _Check:
        self.calls += 1
        return self.check


def _with_verifier(check: _Check) -> tuple[Operator, _Verifier]:
    op = Operator()
    verifier = _Verifier(check)
    op.engine.env.verifier = verifier
    return op, verifier


def test_a_failed_identity_header_never_decides_alone() -> None:
    op, verifier = _with_verifier(_Check(valid=False, attestation=None, reason="bad signature"))
    alone = op.screen(call(FOREIGN, YOUNG_ADULT, "international:x", identity="eyJ..."))
    assert verifier.calls == 1
    assert rules_of(alone) == {"stir_shaken.identity"} and alone.action is Action.ALLOW
    assert alone.score < 0.4
    with_more = op.screen(call(None, YOUNG_ADULT, "international:x", identity="eyJ...", seconds=1))
    assert with_more.action is Action.WARN


def test_a_full_attestation_lends_some_trust_but_does_not_outweigh_proof() -> None:
    op, _ = _with_verifier(_Check(valid=True, attestation="A", reason="ok"))
    decision = op.screen(call(HOME_SUBSCRIBER, YOUNG_ADULT, "international:x", identity="eyJ..."))
    assert "stir_shaken.identity" in rules_of(decision)
    assert 0.6 < decision.score < 0.95
    assert decision.action is Action.DIVERT


def test_no_verifier_no_stir_signal(operator: Operator) -> None:
    decision = operator.screen(call(FOREIGN, YOUNG_ADULT, "international:x", identity="eyJ..."))
    assert not decision.reasons


def test_past_the_deadline_the_default_action_is_answered(
    operator_with: Callable[..., Operator],
) -> None:
    op = operator_with("deadline: {budget_us: 1, on_miss: divert}")
    decision = op.screen(call(HOME_SUBSCRIBER, YOUNG_ADULT, "international:x"))
    assert decision.action is Action.DIVERT
    assert decision.reasons[0].rule == "deadline.missed"
    assert "default action 'divert'" in decision.reasons[0].detail


def test_deciding_changes_nothing_and_recording_does(operator: Operator) -> None:
    attempt = call(
        YOUNG_NUMBER[0], ORDINARY[0], "mobile", imsi=YOUNG_IMSI[0], imei="1", cell="C001-1"
    )
    before = operator.engine.feature_sizes()
    first = operator.engine.decide(attempt)
    again = operator.engine.decide(attempt)
    assert (again.action, again.score, again.reasons) == (first.action, first.score, first.reasons)
    assert operator.engine.feature_sizes() == before
    operator.engine.record(attempt, first)
    assert operator.engine.feature_sizes() != before


def test_every_non_allow_decision_explains_itself(operator: Operator) -> None:
    attempts = [
        call(HOME_SUBSCRIBER, YOUNG_ADULT, "international:x"),
        call(BANK_HOTLINE, YOUNG_ADULT, "national:opB"),
        call(OTHER_OPERATOR, YOUNG_ADULT, "voip:sip1"),
        call(None, ELDERLY, "international:x"),
    ]
    for attempt in attempts:
        decision = operator.screen(attempt)
        assert decision.action is not Action.ALLOW
        assert decision.reasons and all(r.detail for r in decision.reasons)
        assert decision.latency_us > 0


def test_roaming_reported_while_the_node_runs(operator: Operator) -> None:
    imsi = "401770000000004"
    operator.subscribers.start_roaming(imsi, "AE", T0)
    abroad = operator.screen(call(YOUNG_ADULT, ELDERLY, "international:x", seconds=60))
    assert "roaming.subscriber_abroad" in rules_of(abroad)
    operator.subscribers.end_roaming(imsi, T0 + timedelta(hours=5))
    home = operator.screen(call(YOUNG_ADULT, HOME_SUBSCRIBER, "international:x", seconds=8 * 3600))
    assert home.action is Action.BLOCK


def test_the_stir_verifier_is_imported_lazily_and_may_be_absent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qalqan.screening.rules.stir_shaken import default_verifier

    verifier = default_verifier(trust_anchors=[], certificates={})
    assert verifier is not None and hasattr(verifier, "verify")
    monkeypatch.setitem(sys.modules, "qalqan.screening.stir", None)
    assert default_verifier() is None
