from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from qalqan.analytics.campaigns import estimate_utc_offset, split_office_days
from qalqan.analytics.evaluate import adjusted_rand_index


def office_day(offset: int, start: int, calls_per_hour: int = 40) -> list[int]:
    hourly = [0] * 24
    for local in range(start, start + 9):
        if local != 13:
            hourly[(local - offset) % 24] += calls_per_hour
    return hourly


@pytest.mark.parametrize("offset", [-5, 0, 1, 2, 3, 4, 5, 7, 8, 9, 12])
@pytest.mark.parametrize("start", [8, 9, 10])
def test_the_lunch_hour_gives_away_the_time_zone(offset: int, start: int) -> None:
    assert estimate_utc_offset(office_day(offset, start)) == offset


def test_noise_does_not_move_the_estimate() -> None:
    rng = np.random.default_rng(3)
    hourly = np.array(office_day(3, 9)) + rng.poisson(1.0, size=24)
    assert estimate_utc_offset(hourly) == 3


def test_round_the_clock_traffic_has_no_office_day() -> None:
    assert estimate_utc_offset([50] * 24) is None
    assert estimate_utc_offset([1, 0, 0, 2]) is None  # too little to say


def test_adjusted_rand_index_matches_the_textbook() -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 4, size=300).astype(str).tolist()
    found = [t if rng.random() < 0.8 else str(rng.integers(0, 6)) for t in truth]
    assert adjusted_rand_index(truth, found) == pytest.approx(adjusted_rand_score(truth, found))


def calls_of(offset: int, start: int, per_hour: int, rng: np.random.Generator) -> list[int]:
    hours = []
    for local in range(start, start + 9):
        if local != 13:
            hours += [(local - offset) % 24] * int(rng.poisson(per_hour))
    return hours


def test_a_carrier_shared_by_two_call_centers_is_split_by_office_day() -> None:
    rng = np.random.default_rng(5)
    first, second = calls_of(8, 9, 30, rng), calls_of(1, 9, 12, rng)
    labels = split_office_days(np.array(first + second))
    truth = np.array([0] * len(first) + [1] * len(second))
    # hours worked by both centers cannot be told apart; the rest must be
    agreement = max((labels == truth).mean(), (labels == 1 - truth).mean())
    assert labels.max() == 1 and agreement >= 0.85


def test_one_office_day_stays_whole() -> None:
    rng = np.random.default_rng(6)
    assert split_office_days(np.array(calls_of(3, 9, 40, rng))).max() == 0
    assert split_office_days(np.array([5, 6, 7])).max() == 0  # too few calls to split
