"""The SIP parser and serializer on hand-written torture cases in the spirit of RFC 4475."""

from __future__ import annotations

import time

import pytest

from qalqan.sip.message import (
    Address,
    Headers,
    Request,
    Response,
    SipParseError,
    StreamParser,
    Uri,
    build_response,
    canonical_name,
    parse_address,
    parse_message,
    parse_uri,
    parse_via,
    split_header_values,
)
from tests.sip.conftest import invite


def parse_request(data: bytes, **options: bool) -> Request:
    message = parse_message(data, **options)
    assert isinstance(message, Request)
    return message


# --- well-formed but unusual ----------------------------------------------------------------


def test_a_plain_invite_reads_into_typed_parts() -> None:
    request = parse_request(invite(body=b"v=0\r\n"))
    assert request.method == "INVITE"
    assert request.uri == Uri(
        scheme="sip", user="+77015550001", host="sbc.example", params=(("user", "phone"),)
    )
    assert request.via[0].transport == "UDP"
    assert request.via[0].host == "192.0.2.10"
    assert request.via[0].port == 5060
    assert request.via[0].branch == "z9hG4bK-1"
    assert request.from_.tag == "caller1"
    assert request.to.tag is None
    assert request.call_id == "call-1@sbc.example"
    assert (request.cseq.number, request.cseq.method) == (1, "INVITE")
    assert request.body == b"v=0\r\n"


def test_compact_header_names_mean_their_long_forms() -> None:
    data = (
        b"INVITE sip:+77015550001@sbc.example SIP/2.0\r\n"
        b"v: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKc\r\n"
        b"f: <sip:a@x>;tag=1\r\n"
        b"t: <sip:b@y>\r\n"
        b"i: compact@x\r\n"
        b"CSeq: 7 INVITE\r\n"
        b"m: <sip:a@192.0.2.10>\r\n"
        b"k: timer\r\n"
        b"s: hello\r\n"
        b"c: application/sdp\r\n"
        b"e: gzip\r\n"
        b"y: eyJhbGciOiJFUzI1NiJ9.e30.c2ln;info=<https://cert.example/c.pem>\r\n"
        b"l: 0\r\n\r\n"
    )
    request = parse_request(data)
    names = [name for name, _ in request.headers]
    assert names == [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Supported",
        "Subject",
        "Content-Type",
        "Content-Encoding",
        "Identity",
        "Content-Length",
    ]
    assert request.call_id == "compact@x"
    assert (
        request.headers.get(
            "identity",
        )
        is not None
    )
    assert request.headers.get("I") == "compact@x"


def test_header_names_are_case_insensitive_and_canonical() -> None:
    data = invite(extra="p-asserted-IDENTITY: <tel:+77010000001>\r\nx-custom-thing: 1\r\n")
    request = parse_request(data.replace(b"Call-ID:", b"call-id:").replace(b"CSeq:", b"CSEQ:"))
    assert request.headers.get("P-Asserted-Identity") == "<tel:+77010000001>"
    assert ("P-Asserted-Identity", "<tel:+77010000001>") in list(request.headers)
    assert request.headers.get("X-Custom-Thing") == "1"
    assert ("x-custom-thing", "1") in list(request.headers)  # unknown names keep their spelling
    assert canonical_name("CALL-id") == "Call-ID"
    assert "call-ID" in request.headers


def test_folded_lines_are_joined_with_one_space() -> None:
    data = (
        b"INVITE sip:+77015550001@sbc.example SIP/2.0\r\n"
        b"Via  : SIP  /   2.0\r\n"
        b"  /UDP\r\n"
        b"\t192.0.2.10;branch=z9hG4bKfold\r\n"
        b"From: <sip:a@x>\r\n"
        b"  ;tag=1\r\n"
        b"To: <sip:b@y>\r\n"
        b"Call-ID: fold@x\r\n"
        b"CSeq: 1\r\n"
        b" INVITE\r\n"
        b"Subject: a long\r\n"
        b"   subject\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    request = parse_request(data)
    assert request.headers.get("Subject") == "a long subject"
    assert request.via[0].branch == "z9hG4bKfold"
    assert request.from_.tag == "1"
    assert str(request.cseq) == "1 INVITE"


def test_list_headers_split_on_commas_outside_quotes_and_angle_brackets() -> None:
    extra = (
        'Contact: "Doe, John" <sip:j,x@192.0.2.1;a=b>;q=0.5, <sip:k@192.0.2.2>\r\n'
        "P-Asserted-Identity: <sip:+77010000001@op.example;user=phone>, <tel:+77010000001>\r\n"
        "Allow: INVITE, ACK,CANCEL ,OPTIONS\r\n"
        "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
    )
    request = parse_request(invite(extra=extra))
    contacts = request.headers.get_all("Contact")
    assert contacts == ['"Doe, John" <sip:j,x@192.0.2.1;a=b>;q=0.5', "<sip:k@192.0.2.2>"]
    assert parse_address(contacts[0]).display_name == "Doe, John"
    assert len(request.headers.get_all("P-Asserted-Identity")) == 2
    assert request.headers.get_all("Allow") == ["INVITE", "ACK", "CANCEL", "OPTIONS"]
    assert request.headers.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]  # not a list header


