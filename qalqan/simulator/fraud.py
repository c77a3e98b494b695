"""Fraud: call centers abroad, SIM boxes and SIM farms at home, Wangiri, victims and their money.

A call center works its own office hours in its own time zone and reaches
victims three ways: over international carriers and VoIP trunks presenting a
spoofed caller ID (random domestic numbers, real people's numbers, numbers of
banks and the police, sequential or unallocated numbers), and through SIM
farms inside the country that place ordinary-looking local calls. Farms come
in three kinds:

- ``bypass``: a classic interconnect-bypass SIM box terminating foreign
  traffic as local calls around the clock, one IMEI a channel;
- ``rotating``: a scam farm using each SIM about twice before replacing it,
  SIMs bought in activation batches or registered to a few straw owners;
- ``evasive``: a farm that gives every SIM a fresh IMEI, moves between
  places, and fakes calls and SMS between its own SIMs to look human.

Victims who are drawn in get called again; some pay to mule accounts, and
the money moves on through SIM top-ups and e-wallets into crypto; some
complain. Everything is labelled in the ground truth.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from qalqan.domain.model import SimVerdict
from qalqan.simulator.events import ANSWERED, BUSY, FAILED, NO_ANSWER, SMS, Events, Truth
from qalqan.simulator.geography import Country
from qalqan.simulator.ids import luhn_append, unique_serials
from qalqan.simulator.population import PHONE_TACS, SimKind, foreign_numbers, make_iccids
from qalqan.simulator.world import DAY, World, hourly_profile

__all__ = [
    "CallCenter",
    "Farm",
    "FraudPlan",
    "fraud_traffic",
    "label_farms",
    "person_account",
    "setup_fraud",
    "victim_account",
]

I64 = npt.NDArray[np.int64]

CATEGORIES = ("bank_security", "police", "investment", "egov", "operator", "relative")
OFFSETS = (2.0, 3.0, 4.0, 7.0, 8.0, 1.0)
CENTER_COUNTRIES = {1.0: "PL", 2.0: "UA", 3.0: "TR", 4.0: "GE", 7.0: "KH", 8.0: "CN"}
WHOLESALE_CARRIERS = np.array(
    [
        "wholesale1",
        "wholesale2",
        "wholesale3",
        "wholesale4",
        "wholesale5",
        "wholesale6",
        "carrierC",
        "carrierD",
    ]
)
WANGIRI_RANGES = (
    (222, 45000000, 8),
    (371, 25000000, 8),
    (882, 1600000000, 10),
    (225, 700000000, 10),
)
#: Carriers a Wangiri burst arrives over, first the one it always uses.
WANGIRI_CARRIERS = (
    "international:wholesale6",
    "international:wholesale2",
    "international:carrierC",
    "international:wholesale4",
    "international:carrierD",
    "international:wholesale5",
)
REPORT_TEXT = {
    "bank_security": "Позвонили якобы из службы безопасности банка, просили перевести деньги на безопасный счёт",
    "police": "Звонил «следователь», сказал что на меня оформляют кредит, велел перевести сбережения",
    "investment": "Предложили инвестиции с доходом 30% в месяц, после перевода перестали отвечать",
    "egov": "Сказали что истекает ЭЦП на eGov, попросили продиктовать код из SMS",
    "operator": "Представились оператором связи, сказали что номер заблокируют, просили код из SMS",
    "relative": "Позвонили будто бы от сына, сказали что он попал в ДТП и нужны деньги",
}


@dataclass(slots=True)
class Farm:
    farm_id: str
    kind: str
    channels: int
    sims: I64
    """Subscriber indexes of the farm's SIM stock, in the order they are used."""
    imeis: I64
    """One IMEI per channel (bypass, rotating) or per SIM (evasive)."""
    sites: list[int]
    center: int | None
    next_sim: int = 0
    active: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Stock position of the SIM in each channel (-1: empty)."""
    left: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Calls each channel's SIM still makes before it is thrown away."""
    used: set[int] = field(default_factory=set)


@dataclass(slots=True)
class CallCenter:
    ident: str
    offset_h: float
    hours: tuple[int, int]
    category: str
    agents: int
    routes: list[tuple[str, float]]
    """(ingress or ``farm:<id>``, weight)."""
    cli_patterns: dict[str, float]
    mules: list[str]
    wallets: list[str]
    crypto: list[str]
    sequence_prefix: int
    cli_prefixes: tuple[int, ...]
    """Ranges the center's dialer draws random domestic caller IDs from."""
    cli_base: int
    """First number of the center's sequential caller IDs."""
    sequence_next: int = 0
    hooked: dict[int, tuple[int, int]] = field(default_factory=dict)
    """victim subscriber -> (day hooked, follow-up calls left)."""
    cli_counter: int = 0


@dataclass(slots=True)
class FraudPlan:
    centers: list[CallCenter]
    farms: list[Farm]
    wangiri: list[tuple[int, int, int]]
    """(calling code, range start, digits) of each Wangiri operation."""


def _all_prefixes(country: Country) -> I64:
    """Mobile ranges of every domestic operator, the simulated one first."""
    others = tuple(p for ps in country.other_operators.values() for p in ps)
    return np.array(country.home_prefixes + others, dtype=np.int64)


def _account(rng: np.random.Generator, kind: str, iban_country: str = "KZ") -> str:
    if kind == "bank":
        return f"bank:{iban_country}" + "".join(str(d) for d in rng.integers(0, 10, size=18))
    if kind == "ewallet":
        return "ewallet:" + "".join(str(d) for d in rng.integers(0, 10, size=10))
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return "crypto:T" + "".join(alphabet[i] for i in rng.integers(0, len(alphabet), size=33))


