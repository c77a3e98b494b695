"""The screening node's SIP face without sockets: an INVITE in, a redirect out.

The operator's SBC or softswitch sends each inbound INVITE here and follows the
answer: ``302 Moved Temporarily`` to the dialled number (``allow``), to the
warning announcement (``warn``) or to the anti-call-center (``divert``), or
``603 Decline`` / ``608 Rejected`` (``block``). Every answer carries the
decision as headers: ``X-Qalqan-Action``, ``X-Qalqan-Score``,
``X-Qalqan-Reasons`` (and ``X-Qalqan-Latency-Us``), so the switch's logs and
CDRs say why a call went where it went.

Two halves:

- Pure mappings, usable on their own: :func:`call_attempt` turns an INVITE into
  the :class:`~qalqan.domain.model.CallAttempt` the screening engine judges
  (caller from ``P-Asserted-Identity`` else ``From``; callee from the
  Request-URI; ingress from RFC 4904 ``tgrp``/``trunk-context`` or the sending
  SBC's address; the RFC 8224 ``Identity`` header; the ``Date`` within
  ``client_time_skew_s``; the cell, IMEI and IMSI of a mobile-originated call and
  the attestation the SBC verified, by :mod:`qalqan.sip.radio`), and
  :func:`decision_response` turns a :class:`~qalqan.domain.model.Decision` into
  the SIP answer.
- :class:`RedirectService`, the whole server minus sockets: bytes and the time
  in, :class:`~qalqan.sip.transaction.Send` actions out. It hands each call
  attempt to the :class:`~qalqan.screening.node.ScreeningNode`, which runs the
  engine under the node's deadline (counted from the INVITE's arrival) and
  fails open — an exception, a missed deadline or a full queue answers the
  fail-open action (the default, or the one chosen for the call's ingress
  class: divert for international routes, say), with a reason saying so,
  rather than leaving a subscriber's call hanging. Tests and tools can run it
  in-process; :mod:`qalqan.sip.server` only moves its bytes.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from qalqan.domain.model import Action, CallAttempt, Decision, Ingress, IngressClass, Reason
from qalqan.domain.numbers import normalise, region_of_engine
from qalqan.errors import NumberError
from qalqan.screening.node import NodeSettings, ScreeningNode
from qalqan.sip.config import SipConfig
from qalqan.sip.decisions_log import DecisionsLog
from qalqan.sip.message import (
    Headers,
    Request,
    Response,
    SipParseError,
    Uri,
    build_response,
    parse_address,
    parse_message,
    parse_uri,
    parse_via,
    reason_phrase,
)
from qalqan.sip.metrics import SipMetrics
from qalqan.sip.radio import (
    parse_access_cell,
    parse_attestation,
    parse_imsi,
    parse_instance_imei,
    parse_sip_date,
)
from qalqan.sip.transaction import Peer, Send, ServerTransactions

__all__ = [
    "Decide",
    "IngressMap",
    "RedirectService",
    "attempt_time",
    "call_attempt",
    "caller_number",
    "decision_response",
    "dialled_number",
    "header_safe",
    "malformed_response",
    "node_settings",
    "telephone_number",
]

#: The screening engine as the SIP face sees it: a call attempt in, a decision out.
Decide = Callable[[CallAttempt], Decision]

_VISUAL_SEPARATORS = str.maketrans("", "", "-.() ")
_SUPPORTED_SCHEMES = ("sip", "sips", "tel")


# --- INVITE → CallAttempt -----------------------------------------------------------------


def telephone_number(uri: Uri, *, region: str | None) -> str | None:
    """The E.164 number a URI names, or None when it names no telephone number.

    ``tel:`` URIs always name one; ``sip:``/``sips:`` URIs do when marked
    ``user=phone`` or when their user part is a number (``+``, digits, visual
    separators). User-part parameters (``;npdi``, ``;tgrp=``) are not part of it.
    """
    if uri.scheme == "tel":
        raw = uri.user or ""
    elif uri.is_sip and uri.user is not None:
        raw = (uri.user_unescaped or "").split(";", 1)[0]
        digits = raw.translate(_VISUAL_SEPARATORS)
        plain = digits[1:] if digits.startswith("+") else digits
        if not (plain.isdigit() and plain.isascii()):
            return None
    else:
        return None
    try:
        return normalise(raw, region=region)
    except NumberError:
        return None


def dialled_number(request: Request, *, region: str | None) -> str | None:
    """The called party's E.164 number, from the Request-URI."""
    return telephone_number(request.uri, region=region)


