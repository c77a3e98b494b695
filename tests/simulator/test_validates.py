"""What the simulator writes, the validator accepts: every row, every table, every format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qalqan.cli.main import app
from qalqan.exchange.reader import DataSet
from qalqan.exchange.writer import Format
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet"])
def test_simulated_operator_validates_with_zero_rejections(tmp_path: Path, fmt: Format) -> None:
    summary = simulate(tmp_path, Scenario(subscribers=1500, days=2, seed=9), fmt=fmt)
    report = DataSet.open(tmp_path).validate(quarantine_dir=tmp_path / "quarantine")
    assert report.exit_code == 0
    assert report.rows_rejected == 0
    assert report.absent == []
    for name, rows in summary.rows.items():
        assert report.tables[name].rows_accepted == rows, name
    truth = DataSet.open(tmp_path)
    labels = truth.read_all("labels") if (tmp_path / "labels.csv").exists() else None
    assert labels is None  # ground truth stays out of the data tables


def test_simulate_command_reports_what_it_wrote(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["simulate", str(tmp_path / "op"), "-n", "800", "-d", "1", "--seed", "4", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "cdrs" in result.output and "ground truth in" in result.output
    assert (tmp_path / "op" / "truth" / "labels.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "is not one of csv, csv.gz, parquet"),
        (["-n", "10"], "subscribers must be at least 200"),
    ],
)
def test_simulate_command_refuses_bad_settings_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["simulate", str(tmp_path / "op"), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_demo_runs_the_main_job_end_to_end(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--out", str(tmp_path), "-n", "1500", "-d", "2", "--no-serve"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "SIM farms" in text and "campaign C0001" in text
    for name in (
        "sims.csv",
        "farms.csv",
        "calls.csv",
        "campaigns.csv",
        "summary.html",
        "decisions.csv",
    ):
        assert (tmp_path / "analysis" / name).exists()
    assert "fraud calls intercepted" in text and "Demo users" in text
    from sqlalchemy import select

    from qalqan.cases.audit import verify_audit
    from qalqan.cases.models import Alert, Case, Escalation, OperatorAction
    from qalqan.cases.store import CaseStore
    from qalqan.cases.users import login
    from qalqan.cases.views import stored_reasons
    from qalqan.domain.messages import render

    store = CaseStore.open(f"sqlite:///{tmp_path / 'cases.sqlite'}")
    try:
        found = re.search(r"│ (\w+)\s+│ operator\s+│ (\S+)", result.output)
        assert found, result.output
        with store.transaction() as session:
            assert login(session, found.group(1), found.group(2)).role == "operator"
            stored = session.execute(select(Alert.kind, Alert.reasons)).all()
            # the shift the demo plays through the service layer: calls worked, escalated, a case
            worked = session.scalars(
                select(OperatorAction.outcome).where(OperatorAction.kind == "outcome")
            ).all()
            raised = session.scalars(select(Escalation.status)).all()
            opened = session.scalars(select(Case.title)).all()
            report = verify_audit(session)
    finally:
        store.close()
    assert len(worked) == 30 and "warned" in worked
    assert "accepted" in raised and "open" in raised
    assert len(opened) == 1 and opened[0].startswith("SIM-ферма")
    assert report.intact and report.entries > 30
    assert "calls called back" in text and "call being worked now" in text
    # every reason the store got from screening and analysis can be said in Kazakh
    said = [(kind, r) for kind, raw in stored for r in stored_reasons(raw)]
    kinds = {kind for kind, _ in said}
    assert {"intercepted_call", "sim_farm", "campaign", "spoofed_wave"} <= kinds
    unkeyed = [r.detail for _, r in said if not r.key]
    assert unkeyed == []
    assert all(render(r.key, r.facts_dict(), "kk") for _, r in said)
