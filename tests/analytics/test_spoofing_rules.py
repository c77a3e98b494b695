"""``analyze``'s spoofing rules judge each call from what was known at its time, as the engine does.

Each case here is one way the batch used to see what the engine could not:
contact that came later, a redial counted as contact, a number's radio life
after the call, a roaming registration that reached the data a little late,
a SIM the operator's export did not list.
"""

from __future__ import annotations

from collections.abc import Callable

from qalqan.analytics.pipeline import Analysis
from qalqan.detections.spoofing import SPOOFING_RULES, SpoofingSettings
from qalqan.screening.config import load_config, parse_config
from qalqan.screening.rules.spoofed_cli import (
    DomesticFromAbroad,
    OwnSubscriberAtHome,
    RegistryInboundOnly,
    RegistryWrongRoute,
    Unallocated,
)
from tests.analytics.test_call_rules import call, judged, tables

MUM = "+77071111111"
"""Our subscriber, at home."""
RELATIVE = "+77011234567"
"""Another operator's domestic number."""
ABROAD = "international:carrierA"


def _radio(rid: str, caller: str, callee: str, t: str, **extra: object) -> dict[str, object]:
    return call(rid, caller, callee, "mobile", t, a_cell="C1", **extra)


def test_both_paths_name_the_same_rules_and_ingress() -> None:
    live = (
        RegistryInboundOnly,
        RegistryWrongRoute,
        OwnSubscriberAtHome,
        DomesticFromAbroad,
        Unallocated,
    )
    for rule, signal in zip(SPOOFING_RULES, live, strict=True):
        assert rule.id == signal.id
        assert rule.verdict_on <= signal.applies_to
        assert rule.key in signal.messages


def test_settings_are_read_from_the_rules_file() -> None:
    shipped = SpoofingSettings.from_config(load_config())
    assert shipped == SpoofingSettings(
        history_window_s=30 * 86_400, established_callees=3, roaming_grace_s=3_600
    )
    config = parse_config(
        "version: 1\nroaming:\n  grace: 2h\nrules:\n  spoofed_cli.domestic_from_abroad:\n"
        "    history_window: 7d\n    established_callees: 5\n"
    )
    assert SpoofingSettings.from_config(config) == SpoofingSettings(
        history_window_s=7 * 86_400, established_callees=5, roaming_grace_s=7_200
    )


def test_contact_counts_only_before_the_call(prepared: Callable[..., Analysis]) -> None:
    found = judged(
        prepared(
            tables(
                call("first", RELATIVE, MUM, ABROAD, "2026-03-03T10:00:00Z"),
                # mum calls back the next day: contact from then on, not before
                _radio("back", MUM, RELATIVE, "2026-03-04T10:00:00Z", a_imsi="401770000000001"),
                call("again", RELATIVE, MUM, ABROAD, "2026-03-05T10:00:00Z"),
            )
        )
    )
    assert found["first"][0] == "spoofed_cli.domestic_from_abroad"
    assert found["again"][0] is None


def test_a_redial_is_no_contact(prepared: Callable[..., Analysis]) -> None:
    found = judged(
        prepared(
            tables(
                call("one", RELATIVE, MUM, ABROAD, "2026-03-03T10:00:00Z", result="no_answer"),
                call("two", RELATIVE, MUM, ABROAD, "2026-03-03T10:05:00Z"),
                call("three", RELATIVE, MUM, ABROAD, "2026-03-03T10:10:00Z"),
            )
        )
    )
    # the second call was answered, but it was flagged: what it did is the intercept's
    assert {found[r][0] for r in ("one", "two", "three")} == {"spoofed_cli.domestic_from_abroad"}


def test_a_number_established_on_its_route_is_left_alone(prepared: Callable[..., Analysis]) -> None:
    office = "+77273000000"
    customers = [f"+7707555{i:04d}" for i in range(4)]
    rows = [
        # three customers called the office before: each call from it to them is contact
        call(f"in{i}", c, office, "national:opB", f"2026-03-02T0{i}:00:00Z")
        for i, c in enumerate(customers[:3])
    ]
    rows += [
        call(f"out{i}", office, c, "voip:officetrunk", f"2026-03-03T0{i}:00:00Z")
        for i, c in enumerate(customers[:3])
    ]
    rows += [
        call(
            "new",
            office,
            customers[3],
            "voip:officetrunk",
            "2026-03-03T09:00:00Z",
            result="no_answer",
            duration_s=0,
        ),
        call("elsewhere", office, customers[3], "international:carrierB", "2026-03-03T09:30:00Z"),
    ]
    analysis = prepared(tables(*rows))
    found = judged(analysis)
    assert {found[f"out{i}"][0] for i in range(3)} == {None}
    assert found["new"][0] is None  # three people called over this trunk: established
    assert found["elsewhere"][0] == "spoofed_cli.domestic_from_abroad"
    counted = analysis.con.execute(
        "SELECT record_id, route_callees FROM inbound WHERE record_id IN ('out2', 'new', 'elsewhere')"
    ).fetchall()
    assert sorted(counted) == [("elsewhere", 0), ("new", 3), ("out2", 2)]


def test_radio_life_counts_only_before_the_call(prepared: Callable[..., Analysis]) -> None:
    later, earlier = "+77015550001", "+77015550002"
    found = judged(
        prepared(
            tables(
                _radio(
                    "radio",
                    earlier,
                    "+77012223344",
                    "2026-03-02T10:00:00Z",
                    a_imsi="401779990000002",
                ),
                call("after-radio", earlier, MUM, ABROAD, "2026-03-03T10:00:00Z"),
                call("before-radio", later, MUM, ABROAD, "2026-03-03T10:00:00Z"),
                _radio(
                    "radio2",
                    later,
                    "+77012223344",
                    "2026-03-04T10:00:00Z",
                    a_imsi="401779990000001",
                ),
            )
        )
    )
    # seen on our radio, not listed: probably ours roaming, and its roaming cannot be checked
    assert found["after-radio"][0] is None
    assert found["before-radio"][0] == "spoofed_cli.domestic_from_abroad"


def test_roaming_registered_a_little_late_is_roaming(prepared: Callable[..., Analysis]) -> None:
    # the roamer's period starts 2026-03-01T00:00Z; roaming.grace is one hour
    roamer = "+77072222222"
    found = judged(
        prepared(
            tables(
                call("grace", roamer, MUM, ABROAD, "2026-02-28T23:30:00Z"),
                call("before", roamer, MUM, ABROAD, "2026-02-28T22:30:00Z"),
            )
        )
    )
    assert found["grace"][0] is None
    assert found["before"][0] == "spoofed_cli.own_subscriber_at_home"
    assert "international:carrierA" in str(found["before"][1])


def test_our_subscriber_is_who_the_operator_lists(prepared: Callable[..., Analysis]) -> None:
    unlisted = "+77015550003"
    found = judged(
        prepared(
            tables(
                _radio("radio", unlisted, MUM, "2026-03-02T10:00:00Z", a_imsi="401779990000003"),
                call("abroad", unlisted, "+77073333333", ABROAD, "2026-03-03T10:00:00Z"),
            )
        )
    )
    # its SIM's roaming cannot be checked: not "our subscriber at home"
    assert found["abroad"][0] is None


def test_wrong_route_names_the_registered_routes(prepared: Callable[..., Analysis]) -> None:
    found = judged(prepared(tables(call("x", "+77273501000", MUM, "voip:sip7"))))
    assert found["x"] == (
        "spoofed_cli.registry_wrong_route",
        "presents +77273501000 (Dala Bank, customer calls) over voip:sip7; it calls only over "
        "voip:bankdala",
    )
