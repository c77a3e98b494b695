"""INVITE → CallAttempt, Decision → SIP answer, and the whole redirect service in-process."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from qalqan.domain.model import Action, CallAttempt, Decision, Ingress, IngressClass, Reason
from qalqan.errors import ConfigError
from qalqan.sip.config import SipConfig
from qalqan.sip.message import Request, Response, SipParseError, parse_message
from qalqan.sip.redirect import (
    Decide,
    IngressMap,
    RedirectService,
    call_attempt,
    caller_number,
    decision_response,
    dialled_number,
    header_safe,
    malformed_response,
)
from qalqan.sip.transaction import Peer
from tests.sip.conftest import ack_for, invite, table_decide, test_config

SBC = Peer("udp", "192.0.2.10", 5060)
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def request(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def response(data: bytes) -> Response:
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


def attempt_of(data: bytes, *, source: str = "192.0.2.10", **config: object) -> CallAttempt:
    found = call_attempt(request(data), source_host=source, config=test_config(**config), at=NOON)
    assert found is not None
    return found


# --- who calls whom -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "number"),
    [
        ("tel:+77015550001", "+77015550001"),
        ("tel:+7-701-555-00-01;tgrp=TG1", "+77015550001"),
        ("tel:87015550001;phone-context=+7", "+77015550001"),
        ("sip:+77015550001@sbc.example;user=phone", "+77015550001"),
        ("sip:+77015550001;npdi;rn=+77019999999@sbc.example;user=phone", "+77015550001"),
        ("sip:87015550001@sbc.example", "+77015550001"),
        ("sip:%2B77015550001@sbc.example", "+77015550001"),
        ("sip:+7(701)555-00-01@sbc.example;user=phone", "+77015550001"),
        ("sip:0077015550001@sbc.example", "+77015550001"),
        ("sip:alice@sbc.example", None),
        ("sip:alice@sbc.example;user=phone", None),
        ("sip:sbc.example", None),
        ("urn:service:sos", None),
    ],
)
def test_the_dialled_number_comes_from_the_request_uri(uri: str, number: str | None) -> None:
    assert dialled_number(request(invite(uri=uri)), region="KZ") == number


def test_p_asserted_identity_wins_over_from() -> None:
    data = invite(
        from_="<sip:+77010000009@spoofer.example;user=phone>;tag=1",
        extra="P-Asserted-Identity: <sip:+77012223344@op.example;user=phone>\r\n",
    )
    assert caller_number(request(data), region="KZ") == "+77012223344"


def test_the_first_asserted_identity_naming_a_number_is_taken() -> None:
    data = invite(extra='P-Asserted-Identity: "Op" <sip:gw@op.example>, <tel:+77012223344>\r\n')
    assert caller_number(request(data), region="KZ") == "+77012223344"


def test_from_is_used_without_an_asserted_identity() -> None:
    assert caller_number(request(invite()), region="KZ") == "+77019990001"


def test_an_anonymous_caller_has_no_number() -> None:
    data = invite(
        from_='"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1', extra="Privacy: id\r\n"
    )
    assert caller_number(request(data), region="KZ") is None


def test_a_broken_asserted_identity_falls_back_to_from() -> None:
    data = invite(extra="P-Asserted-Identity: <not a uri\r\n")
    assert caller_number(request(data), region="KZ") == "+77019990001"


def test_the_call_attempt_carries_identity_time_and_call_id() -> None:
    passport = "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiJ9.eyJhdHRlc3QiOiJBIn0.c2ln;info=<https://cert.example/x.pem>;alg=ES256;ppt=shaken"
    attempt = attempt_of(invite(extra=f"Identity: {passport}\r\n"))
    assert attempt.identity == passport
    assert attempt.time == NOON
    assert attempt.record_id == "call-1@sbc.example"
    assert attempt.callee == "+77015550001"
    assert attempt.caller == "+77019990001"
    assert attempt_of(invite()).identity is None


def test_a_call_to_no_number_gives_no_attempt() -> None:
    assert (
        call_attempt(
            request(invite(uri="sip:alice@sbc.example")), source_host="x", config=test_config()
        )
        is None
    )


# --- where the call came in -----------------------------------------------------------------


def test_ingress_from_the_source_address_map() -> None:
    sources = {"203.0.113.7": "international:carrierA", "198.51.100.0/24": "national:beeline"}
    assert attempt_of(invite(), source="203.0.113.7", source_ingress=sources).ingress == Ingress(
        kind=IngressClass.INTERNATIONAL, route="carrierA"
    )
    assert (
        str(attempt_of(invite(), source="198.51.100.44", source_ingress=sources).ingress)
        == "national:beeline"
    )
    assert (
        str(attempt_of(invite(), source="192.0.2.99", source_ingress=sources).ingress) == "national"
    )
    assert str(attempt_of(invite(), source="192.0.2.99", default_ingress="voip").ingress) == "voip"


def test_the_most_specific_network_wins() -> None:
    sources = {"10.0.0.0/8": "national", "10.1.0.0/16": "international:gw1"}
    assert (
        str(attempt_of(invite(), source="10.1.2.3", source_ingress=sources).ingress)
        == "international:gw1"
    )
    assert (
        str(attempt_of(invite(), source="10.2.2.3", source_ingress=sources).ingress) == "national"
    )


def test_ingress_from_an_rfc_4904_trunk_group_in_the_contact() -> None:
    contact = (
        "Contact: <sip:+77019990001;tgrp=TG-7;trunk-context=ixc.example@192.0.2.10;user=phone>\r\n"
    )
    groups = {"TG-7@ixc.example": "international:carrierB", "TG-7": "national:wrong"}
    attempt = attempt_of(invite(extra=contact), trunk_groups=groups)
    assert str(attempt.ingress) == "international:carrierB"


def test_ingress_from_a_trunk_group_in_a_tel_request_uri() -> None:
    data = invite(uri="tel:+77015550001;tgrp=TG-9;trunk-context=+7")
    assert str(attempt_of(data, trunk_groups={"TG-9": "voip:sipnet"}).ingress) == "voip:sipnet"


def test_a_trunk_group_beats_the_source_address() -> None:
    data = invite(uri="tel:+77015550001;tgrp=TG-9")
    attempt = attempt_of(
        data,
        source="203.0.113.7",
        trunk_groups={"TG-9": "voip:sipnet"},
        source_ingress={"203.0.113.7": "international:carrierA"},
    )
    assert str(attempt.ingress) == "voip:sipnet"


def test_an_unmapped_trunk_group_still_names_the_route() -> None:
    data = invite(uri="tel:+77015550001;tgrp=TG-X")
    attempt = attempt_of(
        data, source="203.0.113.7", source_ingress={"203.0.113.7": "international:carrierA"}
    )
    assert str(attempt.ingress) == "international:TG-X"
    assert str(attempt_of(data).ingress) == "national:TG-X"


def test_ingress_map_lookups_skip_non_addresses() -> None:
    ingress = IngressMap.from_config(test_config(source_ingress={"10.0.0.0/8": "national"}))
    assert ingress.by_source("not-an-ip") is None


# --- decisions to answers -------------------------------------------------------------------

DECISION_REASONS = (
    Reason(
        rule="spoofed_cli.domestic_from_abroad",
        weight=0.6,
        detail="a +7 701 caller ID on an international trunk",
    ),
    Reason(rule="campaign.bank_security", weight=0.3, detail="fingerprint of campaign 17"),
)


def answer(action: Action, **config: object) -> Response:
    data = invite(uri="sip:+77015550001@sbc.example;user=phone")
    decision = Decision(action=action, score=0.873, reasons=DECISION_REASONS, latency_us=412.4)
    out = decision_response(
        request(data), decision, config=test_config(**config), to_tag="tag1", callee="+77015550001"
    )
    return response(out.to_bytes())


def test_allow_redirects_to_the_dialled_number() -> None:
    allowed = answer(Action.ALLOW)
    assert (allowed.status, allowed.reason) == (302, "Moved Temporarily")
    assert allowed.headers.get("Contact") == "<tel:+77015550001>"
    assert allowed.headers.get("X-Qalqan-Action") == "allow"
    assert allowed.headers.get("X-Qalqan-Score") == "0.873"
    assert allowed.headers.get("X-Qalqan-Latency-Us") == "412"
    assert allowed.headers.get("X-Qalqan-Reasons") == (
        "spoofed_cli.domestic_from_abroad: a +7 701 caller ID on an international trunk"
        " | campaign.bank_security: fingerprint of campaign 17"
    )
    assert allowed.headers.get("To") == "<sip:+77015550001@sbc.example;user=phone>;tag=tag1"


def test_the_allow_contact_is_the_operators_template() -> None:
    sip = answer(Action.ALLOW, allow_contact="sip:{number}@core.operator.example;user=phone")
    assert sip.headers.get("Contact") == "<sip:+77015550001@core.operator.example;user=phone>"
    same_host = answer(Action.ALLOW, allow_contact="sip:{user}@{host};user=phone")
    assert same_host.headers.get("Contact") == "<sip:+77015550001@sbc.example;user=phone>"


def test_warn_redirects_to_the_announcement_with_the_dialled_number() -> None:
    warned = answer(Action.WARN, warning_uri="sip:warning@ivr.example:5080;transport=udp")
    assert warned.status == 302
    assert (
        warned.headers.get("Contact")
        == "<sip:warning@ivr.example:5080;transport=udp;target=+77015550001>"
    )
    assert warned.headers.get("X-Qalqan-Action") == "warn"


def test_divert_redirects_to_the_anti_call_center() -> None:
    diverted = answer(Action.DIVERT, divert_uri="sip:operators@acc.example", target_param="dialled")
    assert diverted.headers.get("Contact") == "<sip:operators@acc.example;dialled=+77015550001>"
    assert diverted.headers.get("X-Qalqan-Action") == "divert"


def test_block_declines_603_or_608() -> None:
    blocked = answer(Action.BLOCK)
    assert (blocked.status, blocked.reason) == (603, "Decline")
    assert blocked.headers.get("Contact") is None
    assert blocked.headers.get("X-Qalqan-Action") == "block"
    rejected = answer(Action.BLOCK, block_status=608)
    assert (rejected.status, rejected.reason) == (608, "Rejected")


def test_reasons_are_made_header_safe_and_bounded() -> None:
    evil = Reason(
        rule="x", weight=1.0, detail="line one\r\nVia: SIP/2.0/UDP injected\x00\t" + "я" * 900
    )
    decision = Decision(action=Action.BLOCK, score=1.0, reasons=(evil,))
    out = decision_response(
        request(invite()), decision, config=test_config(reasons_max_chars=100), to_tag="t"
    )
    wire = out.to_bytes()
    assert wire.count(b"\r\nVia:") == 1  # the text survives, but not as a header line
    reasons = response(wire).headers.get("X-Qalqan-Reasons") or ""
    assert len(reasons) == 100
    assert reasons.endswith("…")
    assert "\r" not in reasons and "\n" not in reasons
    assert header_safe("a\x7fb", limit=10) == "a b"


# --- malformed requests ---------------------------------------------------------------------


def parse_error(data: bytes) -> SipParseError:
    with pytest.raises(SipParseError) as caught:
        parse_message(data)
    return caught.value


def test_a_malformed_but_routable_request_gets_400_with_a_warning() -> None:
    error = parse_error(invite().replace(b"CSeq: 1 INVITE", b"CSeq: 1 OPTIONS"))
    bad = malformed_response(error, server_name="Qalqan")
    assert bad is not None
    assert bad.status == 400
    assert bad.reason.startswith("Bad Request (CSeq method OPTIONS")
    assert bad.headers.get(
        "Warning",
    ).startswith('399 qalqan "CSeq method')  # type: ignore[union-attr]
    assert bad.headers.get("Call-ID") == "call-1@sbc.example"
    assert bad.headers.get("To") == "<sip:+77015550001@sbc.example;user=phone>;tag=malformed"
    assert parse_message(bad.to_bytes()).status == 400  # type: ignore[union-attr]


def test_a_wrong_version_gets_505() -> None:
    bad = malformed_response(parse_error(invite().replace(b" SIP/2.0\r\n", b" SIP/3.0\r\n", 1)))
    assert bad is not None
    assert bad.status == 505


@pytest.mark.parametrize(
    "data",
    [
        b"garbage",
        invite().replace(b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\n", b""),
        invite().replace(b"Call-ID: call-1@sbc.example\r\n", b""),
        invite(method="ACK").replace(b"CSeq: 1 ACK", b"CSeq: x ACK"),
        b"SIP/2.0 200 OK\r\nContent-Length: 5\r\n\r\n",
        invite()
        .replace(b"Via: SIP/2.0/UDP 192.0.2.10:5060", b"Via: SIP/9/UDP 192.0.2.10:5060")
        .replace(b"CSeq: 1", b"CSeq: x"),
    ],
)
def test_unanswerable_messages_get_no_answer(data: bytes) -> None:
    assert malformed_response(parse_error(data)) is None


# --- the service, in-process ----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def service(
    decide: Decide = table_decide, *, clock: FakeClock | None = None, **config: object
) -> RedirectService:
    return RedirectService(
        config=test_config(**config),
        decide=decide,
        clock=clock or FakeClock(),
        wall_clock=lambda: NOON,
        tag_secret=b"s" * 16,
    )


def one_answer(node: RedirectService, data: bytes, **options: object) -> Response:
    sends = node.handle_datagram(data, peer=SBC, now=100.0, **options)  # type: ignore[arg-type]
    assert len(sends) == 1
    assert sends[0].peer == SBC
    return response(sends[0].data)


@pytest.mark.parametrize(
    ("number", "status", "action"),
    [
        ("+77015550001", 302, "allow"),
        ("+77015550002", 302, "warn"),
        ("+77015550003", 302, "divert"),
        ("+77015550004", 603, "block"),
    ],
)
def test_each_verdict_end_to_end(number: str, status: int, action: str) -> None:
    node = service()
    answer = one_answer(node, invite(uri=f"sip:{number}@sbc.example;user=phone"))
    assert answer.status == status
    assert answer.headers.get("X-Qalqan-Action") == action
    assert node.metrics.decisions_by_action[action] == 1
    assert node.metrics.requests_by_method["INVITE"] == 1
    assert node.metrics.responses_by_status[status] == 1
    assert answer.headers.get("Server") == "Qalqan"


def test_screening_runs_once_per_call_however_often_the_invite_comes() -> None:
    calls: list[CallAttempt] = []

    def counting(attempt: CallAttempt) -> Decision:
        calls.append(attempt)
        return table_decide(attempt)

    node = service(counting)
    data = invite()
    first = node.handle_datagram(data, peer=SBC, now=100.0)
    again = node.handle_datagram(data, peer=SBC, now=100.5)
    assert [s.data for s in again] == [s.data for s in first]
    assert len(calls) == 1
    assert node.handle_datagram(ack_for(data, first[0].data), peer=SBC, now=100.6) == []
    assert node.metrics.transactions.acks_absorbed == 1


def test_a_failing_engine_fails_open_to_the_default_action() -> None:
    def broken(attempt: CallAttempt) -> Decision:
        raise RuntimeError("state store unreachable")

    allowed = one_answer(service(broken), invite())
    assert allowed.status == 302
    assert allowed.headers.get("X-Qalqan-Action") == "allow"
    assert "sip.fail_open.error" in (allowed.headers.get("X-Qalqan-Reasons") or "")
    assert "RuntimeError" in (allowed.headers.get("X-Qalqan-Reasons") or "")
    node = service(broken, default_action=Action.WARN)
    warned = one_answer(node, invite())
    assert warned.headers.get("X-Qalqan-Action") == "warn"
    assert node.metrics.fail_open_by_cause["error"] == 1


def test_an_engine_failing_on_every_call_is_logged_now_and_then_not_per_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(attempt: CallAttempt) -> Decision:
        raise RuntimeError("state store unreachable")

    node = service(broken)
    caplog.set_level(logging.DEBUG, logger="qalqan.sip")
    for i in range(200):
        data = invite(call_id=f"flood-{i}", branch=f"z9hG4bK-flood-{i}")
        assert len(node.handle_datagram(data, peer=SBC, now=100.0 + i / 1000)) == 1
    assert node.metrics.fail_open_by_cause["error"] == 200
    assert 1 <= len(caplog.records) <= 2


def test_an_engine_returning_nonsense_fails_open() -> None:
    nonsense: Any = lambda attempt: "block"  # noqa: E731
    node = service(nonsense)
    assert one_answer(node, invite()).headers.get("X-Qalqan-Action") == "allow"


def test_a_slow_engine_misses_its_deadline_and_the_default_is_answered() -> None:
    clock = FakeClock()

    def slow(attempt: CallAttempt) -> Decision:
        clock.now += 0.080  # 80 ms
        return Decision(action=Action.BLOCK, score=1.0)

    node = service(slow, clock=clock, deadline_ms=50)
    answer = one_answer(node, invite(uri="sip:+77015550004@sbc.example"))
    assert answer.status == 302
    assert answer.headers.get("X-Qalqan-Action") == "allow"
    assert "80 ms, past the 50 ms deadline" in (answer.headers.get("X-Qalqan-Reasons") or "")
    assert node.metrics.fail_open_by_cause["deadline"] == 1


def test_a_request_that_waited_past_the_deadline_is_not_screened() -> None:
    called: list[CallAttempt] = []
    node = service(lambda a: called.append(a) or table_decide(a), deadline_ms=50)  # type: ignore[func-returns-value]
    answer = one_answer(node, invite(), arrived=99.9)  # the clock says 100.0: 100 ms in the queue
    assert answer.headers.get("X-Qalqan-Action") == "allow"
    assert "sip.fail_open.expired" in (answer.headers.get("X-Qalqan-Reasons") or "")
    assert called == []


def test_shed_requests_get_the_default_action_or_503() -> None:
    node = service()
    shed = one_answer(node, invite(uri="sip:+77015550004@sbc.example"), shed=True)
    assert (shed.status, shed.headers.get("X-Qalqan-Action")) == (302, "allow")
    assert "sip.fail_open.overload" in (shed.headers.get("X-Qalqan-Reasons") or "")
    assert node.metrics.shed == 1
    busy = one_answer(service(overload_status=503), invite(), shed=True)
    assert busy.status == 503
    assert busy.headers.get("Retry-After") == "1"


INTERNATIONAL_SBC = Peer("udp", "203.0.113.7", 5060)


def test_operators_choose_per_route_what_failing_open_answers() -> None:
    routes = {
        "source_ingress": {"203.0.113.7": "international:carrierA"},
        "fail_open_by_ingress": {"international": "divert", "voip": "divert"},
    }

    def from_abroad(node: RedirectService, data: bytes, **options: object) -> Response:
        sends = node.handle_datagram(data, peer=INTERNATIONAL_SBC, now=100.0, **options)  # type: ignore[arg-type]
        assert len(sends) == 1
        return response(sends[0].data)

    node = service(**routes)
    probe = invite(uri="sip:+77015550001@sbc.example", call_id="probe-1")
    shed = from_abroad(node, probe, shed=True)
    assert (shed.status, shed.headers.get("X-Qalqan-Action")) == (302, "divert")
    assert "sip.fail_open.overload" in (shed.headers.get("X-Qalqan-Reasons") or "")
    assert "operators@anti-fraud.test" in (shed.headers.get("Contact") or "")
    # A national call still fails open to the default action.
    local = one_answer(node, invite(call_id="local-1", branch="z9hG4bK-local"), shed=True)
    assert local.headers.get("X-Qalqan-Action") == "allow"

    def broken(attempt: CallAttempt) -> Decision:
        raise RuntimeError("state store unreachable")

    failed = from_abroad(service(broken, **routes), probe)
    assert failed.headers.get("X-Qalqan-Action") == "divert"
    # With 503 for overload, a route given its own answer gets that answer instead.
    busy = service(overload_status=503, **routes)
    assert from_abroad(busy, probe, shed=True).headers.get("X-Qalqan-Action") == "divert"
    assert (
        one_answer(busy, invite(call_id="local-2", branch="z9hG4bK-local"), shed=True).status == 503
    )
    assert busy.metrics.fail_open_by_cause["overload"] == 2


def test_a_call_to_no_number_passes_unscreened_to_the_request_uri() -> None:
    answer = one_answer(service(), invite(uri="sip:alice@sbc.example"))
    assert answer.status == 302
    assert answer.headers.get("Contact") == "<sip:alice@sbc.example>"
    assert "sip.unscreened" in (answer.headers.get("X-Qalqan-Reasons") or "")


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (invite(to="<sip:+77015550001@sbc.example>;tag=dialog"), 481),
        (invite(uri="urn:service:sos"), 416),
        (invite(extra="Require: 100rel, precondition\r\n"), 420),
        (invite().replace(b"CSeq: 1 INVITE", b"CSeq: -1 INVITE"), 400),
        (invite(method="BYE"), 481),
        (invite(method="PUBLISH"), 405),
        (invite(method="OPTIONS"), 200),
    ],
)
def test_requests_the_node_does_not_screen(data: bytes, status: int) -> None:
    assert one_answer(service(), data).status == status


def test_garbage_is_dropped_and_counted() -> None:
    node = service()
    assert node.handle_datagram(b"\x16\x03\x01\x02\x00", peer=SBC, now=0) == []
    assert node.metrics.parse_errors == 1
    assert node.metrics.malformed_dropped == 1


def test_responses_are_ignored() -> None:
    node = service()
    assert (
        node.handle_datagram(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", peer=SBC, now=0) == []
    )
    assert node.metrics.responses_ignored == 1


def test_the_top_via_records_where_the_request_came_from() -> None:
    node = service()
    behind_nat = invite(via_host="10.0.0.5:5060;rport")
    answer = one_answer(node, behind_nat.replace(b";rport;branch", b";rport;branch"))
    top = answer.headers.get_all("Via")[0]
    assert "received=192.0.2.10" in top
    assert "rport=5060" in top
    same_host = one_answer(node, invite(branch="z9hG4bK-2", call_id="c2"))
    assert same_host.headers.get_all("Via")[0] == "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-2"


def test_latency_is_measured() -> None:
    node = service()
    node.handle_datagram(invite(), peer=SBC, now=100.0, arrived=99.999)
    assert node.metrics.response_latency.total == 1
    assert node.metrics.screening_latency.total == 1
    snapshot = node.metrics.snapshot()
    assert snapshot["decisions_by_action"] == {"allow": 1}


def test_timers_run_through_the_service() -> None:
    node = service()
    [send] = node.handle_datagram(invite(), peer=SBC, now=100.0)
    assert node.next_deadline() == pytest.approx(100.5)
    assert [s.data for s in node.tick(100.5)] == [send.data]


# --- settings -------------------------------------------------------------------------------


def test_settings_list_every_mistake_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        SipConfig(
            udp_port=70000,
            block_status=486,
            allow_contact="tel:{numbr}",
            warning_uri="not a uri",
            source_ingress={"300.1.1.1": "intl"},
            region="kz",
            deadline_ms=0,
            fail_open_by_ingress={"intl": "divert", "voip": "redirect"},
            tcp_max_connections=0,
            tcp_header_timeout_s=0,
        )
    message = str(caught.value)
    for fragment in (
        "udp_port",
        "block_status",
        "allow_contact",
        "warning_uri",
        "300.1.1.1",
        "'intl'",
        "region",
        "deadline_ms",
        "fail_open_by_ingress: 'intl'",
        "'redirect' is not one of",
        "tcp_max_connections",
        "tcp_header_timeout_s",
    ):
        assert fragment in message


def test_settings_from_a_mapping() -> None:
    config = SipConfig.from_mapping(
        {
            "udp_port": 5070,
            "tcp_port": None,
            "default_action": "warn",
            "timers": {"t1": 0.25},
            "source_ingress": {"203.0.113.7": "international:carrierA"},
        }
    )
    assert config.default_action is Action.WARN
    assert config.timers.t1 == 0.25
    assert config.source_ingress["203.0.113.7"] == "international:carrierA"
    with pytest.raises(ConfigError, match="unknown setting"):
        SipConfig.from_mapping({"udp_prot": 1})
    with pytest.raises(ConfigError, match="default_action"):
        SipConfig.from_mapping({"default_action": "drop"})
    with pytest.raises(ConfigError, match="unknown timer"):
        SipConfig.from_mapping({"timers": {"t3": 1}})


def test_region_auto_reads_national_forms_by_the_engines_country() -> None:
    """``region: auto`` (the default): an Azerbaijani operator's ``0501234567`` is +994.

    With no country known, a national-format Request-URI is answered unscreened rather
    than read as a number of some other country.
    """
    from qalqan.screening.config import parse_config
    from qalqan.screening.engine import ScreeningEngine

    seen: list[CallAttempt] = []

    class Seeing(ScreeningEngine):
        def screen(self, attempt: CallAttempt) -> Decision:
            seen.append(attempt)
            return super().screen(attempt)

    national = invite(uri="sip:0501234567@sbc.example", from_="<sip:0551234567@sbc.example>;tag=1")
    azerbaijani = Seeing(parse_config("network:\n  home_region: AZ\n"))
    assert SipConfig().region == "auto"
    assert one_answer(service(azerbaijani.screen), national).status == 302
    assert (seen[-1].callee, seen[-1].caller) == ("+994501234567", "+994551234567")

    unknown = Seeing(parse_config("network:\n  home_region: auto\n"))
    before = len(seen)
    answer = one_answer(service(unknown.screen), national)
    assert answer.status == 302
    assert len(seen) == before  # nothing was screened as some other country's number
    kazakh = service(unknown.screen, region="KZ")
    one_answer(kazakh, invite(uri="sip:87015550001@sbc.example"))
    assert seen[-1].callee == "+77015550001"


def test_a_node_given_brings_its_own_deadline_and_fail_open_policy() -> None:
    from qalqan.screening.node import NodeSettings, ScreeningNode

    clock = FakeClock()

    def slow(attempt: CallAttempt) -> Decision:
        clock.now += 0.030  # 30 ms: within the SIP settings' 50 ms, past the node's 20 ms
        return table_decide(attempt)

    settings = NodeSettings(deadline_ms=20, fail_open_by_ingress={"international": Action.BLOCK})
    node = ScreeningNode(slow, settings=settings, clock=clock)
    config = test_config(
        source_ingress={"203.0.113.7": "international:carrierA"}, overload_status=503
    )
    face = RedirectService(
        config=config, decide=node, clock=clock, wall_clock=lambda: NOON, tag_secret=b"s" * 16
    )
    late = response(face.handle_datagram(invite(), peer=INTERNATIONAL_SBC, now=clock.now)[0].data)
    assert (late.status, late.headers.get("X-Qalqan-Action")) == (603, "block")
    assert "sip.fail_open.deadline" in (late.headers.get("X-Qalqan-Reasons") or "")
    # over capacity, the node's per-route answer is given rather than 503
    probe = invite(call_id="probe-2", branch="z9hG4bK-probe2")
    shed = face.handle_datagram(probe, peer=INTERNATIONAL_SBC, now=clock.now, shed=True)
    assert response(shed[0].data).status == 603
    assert face.metrics.decisions_by_action == {"block": 2}
    assert node.metrics.fail_open.values == {("deadline",): 1, ("overload",): 1}