def victim_account(world: World, sub: int) -> str:
    """A subscriber's bank account, stable for the subscriber."""
    digest = hashlib.blake2b(f"{world.scenario.seed}:{sub}".encode(), digest_size=8).digest()
    iban = world.country.iban_country
    return f"bank:{iban}" + str(int.from_bytes(digest, "big")).zfill(18)[:18]


def person_account(world: World, sub: int) -> str:
    """:func:`victim_account`, remembered as the subscriber's for the ``accounts`` table."""
    account = victim_account(world, sub)
    world.account_holders.setdefault(account, sub)
    return account


def _farm_sims(
    world: World,
    rng: np.random.Generator,
    farm: str,
    count: int,
    *,
    site: int,
    style: str,
    first_use_day: int,
) -> I64:
    """The SIM stock of a farm: activation batches with consecutive serials, or straw owners."""
    pop = world.pop
    if style == "batch":
        batch = 300
        n_batches = (count + batch - 1) // batch
        imsi_base = np.repeat(unique_serials(rng, n_batches, 0, 10**10 - batch), batch)[:count]
        offset = np.tile(np.arange(batch), n_batches)[:count]
        serial = imsi_base + offset
        activated = np.repeat(first_use_day - rng.integers(3, 30, size=n_batches), batch)[:count]
        owner = np.repeat(rng.integers(940_000_000, 950_000_000, size=n_batches), batch)[:count]
        iccid_base = np.repeat(rng.integers(0, 10**11 - batch, size=n_batches), batch)[:count]
        iccid = make_iccids(iccid_base + offset, world.country)
    else:  # bought from dealers, each registered to one of a few straw owners or to strangers
        serial = unique_serials(rng, count, 0, 10**10)
        activated = first_use_day - rng.integers(2, 120, size=count)
        owners = rng.integers(950_000_000, 960_000_000, size=6 if style == "straw" else count)
        owner = rng.choice(owners, size=count)
        iccid = make_iccids(rng.integers(0, 10**11, size=count), world.country)
    country = world.country
    imsi = np.int64(country.imsi_prefix) * 10_000_000_000 + serial
    prefix = rng.choice(np.array(country.home_prefixes, dtype=np.int64), size=count * 2)
    lines = rng.integers(1_000_000, 10_000_000, size=count * 2)
    numbers = np.unique(country.mobile(prefix, lines))
    numbers = pop.free_msisdns(numbers)
    numbers = rng.permutation(numbers)[:count]
    subs = pop.add_sims(
        imsi=imsi, msisdn=numbers, iccid=iccid, activated_day=activated,
        plan=np.zeros(count), birth_year=rng.integers(1960, 2004, size=count),
        city=np.full(count, pop.site_city[site]), owner=owner,
        kind=np.full(count, int(SimKind.FARM)), home_site=np.full(count, site),
        work_site=np.full(count, site), imei=np.zeros(count), new_imei=np.zeros(count),
        new_imei_day=np.full(count, 1 << 30), voice_rate=np.zeros(count), sms_rate=np.zeros(count),
    )  # fmt: skip
    return subs


def setup_fraud(world: World, rng: np.random.Generator) -> FraudPlan:
    s = world.scenario.fraud
    centers = _call_centers(world, rng)
    farms = _farms(world, rng, centers)
    _record_centers(world, centers)
    wangiri = [
        WANGIRI_RANGES[i % len(WANGIRI_RANGES)]
        for i in range(s.wangiri_operations if s.wangiri_bursts_per_day > 0 else 0)
    ]
    for i in range(len(wangiri)):
        world.campaigns.append(
            {"campaign": f"wangiri-{i + 1}", "utc_offset_h": "", "category": "wangiri"}
        )
    world.grow_roaming_arrays()
    return FraudPlan(centers=centers, farms=farms, wangiri=wangiri)


def _call_centers(world: World, rng: np.random.Generator) -> list[CallCenter]:
    """The scam call centers: their hours, routes, caller-ID habits and money accounts."""
    s = world.scenario.fraud
    country = world.country
    everyone = _all_prefixes(country)
    centers: list[CallCenter] = []
    offsets = list(rng.permutation(np.array(OFFSETS)))
    for i in range(s.call_centers):
        offset = float(offsets[i % max(1, min(len(offsets), s.center_time_zones))])
        begin = int(rng.integers(8, 11))
        patterns = {
            "random_domestic": float(rng.uniform(0.5, 3)),
            "real_subscriber": float(rng.uniform(0, 2)),
            "registry": float(rng.uniform(0, 2)) if i % 2 == 0 else 0.2,
            "sequential": float(rng.uniform(0, 1.5)),
            "unallocated": float(rng.uniform(0, 1)),
            "foreign": float(rng.uniform(0, 0.4)),
            "withheld": float(rng.uniform(0, 0.3)),
        }
        # Centers rent capacity from wholesale carriers; some share one, and some use the
        # same carriers as ordinary traffic.
        pool = WHOLESALE_CARRIERS[: max(2, min(WHOLESALE_CARRIERS.size, s.center_carriers))]
        carriers = rng.choice(pool, size=2, replace=False)
        routes = [(f"international:{carriers[0]}", 1.0), (f"international:{carriers[1]}", 0.5)]
        if i % 2 == 1 or s.split_routes:
            routes.append((f"voip:sip{i}", 0.8))
        centers.append(
            CallCenter(
                ident=f"cc-{i + 1}", offset_h=offset, hours=(begin, begin + 9),
                category=CATEGORIES[i % len(CATEGORIES)], agents=int(rng.integers(8, 31)),
                routes=routes, cli_patterns=patterns,
                mules=[_account(rng, "bank", country.iban_country) for _ in range(int(rng.integers(3, 8)))],
                wallets=[_account(rng, "ewallet") for _ in range(int(rng.integers(2, 4)))],
                crypto=[_account(rng, "crypto") for _ in range(int(rng.integers(1, 3)))],
                sequence_prefix=int(rng.choice(np.array(country.home_prefixes))),
                cli_prefixes=tuple(int(p) for p in rng.choice(everyone, size=3, replace=False)),
                cli_base=int(country.mobile(int(rng.choice(everyone)), np.int64(rng.integers(1, 999) * 10_000))),
                sequence_next=int(rng.integers(1_000_000, 9_000_000)),
            )
        )  # fmt: skip
    return centers


