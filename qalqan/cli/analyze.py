"""``qalqan analyze``, ``qalqan evaluate`` and ``qalqan train``: the batch analytics from the command line."""

from __future__ import annotations

import contextlib
import importlib
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from qalqan.cli.common import (
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
from qalqan.domain.model import CallVerdict, SimVerdict
from qalqan.exchange.limits import DEFAULT_LIMITS, ReadLimits

if TYPE_CHECKING:
    from qalqan.analytics.pipeline import AnalysisResult
    from qalqan.exchange.report import ValidationReport

Engine = Literal["duckdb", "spark"]

__all__ = [
    "analyze_command",
    "evaluate_command",
    "import_meanwhile",
    "print_findings",
    "run_analysis",
    "train_command",
]


def _check_state(state: Path, *, since: date | None, engine: Engine, campaign_days: int) -> None:
    """Refuse, before any work, a state a run with ``--since`` cannot go on from (a gap,
    an overlap, parts kept by an older version) and a campaign window out of bounds."""
    if since is None:
        if engine == "duckdb":
            from qalqan.analytics.campaign_days import check_days

            check_days(campaign_days)
        return
    from qalqan.analytics.incremental import (
        check_calls,
        check_campaigns,
        check_history,
        read_manifest,
    )

    check_history(state, since)  # a state with a gap stops here too
    if engine == "duckdb":
        read_manifest(state).check_before(since)
        check_calls(state, since)
        check_campaigns(state, since, campaign_days)


def import_meanwhile(*modules: str) -> None:
    """Import ``modules``, one after the other, in a thread of its own while the caller goes on.

    The models' module brings in scikit-learn, about a second of imports that ``qalqan
    analyze`` would otherwise spend before or after staging, one core busy and the other
    idle; staging mostly waits on Arrow's threads and lets the import have the interpreter.
    Importing a module later waits for this import to finish; an import that fails here is
    tried again there, and fails there with its own error.
    """

    def load() -> None:
        for module in modules:
            with contextlib.suppress(Exception):
                importlib.import_module(module)

    threading.Thread(target=load, name="qalqan-import", daemon=True).start()


def run_analysis(
    data_dir: Path,
    out: Path,
    *,
    quarantine: Path,
    work_dir: Path | None = None,
    memory_limit: str = "16GB",
    quiet: bool = False,
    limits: ReadLimits | None = None,
    rules: Path | None = None,
    engine: Engine = "duckdb",
    spark_master: str | None = None,
    since: date | None = None,
    state: Path | None = None,
    campaign_days: int = 7,
) -> tuple[ValidationReport, AnalysisResult]:
    """Stage, analyse and write; the progress bar tells which step is running.

    ``rules`` is the screening rules file whose settings the shared detections use
    (the shipped one by default), the same file ``qalqan replay --rules`` takes.
    ``engine`` runs the queries on DuckDB (default) or on Spark (``spark_master``).
    ``state`` keeps the checked call records and the per-SIM partials for the next run;
    ``since`` reads only the days from then on: the SIMs and farms come from the new days
    and the kept partials, and the new days' calls alone are judged, from what the state
    keeps of the days before (qalqan.analytics.incremental). On Spark, ``since`` saves the
    reading and checking only: every kept day is analysed again. A daily run's campaigns
    group the fraud calls of the last ``campaign_days`` days, with the ids they had
    (qalqan.analytics.campaign_days).
    """
    from qalqan.analytics.staging import COMPRESSION, scratch_compression, stage
    from qalqan.analytics.store import AnalysisStore
    from qalqan.screening.config import load_config

    config = load_config(rules)  # a bad rules file stops here, before any work
    _check_state(state or out / "state", since=since, engine=engine, campaign_days=campaign_days)
    if engine == "spark":
        from qalqan.analytics.engine import require_spark

        require_spark()  # no pyspark or no Java stops here too
    scratch = Path(tempfile.mkdtemp(prefix="qalqan-", dir=work_dir))
    try:
        with progress_bar(quiet=quiet, transient=True) as bar:
            task = bar.add_task("validating and staging", total=None)

            def advance(table: str, rows: int, done: int, total: int) -> None:
                bar.update(
                    task, description=f"validating {table}", completed=done, total=total or None
                )

            # what runs after staging: the models (scikit-learn) and the analysis
            import_meanwhile(
                "qalqan.training.cache", "qalqan.analytics.pipeline", "qalqan.analytics.output"
            )
            report = stage(
                data_dir,
                scratch / "staged",
                quarantine_dir=quarantine,
                progress=advance,
                limits=limits,
                since=since,
                # what is kept stays small; what this run alone reads is quicker to write
                compression=COMPRESSION if state is not None else scratch_compression(data_dir),
            )
            new_records = None
            if state is not None:
                from qalqan.analytics.incremental import keep_history

                bar.update(task, description=f"keeping the checked call records in {state}")
                new_records = keep_history(
                    scratch / "staged", state, since=since, stage_kept=engine == "spark"
                )
            from qalqan.analytics.output import write_result
            from qalqan.analytics.pipeline import Analysis
            from qalqan.training.cache import cached_models

            bar.update(task, description="loading models (trained on first use)", total=None)
            models = cached_models(step=lambda s: bar.update(task, description=s))
            store = AnalysisStore.open(
                scratch / "staged",
                memory_limit=memory_limit,
                spill_dir=scratch / "spill",
                engine=engine,
                spark_master=spark_master,
            )
            try:
                if new_records is not None and state is not None and engine == "duckdb":
                    from qalqan.analytics.incremental import IncrementalAnalysis

                    analysis: Analysis = IncrementalAnalysis(
                        store,
                        models,
                        config=config,
                        state=state,
                        since=since,
                        new_records=new_records,
                        campaign_days=campaign_days,
                    )
                else:
                    analysis = Analysis(store, models, config=config)
                bar.update(task, description="computing features")
                analysis.prepare()
                bar.update(task, description="judging SIMs, farms, calls and campaigns")
                result = analysis.run()
                write_result(result, out, analysis.sim_table)
            finally:
                store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report, result


@guarded
def analyze_command(
    data_dir: Annotated[Path, typer.Argument(help="The operator's data set (exchange-v1 tables).")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Folder for sims.csv, farms.csv, calls.csv, campaigns.csv."
        ),
    ],
    quarantine: Annotated[
        Path | None, typer.Option(help="Where rejected rows go (default OUT/quarantine).")
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            help="Scratch space for staged tables and spills (default: a temporary folder)."
        ),
    ] = None,
    memory_limit: Annotated[str, typer.Option(help="DuckDB memory limit, e.g. 16GB.")] = "16GB",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="Screening rules file whose settings the detections shared with the engine use "
            "(spoofed caller IDs, Wangiri, young SIMs); default: the shipped default_rules.yaml.",
        ),
    ] = None,
    max_rejected_rows: MaxRejectedRows = DEFAULT_LIMITS.max_rejected_rows,
    max_quarantine_bytes: MaxQuarantineBytes = DEFAULT_LIMITS.max_quarantine_bytes,
    max_line_bytes: MaxLineBytes = DEFAULT_LIMITS.max_line_bytes,
    max_gzip_ratio: MaxGzipRatio = DEFAULT_LIMITS.max_gzip_ratio,
    max_gzip_bytes: MaxGzipBytes = DEFAULT_LIMITS.max_gzip_bytes,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="Where the queries run: duckdb (in process) or spark (needs pyspark and Java; "
            "docs/analytics-engines.md).",
        ),
    ] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="Spark master URL for --engine spark (default local[N]; SPARK_REMOTE in the "
            "environment selects Spark Connect).",
        ),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            formats=["%Y-%m-%d"],
            help="Read only the call records of this day (YYYY-MM-DD) and later, and analyse "
            "them with what --state kept from the runs before, which must end the day "
            "before. The SIMs and farms come from the new days and the kept per-SIM "
            "partials, so sims.csv and farms.csv are those of a full run; calls.csv holds the "
            "new days' calls alone, judged from what the state keeps, and campaigns.csv the "
            "campaigns of the last --campaign-days days (on --engine spark every kept day is "
            "analysed again). A table kept as a folder of daily parts "
            "(cdrs/2026-03-04.csv) is read from that part on. Record ids are checked for "
            "repeats within the new days only.",
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="Folder where the checked call records, the per-SIM partials and what the "
            "calls' verdicts read of the days before are kept "
            "for the next --since run (default OUT/state with --since; a full run keeps "
            "them only when given).",
        ),
    ] = None,
    campaign_days: Annotated[
        int,
        typer.Option(
            "--campaign-days",
            help="With --state: the days of fraud calls a daily run's campaigns group (1 to "
            "31), each campaign keeping the id it had; a full run keeps that many days' "
            "fraud calls for the next.",
        ),
    ] = 7,
) -> None:
    """Find SIM boxes and farms, judge calls from outside, and group fraud calls into campaigns.

    Rows that break the contract are quarantined and reported; the rest is analysed. A
    table past a read limit (docs/exchange-format.md, "Limits") stops the analysis: exit 2.
    """
    started = time.perf_counter()
    quarantine = quarantine or out / "quarantine"
    report, result = run_analysis(
        data_dir,
        out,
        quarantine=quarantine,
        work_dir=work_dir,
        memory_limit=memory_limit,
        quiet=quiet,
        rules=rules,
        engine=engine,
        spark_master=spark_master,
        since=since.date() if since is not None else None,
        state=state or (out / "state" if since is not None else None),
        campaign_days=campaign_days,
        limits=ReadLimits(
            max_rejected_rows=max_rejected_rows,
            max_quarantine_bytes=max_quarantine_bytes,
            max_line_bytes=max_line_bytes,
            max_gzip_ratio=max_gzip_ratio,
            max_gzip_bytes=max_gzip_bytes,
        ),
    )
    print_findings(data_dir, report, result, quarantine)
    console.print(
        f"Written to {out} in {time.perf_counter() - started:.1f} s (summary: {out / 'summary.html'})"
    )


