"""Legitimate behaviour that looks like fraud to a naive detector.

Roaming subscribers calling home over international routes with their domestic
numbers; other operators' roamers doing the same; taxi drivers and couriers
calling strangers all day; corporate sales lines; businesses' legal GSM
gateways with long-lived corporate SIMs; M2M alarm panels; households moving
SIMs between phones; banks calling customers from registered numbers over
their own trunks. Each is labelled ``legit`` with its kind as the group, so an
evaluation can count false flags per trap.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qalqan.simulator.events import ANSWERED, SMS, Events, Truth
from qalqan.simulator.geography import MOBILE_SHAPES
from qalqan.simulator.ids import luhn_append, unique_serials
from qalqan.simulator.population import (
    GATEWAY_TAC,
    M2M_TAC,
    Population,
    SimKind,
    foreign_numbers,
    make_iccids,
    make_imeis,
)
from qalqan.simulator.world import DAY, World, hourly_profile

__all__ = ["BANK_NAMES", "look_alike_traffic", "relatives_calling_targets", "setup_look_alikes"]

I64 = npt.NDArray[np.int64]

BANK_NAMES = (
    "Dala Bank",
    "Qazyna Bank",
    "Saryarka Bank",
    "Tulpar Bank",
    "Shanyraq Bank",
    "Aral Bank",
)


def _new_sims(
    world: World,
    rng: np.random.Generator,
    count: int,
    *,
    kind: SimKind,
    plan: int,
    site: npt.NDArray[np.int32],
    owner: I64,
    activated_day: I64,
    imei: I64,
    birth_year: int = 0,
) -> I64:
    pop = world.pop
    country = world.country
    mcc_mnc = np.int64(country.imsi_prefix) * 10_000_000_000
    serials = unique_serials(rng, count, 0, 10_000_000_000)
    serials = serials[~pop.holds_imsi(mcc_mnc + serials)]
    while serials.size < count:
        serials = np.unique(np.concatenate([serials, rng.integers(0, 10**10, size=count)]))[:count]
    lines = rng.integers(1_000_000, 10_000_000, size=count * 2)
    numbers = pop.free_msisdns(country.mobile(country.home_prefixes[1], lines))[:count]
    rng.shuffle(numbers)
    city = world.pop.site_city[site]
    return pop.add_sims(
        imsi=mcc_mnc + serials[:count],
        msisdn=numbers,
        iccid=make_iccids(rng.integers(0, 10**11, size=count), country),
        activated_day=activated_day,
        plan=np.full(count, plan),
        birth_year=np.full(count, birth_year),
        city=city,
        owner=owner,
        kind=np.full(count, int(kind)),
        home_site=site,
        work_site=site,
        imei=imei,
        new_imei=imei,
        new_imei_day=np.full(count, 1 << 30),
        voice_rate=np.zeros(count),
        sms_rate=np.zeros(count),
    )


def _sales_offices(
    world: World, rng: np.random.Generator, big_cities: I64, start_day: int
) -> list[I64]:
    """Corporate sales offices: each a handful of lines in one big city's site."""
    pop = world.pop
    n = world.scenario.subscribers
    s = world.scenario.look_alikes
    sales_lines: list[I64] = []
    for office in range(max(1, round(n * s.sales_offices_per_100k / 100_000))):
        city = int(rng.choice(big_cities))
        site = np.int32(rng.choice(pop.city_sites[city]))
        lines = int(rng.integers(5, 21))
        owner = np.full(lines, 900_000_000 + office, dtype=np.int64)
        activated = start_day - rng.integers(200, 2200, size=lines)
        subs = _new_sims(
            world, rng, lines, kind=SimKind.SALES_LINE, plan=2, site=np.full(lines, site),
            owner=owner, activated_day=activated, imei=make_imeis(rng, lines),
        )  # fmt: skip
        sales_lines.append(subs)
        for sub in subs:
            world.labels.append(("sim", str(pop.imsi[sub]), "legit", "corporate_sales"))
    return sales_lines


