"""Properties of the parser: round trips, and nothing but SipParseError, quickly, on any input."""

from __future__ import annotations

import contextlib
import re
import time
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.sip.message import (
    Address,
    Headers,
    Request,
    Response,
    SipParseError,
    StreamParser,
    Uri,
    Via,
    parse_address,
    parse_message,
    parse_uri,
)
from qalqan.sip.redirect import RedirectService
from qalqan.sip.transaction import Peer
from tests.sip.conftest import invite, table_decide, test_config

TOKEN = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9\-.!%*_+`'~]{0,11}", fullmatch=True)
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9\-]{0,8}[a-z0-9])?", fullmatch=True)
HOSTNAME = st.lists(LABEL, min_size=1, max_size=3).map(".".join)
IPV4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
HOST = st.one_of(HOSTNAME, IPV4, st.just("[2001:db8::1]"))
PORT = st.one_of(st.none(), st.integers(1, 65535))
PARAM_VALUE = st.from_regex(r"[A-Za-z0-9\-_.!~*'()+\[\]/:&$]{1,12}", fullmatch=True)
PARAMS = st.lists(st.tuples(TOKEN, st.one_of(st.none(), PARAM_VALUE)), max_size=4).map(tuple)
USER = st.from_regex(r"[A-Za-z0-9\-_.!~*'()&=+$,]{1,16}", fullmatch=True)

SIP_URI = st.builds(
    Uri,
    scheme=st.sampled_from(["sip", "sips"]),
    user=st.one_of(st.none(), USER),
    host=HOST,
    port=PORT,
    params=PARAMS,
)
TEL_URI = st.builds(
    Uri,
    scheme=st.just("tel"),
    user=st.one_of(
        st.from_regex(r"\+[0-9][0-9\-.]{0,14}[0-9]", fullmatch=True),
        st.from_regex(r"[0-9*#]{1,12}", fullmatch=True),
    ),
    params=PARAMS,
)
URI = st.one_of(SIP_URI, TEL_URI)
HEADER_VALUE = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x00"),
    max_size=40,
).map(str.strip)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    method = draw(st.sampled_from(["INVITE", "OPTIONS", "BYE", "CANCEL"]) | TOKEN.map(str.upper))
    vias = draw(
        st.lists(
            st.builds(
                Via,
                transport=st.sampled_from(["UDP", "TCP", "TLS"]),
                host=HOST,
                port=PORT,
                params=st.tuples(TOKEN.map(lambda b: ("branch", "z9hG4bK" + b))),
            ),
            min_size=1,
            max_size=3,
        )
    )
    from_ = Address(
        uri=draw(URI), display_name=draw(st.none() | TOKEN), params=(("tag", draw(TOKEN)),)
    )
    to = Address(uri=draw(URI))
    fields = [("Via", str(v)) for v in vias]
    fields += [
        ("From", str(from_)),
        ("To", str(to)),
        ("Call-ID", f"{draw(TOKEN)}@{draw(HOSTNAME)}"),
        ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}"),
        ("Max-Forwards", str(draw(st.integers(0, 255)))),
    ]
    fields += draw(st.lists(st.tuples(TOKEN.map(lambda n: "X-" + n), HEADER_VALUE), max_size=5))
    return Request(
        method=method, uri=draw(URI), headers=Headers(fields), body=draw(st.binary(max_size=64))
    )


@given(requests())
def test_requests_survive_a_round_trip(request: Request) -> None:
    wire = request.to_bytes()
    for stream in (False, True):
        parsed = parse_message(wire, stream=stream)
        assert isinstance(parsed, Request)
        assert parsed.method == request.method
        assert parsed.uri == request.uri
        assert parsed.headers.without("Content-Length") == request.headers
        assert parsed.body == request.body
        assert parsed.via == request.via
        assert parsed.to_bytes() == wire


@given(URI)
def test_uris_survive_a_round_trip(uri: Uri) -> None:
    assert parse_uri(str(uri)) == uri


@given(URI, st.none() | TOKEN | HEADER_VALUE.filter(bool), PARAMS)
def test_addresses_survive_a_round_trip(
    uri: Uri, name: str | None, params: tuple[tuple[str, str | None], ...]
) -> None:
    address = Address(uri=uri, display_name=name, params=params)
    assert parse_address(str(address)) == address


@given(st.integers(100, 699), HEADER_VALUE, st.binary(max_size=32))
def test_responses_survive_a_round_trip(status: int, reason: str, body: bytes) -> None:
    response = Response(
        status=status,
        reason=reason,
        headers=Headers([("Via", "SIP/2.0/UDP h;branch=z9hG4bK1")]),
        body=body,
    )
    parsed = parse_message(response.to_bytes())
    assert isinstance(parsed, Response)
    assert (parsed.status, parsed.reason, parsed.body) == (status, reason, body)


# --- hostile input --------------------------------------------------------------------------

VALID = invite(
    extra=(
        'P-Asserted-Identity: "Bank, Security" <sip:+77010000001@op.example;user=phone>, <tel:+77010000001>\r\n'
        "Contact: <sip:+77019990001;tgrp=TG-1;trunk-context=ixc.example@192.0.2.10;user=phone>\r\n"
        "Identity: eyJhbGciOiJFUzI1NiJ9.e30.c2ln;info=<https://cert.example/c.pem>\r\n"
    ),
    body=b"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\n",
)
INTERESTING = st.sampled_from(
    [
        b"\r\n",
        b"\n",
        b"\r",
        b":",
        b",",
        b";",
        b"<",
        b">",
        b'"',
        b"\\",
        b"\x00",
        b" ",
        b"\t",
        b"\r\n ",
        b"@",
        b"%",
        b"=",
        b"\xff",
        b"\xc3",
        b"Content-Length: 99999\r\n",
        b"l: 3\r\n",
        b"\r\n\r\n",
        b"SIP/2.0 ",
        b"z9hG4bK",
    ]
)
MUTATION = st.tuples(
    st.floats(0, 1, allow_nan=False),
    st.sampled_from(["insert", "delete", "replace", "truncate"]),
    INTERESTING | st.binary(min_size=1, max_size=6),
)


def mutate(data: bytes, mutations: list[tuple[float, str, bytes]]) -> bytes:
    for where, how, chunk in mutations:
        at = int(where * len(data))
        if how == "insert":
            data = data[:at] + chunk + data[at:]
        elif how == "delete":
            data = data[:at] + data[at + len(chunk) :]
        elif how == "replace":
            data = data[:at] + chunk + data[at + len(chunk) :]
        else:
            data = data[:at]
    return data


def parse_quickly(data: bytes, **options: bool) -> None:
    started = time.perf_counter()
    with contextlib.suppress(SipParseError):
        parse_message(data, **options)
    assert time.perf_counter() - started < 0.5


@settings(max_examples=400, deadline=timedelta(seconds=2))
@given(st.binary(max_size=2048))
def test_random_bytes_raise_only_parse_errors(data: bytes) -> None:
    parse_quickly(data)
    parse_quickly(data, stream=True)


@settings(max_examples=400, deadline=timedelta(seconds=2))
@given(st.lists(MUTATION, min_size=1, max_size=6))
def test_mutated_messages_raise_only_parse_errors(
    mutations: list[tuple[float, str, bytes]],
) -> None:
    data = mutate(VALID, mutations)
    parse_quickly(data)
    parse_quickly(data, stream=True)


@settings(max_examples=200, deadline=timedelta(seconds=2))
@given(st.lists(MUTATION, max_size=4), st.lists(st.integers(1, 300), min_size=1, max_size=20))
def test_the_stream_parser_survives_any_chunking_of_any_stream(
    mutations: list[tuple[float, str, bytes]], cuts: list[int]
) -> None:
    stream = VALID + mutate(VALID, mutations) + VALID
    parser = StreamParser(max_message_size=4096)
    started = time.perf_counter()
    position = 0
    for size in [*cuts, len(stream)]:
        parser.feed(stream[position : position + size])
        position += size
        while True:
            try:
                if parser.next_message() is None:
                    break
            except SipParseError:
                if parser.broken:
                    break
        if parser.broken:
            break
    assert time.perf_counter() - started < 1.0


@settings(max_examples=200, deadline=timedelta(seconds=2))
@given(st.lists(MUTATION, min_size=1, max_size=6))
def test_the_redirect_service_answers_or_drops_but_never_raises(
    mutations: list[tuple[float, str, bytes]],
) -> None:
    node = RedirectService(config=test_config(), decide=table_decide)
    peer = Peer("udp", "192.0.2.10", 5060)
    for send in node.handle_datagram(mutate(VALID, mutations), peer=peer, now=0.0):
        answer = parse_message(send.data)  # whatever it sends is itself valid SIP
        assert isinstance(answer, Response)
    node.tick(100.0)


# --- numbers in headers: bounded, whatever their length or script -------------------------

#: Digit strings an attacker might write: very long (past Python's 4,300-digit limit on
#: int() of a string), or in another script (str.isdigit() is true for '²' and '٣').
DIGITS = st.one_of(
    st.integers(0, 6000).map(lambda n: "9" * n),
    st.text(st.sampled_from("0123456789²³¹٣߃০९"), max_size=12),
    st.text(st.characters(categories=("Nd", "No")), min_size=1, max_size=8),
)


@settings(max_examples=200, deadline=timedelta(seconds=2))
@given(st.sampled_from(["Content-Length", "l", "Max-Forwards", "CSeq", "Expires"]), DIGITS)
def test_numeric_headers_of_any_length_raise_only_parse_errors(name: str, digits: str) -> None:
    wire = VALID.decode("utf-8")
    if name == "CSeq":
        wire = wire.replace("CSeq: 1 INVITE", f"CSeq: {digits} INVITE")
    elif name == "Max-Forwards":
        wire = wire.replace("Max-Forwards: 70", f"Max-Forwards: {digits}")
    elif name == "Expires":
        wire = wire.replace("Max-Forwards: 70", f"Max-Forwards: 70\r\nExpires: {digits}")
    else:
        wire = re.sub(r"Content-Length: \d+", f"{name}: {digits}", wire)
    data = wire.encode("utf-8")
    parse_quickly(data)
    parse_quickly(data, stream=True)
    parser = StreamParser()
    parser.feed(data)
    started = time.perf_counter()
    with contextlib.suppress(SipParseError):
        parser.next_message()
    assert time.perf_counter() - started < 0.5
