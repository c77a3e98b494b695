"""SIP: Qalqan's screening node as a SIP redirect server.

The operator's SBC or softswitch sends each inbound INVITE to the node and
follows its answer: 302 to the dialled number, the warning announcement or the
anti-call-center, or 603/608. The layers, bottom up:

- :mod:`qalqan.sip.message` — sans-I/O parser and serializer (bytes ↔ typed messages);
- :mod:`qalqan.sip.transaction` — RFC 3261 server transactions and timers, time passed in;
- :mod:`qalqan.sip.radio` — readers (and writers) of the headers beyond the numbers: the
  ``Date``, the cell, IMEI and IMSI of a mobile call, the attestation the SBC verified;
- :mod:`qalqan.sip.redirect` — INVITE → ``CallAttempt``, ``Decision`` → response, and
  :class:`~qalqan.sip.redirect.RedirectService`, the whole server minus sockets;
- :mod:`qalqan.sip.decisions_log` — each INVITE's decision in replay's CSV columns, size-capped;
- :mod:`qalqan.sip.server` — the only module touching sockets: ``SipServer`` (asyncio UDP/TCP)
  and ``SipServerThread``;
- :mod:`qalqan.sip.config` and :mod:`qalqan.sip.metrics` — settings and counters;
- :mod:`qalqan.sip.feed` — a data set's call attempts as a sipp feed, to test an
  integration against ``qalqan replay``.

Importing this package does not import :mod:`qalqan.sip.server`, so the protocol
layers stay usable without an event loop.
"""

from qalqan.sip.config import SipConfig, SipTimers
from qalqan.sip.message import (
    Request,
    Response,
    SipError,
    SipParseError,
    StreamParser,
    parse_message,
)
from qalqan.sip.metrics import SipMetrics
from qalqan.sip.redirect import Decide, RedirectService
from qalqan.sip.transaction import Peer, Send, TransactionStateError

__all__ = [
    "Decide",
    "Peer",
    "RedirectService",
    "Request",
    "Response",
    "Send",
    "SipConfig",
    "SipError",
    "SipMetrics",
    "SipParseError",
    "SipTimers",
    "StreamParser",
    "TransactionStateError",
    "parse_message",
]