def _gsm_gateways(
    world: World, rng: np.random.Generator, big_cities: I64, start_day: int
) -> list[tuple[I64, I64]]:
    """Legal GSM gateways: one IMEI a port, SIMs that stay for years, one place; with their staff."""
    pop = world.pop
    n = world.scenario.subscribers
    s = world.scenario.look_alikes
    gateways: list[tuple[I64, I64]] = []
    people = _CityPeople(pop)
    for gw in range(max(1, round(n * s.gsm_gateways_per_100k / 100_000))):
        city = int(rng.choice(big_cities))
        site = np.int32(rng.choice(pop.city_sites[city]))
        ports = int(rng.choice([4, 8, 16]))
        base = int(rng.integers(0, 1_000_000 - ports))
        imeis = luhn_append(GATEWAY_TAC * 1_000_000 + base + np.arange(ports, dtype=np.int64), 14)
        owner = np.full(ports, 910_000_000 + gw, dtype=np.int64)
        activated = np.full(ports, start_day - int(rng.integers(400, 1800)))
        subs = _new_sims(
            world, rng, ports, kind=SimKind.GSM_GATEWAY, plan=2, site=np.full(ports, site),
            owner=owner, activated_day=activated, imei=imeis,
        )  # fmt: skip
        staff = np.concatenate(
            [pop.msisdn[rng.choice(people.ordinary(city), size=60)],
             pop.offnet_number[rng.choice(people.offnet(city), size=40)]]
        )  # fmt: skip
        gateways.append((subs, staff))
        for sub, imei in zip(subs, imeis, strict=True):
            world.labels.append(("sim", str(pop.imsi[sub]), "legit", "gsm_gateway"))
            world.labels.append(("device", str(imei), "legit", "gsm_gateway"))
    return gateways


class _CityPeople:
    """Ordinary SIMs and other operators' subscribers of a city, found once per city.

    The gateways' SIMs added meanwhile are never ordinary, so a city's list
    stays what a fresh look at the whole population would give.
    """

    def __init__(self, pop: Population) -> None:
        self._pop = pop
        self._ordinary: dict[int, I64] = {}
        self._offnet: dict[int, I64] = {}

    def ordinary(self, city: int) -> I64:
        if city not in self._ordinary:
            pop = self._pop
            self._ordinary[city] = np.flatnonzero(
                (pop.city == city) & (pop.kind == SimKind.ORDINARY)
            )
        return self._ordinary[city]

    def offnet(self, city: int) -> I64:
        if city not in self._offnet:
            self._offnet[city] = np.flatnonzero(self._pop.offnet_city == city)
        return self._offnet[city]