def _farms(world: World, rng: np.random.Generator, centers: list[CallCenter]) -> list[Farm]:
    """The SIM boxes and farms, each with its stock of SIMs; scam farms join their center's routes."""
    s = world.scenario.fraud
    pop = world.pop
    start_day = int(pop.activated_day.max()) + 1
    country = world.country
    big = [i for i, c in enumerate(country.cities) if c.population_k >= 300]
    big = big or [int(np.argmax([c.population_k for c in country.cities]))]
    farms: list[Farm] = []
    kinds = (
        ["bypass"] * s.bypass_boxes
        + ["rotating"] * s.rotating_farms
        + ["evasive"] * s.evasive_farms
    )
    scam_farms = [k for k in kinds if k != "bypass"]
    # Which center each scam farm works for, known before the stock is bought.
    farm_center = [i % max(s.call_centers, 1) for i in range(len(scam_farms))] if centers else []
    scam_index = 0
    for f, kind in enumerate(kinds):
        farm_id = f"farm-{f + 1}"
        sites = _farm_hideouts(world, rng, kind, big)
        channels = int(rng.choice([16, 32])) if kind == "bypass" else int(rng.choice([8, 16]))
        center: int | None = None
        if kind == "bypass" or not centers:
            stock = channels * (world.scenario.days // 4 + 2)
            style = "batch"
        else:
            center = farm_center[scam_index]
            scam_index += 1
            stock = _scam_farm_stock(world, kind, channels, centers, center, farm_center)
            style = ("batch", "straw")[scam_index % 2] if kind == "rotating" else "dealer"
        sims = _farm_sims(
            world, rng, farm_id, stock, site=sites[0], style=style, first_use_day=start_day
        )
        if kind == "evasive":
            imeis = luhn_append(
                rng.choice(PHONE_TACS, size=stock) * 1_000_000 + rng.integers(0, 10**6, size=stock),
                14,
            )
        else:
            tac = rng.choice(PHONE_TACS)
            imeis = luhn_append(tac * 1_000_000 + rng.integers(0, 10**6, size=channels), 14)
        farm = Farm(
            farm_id=farm_id, kind=kind, channels=channels, sims=sims, imeis=imeis, sites=sites,
            center=center, active=np.full(channels, -1, dtype=np.int64), left=np.zeros(channels, dtype=np.int64),
        )  # fmt: skip
        farms.append(farm)
        if center is not None and centers:
            centers[center].routes.append((f"farm:{farm_id}", 1.6))
        world.farms.append(
            {
                "farm_id": farm_id, "kind": kind, "center": "" if center is None else centers[center].ident,
                "channels": channels, "sites": sites,
                "lat": float(pop.site_lat[sites[0]]), "lon": float(pop.site_lon[sites[0]]),
            }
        )  # fmt: skip
    return farms


def _farm_hideouts(world: World, rng: np.random.Generator, kind: str, big: list[int]) -> list[int]:
    """Where a farm stands: one site in a big city; an evasive farm also the sites nearest it."""
    s = world.scenario.fraud
    pop = world.pop
    city = int(rng.choice(big))
    base = int(rng.choice(pop.city_sites[city]))
    if kind != "evasive":
        return [base]
    # Moves among the sites nearest its first hide-out.
    d = np.hypot(
        pop.site_lat - pop.site_lat[base],
        (pop.site_lon - pop.site_lon[base]) * np.cos(np.radians(pop.site_lat[base])),
    )
    return [int(x) for x in np.argsort(d, kind="stable")[: max(1, s.evasive_sites)]]


def _scam_farm_stock(
    world: World,
    kind: str,
    channels: int,
    centers: list[CallCenter],
    center: int,
    farm_center: list[int],
) -> int:
    """SIMs a scam farm buys: enough for its share of its center's calls over the whole period."""
    s = world.scenario.fraud
    owner = centers[center]
    share = owner.agents / (sum(c.agents for c in centers) or 1)
    per_day = max(
        150.0 * share * len(centers),
        world.scenario.subscribers * s.attempts_per_subscriber_day * share,
    )
    sharing = 1 + sum(1 for c in farm_center if c == center)
    route_share = 1.6 / (sum(w for _, w in owner.routes) + 1.6 * (sharing - 1))
    expected = per_day * world.scenario.days * route_share * 1.3
    per_sim = s.rotating_calls_per_sim if kind == "rotating" else s.evasive_calls_per_sim
    return int(expected / max(per_sim, 0.5)) + channels * 2


def _record_centers(world: World, centers: list[CallCenter]) -> None:
    """The ground truth of the centers: one campaign each, and their accounts as mules."""
    for c in centers:
        world.campaigns.append(
            {
                "campaign": c.ident, "utc_offset_h": c.offset_h, "category": c.category,
                "hours_local": f"{c.hours[0]:02d}:00-{c.hours[1]:02d}:00", "agents": c.agents,
                "routes": ";".join(r for r, _ in c.routes if not r.startswith("farm:")),
                "farms": ";".join(r[5:] for r, _ in c.routes if r.startswith("farm:")),
            }
        )  # fmt: skip
        for account in c.mules + c.wallets + c.crypto:
            world.labels.append(("account", account, "mule", c.ident))


# --- daily traffic -------------------------------------------------------------------------


def label_farms(world: World, plan: FraudPlan) -> None:
    """Ground truth of the farms: every SIM of their stock and every IMEI that carried a call.

    SIMs bought but never used are labelled too (they are the farm's), yet only
    those that called can be found in call records.
    """
    pop = world.pop
    for farm in plan.farms:
        for sub in farm.sims:
            world.labels.append(("sim", str(pop.imsi[sub]), SimVerdict.SIMBOX, farm.farm_id))
        if farm.kind == "evasive":
            imeis = {int(farm.imeis[i]) for i in sorted(farm.used)}
        else:
            imeis = {int(x) for x in farm.imeis}
        for imei in sorted(imeis):
            world.labels.append(("device", str(imei), SimVerdict.SIMBOX, farm.farm_id))


def fraud_traffic(world: World, plan: FraudPlan, rng: np.random.Generator, day: int) -> Events:
    parts: list[Events] = []
    for center in plan.centers:
        parts.append(_center_day(world, plan, center, rng, day))
    for farm in plan.farms:
        if farm.kind == "bypass":
            parts.append(_bypass_day(world, farm, rng, day))
    parts.append(_wangiri_day(world, plan, rng, day))
    return Events.concat(parts)


def _targets(
    world: World, center: CallCenter, rng: np.random.Generator, count: int, onnet_only: bool
) -> I64:
    """Numbers a call center dials: bought lead lists (elderly first) and sequential blocks."""
    pop = world.pop
    s = world.scenario.fraud
    people = np.flatnonzero(pop.kind <= SimKind.TAXI_COURIER)
    weight = np.where(
        pop.birth_year[people] <= world.scenario.start.year - 65, s.elderly_target_weight, 1.0
    )
    leads = pop.msisdn[rng.choice(people, size=count, p=weight / weight.sum())]
    if not onnet_only:
        offnet = rng.random(count) < 0.5
        leads[offnet] = rng.choice(pop.offnet_number, size=int(offnet.sum()))
    sequential = rng.random(count) < 0.25
    k = int(sequential.sum())
    lines = center.sequence_next + np.arange(k)
    center.sequence_next += k
    leads[sequential] = world.country.mobile(center.sequence_prefix, lines % 10_000_000)
    return leads


def _random_domestic(world: World, center: CallCenter, rng: np.random.Generator, count: int) -> I64:
    return world.country.mobile(
        rng.choice(np.array(center.cli_prefixes), size=count),
        rng.integers(1_000_000, 10_000_000, size=count),
    )


def _caller_ids(world: World, center: CallCenter, rng: np.random.Generator, count: int) -> I64:
    pop = world.pop
    names = list(center.cli_patterns)
    weights = np.array([center.cli_patterns[n] for n in names])
    pick = rng.choice(len(names), size=count, p=weights / weights.sum())
    out = np.zeros(count, dtype=np.int64)
    for i, name in enumerate(names):
        m = pick == i
        k = int(m.sum())
        if k == 0:
            continue
        if name == "random_domestic":
            out[m] = _random_domestic(world, center, rng, k)
        elif name == "real_subscriber":
            mine = rng.random(k) < 0.5
            out[m] = np.where(
                mine,
                pop.msisdn[rng.integers(0, world.scenario.subscribers, size=k)],
                rng.choice(pop.offnet_number, size=k),
            )
        elif name == "registry":
            state = world.country.state_numbers
            wanted = [num for num, _, cat in state if cat == center.category]
            protected = wanted or [int(x) for x in world.registry.inbound_only()]
            out[m] = rng.choice(np.array(protected, dtype=np.int64), size=k)
        elif name == "sequential":
            out[m] = center.cli_base + (center.cli_counter + np.arange(k)) % 10_000
            center.cli_counter += k
        elif name == "unallocated":
            out[m] = world.country.mobile(
                rng.choice(np.array(world.country.unallocated_prefixes), size=k),
                rng.integers(10**6, 10**7, size=k),
            )
        elif name == "foreign":
            country = CENTER_COUNTRIES.get(center.offset_h, "UA")
            out[m] = foreign_numbers(rng, country, k)
        # withheld: 0
    return out


def _center_day(
    world: World, plan: FraudPlan, center: CallCenter, rng: np.random.Generator, day: int
) -> Events:
    s = world.scenario.fraud
    pop = world.pop
    if world.is_weekend(day, center.offset_h) and (world.scenario.start.weekday() + day) % 7 == 6:
        return Events.empty()  # the office is closed on Sundays
    group = world.group(center.ident)
    share = center.agents / sum(c.agents for c in plan.centers)
    total = max(
        150.0 * share * len(plan.centers),
        world.scenario.subscribers * s.attempts_per_subscriber_day * share,
    )
    count = int(rng.poisson(total))
    profile = hourly_profile(center.hours, center.offset_h, lunch=13)
    t = world.sample_times(rng, day, profile, count)

    # Follow-ups: victims drawn in earlier are called again, whatever the route.
    follow: list[int] = []
    for victim, (hooked_day, left) in list(center.hooked.items()):
        if day > hooked_day and left > 0:
            n = int(rng.integers(1, 3))
            follow += [victim] * n
            center.hooked[victim] = (hooked_day, left - n)
    follow_t = world.sample_times(rng, day, profile, len(follow))

    names = [r for r, _ in center.routes]
    weights = np.array([w for _, w in center.routes])
    route = rng.choice(len(names), size=count + len(follow), p=weights / weights.sum())
    targets = np.concatenate(
        [
            _targets(world, center, rng, count, onnet_only=False),
            pop.msisdn[np.array(follow, dtype=np.int64)],
        ]
    )
    times = np.concatenate([t, follow_t])
    is_follow = np.concatenate([np.zeros(count, bool), np.ones(len(follow), bool)])
    parts: list[Events] = []
    for r, name in enumerate(names):
        m = route == r
        if not m.any():
            continue
        if name.startswith("farm:"):
            farm = next(f for f in plan.farms if f.farm_id == name[5:])
            parts.append(
                _farm_calls(world, farm, rng, day, times[m], targets[m], is_follow[m], group)
            )
        else:
            # A spoofed call from abroad reaches only this operator's own subscribers.
            onnet = pop.subscriber_of(targets[m]) >= 0
            unassigned = _unassigned(world, targets[m])
            keep = onnet | unassigned
            tt, tg, fw = times[m][keep], targets[m][keep], is_follow[m][keep]
            parts.append(_spoofed_calls(world, center, rng, day, tt, tg, fw, name, group))
    events = Events.concat(parts)
    farms = [f for f in plan.farms if f"farm:{f.farm_id}" in names]
    _hook_and_pay(world, center, farms, rng, day, events)
    return events


def _unassigned(world: World, numbers: I64) -> npt.NDArray[np.bool_]:
    """Numbers in this operator's ranges that no SIM holds (sequential dialling hits them)."""
    country = world.country
    home = np.isin(country.prefix_of(numbers), np.array(country.home_prefixes))
    domestic = numbers // 10**country.national_digits == country.calling_code
    return home & domestic & (world.pop.subscriber_of(numbers) < 0)


def _voice_outcome(
    world: World, rng: np.random.Generator, numbers: I64, follow: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int32]]:
    s = world.scenario.fraud
    count = numbers.size
    result, duration = world.outcome(rng, count, s.answered_share, 25.0, 0.9)
    # A few answered calls draw the victim into a long conversation.
    drawn_in = (result == ANSWERED) & (rng.random(count) < s.hooked_share)
    duration[drawn_in] = (
        rng.lognormal(np.log(900), 0.5, size=int(drawn_in.sum())).astype(np.int32) + 240
    )
    # Follow-ups are answered: the victim is waiting for "the bank" to call back.
    result[follow] = ANSWERED
    duration[follow] = rng.lognormal(np.log(600), 0.6, size=int(follow.sum())).astype(np.int32) + 30
    dead = _unassigned(world, numbers)
    result[dead] = FAILED
    duration[dead] = 0
    return result, duration


