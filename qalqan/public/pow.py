"""Proof of work against flooding: a signed, expiring hashcash challenge, spent once.

No third-party service: the server issues a challenge (:meth:`ProofOfWork.issue`),
the page's small script (``static/pow.js``) finds a counter such that the
SHA-256 of ``"<challenge>:<counter>"`` starts with ``difficulty`` zero bits, and
the server checks it (:meth:`ProofOfWork.verify`). Each report then costs the
sender about ``2**difficulty`` hashes (a second or two in a phone's browser at
the default 16 bits), while the server checks it with one.

A challenge is ``1.<expires>.<difficulty>.<nonce>.<signature>``: the server keeps
nothing until it is solved (the HMAC signature proves the server made it and
its expiry and difficulty are untouched). A solved challenge is remembered until
it expires so it cannot be used twice, and forgotten then (it would be refused
as expired anyway): only *unexpired* spent challenges are held.

Where they are held is a :class:`SpentChallenges`: :class:`SpentInMemory` in
the process (a dict and a heap of expiries, at most ``max_spent``), or
:class:`~qalqan.public.shared.SpentInRedis` for several workers. The face sizes
``max_spent`` from its rate limits (every spend first takes a report token of
the budget all clients share, so no more than that budget's burst plus its rate
times the time to live can be unexpired at once): the memory is never full
however an attacker spends. Should it still fill (a smaller bound, a face
without those limits), new challenges cost more as it fills (one bit more at
half full, two at three quarters, and so on, at most :data:`MAX_EXTRA_BITS`),
and a solution that finds it full is refused as ``busy`` with the seconds until
the soonest spent challenge expires and makes room.

Refusals raise :class:`PowError` with a ``reason``: ``malformed``, ``forged``,
``expired``, ``unsolved``, ``replayed``, ``busy`` or ``unavailable`` (the
shared memory of spent challenges cannot be reached); the last two carry
``retry_after`` seconds.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

from qalqan.errors import QalqanError

__all__ = [
    "MAX_EXTRA_BITS",
    "PowError",
    "ProofOfWork",
    "Solved",
    "SpentChallenges",
    "SpentInMemory",
    "extra_bits",
    "leading_zero_bits",
    "solve",
]

MAX_TOKEN: Final = 200
MAX_SOLUTION: Final = 20
MAX_EXTRA_BITS: Final = 4
"""At most this many bits are added to the difficulty as the memory of spent challenges fills
(16 times the work: some 15 to 30 seconds in a phone's browser at the default 16 bits)."""


class PowError(QalqanError):
    """A proof of work refused, and why (``reason``); ``retry_after`` seconds when worth a retry."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"proof of work refused: {reason}")
        self.reason = reason
        self.retry_after = retry_after


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def _work(token: str, solution: str) -> int:
    return leading_zero_bits(hashlib.sha256(f"{token}:{solution}".encode()).digest())


def solve(token: str) -> str:
    """The first counter that solves ``token`` (what the page's script does; for tests and tools)."""
    difficulty = int(token.split(".")[2])
    counter = 0
    while _work(token, str(counter)) < difficulty:
        counter += 1
    return str(counter)


def extra_bits(fill: float) -> int:
    """Bits added to new challenges when the memory of spent ones is ``fill`` full (0 to 1):
    none below half, then one more each time the room left halves, at most MAX_EXTRA_BITS."""
    if fill < 0.5:
        return 0
    if fill >= 1:
        return MAX_EXTRA_BITS
    return min(MAX_EXTRA_BITS, math.floor(-math.log2(1 - fill)))


class SpentChallenges(Protocol):
    """Where solved challenges are remembered until they expire."""

    def spend(self, key: str, expires: float, now: float) -> None:
        """Remember ``key`` until ``expires``; PowError ``replayed`` if already spent (or
        ``busy``, ``unavailable``)."""
        ...

    def fill(self, now: float) -> float:
        """How full the memory is, 0 to 1 (0 where it has no bound of its own)."""
        ...


class SpentInMemory:
    """Unexpired spent challenges in this process: at most ``max_spent``, soonest expiry first out."""

    def __init__(self, max_spent: int) -> None:
        if max_spent < 1:
            raise ValueError("max_spent is at least 1")
        self.max_spent = max_spent
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget_expired(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            _, key = heapq.heappop(self._heap)
            del self._expiry[key]

    def spend(self, key: str, expires: float, now: float) -> None:
        with self._lock:
            self._forget_expired(now)
            if key in self._expiry:
                raise PowError("replayed")
            if len(self._expiry) >= self.max_spent:
                raise PowError("busy", retry_after=max(1.0, math.ceil(self._heap[0][0] - now)))
            self._expiry[key] = expires
            heapq.heappush(self._heap, (expires, key))

    def fill(self, now: float) -> float:
        with self._lock:
            self._forget_expired(now)
            return len(self._expiry) / self.max_spent


@dataclass(frozen=True, slots=True)
class Solved:
    """A challenge checked and solved, to be spent: its key (the signature) and expiry."""

    key: str
    expires: float


@dataclass(slots=True)
class ProofOfWork:
    """Issues and checks challenges (see the module's docstring)."""

    secret: bytes
    difficulty: int = 16
    """The bits a challenge costs while the memory of spent ones is less than half full."""
    ttl_s: float = 300.0
    max_spent: int = 100_000
    """The bound of the memory in the process (when ``spent`` is not given)."""
    clock: Callable[[], float] = time.time
    spent: SpentChallenges | None = None
    """Where spent challenges are remembered: by default :class:`SpentInMemory` of ``max_spent``."""
    _spent: SpentChallenges = field(init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.difficulty <= 32:
            raise ValueError("difficulty is 1 to 32 bits")
        self._spent = self.spent if self.spent is not None else SpentInMemory(self.max_spent)

    def _sign(self, body: str) -> str:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()[:32]

    def current_difficulty(self) -> int:
        """The bits a challenge issued now costs: more as the memory of spent ones fills."""
        extra = extra_bits(self._spent.fill(self.clock()))
        return min(32, self.difficulty + extra)

    def issue(self) -> str:
        now = self.clock()
        body = f"1.{int(now + self.ttl_s)}.{self.current_difficulty()}.{secrets.token_hex(12)}"
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str, solution: str) -> None:
        """Accept a solved, unexpired, genuine, unspent challenge once; else raise PowError."""
        self.spend(self.check(token, solution))

    def check(self, token: str, solution: str) -> Solved:
        """A genuine, unexpired challenge solved (not yet spent: :meth:`spend`); else PowError."""
        if len(token) > MAX_TOKEN or not 0 < len(solution) <= MAX_SOLUTION:
            raise PowError("malformed")
        if not solution.isdigit() or not solution.isascii():
            raise PowError("malformed")
        parts = token.split(".")
        if len(parts) != 5 or parts[0] != "1" or not parts[1].isdigit() or not parts[2].isdigit():
            raise PowError("malformed")
        body, signature = token.rsplit(".", 1)
        if not hmac.compare_digest(self._sign(body), signature):
            raise PowError("forged")
        now = self.clock()
        expires = int(parts[1])
        if expires < now:
            raise PowError("expired")
        if _work(token, solution) < int(parts[2]):
            raise PowError("unsolved")
        return Solved(key=signature, expires=float(expires))

    def spend(self, solved: Solved) -> None:
        """Remember ``solved`` as spent; PowError ``replayed`` when it already was (or ``busy``,
        ``unavailable``)."""
        self._spent.spend(solved.key, solved.expires, self.clock())
