"""Campaigns of daily runs against a full run's, scored on the simulator's truth.

    python benchmarks/campaign_days.py                        # 3,000 subscribers, 10 days
    python benchmarks/campaign_days.py -n 1500 -d 10 --seeds 5,6 --window 7 --centers 5
    python benchmarks/campaign_days.py --models /tmp/models.pkl  # trained models of that file
    python benchmarks/campaign_days.py --flood 20  # the last day again, its fraud calls 20 times

A full run over days 1 to ``d - 3`` starts the kept campaigns
(:func:`~qalqan.analytics.campaign_days.start_campaign_days`); each of the last three days
is then a daily run (:func:`~qalqan.analytics.campaign_days.campaigns_of_days`) over the
calls that day judged (an analysis over days 1 to that day: a daily run judges them alike).
It prints, for the fraud calls of the last three days that were flagged:

- the adjusted Rand index against the true centers (as ``qalqan evaluate``), with the
  campaign ids of the three days taken together (an id that changes from day to day
  splits its center) and day by day; and the same for a full run over every day;
- purity: the share of calls in the campaign's most common center;
- how often a center working on a day kept the id it had on the last day it worked
  before, for the daily runs and for full runs made anew each day (ids by size).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.csv as pcsv

from qalqan.analytics.campaign_days import campaigns_of_days, start_campaign_days
from qalqan.analytics.campaigns import CALL_CAMPAIGNS, assign_campaigns
from qalqan.analytics.evaluate import adjusted_rand_index
from qalqan.analytics.farms import Farm
from qalqan.analytics.models import Models, load_models
from qalqan.analytics.pipeline import JUDGED_CALLS, Analysis
from qalqan.analytics.staging import stage
from qalqan.analytics.store import AnalysisStore
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate
from qalqan.training.cache import cached_models

Labels = dict[str, str]
"""record id → campaign id"""


def _days_before(staged: Path, folder: Path, before: date) -> Path:
    """A staged data set of the days before ``before`` (the other tables shared)."""
    folder.mkdir()
    for path in staged.iterdir():
        if path.name != "cdrs.parquet":
            (folder / path.name).symlink_to(path)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{staged / 'cdrs.parquet'}') "
        f"WHERE CAST(start_time AS DATE) < DATE '{before}') TO '{folder / 'cdrs.parquet'}' (FORMAT parquet)"
    )
    con.close()
    return folder


def _judged(staged: Path, models: Models | None) -> tuple[AnalysisStore, list[Farm]]:
    """The analysis of ``staged`` with its calls judged (``judged_calls``), and its farms."""
    store = AnalysisStore.open(staged)
    analysis = Analysis(store, models)
    analysis.prepare()
    sims, farms = analysis.judge_sims()
    analysis.record_judged_calls(sims)
    return store, farms


def _campaign_of(con: duckdb.DuckDBPyConnection) -> Labels:
    return {str(r): str(c) for r, c in con.execute(f"SELECT * FROM {CALL_CAMPAIGNS}").fetchall()}


def _purity(center_of: Labels, found: Labels, calls: list[str]) -> float:
    by_campaign: dict[str, Counter[str]] = {}
    for i in calls:
        by_campaign.setdefault(found.get(i, "none"), Counter())[center_of[i]] += 1
    return sum(c.most_common(1)[0][1] for c in by_campaign.values()) / max(len(calls), 1)


def _kept_ids(
    center_of: Labels, seen: list[tuple[str, date, str]], days: list[date]
) -> tuple[int, int]:
    """Of the centers working on each of ``days``, those whose campaign that day (the one
    holding most of their calls) is the one of the last day they worked before.

    ``seen`` is (record id, day, campaign) of every flagged call."""
    votes: dict[tuple[str, date], Counter[str]] = {}
    for i, day, campaign in seen:
        if i in center_of:
            votes.setdefault((center_of[i], day), Counter())[campaign] += 1
    majority = {k: v.most_common(1)[0][0] for k, v in votes.items()}
    kept = asked = 0
    for (center, day), campaign in majority.items():
        before = [d for c, d in majority if c == center and d < day]
        if day in days and before:
            asked += 1
            kept += majority[(center, max(before))] == campaign
    return kept, asked


Seen = list[tuple[str, date, str]]
"""(record id, day, campaign) of flagged calls"""


def _operator(root: Path, scenario: Scenario) -> tuple[Labels, list[date]]:
    """Simulate and stage; the true center of each fraud call, and the last three days."""
    simulate(root / "data", scenario)
    stage(root / "data", root / "staged", quarantine_dir=root / "q")
    labels = pcsv.read_csv(root / "data" / "truth" / "labels.csv").to_pylist()
    truth = {
        str(r["id"]): str(r["group"])
        for r in labels
        if r["kind"] == "call" and r["label"] == "fraud"
    }
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    [(first,)] = con.execute(
        f"SELECT min(CAST(start_time AS DATE)) FROM read_parquet('{root / 'staged' / 'cdrs.parquet'}')"
    ).fetchall()
    con.close()
    return truth, [first + timedelta(days=scenario.days - k) for k in (3, 2, 1)]


def _kept_state(root: Path, state: Path, before: date, window: int, models: Models | None) -> Seen:
    """A full run over the days ``before``, starting the kept campaigns; its flagged calls."""
    store, farms = _judged(_days_before(root / "staged", root / "early", before), models)
    kept = assign_campaigns(store.con, JUDGED_CALLS, farms)
    start_campaign_days(store.con, state, kept, days=window)
    early = [
        (str(i), d, str(c))
        for i, d, c in store.con.execute(
            f"""SELECT j.record_id, CAST(j.t AS DATE), cc.campaign_id
                FROM {JUDGED_CALLS} j JOIN {CALL_CAMPAIGNS} cc USING (record_id)"""
        ).fetchall()
    ]
    store.close()
    return early


def _days(
    root: Path,
    state: Path,
    last_days: list[date],
    window: int,
    models: Models | None,
    flood: int,
) -> tuple[Seen, Seen]:
    """Each of ``last_days``: a daily run's campaigns, and a full run's made anew over days 1..day.

    With ``flood``, the last day is run again from the same state with each of its fraud
    calls ``flood`` times (a minute apart): what a flood of fraud calls costs the window."""
    daily: Seen = []
    anew: Seen = []
    for day in last_days:
        folder = _days_before(root / "staged", root / f"to-{day}", day + timedelta(days=1))
        store, farms = _judged(folder, models)
        con = store.con
        con.execute(f"CREATE TEMP TABLE _all AS SELECT * FROM {JUDGED_CALLS}")
        began = time.perf_counter()
        assign_campaigns(con, JUDGED_CALLS, farms)
        whole_s = time.perf_counter() - began
        anew += [
            (str(i), day, str(c))
            for i, c in con.execute(
                f"""SELECT j.record_id, cc.campaign_id FROM _all j JOIN {CALL_CAMPAIGNS} cc
                    USING (record_id) WHERE CAST(j.t AS DATE) = DATE '{day}'"""
            ).fetchall()
        ]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {JUDGED_CALLS} AS SELECT * FROM _all "
            f"WHERE CAST(t AS DATE) = DATE '{day}'"
        )
        if flood and day == last_days[-1]:
            shutil.copytree(state, root / "flooded")
        began = time.perf_counter()
        campaigns_of_days(con, farms, state, since=day, days=window)
        print(
            f"{day}: grouping {time.perf_counter() - began:.1f} s a daily run (window {window}), "
            f"{whole_s:.1f} s a full run over every day so far"
        )
        daily += [(i, day, c) for i, c in _campaign_of(con).items()]
        if flood and day == last_days[-1]:
            _flooded(con, farms, root / "flooded", day, window, flood)
        store.close()
    return daily, anew


def _flooded(
    con: duckdb.DuckDBPyConnection,
    farms: list[Farm],
    state: Path,
    day: date,
    window: int,
    copies: int,
) -> None:
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {JUDGED_CALLS} AS
            SELECT * REPLACE (record_id || '~' || k AS record_id, t + INTERVAL (k) MINUTE AS t)
            FROM _all, range({copies}) r(k)
            WHERE CAST(t AS DATE) = DATE '{day}' AND verdict IN ('fraud', 'spoofed')"""
    )
    [(n,)] = con.execute(f"SELECT count(*) FROM {JUDGED_CALLS}").fetchall()
    began = time.perf_counter()
    campaigns = campaigns_of_days(con, farms, state, since=day, days=window)
    seconds = time.perf_counter() - began
    [(held,)] = con.execute("SELECT count(*) FROM fraud_calls").fetchall()
    print(
        f"{day} flooded ×{copies}: {n:,} new fraud calls, {held:,} in the window, "
        f"{len(campaigns)} campaigns, grouping {seconds:.1f} s"
    )


