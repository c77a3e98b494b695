"""An INVITE carries the whole call attempt: its time, the radio facts of a mobile call, the
attestation the SBC verified; and a hostile value of any of them costs little and moves nothing.

The readers of :mod:`qalqan.sip.radio` read back exactly what their writers write (the
feed of recorded calls relies on it), never raise on what a caller sends, and the INVITE's
``Date`` never moves the engine's clock further than ``client_time_skew_s``.
"""

from __future__ import annotations

import math
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.domain.model import Action, CallAttempt, Decision, IngressClass
from qalqan.sip.message import Request, parse_message
from qalqan.sip.radio import (
    MAX_CELL_CHARS,
    format_access_network,
    format_instance_imei,
    format_sip_date,
    parse_access_cell,
    parse_attestation,
    parse_imsi,
    parse_instance_imei,
    parse_sip_date,
)
from qalqan.sip.redirect import RedirectService, attempt_time, call_attempt
from qalqan.sip.transaction import Peer
from tests.sip.conftest import invite, test_config

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)

moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))
cell_ids = st.text(
    alphabet=string.ascii_letters + string.digits + "-._:/ #", min_size=1, max_size=MAX_CELL_CHARS
).filter(lambda text: text.strip() == text and '"' not in text)


# --- the readers and their writers --------------------------------------------------------


@given(moments)
def test_a_date_written_is_read_back_to_the_second(moment: datetime) -> None:
    assert parse_sip_date(format_sip_date(moment)) == moment


@given(st.text(max_size=80))
def test_any_date_text_is_read_or_refused_never_raises(text: str) -> None:
    moment = parse_sip_date(text)
    assert moment is None or format_sip_date(moment) == text.strip()


@given(cell_ids)
def test_a_cell_written_is_read_back(cell: str) -> None:
    assert parse_access_cell([format_access_network(cell)]) == cell


@given(st.lists(st.text(max_size=200), max_size=6))
def test_any_access_network_info_is_read_or_refused_never_raises(values: list[str]) -> None:
    cell = parse_access_cell(values)
    assert cell is None or (0 < len(cell) <= MAX_CELL_CHARS and cell.isprintable())


def test_the_network_provided_cell_wins_over_the_handsets_own() -> None:
    values = [
        "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=FORGED-1",
        "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=C00048-2; network-provided",
    ]
    assert parse_access_cell(values) == "C00048-2"
    assert parse_access_cell(["IEEE-802.11; i-wlan-node-id=ffffffffffff"]) is None


@given(st.text(alphabet=string.digits, min_size=15, max_size=15))
def test_an_imei_written_is_read_back_as_the_cdrs_keep_it(imei: str) -> None:
    instance = format_instance_imei(imei)
    assert instance is not None
    assert parse_instance_imei([f"<sip:+77010000001@192.0.2.1>;+sip.instance={instance}"]) == imei


def test_the_imei_urn_is_rfc_7254s_8_6_1_digits() -> None:
    contact = '<sip:u@192.0.2.1>;expires=60;+sip.instance="<urn:gsma:imei:35209900-176148-0>"'
    assert parse_instance_imei([contact]) == "352099001761480"
    assert (
        parse_instance_imei(['<sip:u@h>;+sip.instance="<urn:gsma:imei:3520990-176148-0>"']) is None
    )
    assert parse_instance_imei(['<sip:u@h>;+sip.instance="<urn:uuid:f81d4fae-7dec>"']) is None
    assert format_instance_imei("35209900176148") is None  # 14 digits: no IMEI URN


@given(st.lists(st.text(max_size=300), max_size=6))
def test_any_contact_is_read_or_refused_never_raises(values: list[str]) -> None:
    imei = parse_instance_imei(values)
    assert imei is None or (len(imei) == 15 and imei.isdigit())


@given(st.text(max_size=80))
def test_an_imsi_is_six_to_fifteen_digits(text: str) -> None:
    imsi = parse_imsi(text)
    assert imsi is None or (6 <= len(imsi) <= 15 and imsi.isdigit() and imsi in text)


@given(st.one_of(st.none(), st.text(max_size=12)), st.lists(st.text(max_size=200), max_size=4))
def test_an_attestation_is_a_b_c_or_none(indicator: str | None, identities: list[str]) -> None:
    assert parse_attestation(indicator, identities) in (None, "A", "B", "C")


def test_attestation_from_the_indicator_then_a_verstat_naming_the_level() -> None:
    pai = "<tel:+77011234567;verstat=TN-Validation-Passed-C>"
    assert parse_attestation("B", [pai]) == "B"
    assert parse_attestation(None, [pai]) == "C"
    assert parse_attestation(None, ["<tel:+77011234567;verstat=TN-Validation-Passed>"]) is None
    assert parse_attestation(None, ["<tel:+77011234567;verstat=TN-Validation-Failed>"]) is None
    assert parse_attestation("D", []) is None