def _spoofed_calls(
    world: World, center: CallCenter, rng: np.random.Generator, day: int,
    t: I64, targets: I64, follow: npt.NDArray[np.bool_], route: str, group: int,
) -> Events:  # fmt: skip
    count = t.size
    if count == 0:
        return Events.empty()
    result, duration = _voice_outcome(world, rng, targets, follow)
    if world.scenario.fraud.split_routes and route.startswith("voip:"):
        cli = _random_domestic(
            world, center, rng, count
        )  # a dialer on a trunk: a new number each call
    else:
        cli = _caller_ids(world, center, rng, count)
    country = world.codes.code("countries", CENTER_COUNTRIES.get(center.offset_h, "UA"))
    transit = ("TR", "AE", "GB", "NL")
    orig = np.where(
        rng.random(count) < 0.4, country,
        rng.choice([world.codes.code("countries", c) for c in transit], size=count),
    )  # fmt: skip
    ingress = world.codes.code("ingress", route)
    attest = 2 if route.startswith("voip:") else -1
    return Events.make(
        count, t=t, dur=duration, result=result, a_num=cli, ingress=ingress,
        orig=orig if route.startswith("international:") else -1, attest=attest,
        truth=Truth.FRAUD, group=group, **world.to_numbers(rng, targets, t, day),
    )  # fmt: skip


