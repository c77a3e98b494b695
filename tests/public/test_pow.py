"""The proof of work: a solved challenge is accepted once; unsolved, expired, forged, replayed refused."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.public.pow import PowError, ProofOfWork, leading_zero_bits, solve


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
    pow = _pow(clock, max_spent=3)
    for _ in range(3):
        token = pow.issue()
        pow.verify(token, solve(token))
    token = pow.issue()
    assert _refusal(pow, token, solve(token)) == "busy"
    clock.now += 61
    fresh = pow.issue()
    pow.verify(fresh, solve(fresh))
    assert len(pow._spent) == 1


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