def test_several_vias_in_one_field_and_in_repeated_fields_are_the_same_path() -> None:
    one = parse_request(
        invite(via_host="192.0.2.10;branch=z9hG4bKa, SIP/2.0/TCP 192.0.2.11:5070").replace(
            b";branch=z9hG4bK-1", b""
        )
    )
    assert [v.host for v in one.via] == ["192.0.2.10", "192.0.2.11"]
    assert one.via[1].transport == "TCP"
    assert one.via[1].port == 5070


def test_escaped_user_parts_are_kept_and_decoded_on_request() -> None:
    uri = parse_uri("sip:%2B7701%20123@sbc.example;user=phone")
    assert uri.user == "%2B7701%20123"
    assert uri.user_unescaped == "+7701 123"
    assert str(uri) == "sip:%2B7701%20123@sbc.example;user=phone"
    odd = parse_uri("sip:sips%3Auser%40example.com@example.net")
    assert odd.user_unescaped == "sips:user@example.com"
    assert odd.host == "example.net"


def test_uri_forms() -> None:
    full = parse_uri(
        "sips:alice:secret@[2001:db8::10]:5061;transport=tcp;lr?subject=project&priority=urgent"
    )
    assert full.scheme == "sips"
    assert (full.user, full.password) == ("alice", "secret")
    assert (full.host, full.port) == ("[2001:db8::10]", 5061)
    assert full.param("transport") == "tcp"
    assert full.param("lr") == ""
    assert full.param("maddr") is None
    assert full.headers == "subject=project&priority=urgent"
    assert (
        str(full)
        == "sips:alice:secret@[2001:db8::10]:5061;transport=tcp;lr?subject=project&priority=urgent"
    )

    tel = parse_uri("tel:+7-701-555-00-01;tgrp=TG-1;trunk-context=ixc.example")
    assert (tel.scheme, tel.user, tel.host) == ("tel", "+7-701-555-00-01", "")
    assert tel.param("tgrp") == "TG-1"
    assert tel.param("TRUNK-CONTEXT") == "ixc.example"
    assert str(tel) == "tel:+7-701-555-00-01;tgrp=TG-1;trunk-context=ixc.example"

    trunk = parse_uri(
        "sip:+16305550100;tgrp=TG-1;trunk-context=example.com@isp.example.net;user=phone"
    )
    assert trunk.user == "+16305550100;tgrp=TG-1;trunk-context=example.com"
    assert dict(trunk.user_params) == {"tgrp": "TG-1", "trunk-context": "example.com"}
    assert trunk.param("user") == "phone"

    local = parse_uri("tel:7011234567;phone-context=+7")
    assert local.user == "7011234567"

    other = parse_uri("urn:service:sos")
    assert (other.scheme, other.opaque) == ("urn", "service:sos")
    assert str(other) == "urn:service:sos"

    assert parse_uri("SIP:Host.Example:5060").scheme == "sip"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no-colon",
        "sip:",
        "sip:user@",
        "sip:user@host:0",
        "sip:user@host:65536",
        "sip:user@host:5o60",
        "sip:user@ho st",
        "sip:user@[2001:db8::1",
        "sip:us%zzer@host",
        "sip:user@host;=x",
        "tel:",
        "tel:+",
        "tel:+7 701",
        "1sip:host",
    ],
)
def test_malformed_uris_raise_parse_errors(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_uri(text)


def test_addresses_in_all_their_forms() -> None:
    assert parse_address("sip:a@b;tag=1") == Address(
        uri=parse_uri("sip:a@b"), params=(("tag", "1"),)
    )
    assert parse_address("<sip:a@b;user=phone>;tag=1").uri == parse_uri("sip:a@b;user=phone")
    named = parse_address('"The \\"Bank\\"" <sip:+77010000001@x>;tag=9')
    assert named.display_name == 'The "Bank"'
    assert str(named) == '"The \\"Bank\\"" <sip:+77010000001@x>;tag=9'
    assert parse_address("Bank Security <tel:+77010000001>").display_name == "Bank Security"
    assert parse_address("Банк <tel:+77010000001>").display_name == "Банк"
    assert parse_address('<sip:a@b>;tag="quoted;semi"').param("tag") == '"quoted;semi"'
    assert parse_address("*").uri is None
    for bad in ("<sip:a@b", '"unterminated <sip:a@b>', "sip:a@b c", "<nothing>", '"x" sip:a@b'):
        with pytest.raises(SipParseError):
            parse_address(bad)


def test_via_values() -> None:
    via = parse_via("SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKx;rport;received=192.0.2.1")
    assert (via.transport, via.host, via.port) == ("TLS", "[2001:db8::1]", 5061)
    assert via.param("rport") == ""
    assert via.sent_by == "[2001:db8::1]:5061"
    assert parse_via("SIP/2.0/udp Host.Example").sent_by == "host.example:5060"
    for bad in (
        "SIP/2.0 host",
        "SIP/3.0/UDP host",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP host:99999",
        "SIP/2.0/UDP h;branch",
    ):
        if bad.endswith(";branch"):
            assert parse_via(bad).branch is None  # a flag branch is no branch
            continue
        with pytest.raises(SipParseError):
            parse_via(bad)


def test_split_header_values_rejects_unterminated_quotes() -> None:
    with pytest.raises(SipParseError):
        split_header_values('"open, <sip:a@b>')


def test_leading_blank_lines_are_ignored_and_bare_lf_line_ends_are_read() -> None:
    request = parse_request(b"\r\n\r\n" + invite())
    assert request.method == "INVITE"
    lf = parse_request(invite().replace(b"\r\n", b"\n"))
    assert lf.call_id == "call-1@sbc.example"


def test_unknown_methods_and_schemes_parse() -> None:
    request = parse_request(
        invite(method="NEWMETHOD", uri="nobodyknowsthisscheme:totallyopaquecontent")
    )
    assert request.method == "NEWMETHOD"
    assert request.uri.scheme == "nobodyknowsthisscheme"


def test_responses_parse() -> None:
    data = b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n"
    response = parse_message(data)
    assert isinstance(response, Response)
    assert (response.status, response.reason) == (180, "Ringing")
    empty_reason = parse_message(b"SIP/2.0 200 \r\nContent-Length: 0\r\n\r\n")
    assert isinstance(empty_reason, Response)
    assert empty_reason.reason == ""


# --- framing by Content-Length --------------------------------------------------------------


def test_udp_without_content_length_takes_the_rest_of_the_datagram() -> None:
    data = invite(body=b"").replace(b"Content-Length: 0\r\n", b"") + b"v=0\r\no=x\r\n"
    assert parse_request(data).body == b"v=0\r\no=x\r\n"


def test_udp_bytes_past_the_content_length_are_dropped() -> None:
    data = invite(body=b"v=0\r\n") + b"trailing garbage"
    assert parse_request(data).body == b"v=0\r\n"


def test_a_content_length_larger_than_the_datagram_is_an_error_that_can_still_be_answered() -> None:
    data = invite(body=b"v=0\r\n").replace(b"Content-Length: 5", b"Content-Length: 500")
    with pytest.raises(SipParseError) as caught:
        parse_message(data)
    assert "500" in caught.value.reason
    assert caught.value.method == "INVITE"
    assert caught.value.headers is not None
    assert caught.value.headers.get("Call-ID") == "call-1@sbc.example"


@pytest.mark.parametrize("value", [b"-1", b"abc", b"1e3", b"99999999999", b""])
def test_a_content_length_that_is_not_a_number_is_an_error(value: bytes) -> None:
    data = invite().replace(b"Content-Length: 0", b"Content-Length: " + value)
    with pytest.raises(SipParseError):
        parse_message(data)


def test_a_content_length_of_five_thousand_digits_is_an_answerable_error() -> None:
    # int() of a string over 4,300 digits raises ValueError, not a parse error.
    data = invite().replace(b"Content-Length: 0", b"Content-Length: " + b"9" * 5000)
    for stream in (False, True):
        with pytest.raises(SipParseError) as caught:
            parse_message(data, stream=stream)
        assert caught.value.headers is not None
    parser = StreamParser()
    parser.feed(data)
    with pytest.raises(SipParseError) as framed:
        parser.next_message()
    assert framed.value.headers is not None  # enough to answer 400 before closing
    assert parser.broken


@pytest.mark.parametrize("value", ["²", "٣", "9" * 5000, "256"])
def test_a_max_forwards_that_is_not_0_to_255_is_an_error(value: str) -> None:
    data = invite().replace(b"Max-Forwards: 70", f"Max-Forwards: {value}".encode())
    with pytest.raises(SipParseError, match="Max-Forwards"):
        parse_message(data)


def test_conflicting_content_lengths_are_an_error() -> None:
    data = invite().replace(b"Content-Length: 0\r\n", b"Content-Length: 0\r\nl: 4\r\n") + b"abcd"
    with pytest.raises(SipParseError, match="conflicting"):
        parse_message(data)


def test_stream_messages_need_a_content_length() -> None:
    data = invite().replace(b"Content-Length: 0\r\n", b"")
    with pytest.raises(SipParseError, match="required"):
        parse_message(data, stream=True)


# --- malformed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"garbage", "request line"),
        (b"\x00\x01\x02\xff\r\n\r\n", "request line"),
        (b"INVITE  sip:a@b SIP/2.0\r\n\r\n", "request line"),
        (b"INVITE sip:a@b SIP/2.0 extra\r\n\r\n", "request line"),
        (b"SIP/2.0 99 Too Low\r\n\r\n", "status line"),
        (b"SIP/2.0 OK\r\n\r\n", "status line"),
    ],
)
def test_garbage_start_lines(data: bytes, fragment: str) -> None:
    with pytest.raises(SipParseError, match=fragment):
        parse_message(data)