def setup_look_alikes(world: World, rng: np.random.Generator) -> None:
    pop = world.pop
    s = world.scenario.look_alikes
    n = world.scenario.subscribers
    start_day = int(pop.activated_day.max()) + 1
    ordinary = np.flatnonzero(pop.kind == SimKind.ORDINARY)
    young = ordinary[pop.birth_year[ordinary] > world.scenario.start.year - 60]

    taxi = rng.choice(young, size=max(1, int(n * s.taxi_courier_share)), replace=False)
    pop.kind[taxi] = SimKind.TAXI_COURIER
    for sub in taxi:
        world.labels.append(("sim", str(pop.imsi[sub]), "legit", "taxi_courier"))

    # Households: the second SIM lives in the first one's phone on alternate days.
    free = np.flatnonzero(pop.kind == SimKind.ORDINARY)
    pairs = rng.choice(free, size=2 * max(1, int(n * s.shared_handset_share / 2)), replace=False)
    order = np.argsort(pairs[1::2])
    world.shared_first, world.shared_second = pairs[0::2][order], pairs[1::2][order]
    pop.home_site[world.shared_second] = pop.home_site[world.shared_first]
    for a, b in zip(world.shared_first, world.shared_second, strict=True):
        world.labels.append(("sim", str(pop.imsi[b]), "legit", "shared_handset"))
        world.labels.append(("device", str(pop.imei[a]), "legit", "shared_handset"))

    big_cities = np.array([i for i, c in enumerate(world.country.cities) if c.population_k >= 500])
    world.sales_lines = _sales_offices(world, rng, big_cities, start_day)
    world.gateways = _gsm_gateways(world, rng, big_cities, start_day)

    # M2M alarm panels and meters reporting to a monitoring centre.
    m2m_count = max(1, int(n * s.m2m_share))
    homes = pop.home_site[rng.choice(ordinary, size=m2m_count)]
    world.m2m = _new_sims(
        world, rng, m2m_count, kind=SimKind.M2M, plan=3, site=homes.astype(np.int32),
        owner=rng.integers(920_000_000, 930_000_000, size=m2m_count),
        activated_day=start_day - rng.integers(30, 2000, size=m2m_count),
        imei=make_imeis(rng, m2m_count, np.array([M2M_TAC], dtype=np.int64)),
    )  # fmt: skip
    world.m2m_centre = world.country.m2m_centre
    for sub in world.m2m:
        world.labels.append(("sim", str(pop.imsi[sub]), "legit", "m2m"))

    # Registry: banks' hotlines never call out; their outbound lines use their own trunks.
    for i, bank in enumerate(BANK_NAMES[: s.banks]):
        hotline = world.country.bank_hotline_base + (i + 1) * 100000
        outbound = world.country.bank_outbound_base + (i + 1) * 1000
        trunk = "bank" + bank.split()[0].lower()
        world.registry.rows.append((hotline, f"{bank}, hotline", "inbound_only", "bank_security"))
        world.registry.rows.append(
            (outbound, f"{bank}, customer calls", f"route:voip:{trunk}", "bank_security")
        )
        world.registry.bank_outbound.append((outbound, bank, f"voip:{trunk}"))
    for number, owner_name, category in world.country.state_numbers:
        world.registry.rows.append((number, owner_name, "inbound_only", category))
    world.grow_roaming_arrays()


def _sequential(t: I64, duration: npt.NDArray[np.int32], gap: int = 20) -> I64:
    """Push start times so that one line carries one call at a time."""
    out = np.sort(t)
    for i in range(1, out.size):
        free = out[i - 1] + duration[i - 1] + gap
        out[i] = max(out[i], free)
    return out


def _roamers_calling_home(world: World, rng: np.random.Generator, day: int) -> list[Events]:
    """Roamers calling home: domestic caller IDs arriving over international carriers."""
    pop = world.pop
    s = world.scenario.look_alikes
    parts: list[Events] = []
    day0, day1 = world.day_start(day), world.day_start(day + 1)
    on_trip = (world.trip_start < day1) & (world.trip_end > day0)
    for trip in np.flatnonzero(on_trip):
        sub = world.trip_sub[trip]
        lo, hi = max(day0, world.trip_start[trip]), min(day1, world.trip_end[trip])
        count = rng.poisson(s.roamer_calls_home_per_day * (hi - lo) / DAY)
        if count == 0:
            continue
        begin = pop.contact_start[sub]
        contacts = pop.contact_sub[begin : pop.contact_start[sub + 1]]
        contacts = contacts[contacts >= 0]  # calls to other networks do not cross ours
        if contacts.size == 0:
            continue
        callee = rng.choice(contacts, size=count)
        t = rng.integers(lo, hi, size=count)
        result, duration = world.outcome(rng, count, 0.75, 120.0)
        country = world.codes.code("countries", world.trip_country[trip])
        parts.append(
            Events.make(
                count, t=t, dur=duration, result=result, a_num=pop.msisdn[sub],
                ingress=world.carrier(rng, count), orig=country, truth=Truth.LEGIT,
                group=world.group("roamer_home"),
                **world.to_numbers(rng, pop.msisdn[callee], t, day),
            )
        )  # fmt: skip
    return parts


