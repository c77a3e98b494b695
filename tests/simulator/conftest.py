from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import SimulationSummary, simulate


@pytest.fixture(scope="session")
def operator_data(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    """A small operator: 3,000 subscribers over 4 days (Monday to Thursday)."""
    out = tmp_path_factory.mktemp("operator")
    return simulate(out, Scenario(subscribers=3000, days=4, seed=11))


@pytest.fixture(scope="session")
def db(operator_data: SimulationSummary) -> duckdb.DuckDBPyConnection:
    """The simulated tables as DuckDB views, ground truth included."""
    con = duckdb.connect()
    root: Path = operator_data.out_dir
    for name in ("cdrs", "cells", "subscribers", "roaming", "payments", "reports", "registry"):
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_csv('{root / (name + '.csv')}', header=true, all_varchar=true)"
        )
    for name in ("labels", "farms", "campaigns"):
        con.execute(
            f"CREATE VIEW truth_{name} AS SELECT * FROM read_csv('{root / 'truth' / (name + '.csv')}', header=true, all_varchar=true)"
        )
    return con
