"""SIP messages as typed values: a sans-I/O parser and serializer (RFC 3261 §7, §19, §20, §25).

The screening node reads every INVITE an operator's SBC sends it, so the parser
is the first thing hostile or broken bytes meet. It is written the way h11
reads HTTP: bytes in, typed values out, no sockets and no clocks, so that it
can be tested exhaustively (RFC 4475-style torture cases and Hypothesis) and
reused by the UDP and TCP faces alike.

What it gives:

- :func:`parse_message` reads one message from a datagram (UDP: a missing
  ``Content-Length`` means "to the end of the packet") or from an exactly
  framed slice of a stream; :class:`StreamParser` does the framing for TCP
  (arbitrary chunks in, complete messages out, pipelining, a size bound).
- :class:`Request` and :class:`Response` keep their header fields in order in
  :class:`Headers` (names case-insensitive, compact forms expanded, list-valued
  headers split on top-level commas with quotes and ``<>`` respected, folded
  lines joined). A request also carries its parsed ``Via``, ``From``, ``To``,
  ``Call-ID`` and ``CSeq``, because nothing can be answered without them.
- :class:`Uri` (``sip:``, ``sips:``, ``tel:`` and opaque other schemes),
  :class:`Address` (name-addr and addr-spec with header parameters such as
  ``tag``), :class:`Via` and :class:`CSeq`.
- :func:`build_response` copies ``Via``/``From``/``To``/``Call-ID``/``CSeq``
  from a request the way RFC 3261 §8.2.6 asks.

Every call brings an INVITE and an ACK, so those two are read the short way
(:func:`parse_common_request`): when the message has the shape SBCs send (ASCII,
CRLF line ends, no folding, a plain ``Via``, one ``From``/``To``/``Call-ID``/
``CSeq``), one pattern checks the whole header block and the request is built
from a handful of string operations, with the URIs and addresses that come back
call after call (the callee's Request-URI in the INVITE and its ACK, the SBC's
Contact, a caller's identity) taken from a bounded memo. Anything else gives
None, and :func:`parse_message_full` reads it: the full reader stays the
reference, and a property test holds the two to the same answer, or the same
refusal, on every message (``tests/sip/test_fast_path.py``).

Malformed input raises :class:`SipParseError` and nothing else. The error
says why, suggests the status code to answer with (400, 505 or 513) and keeps
whatever header fields could be read, so that a ``400 Bad Request`` can still
be routed back when the request was only partly broken.

The exceptions of the SIP face::

    QalqanError                 (qalqan.errors)
     └── SipError               anything the SIP face raises on purpose
          ├── SipParseError         bytes that are not a SIP message we can act on
          └── TransactionStateError the transaction user did something RFC 3261 forbids
                                    (qalqan.sip.transaction)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar, cast
from urllib.parse import unquote

from qalqan.errors import QalqanError

__all__ = [
    "MAX_MESSAGE_SIZE",
    "Address",
    "CSeq",
    "Headers",
    "Params",
    "Request",
    "Response",
    "SipError",
    "SipParseError",
    "StreamParser",
    "Uri",
    "Via",
    "build_response",
    "canonical_name",
    "parse_address",
    "parse_common_request",
    "parse_message",
    "parse_message_full",
    "parse_uri",
    "parse_via",
    "split_header_values",
]

#: The largest message accepted by default: the largest UDP payload.
MAX_MESSAGE_SIZE = 65535

#: RFC 3261 §8.1.1.7: a branch starting with this was made by an RFC 3261 element.
MAGIC_COOKIE = "z9hG4bK"

SIP_VERSION = "SIP/2.0"


class SipError(QalqanError):
    """Base of the errors the SIP face raises on purpose."""


class SipParseError(SipError):
    """Bytes that cannot be read as a SIP message, and why.

    ``status`` is the response the message deserves if it can be answered at all
    (400 Bad Request, 505 Version Not Supported, 513 Message Too Large).
    ``headers`` holds the header fields that could still be read, ``method`` the
    request method when the start line was readable: with ``Via``, ``From``,
    ``To``, ``Call-ID`` and ``CSeq`` among them an error response can be routed.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int = 400,
        headers: Headers | None = None,
        method: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.headers = headers
        self.method = method


# --- header names -------------------------------------------------------------------------

#: RFC 3261 §7.3.3 compact forms and those added by later RFCs (3515, 3841, 3892, 4028,
#: 6665, 8224). Single letters, case-insensitive.
COMPACT_FORMS: dict[str, str] = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

_KNOWN_NAMES = (
    "Accept",
    "Accept-Contact",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "CSeq",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "Date",
    "Diversion",
    "Error-Info",
    "Event",
    "Expires",
    "From",
    "History-Info",
    "Identity",
    "Identity-Info",
    "In-Reply-To",
    "MIME-Version",
    "Max-Forwards",
    "Min-Expires",
    "Min-SE",
    "Organization",
    "P-Access-Network-Info",
    "P-Asserted-Identity",
    "P-Called-Party-ID",
    "P-Charging-Vector",
    "P-Preferred-Identity",
    "Path",
    "Priority",
    "Privacy",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "RSeq",
    "Reason",
    "Record-Route",
    "Refer-To",
    "Referred-By",
    "Reject-Contact",
    "Reply-To",
    "Request-Disposition",
    "Require",
    "Retry-After",
    "Route",
    "Server",
    "Service-Route",
    "Session-Expires",
    "Subject",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "WWW-Authenticate",
    "Warning",
)

_CANONICAL: dict[str, str] = {name.lower(): name for name in _KNOWN_NAMES}
_CANONICAL.update(COMPACT_FORMS)

#: Headers whose grammar is a comma-separated list (``#element``): several values in one
#: field line mean the same as several lines. Others (``WWW-Authenticate``, ``Date``,
#: ``Identity``) may contain commas that do not separate values.
LIST_HEADERS = frozenset(
    name.lower()
    for name in (
        "Accept",
        "Accept-Contact",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Allow-Events",
        "Call-Info",
        "Contact",
        "Content-Encoding",
        "Content-Language",
        "Diversion",
        "Error-Info",
        "History-Info",
        "In-Reply-To",
        "P-Asserted-Identity",
        "P-Preferred-Identity",
        "Path",
        "Proxy-Require",
        "Reason",
        "Record-Route",
        "Reject-Contact",
        "Require",
        "Route",
        "Service-Route",
        "Supported",
        "Unsupported",
        "Via",
        "Warning",
    )
)