def _other_operators_roamers(world: World, rng: np.random.Generator, day: int) -> list[Events]:
    """Other operators' subscribers abroad calling people here (their roaming is not ours to see)."""
    pop = world.pop
    s = world.scenario.look_alikes
    parts: list[Events] = []
    count = rng.poisson(world.scenario.subscribers * s.other_operator_roamer_calls_per_day)
    if count:
        callee = rng.integers(0, world.scenario.subscribers, size=count)
        begin = pop.contact_start[callee]
        k = pop.contact_start[callee + 1] - begin
        number = pop.contact_number[begin + (rng.random(count) * k).astype(np.int64)]
        offnet = (pop.subscriber_of(number) < 0) & (world.country_of_number(number) < 0)
        callee, number = callee[offnet], number[offnet]
        t = world.sample_times(rng, day, world.ordinary_minutes(day), callee.size)
        result, duration = world.outcome(rng, callee.size, 0.75, 120.0)
        countries = [world.codes.code("countries", c) for c in ("TR", "AE", "RU", "TH")]
        parts.append(
            Events.make(
                callee.size, t=t, dur=duration, result=result, a_num=number,
                ingress=world.carrier(rng, callee.size), orig=rng.choice(countries, size=callee.size),
                truth=Truth.LEGIT, group=world.group("roamer_other_operator"),
                **world.to_numbers(rng, pop.msisdn[callee], t, day),
            )
        )  # fmt: skip
    return parts


def _taxi_and_couriers(world: World, rng: np.random.Generator, day: int) -> list[Events]:
    """Taxi drivers and couriers: many strangers a day, short calls; customers calling them back."""
    pop = world.pop
    parts: list[Events] = []
    taxi = np.flatnonzero(pop.kind == SimKind.TAXI_COURIER).astype(np.int64)
    counts = rng.integers(20, 50, size=taxi.size)
    driver = np.repeat(taxi, counts)
    t = world.sample_times(
        rng, day, hourly_profile((8, 23), world.country.utc_offset_h), driver.size
    )
    here = ~world.abroad(driver, t)
    driver, t = driver[here], t[here]
    strangers = _strangers(world, rng, pop.city[driver])
    result, duration = world.outcome(rng, driver.size, 0.85, 30.0, 0.8)
    sites = pop.random_site_in_city(rng, pop.city[driver])
    parts.append(
        Events.make(
            driver.size, t=t, dur=duration, result=result,
            **world.from_subscriber(rng, driver, t, day, sites),
            **world.to_numbers(rng, strangers, t, day),
        )
    )  # fmt: skip
    # ... and customers calling them back.
    back = rng.random(driver.size) < 0.4
    tb = t[back] + rng.integers(60, 1800, size=int(back.sum()))
    parts.append(_calls_in(world, rng, day, strangers[back], driver[back], tb, 0.9, 25.0))
    return parts


def _sales_line_calls(world: World, rng: np.random.Generator, day: int) -> list[Events]:
    """Corporate sales lines: business hours, many distinct numbers, some call back."""
    pop = world.pop
    parts: list[Events] = []
    for lines in world.sales_lines:
        counts = rng.integers(40, 80, size=lines.size)
        line = np.repeat(lines, counts)
        t = world.sample_times(
            rng, day, hourly_profile((9, 18), world.country.utc_offset_h, lunch=13), line.size
        )
        callee = _strangers(world, rng, pop.city[line])
        result, duration = world.outcome(rng, line.size, 0.5, 90.0)
        parts.append(
            Events.make(
                line.size, t=t, dur=duration, result=result,
                **world.from_subscriber(rng, line, t, day, pop.home_site[line]),
                **world.to_numbers(rng, callee, t, day),
            )
        )  # fmt: skip
        back = (result == ANSWERED) & (rng.random(line.size) < 0.08)
        tb = t[back] + rng.integers(600, 7200, size=int(back.sum()))
        parts.append(_calls_in(world, rng, day, callee[back], line[back], tb, 0.8, 120.0))
    return parts


