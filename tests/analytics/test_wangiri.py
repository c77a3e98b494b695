"""A one-ring burst found by ``analyze`` speaks of its range only, never of its carriers or callees."""

from __future__ import annotations

from collections.abc import Callable

from qalqan.analytics.pipeline import Analysis
from tests.analytics.test_call_rules import _one_ring, call, tables


def test_a_burst_does_not_make_its_carrier_nor_its_callees_look_bad(
    prepared: Callable[..., Analysis],
) -> None:
    # forty one-ring calls over wholesale6, then a relative abroad calling one of the people
    # rung, over the same carrier: what is said of the carrier and the callee leaves the burst out
    burst = [_one_ring(i, f"+3712500{i % 10:04d}", 70 * (i // 10) + i % 10) for i in range(40)]
    relative = call("rel", "+380671234567", "+77071000039", "international:wholesale6",
                    "2026-03-03T02:20:00Z")  # fmt: skip
    analysis = prepared(tables(*burst, relative))
    facts = dict(
        zip(
            ("rule", "route_flag_share", "route_hour_flag_share", "callee_flagged_calls"),
            analysis.con.execute(
                "SELECT rule, route_flag_share, route_hour_flag_share, callee_flagged_calls "
                "FROM call_facts WHERE record_id = 'rel'"
            ).fetchall()[0],
            strict=True,
        )
    )
    flagged = analysis.con.execute(
        "SELECT count(*) FROM call_facts WHERE rule = 'wangiri.one_ring_burst'"
    ).fetchall()[0][0]
    assert flagged == 30
    assert facts == {
        "rule": None,
        "route_flag_share": 0.0,
        "route_hour_flag_share": 0.0,
        "callee_flagged_calls": 0,
    }