def _next_sim(farm: Farm, channel: int, rng: np.random.Generator, per_sim: float) -> None:
    if farm.next_sim >= farm.sims.size:
        farm.next_sim = 0  # the stock is exhausted: old SIMs are put back in
    farm.active[channel] = farm.next_sim
    farm.left[channel] = max(1, int(rng.poisson(per_sim)))
    farm.next_sim += 1


def _farm_calls(
    world: World, farm: Farm, rng: np.random.Generator, day: int,
    t: I64, targets: I64, follow: npt.NDArray[np.bool_], group: int,
) -> Events:  # fmt: skip
    """A scam farm places the call center's calls through its channels, changing SIMs as it goes."""
    pop = world.pop
    order = np.argsort(t, kind="stable")
    t, targets, follow = t[order], targets[order], follow[order]
    count = t.size
    if count == 0:
        return Events.empty()
    result, duration = _voice_outcome(world, rng, targets, follow)
    s = world.scenario.fraud
    per_sim = s.rotating_calls_per_sim if farm.kind == "rotating" else s.evasive_calls_per_sim
    sims = np.empty(count, dtype=np.int64)
    imeis = np.empty(count, dtype=np.int64)
    channel_free = np.zeros(farm.channels, dtype=np.int64)
    for i in range(count):
        ch = int(np.argmin(channel_free))
        t[i] = max(t[i], channel_free[ch])
        channel_free[ch] = t[i] + duration[i] + 15
        if farm.active[ch] < 0 or farm.left[ch] <= 0:
            _next_sim(farm, ch, rng, per_sim)
        stock = int(farm.active[ch])
        farm.left[ch] -= 1
        sims[i] = farm.sims[stock]
        imeis[i] = farm.imeis[stock] if farm.kind == "evasive" else farm.imeis[ch]
        farm.used.add(stock)
    site = _farm_sites(world, farm, day, t)
    cells = (site * 3 + rng.choice(3, size=count, p=[0.7, 0.2, 0.1])).astype(np.int32)
    events = Events.make(
        count, t=t, dur=duration, result=result, a_num=pop.msisdn[sims], a_imsi=pop.imsi[sims],
        a_imei=imeis, a_cell=cells, truth=Truth.FRAUD, group=group,
        **world.to_numbers(rng, targets, t, day),
    )  # fmt: skip
    if farm.kind != "evasive":
        return events
    parts = [events, _fake_life(world, farm, rng, day, sims, imeis, t, group)]
    if s.evasive_incoming_per_sim_day > 0:
        parts.append(_calls_to_farm(world, farm, rng, day, sims, t))
    if s.evasive_texts_per_sim_day > 0:
        parts.append(_texts_to_people(world, farm, rng, day, sims, imeis, t, group))
    return Events.concat(parts)


