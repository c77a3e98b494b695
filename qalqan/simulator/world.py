"""The shared state of one simulation: population, clock, registry, roaming trips and ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from qalqan.simulator.config import Scenario
from qalqan.simulator.events import ANSWERED, BUSY, FAILED, NO_ANSWER, Codes, Events
from qalqan.simulator.geography import (
    COUNTRIES,
    MOBILE_SHAPES,
    ROAMING_DESTINATIONS,
    Country,
)
from qalqan.simulator.population import Population

__all__ = ["DAY", "LEGIT_CARRIERS", "Registry", "World", "hourly_profile"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
DAY = 86_400

#: International carriers that hand legitimate calls over, with their shares.
LEGIT_CARRIERS = (("carrierA", 0.4), ("carrierB", 0.3), ("carrierC", 0.2), ("carrierD", 0.1))

#: Ordinary voice traffic by local hour (weights), a working day and a day off.
WEEKDAY_PROFILE = np.array(
    [0.3, 0.15, 0.1, 0.1, 0.15, 0.4, 1.2, 2.8, 4.5, 5.8, 6.3, 6.5,
     6.2, 6.0, 6.1, 6.2, 6.4, 6.6, 6.9, 6.6, 5.5, 4.0, 2.5, 1.0]
)  # fmt: skip
WEEKEND_PROFILE = np.array(
    [0.5, 0.3, 0.15, 0.1, 0.1, 0.2, 0.5, 1.2, 2.5, 4.0, 5.2, 5.9,
     6.1, 6.0, 5.9, 5.9, 6.0, 6.2, 6.5, 6.4, 5.6, 4.3, 2.8, 1.3]
)  # fmt: skip


def hourly_profile(
    local_hours: tuple[int, int], utc_offset_h: float, lunch: int | None = None
) -> F64:
    """Weights by UTC minute of day for work done from ``local_hours`` in a place at ``utc_offset_h``."""
    minutes = np.arange(1440)
    local = (minutes + utc_offset_h * 60) % 1440 / 60.0
    start, end = local_hours
    on = (local >= start) & (local < end)
    if lunch is not None:
        on &= ~((local >= lunch) & (local < lunch + 1))
    return on.astype(np.float64)


@dataclass(slots=True)
class Registry:
    """Protected numbers written to ``registry``: (number, owner, policy, category)."""

    rows: list[tuple[int, str, str, str]] = field(default_factory=list)
    bank_outbound: list[tuple[int, str, str]] = field(default_factory=list)
    """(number, bank name, ingress route) of banks' registered outbound lines."""

    def inbound_only(self) -> I64:
        return np.array([n for n, _, p, _ in self.rows if p == "inbound_only"], dtype=np.int64)


