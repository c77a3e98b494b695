"""The public face's limits, spent challenges and counts, shared by several workers in Redis.

One worker alone keeps its token buckets, its memory of spent challenges and its
counters in its process. Several workers behind one balancer would each give a
client its own budget, let a solved challenge be spent once in each, and count
apart, so with ``qalqan serve-public --redis URL`` they share all three in one
Redis:

- **Rate limits** (:class:`BucketsInRedis`): the same token buckets as
  :class:`~qalqan.public.throttle.TokenBuckets` (a client's bucket and the one
  all clients share), taken atomically by one Lua script on Redis's own clock,
  so workers on several hosts agree whatever their clocks say. A bucket is a
  hash ``tokens, at`` that expires when it would be full again (forgetting a
  full bucket changes nothing), and a new client refused by the shared bucket
  leaves nothing behind: the clients remembered are at most those served in
  the last ``burst / rate`` seconds. A client's key is an HMAC of its address
  with the face's secret, cut to 32 hex digits: its length is fixed whatever
  the address, and Redis never holds an address.
- **Spent challenges** (:class:`SpentInRedis`): ``SET <signature> 1 NX EXAT
  <expiry>``: the first worker to spend a challenge sets it, every later
  attempt anywhere is refused as replayed, and Redis forgets it when the
  challenge would be refused as expired anyway.
- **Counts** (:class:`CountsInRedis`): each worker adds its counts by outcome
  to two hashes, from a thread of its own once a second (never on a request's
  path) and before ``/metrics`` is read; ``/metrics`` on any worker shows the
  totals of all.

**When Redis cannot be reached** (:class:`SharedStore`): every request waits at
most ``timeout_s`` for it (connect and read); after a failure no request asks
it again for ``retry_s`` (a black-holed Redis costs one timeout a second, not
one per request). Meanwhile:

- rate limits fall back to this worker's own buckets (still limited, N times
  the limit across N workers, as without Redis);
- reports are refused (503 ``unavailable`` with ``Retry-After``): a spent
  challenge that cannot be remembered could be spent again on another worker;
- number checks are answered as ever (they need nothing of Redis but the limits);
- counts wait in the worker and are added when Redis answers again.

A WARNING says so once (then at most once a minute), an INFO when it answers
again; ``qalqan_public_shared_store_up`` is 0 and
``qalqan_public_shared_store_failures_total{what}`` counts each failed request.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

from qalqan.errors import ConfigError, QalqanError
from qalqan.metrics import Counter as CounterFamily
from qalqan.metrics import gauge_lines
from qalqan.public.pow import PowError
from qalqan.public.throttle import TokenBuckets
from qalqan.throttled_log import ThrottledLog

__all__ = [
    "BucketsInRedis",
    "CountsInRedis",
    "SharedStore",
    "SpentInRedis",
    "StoreDownError",
]

logger = logging.getLogger(__name__)

PREFIX: Final = "qalqan:public"
KEY_HEX: Final = 32
"""Hex digits of a client's key in Redis (an HMAC of its address, cut)."""
UNAVAILABLE_RETRY_S: Final = 5.0
"""The ``Retry-After`` of a report refused while spent challenges cannot be remembered."""

T = TypeVar("T")

TAKE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local grate, gburst = tonumber(ARGV[3]), tonumber(ARGV[4])
local own, shared = ARGV[5] ~= 'shared', ARGV[5] ~= 'own'
local function level(key, r, b)
  local v = redis.call('HMGET', key, 'tokens', 'at')
  local tokens, at = tonumber(v[1]), tonumber(v[2])
  if tokens == nil or at == nil then return b, false end
  return math.min(b, tokens + math.max(0, now - at) * r), true
end
local function keep(key, tokens, r, b)
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((b - tokens) / r * 1000) + 1000)
end
local mine, known, all = math.huge, true, math.huge
if own then mine, known = level(KEYS[1], rate, burst) end
if shared then all = level(KEYS[2], grate, gburst) end
local wait = 0
if mine < 1 then
  wait = math.max(1, math.ceil((1 - mine) / rate))