def _farm_sites(world: World, farm: Farm, day: int, t: I64) -> I64:
    """Where the farm is at each time: evasive farms move among their hide-outs.

    They move ``evasive_moves_per_day`` times a day (0.5: every two days); the
    place of a time is judged within its simulated day.
    """
    sites = np.array(farm.sites, dtype=np.int64)
    if farm.kind != "evasive":
        return np.full(t.size, sites[0], dtype=np.int64)
    within = np.clip(t - world.day_start(day), 0, DAY - 1) / DAY
    slot = np.floor((day + within) * world.scenario.fraud.evasive_moves_per_day).astype(np.int64)
    return sites[slot % sites.size]


def _calls_to_farm(
    world: World, farm: Farm, rng: np.random.Generator, day: int, sims: I64, t: I64
) -> Events:
    """People outside the farm call its SIMs back: victims, wrong numbers, the curious."""
    pop = world.pop
    unique, first = np.unique(sims, return_index=True)
    per = rng.poisson(world.scenario.fraud.evasive_incoming_per_sim_day, size=unique.size)
    subs = np.repeat(unique, per)
    if subs.size == 0:
        return Events.empty()
    when = np.repeat(t[first], per) + rng.integers(600, 8 * 3600, size=subs.size)
    people = np.flatnonzero(pop.kind == SimKind.ORDINARY)
    onnet = rng.random(subs.size) < 0.5
    callers = np.where(
        onnet,
        pop.msisdn[rng.choice(people, size=subs.size)],
        rng.choice(pop.offnet_number, size=subs.size),
    )
    caller_sub = pop.subscriber_of(callers)
    result, duration = world.outcome(rng, subs.size, 0.7, 45.0)
    site = _farm_sites(world, farm, day, when)
    events = Events.make(
        subs.size, t=when, dur=duration, result=result, a_num=callers,
        ingress=world.national_route(callers), b_num=pop.msisdn[subs], b_imsi=pop.imsi[subs],
        b_cell=(site * 3 + rng.integers(0, 3, size=subs.size)).astype(np.int32),
        truth=Truth.LEGIT, group=world.group("farm_callback"),
    )  # fmt: skip
    on = np.flatnonzero(caller_sub >= 0)
    if on.size:
        mobile = world.from_subscriber(rng, caller_sub[on], when[on], day)
        for name, values in mobile.items():
            events.cols[name][on] = values
        events.cols["ingress"][on] = world.codes.code("ingress", "mobile")
    return events


def _texts_to_people(
    world: World, farm: Farm, rng: np.random.Generator, day: int,
    sims: I64, imeis: I64, t: I64, group: int,
) -> Events:  # fmt: skip
    """SMS from the farm's SIMs to people outside it, so that each SIM seems to text like a person.

    Each goes to someone on the network or off it, picked at random: the farm has no
    one of its own to text.
    """
    pop = world.pop
    unique, first = np.unique(sims, return_index=True)
    per = rng.poisson(world.scenario.fraud.evasive_texts_per_sim_day, size=unique.size)
    senders = np.repeat(unique, per)
    if senders.size == 0:
        return Events.empty()
    imei_of = dict(zip(sims.tolist(), imeis.tolist(), strict=True))
    when = np.repeat(t[first], per) + rng.integers(-3 * 3600, 3 * 3600, size=senders.size)
    people = np.flatnonzero(pop.kind == SimKind.ORDINARY)
    onnet = rng.random(senders.size) < 0.7
    to = np.where(
        onnet,
        pop.msisdn[rng.choice(people, size=senders.size)],
        rng.choice(pop.offnet_number, size=senders.size),
    )
    site = _farm_sites(world, farm, day, when)
    return Events.make(
        senders.size, t=when, dur=np.zeros(senders.size, np.int32),
        result=np.full(senders.size, ANSWERED, np.int8), event=SMS,
        a_num=pop.msisdn[senders], a_imsi=pop.imsi[senders],
        a_imei=np.array([imei_of[int(c)] for c in senders], dtype=np.int64),
        a_cell=(site * 3 + rng.integers(0, 3, size=senders.size)).astype(np.int32),
        truth=Truth.FRAUD, group=group, **world.to_numbers(rng, to, when, day),
    )  # fmt: skip


