"""Each rule that judges a call from outside, on a handful of calls written for it."""

from __future__ import annotations

import json
from collections.abc import Callable

from qalqan.analytics.pipeline import Analysis
from qalqan.domain.messages import LANGUAGES, render

CELLS = [{"cell_id": "C1", "site_id": "S1", "lat": 43.2, "lon": 76.9, "region": "Almaty"}]
SUBSCRIBERS = [
    {
        "imsi": "401770000000001",
        "msisdn": "+77071111111",
        "activated": "2020-01-01",
        "plan": "prepaid",
        "birth_year": 1950,
    },
    {
        "imsi": "401770000000002",
        "msisdn": "+77072222222",
        "activated": "2020-01-01",
        "plan": "prepaid",
        "birth_year": 1990,
    },
    {
        "imsi": "401770000000003",
        "msisdn": "+77073333333",
        "activated": "2020-01-01",
        "plan": "prepaid",
        "birth_year": 1985,
    },
]
ROAMING = [
    {
        "imsi": "401770000000002",
        "start_time": "2026-03-01T00:00:00Z",
        "end_time": "2026-03-09T00:00:00Z",
        "country": "TR",
    }
]
REGISTRY = [
    {"number": "+77272544000", "owner": "Almaty city police", "policy": "inbound_only"},
    {
        "number": "+77273501000",
        "owner": "Dala Bank, customer calls",
        "policy": "route:voip:bankdala",
    },
]


def call(
    rid: str, a: str, b: str, ingress: str, t: str = "2026-03-03T09:00:00Z", **extra: object
) -> dict[str, object]:
    row: dict[str, object] = {
        "record_id": rid, "start_time": t, "duration_s": 30, "event": "voice", "result": "answered",
        "a_number": a, "b_number": b, "ingress": ingress,
    }  # fmt: skip
    row.update(extra)
    return row


def judged(analysis: Analysis) -> dict[str, tuple[str | None, str | None]]:
    """Rule and reason of every call; each reason's key and facts render back to its text."""
    rows = analysis.con.execute(
        "SELECT record_id, rule, rule_detail, rule_key, CAST(rule_facts AS VARCHAR) FROM call_facts"
    ).fetchall()
    for _, rule, detail, key, facts in rows:
        if rule is None:
            assert key is None and facts is None
            continue
        assert render(key, json.loads(facts)) == detail, (rule, key, facts)
        for lang in LANGUAGES:
            assert render(key, json.loads(facts), lang)
    return {r[0]: (r[1], r[2]) for r in rows}


def tables(*cdrs: dict[str, object]) -> dict[str, list[dict[str, object]]]:
    return {
        "cells": CELLS,
        "subscribers": SUBSCRIBERS,
        "roaming": ROAMING,
        "registry": REGISTRY,
        "cdrs": list(cdrs),
    }


def test_own_subscriber_from_abroad_is_spoofed_unless_roaming(
    prepared: Callable[..., Analysis],
) -> None:
    found = judged(
        prepared(
            tables(
                call("home", "+77071111111", "+77073333333", "international:carrierA"),
                call("roaming", "+77072222222", "+77073333333", "international:carrierA"),
            )
        )
    )
    assert found["home"][0] == "spoofed_cli.own_subscriber_at_home"
    assert "+77071111111" in str(found["home"][1]) and "not roaming" in str(found["home"][1])
    assert found["roaming"][0] is None


def test_protected_numbers(prepared: Callable[..., Analysis]) -> None:
    found = judged(
        prepared(
            tables(
                call("police", "+77272544000", "+77071111111", "international:carrierB"),
                call("bank-own-trunk", "+77273501000", "+77071111111", "voip:bankdala"),
                call("bank-elsewhere", "+77273501000", "+77071111111", "voip:sip7"),
            )
        )
    )
    assert found["police"] == (
        "spoofed_cli.registry_inbound_only",
        "presents +77272544000 (Almaty city police), a number that never calls out",
    )
    assert found["bank-own-trunk"][0] is None
    assert found["bank-elsewhere"][0] == "spoofed_cli.registry_wrong_route"


