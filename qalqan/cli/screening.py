"""``qalqan replay`` and ``qalqan rules lint``: the screening engine from the command line.

Both are thin adapters: :func:`qalqan.screening.replay.replay` and
:func:`qalqan.screening.config.lint_config_file` do the work and can be called
in-process; this module only turns options into arguments and results into
tables, progress bars and exit codes.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from qalqan.cli.common import (
    EXIT_BAD_DATA,
    MaxGzipBytes,
    MaxGzipRatio,
    MaxLineBytes,
    MaxQuarantineBytes,
    MaxRejectedRows,
    console,
    err_console,
    guarded,
    progress_bar,
)
from qalqan.domain.model import Action
from qalqan.exchange.limits import DEFAULT_LIMITS, ReadLimits

if TYPE_CHECKING:
    from qalqan.screening.replay import ReplayScore, ReplaySummary

__all__ = ["lint_command", "replay_command", "rules_app"]

rules_app = typer.Typer(
    name="rules",
    help="Check screening rules files.",
    no_args_is_help=True,
    add_completion=False,
)


def _every(text: str) -> float | None:
    from qalqan.screening.config import parse_duration

    if text.strip().lower() in ("0", "off", "never", "none"):
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--analyze-every") from None


Outcomes = Annotated[
    bool,
    typer.Option(
        help="Reveal each call's outcome once it has ended, as the operator's records do. "
        "--no-outcomes: never, as a SIP redirect server (qalqan serve) sees the attempts only.",
    ),
]


@guarded
def replay_command(
    data_dir: Annotated[Path, typer.Argument(help="The data set to replay (exchange-v1 tables).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write decisions.csv.")] = Path(
        "decisions.csv"
    ),
    analyze_every: Annotated[
        str,
        typer.Option(
            "--analyze-every",
            help="How often, in the data's own time, the batch detector feeds the reputation "
            "lists with what it found so far (15m, 1h, ...; 'off' for never).",
        ),
    ] = "1h",
    outcomes: Outcomes = True,
    lists: Annotated[
        list[Path] | None,
        typer.Option(
            "--lists",
            help="Reputation lists known before the replayed period: a `qalqan analyze` output "
            "folder or a CSV (kind,value,source,reason). Repeatable.",
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Rules file (default: the shipped default_rules.yaml)."),
    ] = None,
    protection_list: Annotated[
        Path | None,
        typer.Option(help="Numbers whose owners opted in (or out, with protect=no) to protection."),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="Score the decisions against this ground truth (labels.csv)."),
    ] = None,
    quarantine: Annotated[
        Path | None, typer.Option(help="Where rejected rows go (default: next to --out).")
    ] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="Scratch space for sorting (default: a temporary folder).")
    ] = None,
    memory_limit: Annotated[
        str | None, typer.Option(help="DuckDB memory limit for the sort, e.g. 4GB.")
    ] = None,
    enforce_deadline: Annotated[
        bool,
        typer.Option(
            help="Answer the rules file's default action when a decision overruns its budget, as "
            "live. Off: a hiccup of this machine cannot change a decision (latency is still measured)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    max_rejected_rows: MaxRejectedRows = DEFAULT_LIMITS.max_rejected_rows,
    max_quarantine_bytes: MaxQuarantineBytes = DEFAULT_LIMITS.max_quarantine_bytes,
    max_line_bytes: MaxLineBytes = DEFAULT_LIMITS.max_line_bytes,
    max_gzip_ratio: MaxGzipRatio = DEFAULT_LIMITS.max_gzip_ratio,
    max_gzip_bytes: MaxGzipBytes = DEFAULT_LIMITS.max_gzip_bytes,
) -> None:
    """Replay every call attempt of a data set through the screening engine, in time order.

    Each attempt is decided from what was known before it, as live, and written to
    decisions.csv (record_id, action, score, reasons, latency_us, and reason_facts: the
    reasons' message keys and facts, for showing them in another language).
    """
    from qalqan.screening.config import load_config
    from qalqan.screening.farm_watch import FarmWatchSettings
    from qalqan.screening.replay import replay, score_replay

    config = load_config(rules)
    every = _every(analyze_every)
    # the batch detector's thresholds from the settings (farm_watch); "young" is the rules'
    farm_watch = dataclasses.replace(
        FarmWatchSettings.from_env(), young_sim_days=config.young_sim_days
    )
    from qalqan.screening.node import reputation_lists

    known = reputation_lists(lists or [])
    quarantine = quarantine or out.parent / "quarantine"
    with progress_bar(quiet=quiet, transient=True) as bar:
        task = bar.add_task("sorting call records by time", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, description="screening", completed=done, total=total)

        summary = replay(
            data_dir,
            out,
            config=config,
            lists=known,
            analyze_every_s=every,
            outcome_delay_s=30.0 if outcomes else None,
            farm_watch=farm_watch,
            quarantine=quarantine,
            protection_list=protection_list,
            work_dir=work_dir,
            memory_limit=memory_limit,
            enforce_deadline=enforce_deadline,
            progress=advance,
            limits=ReadLimits(
                max_rejected_rows=max_rejected_rows,
                max_quarantine_bytes=max_quarantine_bytes,
                max_line_bytes=max_line_bytes,
                max_gzip_ratio=max_gzip_ratio,
                max_gzip_bytes=max_gzip_bytes,
            ),
        )
    score = score_replay(out, data_dir, truth) if truth is not None else None
    if as_json:
        console.print_json(json.dumps(_as_dict(summary, score)))
    else:
        _print_summary(out, summary, score)
    if summary.rows_rejected:
        err_console.print(
            f"[yellow]{summary.rows_rejected:,} rows broke the contract and were left out; "
            f"see {quarantine}[/]"
        )
        raise typer.Exit(EXIT_BAD_DATA)


def _as_dict(summary: ReplaySummary, score: ReplayScore | None) -> dict[str, object]:
    out: dict[str, object] = {
        "attempts": summary.attempts,
        "actions": dict(summary.actions),
        "rows_rejected": summary.rows_rejected,
        "seconds": round(summary.seconds, 2),
        "farm_watch_runs": summary.farm_watch_runs,
        "listings_added": summary.listings_added,
        "latency_p50_us": summary.latency_p50_us,
        "latency_p99_us": summary.latency_p99_us,
    }
    if score is not None:
        out["truth"] = {
            "fraud_calls": score.fraud_calls,
            "fraud_intercepted": score.fraud_intercepted,
            "interception_rate": score.interception_rate,
            "legit_inbound": score.legit_inbound,
            "legit_inbound_touched": score.legit_inbound_touched,
            "legit_touched_rate": score.legit_touched_rate,
            "legit_mobile_touched_rate": score.legit_mobile_touched_rate,
            "roaming_calls": score.roaming_calls,
            "roaming_blocked": score.roaming_blocked,
            "fraud_by_group": {g: list(v) for g, v in score.fraud_by_group.items()},
        }
    return out


def _print_summary(out: Path, summary: ReplaySummary, score: ReplayScore | None) -> None:
    table = Table(title=f"Replay → {out}", title_justify="left", min_width=60)
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("call attempts screened", f"{summary.attempts:,}")
    for action in Action:
        table.add_row(f"  {action}", f"{summary.actions.get(action, 0):,}")
    table.add_row("batch detector runs", f"{summary.farm_watch_runs:,}")
    table.add_row("listings it fed to the engine", f"{summary.listings_added:,}")
    table.add_row(
        "engine time p50 / p99", f"{summary.latency_p50_us:.0f} / {summary.latency_p99_us:.0f} µs"
    )
    table.add_row("wall time", f"{summary.seconds:.1f} s")
    console.print(table)
    if score is None:
        return

    def pct(x: float) -> str:
        return f"{100 * x:.2f} %"

    truth = Table(title="Against ground truth", title_justify="left", min_width=60)
    truth.add_column("measure")
    truth.add_column("value", justify="right")
    truth.add_row(
        "fraud calls intercepted (any action but allow)",
        f"{pct(score.interception_rate)} ({score.fraud_intercepted:,} of {score.fraud_calls:,})",
    )
    truth.add_row(
        "legitimate inbound calls touched",
        f"{pct(score.legit_touched_rate)} ({score.legit_inbound_touched:,} of {score.legit_inbound:,})",
    )
    truth.add_row(
        "roaming subscribers' calls blocked",
        f"{score.roaming_blocked:,} of {score.roaming_calls:,}",
    )
    truth.add_row("legitimate calls of our own SIMs touched", pct(score.legit_mobile_touched_rate))
    for group, (calls, caught) in score.fraud_by_group.items():
        truth.add_row(f"  intercepted, {group}", f"{pct(caught / calls)} of {calls:,}")
    console.print(truth)


@rules_app.command("lint")
def lint_command(
    files: Annotated[list[Path], typer.Argument(help="Rules files (YAML) to check.")],
) -> None:
    """Check rules files: list every problem with its file:line:column and key; exit 1 if any."""
    from qalqan.screening.config import lint_config_file
    from qalqan.screening.config import load_config as _load

    found = 0
    for path in files:
        try:
            problems = lint_config_file(path)
        except Exception as exc:  # unreadable file: one problem, the rest still checked
            err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
            found += 1
            continue
        for problem in problems:
            console.print(str(problem), soft_wrap=True, markup=False)
        found += len(problems)
        if not problems:
            enabled = len(_load(path).enabled())
            console.print(f"{path}: ok ({enabled} rules enabled)", markup=False)
    if found:
        err_console.print(f"{found} problem{'s' if found != 1 else ''} found")
        raise typer.Exit(EXIT_BAD_DATA)
