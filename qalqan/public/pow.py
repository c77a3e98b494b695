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
it expires so it cannot be used twice; that memory is bounded (``max_spent``):
when it is full of unexpired challenges, new solutions are refused as busy
rather than the memory growing.

Refusals raise :class:`PowError` with a ``reason``: ``malformed``, ``forged``,
``expired``, ``unsolved``, ``replayed`` or ``busy``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from qalqan.errors import QalqanError

__all__ = ["PowError", "ProofOfWork", "leading_zero_bits", "solve"]

MAX_TOKEN: Final = 200
MAX_SOLUTION: Final = 20


class PowError(QalqanError):
    """A proof of work refused, and why (``reason``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"proof of work refused: {reason}")
        self.reason = reason


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


@dataclass(slots=True)
class ProofOfWork:
    """Issues and checks challenges (see the module's docstring)."""

    secret: bytes
    difficulty: int = 16
    ttl_s: float = 300.0
    max_spent: int = 100_000
    clock: Callable[[], float] = time.time
    _spent: OrderedDict[str, float] = field(default_factory=OrderedDict)
    """Solved challenges until they expire, oldest expiry first."""

    def __post_init__(self) -> None:
        if not 1 <= self.difficulty <= 32:
            raise ValueError("difficulty is 1 to 32 bits")

    def _sign(self, body: str) -> str:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        body = f"1.{int(self.clock() + self.ttl_s)}.{self.difficulty}.{secrets.token_hex(12)}"
        return f"{body}.{self._sign(body)}"

    def _forget_expired(self, now: float) -> None:
        while self._spent and next(iter(self._spent.values())) < now:
            self._spent.popitem(last=False)

    def verify(self, token: str, solution: str) -> None:
        """Accept a solved, unexpired, genuine, unspent challenge once; else raise PowError."""
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
        self._forget_expired(now)
        if token in self._spent:
            raise PowError("replayed")
        if len(self._spent) >= self.max_spent:
            raise PowError("busy")
        self._spent[token] = float(expires)