def _gateway_calls(world: World, rng: np.random.Generator, day: int) -> list[Events]:
    """GSM gateways: a company's PBX calling its own staff and clients, one call per port at a time."""
    pop = world.pop
    parts: list[Events] = []
    for ports, staff in world.gateways:
        for port in ports:
            count = int(rng.integers(15, 40))
            t = world.sample_times(
                rng, day, hourly_profile((8, 19), world.country.utc_offset_h), count
            )
            result, duration = world.outcome(rng, count, 0.8, 120.0)
            t = _sequential(t, duration)
            callee = rng.choice(staff, size=count)
            sub = np.full(count, port)
            parts.append(
                Events.make(
                    count, t=t, dur=duration, result=result,
                    **world.from_subscriber(rng, sub, t, day, pop.home_site[sub], static=True),
                    **world.to_numbers(rng, callee, t, day),
                )
            )  # fmt: skip
            back = rng.random(count) < 0.3
            tb = t[back] + rng.integers(300, 7200, size=int(back.sum()))
            parts.append(_calls_in(world, rng, day, callee[back], sub[back], tb, 0.8, 90.0))
    return parts


def _m2m_reports(world: World, rng: np.random.Generator, day: int) -> list[Events]:
    """M2M panels: periodic reports by SMS, a rare alarm call, never called."""
    pop = world.pop
    parts: list[Events] = []
    m2m = world.m2m
    per = rng.integers(1, 4, size=m2m.size)
    panel = np.repeat(m2m, per)
    t = world.day_start(day) + rng.integers(0, DAY, size=panel.size)
    parts.append(
        Events.make(
            panel.size, t=t, event=SMS, result=ANSWERED,
            **world.from_subscriber(rng, panel, t, day, pop.home_site[panel], static=True),
            **world.to_numbers(rng, np.full(panel.size, world.m2m_centre), t, day),
        )
    )  # fmt: skip
    alarm = m2m[rng.random(m2m.size) < 0.05]
    if alarm.size:
        t = world.day_start(day) + rng.integers(0, DAY, size=alarm.size)
        result, duration = world.outcome(rng, alarm.size, 0.95, 15.0, 0.3)
        parts.append(
            Events.make(
                alarm.size, t=t, dur=duration, result=result,
                **world.from_subscriber(rng, alarm, t, day, pop.home_site[alarm], static=True),
                **world.to_numbers(rng, np.full(alarm.size, world.m2m_centre), t, day),
            )
        )  # fmt: skip
    return parts


def _bank_calls(world: World, rng: np.random.Generator, day: int) -> list[Events]:
    """Banks calling their customers over their own trunks, from registered numbers."""
    pop = world.pop
    s = world.scenario.look_alikes
    parts: list[Events] = []
    count = rng.poisson(world.scenario.subscribers * s.bank_calls_per_subscriber_day)
    bank = rng.integers(0, len(world.registry.bank_outbound), size=count)
    customer = pop.msisdn[rng.integers(0, world.scenario.subscribers, size=count)]
    t = world.sample_times(rng, day, hourly_profile((9, 20), world.country.utc_offset_h), count)
    result, duration = world.outcome(rng, count, 0.7, 80.0, 0.6)
    numbers = np.array([b[0] for b in world.registry.bank_outbound], dtype=np.int64)
    routes = np.array(
        [world.codes.code("ingress", b[2]) for b in world.registry.bank_outbound],
        dtype=np.int16,
    )
    parts.append(
        Events.make(
            count, t=t, dur=duration, result=result, a_num=numbers[bank], ingress=routes[bank],
            attest=0, truth=Truth.LEGIT, group=world.group("bank_outbound"),
            **world.to_numbers(rng, customer, t, day),
        )
    )  # fmt: skip
    return parts


