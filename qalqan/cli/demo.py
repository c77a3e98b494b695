"""``qalqan demo``: the main job on a small simulated operator, start to finish."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import typer

from qalqan.cli.analyze import print_findings, run_analysis
from qalqan.cli.common import console, guarded, progress_bar
from qalqan.cli.simulate import summary_line, summary_table
from qalqan.cli.validate import report_table
from qalqan.exchange.reader import DataSet
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate

__all__ = ["demo_command"]


@guarded
def demo_command(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the demo's data and results.")
    ] = Path("demo-data"),
    subscribers: Annotated[
        int, typer.Option("--subscribers", "-n", help="SIMs of the operator.")
    ] = 4000,
    days: Annotated[int, typer.Option("--days", "-d", help="Days of traffic.")] = 3,
    seed: Annotated[int, typer.Option("--seed", "-s")] = 7,
) -> None:
    """Simulate a small operator, validate its data, find its SIM farms and call centers."""
    started = time.perf_counter()
    data, results = out / "operator", out / "analysis"
    for folder in (data, results):
        shutil.rmtree(folder, ignore_errors=True)
    console.rule("[bold]1. A simulated operator")
    with progress_bar(transient=True) as bar:
        task = bar.add_task("simulating call records", total=None)
        summary = simulate(
            data,
            Scenario(subscribers=subscribers, days=days, seed=seed),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(summary_table(summary))
    console.print(summary_line(summary))
    console.rule("[bold]2. Its data checked against the exchange format")
    report = DataSet.open(data).validate(quarantine_dir=results / "quarantine")
    console.print(report_table(report))
    console.rule("[bold]3. SIM boxes, farms, spoofed calls and call centers")
    report, result = run_analysis(data, results, quarantine=results / "quarantine")
    print_findings(data, report, result, results / "quarantine")
    console.rule()
    console.print(
        f"Done in {time.perf_counter() - started:.0f} s. Results: {results} "
        f"(open {results / 'summary.html'}); ground truth: {data / 'truth'}.\n"
        f"Score them: qalqan evaluate {results} --truth {data / 'truth'}"
    )
