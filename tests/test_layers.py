"""Qalqan's layers (docs/layers.md) hold: each part imports only the parts below it.

The contracts are import-linter's, declared in ``pyproject.toml``. The first test
runs them as ``lint-imports`` does and fails with the broken contract's report.
The others add one import that must not exist to the real import graph and check
that the contract meant to stop it does: a contract that no longer catches what
it was written for fails here, not silently.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter.api import read_configuration
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.independence import IndependenceContract
from importlinter.contracts.layers import LayersContract

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_TYPES: dict[str, Any] = {
    "layers": LayersContract,
    "independence": IndependenceContract,
    "forbidden": ForbiddenContract,
    "acyclic_siblings": AcyclicSiblingsContract,
}


def test_every_contract_is_kept() -> None:
    run = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
         str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    report = run.stdout + run.stderr
    if run.returncode != 0:
        broken = (
            report[report.find("Broken contracts") :] if "Broken contracts" in report else report
        )
        pytest.fail(f"Qalqan's layering is broken (lint-imports):\n{broken}", pytrace=False)
    assert "0 broken" in report


@cache
def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("qalqan", cache_dir=None)


def _broken_by(importer: str, imported: str) -> set[str]:
    """Ids of the contracts broken once ``importer`` imports ``imported``."""
    graph = copy.deepcopy(_graph())
    assert importer in graph.modules and imported in graph.modules
    graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="import")
    config = read_configuration(str(ROOT / "pyproject.toml"))
    broken = set()
    for options in config["contracts_options"]:
        contract = CONTRACT_TYPES[options["type"]](
            name=options["name"],
            session_options=config["session_options"],
            contract_options=options,
        )
        if not contract.check(copy.deepcopy(graph), verbose=False).kept:
            broken.add(options["id"])
    return broken


def test_the_real_graph_breaks_no_contract() -> None:
    assert _broken_by("qalqan.cli.main", "qalqan.errors") == set()  # an import the layers allow


@pytest.mark.parametrize(
    ("importer", "imported", "contract"),
    [
        # The analytics only load and apply models; the simulator is the training's.
        ("qalqan.analytics.models", "qalqan.simulator.operator", "batch"),
        ("qalqan.analytics.models", "qalqan.training.recipe", "layers"),
        # The screening engine knows neither the analytics nor the case store.
        ("qalqan.screening.engine", "qalqan.analytics.pipeline", "layers"),
        ("qalqan.screening.engine", "qalqan.cases.store", "layers"),
        # The case store knows none of its faces.
        ("qalqan.cases.store", "qalqan.console.app", "layers"),
        ("qalqan.cases.ingest", "qalqan.cli.main", "layers"),
        # The faces translate to and from the core, not to one another.
        ("qalqan.sip.redirect", "qalqan.api.app", "faces"),
        ("qalqan.console.app", "qalqan.api.app", "faces"),
        ("qalqan.api.app", "qalqan.training.cache", "simulator"),
        ("qalqan.console.demo", "qalqan.simulator.operator", "simulator"),
        # The detections sit below the screening rules that use them.
        ("qalqan.detections.spoofing", "qalqan.screening.config", "layers"),
        # The two cycles once hidden behind imports inside functions.
        ("qalqan.detections.spoofing", "qalqan.screening.config", "acyclic"),
        ("qalqan.cases.clock", "qalqan.cases.store", "acyclic"),
        ("qalqan.cases.audit", "qalqan.cases.store", "acyclic"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    importer: str, imported: str, contract: str
) -> None:
    assert contract in _broken_by(importer, imported)
