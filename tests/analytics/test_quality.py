"""The figures the analytics promise, measured on operators the models never saw.

The shipped models are trained on the simulator's training recipe (seeds above
1000, its own mix of farms and call centers). Here they meet other seeds and
other mixes: more call centers, two rotating farms, evasive farms alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qalqan.analytics.evaluate import CALL_COLUMNS, Evaluation, _active_accounts, _read, evaluate
from qalqan.cli.main import app
from qalqan.simulator.config import FraudSettings, Scenario
from qalqan.simulator.operator import simulate
from tests.analytics.reasons_check import check_reasons_file

UNSEEN = {
    "four-centers": Scenario(
        subscribers=5000, days=5, seed=202,
        fraud=FraudSettings(call_centers=4, rotating_farms=2, evasive_farms=1, bypass_boxes=1),
    ),
    "evasive-only": Scenario(
        subscribers=4000, days=4, seed=303,
        fraud=FraudSettings(call_centers=2, rotating_farms=0, evasive_farms=2, bypass_boxes=0, wangiri_bursts_per_day=1.0),
    ),
    "five-centers": Scenario(
        subscribers=6000, days=5, seed=505,
        fraud=FraudSettings(call_centers=5, rotating_farms=2, evasive_farms=1, bypass_boxes=2),
    ),
}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(UNSEEN))
def analysed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp(request.param)
    simulate(root / "data", UNSEEN[request.param])
    result = CliRunner().invoke(
        app, ["analyze", str(root / "data"), "--out", str(root / "out"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    for name in ("sims.csv", "farms.csv", "calls.csv", "campaigns.csv", "summary.html"):
        assert (root / "out" / name).exists()
    return root


@pytest.fixture(scope="module")
def scored(analysed: Path) -> Evaluation:
    return evaluate(analysed / "out", analysed / "data" / "truth")


def test_simbox_precision_and_recall_for_every_farm_kind(scored: Evaluation) -> None:
    assert scored.sim["precision"] >= 0.99
    assert scored.sim["recall"] >= 0.95
    for kind, recall in scored.sim["recall_by_kind"].items():
        assert recall >= 0.95, kind


def test_each_farm_is_found_whole_and_in_its_place(scored: Evaluation) -> None:
    assert scored.farms
    for farm in scored.farms:
        assert farm["jaccard"] >= 0.9, farm
        assert farm["km"] is not None and farm["km"] <= 1.0, farm


def test_fraud_calls_are_caught_without_hurting_people_abroad(scored: Evaluation) -> None:
    assert scored.calls["recall"] >= 0.95
    assert scored.calls["precision"] >= 0.98
    assert scored.calls["false_flag_rate_international"] <= 0.005
    assert scored.calls["false_flag_rate_by_kind"].get("roamer_home", 0.0) == 0.0


def test_campaigns_match_the_call_centers_and_their_time_zones(scored: Evaluation) -> None:
    assert scored.campaigns["ari"] >= 0.8
    assert scored.campaigns["offsets_right"] == scored.campaigns["call_centers"], scored.campaigns[
        "utc_offsets"
    ]


def test_evaluate_command_prints_the_figures(analysed: Path, scored: Evaluation) -> None:
    result = CliRunner().invoke(
        app, ["evaluate", str(analysed / "out"), "--truth", str(analysed / "data" / "truth")]
    )
    assert result.exit_code == 0, result.output
    assert f"adjusted Rand index of campaigns: {scored.campaigns['ari']:.3f}" in " ".join(
        result.output.split()
    )
    assert "recall, " in result.output
    said = " ".join(result.output.split())
    losses = scored.money["losses"]
    assert (
        f"losses within 1 % for {losses['within_1pct']} of {losses['centers']} call centers" in said
    )
    for center, row in losses["by_center"].items():
        money = result.output[result.output.index("Money lost per call center") :]
        line = next(x for x in money.splitlines() if f" {center} " in x)
        assert f"{row['true']:,.2f}" in line and f"{row['found']:,.2f}" in line
    assert "collecting mules: precision" in said


def test_every_flagged_sim_and_call_says_why(analysed: Path) -> None:
    import pyarrow.csv as pcsv

    sims = pcsv.read_csv(analysed / "out" / "sims.csv").to_pylist()
    flagged = [s for s in sims if s["verdict"] != "clear"]
    assert flagged and all(s["reasons"] for s in flagged)
    calls = pcsv.read_csv(analysed / "out" / "calls.csv").to_pylist()
    assert all(c["reasons"] for c in calls if c["verdict"] != "clear")


def test_the_money_trail_finds_the_mules(scored: Evaluation) -> None:
    assert scored.money["mules"] > 0
    assert scored.money["precision"] >= 0.95
    assert scored.money["recall"] >= 0.9


def test_a_data_set_of_call_records_alone_still_shows_its_sim_boxes(tmp_path: Path) -> None:
    """Exchange-v1 requires only ``cdrs``: with no register, cells or roaming, behaviour must do."""
    simulate(tmp_path / "data", Scenario(subscribers=3000, days=4, seed=606))
    for name in ("cells", "subscribers", "roaming", "registry", "payments", "reports"):
        (tmp_path / "data" / f"{name}.csv").unlink()
    result = CliRunner().invoke(
        app, ["analyze", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "-q"]
    )
    assert result.exit_code == 0, result.output
    scored = evaluate(tmp_path / "out", tmp_path / "data" / "truth")
    assert scored.sim["precision"] >= 0.95
    assert scored.sim["recall"] >= 0.9
    # without a roaming table nobody can be called a roamer who lies: no own subscriber is flagged
    calls = (tmp_path / "out" / "calls.csv").read_text(encoding="utf-8")
    assert "own_subscriber_at_home" not in calls


# --- the reasons as data (reason_facts) -----------------------------------------------------------


@pytest.mark.parametrize("name", ["calls", "campaigns", "farms", "sims"])
def test_every_reason_is_kept_as_data_that_renders_as_its_text(
    analysed: Path, name: str, tmp_path: Path
) -> None:
    said = check_reasons_file(analysed / "out" / f"{name}.csv", name, tmp_path)
    if name != "farms" or said:
        assert said, f"no reasons in {name}.csv"


def test_the_figures_read_of_calls_csv_only_the_columns_they_need(tmp_path: Path) -> None:
    """Not the reasons (most of the file's bytes), and no column a file does not have: a
    call without ``ingress`` still counts as not from outside, as before."""
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "record_id,verdict,campaign_id,reasons,reason_facts\n"
        'r1,fraud,C0001,"called 40 people","[{""rule"":""x""}]"\n'
        "r2,clear,,,\n",
        encoding="utf-8",
    )
    rows = _read(calls, CALL_COLUMNS)
    assert rows == [
        {"record_id": "r1", "verdict": "fraud", "campaign_id": "C0001"},
        {"record_id": "r2", "verdict": "clear", "campaign_id": None},
    ]
    assert _read(calls)[0]["reasons"] == "called 40 people"
    assert _read(tmp_path / "absent.csv", CALL_COLUMNS) == []


def test_the_accounts_that_moved_money_are_read_as_two_columns(tmp_path: Path) -> None:
    payments = tmp_path / "payments.csv"
    payments.write_text(
        "payment_id,time,payer,payee,amount,currency,channel\n"
        "p1,2026-03-02T09:00:00Z,bank:A,msisdn:+77010000001,100.0,KZT,bank_transfer\n"
        "p2,2026-03-02T09:05:00Z,bank:A,crypto:bc1q,50.0,KZT,crypto\n",
        encoding="utf-8",
    )
    assert _active_accounts(payments) == {"bank:A", "msisdn:+77010000001", "crypto:bc1q"}
    assert _active_accounts(tmp_path / "absent.csv") == set()