_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")

#: Lower-case name (long or compact) → the lower-case key fields are compared by.
_KEYS: dict[str, str] = {alias: name.lower() for alias, name in _CANONICAL.items()}
#: Lower-case names, compact forms included, of the list-valued headers.
_LIST_KEYS = frozenset(alias for alias, key in _KEYS.items() if key in LIST_HEADERS)


def _key(name: str) -> str:
    lowered = name.lower()
    return _KEYS.get(lowered, lowered)


def canonical_name(name: str) -> str:
    """The long, conventionally capitalised form of a header name (``i`` → ``Call-ID``).

    Names Qalqan does not know keep the spelling they arrived with; lookups in
    :class:`Headers` are case-insensitive anyway.
    """
    return _CANONICAL.get(name.lower(), name)


def split_header_values(value: str) -> list[str]:
    """Split a list-valued header field on commas that are outside quotes and ``<>``.

    >>> split_header_values('"Doe, John" <sip:j@x>;tag=1, <sip:a@b>')
    ['"Doe, John" <sip:j@x>;tag=1', '<sip:a@b>']
    """
    if "," not in value:
        return [value] if value else []
    return [p for p in (raw.strip() for raw in _split_outside(value, ",", angles=True)) if p]


def _split_outside(text: str, sep: str, *, angles: bool) -> list[str]:
    """Split ``text`` on ``sep`` outside quoted strings (and, with ``angles``, outside ``<>``).

    The pieces come back as they are, empty ones included; an unterminated quote is an error.
    """
    parts: list[str] = []
    start = 0
    quoted = False
    escaped = False
    angle = False
    for index, char in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif angles and char == "<":
            angle = True
        elif angles and char == ">":
            angle = False
        elif char == sep and not angle:
            parts.append(text[start:index])
            start = index + 1
    if quoted:
        raise SipParseError(f"unterminated quoted string in '{_clip(text)}'")
    parts.append(text[start:])
    return parts