elseif all < 1 then
  wait = math.max(1, math.ceil((1 - all) / grate))
  own = own and known
else
  mine, all = mine - 1, all - 1
end
if own then keep(KEYS[1], mine, rate, burst) end
if shared then keep(KEYS[2], all, grate, gburst) end
return wait
"""
"""Take a token of the client's bucket (KEYS[1]) and the shared one (KEYS[2]), or of one of
them (ARGV[5]: ``both``, ``own``, ``shared``): 0 when granted, else the seconds to wait, as
TokenBuckets does; a new client refused by the shared bucket is not written (its bucket is
full, as a forgotten one is)."""


class StoreDownError(QalqanError):
    """The shared store did not answer in time (or is being left alone after it did not)."""


class SharedStore:
    """One Redis for the public face's workers: a bounded wait, and a memory of its loss."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 0.1,
        retry_s: float = 1.0,
        prefix: str = PREFIX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(
                "the public face's Redis must start with redis://, rediss:// or unix://"
            )
        if not timeout_s > 0 or not retry_s >= 0:
            raise ConfigError("the public face's Redis timeout must be above 0")
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.prefix = prefix
        self.clock = clock
        self.redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=0,
            retry=Retry(NoBackoff(), 0),  # no second try: one wait at most per request
        )
        self.failures = CounterFamily(
            "qalqan_public_shared_store_failures_total",
            "Requests to the shared store that failed or timed out, by what they were for.",
            ("what",),
        )
        self._up = True
        self._quiet_until = 0.0
        self._complaints = ThrottledLog(logger, interval_s=60.0)
        self._lock = threading.Lock()

    @property
    def up(self) -> bool:
        """Whether the store answered the last time it was asked."""
        return self._up

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def ping(self) -> None:
        """Ask the store once: StoreDownError naming why when it does not answer."""
        self.call("ping", lambda r: r.ping())

    def call(self, what: str, request: Callable[[Any], T]) -> T:
        """``request(redis)``, or StoreDownError at once while the store is left alone, or
        after at most the timeout."""
        import redis

        if not self._up and self.clock() < self._quiet_until:
            self.failures.inc((what,))
            raise StoreDownError(f"the shared store is not answering ({what})")
        try:
            answer = request(self.redis)
        except redis.RedisError as error:
            self._lost(what, error)
            raise StoreDownError(f"the shared store did not answer ({what}): {error}") from None
        if not self._up:
            with self._lock:
                if not self._up:
                    logger.info("the public face's shared store answers again")
                self._up = True
        return answer

    def _lost(self, what: str, error: BaseException) -> None:
        self.failures.inc((what,))
        with self._lock:
            self._quiet_until = self.clock() + self.retry_s
            self._up = False
        self._complaints.log(
            logging.WARNING,
            "store",
            "the public face's shared store cannot be reached (%s: %s); until it answers, rate "
            "limits are this worker's own, reports are refused and counts wait here",
            what,
            type(error).__name__,
        )

    def render_lines(self) -> list[str]:
        lines = gauge_lines(
            "qalqan_public_shared_store_up",
            "1 while the public face's shared store answers.",
            1.0 if self._up else 0.0,
        )
        return [*lines, *self.failures.render()]


class BucketsInRedis:
    """:class:`~qalqan.public.throttle.TokenBuckets` held in Redis for every worker, falling back
    to this worker's own ``fallback`` buckets while Redis cannot be reached."""

    def __init__(
        self, store: SharedStore, *, kind: str, secret: bytes, fallback: TokenBuckets
    ) -> None:
        self.store = store
        self.kind = kind
        self.secret = secret
        self.fallback = fallback
        self._shared_key = store.key("limit", kind, "all")
        self._script = store.redis.register_script(TAKE)

    def client_key(self, client: str) -> str:
        """The client's bucket's key: an HMAC of its address (fixed length, never the address)."""
        digest = hmac.new(self.secret, client.encode(), hashlib.sha256).hexdigest()[:KEY_HEX]
        return self.store.key("limit", self.kind, digest)

    def take(self, client: str) -> float | None:
        """None when granted, else the seconds to wait (see TokenBuckets.take)."""
        return self._take(client, "both")

    def take_own(self, client: str) -> float | None:
        return self._take(client, "own")

    def take_shared(self) -> float | None:
        return self._take(None, "shared")

    def _take(self, client: str | None, mode: str) -> float | None:
        f = self.fallback
        args = [repr(f.rate), repr(f.burst), repr(f.global_rate), repr(f.global_burst), mode]
        own = self._shared_key if client is None else self.client_key(client)
        keys = [own, self._shared_key]
        try:
            wait = self.store.call("limits", lambda r: self._script(keys=keys, args=args, client=r))
        except StoreDownError:
            if client is None:
                return f.take_shared()
            return f.take(client) if mode == "both" else f.take_own(client)
        return None if int(wait) == 0 else float(wait)


