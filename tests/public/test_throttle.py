"""Token buckets per client with a global cap, in bounded memory."""

from __future__ import annotations

from qalqan.public.throttle import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _buckets(clock: Clock, **changes: float) -> TokenBuckets:
    settings = {"rate": 1.0, "burst": 3.0, "global_rate": 100.0, "global_burst": 100.0, **changes}
    return TokenBuckets(**settings, max_clients=100, clock=clock)  # type: ignore[arg-type]


def test_a_client_over_its_burst_waits_while_another_is_served() -> None:
    clock = Clock()
    buckets = _buckets(clock)
    assert [buckets.take("a") for _ in range(3)] == [None, None, None]
    assert buckets.take("a") == 1.0
    assert buckets.take("b") is None
    clock.now += 1.0
    assert buckets.take("a") is None


def test_all_clients_together_stop_at_the_global_cap() -> None:
    clock = Clock()
    buckets = _buckets(clock, global_rate=1.0, global_burst=5.0)
    served = [buckets.take(f"10.0.0.{i}") for i in range(8)]
    assert served.count(None) == 5
    assert all(wait is not None and wait >= 1 for wait in served[5:])


def test_a_flood_of_new_addresses_does_not_grow_the_memory() -> None:
    clock = Clock()
    buckets = _buckets(clock, global_rate=1e9, global_burst=1e9)
    for i in range(10_000):
        buckets.take(f"198.51.{i // 256}.{i % 256}")
    assert len(buckets) == 100


def test_a_clients_own_token_and_everyones_are_taken_apart_when_asked() -> None:
    clock = Clock()
    buckets = _buckets(clock, global_rate=1.0, global_burst=2.0)
    assert [buckets.take_own("a") for _ in range(4)] == [None, None, None, 1.0]
    assert [buckets.take_shared() for _ in range(3)] == [None, None, 1.0]  # untouched by a's
    assert buckets.take_own("b") is None  # everyone's budget is empty, b's own is not
    assert buckets.take("b") == 1.0
