"""The population's fast paths for large operators give exactly what the simple ones gave.

Adding SIMs group by group and checking new IMSIs and numbers against the
population must not cost the whole population each time, and must not change
a single drawn identifier for the same seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.simulator.config import Scenario
from qalqan.simulator.population import (
    _SIM_COLUMNS,
    Population,
    SortedRuns,
    build_population,
)

values = st.lists(st.integers(-50, 50), max_size=40)


def first_row_reference(all_values: npt.NDArray[np.int64], queries: npt.NDArray[np.int64]) -> Any:
    """The simple path: one stable sort of every value, then a search."""
    order = np.argsort(all_values, kind="stable")
    keys = all_values[order]
    if keys.size == 0:
        return np.full(queries.shape, -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, queries), keys.size - 1)
    return np.where(keys[pos] == queries, order[pos], -1)


class EagerRuns(SortedRuns):
    """Merges its runs at the first look-up after an append."""

    __slots__ = ()
    LOOKUP_WEIGHT = 1 << 40


class PatientRuns(SortedRuns):
    """Keeps its runs apart for as long as it can."""

    __slots__ = ()
    LOOKUP_WEIGHT = 0


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from([SortedRuns, EagerRuns, PatientRuns]),
    first=values,
    chunks=st.lists(st.tuples(values, values), max_size=8),
)
def test_sorted_runs_find_the_first_row_like_one_sort(
    kind: type[SortedRuns], first: list[int], chunks: list[tuple[list[int], list[int]]]
) -> None:
    runs = kind(np.array(first, dtype=np.int64))
    everything = list(first)
    for chunk, queries in chunks:
        runs.add(np.array(chunk, dtype=np.int64), len(everything))
        everything += chunk
        asked = np.array(queries, dtype=np.int64)
        expected = first_row_reference(np.array(everything, dtype=np.int64), asked)
        assert runs.index_of(asked).tolist() == expected.tolist()
        assert runs.index_of(asked).tolist() == expected.tolist()  # asked again, maybe merged


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario(subscribers=400, days=1, seed=3)


def new_sims(pop: Population, rng: np.random.Generator, count: int) -> dict[str, Any]:
    """Columns of ``count`` SIMs, some of whose IMSIs and numbers clash with existing ones."""
    columns: dict[str, Any] = {name: getattr(pop, name)[:count].copy() for name in _SIM_COLUMNS}
    columns["imsi"] = rng.choice(pop.imsi, size=count) + rng.integers(0, 2, size=count)
    columns["msisdn"] = rng.choice(pop.msisdn, size=count) + rng.integers(0, 2, size=count)
    return columns


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 30), min_size=1, max_size=6), seed=st.integers(0, 99))
def test_grown_population_checks_ids_like_isin_and_setdiff1d(
    scenario: Scenario, sizes: list[int], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    pop = build_population(scenario, np.random.default_rng(scenario.seed))
    pop.subscriber_of(pop.msisdn[:3])  # the caches exist before the SIMs are added
    pop.holds_imsi(pop.imsi[:3])
    for count in sizes:
        pop.add_sims(**new_sims(pop, rng, count))
        imsis = np.concatenate([pop.imsi[-count:] + 1, rng.integers(0, 10**15, size=5)])
        numbers = np.concatenate([pop.msisdn[-count:] + 1, pop.msisdn[:count]])
        assert pop.holds_imsi(imsis).tolist() == np.isin(imsis, pop.imsi).tolist()
        assert pop.free_msisdns(numbers).tolist() == np.setdiff1d(numbers, pop.msisdn).tolist()
        expected = first_row_reference(pop.msisdn, numbers)
        assert pop.subscriber_of(numbers).tolist() == expected.tolist()


def test_adding_groups_of_sims_appends_in_place(scenario: Scenario) -> None:
    pop = build_population(scenario, np.random.default_rng(scenario.seed))
    rng = np.random.default_rng(0)
    before = {name: getattr(pop, name).copy() for name in (*_SIM_COLUMNS, "contact_start")}
    first = new_sims(pop, rng, 7)
    second = new_sims(pop, rng, 5)
    assert pop.add_sims(**first).tolist() == list(range(400, 407))
    imsi_after_first = pop.imsi
    assert pop.add_sims(**second).tolist() == list(range(407, 412))
    assert np.shares_memory(imsi_after_first, pop.imsi)  # no copy of the whole population
    for name in _SIM_COLUMNS:
        column = getattr(pop, name)
        added = np.concatenate([first[name], second[name]]).astype(column.dtype)
        assert column.dtype == before[name].dtype
        assert column.tolist() == np.concatenate([before[name], added]).tolist()
    assert (
        pop.contact_start.tolist()
        == before["contact_start"].tolist() + [int(before["contact_start"][-1])] * 12
    )


def test_a_replaced_column_is_appended_to_as_it_now_stands(scenario: Scenario) -> None:
    pop = build_population(scenario, np.random.default_rng(scenario.seed))
    rng = np.random.default_rng(1)
    pop.add_sims(**new_sims(pop, rng, 3))
    pop.voice_rate = np.zeros(pop.size)
    pop.add_sims(**new_sims(pop, rng, 2))
    assert pop.voice_rate[:403].tolist() == [0.0] * 403
    assert pop.size == 405 and pop.voice_rate.size == 405


def test_gateway_staff_come_from_the_same_lists_as_a_fresh_look(scenario: Scenario) -> None:
    from qalqan.simulator.look_alikes import _CityPeople

    pop = build_population(scenario, np.random.default_rng(scenario.seed))
    people = _CityPeople(pop)
    cities = sorted(set(pop.city.tolist()))[:3]
    for city in cities:
        people.ordinary(city)
    rng = np.random.default_rng(2)
    columns = new_sims(pop, rng, 6)
    columns["kind"] = np.full(6, 3)  # gateway SIMs: never ordinary
    columns["city"] = np.full(6, cities[0])
    pop.add_sims(**columns)
    for city in cities:
        fresh = np.flatnonzero((pop.city == city) & (pop.kind == 0))
        assert people.ordinary(city).tolist() == fresh.tolist()
        assert people.offnet(city).tolist() == np.flatnonzero(pop.offnet_city == city).tolist()


def test_building_contact_lists_holds_little_more_than_the_population() -> None:
    import tracemalloc

    scenario = Scenario(subscribers=20_000, days=1, seed=1)
    tracemalloc.start()
    try:
        pop = build_population(scenario, np.random.default_rng(1))
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pop.contact_number.size > 10 * scenario.subscribers
    assert peak < 3.5 * held  # the scratch columns of every step at once were over 5 times