def test_an_unknown_sip_version_suggests_505() -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(invite().replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1))
    assert caught.value.status == 505


def test_an_oversized_message_suggests_513() -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(invite(body=b"x" * 70000))
    assert caught.value.status == 513


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ((b"CSeq: 1 INVITE", b"CSeq: one INVITE"), "CSeq"),
        ((b"CSeq: 1 INVITE", b"CSeq: 1 OPTIONS"), "does not match"),
        ((b"CSeq: 1 INVITE", b"CSeq: 4294967296 INVITE"), "CSeq"),
        ((b"Call-ID: call-1@sbc.example\r\n", b""), "missing Call-ID"),
        ((b"Call-ID: call-1@sbc.example", b"Call-ID: two words"), "Call-ID"),
        ((b"To: <sip:+77015550001@sbc.example;user=phone>\r\n", b""), "missing To"),
        ((b"Max-Forwards: 70", b"Max-Forwards: 700"), "Max-Forwards"),
        ((b"Max-Forwards: 70", b"To: <sip:x@y>"), "more than one To"),
        ((b"From: <", b'From: "unterminated <'), "display name"),
        ((b"sip:+77015550001@sbc.example;user=phone SIP", b"sip:+77015550001@ SIP"), "Request-URI"),
        ((b"Max-Forwards: 70", b"Max-Forwards 70"), "header line"),
        ((b"Max-Forwards: 70", b"Max Forwards: 70"), "header line"),
    ],
)
def test_broken_requests_keep_what_could_be_read(
    change: tuple[bytes, bytes], fragment: str
) -> None:
    data = invite().replace(*change)
    with pytest.raises(SipParseError, match=fragment) as caught:
        parse_message(data)
    assert caught.value.method == "INVITE"
    assert caught.value.headers is not None
    assert caught.value.headers.get("Via") is not None