def look_alike_traffic(world: World, rng: np.random.Generator, day: int) -> Events:
    """A day of every legitimate look-alike's calls (in this order: the random draws follow it)."""
    parts = _roamers_calling_home(world, rng, day)
    parts += _other_operators_roamers(world, rng, day)
    parts += _taxi_and_couriers(world, rng, day)
    weekend = world.is_weekend(day)
    if not weekend:
        parts += _sales_line_calls(world, rng, day)
        parts += _gateway_calls(world, rng, day)
    parts += _m2m_reports(world, rng, day)
    if not weekend and world.registry.bank_outbound:
        parts += _bank_calls(world, rng, day)
    if world.scenario.look_alikes.foreign_business_calls_per_subscriber_day > 0:
        parts.append(_foreign_business_calls(world, rng, day))
    return Events.concat(parts)


#: Foreign companies calling their customers here: (country, UTC offset, lines).
FOREIGN_BUSINESSES = (("TR", 3.0, 6), ("DE", 1.0, 4), ("AE", 4.0, 5), ("RU", 3.0, 8))


def _foreign_business_calls(world: World, rng: np.random.Generator, day: int) -> Events:
    """Service centers abroad (an airline, a retailer, a travel agency) calling customers.

    They look like a call center abroad: foreign numbers, office hours in their own
    time zone, many people a day, most of them called for the first time. But each
    company keeps a few numbers of its own country, calls over the carriers that
    ordinary calls from abroad use, is answered more often, and customers call back.
    """
    pop = world.pop
    rate = world.scenario.look_alikes.foreign_business_calls_per_subscriber_day
    people = np.flatnonzero(pop.kind == SimKind.ORDINARY)
    parts = []
    for b, (country, offset, lines) in enumerate(FOREIGN_BUSINESSES):
        if world.is_weekend(day, offset):
            continue
        own = np.random.default_rng([world.scenario.seed, 31, b])  # the same lines every day
        numbers = foreign_numbers(own, country, lines)
        count = int(rng.poisson(world.scenario.subscribers * rate / len(FOREIGN_BUSINESSES)))
        t = world.sample_times(rng, day, hourly_profile((9, 18), offset, lunch=13), count)
        customer = rng.choice(people, size=count)
        caller = rng.choice(numbers, size=count)
        result, duration = world.outcome(rng, count, 0.65, 100.0, 0.7)
        parts.append(
            Events.make(
                count, t=t, dur=duration, result=result, a_num=caller,
                ingress=world.carrier(rng, count), orig=world.codes.code("countries", country),
                truth=Truth.LEGIT, group=world.group("foreign_business"),
                **world.to_numbers(rng, pop.msisdn[customer], t, day),
            )
        )  # fmt: skip
        back = (result != ANSWERED) & (rng.random(count) < 0.2)
        if back.any():
            tb = t[back] + rng.integers(300, 4 * 3600, size=int(back.sum()))
            subs = customer[back].astype(np.int64)
            result_b, duration_b = world.outcome(rng, subs.size, 0.8, 120.0)
            parts.append(
                Events.make(
                    subs.size, t=tb, dur=duration_b, result=result_b,
                    **world.from_subscriber(rng, subs, tb, day),
                    **world.to_numbers(rng, caller[back], tb, day),
                )
            )  # fmt: skip
    return Events.concat(parts)


#: Where the relatives abroad of scam targets live, with weights.
RELATIVES_ABROAD = (("RU", 5.0), ("DE", 2.0), ("TR", 2.0), ("UZ", 1.0), ("KR", 1.0), ("US", 0.5))