def test_domestic_number_from_abroad_needs_history(prepared: Callable[..., Analysis]) -> None:
    found = judged(
        prepared(
            tables(
                call(
                    "known",
                    "+77011234567",
                    "+77071111111",
                    "international:carrierA",
                    "2026-03-03T10:00:00Z",
                ),
                call(
                    "earlier",
                    "+77071111111",
                    "+77011234567",
                    "mobile",
                    "2026-03-02T10:00:00Z",
                    a_imsi="401770000000001",
                    a_imei="356938035643809",
                    a_cell="C1",
                ),
                call("stranger", "+77019999999", "+77071111111", "international:carrierA"),
                call("foreign", "+996555123456", "+77071111111", "international:carrierA"),
            )
        )
    )
    assert found["known"][0] is None
    assert found["stranger"][0] == "spoofed_cli.domestic_from_abroad"
    assert found["foreign"][0] is None


def test_unallocated_number(prepared: Callable[..., Analysis]) -> None:
    found = judged(prepared(tables(call("x", "+77991234567", "+77071111111", "national:opB"))))
    assert found["x"][0] == "spoofed_cli.unallocated"


def _one_ring(i: int, caller: str, second: int) -> dict[str, object]:
    minute, sec = divmod(second, 60)
    return call(f"w{i}", caller, f"+7707{1000000 + i:07d}", "international:wholesale6",
                f"2026-03-03T02:{minute:02d}:{sec:02d}Z", duration_s=0, result="no_answer")  # fmt: skip


def test_wangiri_burst_is_found_once_its_first_calls_rang_off(
    prepared: Callable[..., Analysis],
) -> None:
    # ten people a minute from one hundred-block; each call's outcome is known 30 s after it
    burst = [_one_ring(i, f"+2224500{i % 10:04d}", 70 * (i // 10) + i % 10) for i in range(40)]
    found = judged(prepared(tables(*burst)))
    # the first ten: nobody could know yet (told afterwards as the burst's opening);
    # from the eleventh: 10 rung, 10 ended unanswered
    assert {found[f"w{i}"][0] for i in range(10)} == {"wangiri.burst_opening"}
    assert str(found["w0"][1]) == (
        "rang off unanswered from +22245xxxxxx in the 10m before the one-ring burst from there "
        "was found (10 people rung by then): its first calls"
    )
    assert {found[f"w{i}"][0] for i in range(10, 40)} == {"wangiri.one_ring_burst"}
    assert str(found["w10"][1]) == (
        "one-ring burst: 10 of 10 ended calls from +222450000xx in the last 10m rang off "
        "unanswered, 10 people rung"
    )


def test_wangiri_burst_spread_over_a_range_is_found_in_its_bigger_block(
    prepared: Callable[..., Analysis],
) -> None:
    # sixty numbers, each in its own hundred-block of one ten-thousand-block: no hundred-block
    # (nor thousand-block) rings ten people, the ten-thousand-block rings sixty
    burst = [_one_ring(i, f"+222450{(i * 167) % 10000:04d}00"[:-2], 5 * i) for i in range(60)]
    found = judged(prepared(tables(*burst)))
    flagged = [i for i in range(60) if found[f"w{i}"][0] == "wangiri.one_ring_burst"]
    assert flagged and flagged[0] >= 23  # the ten-thousand-block's crowd: 10 x 1.5 x 1.5
    assert flagged == list(range(flagged[0], 60))
    assert "+222450xxxx" in str(found[f"w{flagged[0]}"][1])


def test_a_banks_outbound_line_on_its_own_trunk_is_no_one_ring_burst(
    prepared: Callable[..., Analysis],
) -> None:
    """A bank's registered line rings forty customers in four minutes and none answers: the
    genuine caller through its registered route, not Wangiri; its number elsewhere is spoofed."""
    own, elsewhere = [], []
    for i in range(40):
        minute, sec = divmod(70 * (i // 10) + i % 10, 60)
        t = f"2026-03-03T09:{minute:02d}:{sec:02d}Z"
        callee = f"+7707{1000000 + i:07d}"
        for rows, route, rid in ((own, "voip:bankdala", "b"), (elsewhere, "voip:sip7", "x")):
            rows.append(
                call(
                    f"{rid}{i}", "+77273501000", callee, route, t, duration_s=0, result="no_answer"
                )
            )
    found = judged(prepared(tables(*own)))
    assert {found[f"b{i}"][0] for i in range(40)} == {None}
    found = judged(prepared(tables(*elsewhere)))
    assert {found[f"x{i}"][0] for i in range(40)} == {"spoofed_cli.registry_wrong_route"}
