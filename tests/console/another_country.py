"""An Azerbaijani operator's findings in a case store: the simulator's another-country family.

``qalqan simulate --family another-country`` plays an operator in Azerbaijan (+994,
UTC+4, Baku, Ganja…). Running ``qalqan analyze`` on it takes minutes (its models), so
the analysis folder here is written from the simulation's ground truth instead, in the
shape ``analyze`` writes (``farms.csv``, ``sims.csv``, ``calls.csv``, ``campaigns.csv``):
every farm where the simulator put it, with its SIMs and their numbers. What the console
then shows comes from the simulator's own numbers and places, not from a fixture's.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from qalqan.cases import CaseStore, ingest_findings, upgrade
from qalqan.simulator.config import load_scenario
from qalqan.simulator.operator import simulate


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def simulated_findings(folder: Path, *, subscribers: int = 600, days: int = 2) -> Path:
    """Simulate the another-country family into ``folder/data``; its findings folder."""
    data, out = folder / "data", folder / "analysis"
    simulate(
        data, load_scenario(None, family="another-country", subscribers=subscribers, days=days)
    )
    out.mkdir(parents=True)
    numbers = {r["imsi"]: r["msisdn"] for r in _rows(data / "subscribers.csv")}
    members: dict[str, list[str]] = defaultdict(list)
    for label in _rows(data / "truth" / "labels.csv"):
        if label["kind"] == "sim" and label["label"] == "simbox":
            members[label["group"]].append(label["id"])
    farms = [f for f in _rows(data / "truth" / "farms.csv") if members.get(f["farm_id"])]
    _write(
        out / "farms.csv",
        ["farm_id", "n_sims", "imeis", "lat", "lon", "first_seen", "last_seen", "sites", "cells", "score", "reasons"],
        [
            [f["farm_id"], len(members[f["farm_id"]]), "", f["lat"], f["lon"], "2026-03-02T06:00:00Z",
             "2026-03-03T18:00:00Z", f["site_ids"], "", 1.0, "SIMs worked from the same site"]
            for f in farms
        ],
    )  # fmt: skip
    _write(
        out / "sims.csv",
        ["imsi", "msisdn", "score", "verdict", "farm_id", "reasons"],
        [
            [imsi, numbers.get(imsi, ""), 1.0, "simbox", f["farm_id"], "farm SIM"]
            for f in farms
            for imsi in members[f["farm_id"]]
        ],
    )
    _write(out / "calls.csv", ["record_id", "verdict", "campaign_id", "reasons"], [])
    _write(
        out / "campaigns.csv",
        ["campaign_id", "n_calls", "n_victims", "utc_offset_h", "farm_ids", "routes", "kind"],
        [],
    )
    return out


def another_country_store(folder: Path) -> tuple[CaseStore, str]:
    """A case store holding the Azerbaijani operator's farms; the store and its URL."""
    findings = simulated_findings(folder)
    url = str(folder / "cases.db")
    upgrade(url)
    store = CaseStore.open(url)
    with store.transaction() as session:
        ingest_findings(session, findings)
    return store, url
