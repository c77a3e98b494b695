"""The server's hot path: a node alone answers each call as soon as it is screened, and the
garbage collector of a served node leaves what it loaded alone.

A batch of requests is screened between two visits of the event loop; a node
alone has no shared log to commit to, so nothing holds the first answer of a
batch back until the last is screened. Proven with a slow engine (5 ms a call)
and ten INVITEs that arrive together: their answers leave one by one, spread
over the batch's screening time, not all at its end.
"""

from __future__ import annotations

import gc
import socket
import time

from qalqan.domain.model import Action, CallAttempt, Decision
from qalqan.sip.server import SipServerThread, settle_collector
from tests.sip.conftest import invite, test_config

SLOW_S = 0.005


def slow_decide(attempt: CallAttempt) -> Decision:
    time.sleep(SLOW_S)
    return Decision(action=Action.ALLOW, score=0.0)


def test_a_node_alone_sends_each_answer_as_soon_as_it_is_screened() -> None:
    config = test_config(tcp_port=None, deadline_ms=5000)
    with (
        SipServerThread(config, slow_decide) as node,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
    ):
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        me = sock.getsockname()[1]
        calls = 10
        for number in range(calls):
            data = invite(
                via_host=f"127.0.0.1:{me}", branch=f"z9hG4bK-s{number}", call_id=f"s{number}"
            )
            sock.sendto(data, ("127.0.0.1", node.server.udp_port or 0))
        arrivals = []
        for _ in range(calls):
            answer = sock.recv(65535)
            assert answer.startswith(b"SIP/2.0 302 ")
            arrivals.append(time.monotonic())
    # Sent one by one, the answers arrive over the ten screenings (~45 ms between the first
    # and the last); held for the end of the batch, they would arrive together.
    assert arrivals[-1] - arrivals[0] >= 4 * SLOW_S


def test_a_settled_node_walks_its_oldest_objects_rarely() -> None:
    """What a node loaded is frozen, and its oldest generation waits a hundred middle ones."""
    before = gc.get_threshold()
    try:
        settle_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (before[0], before[1], 1000)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
