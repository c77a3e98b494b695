"""``qalqan simulate``: write a synthetic operator's data set with its ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from qalqan.cli.common import console, guarded, progress_bar
from qalqan.exchange.writer import FORMATS, Format
from qalqan.simulator.config import load_scenario
from qalqan.simulator.families import FAMILIES
from qalqan.simulator.operator import SimulationSummary, simulate

__all__ = ["simulate_command", "summary_line", "summary_table"]


@guarded
def simulate_command(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the data set to (created).")],
    subscribers: Annotated[
        int | None, typer.Option("--subscribers", "-n", help="SIMs of the simulated operator.")
    ] = None,
    days: Annotated[int | None, typer.Option("--days", "-d", help="Days of traffic.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", "-s", help="Same seed, same bytes.")] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="Table format: csv, csv.gz or parquet.")
    ] = "csv",
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", help="YAML file of scenario settings (see docs/simulator.md)."),
    ] = None,
    family: Annotated[
        str | None,
        typer.Option(
            "--family",
            help="A scenario family written to break the detectors: "
            + ", ".join(FAMILIES)
            + " (docs/simulator.md). --scenario and the flags apply on top.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Simulate an operator: ordinary subscribers, legitimate look-alikes and fraud.

    Writes cdrs, cells, subscribers, roaming, payments, reports and registry in
    exchange-v1 format to OUT_DIR, and the ground truth to OUT_DIR/truth.
    """
    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"'{fmt}' is not one of {', '.join(FORMATS)}", param_hint="--format"
        )
    settings = load_scenario(scenario, family=family, subscribers=subscribers, days=days, seed=seed)
    with progress_bar(quiet=quiet) as bar:
        task = bar.add_task("simulating call records", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = simulate(out_dir, settings, fmt=_format(fmt), progress=advance)
    console.print(summary_table(summary))
    console.print(summary_line(summary))


def _format(text: str) -> Format:
    for fmt in FORMATS:
        if fmt == text:
            return fmt
    raise ValueError(text)


def summary_table(summary: SimulationSummary) -> Table:
    s = summary.scenario
    family = f", family {s.family}" if s.family else ""
    table = Table(
        title=f"Simulated operator: {s.subscribers:,} subscribers, {s.days} days, seed {s.seed}{family}",
        title_justify="left",
        min_width=60,
    )
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    return table


def summary_line(summary: SimulationSummary) -> str:
    rate = summary.rows.get("cdrs", 0) / max(summary.seconds, 1e-9) * 60
    return (
        f"{summary.fraud_calls:,} fraud calls from {summary.call_centers} call centers and "
        f"{summary.farms} SIM boxes/farms; ground truth in {summary.out_dir / 'truth'}\n"
        f"{summary.seconds:.1f} s, {rate / 1e6:.1f} M call records a minute"
    )
