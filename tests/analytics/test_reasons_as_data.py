"""Every reason in every file Qalqan writes is data: a rule, a catalog message, its facts, a weight.

A small simulated operator goes through ``qalqan analyze`` and ``qalqan replay``
as an operator runs them; each output file's ``reason_facts`` is then read
back (:mod:`tests.analytics.reasons_check`): every reason names its rule, says
a key of the message catalog with facts that fill its template, and keeps its
weight, and rendering the data in English gives the file's ``reasons`` text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.simulator.config import FraudSettings, Scenario
from qalqan.simulator.operator import simulate
from tests.analytics.reasons_check import check_reasons_file

OUTPUTS = ("accounts", "calls", "campaigns", "decisions", "farms", "sims")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reasons-as-data")
    # victims who pay, so that the money trail (accounts.csv) has mules to say why
    fraud = FraudSettings(hooked_share=0.5, paid_share=1.0)
    simulate(root / "data", Scenario(subscribers=1500, days=2, seed=11, fraud=fraud))
    runner = CliRunner()
    analysed = runner.invoke(
        app, ["analyze", str(root / "data"), "--out", str(root / "out"), "--quiet"]
    )
    assert analysed.exit_code == 0, analysed.output
    replayed = runner.invoke(
        app, ["replay", str(root / "data"), "--out", str(root / "out" / "decisions.csv"), "-q"]
    )
    assert replayed.exit_code == 0, replayed.output
    return root / "out"


@pytest.mark.parametrize("name", OUTPUTS)
def test_every_reason_of_every_output_file_is_data_that_renders_as_its_text(
    outputs: Path, name: str, tmp_path: Path
) -> None:
    assert check_reasons_file(outputs / f"{name}.csv", name, tmp_path) > 0, f"no reasons in {name}"