@dataclass(slots=True)
class World:
    scenario: Scenario
    pop: Population
    codes: Codes
    t0: int
    """Unix time of the first simulated midnight (UTC)."""
    registry: Registry = field(default_factory=Registry)
    # roaming trips of the operator's subscribers (one per subscriber at most)
    trip_sub: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    trip_start: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    trip_end: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    trip_country: list[str] = field(default_factory=list)
    away_start: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    away_end: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # ground truth beyond calls: (kind, id, label, group)
    labels: list[tuple[str, str, str, str]] = field(default_factory=list)
    # money and complaints: lists of row tuples
    payments: list[tuple[str, int, str, str, float, str, str]] = field(default_factory=list)
    reports: list[tuple[str, int, int, int, str, str, str]] = field(default_factory=list)
    losses: list[tuple[str, int, str, str, str, float, str]] = field(default_factory=list)
    """Each victim's payment: (payment_id, time, victim's number, account, mule, amount, campaign)."""
    account_holders: dict[str, int] = field(default_factory=dict)
    """Subscribers' own bank accounts that money moved through: account -> subscriber."""
    farms: list[dict[str, object]] = field(default_factory=list)
    campaigns: list[dict[str, object]] = field(default_factory=list)
    # look-alikes set up by qalqan.simulator.look_alikes
    shared_first: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    shared_second: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Sorted; ``shared_first[i]`` is the phone owner whose handset ``shared_second[i]`` borrows."""
    sales_lines: list[I64] = field(default_factory=list)
    gateways: list[tuple[I64, I64]] = field(default_factory=list)
    m2m: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    m2m_centre: int = 0

    @classmethod
    def create(cls, scenario: Scenario, pop: Population) -> World:
        start = datetime(scenario.start.year, scenario.start.month, scenario.start.day, tzinfo=UTC)
        world = cls(scenario=scenario, pop=pop, codes=Codes(), t0=int(start.timestamp()))
        world.codes.code("ingress", "mobile")  # code 0: mobile, the default
        return world

    @property
    def country(self) -> Country:
        return COUNTRIES[self.scenario.country]

    # --- time -------------------------------------------------------------------------
    def day_start(self, day: int) -> int:
        return self.t0 + day * DAY

    def is_weekend(self, day: int, utc_offset_h: float | None = None) -> bool:
        """Whether the local calendar day mostly covering UTC day ``day`` is Saturday or Sunday."""
        if utc_offset_h is None:
            utc_offset_h = self.country.utc_offset_h
        weekday = (self.scenario.start.weekday() + day + (1 if utc_offset_h >= 12 else 0)) % 7
        return weekday >= 5

    def sample_times(self, rng: np.random.Generator, day: int, weights: F64, count: int) -> I64:
        """``count`` setup times in UTC day ``day`` following per-minute ``weights``."""
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        cdf = np.cumsum(weights)
        minute = np.searchsorted(cdf, rng.random(count) * cdf[-1], side="right")
        minute = np.minimum(minute, 1439)
        return self.day_start(day) + minute * 60 + rng.integers(0, 60, size=count)

    def ordinary_minutes(self, day: int) -> F64:
        """Per-minute weights of ordinary calls over UTC day ``day``, in local time."""
        profile = WEEKEND_PROFILE if self.is_weekend(day) else WEEKDAY_PROFILE
        local_minute = (np.arange(1440) + int(self.country.utc_offset_h * 60)) % 1440
        return np.asarray(profile[local_minute // 60], dtype=np.float64)

    def local_hour(self, t: I64) -> I64:
        return ((t + int(self.country.utc_offset_h * 3600)) % DAY) // 3600

    # --- places -----------------------------------------------------------------------
    def site_of(
        self, rng: np.random.Generator, subs: I64, t: I64, day: int
    ) -> npt.NDArray[np.int32]:
        """Where a subscriber is at time t: work in working hours, home otherwise, sometimes about."""
        pop = self.pop
        hour = self.local_hour(t)
        working = (~np.bool_(self.is_weekend(day))) & (hour >= 9) & (hour < 18)
        at_work = working & (rng.random(subs.size) < 0.8)
        site = np.where(at_work, pop.work_site[subs], pop.home_site[subs])
        about = rng.random(subs.size) < 0.15
        if about.any():
            site[about] = pop.random_site_in_city(rng, pop.city[subs[about]])
        return site.astype(np.int32)

    def cell_of(
        self, rng: np.random.Generator, sites: npt.NDArray[np.int32]
    ) -> npt.NDArray[np.int32]:
        return (sites * 3 + rng.integers(0, 3, size=sites.size)).astype(np.int32)

    def abroad(self, subs: I64, t: I64) -> npt.NDArray[np.bool_]:
        """True where the subscriber is registered abroad at time t."""
        return (self.away_start[subs] <= t) & (t <= self.away_end[subs])

    # --- the parts of a call ----------------------------------------------------------
    def from_subscriber(
        self,
        rng: np.random.Generator,
        subs: I64,
        t: I64,
        day: int,
        sites: npt.NDArray[np.int32] | None = None,
        *,
        static: bool = False,
    ) -> dict[str, npt.NDArray[Any]]:
        """The originating side of calls made by the operator's own subscribers over its radio."""
        pop = self.pop
        site = self.site_of(rng, subs, t, day) if sites is None else sites
        imei = pop.imei_on(subs, day)
        if day % 2 == 0 and self.shared_second.size:
            # Households: on alternate days the second SIM sits in the first one's phone.
            pos = np.searchsorted(self.shared_second, subs)
            pos = np.minimum(pos, self.shared_second.size - 1)
            hit = self.shared_second[pos] == subs
            if hit.any():
                imei[hit] = pop.imei_on(self.shared_first[pos[hit]], day)
        return {
            "a_num": pop.msisdn[subs],
            "a_imsi": pop.imsi[subs],
            "a_imei": imei,
            "a_cell": self.fixed_cell(rng, subs, site) if static else self.cell_of(rng, site),
        }

    def fixed_cell(
        self, rng: np.random.Generator, subs: I64, sites: npt.NDArray[np.int32]
    ) -> npt.NDArray[np.int32]:
        """A device that never moves stays on its best cell, with a rare reselection."""
        sector = np.where(
            rng.random(subs.size) < 0.03, rng.integers(0, 3, size=subs.size), subs % 3
        )
        return (sites * 3 + sector).astype(np.int32)

    def to_numbers(
        self, rng: np.random.Generator, numbers: I64, t: I64, day: int
    ) -> dict[str, npt.NDArray[Any]]:
        """The terminating side: b_imsi and b_cell when the callee is the operator's subscriber."""
        sub = self.pop.subscriber_of(numbers)
        on = sub >= 0
        b_imsi = np.zeros(numbers.size, dtype=np.int64)
        b_cell = np.full(numbers.size, -1, dtype=np.int32)
        if on.any():
            idx = sub[on]
            b_imsi[on] = self.pop.imsi[idx]
            here = ~self.abroad(idx, t[on])
            cells = self.cell_of(rng, self.site_of(rng, idx, t[on], day))
            b_cell[on] = np.where(here, cells, -1)
        return {"b_num": numbers, "b_imsi": b_imsi, "b_cell": b_cell}

    def outcome(
        self,
        rng: np.random.Generator,
        count: int,
        answered: float,
        median_s: float,
        sigma: float = 1.0,
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int32]]:
        """Result and talk time of ``count`` voice attempts."""
        draw = rng.random(count)
        rest = 1 - answered
        result = np.select(
            [draw < answered, draw < answered + rest * 0.6, draw < answered + rest * 0.85],
            [ANSWERED, NO_ANSWER, BUSY],
            FAILED,
        ).astype(np.int8)
        talk = np.minimum(rng.lognormal(np.log(median_s), sigma, size=count), 3 * 3600)
        duration = np.where(result == ANSWERED, np.maximum(talk, 1), 0).astype(np.int32)
        return result, duration

    def national_route(self, numbers: I64) -> npt.NDArray[np.int16]:
        """Interconnect ingress code by the calling number's home operator."""
        prefix = self.country.prefix_of(numbers)
        out = np.full(numbers.size, self.codes.code("ingress", "national:opB"), dtype=np.int16)
        opc = np.isin(prefix, np.array(self.country.other_operators["opC"]))
        out[opc] = self.codes.code("ingress", "national:opC")
        return out

    def carrier(self, rng: np.random.Generator, count: int) -> npt.NDArray[np.int16]:
        names = [f"international:{name}" for name, _ in LEGIT_CARRIERS]
        codes = np.array([self.codes.code("ingress", n) for n in names], dtype=np.int16)
        shares = np.array([s for _, s in LEGIT_CARRIERS])
        return rng.choice(codes, size=count, p=shares)

    def country_of_number(self, numbers: I64) -> npt.NDArray[np.int16]:
        """orig_country code of foreign numbers by calling code (+7 9xx is Russia, +7 7xx Kazakhstan)."""
        out = np.full(numbers.size, -1, dtype=np.int16)
        for country, _ in self.country.abroad:
            code, _prefixes, digits = MOBILE_SHAPES[country]
            match = numbers // 10**digits == code
            if code == 7:
                match &= (numbers // 10**9) % 10 == (9 if country == "RU" else 7)
            if match.any():
                out[match] = self.codes.code("countries", country)
        return out

    def group(self, name: str) -> int:
        return self.codes.code("groups", name)

    def drop_calls_from_abroad(self, events: Events) -> Events:
        """Remove attempts over the home radio network by SIMs registered abroad at that moment.

        Scenario modules pick callers without always knowing who travels; this keeps
        the data set consistent with ``roaming`` whatever they pick.
        """
        mobile = np.flatnonzero(events["ingress"] == 0)
        if mobile.size == 0:
            return events
        subs = self.pop.subscriber_of(events["a_num"][mobile])
        known = subs >= 0
        away = np.zeros(mobile.size, dtype=bool)
        away[known] = self.abroad(subs[known], events["t"][mobile][known])
        if not away.any():
            return events
        keep = np.ones(len(events), dtype=bool)
        keep[mobile[away]] = False
        return events.take(keep)

    # --- roaming ----------------------------------------------------------------------
    def plan_roaming(self, rng: np.random.Generator) -> None:
        """Trips abroad of the operator's subscribers, including some begun before day 0."""
        s = self.scenario
        n = self.pop.size
        first_day, days = -10, s.days + 10
        starts_per_sub = rng.binomial(days, s.look_alikes.roaming_trip_start_per_day, size=n)
        subs = np.flatnonzero(starts_per_sub > 0).astype(np.int64)  # at most one trip each
        subs = subs[self.pop.kind[subs] == 0]
        start = self.t0 + (first_day + rng.integers(0, days, size=subs.size)) * DAY
        start = start + rng.integers(0, DAY, size=subs.size)
        end = (
            start + rng.integers(3, 15, size=subs.size) * DAY + rng.integers(0, DAY, size=subs.size)
        )
        keep = end > self.t0
        self.trip_sub, self.trip_start, self.trip_end = subs[keep], start[keep], end[keep]
        names = [c for c, _ in ROAMING_DESTINATIONS]
        weights = np.array([w for _, w in ROAMING_DESTINATIONS])
        picks = rng.choice(len(names), size=int(keep.sum()), p=weights / weights.sum())
        self.trip_country = [names[i] for i in picks]
        self.away_start = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        self.away_end = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        self.away_start[self.trip_sub] = self.trip_start
        self.away_end[self.trip_sub] = self.trip_end

    def grow_roaming_arrays(self) -> None:
        """Extend the away-columns after SIMs were added to the population."""
        missing = self.pop.size - self.away_start.size
        if missing > 0:
            self.away_start = np.concatenate(
                [self.away_start, np.full(missing, np.iinfo(np.int64).max)]
            )
            self.away_end = np.concatenate(
                [self.away_end, np.full(missing, np.iinfo(np.int64).min)]
            )