def run(scenario: Scenario, window: int, models: Models | None, flood: int = 0) -> None:
    root = Path(tempfile.mkdtemp(prefix="campaign-days-"))
    try:
        began = time.perf_counter()
        truth, last_days = _operator(root, scenario)
        early = _kept_state(root, root / "state", last_days[0], window, models)
        daily, anew = _days(root, root / "state", last_days, window, models, flood)
        store, farms = _judged(root / "staged", models)
        full_campaigns = assign_campaigns(store.con, JUDGED_CALLS, farms)
        full = _campaign_of(store.con)
        store.close()
        print(
            f"\n## {scenario.subscribers:,} subscribers × {scenario.days} days, seed "
            f"{scenario.seed}, window {window} ({time.perf_counter() - began:.0f} s)\n"
        )
        _report(truth, last_days, daily, full, len(full_campaigns))
        kept_n, asked = _kept_ids(truth, early + daily, last_days)
        print(f"\ndaily runs: a center kept its id from the last day it worked: {kept_n}/{asked}")
        kept_a, asked_a = _kept_ids(truth, early + anew, last_days)
        print(f"full runs made anew each day (ids by size): {kept_a}/{asked_a}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _report(truth: Labels, last_days: list[date], daily: Seen, full: Labels, n_full: int) -> None:
    """ARI and purity of the daily and the full run's campaigns over the last days' flagged
    true fraud calls (those the daily runs flagged; a call the full run did not flag is its
    campaign ``none``)."""
    day_of = {i: d for i, d, _ in daily}
    daily_of = {i: c for i, _, c in daily}
    scored = sorted(i for i in truth if i in day_of)
    print(f"true fraud calls of {last_days[0]}..{last_days[-1]} flagged: {len(scored):,}")
    print(f"full run's campaigns: {n_full}\n")
    print("| campaigns | ARI, 3 days together | ARI by day | purity, 3 days |")
    print("|---|---|---|---|")
    for name, found in (("daily, window", daily_of), ("full run", full)):
        by_day = []
        for day in last_days:
            ids = [i for i in scored if day_of[i] == day]
            labels = [found.get(i, "none") for i in ids]
            by_day.append(adjusted_rand_index([truth[i] for i in ids], labels))
        together = adjusted_rand_index(
            [truth[i] for i in scored], [found.get(i, "none") for i in scored]
        )
        purity = _purity(truth, found, scored)
        days = " / ".join(f"{a:.3f}" for a in by_day)
        print(f"| {name} | {together:.3f} | {days} | {purity:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--subscribers", type=int, default=3000)
    parser.add_argument("-d", "--days", type=int, default=10)
    parser.add_argument("--seeds", default="7")
    parser.add_argument("--window", type=int, default=7)
    parser.add_argument(
        "--centers", type=int, default=None, help="call centers (default: the simulator's)"
    )
    parser.add_argument("--models", type=Path, default=None)
    parser.add_argument(
        "--flood", type=int, default=0, help="run the last day again with its fraud calls N times"
    )
    args = parser.parse_args()
    models = load_models(args.models) if args.models else cached_models()
    for seed in (int(s) for s in args.seeds.split(",")):
        scenario = Scenario(subscribers=args.subscribers, days=args.days, seed=seed)
        if args.centers is not None:
            fraud = replace(scenario.fraud, call_centers=args.centers)
            scenario = replace(scenario, fraud=fraud)
        run(scenario, args.window, models, args.flood)


if __name__ == "__main__":
    main()
