"""Server transactions of RFC 3261 §17.2, without I/O and without a clock of their own.

An SBC that does not hear back within 500 ms sends its INVITE again, and keeps
sending our 302 or 603 into a lossy network until it ACKs it. The transaction
layer is what makes those retransmissions harmless: a retransmitted INVITE gets
the very bytes of the first answer (never a second screening, never a second
alert), the final response is repeated on UDP until the ACK arrives (Timer G,
T1 doubling up to T2), the transaction gives up after 64*T1 (Timer H) and
lingers a while to swallow late ACKs (Timer I). Over TCP nothing is repeated.

Everything here is driven from outside, h11-style: :meth:`ServerTransactions.receive`
takes a parsed request and the current time, :meth:`ServerTransactions.respond`
takes the transaction user's answer, :meth:`ServerTransactions.tick` fires due
timers. Each returns the :class:`Send` actions to perform; time is a float of
seconds from any monotonic clock. State changes follow the transition table
:data:`TRANSITIONS` and nothing else; an illegal move (answering twice, a 2xx
to an INVITE) raises :class:`TransactionStateError`.

Requests other than INVITE are answered here, because a redirect server keeps
no dialogs and needs no screening for them: OPTIONS (the SBC's health check)
gets 200 with ``Allow``/``Accept``; CANCEL gets 200 and, when its INVITE is
still unanswered, that INVITE gets 487; BYE and any request inside a dialog get
481; other methods get 405 with ``Allow``. Only new INVITEs reach the
transaction user (:mod:`qalqan.sip.redirect`).
"""

from __future__ import annotations

import hashlib
import heapq
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from qalqan.sip.config import SipTimers
from qalqan.sip.message import MAGIC_COOKIE, Request, Response, SipError, build_response
from qalqan.sip.metrics import TransactionCounters

__all__ = [
    "ALLOWED_METHODS",
    "TRANSITIONS",
    "Peer",
    "Received",
    "Send",
    "ServerTransaction",
    "ServerTransactions",
    "TransactionEvent",
    "TransactionKind",
    "TransactionState",
    "TransactionStateError",
    "next_state",
    "transaction_key",
]

#: Methods this redirect server understands, as listed in ``Allow``.
ALLOWED_METHODS: tuple[str, ...] = ("INVITE", "ACK", "CANCEL", "OPTIONS", "BYE")


class TransactionStateError(SipError):
    """The transaction user tried a move RFC 3261 does not allow in the current state."""


class TransactionKind(StrEnum):
    INVITE = "invite"
    NON_INVITE = "non-invite"


class TransactionState(StrEnum):
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class TransactionEvent(StrEnum):
    REQUEST_RETRANSMITTED = "request retransmitted"
    PROVISIONAL_SENT = "provisional response sent"
    FINAL_SENT = "final response sent"
    ACK_RECEIVED = "ACK received"
    TIMER_G = "Timer G"
    TIMER_H = "Timer H"
    TIMER_I = "Timer I"
    TIMER_J = "Timer J"
    TRANSPORT_ERROR = "transport error"


_S = TransactionState
_E = TransactionEvent

