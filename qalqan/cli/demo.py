"""``qalqan demo``: the main job on a small simulated operator, start to finish.

Simulate an operator, check its data, find its SIM farms and call centers,
screen its calls as they would have come in, and load what was found into an
SQLite case store with one demo user per role, ready for the anti-call-center.
The console it serves reads its ``QALQAN_CONSOLE_*`` settings as ``qalqan
console`` does (a secret, a session lifetime, the sign-in limits).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from qalqan.cli.analyze import print_findings, run_analysis
from qalqan.cli.common import console, guarded, progress_bar
from qalqan.cli.simulate import summary_line, summary_table
from qalqan.cli.validate import report_table
from qalqan.domain.model import Action
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
    serve: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Serve the console when everything is loaded."),
    ] = True,
    port: Annotated[int, typer.Option(help="Port of the console.")] = 8000,
) -> None:
    """Simulate a small operator, validate its data, find its SIM farms and call centers,
    replay its calls through the screening engine, fill a case store and serve the console."""
    started = time.perf_counter()
    if serve:  # a mistake in QALQAN_CONSOLE_* stops the demo now, not after minutes of work
        from qalqan.console.settings import ConsoleSettings

        ConsoleSettings.from_env()
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
    console.rule("[bold]4. Every call screened as it came in")
    decisions = results / "decisions.csv"
    _replay(data, decisions)
    console.rule("[bold]5. The anti-call-center's case store")
    store_path = out / "cases.sqlite"
    _fill_case_store(store_path, decisions, results, data)
    console.rule()
    console.print(
        f"Done in {time.perf_counter() - started:.0f} s. Results: {results} "
        f"(open {results / 'summary.html'}); ground truth: {data / 'truth'}; "
        f"case store: {store_path}.\n"
        f"Score the analysis: qalqan evaluate {results} --truth {data / 'truth'}"
    )
    if serve:
        _serve_console(store_path, port)


def _serve_console(store_path: Path, port: int) -> None:
    import uvicorn

    from qalqan.cli.console import console_app

    app = console_app(f"sqlite:///{store_path}")  # with the QALQAN_CONSOLE_* settings
    console.print(
        f"[bold]The anti-call-center's console: http://127.0.0.1:{port}/[/] "
        "(log in with a demo user above; Ctrl-C stops it)"
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _replay(data: Path, decisions: Path) -> None:
    from qalqan.screening.replay import replay, score_replay

    with progress_bar(transient=True) as bar:
        task = bar.add_task("screening call attempts", total=None)
        summary = replay(
            data,
            decisions,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    score = score_replay(decisions, data, data / "truth")
    actions = ", ".join(f"{summary.actions.get(a, 0):,} {a}" for a in Action)
    console.print(
        f"{summary.attempts:,} attempts: {actions}; engine time p99 {summary.latency_p99_us:.0f} µs\n"
        f"fraud calls intercepted: {100 * score.interception_rate:.1f} %; legitimate calls from outside "
        f"touched: {100 * score.legit_touched_rate:.2f} %; roaming subscribers' calls blocked: "
        f"{score.roaming_blocked} of {score.roaming_calls}"
    )


def _fill_case_store(store_path: Path, decisions: Path, results: Path, data: Path) -> None:
    from qalqan.cases.ingest import ingest_decisions, ingest_findings
    from qalqan.cases.store import CaseStore, upgrade
    from qalqan.console.demo import create_demo_users, work_a_shift

    store_path.unlink(missing_ok=True)
    url = f"sqlite:///{store_path}"
    upgrade(url)
    store = CaseStore.open(url)
    try:
        with store.transaction() as session:
            calls = ingest_decisions(session, decisions, data, source="demo")
        with store.transaction() as session:
            found = ingest_findings(session, results, data, source="demo")
        users = create_demo_users(store)
        shift = work_a_shift(store, results)
    finally:
        store.close()
    console.print(
        f"{sum(calls.alerts_seen.values()):,} intercepted calls and "
        f"{sum(found.alerts_seen.values()):,} findings loaded into {store_path}"
    )
    worked = ", ".join(
        f"{n} {outcome.replace('_', ' ')}" for outcome, n in shift.outcomes.most_common()
    )
    console.print(
        f"The first hours of a night shift, played by the demo users through the console's own "
        f"service calls: {sum(shift.outcomes.values())} calls called back ({worked}); "
        f"{shift.escalated} escalations, {shift.answered} answered; "
        + (
            f"case #{shift.case_id} on the largest farm with {shift.case_calls} of its calls; "
            if shift.case_id
            else ""
        )
        + f"{shift.in_progress} call being worked now."
    )
    table = Table(title="Demo users (one per role)", title_justify="left")
    for column in ("user", "role", "password"):
        table.add_column(column)
    for user in users:
        table.add_row(user.name, user.role.value, user.password)
    console.print(table)
