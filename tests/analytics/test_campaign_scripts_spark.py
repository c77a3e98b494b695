"""Complaints read by their text give the same campaigns on Spark as on DuckDB.

A small simulated operator whose citizens complain through a channel without categories
(``other``): each call center's victims name caller IDs it called from and retell its
script. ``qalqan analyze`` runs once per engine and ``campaigns.csv`` must be the same,
cell for cell, with the scripts read from the texts.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI installs Java
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

from qalqan.cli.analyze import run_analysis
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate
from tests.analytics.test_campaign_scripts import BANK, DELIVERY, POLICE, TECH_SUPPORT

pytestmark = pytest.mark.spark

SCRIPTS = (BANK, POLICE, DELIVERY, TECH_SUPPORT)


def complain(data: Path, per_center: int = 4) -> int:
    """Add ``per_center`` complaints (category ``other``) naming each call center's caller IDs."""
    with (data / "truth" / "labels.csv").open(newline="", encoding="utf-8") as handle:
        center = {
            r["id"]: r["group"]
            for r in csv.DictReader(handle)
            if r["kind"] == "call" and r["group"].startswith("cc-")
        }
    callers: dict[str, list[str]] = {}
    with (data / "cdrs.csv").open(newline="", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            if r["record_id"] in center and r["a_number"]:
                numbers = callers.setdefault(center[r["record_id"]], [])
                if r["a_number"] not in numbers and len(numbers) < per_center:
                    numbers.append(r["a_number"])
    with (data / "reports.csv").open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        for k, (name, numbers) in enumerate(sorted(callers.items())):
            for n, number in enumerate(numbers):
                writer.writerow([f"text-{name}-{n}", "2026-03-03T12:00:00Z", "+77010000001",
                                 number, "web", "other", SCRIPTS[k % len(SCRIPTS)]])  # fmt: skip
    return sum(len(n) for n in callers.values())


def test_scripts_read_from_texts_are_the_same_on_both_engines(tmp_path: Path) -> None:
    data = tmp_path / "operator"
    simulate(data, Scenario(subscribers=2000, days=2, seed=1))
    assert complain(data) >= 8
    tables = {}
    for engine in ("duckdb", "spark"):
        run_analysis(data, tmp_path / engine, quarantine=tmp_path / f"q-{engine}", quiet=True,
                     engine=engine, spark_master="local[2]")  # fmt: skip
        tables[engine] = (tmp_path / engine / "campaigns.csv").read_text(encoding="utf-8")
    assert tables["duckdb"] == tables["spark"]
    rows = list(csv.DictReader(tables["duckdb"].splitlines()))
    assert sum(1 for r in rows if r["scripts"]) >= 2
    assert "analysis.campaign.script.text" in tables["duckdb"]
