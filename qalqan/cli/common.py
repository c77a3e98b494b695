"""What every ``qalqan`` command shares: consoles, progress bars, and errors as one clear line."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typer.exceptions import TyperException

from qalqan.errors import QalqanError
from qalqan.exchange.limits import MAX_LINE_BYTES

__all__ = [
    "EXIT_BAD_DATA",
    "EXIT_INTERNAL",
    "EXIT_UNREADABLE",
    "MaxGzipBytes",
    "MaxGzipRatio",
    "MaxLineBytes",
    "MaxQuarantineBytes",
    "MaxRejectedRows",
    "console",
    "err_console",
    "guarded",
    "progress_bar",
]

EXIT_BAD_DATA = 1
"""Some rows were rejected (and quarantined); the rest was used."""
EXIT_UNREADABLE = 2
"""The input cannot be used at all, or the command was called wrongly."""
EXIT_INTERNAL = 3
"""A fault in Qalqan itself: the message says so; QALQAN_DEBUG=1 shows the traceback."""

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Turn Qalqan's own errors into one red line on stderr and exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except QalqanError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
            raise typer.Exit(EXIT_UNREADABLE) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            err_console.print(f"[bold red]error:[/] {where}{exc.strerror or exc}", soft_wrap=True)
            raise typer.Exit(EXIT_UNREADABLE) from None
        except (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt):
            raise  # the command line's own answers: usage errors, exit codes
        except Exception as exc:
            if os.environ.get("QALQAN_DEBUG"):
                raise
            err_console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
                "(a fault in Qalqan; run with QALQAN_DEBUG=1 for the traceback and report it)",
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def progress_bar(*, transient: bool = False, quiet: bool = False) -> Progress:
    """A Rich progress bar for long work; silent when ``quiet`` or when output is not a terminal."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
        disable=quiet,
    )


# -- what reading a data set may cost: the same options on every command that reads one --

MaxRejectedRows = Annotated[
    int,
    typer.Option(
        "--max-rejected-rows",
        min=1,
        help="Stop reading a table (exit code 2) past this many rejected rows.",
    ),
]
MaxQuarantineBytes = Annotated[
    int,
    typer.Option(
        "--max-quarantine-bytes",
        min=1,
        help="Stop reading a table (exit code 2) once its quarantine file passes this many bytes.",
    ),
]
MaxLineBytes = Annotated[
    int,
    typer.Option(
        "--max-line-bytes",
        min=2,
        max=MAX_LINE_BYTES,
        help="Reject a line longer than this many bytes as a row of its own (the rest is read).",
    ),
]
MaxGzipRatio = Annotated[
    int,
    typer.Option(
        "--max-gzip-ratio",
        min=1,
        help="Refuse a .csv.gz (exit code 2) whose content grows past this many times its "
        "compressed size.",
    ),
]
MaxGzipBytes = Annotated[
    int,
    typer.Option(
        "--max-gzip-bytes",
        min=1,
        help="Refuse a .csv.gz (exit code 2) whose content grows past this many bytes.",
    ),
]