#: Every allowed move: (state, event) → next state. RFC 3261 figures 7 and 8.
TRANSITIONS: dict[
    TransactionKind, dict[tuple[TransactionState, TransactionEvent], TransactionState]
] = {
    TransactionKind.INVITE: {
        (_S.PROCEEDING, _E.REQUEST_RETRANSMITTED): _S.PROCEEDING,
        (_S.PROCEEDING, _E.PROVISIONAL_SENT): _S.PROCEEDING,
        (_S.PROCEEDING, _E.FINAL_SENT): _S.COMPLETED,
        (_S.PROCEEDING, _E.TRANSPORT_ERROR): _S.TERMINATED,
        (_S.COMPLETED, _E.REQUEST_RETRANSMITTED): _S.COMPLETED,
        (_S.COMPLETED, _E.TIMER_G): _S.COMPLETED,
        (_S.COMPLETED, _E.ACK_RECEIVED): _S.CONFIRMED,
        (_S.COMPLETED, _E.TIMER_H): _S.TERMINATED,
        (_S.COMPLETED, _E.TRANSPORT_ERROR): _S.TERMINATED,
        (_S.CONFIRMED, _E.ACK_RECEIVED): _S.CONFIRMED,
        (_S.CONFIRMED, _E.REQUEST_RETRANSMITTED): _S.CONFIRMED,
        (_S.CONFIRMED, _E.TIMER_I): _S.TERMINATED,
    },
    TransactionKind.NON_INVITE: {
        (_S.TRYING, _E.REQUEST_RETRANSMITTED): _S.TRYING,
        (_S.TRYING, _E.PROVISIONAL_SENT): _S.PROCEEDING,
        (_S.TRYING, _E.FINAL_SENT): _S.COMPLETED,
        (_S.PROCEEDING, _E.REQUEST_RETRANSMITTED): _S.PROCEEDING,
        (_S.PROCEEDING, _E.PROVISIONAL_SENT): _S.PROCEEDING,
        (_S.PROCEEDING, _E.FINAL_SENT): _S.COMPLETED,
        (_S.PROCEEDING, _E.TRANSPORT_ERROR): _S.TERMINATED,
        (_S.COMPLETED, _E.REQUEST_RETRANSMITTED): _S.COMPLETED,
        (_S.COMPLETED, _E.TIMER_J): _S.TERMINATED,
        (_S.COMPLETED, _E.TRANSPORT_ERROR): _S.TERMINATED,
    },
}


def next_state(
    kind: TransactionKind, state: TransactionState, event: TransactionEvent
) -> TransactionState:
    """The state after ``event``, or :class:`TransactionStateError` if the move is not allowed."""
    try:
        return TRANSITIONS[kind][(state, event)]
    except KeyError:
        raise TransactionStateError(
            f"an {kind.value} server transaction in state {state.value} cannot take: {event.value}"
        ) from None


@dataclass(frozen=True, slots=True)
class Peer:
    """Where a request came from and its answers go: the transport and the sender's address.

    Answers go back to the address the request came from (RFC 3581 symmetric
    response routing), which is what SBCs behind NAT and load balancers expect.
    ``connection`` tells TCP connections apart; it is 0 on UDP.
    """

    transport: Literal["udp", "tcp"]
    host: str
    port: int
    connection: int = 0

    @property
    def reliable(self) -> bool:
        """True on stream transports, where SIP itself retransmits nothing."""
        return self.transport != "udp"


@dataclass(frozen=True, slots=True)
class Send:
    """Bytes to put on the wire towards a peer."""

    peer: Peer
    data: bytes


TransactionKey = tuple[str, ...]
_Timer = tuple[float, int, TransactionKey, int, "TransactionEvent"]
"""A timer: when it is due, its sequence number, the transaction's key and serial, the event."""


def transaction_key(request: Request) -> TransactionKey:
    """The key matching a request to its server transaction (RFC 3261 §17.2.3).

    RFC 3261 peers: the top Via's branch and sent-by, with the method (ACK counts
    as INVITE). Older RFC 2543 peers, whose branch lacks the magic cookie: the
    Call-ID, the CSeq number, the From tag and the top Via's sent-by.
    """
    via = request.via[0]
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch
    if branch is not None and branch.startswith(MAGIC_COOKIE) and len(branch) > len(MAGIC_COOKIE):
        return ("3261", branch, via.sent_by, method)
    from_tag = request.from_.tag or ""
    return ("2543", request.call_id, str(request.cseq.number), from_tag, via.sent_by, method)


