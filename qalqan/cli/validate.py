"""``qalqan validate``: check a data set against the exchange format and say what is wrong.

A thin adapter over :meth:`qalqan.exchange.reader.DataSet.validate`: it draws
the progress bar, prints one line per table (rows read, accepted, rejected)
and the first reasons with their file and line, and turns the report into the
exit code: 0 every row valid, 1 rows rejected or a file damaged (the rest is
usable), 2 the data set cannot be read or a table went past one of the read
limits (:mod:`qalqan.exchange.limits`, one option each). Cells of optional
columns left empty for a bad value are warnings: listed like rejected rows,
they do not change the exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
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
)
from qalqan.exchange.limits import DEFAULT_LIMITS, ReadLimits
from qalqan.exchange.reader import DEFAULT_CHUNK_ROWS, DataSet
from qalqan.exchange.report import TableReport, ValidationReport

__all__ = ["report_table", "validate_command"]

SHOWN_REASONS = 5
"""Rejected rows (and cells left empty) shown per table; the quarantine file has the rows."""


class _ProgressBars:
    """One bar per table, in bytes of its file, with the rows read so far."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, table: str, rows: int, done: int, total: int) -> None:
        task = self._tasks.get(table)
        if task is None:
            task = self._tasks[table] = self._progress.add_task(table, total=total, rows=0)
        self._progress.update(task, completed=done, total=total, rows=rows)


def _bars(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:>13,} rows"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
    )


def _status(report: TableReport) -> str:
    if report.failure is not None:
        return "[bold red]unreadable[/]"
    if report.problems:
        return "[bold red]damaged[/]"
    if report.rows_rejected:
        return "[yellow]rows rejected[/]"
    if report.cells_emptied:
        return "[green]valid[/], [yellow]cells left empty[/]"
    return "[green]valid[/]"


def report_table(report: ValidationReport) -> Table:
    """One row per table of the data set: its file, rows read, accepted and rejected."""
    table = Table(title=f"Data set {report.directory}", title_justify="left")
    table.add_column("table")
    table.add_column("file")
    table.add_column("rows read", justify="right")
    table.add_column("accepted", justify="right")
    table.add_column("rejected", justify="right")
    table.add_column("status")
    for name, result in report.tables.items():
        files = ", ".join(path.name for path in result.files)
        rejected = f"{result.rows_rejected:,}"
        table.add_row(
            name,
            files,
            f"{result.rows_read:,}",
            f"{result.rows_accepted:,}",
            f"[yellow]{rejected}[/]" if result.rows_rejected else rejected,
            _status(result),
        )
    for name in report.absent:
        table.add_row(name, "[dim]absent[/]", "", "", "", "[dim]optional[/]")
    return table


def _print_details(name: str, result: TableReport) -> None:
    """What went wrong in one table: damage, reasons by kind, the first rejected rows, then the
    optional cells left empty, by kind, and the first of them."""
    if not (result.problems or result.rows_rejected or result.skipped_checks or result.warnings):
        return
    console.print(f"\n[bold]{name}[/]")
    for problem in result.problems:
        console.print(f"  [bold red]{problem}[/]", soft_wrap=True)
    for kind, count in result.reasons.most_common():
        console.print(f"  {count:>12,}  {kind}", soft_wrap=True)
    for error in result.errors[:SHOWN_REASONS]:
        console.print(f"  {error.file}:{error.line}: {error.reason}", soft_wrap=True, markup=False)
    if result.rows_rejected > SHOWN_REASONS:
        console.print(f"  … and {result.rows_rejected - SHOWN_REASONS:,} more rejected rows")
    _print_warnings(result)
    for note in result.skipped_checks:
        console.print(f"  [dim]not checked: {note}[/]", soft_wrap=True)