# --- the INVITE → the call attempt --------------------------------------------------------


def _request(extra: str = "", *, contact: str = "") -> Request:
    lines = extra + (f"Contact: {contact}\r\n" if contact else "")
    message = parse_message(invite(extra=lines))
    assert isinstance(message, Request)
    return message


def test_the_date_is_believed_only_within_the_skew() -> None:
    said = NOW - timedelta(seconds=30)
    request = _request(f"Date: {format_sip_date(said)}\r\n")
    assert attempt_time(request, node_time=NOW, skew_s=0) == NOW  # the default: never
    assert attempt_time(request, node_time=NOW, skew_s=60) == said
    assert attempt_time(request, node_time=NOW, skew_s=10) == NOW
    assert attempt_time(request, node_time=NOW, skew_s=math.inf) == said


@given(moments, st.floats(min_value=0, max_value=1e6))
def test_a_hostile_date_never_moves_the_clock_beyond_the_skew(said: datetime, skew: float) -> None:
    request = _request(f"Date: {format_sip_date(said)}\r\n")
    believed = attempt_time(request, node_time=NOW, skew_s=skew)
    assert abs((believed - NOW).total_seconds()) <= skew


def test_a_mobile_call_brings_its_cell_handset_and_sim() -> None:
    config = test_config(trunk_groups={"radio": "mobile"}, imsi_header="P-Qalqan-IMSI")
    request = _request(
        "P-Access-Network-Info: 3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=C00048-2\r\n"
        "P-Qalqan-IMSI: 401778578252557\r\n"
        f"Date: {format_sip_date(NOW - timedelta(seconds=5))}\r\n",
        contact="<sip:+77019990001;tgrp=radio;trunk-context=ims.test@192.0.2.10>"
        ';+sip.instance="<urn:gsma:imei:35875908-388352-9>"',
    )
    attempt = call_attempt(request, source_host="192.0.2.10", config=config, at=NOW)
    assert attempt is not None
    assert attempt.ingress.kind is IngressClass.MOBILE
    assert (attempt.imsi, attempt.imei, attempt.cell) == (
        "401778578252557",
        "358759083883529",
        "C00048-2",
    )
    assert attempt.time == NOW  # client_time_skew_s 0: the node's own clock
    believing = test_config(trunk_groups={"radio": "mobile"}, client_time_skew_s=math.inf)
    later = call_attempt(request, source_host="192.0.2.10", config=believing, at=NOW)
    assert later is not None and later.time == NOW - timedelta(seconds=5)


def test_radio_facts_from_another_network_are_not_believed() -> None:
    config = test_config(trunk_groups={"intl": "international:carrierA"})
    request = _request(
        "P-Access-Network-Info: 3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=C00048-2\r\n"
        "P-Qalqan-IMSI: 401778578252557\r\n"
        "P-Attestation-Indicator: C\r\n",
        contact="<sip:x;tgrp=intl;trunk-context=ixc.test@192.0.2.10>"
        ';+sip.instance="<urn:gsma:imei:35875908-388352-9>"',
    )
    attempt = call_attempt(request, source_host="192.0.2.10", config=config, at=NOW)
    assert attempt is not None
    assert (attempt.imsi, attempt.imei, attempt.cell) == (None, None, None)
    assert attempt.attest == "C"


def test_the_service_says_when_it_did_not_believe_the_date() -> None:
    seen: list[CallAttempt] = []

    def decide(attempt: CallAttempt) -> Decision:
        seen.append(attempt)
        return Decision(action=Action.ALLOW, score=0.0)

    service = RedirectService(
        config=test_config(client_time_skew_s=60.0),
        decide=decide,
        clock=lambda: 0.0,
        wall_clock=lambda: NOW,
    )
    peer = Peer("udp", "192.0.2.10", 5060)
    far = format_sip_date(NOW + timedelta(days=365))
    [send] = service.handle_datagram(
        invite(extra=f"Date: {far}\r\n"), peer=peer, now=0.0, arrived=0.0
    )
    assert seen[0].time == NOW
    assert b"the INVITE's Date " + far.encode() in send.data
    [near] = service.handle_datagram(
        invite(extra=f"Date: {format_sip_date(NOW)}\r\n", call_id="c2", branch="z9hG4bK-2"),
        peer=peer,
        now=0.0,
        arrived=0.0,
    )
    assert b"Date " not in near.data.split(b"X-Qalqan-Reasons:")[1].split(b"\r\n")[0]


@pytest.mark.parametrize("skew", [0.0, 60.0])
def test_an_unreadable_date_is_dated_by_the_node(skew: float) -> None:
    request = _request("Date: yesterday, about noon\r\n")
    assert attempt_time(request, node_time=NOW, skew_s=skew) == NOW