def print_findings(
    data_dir: Path, report: ValidationReport, result: AnalysisResult, quarantine: Path
) -> None:
    """The findings as an operator reads them: counts, then the biggest farms and campaigns."""
    rejected = report.rows_rejected
    if rejected:
        err_console.print(
            f"[yellow]{rejected:,} rows broke the contract and were left out; see {quarantine}[/]"
        )
    if report.cells_emptied:
        err_console.print(
            f"[yellow]{report.cells_emptied:,} cells of optional columns held a bad value and "
            f"were left empty, their rows kept; `qalqan validate {data_dir}` lists them[/]"
        )
    verdicts: dict[str, int] = {}
    for v in result.sims.column("verdict").to_pylist():
        verdicts[v] = verdicts.get(v, 0) + 1
    calls = result.calls.verdicts
    table = Table(title=f"Analysis of {data_dir}", title_justify="left", min_width=60)
    table.add_column("finding")
    table.add_column("count", justify="right")
    table.add_row("call records read", f"{report.rows_read:,}")
    table.add_row("SIMs judged SIM boxes", f"{verdicts.get(SimVerdict.SIMBOX, 0):,}")
    table.add_row("SIMs suspect", f"{verdicts.get(SimVerdict.SUSPECT, 0):,}")
    table.add_row("SIM farms", f"{len(result.farms):,}")
    table.add_row("calls with spoofed caller ID", f"{calls.get(CallVerdict.SPOOFED, 0):,}")
    table.add_row("other fraud calls", f"{calls.get(CallVerdict.FRAUD, 0):,}")
    table.add_row("campaigns", f"{len(result.campaigns):,}")
    console.print(table)
    for farm in result.farms[:5]:
        place = (
            "" if farm.lat is None else f" at {farm.lat:.5f}, {farm.lon:.5f} (site {farm.sites[0]})"
        )
        console.print(
            f"  farm {farm.farm_id}: {len(farm.imsis)} SIMs, {len(farm.imeis)} IMEIs{place}"
        )
    for c in result.campaigns[:6]:
        offset = "" if c.utc_offset_h is None else f", works at UTC{c.utc_offset_h:+.0f}"
        console.print(
            f"  campaign {c.campaign_id} ({c.kind}): {c.n_calls:,} calls to {c.n_victims:,} people{offset}"
        )