def relatives_calling_targets(
    world: World, rng: np.random.Generator, day: int, fraud: Events
) -> Events:
    """Relatives abroad calling people whom the call centers rang the same day.

    A worried son in Germany calls his mother an hour after "the bank" did: a foreign
    mobile number, an international carrier, a victim of scam calls at the other
    end. Each target's relative keeps one number, the same on every day.
    """
    pop = world.pop
    share = world.scenario.look_alikes.relatives_calling_targets_share
    scam = fraud["truth"] == Truth.FRAUD
    if world.scenario.look_alikes.relatives_on_center_routes:
        centers = np.array([g.startswith("cc-") for g in world.codes.groups], dtype=np.bool_)
        scam &= centers[fraud["group"]]
    subs = pop.subscriber_of(fraud["b_num"][scam])
    rung = subs >= 0
    subs, t_rung = subs[rung], fraud["t"][scam][rung]
    people = pop.kind[subs] == SimKind.ORDINARY
    subs, t_rung = subs[people], t_rung[people]
    subs, first = np.unique(subs, return_index=True)
    called = rng.random(subs.size) < share
    subs, t_rung = subs[called], t_rung[first][called]
    if subs.size == 0:
        return Events.empty()
    if world.scenario.look_alikes.relatives_on_center_routes:
        scam_calls = fraud.take(np.flatnonzero(scam)[rung][people][first][called])
        return _relatives_on_center_routes(world, rng, day, subs, scam_calls, fraud)
    names = [c for c, _ in RELATIVES_ABROAD]
    weights = np.array([w for _, w in RELATIVES_ABROAD])
    numbers = np.empty(subs.size, dtype=np.int64)
    countries = np.empty(subs.size, dtype=np.int16)
    for i, sub in enumerate(subs.tolist()):
        own = np.random.default_rng([world.scenario.seed, 30, sub])  # the same relative every day
        country = names[int(own.choice(len(names), p=weights / weights.sum()))]
        numbers[i] = foreign_numbers(own, country, 1)[0]
        countries[i] = world.codes.code("countries", country)
    per = rng.integers(1, 3, size=subs.size)
    callee = np.repeat(subs, per)
    t = np.repeat(t_rung, per) + rng.integers(300, 6 * 3600, size=callee.size)
    result, duration = world.outcome(rng, callee.size, 0.8, 240.0, 0.8)
    return Events.make(
        callee.size, t=t, dur=duration, result=result, a_num=np.repeat(numbers, per),
        ingress=world.carrier(rng, callee.size), orig=np.repeat(countries, per),
        truth=Truth.LEGIT, group=world.group("relative_abroad"),
        **world.to_numbers(rng, pop.msisdn[callee], t, day),
    )  # fmt: skip


def _centers(world: World, fraud: Events) -> dict[int, tuple[str, int]]:
    """Each call center's country (the commonest origin of its calls) and its main international
    carrier, by truth group."""
    out: dict[int, tuple[str, int]] = {}
    scam = fraud["truth"] == Truth.FRAUD
    international = np.array(
        [n.startswith("international:") for n in world.codes.ingress], dtype=np.bool_
    )
    for group in np.unique(fraud["group"][scam]).tolist():
        if not world.codes.groups[int(group)].startswith("cc-"):
            continue
        mine = scam & (fraud["group"] == group)
        origins = fraud["orig"][mine & (fraud["orig"] >= 0)]
        routes = fraud["ingress"][mine & international[fraud["ingress"]]]
        if origins.size == 0 or routes.size == 0:
            continue
        name = world.codes.countries[int(np.bincount(origins).argmax())]
        if name in MOBILE_SHAPES:
            out[int(group)] = (name, int(np.bincount(routes).argmax()))
    return out


