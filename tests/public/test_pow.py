"""The proof of work: a solved challenge is accepted once; unsolved, expired, forged, replayed refused."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.public import PublicSettings
from qalqan.public.pow import (
    MAX_EXTRA_BITS,
    PowError,
    ProofOfWork,
    SpentInMemory,
    extra_bits,
    leading_zero_bits,
    solve,
)
from qalqan.public.throttle import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _pow(clock: Clock, **changes: object) -> ProofOfWork:
    return ProofOfWork(secret=b"s" * 32, difficulty=8, ttl_s=60, clock=clock, **changes)  # type: ignore[arg-type]


def _refusal(pow: ProofOfWork, token: str, solution: str) -> str:
    with pytest.raises(PowError) as e:
        pow.verify(token, solution)
    return e.value.reason


def _unsolving(token: str, difficulty: int) -> str:
    counter = 0
    while leading_zero_bits(hashlib.sha256(f"{token}:{counter}".encode()).digest()) >= difficulty:
        counter += 1
    return str(counter)


def test_a_solved_challenge_is_accepted_once_and_then_refused_as_replayed() -> None:
    clock = Clock()
    pow = _pow(clock)
    token = pow.issue()
    solution = solve(token)
    pow.verify(token, solution)
    assert _refusal(pow, token, solution) == "replayed"


def test_an_unsolved_challenge_is_refused() -> None:
    pow = _pow(Clock())
    token = pow.issue()
    assert _refusal(pow, token, _unsolving(token, 8)) == "unsolved"


def test_an_expired_challenge_is_refused_even_solved() -> None:
    clock = Clock()
    pow = _pow(clock)
    token = pow.issue()
    clock.now += 61
    assert _refusal(pow, token, solve(token)) == "expired"


def test_a_challenge_another_key_signed_or_an_easier_one_made_up_is_forged() -> None:
    clock = Clock()
    other = ProofOfWork(secret=b"t" * 32, difficulty=8, clock=clock).issue()
    assert _refusal(_pow(clock), other, solve(other)) == "forged"
    pow = _pow(clock)
    parts = pow.issue().split(".")
    parts[2] = "1"  # ask for less work than the server set
    easier = ".".join(parts)
    assert _refusal(pow, easier, solve(easier)) == "forged"


def test_the_memory_of_spent_challenges_is_bounded_and_forgets_expired_ones() -> None:
    clock = Clock()
    spent = SpentInMemory(3)
    pow = _pow(clock, spent=spent)
    for _ in range(3):
        token = pow.issue()
        pow.verify(token, solve(token))
    token = pow.issue()
    with pytest.raises(PowError) as full:
        pow.verify(token, solve(token))
    assert full.value.reason == "busy" and full.value.retry_after == 60  # the soonest expiry
    clock.now += 61
    fresh = pow.issue()
    pow.verify(fresh, solve(fresh))
    assert len(spent) == 1


def test_a_challenge_spent_late_is_forgotten_at_its_own_expiry_not_behind_a_younger_one() -> None:
    clock = Clock()
    spent = SpentInMemory(10)
    pow = _pow(clock, spent=spent)
    old = pow.issue()
    clock.now += 30
    young = pow.issue()
    pow.verify(young, solve(young))
    pow.verify(old, solve(old))  # spent after the younger one, expires before it
    clock.now += 31  # the old one expired, the young one not
    assert spent.fill(clock.now) == 0.1


def test_new_challenges_cost_more_as_an_attacker_fills_the_memory_and_a_citizen_gets_in() -> None:
    clock = Clock()
    pow = _pow(clock, spent=SpentInMemory(16))
    difficulties = []
    for _ in range(16):  # the attacker spends one a second, all within one time to live
        token = pow.issue()
        difficulties.append(int(token.split(".")[2]))
        pow.verify(token, solve(token))
        clock.now += 1
    assert difficulties == [8] * 8 + [9] * 4 + [10] * 2 + [11] + [12]
    assert int(pow.issue().split(".")[2]) == 8 + MAX_EXTRA_BITS
    citizen = pow.issue()
    with pytest.raises(PowError) as full:
        pow.verify(citizen, solve(citizen))
    assert full.value.reason == "busy" and full.value.retry_after == 60 - 16
    clock.now += 44.5  # the attacker's first spent challenge has expired: room for one
    pow.verify(citizen, solve(citizen))
    assert [extra_bits(f) for f in (0, 0.49, 0.5, 0.75, 0.875, 0.9375, 0.999, 1)] == [
        0, 0, 1, 2, 3, 4, 4, 4,
    ]  # fmt: skip


def test_behind_the_shared_report_budget_the_memory_is_never_full() -> None:
    """An attacker with endless addresses and solved challenges, spending as fast as the budget
    all clients share allows, for three times the time to live: never busy, and within the
    bound the face sizes the memory at."""
    clock = Clock()
    settings = PublicSettings(pow_difficulty=8, pow_ttl_s=60, global_rate=20, global_burst=50)
    spent = SpentInMemory(settings.spent_bound)
    pow = _pow(clock, spent=spent)
    budget = TokenBuckets(
        rate=1e9,
        burst=1e9,
        global_rate=settings.report_global_rate,
        global_burst=settings.report_global_burst,
        clock=clock,
    )
    most, spends = 0, 0
    for step in range(180 * 10):
        clock.now += 0.1
        for k in range(5):  # 50 tries a second, from new addresses
            if budget.take(f"10.{step}.{k}") is None:
                token = pow.issue()
                pow.verify(token, solve(token))
                spends += 1
        most = max(most, len(spent))
    assert spends > settings.spent_bound
    assert most <= settings.spent_bound == 2 * 60 + 5 + 1


@pytest.mark.parametrize(
    ("token", "solution"),
    [
        ("", "1"),
        ("x" * 500, "1"),
        ("1.2.3.4", "1"),
        ("1.a.8.n.s", "1"),
        ("1.9.8.n.s", ""),
        ("1.9.8.n.s", "12a"),
        ("1.9.8.n.s", "1" * 21),
        ("1.9.8.n.s", "١٢"),
    ],
)
def test_malformed_input_is_refused_before_any_hashing(token: str, solution: str) -> None:
    assert _refusal(_pow(Clock()), token, solution) == "malformed"


@given(st.text(max_size=300), st.text(max_size=40))
def test_any_input_is_accepted_or_refused_with_a_reason(token: str, solution: str) -> None:
    with pytest.raises(PowError) as e:
        _pow(Clock()).verify(token, solution)
    assert e.value.reason in {"malformed", "forged"}
