"""Two workers sharing one Redis (the test's own): one budget per client, a challenge spent once,
counts that add up, bounded keys, and what they do while Redis is gone or stalls."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.public import PublicFace, PublicSettings
from qalqan.public.pow import solve
from qalqan.public.shared import KEY_HEX, PREFIX, BucketsInRedis, SharedStore
from qalqan.public.throttle import TokenBuckets
from tests.cases.feeds import BANK_HOTLINE
from tests.public.conftest import REPLAYED, client_for
from tests.public.test_pow import _unsolving
from tests.screening.conftest import RedisServer

if TYPE_CHECKING:
    from httpx import Response
    from starlette.testclient import TestClient

Workers = Callable[..., tuple[PublicFace, PublicFace]]
ASKER = "203.0.113.7"
TIGHT = PublicSettings(pow_difficulty=8, check_rate=0.001, check_burst=4)
"""Four checks per client, then (for the length of a test) none."""


def _report(client: TestClient, token: str, text: str = "назовите код из смс") -> Response:
    body = {
        "number": BANK_HOTLINE,
        "category": "bank_security",
        "text": text,
        "challenge": token,
        "solution": solve(token),
    }
    answer: Response = client.post("/v1/reports", json=body)
    return answer


def _counted(page: str, family: str, outcome: str) -> int:
    line = f'qalqan_public_{family}_total{{outcome="{outcome}"}} '
    return next(int(x[len(line) :]) for x in page.splitlines() if x.startswith(line))


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Redis for every example of a property (each under a prefix of its own)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.kill()


def _keys(server: RedisServer, pattern: str) -> list[bytes]:
    return list(redis.Redis.from_url(server.url).scan_iter(f"{PREFIX}:{pattern}", count=1000))


def test_a_client_gets_its_budget_once_across_two_workers(workers: Workers) -> None:
    a, b = (client_for(face, ASKER) for face in workers(TIGHT))
    answers = [(a if i % 2 else b).get(f"/v1/check/{BANK_HOTLINE}") for i in range(8)]
    assert [x.status_code for x in answers] == [200] * 4 + [429] * 4
    assert all(x.headers["retry-after"] == "1000" for x in answers[4:])
    other = client_for(workers(TIGHT)[0], "198.51.100.9")  # the budget is the client's own
    assert other.get(f"/v1/check/{BANK_HOTLINE}").status_code == 200


def test_the_shared_buckets_refill_and_cap_all_clients_together(workers: Workers) -> None:
    settings = PublicSettings(
        pow_difficulty=8, check_rate=10, check_burst=2, global_rate=1, global_burst=5
    )
    a, b = workers(settings)
    served = [(a if i % 2 else b).checks.take(f"10.0.0.{i}") for i in range(8)]
    assert served.count(None) == 5 and all(w is not None and w >= 1 for w in served[5:])
    assert a.checks.take("10.0.0.0") is not None  # the global bucket is empty for all
    time.sleep(1.1)
    assert b.checks.take("10.0.0.0") is None  # one second brought one token back


def test_a_challenge_spent_on_one_worker_is_refused_on_the_other(workers: Workers) -> None:
    one, two = workers()
    a, b = client_for(one), client_for(two)
    token = a.get("/v1/challenge").json()["challenge"]
    assert _report(a, token).status_code == 201
    again = _report(b, token, "another text, the same proof")
    assert again.status_code == 403
    assert again.json()["error"] == REPLAYED
    c, d = client_for(two, "198.51.100.4"), client_for(one, "198.51.100.4")  # the other way round
    token = c.get("/v1/challenge").json()["challenge"]
    assert _report(c, token, "третий").status_code == 201
    assert _report(d, token, "четвёртый").json()["error"]["message"] == "replayed"


def test_the_counts_of_both_workers_add_up_on_either(workers: Workers) -> None:
    one, two = workers()
    a, b = client_for(one), client_for(two)
    for _ in range(3):
        a.get(f"/v1/check/{BANK_HOTLINE}")
    for _ in range(2):
        b.get(f"/v1/check/{BANK_HOTLINE}")
    b.get("/v1/check/not-a-number")
    deadline = time.monotonic() + 5  # each worker adds its counts within a second
    while _counted(a.get("/metrics").text, "checks", "danger") < 5:
        assert time.monotonic() < deadline, "the other worker's counts never arrived"
        time.sleep(0.1)
    for client in (a, b):
        page = client.get("/metrics").text
        assert _counted(page, "checks", "danger") == 5
        assert _counted(page, "checks", "invalid") == 1
        assert "qalqan_public_shared_store_up 1" in page


def test_redis_killed_checks_are_answered_on_local_limits_reports_refused_and_nothing_hangs(
    workers: Workers, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = workers(TIGHT)
    a, b = client_for(one), client_for(two)
    token = a.get("/v1/challenge").json()["challenge"]
    assert a.get(f"/v1/check/{BANK_HOTLINE}").status_code == 200
    redis_server.kill()
    caplog.set_level(logging.INFO, "qalqan.public")
    started = time.monotonic()
    checks = [a.get(f"/v1/check/{BANK_HOTLINE}").status_code for _ in range(6)]
    refused = _report(b, token)
    took = time.monotonic() - started
    assert checks == [200] * 4 + [429] * 2  # the worker's own budget: fail open, still limited
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
    assert refused.json()["error"]["code"] == "unavailable"
    assert took < 3.0, "a request waited on the dead Redis"
    assert "shared store cannot be reached" in caplog.text
    page = b.get("/metrics").text
    assert "qalqan_public_shared_store_up 0" in page
    assert 'qalqan_public_shared_store_failures_total{what="spent"} 1' in page
    assert _counted(page, "reports", "unavailable") == 1

    redis_server.restart()
    time.sleep(1.1)  # the workers ask again after retry_s
    assert _report(b, token).status_code == 201
    assert "answers again" in caplog.text
    a.get("/metrics")  # worker a adds the counts it kept while Redis was gone
    page = b.get("/metrics").text
    assert _counted(page, "checks", "danger") == 5 and _counted(page, "checks", "limited") == 2
    assert "qalqan_public_shared_store_up 1" in page


def test_a_stalled_redis_costs_one_timeout_then_nothing_until_it_is_asked_again(
    workers: Workers, redis_server: RedisServer
) -> None:
    one, _ = workers(TIGHT, timeout_s=0.2, retry_s=30)
    a = client_for(one)
    assert a.get(f"/v1/check/{BANK_HOTLINE}").status_code == 200
    assert redis_server.process is not None
    os.kill(redis_server.process.pid, signal.SIGSTOP)  # it accepts, and never answers
    try:
        started = time.monotonic()
        first = a.get(f"/v1/check/{BANK_HOTLINE}")
        first_took = time.monotonic() - started
        started = time.monotonic()
        rest = [a.get(f"/v1/check/{BANK_HOTLINE}") for _ in range(10)]
        rest_took = time.monotonic() - started
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    assert first.status_code == 200 and first_took < 1.5
    assert rest_took < 1.0, "every request waited for the stalled Redis"
    assert [x.status_code for x in rest] == [200] * 3 + [429] * 7


def test_hostile_clients_leave_short_keys_that_expire_and_no_more_than_the_global_budget(
    workers: Workers, redis_server: RedisServer
) -> None:
    settings = PublicSettings(
        pow_difficulty=8, check_rate=1, check_burst=30, global_rate=1, global_burst=50
    )
    one, two = workers(settings)
    huge = "x" * 100_000
    started = time.monotonic()
    assert one.checks.take(huge) is None
    for i in range(2_000):  # a flood of addresses, on both workers
        (one if i % 2 else two).checks.take(f"2001:db8::{i:x}")
    refilled = int(time.monotonic() - started) + 1
    clients = [k for k in _keys(redis_server, "limit:check:*") if not k.endswith(b":all")]
    assert len(clients) <= 50 + refilled  # only those the shared budget served are remembered
    assert {len(k) for k in clients} == {len(f"{PREFIX}:limit:check:") + KEY_HEX}
    assert huge.encode() not in b"".join(clients)
    r = redis.Redis.from_url(redis_server.url)
    assert all(0 < r.pttl(k) <= 31_000 for k in clients)  # full again after burst / rate s
    assert 0 < r.pttl(f"{PREFIX}:limit:check:all") <= 51_000
    a = client_for(one)
    token = a.get("/v1/challenge").json()["challenge"]
    assert _report(a, token).status_code == 201
    (spent,) = _keys(redis_server, "spent:*")
    assert 0 < r.ttl(spent) <= 300 + 1


def test_without_a_shared_secret_workers_cannot_share_a_redis(
    fed_sqlite: object, redis_server: RedisServer
) -> None:
    from qalqan.errors import ConfigError
    from qalqan.public.shared import SharedStore
    from qalqan.screening.network import ProtectedNumbers

    with pytest.raises(ConfigError, match="share one secret"):
        PublicFace(
            store=fed_sqlite,  # type: ignore[arg-type]
            registry=ProtectedNumbers(),
            settings=PublicSettings(),
            shared=SharedStore(redis_server.url),
        )


def test_the_shared_report_budget_is_taken_by_solved_reports_only_on_either_worker(
    workers: Workers,
) -> None:
    one, two = workers(
        PublicSettings(pow_difficulty=8, global_rate=0.01, global_burst=30)
    )  # 3 reports in all
    for i in range(10):
        flooder = client_for(one if i % 2 else two, f"198.51.100.{i}")
        token = flooder.get("/v1/challenge").json()["challenge"]
        body = {"number": BANK_HOTLINE, "challenge": token, "solution": _unsolving(token, 8)}
        assert flooder.post("/v1/reports", json=body).status_code == 403
    served = [
        _report(client_for(one if i % 2 else two, f"192.0.2.{i}"), _token(one), f"t{i}")
        for i in range(4)
    ]
    assert [x.status_code for x in served] == [201, 201, 201, 429]


def _token(face: PublicFace) -> str:
    return face.pow.issue()


@given(st.text(max_size=2_000))
def test_any_client_address_becomes_a_key_of_one_length_in_hex(address: str) -> None:
    buckets = BucketsInRedis(
        SharedStore("redis://127.0.0.1:1/0"),  # never asked: the key is made here
        kind="check",
        secret=b"k" * 32,
        fallback=TokenBuckets(rate=1, burst=1, global_rate=1, global_burst=1),
    )
    assert re.fullmatch(rf"{PREFIX}:limit:check:[0-9a-f]{{{KEY_HEX}}}", buckets.client_key(address))


Take = tuple[str, int]
"""``("both" | "own", client)`` or ``("shared", 0)``."""


@settings(max_examples=40, deadline=None)
@given(
    burst=st.integers(1, 4),
    everyone=st.integers(1, 6),
    takes=st.lists(
        st.tuples(st.sampled_from(["both", "own", "shared"]), st.integers(0, 3)), max_size=25
    ),
)
def test_the_buckets_in_redis_grant_and_refuse_as_the_buckets_in_the_process_do(
    redis_url: str, burst: int, everyone: int, takes: list[Take]
) -> None:
    """With no time to refill (a token a million seconds), the same takes get the same answers."""
    rates = {
        "rate": 1e-6,
        "burst": float(burst),
        "global_rate": 1e-6,
        "global_burst": float(everyone),
    }
    here = TokenBuckets(**rates, clock=lambda: 0.0)  # type: ignore[arg-type]
    store = SharedStore(redis_url, prefix=f"test:{secrets.token_hex(8)}")
    there = BucketsInRedis(store, kind="check", secret=b"k" * 32, fallback=TokenBuckets(**rates))  # type: ignore[arg-type]
    for mode, client in takes:
        key = f"10.0.0.{client}"
        if mode == "shared":
            answers = (here.take_shared(), there.take_shared())
        elif mode == "own":
            answers = (here.take_own(key), there.take_own(key))
        else:
            answers = (here.take(key), there.take(key))
        assert (answers[0] is None) == (answers[1] is None), (mode, client)
    assert store.up
