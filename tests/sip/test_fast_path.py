"""The short way of reading the common INVITE and ACK agrees with the full reader, always.

:func:`~qalqan.sip.message.parse_common_request` is what every call's INVITE and
ACK go through; :func:`~qalqan.sip.message.parse_message_full` is the reference.
The invariant: whatever the short way returns, the full reader returns too,
equal in every part (method, Request-URI, header fields in order, body, Via,
From, To, Call-ID, CSeq); whatever the full reader refuses, the short way
refuses (returns None) as well, so that the full reader's error, and its 400,
still answer. Proven here on messages built from the pieces SBCs write, then
bent (spaces, compact names, folding, commas, bad values, other methods,
mutated bytes), for datagrams and for stream-framed messages.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qalqan.sip.message import (
    Request,
    SipParseError,
    parse_common_request,
    parse_message,
    parse_message_full,
)
from tests.sip.conftest import invite

NUMBER = st.from_regex(r"\+?[0-9]{1,12}", fullmatch=True)

#: Each piece of a message: what SBCs write, and how it can be bent. A message bends at most
#: one piece, so that about half of them are good and the short way has work to do.
PIECES: dict[str, tuple[list[str], list[str]]] = {
    "method": (["INVITE", "ACK"], ["OPTIONS", "CANCEL", "invite", "BYE"]),
    "scheme": (["sip", "tel", "sips"], ["SIP", "mailto", "1sip", ""]),
    "user": (["{n}@", "{n};tgrp=T1@", "", "sbc@"], ["u%zz@", "a:b@", "{n}@x@", "a?b@", "@"]),
    "host": (
        ["sbc.example", "192.0.2.10", "h-1.example", "SBC.Example"],
        ["[2001:db8::1]", "-bad", "a..b", "a b"],
    ),
    "port": (["", ":5060", ":65535", ":5061"], [":65536", ":0", ":05060", ":x", ":"]),
    "param": (
        [";user=phone", ";tgrp=TG1", ";lr", ";tag=abc", ";rport", ";trunk-context=ixc.example"],
        [';x="q q"', ";=v", ";a=b=c", ";", "; sp=1", ";a=<b>"],
    ),
    "address": (
        ["<{u}>{p}", "<{u}>;tag={t}", '"Bank" <{u}>{p}', "Name <{u}>{p}"],
        ["{u}", "<{u}", "*", '"x <{u}>', "<{u}> junk"],
    ),
    "protocol": (
        ["SIP/2.0/UDP", "SIP/2.0/TCP", "SIP/2.0/TLS"],
        ["SIP/2.0/udp", "SIP / 2.0 / UDP", "SIP/3.0/UDP", "SIP/2.0"],
    ),
    "branch": (
        [";branch=z9hG4bK-1", ";branch=z9hG4bK-2;rport", ";rport;branch=z9hG4bK3"],
        [";branch=1", "", " ;branch=z9hG4bK-4", ";branch"],
    ),
    "extra": (
        [
            "Contact: <sip:sbc;tgrp=TG1@192.0.2.10:5060>\r\n",
            "P-Asserted-Identity: <sip:+77019990001@sbc.example;user=phone>, <tel:+77019990001>\r\n",
            'P-Asserted-Identity: "Doe, J" <sip:+7701@x>\r\n',
            "Supported: timer, 100rel\r\n",
            "Supported:\r\n",
            "v: SIP/2.0/UDP 192.0.2.11;branch=z9hG4bK-9\r\n",
            "Via: SIP/2.0/UDP 192.0.2.12;branch=z9hG4bK-8, SIP/2.0/TCP sbc.example;branch=z9hG4bK-7\r\n",
            "Subject: a call\r\n",
            "Max-Forwards: 300\r\n",
            "Identity: abc.def.ghi;info=<https://cert.example/c.pem>;alg=ES256\r\n",
            "X-Trailing: value   \r\n",
            "X-Empty:\r\n",
            "l: 0\r\n",
            "",
        ],
        [
            'P-Asserted-Identity: "unterminated, <sip:a@b>\r\n',
            "Via: SIP/2.0/UDP 192.0.2.12;branch=z9hG4bK-8, SIP/2.0/TCP [2001:db8::2];branch=z9hG4bK-7\r\n",
            "Subject: folded\r\n  on two lines\r\n",
            "X-Odd : spaced name\r\n",
            "Bad Header: x\r\n",
            "Content-Length: 0\r\n",
            "l: 3\r\n",
            "From: <sip:second@x>;tag=2\r\n",
            "i: second-call-id\r\n",
            "t: <sip:other@x>\r\n",
            "CSeq: 2 INVITE\r\n",
            "X-Utf8: Қалқан\r\n",
            "X-Nul: a\0b\r\n",
            "X-Cr: a\rb\r\n",
            "X-Lf: a\nb\r\n",
            "\r\n",
        ],
    ),
    "cseq": (
        ["1 {m}", "2147483647 {m}", "00012 {m}"],
        ["2147483648 {m}", "x {m}", "1 BYE", "1  {m}", "1\t{m}"],
    ),
    "call_id": (["c1@sbc.example", "c3", "a-b.c@[2001:db8::1]"], ["c 2", "", "c\t4"]),
    "max_forwards": (["70", "0", "255"], ["256", "x", "", "0070"]),
    "length": (["right"], ["0", "5", "999", "1x", "none", "twice"]),
    "body": (["", "v=0\r\n", "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\n"], ["\r\n", "\0"]),
}


def build(
    piece: Callable[[str], str], count: Callable[[], int], number: Callable[[], str]
) -> bytes:
    """A request whose every piece ``piece(name)`` chooses (``count`` parameters, ``number``s)."""

    def uri() -> str:
        scheme = piece("scheme")
        params = "".join(piece("param") for _ in range(count()))
        if scheme == "tel":
            return f"tel:{number()}{params}"
        user = piece("user").format(n=number())
        return f"{scheme}:{user}{piece('host')}{piece('port')}{params}"

    def address() -> str:
        params = "".join(piece("param") for _ in range(count()))
        return piece("address").format(u=uri(), p=params, t=number())

    method = piece("method")
    data = invite(
        method=method,
        uri=uri(),
        from_=address(),
        to=address(),
        call_id=piece("call_id"),
        extra=piece("extra") + piece("extra"),
        body=piece("body").encode(),
    )
    via = f"{piece('protocol')} {piece('host')}{piece('port')}{piece('branch')}"
    cseq = piece("cseq").format(m=method)
    data = data.replace(f"CSeq: 1 {method}".encode(), f"CSeq: {cseq}".encode())
    data = data.replace(
        b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1", f"Via: {via}".encode()
    )
    data = data.replace(b"Max-Forwards: 70", f"Max-Forwards: {piece('max_forwards')}".encode())
    length = piece("length")
    if length == "none":
        data = data.replace(b"Content-Length: ", b"X-Length: ")
    elif length == "twice":
        data = data.replace(b"Content-Length: ", b"Content-Length: 0\r\nContent-Length: ")
    elif length != "right":
        data = data.replace(b"Content-Length: ", f"Content-Length: {length}\r\nX-Was: ".encode())
    return data


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    bent = draw(st.sampled_from([*PIECES, *[None] * 14]))

    def piece(name: str) -> str:
        good, bad = PIECES[name]
        return draw(st.sampled_from(bad if name == bent else good))

    return build(piece, lambda: draw(st.integers(0, 2)), lambda: draw(NUMBER))


def assert_same(fast: Request, full: Request) -> None:
    assert fast == full  # method, Request-URI, header fields in order, body
    assert (fast.via, fast.from_, fast.to, fast.call_id, fast.cseq) == (
        full.via,
        full.from_,
        full.to,
        full.call_id,
        full.cseq,
    )
    assert fast.headers.get_all("Via") == full.headers.get_all("Via")


def check(data: bytes, *, stream: bool) -> None:
    fast = parse_common_request(data, stream=stream)
    try:
        full = parse_message_full(data, stream=stream)
    except SipParseError as error:
        assert fast is None, f"the short way read what the full reader refuses: {error.reason}"
        try:
            parse_message(data, stream=stream)
        except SipParseError as again:
            assert again.reason == error.reason
        else:
            raise AssertionError("parse_message read what the full reader refuses")
        return
    if fast is not None:
        assert isinstance(full, Request)
        assert_same(fast, full)
    assert parse_message(data, stream=stream) == full


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_the_short_way_agrees_with_the_full_reader_on_built_requests(data: bytes) -> None:
    check(data, stream=False)
    check(data, stream=True)


@settings(max_examples=400, deadline=None)
@given(requests(), st.integers(0, 2000), st.binary(min_size=1, max_size=3))
def test_the_short_way_agrees_with_the_full_reader_on_mutated_bytes(
    data: bytes, at: int, junk: bytes
) -> None:
    at %= len(data)
    mutated = data[:at] + junk + data[at + len(junk) :]
    check(mutated, stream=False)


@pytest.mark.parametrize(
    ("name", "bend"), [(name, bend) for name, (_, bad) in PIECES.items() for bend in bad]
)
def test_the_short_way_agrees_with_the_full_reader_on_every_bend(name: str, bend: str) -> None:
    """Each bent piece in turn, in an otherwise plain INVITE and ACK."""
    for method in ("INVITE", "ACK"):
        plain = {
            "method": method,
            "extra": "",
            "user": "{n}@",
            "scheme": "sip",
            "address": "<{u}>;tag={t}",
        }

        def piece(wanted: str, method: str = method, plain: dict[str, str] = plain) -> str:
            if wanted == name:
                return bend
            return plain.get(wanted, PIECES[wanted][0][0])

        data = build(piece, lambda: 1, lambda: "+77015550001")
        check(data, stream=False)
        check(data, stream=True)


def test_the_common_invite_and_ack_take_the_short_way() -> None:
    """The messages an SBC sends call after call are the ones read the short way."""
    common = invite(
        extra="Contact: <sip:sbc;tgrp=TG1@192.0.2.10:5060>\r\n"
        "P-Asserted-Identity: <sip:+77019990001@sbc.example;user=phone>\r\n",
        body=b"v=0\r\n",
    )
    ack = invite(method="ACK", to="<sip:+77015550001@sbc.example;user=phone>;tag=9f")
    for data in (common, ack):
        fast = parse_common_request(data)
        assert fast is not None
        full = parse_message_full(data)
        assert isinstance(full, Request)
        assert_same(fast, full)
    assert parse_common_request(invite(method="OPTIONS")) is None
    assert parse_common_request(invite(via_host="[2001:db8::1]:5060")) is None
    assert parse_common_request(invite(extra="Subject: folded\r\n on two lines\r\n")) is None
