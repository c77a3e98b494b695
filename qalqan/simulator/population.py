"""Who lives in the simulated country: cells, subscribers, contacts and the numbers around them.

Everything is held as numpy columns indexed by subscriber (one row per SIM of
the simulated operator), so a population of millions is built in seconds.
Special SIMs (sales lines, GSM gateways, M2M, farms) are added by the
scenario modules through :meth:`Population.add_sims`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from qalqan.simulator.config import Scenario
from qalqan.simulator.geography import COUNTRIES, MOBILE_SHAPES, Country
from qalqan.simulator.ids import luhn_append, unique_serials

__all__ = ["Population", "SimKind", "SortedRuns", "build_population", "foreign_numbers"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]

EPOCH_DAY = np.datetime64("1970-01-01", "D")

#: Handset type allocation codes (8 digits): common phones, a GSM-gateway module, an M2M module.
PHONE_TACS = np.array(
    [35332510, 35875908, 35391110, 86769604, 86216005, 35467011, 86492703, 35290611, 86801205],
    dtype=np.int64,
)
GATEWAY_TAC = 86247903
M2M_TAC = 35617206


class SimKind(IntEnum):
    ORDINARY = 0
    TAXI_COURIER = 1
    SALES_LINE = 2
    GSM_GATEWAY = 3
    M2M = 4
    FARM = 5


def foreign_numbers(rng: np.random.Generator, country: str, count: int) -> I64:
    code, prefixes, digits = MOBILE_SHAPES[country]
    prefix = rng.choice(np.array(prefixes, dtype=np.int64), size=count)
    prefix_digits = len(str(prefixes[0]))
    rest = digits - prefix_digits
    line = rng.integers(10 ** (rest - 1), 10**rest, size=count, dtype=np.int64)
    return (np.int64(code) * 10**digits + prefix * 10**rest + line).astype(np.int64)


@dataclass(slots=True)
class Population:
    """Cells, the operator's SIMs and everybody they talk to."""

    # sites and cells: cell index = site * 3 + sector
    site_lat: F64
    site_lon: F64
    site_city: I32
    city_sites: list[I32]
    # the operator's SIMs
    imsi: I64
    msisdn: I64
    iccid: I64
    activated_day: I64
    """Activation date as days since 1970-01-01."""
    plan: npt.NDArray[np.int8]
    """0 prepaid, 1 postpaid, 2 corporate, 3 m2m."""
    birth_year: I32
    """0 when unknown."""
    city: I32
    owner: I64
    kind: npt.NDArray[np.int8]
    home_site: I32
    work_site: I32
    imei: I64
    new_imei: I64
    new_imei_day: I32
    """Simulation day from which the SIM sits in ``new_imei`` (a new handset); large = never."""
    voice_rate: F64
    sms_rate: F64
    # contacts, CSR by subscriber: numbers and, when on-net, the subscriber index
    contact_start: I64
    contact_number: I64
    contact_sub: I64
    # other domestic operators' subscribers, by city
    offnet_number: I64
    offnet_city: I32
    groups: dict[str, int] = field(default_factory=dict)
    _buffers: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    _msisdns: SortedRuns | None = None
    _imsis: SortedRuns | None = None

    @property
    def size(self) -> int:
        return int(self.imsi.size)

    @property
    def n_sites(self) -> int:
        return int(self.site_lat.size)

    def add_sims(self, **columns: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        """Append SIMs (all subscriber columns given); returns their subscriber indexes.

        Columns grow in place with spare room, so adding the SIMs of many small
        groups costs what they hold, not the whole population each time.
        """
        start = self.size
        count = len(columns["imsi"])
        for name in _SIM_COLUMNS:
            self._append(name, np.asarray(columns[name]))
        self._append("contact_start", np.full(count, self.contact_start[-1], dtype=np.int64))
        if self._msisdns is not None:
            self._msisdns.add(self.msisdn[start:], start)
        if self._imsis is not None:
            self._imsis.add(self.imsi[start:], start)
        return np.arange(start, start + count, dtype=np.int64)

    def _append(self, name: str, values: npt.NDArray[Any]) -> None:
        """Append to one column; the column stays a view of the filled part of its buffer."""
        old = getattr(self, name)
        buffer = self._buffers.get(name)
        if buffer is None or old.base is not buffer or buffer.dtype != old.dtype:
            buffer = old  # first append, or the column was replaced since
        size, need = old.size, old.size + values.size
        if need > buffer.size or buffer is old:
            grown = np.empty(max(need, size + size // 8 + 1024), dtype=old.dtype)
            grown[:size] = old
            buffer = grown
        buffer[size:need] = np.asarray(values, dtype=old.dtype)
        self._buffers[name] = buffer
        setattr(self, name, buffer[:need])

    def subscriber_of(self, numbers: I64) -> I64:
        """Index of the operator's SIM holding each number, or -1."""
        if self._msisdns is None:
            self._msisdns = SortedRuns(self.msisdn)
        return self._msisdns.index_of(numbers)

    def holds_msisdn(self, numbers: I64) -> npt.NDArray[np.bool_]:
        """Whether each number is already one of the operator's SIMs (as ``np.isin``)."""
        return self.subscriber_of(numbers) >= 0

    def holds_imsi(self, imsis: I64) -> npt.NDArray[np.bool_]:
        """Whether each IMSI is already one of the operator's SIMs (as ``np.isin``)."""
        if self._imsis is None:
            self._imsis = SortedRuns(self.imsi)
        return self._imsis.index_of(imsis) >= 0

    def free_msisdns(self, numbers: I64) -> I64:
        """The sorted distinct numbers no SIM holds yet (as ``np.setdiff1d(numbers, msisdn)``)."""
        distinct = np.unique(numbers)
        return distinct[~self.holds_msisdn(distinct)]

    def random_site_in_city(self, rng: np.random.Generator, cities: I32) -> I32:
        out = np.empty(cities.size, dtype=np.int32)
        for c in np.unique(cities):
            mask = cities == c
            out[mask] = rng.choice(self.city_sites[int(c)], size=int(mask.sum()))
        return out

    def imei_on(self, subs: I64, day: int) -> I64:
        return np.where(self.new_imei_day[subs] <= day, self.new_imei[subs], self.imei[subs])


class SortedRuns:
    """Values with their row indexes, kept as a few sorted runs for look-ups.

    Rows are only ever appended; a new run is merged with the runs before it
    while they are not at least twice its size, so every row is re-sorted a
    logarithmic number of times and a look-up searches a logarithmic number of
    runs, instead of sorting the whole population after every appended group.
    Once look-ups since the last append have cost about as much as sorting
    everything (the daily traffic, when no more SIMs come), the runs become one.
    """

    __slots__ = ("_asked", "_runs", "_size")

    #: What one look-up is counted as at least: its fixed cost, per run searched.
    LOOKUP_WEIGHT = 1024

    def __init__(self, values: I64) -> None:
        self._runs: list[tuple[I64, I64]] = []
        self._size = 0
        self._asked = 0
        self.add(values, 0)

    def add(self, values: I64, first_row: int) -> None:
        """Add rows ``first_row``, ``first_row + 1``, ... holding ``values``."""
        rows = np.arange(first_row, first_row + values.size, dtype=np.int64)
        run = _sorted_run(np.asarray(values, dtype=np.int64), rows)
        while self._runs and self._runs[-1][0].size <= 2 * run[0].size:
            run = _merged(self._runs.pop(), run)
        self._runs.append(run)
        self._size += values.size
        self._asked = 0

    def index_of(self, values: I64) -> I64:
        """The first row holding each value, or -1."""
        values = np.asarray(values, dtype=np.int64)
        if len(self._runs) > 1:
            self._asked += max(values.size, self.LOOKUP_WEIGHT) * len(self._runs)
            if self._asked >= self._size:
                while len(self._runs) > 1:
                    last = self._runs.pop()
                    self._runs[-1] = _merged(self._runs[-1], last)
        if len(self._runs) == 1:
            return _search(self._runs[0], values)
        best = np.full(values.shape, -1, dtype=np.int64)
        for run in reversed(self._runs):  # later runs hold later rows: the earliest found wins
            found = _search(run, values)
            best = np.where(found >= 0, found, best)
        return best


def _search(run: tuple[I64, I64], values: I64) -> I64:
    """Row of each value in one sorted run (the first of equal ones), or -1."""
    keys, rows = run
    if keys.size == 0:
        return np.full(values.shape, -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, values), keys.size - 1)
    return np.where(keys[pos] == values, rows[pos], -1)


def _merged(before: tuple[I64, I64], after: tuple[I64, I64]) -> tuple[I64, I64]:
    """One run of two, ``before`` holding the earlier rows."""
    return _sorted_run(np.concatenate([before[0], after[0]]), np.concatenate([before[1], after[1]]))


def _sorted_run(values: I64, rows: I64) -> tuple[I64, I64]:
    """Values sorted, ties in row order, with their rows."""
    order = np.argsort(values, kind="stable")
    return values[order], rows[order]


_SIM_COLUMNS = (
    "imsi", "msisdn", "iccid", "activated_day", "plan", "birth_year", "city", "owner", "kind",
    "home_site", "work_site", "imei", "new_imei", "new_imei_day", "voice_rate", "sms_rate",
)  # fmt: skip


def make_imeis(rng: np.random.Generator, count: int, tacs: I64 | None = None) -> I64:
    tac = rng.choice(PHONE_TACS if tacs is None else tacs, size=count)
    serial = (
        unique_serials(rng, count, 0, 1_000_000)
        if count < 500_000
        else rng.integers(0, 1_000_000, size=count, dtype=np.int64)
    )
    return luhn_append(tac * 1_000_000 + serial, 14)


def make_iccids(serials: I64, country: Country = COUNTRIES["KZ"]) -> I64:
    """ICCID 89 + calling code + issuer (89 997 77 in Kazakhstan) + 11-digit serial + Luhn: 19 digits."""
    return luhn_append(np.int64(country.iccid_prefix) * 10**11 + serials, 18)


def build_population(scenario: Scenario, rng: np.random.Generator) -> Population:
    country = COUNTRIES[scenario.country]
    weights = np.array([c.population_k for c in country.cities], dtype=np.float64)
    weights /= weights.sum()
    sites = _sites(country, scenario.subscribers, weights, rng)
    people, elderly = _subscribers(scenario, country, weights, rng)
    habits = _habits(scenario, people["city"], sites["city_sites"], elderly, rng)
    offnet, offnet_city = _offnet(country, people["msisdn"], weights, rng)
    contacts = _contact_lists(
        scenario, country, weights, people["city"], people["msisdn"], offnet, offnet_city, rng
    )
    return Population(
        **sites,
        **people,
        **habits,
        **contacts,
        kind=np.zeros(scenario.subscribers, dtype=np.int8),
        offnet_number=offnet,
        offnet_city=offnet_city,
    )


def _other_prefixes(country: Country) -> I64:
    """The mobile prefixes of the country's other operators."""
    return np.array([p for ps in country.other_operators.values() for p in ps], dtype=np.int64)


def _sites(country: Country, n: int, weights: F64, rng: np.random.Generator) -> dict[str, Any]:
    """The cell sites (:class:`Population`'s ``site_*`` and ``city_sites``)."""
    # Sites: about one per 350 subscribers, scattered around the city centre.
    n_sites = max(len(country.cities) * 4, n // 350)
    # Every city gets sites in proportion to its people, at least two.
    per_city = np.maximum(2, np.round(weights * n_sites)).astype(np.int64)
    site_city = np.repeat(np.arange(len(country.cities)), per_city).astype(np.int32)
    n_sites = int(site_city.size)
    spread_km = 2.0 + 4.0 * np.sqrt(np.array([c.population_k for c in country.cities]) / 2200.0)
    lat0 = np.array([c.lat for c in country.cities])[site_city]
    lon0 = np.array([c.lon for c in country.cities])[site_city]
    radius = rng.normal(0, 1, size=(n_sites, 2)) * spread_km[site_city, None]
    site_lat = lat0 + radius[:, 0] / 111.0
    site_lon = lon0 + radius[:, 1] / (111.0 * np.cos(np.radians(lat0)))
    city_sites = [
        np.flatnonzero(site_city == c).astype(np.int32) for c in range(len(country.cities))
    ]
    return {
        "site_lat": site_lat,
        "site_lon": site_lon,
        "site_city": site_city,
        "city_sites": city_sites,
    }


def _subscribers(
    scenario: Scenario, country: Country, weights: F64, rng: np.random.Generator
) -> tuple[dict[str, Any], npt.NDArray[np.bool_]]:
    """Who the operator's SIMs are registered to, and which of them are elderly."""
    n = scenario.subscribers
    s = scenario.ordinary
    city = rng.choice(len(country.cities), size=n, p=weights).astype(np.int32)
    serials = unique_serials(rng, n, 0, 10_000_000_000)
    imsi = np.int64(country.imsi_prefix) * 10_000_000_000 + serials
    prefix = rng.choice(np.array(country.home_prefixes, dtype=np.int64), size=n)
    ported = rng.random(n) < s.ported_share
    other = _other_prefixes(country)
    prefix = np.where(ported, rng.choice(other, size=n), prefix)
    lines = unique_serials(rng, n, 1_000_000, 10_000_000)
    msisdn = country.mobile(prefix, lines)
    iccid = make_iccids(unique_serials(rng, n, 0, 10**11), country)
    start_day = int((np.datetime64(scenario.start, "D") - EPOCH_DAY).astype(np.int64))
    activated = (
        start_day - np.minimum(rng.exponential(3 * 365, size=n), 15 * 365).astype(np.int64) - 1
    )
    year = scenario.start.year
    elderly = rng.random(n) < s.elderly_share
    age = np.where(elderly, rng.integers(65, 92, size=n), rng.integers(16, 65, size=n))
    birth_year = (year - age).astype(np.int32)
    plan = rng.choice(3, size=n, p=[0.72, 0.25, 0.03]).astype(np.int8)
    owner = unique_serials(rng, n, 10**8, 10**9)
    # Some people hold a second SIM in their own name.
    second = np.flatnonzero(rng.random(n) < 0.06)
    if second.size:
        owner[second] = owner[rng.integers(0, n, size=second.size)]
    fields = {
        "imsi": imsi,
        "msisdn": msisdn,
        "iccid": iccid,
        "activated_day": activated.astype(np.int64),
        "plan": plan,
        "birth_year": birth_year,
        "city": city,
        "owner": owner.astype(np.int64),
    }
    return fields, elderly


def _habits(
    scenario: Scenario,
    city: I32,
    city_sites: list[I32],
    elderly: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Where each SIM lives and works, its handsets and how much it calls."""
    n = scenario.subscribers
    s = scenario.ordinary
    home_site = np.empty(n, dtype=np.int32)
    work_site = np.empty(n, dtype=np.int32)
    for c in range(len(city_sites)):
        idx = np.flatnonzero(city == c)
        home_site[idx] = rng.choice(city_sites[c], size=idx.size)
        work_site[idx] = rng.choice(city_sites[c], size=idx.size)
    works_elsewhere = rng.random(n) < 0.7
    work_site = np.where(works_elsewhere & ~elderly, work_site, home_site)
    imei = make_imeis(rng, n)
    changes = rng.random(n) < s.handset_change_share
    new_imei = np.where(changes, make_imeis(rng, n), imei)
    new_imei_day = np.where(changes, rng.integers(0, max(scenario.days, 1), size=n), 1 << 30)
    sigma = 0.7
    voice_rate = s.voice_calls_per_day * rng.lognormal(-sigma * sigma / 2, sigma, size=n)
    voice_rate = np.where(elderly, voice_rate * 0.6, voice_rate)
    sms_rate = s.sms_per_day * rng.lognormal(-0.5, 1.0, size=n)
    return {
        "home_site": home_site,
        "work_site": work_site,
        "imei": imei,
        "new_imei": new_imei,
        "new_imei_day": new_imei_day.astype(np.int32),
        "voice_rate": voice_rate,
        "sms_rate": sms_rate,
    }


def _offnet(
    country: Country, msisdn: I64, weights: F64, rng: np.random.Generator
) -> tuple[I64, I32]:
    """Other operators' subscribers living in the same cities: about 0.8 per own subscriber."""
    n = msisdn.size
    other = _other_prefixes(country)
    n_off = max(1000, int(n * 0.8))
    offnet_city = rng.choice(len(country.cities), size=n_off, p=weights).astype(np.int32)
    other_prefix = rng.choice(other, size=n_off)
    offnet = country.mobile(other_prefix, rng.integers(1_000_000, 10_000_000, size=n_off))
    offnet = np.setdiff1d(offnet, msisdn)  # a number belongs to one SIM only
    offnet_city = rng.choice(len(country.cities), size=offnet.size, p=weights).astype(np.int32)
    return offnet, offnet_city


def _contact_lists(
    scenario: Scenario,
    country: Country,
    weights: F64,
    city: I32,
    msisdn: I64,
    offnet: I64,
    offnet_city: I32,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Contact lists: mostly in the same city, on-net and off-net, a few abroad.

    Built a step at a time, each step's scratch columns let go of as soon as it
    is done, so that a national operator's hundred million contacts fit in memory.
    """
    n = scenario.subscribers
    s = scenario.ordinary
    k = 3 + rng.geometric(1.0 / max(s.contacts_mean - 2, 1), size=n).astype(np.int64)
    k = np.minimum(k, 120)
    contact_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(k, out=contact_start[1:])
    total = int(contact_start[-1])
    rows = np.arange(n, dtype=np.int32) if n < 2**31 else np.arange(n, dtype=np.int64)
    owner_of: npt.NDArray[np.integer[Any]] = np.repeat(rows, k)
    kind_draw = rng.random(total)
    foreign = kind_draw < s.foreign_contact_share
    onnet = (~foreign) & (kind_draw < s.foreign_contact_share + s.onnet_contact_share)
    del kind_draw
    cc = _contact_cities(country, weights, city, owner_of, rng)
    order_by_city = np.argsort(city, kind="stable")
    pick = _draw_in_city(rng, cc, city, order_by_city, len(country.cities), n)
    contact_sub = np.where(onnet, pick, -1)
    off_order = np.argsort(offnet_city, kind="stable")
    opick = _draw_in_city(rng, cc, offnet_city, off_order, len(country.cities), offnet.size)
    del cc
    contact_number = np.where(onnet, msisdn[np.maximum(pick, 0)], offnet[opick])
    del pick, onnet
    if foreign.any():
        contact_number[foreign] = _foreign_contacts(country, int(foreign.sum()), rng)
    self_call = contact_sub == owner_of
    contact_sub[self_call] = -1
    contact_number[self_call] = offnet[opick[self_call]]
    return {
        "contact_start": contact_start,
        "contact_number": contact_number,
        "contact_sub": contact_sub,
    }


def _contact_cities(
    country: Country,
    weights: F64,
    city: I32,
    owner_of: npt.NDArray[np.integer[Any]],
    rng: np.random.Generator,
) -> I32:
    """The city each contact lives in: mostly the owner's own."""
    same_city = rng.random(owner_of.size) < 0.85
    elsewhere = rng.choice(len(country.cities), size=owner_of.size, p=weights)
    contact_city = np.where(same_city, city[owner_of], elsewhere)
    del same_city, elsewhere
    return contact_city.astype(np.int32)


def _draw_in_city(
    rng: np.random.Generator, cc: I32, where: I32, order: I64, cities: int, size: int
) -> I64:
    """For each contact, a random one of the people (``order`` by city ``where``) of its city."""
    start = np.searchsorted(where[order], np.arange(cities + 1))
    lo = start[cc]
    span = start[cc + 1] - lo
    draw = rng.random(cc.size)
    draw *= span
    del span
    offset = draw.astype(np.int64)
    del draw
    offset += lo
    del lo
    np.minimum(offset, size - 1, out=offset)
    return order[offset]


def _foreign_contacts(country: Country, count: int, rng: np.random.Generator) -> I64:
    """Numbers abroad, by the country's share of relatives in each country."""
    countries = [c for c, _ in country.abroad]
    share = np.array([w for _, w in country.abroad])
    chosen = rng.choice(len(countries), size=count, p=share / share.sum())
    numbers = np.empty(chosen.size, dtype=np.int64)
    for ci, where in enumerate(countries):
        m = chosen == ci
        if m.any():
            numbers[m] = foreign_numbers(rng, where, int(m.sum()))
    return numbers