def _relatives_on_center_routes(
    world: World, rng: np.random.Generator, day: int, subs: I64, scam: Events, fraud: Events
) -> Events:
    """Several relatives of each rung person call from the call center's own country, over the
    carrier that brought the scam call, within minutes of it: every surface fact of the call
    is the call center's. What remains theirs is their own number, kept for years: one number
    per relative, the same on every day, the calls answered and long, and the rung person
    calling them back now and then."""
    pop = world.pop
    settings = world.scenario.look_alikes
    centers = _centers(world, fraud)
    names = [c for c, _ in RELATIVES_ABROAD]
    weights = np.array([w for _, w in RELATIVES_ABROAD])
    international = np.array(
        [n.startswith("international:") for n in world.codes.ingress], dtype=np.bool_
    )
    route = world.carrier(rng, subs.size)
    per = max(1, int(settings.relatives_per_target))
    numbers = np.empty((subs.size, per), dtype=np.int64)
    origin = np.empty((subs.size, per), dtype=np.int16)
    groups, ingresses = scam["group"].tolist(), scam["ingress"].tolist()
    for i, (sub, group, ingress) in enumerate(zip(subs.tolist(), groups, ingresses, strict=True)):
        own = np.random.default_rng([world.scenario.seed, 31, sub])  # the same relatives every day
        center = centers.get(int(group))
        if center is not None:
            route[i] = ingress if international[ingress] else center[1]
        for k in range(per):
            country = (
                center[0]
                if center is not None
                else names[int(own.choice(len(names), p=weights / weights.sum()))]
            )
            numbers[i, k] = foreign_numbers(own, country, 1)[0]
            origin[i, k] = world.codes.code("countries", country)
    calls = rng.integers(1, 3, size=(subs.size, per))
    callee = np.repeat(np.repeat(subs, per), calls.ravel())
    caller = np.repeat(numbers.ravel(), calls.ravel())
    t = np.repeat(np.repeat(scam["t"], per), calls.ravel()) + rng.integers(
        120, 2 * 3600, size=callee.size
    )
    result, duration = world.outcome(rng, callee.size, 0.8, 240.0, 0.8)
    inbound = Events.make(
        callee.size, t=t, dur=duration, result=result, a_num=caller,
        ingress=np.repeat(np.repeat(route, per), calls.ravel()),
        orig=np.repeat(origin.ravel(), calls.ravel()),
        truth=Truth.LEGIT, group=world.group("relative_abroad"),
        **world.to_numbers(rng, pop.msisdn[callee], t, day),
    )  # fmt: skip
    back = rng.random(callee.size) < 0.3
    if not back.any():
        return inbound
    tb = t[back] + rng.integers(600, 8 * 3600, size=int(back.sum()))
    result, duration = world.outcome(rng, tb.size, 0.8, 300.0, 0.8)
    calling_back = Events.make(
        tb.size, t=tb, dur=duration, result=result,
        **world.from_subscriber(rng, callee[back], tb, day),
        **world.to_numbers(rng, caller[back], tb, day),
    )  # fmt: skip
    return Events.concat([inbound, calling_back])


def _strangers(world: World, rng: np.random.Generator, cities: npt.NDArray[np.int32]) -> I64:
    """Random people of the same cities: half on this network, half on others."""
    pop = world.pop
    out = np.empty(cities.size, dtype=np.int64)
    onnet = rng.random(cities.size) < 0.5
    people = np.flatnonzero(pop.kind == SimKind.ORDINARY)
    out[onnet] = pop.msisdn[rng.choice(people, size=int(onnet.sum()))]
    out[~onnet] = rng.choice(pop.offnet_number, size=int((~onnet).sum()))
    return out


def _calls_in(
    world: World,
    rng: np.random.Generator,
    day: int,
    callers: I64,
    subs: I64,
    t: I64,
    answered: float,
    median_s: float,
) -> Events:
    """Calls from ``callers`` (any network) to the operator's SIMs ``subs``."""
    pop = world.pop
    if callers.size == 0:
        return Events.empty()
    caller_sub = pop.subscriber_of(callers)
    onnet = caller_sub >= 0
    result, duration = world.outcome(rng, callers.size, answered, median_s)
    events = Events.make(
        callers.size, t=t, dur=duration, result=result, a_num=callers,
        ingress=world.national_route(callers),
        **world.to_numbers(rng, pop.msisdn[subs], t, day),
    )  # fmt: skip
    if onnet.any():
        idx = np.flatnonzero(onnet)
        mobile = world.from_subscriber(rng, caller_sub[idx], t[idx], day)
        for name, values in mobile.items():
            events.cols[name][idx] = values
        events.cols["ingress"][idx] = world.codes.code("ingress", "mobile")
    return events