class Headers:
    """The header fields of a message, in order; names compared case-insensitively.

    Iterating gives ``(name, value)`` pairs with canonical names. A list-valued
    header that arrived as ``Via: a, b`` is held as two fields, which is what it
    means (RFC 3261 §7.3.1).
    """

    __slots__ = ("_fields", "_index")

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        checked: list[tuple[str, str]] = []
        for name, value in fields:
            if not _TOKEN.fullmatch(name):
                raise SipParseError(f"'{_clip(name)}' is not a header name")
            _check_value(name, value)
            checked.append((canonical_name(name), value.strip(" \t")))
        self._fields: tuple[tuple[str, str], ...] = tuple(checked)
        self._index: dict[str, list[str]] | None = None

    @classmethod
    def _read(cls, fields: list[tuple[str, str]]) -> Headers:
        """Wrap fields the parser has already checked and canonicalised."""
        headers = cls.__new__(cls)
        headers._fields = tuple(fields)
        headers._index = None
        return headers

    def _lookup(self) -> dict[str, list[str]]:
        index = self._index
        if index is None:
            index = {}
            for name, value in self._fields:
                key = name.lower()
                found = index.get(key)
                if found is None:
                    index[key] = [value]
                else:
                    found.append(value)
            self._index = index
        return index

    def get(self, name: str) -> str | None:
        """The first value of ``name``, or None."""
        found = self._lookup().get(_key(name))
        return found[0] if found else None

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        return list(self._lookup().get(_key(name), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _key(name) in self._lookup()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._fields == other._fields

    def __hash__(self) -> int:
        return hash(self._fields)

    def __repr__(self) -> str:
        return f"Headers({list(self._fields)!r})"

    def without(self, *names: str) -> Headers:
        """These headers less every field named in ``names``."""
        dropped = {_key(n) for n in names}
        return Headers._read([f for f in self._fields if f[0].lower() not in dropped])

    def replacing_first(self, name: str, value: str) -> Headers:
        """These headers with the first field called ``name`` given a new value."""
        _check_value(name, value)
        wanted = _key(name)
        fields = list(self._fields)
        for index, (field_name, _) in enumerate(fields):
            if field_name.lower() == wanted:
                fields[index] = (field_name, value)
                break
        return Headers._read(fields)


def _check_value(name: str, value: str) -> None:
    if "\r" in value or "\n" in value or "\0" in value:
        raise SipParseError(f"header {name} has a line break or NUL in its value")


# --- parameters ---------------------------------------------------------------------------

#: ``;name=value`` parameters in order; a flag parameter (``;lr``) has the value None.
Params = tuple[tuple[str, str | None], ...]


def _param(params: Params, name: str) -> str | None:
    """The value of a parameter ("" for a flag), or None when absent. Names are case-insensitive."""
    wanted = name.lower()
    for key, value in params:
        if key.lower() == wanted:
            return "" if value is None else value
    return None


def _format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def _split_semicolons(text: str) -> list[str]:
    """Split on ``;`` outside quoted strings (header parameters may quote their values)."""
    if '"' not in text:
        return text.split(";")
    return _split_outside(text, ";", angles=False)


_PARAM_NAME = re.compile(r"[A-Za-z0-9\-.!%*_+`'~\[\]/:&$]+")
_PARAM_VALUE = re.compile(r'[^\s;,"]+|"(?:[^"\\]|\\.)*"')


_PLAIN_PARAMS = re.compile(r"(?:;[A-Za-z0-9\-.!%*_+`'~\[\]/:&$]+(?:=[^\s;,\"=]+)?)+")


def _parse_params(text: str, *, where: str) -> Params:
    """Parse ``;a=1;b;c="x y"`` (the leading ``;`` included) into ordered pairs."""
    if not text:
        return ()
    if _PLAIN_PARAMS.fullmatch(text):  # the common case: no spaces, no quotes
        plain: list[tuple[str, str | None]] = []
        for raw in text[1:].split(";"):
            name, sep, value = raw.partition("=")
            plain.append((name, value if sep else None))
        return tuple(plain)
    if not text.startswith(";"):
        raise SipParseError(f"unexpected '{_clip(text)}' after {where}")
    params: list[tuple[str, str | None]] = []
    for raw in _split_semicolons(text[1:]):
        name, sep, value = raw.partition("=")
        name = name.strip()
        if not _PARAM_NAME.fullmatch(name):
            raise SipParseError(f"bad parameter '{_clip(raw)}' in {where}")
        if not sep:
            params.append((name, None))
            continue
        value = value.strip()
        if not _PARAM_VALUE.fullmatch(value):
            raise SipParseError(f"bad value for parameter '{name}' in {where}")
        params.append((name, value))
    return tuple(params)


# --- remembering what was read -------------------------------------------------------------

_Parsed = TypeVar("_Parsed")

#: Values remembered per reader; past it the memo starts afresh (a flood of new values costs
#: what it cost without a memo, never memory).
MEMO_ENTRIES = 4096
#: Longer values are read every time: the memo holds at most MEMO_ENTRIES short strings.
MEMO_LONGEST = 200


def _remembered(read: Callable[[str], _Parsed]) -> Callable[[str], _Parsed]:
    """``read`` with a bounded memo: the same text read again gives the same (immutable) value.

    An SBC's Contact, a callee's Request-URI (in the INVITE and again in its ACK)
    and a caller's P-Asserted-Identity come back call after call; reading them
    is most of what a URI or an address costs. Errors are not remembered.
    """
    memo: dict[str, _Parsed] = {}

    @functools.wraps(read)
    def remembered(text: str) -> _Parsed:
        found = memo.get(text)
        if found is None:
            found = read(text)
            if len(text) <= MEMO_LONGEST:
                if len(memo) >= MEMO_ENTRIES:
                    memo.clear()
                memo[text] = found
        return found

    return remembered


# --- URIs ---------------------------------------------------------------------------------

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-_.]*[A-Za-z0-9_.])?")
_IPV6_REFERENCE = re.compile(r"\[[0-9A-Fa-f:.]+\]")
_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+")
_PASSWORD = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,%]*")
_ESCAPE_CHECK = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TEL_NUMBER = re.compile(
    r"\+[0-9\-.()]*[0-9][0-9\-.()]*|[0-9A-Fa-f*#\-.()]*[0-9A-Fa-f*#][0-9A-Fa-f*#\-.()]*"
)
_OPAQUE = re.compile(r"[^\s<>\"]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Uri:
    """A ``sip:``, ``sips:`` or ``tel:`` URI (RFC 3261 §19.1, RFC 3966), or an opaque other one.

    Parts are kept as written (escapes included) so that the URI serializes back
    unchanged; :attr:`user_unescaped` decodes ``%xx``. For a ``tel:`` URI the number
    is in :attr:`user` and :attr:`host` is empty; for an unknown scheme everything
    after the colon is in :attr:`opaque`.
    """

    scheme: str
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: Params = ()
    headers: str = ""
    """The ``?h=v&...`` part without the ``?``."""
    opaque: str = ""

    def param(self, name: str) -> str | None:
        """A URI parameter's value ("" for a flag like ``;lr``), or None when absent."""
        return _param(self.params, name)

    @property
    def is_sip(self) -> bool:
        return self.scheme in ("sip", "sips")

    @property
    def user_unescaped(self) -> str | None:
        return None if self.user is None else unquote(self.user)

    @property
    def user_params(self) -> Params:
        """Parameters inside the user part: ``sip:+7701...;tgrp=TG1;trunk-context=x@host`` (RFC 4904)."""
        if self.user is None or ";" not in self.user:
            return ()
        return _parse_params(self.user[self.user.index(";") :], where="the user part")

    @property
    def hostport(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def with_params(self, *extra: tuple[str, str | None]) -> Uri:
        """This URI with parameters added (replacing any of the same name)."""
        names = {k.lower() for k, _ in extra}
        kept = tuple((k, v) for k, v in self.params if k.lower() not in names)
        return Uri(
            scheme=self.scheme,
            user=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            params=kept + tuple(extra),
            headers=self.headers,
            opaque=self.opaque,
        )

    def __str__(self) -> str:
        if self.scheme == "tel":
            text = f"tel:{self.user}{_format_params(self.params)}"
        elif self.is_sip:
            userinfo = ""
            if self.user is not None:
                userinfo = self.user if self.password is None else f"{self.user}:{self.password}"
                userinfo += "@"
            text = f"{self.scheme}:{userinfo}{self.hostport}{_format_params(self.params)}"
        else:
            return f"{self.scheme}:{self.opaque}"
        return f"{text}?{self.headers}" if self.headers else text


def _parse_port(text: str, where: str) -> int:
    port = _small_number(text, digits=5, most=65535)
    if not port:
        raise SipParseError(f"port '{_clip(text)}' in {where} is not 1..65535")
    return port


def _split_hostport(text: str, where: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(f"unclosed IPv6 reference in {where}")
        host, rest = text[: end + 1], text[end + 1 :]
        if not _IPV6_REFERENCE.fullmatch(host):
            raise SipParseError(f"bad IPv6 reference '{_clip(host)}' in {where}")
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise SipParseError(f"unexpected '{_clip(rest)}' after the host in {where}")
        return host, _parse_port(rest[1:], where)
    host, sep, port = text.partition(":")
    if not _HOSTNAME.fullmatch(host):
        raise SipParseError(f"'{_clip(host)}' is not a host name or address in {where}")
    return host, _parse_port(port, where) if sep else None


@_remembered
def parse_uri(text: str) -> Uri:
    """Parse a URI as it appears in a Request-URI or inside ``<>``.

    The user part ends at the last ``@`` before any ``?``: a ``?`` inside the user
    part (legal, never seen from switches) is read as the start of the headers.

    >>> parse_uri("sip:+77011234567@sbc.example;user=phone").param("user")
    'phone'
    >>> parse_uri("tel:+7-701-123-45-67;tgrp=TG1;trunk-context=+7").user
    '+7-701-123-45-67'
    """
    scheme, sep, rest = text.partition(":")
    if not sep or not _SCHEME.fullmatch(scheme):
        raise SipParseError(f"'{_clip(text)}' is not a URI")
    scheme = scheme.lower()
    if scheme == "tel":
        number, _, params = rest.partition(";")
        if not _TEL_NUMBER.fullmatch(number):
            raise SipParseError(f"'{_clip(text)}' is not a tel URI")
        return Uri(
            scheme="tel",
            user=number,
            params=_parse_params(";" + params, where="the tel URI") if params else (),
        )
    if scheme not in ("sip", "sips"):
        if not _OPAQUE.fullmatch(rest):
            raise SipParseError(f"'{_clip(text)}' is not a URI")
        return Uri(scheme=scheme, opaque=rest)
    question = rest.find("?")
    at = rest.rfind("@", 0, question if question >= 0 else len(rest))
    user: str | None = None
    password: str | None = None
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1 :]
        user, colon, secret = userinfo.partition(":")
        if colon:
            password = secret
            if not _PASSWORD.fullmatch(password):
                raise SipParseError(f"bad password part in '{_clip(text)}'")
        if not _USER.fullmatch(user) or _ESCAPE_CHECK.search(userinfo):
            raise SipParseError(f"bad user part in '{_clip(text)}'")
    headers = ""
    question = rest.find("?")
    if question >= 0:
        rest, headers = rest[:question], rest[question + 1 :]
        if not headers or not _OPAQUE.fullmatch(headers):
            raise SipParseError(f"bad headers part in '{_clip(text)}'")
    semicolon = rest.find(";")
    hostport, params = (rest, "") if semicolon < 0 else (rest[:semicolon], rest[semicolon:])
    host, port = _split_hostport(hostport, "the URI")
    return Uri(
        scheme=scheme,
        user=user,
        password=password,
        host=host,
        port=port,
        params=_parse_params(params, where="the URI"),
        headers=headers,
    )


# --- addresses: From, To, Contact, P-Asserted-Identity ----------------------------------

_DISPLAY_TOKENS = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+(?:[ \t]+[A-Za-z0-9\-.!%*_+`'~]+)*")
# Unquoted display names should be ASCII tokens; switches send UTF-8 words too, so read those.
_LENIENT_DISPLAY = re.compile(r'[^<>"\\]+')
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A name-addr or addr-spec with header parameters: ``"Bank" <sip:+7...@x>;tag=9f``.

    ``uri`` is None only for the ``Contact: *`` of a REGISTER.
    """

    uri: Uri | None
    display_name: str | None = None
    params: Params = ()

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    @property
    def tag(self) -> str | None:
        return self.param("tag") or None

    def __str__(self) -> str:
        if self.uri is None:
            return "*"
        name = ""
        if self.display_name is not None:
            if _DISPLAY_TOKENS.fullmatch(self.display_name):
                name = self.display_name + " "
            else:
                escaped = self.display_name.replace("\\", "\\\\").replace('"', '\\"')
                name = f'"{escaped}" '
        return f"{name}<{self.uri}>{_format_params(self.params)}"


@_remembered
def parse_address(text: str) -> Address:
    """Parse a From/To/Contact/P-Asserted-Identity value.

    In the addr-spec form (no ``<>``) parameters after the URI belong to the
    header, not to the URI (RFC 3261 §20.10): ``sip:a@b;tag=1`` has the tag 1.
    """
    text = text.strip()
    if text == "*":
        return Address(uri=None)
    display: str | None = None
    if text.startswith('"'):
        match = _QUOTED.match(text)
        if match is None:
            raise SipParseError(f"unterminated display name in '{_clip(text)}'")
        display = re.sub(r"\\(.)", r"\1", match.group(1))
        text = text[match.end() :].lstrip()
        if not text.startswith("<"):
            raise SipParseError(f"display name without <URI> in '{_clip(text)}'")
    open_angle = text.find("<")
    if open_angle >= 0:
        if display is None and open_angle > 0:
            words = text[:open_angle].strip()
            if words:
                if not _LENIENT_DISPLAY.fullmatch(words):
                    raise SipParseError(f"bad display name '{_clip(words)}'")
                display = words
        close = text.find(">", open_angle)
        if close < 0:
            raise SipParseError(f"unclosed <URI> in '{_clip(text)}'")
        uri = parse_uri(text[open_angle + 1 : close].strip())
        params = _parse_params(text[close + 1 :].strip(), where="the address")
        return Address(uri=uri, display_name=display, params=params)
    semicolon = text.find(";")
    spec, params_text = (text, "") if semicolon < 0 else (text[:semicolon], text[semicolon:])
    if any(c in spec for c in " \t,?"):
        raise SipParseError(f"'{_clip(text)}' must be written as <URI>")
    uri = parse_uri(spec)
    return Address(uri=uri, params=_parse_params(params_text, where="the address"))


# --- Via and CSeq -------------------------------------------------------------------------

_VIA = re.compile(
    r"([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*/[ \t]*"
    r"([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+([^;\s]+)[ \t]*(.*)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Via:
    """One hop of the ``Via`` path: ``SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK...``."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    @property
    def branch(self) -> str | None:
        return self.param("branch") or None

    @property
    def sent_by(self) -> str:
        """``host:port`` for transaction matching (lower case, default port made explicit)."""
        default = 5061 if self.transport == "TLS" else 5060
        return f"{self.host.lower()}:{self.port or default}"

    def with_params(self, *extra: tuple[str, str | None]) -> Via:
        names = {k.lower() for k, _ in extra}
        kept = tuple((k, v) for k, v in self.params if k.lower() not in names)
        return Via(transport=self.transport, host=self.host, port=self.port, params=kept + extra)

    def __str__(self) -> str:
        hostport = self.host if self.port is None else f"{self.host}:{self.port}"
        return f"SIP/2.0/{self.transport} {hostport}{_format_params(self.params)}"


def parse_via(text: str) -> Via:
    """Parse one ``Via`` value (whitespace around ``/`` allowed, RFC 3261 §20.42)."""
    match = _VIA.fullmatch(text.strip())
    if match is None:
        raise SipParseError(f"'{_clip(text)}' is not a Via value")
    name, version, transport, hostport, params = match.groups()
    if name.upper() != "SIP" or version != "2.0":
        raise SipParseError(f"Via protocol {name}/{version} is not SIP/2.0")
    host, port = _split_hostport(hostport, "the Via")
    return Via(
        transport=transport.upper(),
        host=host,
        port=port,
        params=_parse_params(params.strip(), where="the Via"),
    )


@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def _parse_cseq(text: str) -> CSeq:
    number, _, method = text.replace("\t", " ").partition(" ")
    method = method.strip(" ")
    value = _small_number(number, digits=10, most=2**31 - 1)
    if value is None or not _TOKEN.fullmatch(method):
        raise SipParseError(f"CSeq '{_clip(text)}' is not 'number METHOD' (number below 2**31)")
    return CSeq(value, method)


# --- messages -----------------------------------------------------------------------------


def _serialize(start_line: str, headers: Headers, body: bytes) -> bytes:
    lines = [start_line]
    length_written = False
    for name, value in headers:
        if name == "Content-Length":
            if length_written:
                continue
            value = str(len(body))
            length_written = True
        lines.append(f"{name}: {value}")
    if not length_written:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8") + body


def _one(headers: Headers, name: str, method: str) -> str:
    values = headers.get_all(name)
    if not values:
        raise SipParseError(f"missing {name} header", headers=headers, method=method)
    if len(values) > 1:
        raise SipParseError(f"more than one {name} header", headers=headers, method=method)
    return values[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """A SIP request. Building one checks the headers every request must carry (RFC 3261 §8.1.1)."""

    method: str
    uri: Uri
    headers: Headers
    body: bytes = b""
    via: tuple[Via, ...] = field(init=False, repr=False, compare=False)
    from_: Address = field(init=False, repr=False, compare=False)
    to: Address = field(init=False, repr=False, compare=False)
    call_id: str = field(init=False, repr=False, compare=False)
    cseq: CSeq = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        method, headers = self.method, self.headers
        if not _TOKEN.fullmatch(method):
            raise SipParseError(f"'{_clip(method)}' is not a method name", headers=headers)
        try:
            vias = tuple(parse_via(v) for v in headers.get_all("Via"))
            if not vias:
                raise SipParseError("missing Via header")
            from_ = parse_address(_one(headers, "From", method))
            to = parse_address(_one(headers, "To", method))
            if from_.uri is None or to.uri is None:
                raise SipParseError("From and To need a URI")
            call_id = _one(headers, "Call-ID", method)
            if not call_id or any(c in call_id for c in " \t"):
                raise SipParseError(f"Call-ID '{_clip(call_id)}' is not a single word")
            cseq = _parse_cseq(_one(headers, "CSeq", method))
            if cseq.method != method:
                raise SipParseError(f"CSeq method {cseq.method} does not match {method}")
            forwards = headers.get("Max-Forwards")
            if forwards is not None and _small_number(forwards, digits=3, most=255) is None:
                raise SipParseError(f"Max-Forwards '{_clip(forwards)}' is not 0..255")
        except SipParseError as error:
            raise SipParseError(
                error.reason, status=error.status, headers=headers, method=method
            ) from None
        object.__setattr__(self, "via", vias)
        object.__setattr__(self, "from_", from_)
        object.__setattr__(self, "to", to)
        object.__setattr__(self, "call_id", call_id)
        object.__setattr__(self, "cseq", cseq)

    @classmethod
    def _read(
        cls,
        *,
        method: str,
        uri: Uri,
        headers: Headers,
        body: bytes,
        via: tuple[Via, ...],
        from_: Address,
        to: Address,
        call_id: str,
        cseq: CSeq,
    ) -> Request:
        """A request whose headers the parser has already read and checked."""
        request = cls.__new__(cls)
        for name, value in (
            ("method", method),
            ("uri", uri),
            ("headers", headers),
            ("body", body),
            ("via", via),
            ("from_", from_),
            ("to", to),
            ("call_id", call_id),
            ("cseq", cseq),
        ):
            object.__setattr__(request, name, value)
        return request

    def to_bytes(self) -> bytes:
        """The request on the wire; ``Content-Length`` always states the body's true length."""
        return _serialize(f"{self.method} {self.uri} {SIP_VERSION}", self.headers, self.body)


_REASON_PHRASES = {
    100: "Trying",
    180: "Ringing",
    200: "OK",
    302: "Moved Temporarily",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    487: "Request Terminated",
    500: "Server Internal Error",
    503: "Service Unavailable",
    505: "Version Not Supported",
    513: "Message Too Large",
    603: "Decline",
    608: "Rejected",
}


def reason_phrase(status: int) -> str:
    """The usual reason phrase of a status code."""
    return _REASON_PHRASES.get(status, "Unknown")


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """A SIP response."""

    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 699:
            raise SipParseError(f"status {self.status} is outside 100..699", headers=self.headers)
        if "\r" in self.reason or "\n" in self.reason:
            raise SipParseError("reason phrase has a line break", headers=self.headers)

    def to_bytes(self) -> bytes:
        return _serialize(f"{SIP_VERSION} {self.status} {self.reason}", self.headers, self.body)


#: The header fields a response copies from its request (RFC 3261 §8.2.6).
_ANSWER_COPIES = frozenset(("Via", "From", "To", "Call-ID", "CSeq"))
#: Header names of responses already checked (as given → canonical): the same few every call.
_ANSWER_NAMES: dict[str, str] = {}


def build_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response to ``request`` per RFC 3261 §8.2.6.

    ``Via`` values, ``From``, ``Call-ID`` and ``CSeq`` are copied as they are; ``To``
    is copied and given ``to_tag`` when it has none and the response is not 100.
    """
    tagged = bool(to_tag) and status != 100 and request.to.tag is None
    fields = [
        (name, f"{value};tag={to_tag}" if tagged and name == "To" else value)
        for name, value in request.headers._fields
        if name in _ANSWER_COPIES
    ]
    for name, value in extra:
        canonical = _ANSWER_NAMES.get(name)
        if canonical is None:
            if not _TOKEN.fullmatch(name):
                raise SipParseError(f"'{_clip(name)}' is not a header name")
            canonical = canonical_name(name)
            if len(_ANSWER_NAMES) < MEMO_ENTRIES:
                _ANSWER_NAMES[name] = canonical
        _check_value(name, value)
        fields.append((canonical, value))
    return Response(
        status=status,
        reason=reason or reason_phrase(status),
        headers=Headers._read(fields),
        body=body,
    )


# --- reading bytes ------------------------------------------------------------------------

_STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6][0-9]{2}) (.*)", re.IGNORECASE)
_VERSION = re.compile(r"[A-Za-z]+/[0-9]+\.[0-9]+")


def _clip(text: str, limit: int = 60) -> str:
    """A short, printable excerpt of bad input for an error message."""
    if len(text) <= limit and text.isprintable():
        return text
    clean = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return clean + "…" if len(text) > limit else clean


#: Content-Length is read only up to this many digits: 999,999,999 bytes is past any size limit.
_CONTENT_LENGTH_DIGITS = 9


def _small_number(text: str, *, digits: int, most: int | None = None) -> int | None:
    """``text`` as a number when it is 1 to ``digits`` ASCII digits (and at most ``most``), else None.

    Every number read from a header goes through here: ``int()`` alone accepts
    other scripts' digits ('²', '٣') and raises ``ValueError`` past 4,300 digits,
    and its cost grows with the length an attacker chooses.
    """
    if not 0 < len(text) <= digits or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if most is None or value <= most else None


def _find_head_end(data: bytes | bytearray, start: int) -> tuple[int, int]:
    """Index of the empty line ending the header block and its length, or (-1, 0)."""
    crlf = data.find(b"\r\n\r\n", start)
    lf = data.find(b"\n\n", start)
    if crlf >= 0 and (lf < 0 or crlf <= lf):
        return crlf, 4
    if lf >= 0:
        return lf, 2
    return -1, 0


def _skip_blank_lines(data: bytes | bytearray, start: int = 0) -> int:
    """RFC 3261 §7.5: CRLFs before the start line are ignored (keep-alives on streams)."""
    end = len(data)
    while start < end and data[start] in (0x0D, 0x0A):
        start += 1
    return start


def _unfold(lines: list[str]) -> tuple[list[str], SipParseError | None]:
    """Header lines with their continuation lines (folding, RFC 3261 §7.3.1) joined on."""
    raw: list[str] = []
    problem: SipParseError | None = None
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not raw:
                problem = problem or SipParseError("a folded line before any header")
                continue
            raw[-1] = raw[-1].rstrip(" \t") + " " + line.strip(" \t")
        else:
            raw.append(line)
    return raw, problem


def _read_head(head: bytes) -> tuple[str, list[tuple[str, str]], SipParseError | None]:
    """Split a header block into its start line and fields.

    Bad field lines are skipped and the first problem is returned alongside, so
    that the fields that could be read are still there to answer with.
    """
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("utf-8", "replace")
        problem: SipParseError | None = SipParseError("the message is not valid UTF-8")
    else:
        problem = None
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    start_line = lines[0]
    fields: list[tuple[str, str]] = []
    if "\n " in text or "\n\t" in text:
        raw, folding = _unfold(lines[1:])
        problem = problem or folding
    else:
        raw = lines[1:]
    suspicious = "\r" in text or "\0" in text
    for line in raw:
        if suspicious and ("\r" in line or "\0" in line):
            problem = problem or SipParseError("a stray CR or NUL inside a header line")
            continue
        name, colon, value = line.partition(":")
        lowered = name.rstrip(" \t").lower()
        canonical = _CANONICAL.get(lowered)
        if canonical is None:
            name = name.rstrip(" \t")
            if not colon or not _TOKEN.fullmatch(name):
                problem = problem or SipParseError(f"'{_clip(line)}' is not a header line")
                continue
            canonical = name
        elif not colon:
            problem = problem or SipParseError(f"'{_clip(line)}' is not a header line")
            continue
        value = value.strip(" \t")
        if lowered in _LIST_KEYS:
            try:
                values = split_header_values(value)
            except SipParseError as error:
                problem = problem or error
                continue
            fields.extend((canonical, v) for v in values)
        else:
            fields.append((canonical, value))
    return start_line, fields, problem


def _content_length(headers: Headers, method: str | None) -> int | None:
    values = set(headers.get_all("Content-Length"))
    if not values:
        return None
    if len(values) > 1:
        raise SipParseError("conflicting Content-Length headers", headers=headers, method=method)
    (value,) = values
    length = _small_number(value, digits=_CONTENT_LENGTH_DIGITS)
    if length is None:
        raise SipParseError(
            f"Content-Length '{_clip(value)}' is not a number of at most {_CONTENT_LENGTH_DIGITS} digits",
            headers=headers,
            method=method,
        )
    return length


def _request_method(start_line: str, headers: Headers, problem: SipParseError | None) -> str | None:
    """The method of a request's start line; None for a response's. Raises for a bad one.

    ``problem``, the first fault found in the header block, is raised once the
    start line is known good, so that the error can say whether a request failed.
    """
    if start_line[:4].upper() == "SIP/":
        if _STATUS_LINE.fullmatch(start_line) is None:
            raise SipParseError(f"bad status line '{_clip(start_line)}'", headers=headers)
        if problem is not None:
            raise SipParseError(problem.reason, headers=headers)
        return None
    parts = start_line.split(" ")
    method = parts[0] if parts and _TOKEN.fullmatch(parts[0]) else None
    if len(parts) != 3 or method is None:
        raise SipParseError(
            f"bad request line '{_clip(start_line)}'", headers=headers, method=method
        )
    if parts[2].upper() != SIP_VERSION:
        status = 505 if _VERSION.fullmatch(parts[2]) else 400
        raise SipParseError(
            f"version '{_clip(parts[2])}' is not SIP/2.0",
            status=status,
            headers=headers,
            method=method,
        )
    if problem is not None:
        raise SipParseError(problem.reason, headers=headers, method=method)
    return method


def _framed_body(body: bytes, headers: Headers, method: str | None, *, stream: bool) -> bytes:
    """The body as ``Content-Length`` frames it (see :func:`parse_message`)."""
    length = _content_length(headers, method)
    if length is None:
        if stream:
            raise SipParseError(
                "Content-Length is required on a stream", headers=headers, method=method
            )
    elif length > len(body):
        raise SipParseError(
            f"Content-Length {length} is more than the {len(body)} body bytes that arrived",
            headers=headers,
            method=method,
        )
    elif length < len(body):
        if stream:
            raise SipParseError(
                "Content-Length does not match the framing", headers=headers, method=method
            )
        body = body[:length]
    return body


def parse_message(
    data: bytes, *, stream: bool = False, max_size: int = MAX_MESSAGE_SIZE
) -> Request | Response:
    """Read one SIP message.

    With ``stream=False`` (a UDP datagram) a missing ``Content-Length`` means the
    body runs to the end of the packet, and bytes past the stated length are
    dropped (RFC 3261 §18.3). With ``stream=True`` ``data`` must be exactly one
    message, ``Content-Length`` included, as :class:`StreamParser` frames it.

    The INVITEs and ACKs an SBC sends call after call are read the short way
    (:func:`parse_common_request`); every other message, and any the short
    way is unsure of, by the full reader (:func:`parse_message_full`). Both
    give the same answer for every message (a property test holds them to it).
    """
    if len(data) <= max_size:
        request = parse_common_request(data, stream=stream)
        if request is not None:
            return request
    return parse_message_full(data, stream=stream, max_size=max_size)


def parse_message_full(
    data: bytes, *, stream: bool = False, max_size: int = MAX_MESSAGE_SIZE
) -> Request | Response:
    """:func:`parse_message` the long way: the reference reader of every message, good or bad.

    Whatever it cannot read raises :class:`SipParseError` with the header fields
    that could be read, so that a 400 can still be routed back.
    """
    if len(data) > max_size:
        raise SipParseError(f"message of {len(data)} bytes is over {max_size}", status=513)
    start = _skip_blank_lines(data)
    if start == len(data):
        raise SipParseError("empty message")
    head_end, separator = _find_head_end(data, start)
    if head_end < 0:
        if stream:
            raise SipParseError("no empty line after the headers")
        head_end, separator = len(data), 0
    start_line, fields, problem = _read_head(bytes(data[start:head_end]))
    headers = Headers._read(fields)
    body = bytes(data[head_end + separator :])

    message_method = _request_method(start_line, headers, problem)
    body = _framed_body(body, headers, message_method, stream=stream)
    message: Request | Response
    if message_method is None:
        match = _STATUS_LINE.fullmatch(start_line)
        assert match is not None
        message = Response(
            status=int(match.group(1)), reason=match.group(2), headers=headers, body=body
        )
    else:
        try:
            uri = parse_uri(start_line.split(" ")[1])
        except SipParseError as error:
            raise SipParseError(
                f"bad Request-URI: {error.reason}", headers=headers, method=message_method
            ) from None
        message = Request(method=message_method, uri=uri, headers=headers, body=body)
    return message


# --- the common INVITE and ACK, read the short way ---------------------------------------

#: What the short way reads: an INVITE or ACK request line in exactly ``SIP/2.0``, then header
#: lines ``Name: value`` in ASCII, each ended by CRLF, without folding, stray CR, LF or NUL.
_COMMON_HEAD = re.compile(
    r"(?:INVITE|ACK) [^ \r\n\0]+ SIP/2\.0(?:\r\n[A-Za-z0-9\-.!%*_+`'~]+:[^\r\n\0]*)+"
)
#: One header line of a block :data:`_COMMON_HEAD` has matched: the name, the value less its
#: leading blanks (its trailing ones are stripped after).
_COMMON_FIELD = re.compile(r"\r\n([^:]+):[ \t]*([^\r\n]*)")
#: A Via written plainly: ``SIP/2.0/UDP host[:port];params`` (an IPv6 host takes the long way).
_COMMON_VIA = re.compile(
    r"SIP/2\.0/([A-Z]+) ([A-Za-z0-9](?:[A-Za-z0-9\-_.]*[A-Za-z0-9_.])?)(?::([1-9][0-9]{0,4}))?"
    r"(;\S*)?"
)
_COMMON_CSEQ = re.compile(r"([0-9]{1,9}) (INVITE|ACK)")
#: The header fields checked one by one, by the lower-case names (long and compact) they come in.
_CHECKED_KEYS: dict[str, str] = {
    alias: key
    for alias, key in _KEYS.items()
    if key in ("from", "to", "call-id", "cseq", "content-length", "max-forwards")
}


#: Header names as written → (canonical name, list-valued, the key checked one by one or None).
_NAME_FACTS: dict[str, tuple[str, bool, str | None]] = {}


def _name_facts(name: str) -> tuple[str, bool, str | None]:
    """What the short way needs to know of a header name, remembered (at most MEMO_ENTRIES)."""
    lowered = name.lower()
    facts = (_CANONICAL.get(lowered, name), lowered in _LIST_KEYS, _CHECKED_KEYS.get(lowered))
    if len(_NAME_FACTS) >= MEMO_ENTRIES:
        _NAME_FACTS.clear()
    _NAME_FACTS[name] = facts
    return facts


def parse_common_request(data: bytes, *, stream: bool = False) -> Request | None:
    """An INVITE or ACK read the short way, or None: then only :func:`parse_message_full` can say.

    What an SBC sends call after call (ASCII, CRLF line ends, no folding, a plain
    ``Via``, one ``From``, ``To``, ``Call-ID`` and ``CSeq``) is checked with one
    pattern over the whole header block and a handful of string operations, and
    read into the very :class:`Request` the full reader would give. Anything
    else (another method, UTF-8, folding, an IPv6 Via, a wrong ``Content-Length``,
    a header the full reader would refuse) gives None, and the full reader,
    which stays the reference, answers for it. It never raises.
    """
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = data[:head_end]
    if not head.isascii() or _COMMON_HEAD.fullmatch(text := head.decode("ascii")) is None:
        return None
    method, target, _ = text[: text.find("\r\n")].split(" ")
    fields: list[tuple[str, str]] = []
    vias: list[str] = []
    checked: dict[str, list[str]] = {}
    try:
        for name, value in _COMMON_FIELD.findall(text):
            canonical, listed, key = _NAME_FACTS.get(name) or _name_facts(name)
            value = value.rstrip(" \t")
            if listed:
                values = split_header_values(value) if "," in value else [value] if value else []
                fields.extend((canonical, v) for v in values)
                if canonical == "Via":
                    vias.extend(values)
                continue
            fields.append((canonical, value))
            if key is not None:
                checked.setdefault(key, []).append(value)
        body = _common_body(data[head_end + 4 :], checked.get("content-length"), stream=stream)
        if body is None or not _common_max_forwards(checked.get("max-forwards")):
            return None
        return _common_request(method, target, fields, vias, checked, body)
    except SipParseError:
        return None


def _common_body(body: bytes, lengths: list[str] | None, *, stream: bool) -> bytes | None:
    """The body as ``Content-Length`` frames it, or None when the full reader must judge."""
    if lengths is None:
        return None if stream else body
    if len(set(lengths)) != 1:
        return None
    length = _small_number(lengths[0], digits=_CONTENT_LENGTH_DIGITS)
    if length is None or length > len(body) or (stream and length != len(body)):
        return None
    return body if length == len(body) else body[:length]


def _common_max_forwards(values: list[str] | None) -> bool:
    return values is None or _small_number(values[0], digits=3, most=255) is not None


def _common_via(text: str) -> Via | None:
    match = _COMMON_VIA.fullmatch(text)
    if match is None:
        return None
    transport, host, port_text, params = match.groups()
    port = None if port_text is None else int(port_text)
    if port is not None and port > 65535:
        return None
    return Via(
        transport=transport,
        host=host,
        port=port,
        params=_parse_params(params, where="the Via") if params else (),
    )


def _common_request(
    method: str,
    target: str,
    fields: list[tuple[str, str]],
    vias: list[str],
    checked: dict[str, list[str]],
    body: bytes,
) -> Request | None:
    """The request from what the short way read, or None when a header needs the full reader."""
    if not vias or any(len(checked.get(k, ())) != 1 for k in ("from", "to", "call-id", "cseq")):
        return None
    call_id = checked["call-id"][0]
    cseq = _COMMON_CSEQ.fullmatch(checked["cseq"][0])
    if not call_id or " " in call_id or "\t" in call_id or cseq is None or cseq[2] != method:
        return None
    via = tuple(_common_via(v) for v in vias)
    from_ = parse_address(checked["from"][0])
    to = parse_address(checked["to"][0])
    if None in via or from_.uri is None or to.uri is None:
        return None
    return Request._read(
        method=method,
        uri=parse_uri(target),
        headers=Headers._read(fields),
        body=body,
        via=cast(tuple[Via, ...], via),
        from_=from_,
        to=to,
        call_id=call_id,
        cseq=CSeq(int(cseq[1]), method),
    )


_CONTENT_LENGTH_LINE = re.compile(
    rb"\n(?:content-length|l)[ \t]*:[ \t]*([0-9]+)[ \t]*\r?(?=\n|$)", re.IGNORECASE
)


class StreamParser:
    """Frames SIP messages out of a byte stream (TCP, TLS): feed chunks, take messages.

    >>> parser = StreamParser()
    >>> parser.feed(b"OPTIONS sip:q@x SIP/2.0\\r\\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\\r\\n")
    >>> parser.next_message() is None
    True

    :meth:`next_message` raises :class:`SipParseError` for a bad message. When the
    message could still be framed (its ``Content-Length`` was readable) the parser
    has consumed it and carries on with the next; otherwise the stream has lost
    its framing, :attr:`broken` turns true and every later call raises again:
    the connection should then be closed.
    """

    def __init__(self, *, max_message_size: int = MAX_MESSAGE_SIZE) -> None:
        self.max_message_size = max_message_size
        self._buffer = bytearray()
        self._broken: SipParseError | None = None
        self._searched = 0
        """Bytes of the buffer already searched for the end of the header block, in vain:
        a header block dribbled a byte at a time costs linear time, not quadratic."""

    @property
    def broken(self) -> bool:
        return self._broken is not None

    @property
    def buffered(self) -> int:
        """Bytes received and not yet part of a complete message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def _fail(self, error: SipParseError) -> SipParseError:
        self._broken = error
        self._buffer.clear()
        self._searched = 0
        return error

    def next_message(self) -> Request | Response | None:
        """The next complete message, or None until more bytes arrive."""
        if self._broken is not None:
            raise SipParseError(f"the stream lost its framing earlier: {self._broken.reason}")
        buffer = self._buffer
        start = _skip_blank_lines(buffer)
        if start:
            del buffer[:start]
            self._searched = 0
        if not buffer:
            return None
        head_end, separator = _find_head_end(buffer, max(self._searched - 3, 0))
        if head_end < 0:
            if len(buffer) > self.max_message_size:
                raise self._fail(SipParseError("header block over the size limit", status=513))
            self._searched = len(buffer)
            return None
        head_size = head_end + separator
        lengths = set(_CONTENT_LENGTH_LINE.findall(bytes(buffer[:head_end])))
        if len(lengths) != 1 or len(next(iter(lengths))) > _CONTENT_LENGTH_DIGITS:
            # None, several or an absurd one: parse_message says which, with the headers to answer.
            try:
                parse_message(bytes(buffer[:head_size]), stream=True)
            except SipParseError as error:
                raise self._fail(error) from None
            raise self._fail(SipParseError("cannot frame the message"))  # pragma: no cover
        total = head_size + int(lengths.pop())
        if total > self.max_message_size:
            raise self._fail(
                SipParseError(f"message of {total} bytes is over the size limit", status=513)
            )
        if len(buffer) < total:
            return None
        data = bytes(buffer[:total])
        del buffer[:total]
        self._searched = 0
        return parse_message(data, stream=True, max_size=self.max_message_size)

    def messages(self) -> Iterator[Request | Response]:
        """Every complete message buffered so far."""
        while (message := self.next_message()) is not None:
            yield message
