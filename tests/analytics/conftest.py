from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qalqan.analytics.pipeline import Analysis
from qalqan.analytics.staging import stage
from qalqan.analytics.store import AnalysisStore
from qalqan.exchange.schema import INPUT_TABLES

Rows = dict[str, list[dict[str, object]]]


def write_dataset(folder: Path, tables: Rows) -> Path:
    """Write small exchange-v1 tables; columns not given are left empty."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        columns = list(INPUT_TABLES[name].names)
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({c: row.get(c, "") for c in columns})
    return folder


@pytest.fixture
def prepared(tmp_path: Path) -> Iterator[Callable[[Rows], Analysis]]:
    """Stage small tables and prepare an Analysis over them (no models)."""
    stores: list[AnalysisStore] = []

    def make(tables: Rows) -> Analysis:
        n = len(stores)
        data = write_dataset(tmp_path / f"data{n}", tables)
        report = stage(data, tmp_path / f"staged{n}", quarantine_dir=tmp_path / f"q{n}")
        assert report.rows_rejected == 0, report
        store = AnalysisStore.open(tmp_path / f"staged{n}")
        stores.append(store)
        analysis = Analysis(store)
        analysis.prepare()
        return analysis

    yield make
    for store in stores:
        store.close()