class SpentInRedis:
    """Spent challenges in Redis: set once across every worker, forgotten at their expiry."""

    def __init__(self, store: SharedStore) -> None:
        self.store = store

    def spend(self, key: str, expires: float, now: float) -> None:
        name = self.store.key("spent", key[:KEY_HEX])
        at = math.ceil(expires) + 1
        try:
            first = self.store.call("spent", lambda r: r.set(name, b"1", nx=True, exat=at))
        except StoreDownError as error:
            raise PowError("unavailable", retry_after=UNAVAILABLE_RETRY_S) from error
        if not first:
            raise PowError("replayed")

    def fill(self, now: float) -> float:
        """0: Redis holds every unexpired one (at most the shared report budget's burst plus its
        rate times the time to live), with no bound of its own to fill."""
        return 0.0


class CountsInRedis:
    """Counts by outcome added up across workers: kept here, added to Redis by a thread."""

    def __init__(
        self, store: SharedStore, families: Mapping[str, Iterable[str]], *, flush_s: float = 1.0
    ) -> None:
        self.store = store
        self.families = {name: tuple(outcomes) for name, outcomes in families.items()}
        self.flush_s = flush_s
        self._pending: Counter[tuple[str, str]] = Counter()
        self._known: dict[str, Counter[str]] = {name: Counter() for name in self.families}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, family: str, outcome: str) -> None:
        with self._lock:
            self._pending[(family, outcome)] += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="qalqan-public-counts", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self.flush_s):
            with contextlib.suppress(StoreDownError):
                self.flush()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def flush(self) -> None:
        """Add this worker's counts to Redis (StoreDownError: they stay here for the next time)."""
        with self._flushing:
            with self._lock:
                sending = Counter(self._pending)
            if not sending:
                return

            def send(r: Any) -> None:
                pipe = r.pipeline(transaction=False)
                for (family, outcome), n in sending.items():
                    pipe.hincrby(self.store.key("counts", family), outcome, n)
                pipe.execute()

            self.store.call("counts", send)
            with self._lock:
                self._pending.subtract(sending)
                self._pending = +self._pending

    def totals(self) -> dict[str, Counter[str]]:
        """Every worker's counts by family and outcome; while Redis is down, the last totals it
        gave with this worker's counts since (a floor)."""
        families = list(self.families)

        def read(r: Any) -> list[dict[bytes, bytes]]:
            pipe = r.pipeline(transaction=False)
            for family in families:
                pipe.hgetall(self.store.key("counts", family))
            answers: list[dict[bytes, bytes]] = pipe.execute()
            return answers

        try:
            self.flush()
            answers = self.store.call("counts", read)
        except StoreDownError:
            with self._lock:
                pending = Counter(self._pending)
            totals = {name: Counter(known) for name, known in self._known.items()}
            for (family, outcome), n in pending.items():
                totals[family][outcome] += n
            return totals
        for family, answer in zip(families, answers, strict=True):
            known = Counter({o: 0 for o in self.families[family]})
            for outcome in self.families[family]:
                raw = answer.get(outcome.encode())
                if raw is not None and raw.isdigit():
                    known[outcome] = int(raw)
            self._known[family] = known
        return {name: Counter(known) for name, known in self._known.items()}