def _print_warnings(result: TableReport) -> None:
    emptied = result.cells_emptied.total()
    if not emptied:
        return
    columns = ", ".join(f"{name} {count:,}" for name, count in result.cells_emptied.most_common())
    console.print(f"  [yellow]optional cells left empty, rows kept:[/] {columns}", soft_wrap=True)
    for kind, count in result.warnings.most_common():
        console.print(f"  {count:>12,}  {kind}", soft_wrap=True)
    for warning in result.warning_examples[:SHOWN_REASONS]:
        console.print(f"  {warning}", soft_wrap=True, markup=False)
    if emptied > SHOWN_REASONS:
        console.print(f"  … and {emptied - SHOWN_REASONS:,} more cells left empty")


def _summary(report: ValidationReport, quarantine: Path) -> str:
    line = (
        f"{report.rows_read:,} rows read, {report.rows_accepted:,} accepted, "
        f"{report.rows_rejected:,} rejected"
    )
    blank = sum(r.blank_lines for r in report.tables.values())
    if blank:
        line += f", {blank:,} blank lines skipped"
    if report.cells_emptied:
        line += f", {report.cells_emptied:,} optional cells left empty for a bad value"
    if any(r.rows_rejected or r.problems for r in report.tables.values()):
        line += f"; rejected rows are in {quarantine}"
    return line


@guarded
def validate_command(
    data_dir: Annotated[
        Path,
        typer.Argument(
            metavar="DATA_DIR",
            help="Folder of the data set (or of Qalqan's outputs): one CSV, CSV.gz or Parquet "
            "per table.",
        ),
    ],
    quarantine: Annotated[
        Path | None,
        typer.Option(
            "--quarantine",
            help="Folder for rejected rows, one CSV per table (default: DATA_DIR/quarantine).",
        ),
    ] = None,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help="Rows checked at a time (memory vs speed).")
    ] = DEFAULT_CHUNK_ROWS,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no tables: the summary only.")
    ] = False,
    max_rejected_rows: MaxRejectedRows = DEFAULT_LIMITS.max_rejected_rows,
    max_quarantine_bytes: MaxQuarantineBytes = DEFAULT_LIMITS.max_quarantine_bytes,
    max_line_bytes: MaxLineBytes = DEFAULT_LIMITS.max_line_bytes,
    max_gzip_ratio: MaxGzipRatio = DEFAULT_LIMITS.max_gzip_ratio,
    max_gzip_bytes: MaxGzipBytes = DEFAULT_LIMITS.max_gzip_bytes,
) -> None:
    """Check every table of DATA_DIR against the exchange format, row by row.

    Rejected rows are written to the quarantine with their file, line and
    reason. A bad value in an optional column (birth_year, orig_country, ...)
    leaves that cell empty and keeps the row, with a warning. Exit code 0:
    every row is valid (warnings or not); 1: rows were rejected or a file is
    damaged (the rest is usable); 2: the data set cannot be read, or a table
    went past a limit (docs/exchange-format.md, "Limits").
    """
    limits = ReadLimits(
        max_rejected_rows=max_rejected_rows,
        max_quarantine_bytes=max_quarantine_bytes,
        max_line_bytes=max_line_bytes,
        max_gzip_ratio=max_gzip_ratio,
        max_gzip_bytes=max_gzip_bytes,
    )
    data_set = DataSet.open(data_dir, limits=limits)
    quarantine_dir = quarantine if quarantine is not None else data_dir / "quarantine"
    with _bars(quiet) as progress:
        report = data_set.validate(
            quarantine_dir=quarantine_dir, progress=_ProgressBars(progress), chunk_rows=chunk_rows
        )
    if not quiet:
        console.print(report_table(report))
        for name, result in report.tables.items():
            _print_details(name, result)
        console.print()
    console.print(_summary(report, quarantine_dir))
    for result in report.tables.values():
        if result.failure is not None:
            err_console.print(f"[bold red]error:[/] {result.failure}", soft_wrap=True)
    raise typer.Exit(report.exit_code)
