"""Server transactions with the time passed in: retransmissions, Timers G/H/I/J, ACK, CANCEL, OPTIONS."""

from __future__ import annotations

import pytest

from qalqan.sip.config import SipTimers
from qalqan.sip.message import Request, Response, build_response, parse_message
from qalqan.sip.transaction import (
    TRANSITIONS,
    Peer,
    Received,
    ServerTransaction,
    ServerTransactions,
    TransactionEvent,
    TransactionKind,
    TransactionState,
    TransactionStateError,
    next_state,
)
from tests.sip.conftest import ack_for, invite

UDP = Peer("udp", "192.0.2.10", 5060)
TCP = Peer("tcp", "192.0.2.10", 40000, connection=1)


def request(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def response(data: bytes) -> Response:
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


def new_invite(
    layer: ServerTransactions, data: bytes, *, peer: Peer = UDP, now: float = 0.0
) -> ServerTransaction:
    received = layer.receive(request(data), peer=peer, now=now)
    assert received.outcome == "new-invite"
    assert received.invite is not None
    return received.invite


def redirect(
    layer: ServerTransactions, transaction: ServerTransaction, *, now: float = 0.0
) -> bytes:
    answer = build_response(
        transaction.request,
        302,
        to_tag=layer.to_tag(transaction.request),
        extra=[("Contact", "<tel:+77015550001>")],
    )
    [send] = layer.respond(transaction, answer, now=now)
    return send.data


@pytest.fixture
def layer() -> ServerTransactions:
    return ServerTransactions(timers=SipTimers(t1=0.5, t2=4.0, t4=5.0), tag_secret=b"k" * 16)


def test_the_transition_table_is_what_rfc_3261_draws() -> None:
    invite_moves = TRANSITIONS[TransactionKind.INVITE]
    assert (
        invite_moves[(TransactionState.PROCEEDING, TransactionEvent.FINAL_SENT)]
        is TransactionState.COMPLETED
    )
    assert (
        invite_moves[(TransactionState.COMPLETED, TransactionEvent.ACK_RECEIVED)]
        is TransactionState.CONFIRMED
    )
    assert (
        invite_moves[(TransactionState.COMPLETED, TransactionEvent.TIMER_H)]
        is TransactionState.TERMINATED
    )
    assert (
        invite_moves[(TransactionState.CONFIRMED, TransactionEvent.TIMER_I)]
        is TransactionState.TERMINATED
    )
    with pytest.raises(TransactionStateError):
        next_state(TransactionKind.INVITE, TransactionState.COMPLETED, TransactionEvent.FINAL_SENT)
    with pytest.raises(TransactionStateError):
        next_state(
            TransactionKind.NON_INVITE, TransactionState.TRYING, TransactionEvent.ACK_RECEIVED
        )
    # Every state but TERMINATED has a way out, and nothing leaves TERMINATED.
    for moves in TRANSITIONS.values():
        sources = {state for state, _ in moves}
        assert TransactionState.TERMINATED not in sources
        assert TransactionState.TERMINATED in moves.values()


def test_a_retransmitted_invite_gets_the_identical_bytes(layer: ServerTransactions) -> None:
    transaction = new_invite(layer, invite())
    first = redirect(layer, transaction)
    again = layer.receive(request(invite()), peer=UDP, now=0.3)
    assert again.outcome == "retransmission"
    assert [s.data for s in again.sends] == [first]
    assert layer.counters.retransmissions == 1
    assert len(layer) == 1


def test_rfc_2543_peers_are_matched_by_call_id_and_cseq(layer: ServerTransactions) -> None:
    old = invite(branch="1a2b3c")  # no magic cookie
    transaction = new_invite(layer, old)
    first = redirect(layer, transaction)
    again = layer.receive(request(old), peer=UDP, now=0.2)
    assert [s.data for s in again.sends] == [first]
    other_cseq = layer.receive(request(invite(branch="1a2b3c", cseq=2)), peer=UDP, now=0.2)
    assert other_cseq.outcome == "new-invite"
    ack = layer.receive(request(ack_for(old, first)), peer=UDP, now=0.3)
    assert ack.outcome == "ack-absorbed"


def test_a_retransmission_before_the_answer_is_absorbed(layer: ServerTransactions) -> None:
    new_invite(layer, invite())
    again = layer.receive(request(invite()), peer=UDP, now=0.1)
    assert again == Received("retransmission")


def test_timer_g_retransmits_doubling_to_t2_until_timer_h(layer: ServerTransactions) -> None:
    transaction = new_invite(layer, invite())
    first = redirect(layer, transaction, now=0.0)
    fired: list[float] = []
    now = 0.0
    while now < 40.0:
        now = round(now + 0.05, 2)
        for send in layer.tick(now):
            assert send.data == first
            assert send.peer == UDP
            fired.append(now)
    # T1=0.5 doubling: 0.5, 1.5, 3.5, 7.5, then every T2=4 s until Timer H at 64*T1 = 32 s.
    assert fired == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert layer.counters.response_retransmissions == 10
    assert layer.counters.ack_timeouts == 1
    assert transaction.state is TransactionState.TERMINATED
    assert len(layer) == 0


def test_ack_stops_timer_g_and_timer_i_absorbs_late_acks(layer: ServerTransactions) -> None:
    data = invite()
    transaction = new_invite(layer, data)
    first = redirect(layer, transaction)
    assert [s.data for s in layer.tick(0.5)] == [first]
    ack = request(ack_for(data, first))
    assert layer.receive(ack, peer=UDP, now=0.6).outcome == "ack-absorbed"
    assert transaction.state is TransactionState.CONFIRMED
    assert layer.tick(1.6) == []  # no more Timer G
    assert layer.receive(ack, peer=UDP, now=2.0).outcome == "ack-absorbed"
    assert (
        layer.receive(request(data), peer=UDP, now=2.0).sends == ()
    )  # confirmed: nothing to repeat
    assert layer.tick(5.59) == []
    assert transaction.state is TransactionState.CONFIRMED
    layer.tick(5.61)  # Timer I = T4 after the first ACK
    assert transaction.state.value == "terminated"
    assert layer.receive(ack, peer=UDP, now=6.0).outcome == "stray-ack"
    assert layer.counters.acks_absorbed == 2
    assert layer.counters.ack_timeouts == 0


def test_tcp_retransmits_nothing_and_ends_on_the_ack(layer: ServerTransactions) -> None:
    data = invite(transport="TCP")
    transaction = new_invite(layer, data, peer=TCP)
    first = redirect(layer, transaction)
    assert layer.next_deadline() == pytest.approx(32.0)  # only Timer H
    assert layer.tick(10.0) == []
    again = layer.receive(request(data), peer=TCP, now=10.0)
    assert [s.data for s in again.sends] == [first]  # a retransmitted request still gets the answer
    assert (
        layer.receive(request(ack_for(data, first)), peer=TCP, now=11.0).outcome == "ack-absorbed"
    )
    assert transaction.state is TransactionState.TERMINATED  # Timer I is zero on TCP
    assert len(layer) == 0


def test_answering_twice_or_with_2xx_is_refused(layer: ServerTransactions) -> None:
    transaction = new_invite(layer, invite())
    with pytest.raises(TransactionStateError, match="never 2xx"):
        layer.respond(transaction, build_response(transaction.request, 200, to_tag="x"), now=0)
    redirect(layer, transaction)
    with pytest.raises(TransactionStateError):
        redirect(layer, transaction)


def test_a_stray_ack_is_dropped(layer: ServerTransactions) -> None:
    data = invite()
    fake_answer = b"SIP/2.0 302 Moved\r\nTo: <sip:x@y>;tag=zz\r\n\r\n"
    assert (
        layer.receive(request(ack_for(data, fake_answer)), peer=UDP, now=0).outcome == "stray-ack"
    )
    transaction = new_invite(layer, data)
    assert (
        layer.receive(request(ack_for(data, fake_answer)), peer=UDP, now=0).outcome == "stray-ack"
    )
    assert transaction.state is TransactionState.PROCEEDING


def test_options_is_answered_200_with_allow_and_accept(layer: ServerTransactions) -> None:
    data = invite(method="OPTIONS", uri="sip:qalqan.example")
    received = layer.receive(request(data), peer=UDP, now=0)
    assert received.outcome == "answered"
    [send] = received.sends
    answer = response(send.data)
    assert answer.status == 200
    assert answer.headers.get_all("Allow") == ["INVITE", "ACK", "CANCEL", "OPTIONS", "BYE"]
    assert answer.headers.get("Accept") == "application/sdp"
    assert answer.headers.get("Server") == "Qalqan"
    assert ";tag=" in (answer.headers.get("To") or "")
    # Timer J: a retransmitted OPTIONS gets the same answer until 64*T1.
    assert [s.data for s in layer.receive(request(data), peer=UDP, now=1).sends] == [send.data]
    layer.tick(32.1)
    assert len(layer) == 0
    assert layer.receive(request(data), peer=UDP, now=33).outcome == "answered"


def test_options_over_tcp_is_forgotten_at_once(layer: ServerTransactions) -> None:
    layer.receive(request(invite(method="OPTIONS", transport="TCP")), peer=TCP, now=0)
    assert len(layer) == 0


def test_cancel_of_an_unanswered_invite_gives_200_and_487(layer: ServerTransactions) -> None:
    data = invite()
    transaction = new_invite(layer, data)
    cancel = invite(method="CANCEL")
    received = layer.receive(request(cancel), peer=UDP, now=0.1)
    assert [response(s.data).status for s in received.sends] == [200, 487]
    ok, terminated = (response(s.data) for s in received.sends)
    assert ok.headers.get("CSeq") == "1 CANCEL"
    assert terminated.headers.get("CSeq") == "1 INVITE"
    assert ok.headers.get("To") == terminated.headers.get("To")  # same To tag on both
    assert transaction.state is TransactionState.COMPLETED
    assert layer.counters.cancelled == 1
    # The screening answer that comes later is refused by the state machine.
    with pytest.raises(TransactionStateError):
        redirect(layer, transaction)
    # The INVITE retransmitted now gets the 487.
    assert [
        response(s.data).status for s in layer.receive(request(data), peer=UDP, now=0.2).sends
    ] == [487]


def test_cancel_of_an_answered_invite_changes_nothing(layer: ServerTransactions) -> None:
    transaction = new_invite(layer, invite())
    redirect(layer, transaction)
    received = layer.receive(request(invite(method="CANCEL")), peer=UDP, now=0.1)
    assert [response(s.data).status for s in received.sends] == [200]
    assert layer.counters.cancelled == 0


def test_cancel_of_an_unknown_invite_is_481(layer: ServerTransactions) -> None:
    received = layer.receive(request(invite(method="CANCEL")), peer=UDP, now=0)
    assert [response(s.data).status for s in received.sends] == [481]


@pytest.mark.parametrize(
    ("method", "to", "extra", "status"),
    [
        ("BYE", "<sip:b@y>;tag=t", "", 481),
        ("BYE", "<sip:b@y>", "", 481),
        ("INFO", "<sip:b@y>;tag=t", "", 481),
        ("REGISTER", "<sip:b@y>", "", 405),
        ("SUBSCRIBE", "<sip:b@y>", "", 405),
        ("FOO", "<sip:b@y>", "", 405),
        ("OPTIONS", "<sip:b@y>", "Require: 100rel\r\n", 420),
    ],
)
def test_other_requests(
    layer: ServerTransactions, method: str, to: str, extra: str, status: int
) -> None:
    received = layer.receive(request(invite(method=method, to=to, extra=extra)), peer=UDP, now=0)
    [send] = received.sends
    answer = response(send.data)
    assert answer.status == status
    if status == 405:
        assert answer.headers.get_all("Allow") == ["INVITE", "ACK", "CANCEL", "OPTIONS", "BYE"]
    if status == 420:
        assert answer.headers.get("Unsupported") == "100rel"


def test_the_table_forgets_its_oldest_transactions_when_full() -> None:
    layer = ServerTransactions(max_transactions=2)
    first = new_invite(layer, invite(branch="z9hG4bK-a"))
    new_invite(layer, invite(branch="z9hG4bK-b"))
    new_invite(layer, invite(branch="z9hG4bK-c"))
    assert len(layer) == 2
    assert layer.counters.evicted == 1
    # The forgotten transaction can still be answered, statelessly.
    assert len(redirect(layer, first)) > 0
    assert len(layer) == 2


def test_to_tags_are_stable_for_a_call_and_keyed() -> None:
    a = ServerTransactions(tag_secret=b"a" * 16)
    b = ServerTransactions(tag_secret=b"b" * 16)
    one, same = request(invite()), request(invite(method="CANCEL"))
    assert a.to_tag(one) == a.to_tag(same)
    assert a.to_tag(one) != b.to_tag(one)
    assert a.to_tag(one) != a.to_tag(request(invite(call_id="other")))
    assert len(a.to_tag(one)) == 12


def test_transport_errors_end_the_transaction(layer: ServerTransactions) -> None:
    transaction = new_invite(layer, invite())
    layer.transport_error(transaction)
    assert transaction.state is TransactionState.TERMINATED
    assert len(layer) == 0


def test_a_retransmission_over_a_new_connection_is_answered_there(
    layer: ServerTransactions,
) -> None:
    data = invite(transport="TCP")
    transaction = new_invite(layer, data, peer=TCP)
    first = redirect(layer, transaction)
    reconnected = Peer("tcp", "192.0.2.10", 40001, connection=2)
    again = layer.receive(request(data), peer=reconnected, now=1.0)
    assert [(s.peer, s.data) for s in again.sends] == [(reconnected, first)]


def test_options_is_answered_503_while_the_node_is_not_ready() -> None:
    ready = False
    layer = ServerTransactions(ready=lambda: ready)
    data = invite(method="OPTIONS", uri="sip:qalqan.example", branch="z9hG4bK-p1")
    answer = response(layer.receive(request(data), peer=UDP, now=0).sends[0].data)
    assert answer.status == 503
    assert answer.headers.get("Retry-After") == "1"
    ready = True  # caught up: the dispatcher's next probe brings the node into the set
    data = invite(method="OPTIONS", uri="sip:qalqan.example", branch="z9hG4bK-p2")
    assert response(layer.receive(request(data), peer=UDP, now=1).sends[0].data).status == 200
