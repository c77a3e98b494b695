"""The money trail on a simulated operator never seen while its rules were written: the
figures the issue asks for, measured by ``qalqan evaluate`` against the simulator's truth."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from qalqan.analytics.evaluate import Evaluation, evaluate
from qalqan.cli.main import app
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Evaluation:
    root = tmp_path_factory.mktemp("money")
    simulate(root / "data", Scenario(subscribers=6000, days=4, seed=21))
    result = CliRunner().invoke(
        app, ["analyze", str(root / "data"), "--out", str(root / "out"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    for name in ("accounts.csv", "victim_payments.csv", "campaign_money.csv"):
        assert (root / "out" / name).exists(), name
    return evaluate(root / "out", root / "data" / "truth")


def test_mules_are_found_and_no_look_alike_is_taken_for_one(scored: Evaluation) -> None:
    money = scored.money
    assert money["mules"] > 0
    assert money["precision"] >= 0.95 and money["recall"] >= 0.95
    assert money["false_mules"] == {}


def test_each_collecting_mule_is_tied_to_its_campaign(scored: Evaluation) -> None:
    collectors = scored.money["collectors"]
    assert collectors["mules"] > 0
    assert collectors["precision"] >= 0.95 and collectors["recall"] >= 0.95
    assert collectors["attributed_right"] >= 0.9


def test_each_centers_losses_are_within_one_percent(scored: Evaluation) -> None:
    losses = scored.money["losses"]
    assert losses["centers"] > 0 and not losses["spurious"]
    assert losses["worst_error"] <= 0.01
    assert abs(losses["total_found"] - losses["total_true"]) <= 0.01 * losses["total_true"]


def test_losses_are_summed_per_center_and_a_campaign_that_took_nothing_is_no_center() -> None:
    from qalqan.analytics.evaluate import _loss_figures

    truth = [
        {"campaign": "cc-1", "amount": "300000.0"},
        {"campaign": "cc-1", "amount": "100000.0"},
        {"campaign": "cc-2", "amount": "50000.0"},
    ]
    found = [
        {"campaign_id": "C1", "lost": "400000"},
        {"campaign_id": "C2", "lost": "49000"},
        {"campaign_id": "C3", "lost": "0"},  # every call intercepted, nothing paid
    ]
    figures = _loss_figures(truth, found, {"C1": "cc-1", "C2": "cc-2", "C3": "cc-3"})
    assert figures["by_center"]["cc-1"] == {"true": 400000.0, "found": 400000.0, "error": 0.0}
    assert figures["by_center"]["cc-2"]["error"] == 0.02
    assert (figures["within_1pct"], figures["centers"], figures["spurious"]) == (1, 2, [])
