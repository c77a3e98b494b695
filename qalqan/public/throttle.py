"""Per-client token buckets with a global cap, in bounded memory.

Each client address has a bucket of ``burst`` tokens refilled at ``rate`` per
second; a request takes one. All clients together draw from one more bucket
(``global_rate``, ``global_burst``), so many addresses cannot add up to more
than the service can take. The per-client buckets live in an LRU of at most
``max_clients`` entries: a flood of new addresses evicts the least recently
seen buckets (a full bucket is what an evicted client gets back, which is what
an idle client has anyway), never grows the memory.

:meth:`TokenBuckets.take` answers ``None`` (go ahead) or the seconds to wait
(the ``Retry-After``). The keys are only held in memory, never logged.
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
        """Take a token for ``key``: None when granted, else seconds until one is there."""
        with self._lock:
            now = self.clock()
            bucket = self._clients.get(key)
            if bucket is None:
                bucket = Bucket(self.burst, now)
                self._clients[key] = bucket
                while len(self._clients) > self.max_clients:
                    self._clients.popitem(last=False)
            else:
                self._clients.move_to_end(key)
                self._refill(bucket, now, self.rate, self.burst)
            if self._global is None:
                self._global = Bucket(self.global_burst, now)
            self._refill(self._global, now, self.global_rate, self.global_burst)
            if bucket.tokens < 1:
                return max(1.0, math.ceil((1 - bucket.tokens) / self.rate))
            if self._global.tokens < 1:
                return max(1.0, math.ceil((1 - self._global.tokens) / self.global_rate))
            bucket.tokens -= 1
            self._global.tokens -= 1
            return None