def _fake_life(
    world: World, farm: Farm, rng: np.random.Generator, day: int,
    sims: I64, imeis: I64, t: I64, group: int,
) -> Events:  # fmt: skip
    """Calls and SMS between the farm's own SIMs, so that each SIM seems to have a life."""
    pop = world.pop
    unique, first = np.unique(sims, return_index=True)
    if unique.size < 2:
        return Events.empty()
    imei_of = dict(zip(sims.tolist(), imeis.tolist(), strict=True))
    parts = []
    for kind in ("voice", "sms"):
        per = rng.integers(1, world.scenario.fraud.evasive_fake_per_sim + 1, size=unique.size)
        callee = np.repeat(unique, per)
        caller = rng.choice(unique, size=callee.size)
        same = caller == callee
        caller[same] = unique[(np.searchsorted(unique, caller[same]) + 1) % unique.size]
        when = np.repeat(t[first], per) + rng.integers(-3 * 3600, 3 * 3600, size=callee.size)
        if kind == "voice":
            result, duration = world.outcome(rng, callee.size, 0.9, 40.0, 0.5)
            event = 0
        else:
            result, duration = (
                np.full(callee.size, ANSWERED, np.int8),
                np.zeros(callee.size, np.int32),
            )
            event = SMS
        site = _farm_sites(world, farm, day, when)
        parts.append(
            Events.make(
                callee.size, t=when, dur=duration, result=result, event=event,
                a_num=pop.msisdn[caller], a_imsi=pop.imsi[caller],
                a_imei=np.array([imei_of[int(c)] for c in caller], dtype=np.int64),
                a_cell=(site * 3 + rng.integers(0, 3, size=callee.size)).astype(np.int32),
                b_num=pop.msisdn[callee], b_imsi=pop.imsi[callee],
                b_cell=(site * 3 + rng.integers(0, 3, size=callee.size)).astype(np.int32),
                truth=Truth.FRAUD, group=group,
            )
        )  # fmt: skip
    return Events.concat(parts)


def _bypass_day(world: World, farm: Farm, rng: np.random.Generator, day: int) -> Events:
    """Foreign calls terminated as local ones, around the clock, one SIM a channel for days."""
    pop = world.pop
    if day % 4 == 0:  # the operator blocks the SIMs now and then; the owner puts in new ones
        for ch in range(farm.channels):
            _next_sim(farm, ch, rng, 1e9)
    # A box on a big network runs flat out; on a small one it has fewer people to reach.
    load = min(1.0, max(0.2, world.scenario.subscribers / 100_000))
    per_channel = (rng.integers(60, 120, size=farm.channels) * load).astype(np.int64)
    parts = []
    profile = world.ordinary_minutes(day)
    for ch in range(farm.channels):
        count = int(per_channel[ch])
        t = world.sample_times(rng, day, profile, count)
        result, duration = world.outcome(rng, count, 0.7, 150.0, 0.8)
        order = np.argsort(t)
        t, result, duration = t[order], result[order], duration[order]
        for i in range(1, count):
            t[i] = max(t[i], t[i - 1] + duration[i - 1] + 10)
        stock = int(farm.active[ch])
        farm.used.add(stock)
        sim = farm.sims[stock]
        people = rng.random(count) < 0.6
        callee = np.where(
            people, pop.msisdn[rng.integers(0, world.scenario.subscribers, size=count)],
            rng.choice(pop.offnet_number, size=count),
        )  # fmt: skip
        parts.append(
            Events.make(
                count, t=t, dur=duration, result=result, a_num=pop.msisdn[sim], a_imsi=pop.imsi[sim],
                a_imei=farm.imeis[ch], a_cell=farm.sites[0] * 3 + (ch % 3),
                truth=Truth.FRAUD, group=world.group(f"bypass-{farm.farm_id}"),
                **world.to_numbers(rng, callee, t, day),
            )
        )  # fmt: skip
    return Events.concat(parts)


