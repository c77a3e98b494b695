"""Run a whole simulated operator and write it as an exchange-v1 data set with its ground truth.

    summary = simulate(Path("out"), Scenario(subscribers=5000, days=3, seed=1))

The data tables go to ``OUT_DIR``; the ground truth goes to ``OUT_DIR/truth``
(``labels.csv``, ``farms.csv``, ``campaigns.csv``, ``scenario.yaml``) so that
analysis reading ``OUT_DIR`` cannot peek at it. The same scenario and seed give
byte-identical files. Call records are generated a day at a time, in time
windows small enough to bound memory, and streamed to disk in time order.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from qalqan.exchange.schema import (
    ACCOUNTS,
    CDRS,
    CELLS,
    LABELS,
    PAYMENTS,
    REGISTRY,
    REPORTS,
    ROAMING,
    SUBSCRIBERS,
)
from qalqan.exchange.types import TIME_TYPE
from qalqan.exchange.writer import Format, TableWriter, write_table
from qalqan.simulator.config import Scenario
from qalqan.simulator.events import RESULTS, Events, Truth
from qalqan.simulator.fraud import fraud_traffic, label_farms, person_account, setup_fraud
from qalqan.simulator.look_alikes import (
    look_alike_traffic,
    relatives_calling_targets,
    setup_look_alikes,
)
from qalqan.simulator.money import MoneyLookAlikes, account_rows, money_look_alikes
from qalqan.simulator.ordinary import ordinary_traffic
from qalqan.simulator.population import build_population
from qalqan.simulator.world import World

__all__ = ["SimulationSummary", "simulate"]

#: Ordinary rows generated at once at most; a busier day is cut into time windows.
WINDOW_ROWS = 1_500_000
PLANS = ("prepaid", "postpaid", "corporate", "m2m")

Progress = Callable[[int, int], None]
"""Called with (rows written so far, rows expected in all)."""


@dataclass(slots=True)
class SimulationSummary:
    out_dir: Path
    scenario: Scenario
    rows: dict[str, int] = field(default_factory=dict)
    fraud_calls: int = 0
    farms: int = 0
    call_centers: int = 0
    seconds: float = 0.0


def _stream(scenario: Scenario, *key: int) -> np.random.Generator:
    return np.random.default_rng([scenario.seed, *key])


def _digits(values: npt.NDArray[np.int64], plus: bool = False) -> pa.Array:
    text = pa.array(values, mask=values == 0).cast(pa.string())
    return pc.binary_join_element_wise("+", text, "") if plus else text


def _names(names: list[str] | tuple[str, ...], codes: npt.NDArray[np.integer]) -> pa.Array:
    index = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pc.take(pa.array(names, pa.string()), index)


class _CdrSink:
    """Turns event columns into ``cdrs`` batches with record ids in time order, plus call labels."""

    def __init__(self, world: World, cdrs: TableWriter, labels: TableWriter) -> None:
        self.world = world
        self.cdrs = cdrs
        self.labels = labels
        self.next_id = 1
        self.fraud_calls = 0
        sites = np.repeat(np.arange(world.pop.n_sites), 3)
        sectors = np.tile(np.arange(1, 4), world.pop.n_sites)
        self.cell_ids = [
            f"C{site:05d}-{sector}" for site, sector in zip(sites, sectors, strict=True)
        ]

    def write(self, events: Events) -> None:
        if not len(events):
            return
        events = events.take(np.argsort(events["t"], kind="stable"))
        n = len(events)
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        record_id = pc.binary_join_element_wise("r", pa.array(ids).cast(pa.string()), "")
        codes = self.world.codes
        batch = pa.RecordBatch.from_pydict(
            {
                "record_id": record_id,
                "start_time": pa.array(events["t"] * 1_000_000, pa.int64()).cast(TIME_TYPE),
                "duration_s": pa.array(events["dur"].astype(np.int64)),
                "event": _names(("voice", "sms"), events["event"]),
                "result": _names(RESULTS, events["result"]),
                "a_number": _digits(events["a_num"], plus=True),
                "b_number": _digits(events["b_num"], plus=True),
                "ingress": _names(codes.ingress, events["ingress"]),
                "a_imsi": _digits(events["a_imsi"]),
                "a_imei": _digits(events["a_imei"]),
                "a_cell": _names(self.cell_ids, events["a_cell"]),
                "b_imsi": _digits(events["b_imsi"]),
                "b_cell": _names(self.cell_ids, events["b_cell"]),
                "identity_attest": _names(("A", "B", "C"), events["attest"]),
                "orig_country": _names(codes.countries, events["orig"]),
            }
        )
        self.cdrs.write(batch)
        labelled = np.flatnonzero(events["truth"] != Truth.NONE)
        if labelled.size:
            truth = events["truth"][labelled]
            self.fraud_calls += int((truth == Truth.FRAUD).sum())
            self.labels.write(
                pa.RecordBatch.from_pydict(
                    {
                        "kind": pa.array(["call"] * labelled.size),
                        "id": pc.take(record_id, pa.array(labelled)),
                        "label": _names(("", "fraud", "legit"), truth),
                        "group": _names(codes.groups, events["group"][labelled]),
                    }
                )
            )


def _windows(world: World, day: int) -> list[tuple[int, int]]:
    """Split a day into time windows of at most about WINDOW_ROWS ordinary rows."""
    s = world.scenario.ordinary
    expected = world.scenario.subscribers * (
        s.voice_calls_per_day * (1 + s.incoming_offnet_ratio) + s.sms_per_day
    )
    parts = max(1, math.ceil(expected / WINDOW_ROWS))
    weights = np.cumsum(world.ordinary_minutes(day))
    cuts = (
        [0]
        + [int(np.searchsorted(weights, weights[-1] * k / parts)) for k in range(1, parts)]
        + [1440]
    )
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def simulate(
    out_dir: Path,
    scenario: Scenario,
    *,
    fmt: Format = "csv",
    progress: Progress | None = None,
) -> SimulationSummary:
    started = datetime.now(UTC)
    out_dir = Path(out_dir)
    truth_dir = out_dir / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    pop = build_population(scenario, _stream(scenario, 1))
    world = World.create(scenario, pop)
    setup_look_alikes(world, _stream(scenario, 2))
    plan = setup_fraud(world, _stream(scenario, 3))
    world.plan_roaming(_stream(scenario, 4))
    summary = SimulationSummary(out_dir=out_dir, scenario=scenario)
    summary.farms = len(plan.farms)
    summary.call_centers = len(plan.centers)

    s = scenario.ordinary
    expected = int(
        scenario.subscribers * scenario.days
        * (s.voice_calls_per_day * (1 + s.incoming_offnet_ratio) + s.sms_per_day) * 1.12
    )  # fmt: skip
    with (
        TableWriter(out_dir, CDRS, fmt=fmt) as cdrs,
        TableWriter(truth_dir, LABELS, fmt="csv") as labels,
    ):
        sink = _CdrSink(world, cdrs, labels)
        pending = Events.empty()
        for day in range(scenario.days):
            look_alikes = look_alike_traffic(world, _stream(scenario, 10, day), day)
            fraud = fraud_traffic(world, plan, _stream(scenario, 11, day), day)
            parts = [pending, look_alikes, fraud]
            if scenario.look_alikes.relatives_calling_targets_share > 0:
                parts.append(
                    relatives_calling_targets(world, _stream(scenario, 13, day), day, fraud)
                )
            special = Events.concat(parts)
            for w, (m0, m1) in enumerate(_windows(world, day)):
                start = world.day_start(day) + m0 * 60
                end = world.day_start(day) + m1 * 60
                now = ordinary_traffic(world, _stream(scenario, 12, day, w), day, (m0, m1))
                due = special["t"] < end
                early = special.take(due)
                early.cols["t"] = np.maximum(early["t"], start)  # a few decoys start before the day
                special = special.take(~due)
                sink.write(world.drop_calls_from_abroad(Events.concat([now, early])))
                if progress is not None:
                    progress(sink.next_id - 1, max(expected, sink.next_id - 1))
            pending = special
        sink.write(world.drop_calls_from_abroad(pending))
        summary.fraud_calls = sink.fraud_calls
        label_farms(world, plan)
        summary.rows["cdrs"] = cdrs.rows
        money = money_look_alikes(world, _stream(scenario, 21))
        world.labels.extend(money.labels)
        _write_labels(world, labels)
    if progress is not None:
        progress(sink.next_id - 1, sink.next_id - 1)

    summary.rows.update(_write_reference_tables(world, out_dir, fmt, money))
    _write_truth_files(world, truth_dir)
    summary.seconds = (datetime.now(UTC) - started).total_seconds()
    return summary


def _write_labels(world: World, labels: TableWriter) -> None:
    rows = world.labels
    labels.write(
        pa.RecordBatch.from_pydict(
            {
                "kind": [r[0] for r in rows],
                "id": [r[1] for r in rows],
                "label": [r[2] for r in rows],
                "group": [r[3] for r in rows],
            }
        )
    )


def _time(values: list[int] | npt.NDArray[np.int64]) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64) * 1_000_000, pa.int64()).cast(TIME_TYPE)


def _write_reference_tables(
    world: World, out_dir: Path, fmt: Format, money: MoneyLookAlikes
) -> dict[str, int]:
    pop = world.pop
    cities = world.country.cities
    n_cells = pop.n_sites * 3
    site = np.repeat(np.arange(pop.n_sites), 3)
    sector = np.tile(np.arange(1, 4), pop.n_sites)
    big = np.array([cities[c].population_k >= 300 for c in pop.site_city])[site]
    cells = pa.table(
        {
            "cell_id": [f"C{a:05d}-{b}" for a, b in zip(site, sector, strict=True)],
            "site_id": [f"S{a:05d}" for a in site],
            "lat": np.round(pop.site_lat[site], 6),
            "lon": np.round(pop.site_lon[site], 6),
            "region": [cities[c].region for c in pop.site_city[site]],
            "radius_m": np.where(big, 1200.0, 4000.0),
        }
    )
    rows = {"cells": n_cells}
    write_table(out_dir, CELLS, cells, fmt=fmt)

    activated = (np.datetime64("1970-01-01", "D") + pop.activated_day).astype("datetime64[D]")
    subscribers = pa.table(
        {
            "imsi": _digits(pop.imsi),
            "msisdn": _digits(pop.msisdn, plus=True),
            "activated": pa.array(activated, pa.date32()),
            "plan": _names(PLANS, pop.plan),
            "birth_year": pa.array(pop.birth_year.astype(np.int64), mask=pop.birth_year == 0),
            "region": [cities[c].region for c in pop.city],
            "iccid": _digits(pop.iccid),
            "owner_id": pc.binary_join_element_wise("P", _digits(pop.owner), ""),
        }
    )
    write_table(out_dir, SUBSCRIBERS, subscribers, fmt=fmt)
    rows["subscribers"] = pop.size

    roaming = pa.table(
        {
            "imsi": _digits(pop.imsi[world.trip_sub]),
            "start_time": _time(world.trip_start),
            "end_time": _time(world.trip_end),
            "country": world.trip_country,
        }
    )
    write_table(out_dir, ROAMING, roaming.sort_by("start_time"), fmt=fmt)
    rows["roaming"] = roaming.num_rows

    registry = pa.table(
        {
            "number": [f"+{n}" for n, _, _, _ in world.registry.rows],
            "owner": [o for _, o, _, _ in world.registry.rows],
            "policy": [p for _, _, p, _ in world.registry.rows],
            "category": [c for _, _, _, c in world.registry.rows],
        }
    )
    write_table(out_dir, REGISTRY, registry, fmt=fmt)
    rows["registry"] = registry.num_rows

    _background_payments_and_reports(world)
    for row in money.payments:
        world.payments.append((f"p{len(world.payments) + 1:08d}", *row))
    payments = sorted(world.payments, key=lambda p: (p[1], p[0]))
    write_table(
        out_dir,
        PAYMENTS,
        pa.table(
            {
                "payment_id": [p[0] for p in payments],
                "time": _time([p[1] for p in payments]),
                "payer": [p[2] for p in payments],
                "payee": [p[3] for p in payments],
                "amount": [p[4] for p in payments],
                "currency": [p[5] for p in payments],
                "channel": [p[6] for p in payments],
            }
        ),
        fmt=fmt,
    )
    rows["payments"] = len(payments)
    rows["accounts"] = _write_accounts(world, out_dir, fmt, payments, money)
    reports = sorted(world.reports, key=lambda r: (r[1], r[0]))
    write_table(
        out_dir,
        REPORTS,
        pa.table(
            {
                "report_id": [r[0] for r in reports],
                "time": _time([r[1] for r in reports]),
                "reporter": [f"+{r[2]}" for r in reports],
                "reported_number": [f"+{r[3]}" if r[3] else None for r in reports],
                "channel": [r[4] for r in reports],
                "category": [r[5] for r in reports],
                "text": [r[6] for r in reports],
            }
        ),
        fmt=fmt,
    )
    rows["reports"] = len(reports)
    return rows


def _write_accounts(
    world: World,
    out_dir: Path,
    fmt: Format,
    payments: list[tuple[str, int, str, str, float, str, str]],
    money: MoneyLookAlikes,
) -> int:
    """exchange-v1.1 ``accounts``: every account the payments name, in the order they appear."""
    named = list(dict.fromkeys(a for p in payments for a in (p[2], p[3])))
    rows = account_rows(world, named, money.holders, _stream(world.scenario, 22))
    opened = np.array([r.opened_day if r.opened_day is not None else 0 for r in rows], np.int32)
    table = pa.table(
        {
            "account": [r.account for r in rows],
            "holder_msisdn": [r.holder_msisdn or None for r in rows],
            "bank": [r.bank or None for r in rows],
            "kind": [r.kind for r in rows],
            "opened": pa.array(
                opened, pa.date32(), mask=np.array([r.opened_day is None for r in rows], bool)
            ),
        }
    )
    write_table(out_dir, ACCOUNTS, table, fmt=fmt)
    return len(rows)


def _background_payments_and_reports(world: World) -> None:
    """Ordinary money and complaints, so that fraud is not all there is to see."""
    rng = _stream(world.scenario, 20)
    pop = world.pop
    n = world.scenario.subscribers
    end = world.day_start(world.scenario.days)
    count = int(n * 0.02 * world.scenario.days)
    payer = rng.integers(0, n, size=count)
    t = rng.integers(world.t0, end, size=count)
    topup = rng.random(count) < 0.6
    payee_sub = rng.integers(0, n, size=count)
    for i in range(count):
        account = person_account(world, int(payer[i]))
        if topup[i]:
            row = (
                account,
                f"msisdn:+{pop.msisdn[payer[i]]}",
                float(rng.integers(1, 20) * 500),
                "sim_topup",
            )
        else:
            row = (
                account,
                person_account(world, int(payee_sub[i])),
                float(rng.integers(1, 200) * 1000),
                "bank_transfer",
            )
        world.payments.append(
            (
                f"p{len(world.payments) + 1:08d}",
                int(t[i]),
                row[0],
                row[1],
                row[2],
                world.country.currency,
                row[3],
            )
        )
    # Complaints about callers who did nothing wrong: sales lines, banks' own calls.
    noisy = [int(pop.msisdn[s]) for lines in world.sales_lines for s in lines]
    noisy += [b[0] for b in world.registry.bank_outbound]
    for _ in range(max(1, int(n * 0.00005 * world.scenario.days))):
        reporter = int(pop.msisdn[rng.integers(0, n)])
        world.reports.append(
            (
                f"rep{len(world.reports) + 1:07d}", int(rng.integers(world.t0, end)), reporter,
                int(rng.choice(np.array(noisy, dtype=np.int64))), "call", "other",
                "Звонят с рекламой, прошу проверить номер",
            )
        )  # fmt: skip


def _write_truth_files(world: World, truth_dir: Path) -> None:
    with (truth_dir / "farms.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(
            [
                "farm_id",
                "kind",
                "center",
                "channels",
                "lat",
                "lon",
                "site_ids",
                "site_lats",
                "site_lons",
            ]
        )
        for farm in world.farms:
            sites = list(farm["sites"])  # type: ignore[call-overload]
            w.writerow(
                [
                    farm["farm_id"], farm["kind"], farm["center"], farm["channels"],
                    f"{farm['lat']:.6f}", f"{farm['lon']:.6f}",
                    ";".join(f"S{s:05d}" for s in sites),
                    ";".join(f"{world.pop.site_lat[s]:.6f}" for s in sites),
                    ";".join(f"{world.pop.site_lon[s]:.6f}" for s in sites),
                ]
            )  # fmt: skip
    with (truth_dir / "campaigns.csv").open("w", newline="", encoding="utf-8") as f:
        keys = ["campaign", "utc_offset_h", "category", "hours_local", "agents", "routes", "farms"]
        w = csv.writer(f, lineterminator="\n")
        w.writerow(keys)
        for c in world.campaigns:
            w.writerow([c.get(k, "") for k in keys])
    with (truth_dir / "losses.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(
            ["payment_id", "time", "victim", "account", "mule", "amount", "currency", "campaign"]
        )
        for pid, t, victim, account, mule, amount, campaign in world.losses:
            when = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            w.writerow([pid, when, victim, account, mule, amount, world.country.currency, campaign])
    (truth_dir / "scenario.yaml").write_text(
        yaml.safe_dump(world.scenario.as_dict(), sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