class ServerTransaction:
    """One server transaction: the request, where answers go, its state and its cached answers.

    Once the final response is sent, only what retransmissions and timers need is
    kept (the key, the peer and the response bytes): a busy node holds tens of
    thousands of finished transactions, and parsed requests would weigh on memory
    and on the garbage collector's pauses.
    """

    __slots__ = (
        "_request",
        "final",
        "g_interval",
        "key",
        "kind",
        "peer",
        "provisional",
        "serial",
        "state",
    )

    def __init__(
        self, *, key: TransactionKey, request: Request, peer: Peer, serial: int = 0
    ) -> None:
        self.key = key
        self._request: Request | None = request
        self.peer = peer
        self.serial = serial
        invite = request.method == "INVITE"
        self.kind = TransactionKind.INVITE if invite else TransactionKind.NON_INVITE
        self.state = TransactionState.PROCEEDING if invite else TransactionState.TRYING
        self.final: bytes | None = None
        """The final response as sent: a retransmitted request gets exactly these bytes."""
        self.provisional: bytes | None = None
        self.g_interval = 0.0

    @property
    def request(self) -> Request:
        """The request, while it awaits its answer."""
        if self._request is None:
            raise TransactionStateError("the request is let go once it has its final answer")
        return self._request

    @property
    def awaiting_answer(self) -> bool:
        """True until a final response has been sent."""
        return self.state in (TransactionState.TRYING, TransactionState.PROCEEDING)

    def __repr__(self) -> str:
        return f"ServerTransaction({self.key!r} {self.state.value})"


@dataclass(frozen=True, slots=True)
class Received:
    """What became of a request handed to :meth:`ServerTransactions.receive`.

    ``outcome`` is ``new-invite`` (``invite`` holds the transaction; the transaction
    user must answer it), ``retransmission``, ``ack-absorbed``, ``stray-ack`` or
    ``answered`` (a non-INVITE request answered here). ``sends`` are to be sent now.
    """

    outcome: Literal["new-invite", "retransmission", "ack-absorbed", "stray-ack", "answered"]
    sends: tuple[Send, ...] = ()
    invite: ServerTransaction | None = None


