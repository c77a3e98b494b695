"""Per-client token buckets with a global cap, in bounded memory.

Each client address has a bucket of ``burst`` tokens refilled at ``rate`` per
second; a request takes one. All clients together draw from one more bucket
(``global_rate``, ``global_burst``), so many addresses cannot add up to more
than the service can take. The per-client buckets live in an LRU of at most
``max_clients`` entries: a flood of new addresses evicts the least recently
seen buckets (a full bucket is what an evicted client gets back, which is what
an idle client has anyway), never grows the memory.

:meth:`TokenBuckets.take` answers ``None`` (go ahead) or the seconds to wait
(the ``Retry-After``). :meth:`~TokenBuckets.take_own` and
:meth:`~TokenBuckets.take_shared` take the two tokens apart, for a request that
must show it is worth a token of everyone's budget (a report's proof of work)
before it takes one. The keys are only held in memory, never logged.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Bucket", "TokenBuckets"]


@dataclass(slots=True)
class Bucket:
    tokens: float
    at: float


@dataclass(slots=True)
class TokenBuckets:
    rate: float
    """Tokens per second per client."""
    burst: float
    global_rate: float
    global_burst: float
    max_clients: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _clients: OrderedDict[str, Bucket] = field(default_factory=OrderedDict)
    _global: Bucket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self._clients)

    @staticmethod
    def _refill(bucket: Bucket, now: float, rate: float, burst: float) -> None:
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now

    def take(self, key: str) -> float | None:
        """Take a token for ``key`` and one of all clients': None when granted, else seconds
        until both are there."""
        return self._take(key, shared=True)

    def take_own(self, key: str) -> float | None:
        """Take a token of ``key``'s own bucket only (the shared one is taken later, by
        :meth:`take_shared`, once the request has shown it is worth it)."""
        return self._take(key, shared=False)

    def take_shared(self) -> float | None:
        """Take a token of the bucket all clients share only."""
        return self._take(None, shared=True)

    def _client(self, key: str, now: float) -> Bucket:
        bucket = self._clients.get(key)
        if bucket is None:
            bucket = Bucket(self.burst, now)
            self._clients[key] = bucket
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(key)
            self._refill(bucket, now, self.rate, self.burst)
        return bucket

    def _take(self, key: str | None, *, shared: bool) -> float | None:
        with self._lock:
            now = self.clock()
            bucket = None if key is None else self._client(key, now)
            if self._global is None:
                self._global = Bucket(self.global_burst, now)
            everyone = self._global if shared else None
            if everyone is not None:
                self._refill(everyone, now, self.global_rate, self.global_burst)
            if bucket is not None and bucket.tokens < 1:
                return max(1.0, math.ceil((1 - bucket.tokens) / self.rate))
            if everyone is not None and everyone.tokens < 1:
                return max(1.0, math.ceil((1 - everyone.tokens) / self.global_rate))
            for taken in (bucket, everyone):
                if taken is not None:
                    taken.tokens -= 1
            return None