def caller_number(request: Request, *, region: str | None) -> str | None:
    """The caller's E.164 number: the network-asserted identity if any, else From.

    ``P-Asserted-Identity`` is what the operator's own network vouches for
    (RFC 3325); ``From`` is whatever the caller wrote. Of several asserted
    identities (a sip: and a tel: one, say) the first naming a number wins.
    None when no number is presented (anonymous, or not a telephone number).
    """
    for value in request.headers.get_all("P-Asserted-Identity"):
        try:
            address = parse_address(value)
        except SipParseError:
            continue
        if address.uri is not None:
            number = telephone_number(address.uri, region=region)
            if number is not None:
                return number
    if request.from_.uri is None:
        return None
    return telephone_number(request.from_.uri, region=region)


@dataclass(frozen=True, slots=True)
class IngressMap:
    """How a call's ingress is told: trunk groups first, then the sending SBC's address."""

    trunk_groups: dict[str, Ingress]
    exact_sources: dict[str, Ingress]
    source_networks: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Ingress], ...]
    default: Ingress

    @classmethod
    def from_config(cls, config: SipConfig) -> IngressMap:
        exact: dict[str, Ingress] = {}
        networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Ingress]] = []
        for source, text in config.source_ingress.items():
            network = ipaddress.ip_network(source, strict=False)
            if network.num_addresses == 1:
                exact[str(network.network_address)] = Ingress.parse(text)
            else:
                networks.append((network, Ingress.parse(text)))
        networks.sort(key=lambda item: item[0].prefixlen, reverse=True)
        return cls(
            trunk_groups={k: Ingress.parse(v) for k, v in config.trunk_groups.items()},
            exact_sources=exact,
            source_networks=tuple(networks),
            default=Ingress.parse(config.default_ingress),
        )

    def by_source(self, host: str) -> Ingress | None:
        found = self.exact_sources.get(host)
        if found is not None or not self.source_networks:
            return found
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None
        for network, ingress in self.source_networks:
            if address in network:
                return ingress
        return None

    def of(self, request: Request, source_host: str) -> Ingress:
        """The ingress of a call: its RFC 4904 trunk group, else its source, else the default.

        The originating trunk group is looked for in the Contact (where RFC 4904
        puts it), then in the Request-URI; a trunk group not in the map still names
        the route, with the class the source address (or the default) gives.
        """
        by_source = self.by_source(source_host)
        for group, context in _trunk_groups(request):
            mapped = self.trunk_groups.get(f"{group}@{context}") if context else None
            mapped = mapped or self.trunk_groups.get(group)
            if mapped is not None:
                return mapped
            kind = (by_source or self.default).kind
            return Ingress(kind=kind, route=group)
        return by_source or self.default


def _trunk_groups(request: Request) -> Iterable[tuple[str, str]]:
    uris: list[Uri] = []
    for value in request.headers.get_all("Contact"):
        try:
            address = parse_address(value)
        except SipParseError:
            continue
        if address.uri is not None:
            uris.append(address.uri)
    uris.append(request.uri)
    for uri in uris:
        try:
            params = uri.user_params + uri.params
        except SipParseError:
            params = uri.params
        group: str | None = None
        context: str | None = None
        for name, param_value in params:
            lowered = name.lower()
            if lowered == "tgrp" and param_value:
                group = param_value
            elif lowered == "trunk-context" and param_value:
                context = param_value
        if group:
            yield group, context or ""


def attempt_time(request: Request, *, node_time: datetime, skew_s: float) -> datetime:
    """When the call was made: its ``Date`` header within ``skew_s`` of ``node_time``, else
    ``node_time``.

    The engine's rolling state moves with its attempts' times, so a Date from outside
    never moves it further than ``skew_s`` from the node's own clock (0: never believed;
    ``inf``: always, for replaying recorded calls).
    """
    if skew_s <= 0:
        return node_time
    said = parse_sip_date(request.headers.get("Date"))
    if said is None or abs((said - node_time).total_seconds()) > skew_s:
        return node_time
    return said