@guarded
def evaluate_command(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of `qalqan analyze`.")],
    truth: Annotated[
        Path,
        typer.Option(
            "--truth", "-t", help="Folder with labels.csv (and farms.csv, campaigns.csv)."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Score an analysis against ground truth."""
    from qalqan.analytics.evaluate import evaluate

    if not (truth / "labels.csv").exists():
        from qalqan.errors import UnreadableFileError

        raise UnreadableFileError(truth / "labels.csv", "there is no such file")
    result = evaluate(out_dir, truth)
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "sim": result.sim,
                    "farms": result.farms,
                    "calls": result.calls,
                    "campaigns": result.campaigns,
                    "money": result.money,
                }
            )
        )
        return

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{100 * x:.2f} %"

    t = Table(title="SIM boxes", title_justify="left")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_row("precision", pct(result.sim["precision"]))
    t.add_row("recall", pct(result.sim["recall"]))
    for kind, r in result.sim["recall_by_kind"].items():
        t.add_row(f"recall, {kind} farms", pct(r))
    console.print(t)
    f = Table(title="Farms", title_justify="left")
    for col in ("true farm", "kind", "SIMs", "found as", "Jaccard", "km from site"):
        f.add_column(col)
    for row in result.farms:
        f.add_row(
            row["farm"],
            row["kind"],
            str(row["sims"]),
            str(row["found_as"] or "–"),
            f"{row['jaccard']:.3f}",
            "–" if row["km"] is None else f"{row['km']:.2f}",
        )
    console.print(f)
    c = Table(title="Calls", title_justify="left")
    c.add_column("measure")
    c.add_column("value", justify="right")
    c.add_row("fraud-call precision", pct(result.calls["precision"]))
    c.add_row("fraud-call recall", pct(result.calls["recall"]))
    c.add_row(
        "false flags, legitimate calls from abroad",
        pct(result.calls["false_flag_rate_international"]),
    )
    for kind, r in result.calls["false_flag_rate_by_kind"].items():
        c.add_row(f"  flagged among {kind}", pct(r))
    console.print(c)
    k = Table(title="Campaigns", title_justify="left")
    k.add_column("call center")
    k.add_column("true UTC offset", justify="right")
    k.add_column("estimated", justify="right")
    k.add_column("campaign")
    for center, o in result.campaigns["utc_offsets"].items():
        k.add_row(
            center,
            f"{o['true']:+.0f}",
            "–" if o["found"] is None else f"{o['found']:+.0f}",
            str(o.get("campaign", "–")),
        )
    console.print(k)
    if result.money:
        _print_money(result.money, pct)
    ari = result.campaigns["ari"]
    console.print(
        f"adjusted Rand index of campaigns: {'–' if ari is None else f'{ari:.3f}'}; "
        f"UTC offsets right for {result.campaigns['offsets_right']} of {result.campaigns['call_centers']} call centers"
    )


def _print_money(money: dict[str, Any], pct: Callable[[float | None], str]) -> None:
    """The money trail's figures: mule accounts, collecting mules and their campaigns, and
    what each call center's victims lost against what the analysis says."""
    console.print(
        f"mule accounts: precision {pct(money['precision'])}, recall {pct(money['recall'])} "
        f"({money['mules']} accounts moved stolen money)"
    )
    collectors = money.get("collectors")
    if collectors:
        console.print(
            f"collecting mules: precision {pct(collectors['precision'])}, recall "
            f"{pct(collectors['recall'])}, tied to the right campaign "
            f"{pct(collectors['attributed_right'])} ({collectors['mules']} in truth)"
        )
    losses = money.get("losses")
    if not losses:
        return
    m = Table(title="Money lost per call center", title_justify="left")
    for col in ("call center", "true", "found", "error"):
        m.add_column(col, justify="left" if col == "call center" else "right")
    for center, row in losses["by_center"].items():
        error = "–" if row["error"] is None else pct(row["error"])
        m.add_row(center, f"{row['true']:,.2f}", f"{row['found']:,.2f}", error)
    console.print(m)
    console.print(
        f"losses within 1 % for {losses['within_1pct']} of {losses['centers']} call centers"
    )


@guarded
def train_command(
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write the models (default: the cache Qalqan loads from)."),
    ] = None,
) -> None:
    """Train the shipped models from the simulator (reproducible: same recipe, same models)."""
    from qalqan.analytics.models import save_models
    from qalqan.training.cache import default_model_path
    from qalqan.training.recipe import train_models

    with progress_bar() as bar:
        task = bar.add_task("training", total=None)
        models = train_models(step=lambda s: bar.update(task, description=s))
    path = save_models(models, out or default_model_path())
    console.print(
        f"models trained on {models.meta['sims']:,} SIMs and {models.meta['calls']:,} calls; written to {path}"
    )