class ServerTransactions:
    """The table of live server transactions and their timers."""

    def __init__(
        self,
        *,
        timers: SipTimers | None = None,
        server_name: str = "Qalqan",
        max_transactions: int = 200_000,
        tag_secret: bytes | None = None,
        counters: TransactionCounters | None = None,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self.timers = timers or SipTimers()
        self.ready = ready
        """Whether the node takes calls: OPTIONS is answered 200 when it does, else 503 with
        ``Retry-After`` (a node of a cluster catching up), so that a dispatcher's probes keep
        it out of the set until it is ready."""
        self.server_name = server_name
        self.max_transactions = max_transactions
        self.counters = counters if counters is not None else TransactionCounters()
        self._secret = tag_secret if tag_secret is not None else secrets.token_bytes(16)
        self._table: dict[TransactionKey, ServerTransaction] = {}
        # Timers hold the key and serial, not the transaction: a finished transaction
        # is freed at once even though its Timer H entry stays queued. A timer set a fixed
        # delay after "now" (the first Timer G, H, I, J) is due in the order it was set: it
        # waits in a first-in-first-out line of its own, O(1) in and out; the rest (Timer G's
        # doubling intervals, a clock that went back) in a heap.
        self._timers: list[_Timer] = []
        self._lines: dict[tuple[TransactionEvent, bool], deque[_Timer]] = {}
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._table)

    def get(self, key: TransactionKey) -> ServerTransaction | None:
        return self._table.get(key)

    def to_tag(self, request: Request) -> str:
        """The To tag this server gives a request's responses.

        A keyed hash of the Call-ID and From tag: random to anyone without the key
        (RFC 3261 §19.3), yet the same for an INVITE, its CANCEL and any copy of
        them, even once the transaction has been forgotten.
        """
        text = f"{request.call_id}\0{request.from_.tag or ''}".encode()
        return hashlib.blake2s(text, key=self._secret, digest_size=6).hexdigest()

    def common_headers(self) -> list[tuple[str, str]]:
        """Headers every response of this server carries."""
        return [("Server", self.server_name)] if self.server_name else []

    # --- input ---------------------------------------------------------------------------

    def receive(self, request: Request, *, peer: Peer, now: float) -> Received:
        """Match a request to its transaction, or open a new one."""
        key = transaction_key(request)
        existing = self._table.get(key)
        if request.method == "ACK":
            return self._receive_ack(existing, now)
        if existing is not None:
            # Answer where the latest copy came from: a retransmission over a new TCP
            # connection (the old one dropped) must not be answered into the old one.
            existing.peer = peer
            self._fire(existing, TransactionEvent.REQUEST_RETRANSMITTED)
            self.counters.retransmissions += 1
            if existing.state is TransactionState.COMPLETED and existing.final is not None:
                again = existing.final
            elif existing.awaiting_answer and existing.provisional is not None:
                again = existing.provisional
            else:
                return Received("retransmission")
            return Received("retransmission", sends=(Send(existing.peer, again),))
        if len(self._table) >= self.max_transactions:
            oldest = next(iter(self._table.values()))
            self._forget(oldest)
            self.counters.evicted += 1
        self._sequence += 1
        transaction = ServerTransaction(key=key, request=request, peer=peer, serial=self._sequence)
        self._table[key] = transaction
        if transaction.kind is TransactionKind.INVITE:
            return Received("new-invite", invite=transaction)
        return Received("answered", sends=tuple(self._answer_non_invite(transaction, now)))

    def _receive_ack(self, invite: ServerTransaction | None, now: float) -> Received:
        if invite is None or invite.state not in (_S.COMPLETED, _S.CONFIRMED):
            self.counters.stray_acks += 1
            return Received("stray-ack")
        first = invite.state is TransactionState.COMPLETED
        self._fire(invite, TransactionEvent.ACK_RECEIVED)
        self.counters.acks_absorbed += 1
        if first:
            wait = 0.0 if invite.peer.reliable else self.timers.t4
            self._schedule(invite, TransactionEvent.TIMER_I, now + wait, now)
        return Received("ack-absorbed")

    def _answer_non_invite(self, transaction: ServerTransaction, now: float) -> list[Send]:
        request = transaction.request
        tag = self.to_tag(request)
        common = self.common_headers()
        allow = ("Allow", ", ".join(ALLOWED_METHODS))
        if request.method == "CANCEL":
            invite_key = (*transaction.key[:-1], "INVITE")
            invite = self._table.get(invite_key)
            if invite is None:
                return self.respond(
                    transaction, build_response(request, 481, to_tag=tag, extra=common), now=now
                )
            sends = self.respond(
                transaction, build_response(request, 200, to_tag=tag, extra=common), now=now
            )
            if invite.awaiting_answer:
                self.counters.cancelled += 1
                terminated = build_response(invite.request, 487, to_tag=tag, extra=common)
                sends += self.respond(invite, terminated, now=now)
            return sends
        required = request.headers.get_all("Require")
        if required:
            response = build_response(
                request, 420, to_tag=tag, extra=[("Unsupported", ", ".join(required)), *common]
            )
        elif request.to.tag is not None or request.method == "BYE":
            # No dialogs live here: whatever belongs to one belongs to a dialog we do not know.
            response = build_response(request, 481, to_tag=tag, extra=common)
        elif request.method == "OPTIONS":
            extra = [allow, ("Accept", "application/sdp"), *common]
            if self.ready():
                response = build_response(request, 200, to_tag=tag, extra=extra)
            else:
                extra.append(("Retry-After", "1"))
                response = build_response(request, 503, to_tag=tag, extra=extra)
        else:
            response = build_response(request, 405, to_tag=tag, extra=[allow, *common])
        return self.respond(transaction, response, now=now)

    def respond(
        self, transaction: ServerTransaction, response: Response, *, now: float
    ) -> list[Send]:
        """Send the transaction user's answer and remember it for retransmissions."""
        data = response.to_bytes()
        send = Send(transaction.peer, data)
        if self._table.get(transaction.key) is not transaction:
            return [send]  # forgotten already (table full): answer without state
        if response.status < 200:
            self._fire(transaction, TransactionEvent.PROVISIONAL_SENT)
            transaction.provisional = data
            return [send]
        if transaction.kind is TransactionKind.INVITE and response.status < 300:
            raise TransactionStateError("a redirect server answers INVITEs with 3xx-6xx, never 2xx")
        self._fire(transaction, TransactionEvent.FINAL_SENT)
        transaction.final = data
        transaction.provisional = None
        transaction._request = None
        t1 = self.timers.t1
        reliable = transaction.peer.reliable
        if transaction.kind is TransactionKind.INVITE:
            if not reliable:
                transaction.g_interval = t1
                self._schedule(transaction, TransactionEvent.TIMER_G, now + t1, now)
            self._schedule(transaction, TransactionEvent.TIMER_H, now + 64 * t1, now)
        else:
            wait = 0.0 if reliable else 64 * t1
            self._schedule(transaction, TransactionEvent.TIMER_J, now + wait, now)
        return [send]

    def transport_error(self, transaction: ServerTransaction) -> None:
        """The transport could not deliver an answer (RFC 3261 §17.2.4): forget the transaction."""
        if (transaction.state, TransactionEvent.TRANSPORT_ERROR) in TRANSITIONS[transaction.kind]:
            self._fire(transaction, TransactionEvent.TRANSPORT_ERROR)

    # --- time ----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`tick` next has something to do, or None when no timer is running."""
        heads = [line[0][0] for line in self._lines.values() if line]
        if self._timers:
            heads.append(self._timers[0][0])
        return min(heads) if heads else None

    def _next_due(self, now: float) -> _Timer | None:
        """The earliest timer due at ``now``, taken off its line or heap; None when none is due."""
        earliest: _Timer | None = None
        source: deque[_Timer] | None = None
        for line in self._lines.values():
            if line and line[0][0] <= now and (earliest is None or line[0] < earliest):
                earliest, source = line[0], line
        timers = self._timers
        if timers and timers[0][0] <= now and (earliest is None or timers[0] < earliest):
            return heapq.heappop(timers)
        if source is not None:
            source.popleft()
        return earliest

    def tick(self, now: float) -> list[Send]:
        """Fire every timer due at ``now``, earliest first: retransmissions to send, transactions to end."""
        sends: list[Send] = []
        while (due := self._next_due(now)) is not None:
            when, _, key, serial, event = due
            transaction = self._table.get(key)
            if transaction is None or transaction.serial != serial:
                continue
            if (transaction.state, event) not in TRANSITIONS[transaction.kind]:
                continue  # overtaken: an ACK came before Timer H, say
            self._fire(transaction, event)
            if event is TransactionEvent.TIMER_G and transaction.final is not None:
                sends.append(Send(transaction.peer, transaction.final))
                self.counters.response_retransmissions += 1
                transaction.g_interval = min(2 * transaction.g_interval, self.timers.t2)
                self._schedule(transaction, event, when + transaction.g_interval, now)
            elif event is TransactionEvent.TIMER_H:
                self.counters.ack_timeouts += 1
        return sends

    # --- internals -----------------------------------------------------------------------

    def _schedule(
        self, transaction: ServerTransaction, event: TransactionEvent, when: float, now: float
    ) -> None:
        if when <= now and event is not TransactionEvent.TIMER_G:
            self._fire(transaction, event)  # a zero timer (reliable transport) fires at once
            return
        self._sequence += 1
        timer = (when, self._sequence, transaction.key, transaction.serial, event)
        # The first Timer G of a transaction is T1 after now; later ones double.
        fixed = event is not TransactionEvent.TIMER_G or transaction.g_interval == self.timers.t1
        line = self._lines.setdefault((event, transaction.peer.reliable), deque())
        if fixed and (not line or line[-1][0] <= when):
            line.append(timer)
        else:
            heapq.heappush(self._timers, timer)

    def _fire(self, transaction: ServerTransaction, event: TransactionEvent) -> None:
        transaction.state = next_state(transaction.kind, transaction.state, event)
        if transaction.state is TransactionState.TERMINATED:
            self._forget(transaction)

    def _forget(self, transaction: ServerTransaction) -> None:
        if self._table.get(transaction.key) is transaction:
            del self._table[transaction.key]