def call_attempt(
    request: Request,
    *,
    source_host: str,
    config: SipConfig,
    ingress: IngressMap | None = None,
    at: datetime | None = None,
    region: str | None = None,
) -> CallAttempt | None:
    """The call attempt an INVITE describes, or None when it dials no telephone number.

    National-format numbers are read by ``region``, else by ``config.region`` unless it
    is ``auto`` (then they are left unread: the operator's country is not known). ``at``
    is the node's own time of arrival (None: now); the ``Date`` header replaces it only
    within ``config.client_time_skew_s`` (:func:`attempt_time`).
    """
    if region is None and config.region != "auto":
        region = config.region
    callee = dialled_number(request, region=region)
    if callee is None:
        return None
    ingress_map = ingress or IngressMap.from_config(config)
    route = ingress_map.of(request, source_host)
    headers = request.headers
    imsi = imei = cell = None
    if route.kind is IngressClass.MOBILE:  # radio facts belong to our own subscribers' calls
        imsi = parse_imsi(headers.get(config.imsi_header))
        imei = parse_instance_imei(headers.get_all("Contact"))
        cell = parse_access_cell(headers.get_all("P-Access-Network-Info"))
    node_time = at or datetime.now(UTC)
    return CallAttempt(
        time=attempt_time(request, node_time=node_time, skew_s=config.client_time_skew_s),
        caller=caller_number(request, region=region),
        callee=callee,
        ingress=route,
        imsi=imsi,
        imei=imei,
        cell=cell,
        identity=headers.get("Identity") or None,
        record_id=request.call_id,
        attest=parse_attestation(
            headers.get("P-Attestation-Indicator"),
            [*headers.get_all("P-Asserted-Identity"), *headers.get_all("From")],
        ),
    )


# --- Decision → response ------------------------------------------------------------------


def header_safe(text: str, *, limit: int) -> str:
    """Text fit for one header value: no control characters, at most ``limit`` characters."""
    clean = text if text.isprintable() else "".join(c if c.isprintable() else " " for c in text)
    clean = clean.strip()
    if len(clean) > limit:
        clean = clean[: limit - 1].rstrip() + "…"
    return clean


def _contact(template: str, *, number: str, request: Request) -> str:
    user = request.uri.user or ""
    uri = template.format(number=number, user=user, host=request.uri.hostport)
    return f"<{uri}>"


def _redirect_to(uri_text: str, *, number: str, param: str) -> str:
    uri = parse_uri(uri_text).with_params((param, number))
    return f"<{uri}>"


def decision_response(
    request: Request,
    decision: Decision,
    *,
    config: SipConfig,
    to_tag: str,
    callee: str | None = None,
) -> Response:
    """The SIP answer that carries out ``decision`` for the INVITE ``request``.

    ``callee`` is the dialled number in E.164; when the Request-URI named no
    number (the call could not be screened), an ``allow`` redirects to the
    Request-URI itself.
    """
    reasons = header_safe(decision.reasons_text(), limit=config.reasons_max_chars)
    extra: list[tuple[str, str]] = []
    action = decision.action
    if action is Action.BLOCK:
        status = config.block_status
    else:
        status = 302
        if callee is None:
            contact = f"<{request.uri}>"
        elif action is Action.ALLOW:
            contact = _contact(config.allow_contact, number=callee, request=request)
        elif action is Action.WARN:
            contact = _redirect_to(config.warning_uri, number=callee, param=config.target_param)
        else:
            contact = _redirect_to(config.divert_uri, number=callee, param=config.target_param)
        extra.append(("Contact", contact))
    extra += [
        ("X-Qalqan-Action", action.value),
        ("X-Qalqan-Score", f"{decision.score:.3f}"),
        ("X-Qalqan-Reasons", reasons),
        ("X-Qalqan-Latency-Us", str(round(decision.latency_us))),
    ]
    if config.server_name:
        extra.append(("Server", config.server_name))
    return build_response(request, status, to_tag=to_tag, extra=extra)


_ANSWER_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")


def malformed_response(error: SipParseError, *, server_name: str = "") -> Response | None:
    """A response to a request that could not be parsed, or None when it cannot be answered.

    Answerable means: a request (never an ACK, never a response) whose ``Via``,
    ``From``, ``To``, ``Call-ID`` and ``CSeq`` were readable enough to copy, so the
    switch can match the answer to what it sent. The reason goes into the
    reason phrase and a ``Warning: 399`` header (RFC 3261 §20.43).
    """
    headers = error.headers
    if headers is None or error.method in (None, "ACK"):
        return None
    if any(name not in headers for name in _ANSWER_HEADERS):
        return None
    try:
        parse_via(headers.get_all("Via")[0])
    except SipParseError:
        return None
    fields = [(name, value) for name, value in headers if name in _ANSWER_HEADERS]
    to_value = headers.get("To") or ""
    if ";tag=" not in to_value.replace(" ", "").lower():
        fields = [(n, f"{v};tag=malformed" if n == "To" else v) for n, v in fields]
    detail = header_safe(error.reason, limit=120).replace('"', "'")
    fields.append(("Warning", f'399 qalqan "{detail}"'))
    if server_name:
        fields.append(("Server", server_name))
    status = error.status if error.status in (400, 505, 513) else 400
    phrase = header_safe(f"{reason_phrase(status)} ({detail})", limit=160)
    try:
        return Response(status=status, reason=phrase, headers=Headers(fields))
    except SipParseError:
        return None