def test_a_request_without_via_cannot_be_answered() -> None:
    data = invite().replace(b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\n", b"")
    with pytest.raises(SipParseError, match="Via"):
        parse_message(data)


def test_non_utf8_headers_are_an_error() -> None:
    with pytest.raises(SipParseError, match="UTF-8"):
        parse_message(invite(extra="Subject: x\r\n").replace(b"Subject: x", b"Subject: \xff\xfe"))


def test_a_folded_line_before_any_header_is_an_error() -> None:
    with pytest.raises(SipParseError, match="folded"):
        parse_message(
            b"INVITE sip:a@b SIP/2.0\r\n  continuation\r\n" + invite().split(b"\r\n", 1)[1]
        )


# --- serialization --------------------------------------------------------------------------


def test_serialization_states_the_true_content_length() -> None:
    request = parse_request(invite(body=b"abc"))
    wire = Request(
        method="INVITE", uri=request.uri, headers=request.headers, body=b"longer body"
    ).to_bytes()
    assert b"Content-Length: 11\r\n" in wire
    assert wire.count(b"Content-Length") == 1
    assert parse_request(wire).body == b"longer body"


def test_headers_built_from_code_refuse_line_breaks() -> None:
    with pytest.raises(SipParseError):
        Headers([("X-Evil", "a\r\nVia: injected")])
    with pytest.raises(SipParseError):
        Headers([("Bad Name", "x")])
    with pytest.raises(SipParseError):
        Response(status=200, reason="OK\r\nX: y", headers=Headers())
    with pytest.raises(SipParseError):
        Response(status=700, reason="Nope", headers=Headers())


def test_build_response_copies_what_rfc_3261_8_2_6_asks() -> None:
    request = parse_request(
        invite(
            via_host="192.0.2.10:5060;branch=z9hG4bK-1;rport, SIP/2.0/UDP 192.0.2.99",
            extra="Record-Route: <sip:rr@x;lr>\r\nContact: <sip:a@192.0.2.10>\r\n",
        ).replace(b";branch=z9hG4bK-1\r\n", b"\r\n", 1)
    )
    response = build_response(request, 302, to_tag="t1", extra=[("Contact", "<tel:+77015550001>")])
    names = [name for name, _ in response.headers]
    assert names == ["Via", "Via", "From", "To", "Call-ID", "CSeq", "Contact"]
    assert response.headers.get_all("Via") == request.headers.get_all("Via")
    assert response.headers.get("To") == "<sip:+77015550001@sbc.example;user=phone>;tag=t1"
    assert response.headers.get("From") == request.headers.get("From")
    assert response.reason == "Moved Temporarily"
    tagged = parse_request(invite(to="<sip:b@y>;tag=already"))
    assert build_response(tagged, 481, to_tag="t1").headers.get("To") == "<sip:b@y>;tag=already"
    assert build_response(request, 100, to_tag="t1").headers.get("To") == request.headers.get("To")


# --- stream framing -------------------------------------------------------------------------


def test_stream_parser_frames_pipelined_and_split_messages() -> None:
    first = invite(call_id="a", body=b"v=0\r\n")
    second = invite(call_id="b", branch="z9hG4bK-2")
    third = invite(call_id="c", branch="z9hG4bK-3", body=b"x" * 300)
    stream = b"\r\n\r\n" + first + second + b"\r\n" + third
    for size in (1, 7, 64, len(stream)):
        parser = StreamParser()
        got: list[str] = []
        for start in range(0, len(stream), size):
            parser.feed(stream[start : start + size])
            got += [m.call_id for m in parser.messages() if isinstance(m, Request)]
        assert got == ["a", "b", "c"], size
        assert parser.buffered == 0


def test_stream_parser_waits_for_the_whole_body() -> None:
    data = invite(body=b"0123456789")
    parser = StreamParser()
    parser.feed(data[:-3])
    assert parser.next_message() is None
    parser.feed(data[-3:])
    message = parser.next_message()
    assert isinstance(message, Request)
    assert message.body == b"0123456789"


def test_stream_parser_skips_a_bad_message_it_could_frame() -> None:
    parser = StreamParser()
    parser.feed(invite().replace(b"CSeq: 1 INVITE", b"CSeq: x INVITE") + invite(call_id="good"))
    with pytest.raises(SipParseError):
        parser.next_message()
    assert not parser.broken
    message = parser.next_message()
    assert isinstance(message, Request)
    assert message.call_id == "good"


def test_stream_parser_breaks_when_framing_is_lost() -> None:
    parser = StreamParser()
    parser.feed(invite().replace(b"Content-Length: 0\r\n", b"") + invite())
    with pytest.raises(SipParseError) as caught:
        parser.next_message()
    assert caught.value.headers is not None  # enough to answer 400 before closing
    assert parser.broken
    with pytest.raises(SipParseError, match="lost its framing"):
        parser.next_message()


def test_stream_parser_bounds_the_header_block_and_the_message() -> None:
    endless = StreamParser(max_message_size=2048)
    endless.feed(b"INVITE sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 400)
    with pytest.raises(SipParseError) as caught:
        endless.next_message()
    assert caught.value.status == 513
    huge = StreamParser(max_message_size=2048)
    huge.feed(invite().replace(b"Content-Length: 0", b"Content-Length: 100000"))
    with pytest.raises(SipParseError) as caught:
        huge.next_message()
    assert caught.value.status == 513
    assert huge.broken


def test_a_header_block_dribbled_a_byte_at_a_time_costs_linear_time() -> None:
    # Each chunk used to search the whole buffer again: 4 s of CPU for 65 KB.
    parser = StreamParser()
    data = invite(extra="X-Pad: " + "a" * 60_000 + "\r\n")
    started = time.perf_counter()
    found = []
    for i in range(len(data)):
        parser.feed(data[i : i + 1])
        message = parser.next_message()
        if message is not None:
            found.append(message)
    assert time.perf_counter() - started < 0.5
    assert len(found) == 1 and found[0].headers.get("X-Pad") == "a" * 60_000