def _wangiri_day(world: World, plan: FraudPlan, rng: np.random.Generator, day: int) -> Events:
    """One-ring bursts from foreign ranges, and the few who call back and pay for it."""
    pop = world.pop
    s = world.scenario.fraud
    parts = []
    if not plan.wangiri:
        return Events.empty()
    for _ in range(int(rng.poisson(s.wangiri_bursts_per_day))):
        op = int(rng.integers(0, len(plan.wangiri)))
        code, start, digits = plan.wangiri[op]
        span = max(s.wangiri_range_span, s.wangiri_numbers)
        numbers = int(rng.integers(max(3, s.wangiri_numbers // 4), max(4, s.wangiri_numbers)))
        callers = code * 10**digits + start + rng.integers(0, span, size=numbers)
        size = int(rng.integers(max(1, s.wangiri_burst_calls // 6), max(2, s.wangiri_burst_calls)))
        victims = rng.choice(
            world.scenario.subscribers, size=min(size, world.scenario.subscribers), replace=False
        )
        begin = world.day_start(day) + int(rng.integers(0, DAY - 3600))
        window = int(rng.integers(900, max(901, s.wangiri_burst_minutes * 60)))
        t = np.sort(begin + rng.integers(0, window, size=victims.size))
        route: int | npt.NDArray[np.int16] = world.codes.code("ingress", "international:wholesale6")
        group = world.group(f"wangiri-{op + 1}")
        a = rng.choice(callers, size=victims.size)
        if s.wangiri_carriers > 1:
            names = WANGIRI_CARRIERS[: min(len(WANGIRI_CARRIERS), s.wangiri_carriers)]
            codes = np.array([world.codes.code("ingress", n) for n in names], dtype=np.int16)
            route = rng.choice(codes, size=victims.size)
        if s.wangiri_transit_share > 0:
            transit = rng.random(victims.size) < s.wangiri_transit_share
            route = np.where(transit, world.codes.code("ingress", "national:opB"), route)
        result = np.full(victims.size, NO_ANSWER, dtype=np.int8)
        if s.wangiri_failed_share > 0:
            cut = rng.random(victims.size) < s.wangiri_failed_share
            result[cut] = rng.choice(np.array([BUSY, FAILED], dtype=np.int8), size=int(cut.sum()))
        parts.append(
            Events.make(
                victims.size, t=t, dur=0, result=result, a_num=a, ingress=route,
                orig=world.country_of_number(a), truth=Truth.FRAUD, group=group,
                **world.to_numbers(rng, pop.msisdn[victims], t, day),
            )
        )  # fmt: skip
        back = rng.random(victims.size) < 0.03
        if back.any():
            tb = t[back] + rng.integers(60, 6 * 3600, size=int(back.sum()))
            subs = victims[back].astype(np.int64)
            result, duration = world.outcome(rng, subs.size, 0.9, 60.0, 0.5)
            parts.append(
                Events.make(
                    subs.size, t=tb, dur=duration, result=result, b_num=a[back],
                    truth=Truth.LEGIT, group=world.group("wangiri_callback"),
                    **world.from_subscriber(rng, subs, tb, day),
                )
            )  # fmt: skip
    return Events.concat(parts)


def _hook_and_pay(
    world: World,
    center: CallCenter,
    farms: list[Farm],
    rng: np.random.Generator,
    day: int,
    events: Events,
) -> None:
    """Long answered calls draw victims in; some of them pay, and some complain."""
    s = world.scenario.fraud
    pop = world.pop
    long_calls = np.flatnonzero((events["result"] == ANSWERED) & (events["dur"] >= 240))
    for i in long_calls:
        victim = int(pop.subscriber_of(np.array([events["b_num"][i]]))[0])
        if victim < 0:
            continue
        if victim not in center.hooked:
            center.hooked[victim] = (day, int(rng.integers(2, 6)))
            continue
        hooked_day, left = center.hooked[victim]
        if left > 0 or day == hooked_day:
            continue
        center.hooked[victim] = (hooked_day, -1)  # done with this victim
        t = int(events["t"][i]) + int(events["dur"][i]) + int(rng.integers(600, 7200))
        cli = int(events["a_num"][i])
        if rng.random() < s.paid_share:
            _money_trail(world, center, farms, rng, victim, t)
            if rng.random() < s.report_share:
                _report(world, center, rng, victim, cli, t + int(rng.integers(3600, 2 * DAY)))
        elif rng.random() < 0.1:
            _report(world, center, rng, victim, cli, t + int(rng.integers(600, DAY)))


def _topped_up(world: World, farms: list[Farm], drawn: int) -> int:
    """The SIM a mule tops up: one its center's farms have used so far, or, for a center
    without a farm (or before its farms made a call), a person's (``drawn`` among the
    subscribers the population began with, never another center's farm SIM)."""
    used = [int(f.sims[i]) for f in farms for i in sorted(f.used)]
    return used[drawn % len(used)] if used else drawn % world.scenario.subscribers


def _money_trail(
    world: World,
    center: CallCenter,
    farms: list[Farm],
    rng: np.random.Generator,
    victim: int,
    t: int,
) -> None:
    """The victim pays a mule, who tops up SIMs, pays an e-wallet that buys crypto, cashes out.

    The draws are those the calls' stream has always made here, so that the calls after
    them stay as they were; the SIMs topped up are those the center's farms work with.
    """
    amount = float(np.round(rng.lognormal(np.log(400_000), 0.9), -3))
    mule = str(rng.choice(center.mules))
    pid = f"p{len(world.payments) + 1:08d}"
    account = person_account(world, victim)
    world.payments.append((pid, t, account, mule, amount, world.country.currency, "bank_transfer"))
    world.losses.append(
        (pid, t, f"+{world.pop.msisdn[victim]}", account, mule, amount, center.ident)
    )
    t += int(rng.integers(600, 3 * 3600))
    topups = amount * 0.2
    for _ in range(int(rng.integers(2, 5))):
        number = world.pop.msisdn[_topped_up(world, farms, int(rng.integers(0, world.pop.size)))]
        part = float(np.round(topups / 3, -2))
        world.payments.append(
            (
                f"p{len(world.payments) + 1:08d}",
                t,
                mule,
                f"msisdn:+{number}",
                part,
                world.country.currency,
                "sim_topup",
            )
        )
        world.labels.append(("account", f"msisdn:+{number}", "mule", center.ident))
        t += int(rng.integers(60, 1800))
    wallet = str(rng.choice(center.wallets))
    world.payments.append(
        (
            f"p{len(world.payments) + 1:08d}",
            t,
            mule,
            wallet,
            float(np.round(amount * 0.7, -2)),
            world.country.currency,
            "ewallet",
        )
    )
    t += int(rng.integers(600, 6 * 3600))
    crypto = str(rng.choice(center.crypto))
    world.payments.append(
        (
            f"p{len(world.payments) + 1:08d}",
            t,
            wallet,
            crypto,
            float(np.round(amount * 0.7 / 480, 2)),
            "USD",
            "crypto",
        )
    )
    world.payments.append(
        (
            f"p{len(world.payments) + 1:08d}",
            t + 3600,
            mule,
            "bank:CASHDESK",
            float(np.round(amount * 0.1, -2)),
            world.country.currency,
            "cash_out",
        )
    )


def _report(
    world: World, center: CallCenter, rng: np.random.Generator, victim: int, cli: int, t: int
) -> None:
    rid = f"rep{len(world.reports) + 1:07d}"
    channel = "call" if rng.random() < 0.85 else "messenger"
    world.reports.append(
        (
            rid,
            t,
            int(world.pop.msisdn[victim]),
            cli if channel == "call" else 0,
            channel,
            center.category,
            REPORT_TEXT[center.category],
        )
    )