# --- the service --------------------------------------------------------------------------


class RedirectService:
    """The SIP redirect server minus its sockets.

    >>> from qalqan.domain.model import Action, Decision
    >>> service = RedirectService(
    ...     config=SipConfig(udp_port=0, tcp_port=None),
    ...     decide=lambda attempt: Decision(action=Action.ALLOW, score=0.0),
    ... )
    >>> peer = Peer("udp", "192.0.2.1", 5060)
    >>> invite = (
    ...     b"INVITE tel:+77011234567 SIP/2.0\\r\\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\\r\\n"
    ...     b"From: <tel:+77010000001>;tag=a\\r\\nTo: <tel:+77011234567>\\r\\nCall-ID: c1\\r\\n"
    ...     b"CSeq: 1 INVITE\\r\\nContent-Length: 0\\r\\n\\r\\n"
    ... )
    >>> [send] = service.handle_datagram(invite, peer=peer, now=0.0)
    >>> send.data.split(b"\\r\\n")[0]
    b'SIP/2.0 302 Moved Temporarily'
    """

    def __init__(
        self,
        *,
        config: SipConfig,
        decide: Decide | ScreeningNode,
        metrics: SipMetrics | None = None,
        clock: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tag_secret: bytes | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics if metrics is not None else SipMetrics()
        if isinstance(decide, ScreeningNode):
            self.node = decide
            self.metrics.node = decide.metrics
        else:  # a bare engine: the node's deadline and fail-open policy from the SIP settings
            self.node = ScreeningNode(
                decide,
                settings=node_settings(config),
                metrics=self.metrics.node,
                clock=clock,
            )
        self.clock = clock
        self.wall_clock = wall_clock
        self.ingress = IngressMap.from_config(config)
        self.decisions_log = (
            DecisionsLog(config.decisions_log, max_bytes=config.decisions_log_max_bytes)
            if config.decisions_log is not None
            else None
        )
        self.transactions = ServerTransactions(
            timers=config.timers,
            server_name=config.server_name,
            max_transactions=config.max_transactions,
            tag_secret=tag_secret,
            counters=self.metrics.transactions,
            ready=lambda: self.node.ready,
        )

    @property
    def decide(self) -> Decide:
        """The engine the node screens with."""
        return self.node.decide

    @property
    def region(self) -> str | None:
        """The numbering plan national-format numbers are read by; None while unknown."""
        if self.config.region != "auto":
            return self.config.region
        return region_of_engine(self.node.decide)

    # --- input ---------------------------------------------------------------------------

    def handle_datagram(
        self,
        data: bytes,
        *,
        peer: Peer,
        now: float,
        arrived: float | None = None,
        shed: bool = False,
    ) -> list[Send]:
        """Handle one UDP datagram. ``shed`` answers INVITEs unscreened (over capacity)."""
        try:
            message = parse_message(data, max_size=self.config.max_message_size)
        except SipParseError as error:
            return self.handle_malformed(error, peer=peer)
        return self.handle_message(message, peer=peer, now=now, arrived=arrived, shed=shed)

    def handle_malformed(self, error: SipParseError, *, peer: Peer) -> list[Send]:
        """Answer 400 (505, 513) when the bad request can be answered; otherwise drop it."""
        self.metrics.parse_errors += 1
        response = malformed_response(error, server_name=self.config.server_name)
        if response is None:
            self.metrics.malformed_dropped += 1
            return []
        self.metrics.responses_by_status[response.status] += 1
        return [Send(peer, response.to_bytes())]

    def handle_message(
        self,
        message: Request | Response,
        *,
        peer: Peer,
        now: float,
        arrived: float | None = None,
        shed: bool = False,
    ) -> list[Send]:
        """Handle one parsed message; returns what to send."""
        if isinstance(message, Response):
            self.metrics.responses_ignored += 1
            return []
        request = _stamp_received(message, peer)
        self.metrics.requests_by_method[request.method] += 1
        received = self.transactions.receive(request, peer=peer, now=now)
        sends = list(received.sends)
        transaction = received.invite
        if transaction is not None:
            response = self._answer_invite(
                request, peer=peer, arrived=now if arrived is None else arrived, shed=shed
            )
            sends += self.transactions.respond(transaction, response, now=now)
            self.metrics.response_latency.observe(
                max(0.0, self.clock() - (now if arrived is None else arrived))
            )
        for send in sends:
            status = _status_of(send.data)
            if status:
                self.metrics.responses_by_status[status] += 1
        return sends

    def tick(self, now: float) -> list[Send]:
        """Run the transaction timers due at ``now``."""
        return self.transactions.tick(now)

    def next_deadline(self) -> float | None:
        return self.transactions.next_deadline()

    # --- answering an INVITE -------------------------------------------------------------

    def _answer_invite(
        self, request: Request, *, peer: Peer, arrived: float, shed: bool
    ) -> Response:
        config = self.config
        tag = self.transactions.to_tag(request)
        common = self.transactions.common_headers()
        if request.to.tag is not None:
            return build_response(request, 481, to_tag=tag, extra=common)
        if request.uri.scheme not in _SUPPORTED_SCHEMES:
            return build_response(request, 416, to_tag=tag, extra=common)
        required = request.headers.get_all("Require")
        if required:
            unsupported = ("Unsupported", ", ".join(required))
            return build_response(request, 420, to_tag=tag, extra=[unsupported, *common])
        if (
            shed
            and config.overload_status is not None
            and self.ingress.of(request, peer.host).kind.value
            not in self.node.settings.fail_open_by_ingress
        ):
            self.metrics.shed += 1
            self.node.metrics.fail_open.inc(("overload",))
            return build_response(
                request,
                config.overload_status,
                to_tag=tag,
                extra=[("Retry-After", "1"), *common],
            )
        node_time = self.wall_clock()
        attempt = call_attempt(
            request,
            source_host=peer.host,
            config=config,
            ingress=self.ingress,
            at=node_time,
            region=self.region,
        )
        if attempt is None:
            decision = Decision(
                action=Action.ALLOW,
                score=0.0,
                reasons=(Reason.said("sip.unscreened", 0.0, "sip.unscreened"),),
            )
            self.node.count(decision)
            self._log(request, decision)
            return decision_response(request, decision, config=config, to_tag=tag)
        if shed:
            self.metrics.shed += 1
            decision = self.node.fail_open("overload", attempt, face="sip")
        else:
            decision = self.node.screen(attempt, face="sip", arrived=arrived)
        note = self._date_ignored(request, attempt, node_time)
        if note is not None:
            decision = replace(decision, reasons=(*decision.reasons, note))
        self._log(request, decision)
        return decision_response(
            request, decision, config=config, to_tag=tag, callee=attempt.callee
        )

    def _log(self, request: Request, decision: Decision) -> None:
        if self.decisions_log is not None:
            self.decisions_log.write(request.call_id, decision)

    def _date_ignored(
        self, request: Request, attempt: CallAttempt, node_time: datetime
    ) -> Reason | None:
        """A reason of weight 0 when the INVITE's Date was not believed (too far off)."""
        skew_s = self.config.client_time_skew_s
        if skew_s <= 0 or attempt.time != node_time:
            return None
        said = request.headers.get("Date")
        if said is None or parse_sip_date(said) == node_time:
            return None
        return Reason.said(
            "sip.client_time_ignored",
            0.0,
            "sip.client_time_ignored",
            client_time=header_safe(said, limit=64),
            skew_s=f"{skew_s:g}",
            node_time=node_time.isoformat(),
        )


def node_settings(config: SipConfig) -> NodeSettings:
    """The node's deadline and fail-open policy as the SIP settings give them."""
    return NodeSettings(
        deadline_ms=config.deadline_ms,
        default_action=config.default_action,
        fail_open_by_ingress=config.fail_open_by_ingress,
    )


def _stamp_received(request: Request, peer: Peer) -> Request:
    """RFC 3261 §18.2.1 and RFC 3581: note in the top Via where the request really came from."""
    top = request.via[0]
    wants_rport = top.param("rport") == ""
    if top.host.strip("[]").lower() == peer.host.lower() and not wants_rport:
        return request
    stamped = top.with_params(("received", peer.host))
    if wants_rport:
        stamped = stamped.with_params(("rport", str(peer.port)))
    headers = request.headers.replacing_first("Via", str(stamped))
    return Request(method=request.method, uri=request.uri, headers=headers, body=request.body)


def _status_of(data: bytes) -> int:
    if data[:8] == b"SIP/2.0 " and data[8:11].isdigit():
        return int(data[8:11])
    return 0
