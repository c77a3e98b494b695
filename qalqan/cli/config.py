"""``qalqan config show``: every effective setting, its value and where it came from.

A thin adapter over :mod:`qalqan.config`: each part of the registry is
resolved from its defaults, the settings file (``--file``, else the one
``QALQAN_CONFIG`` names) and the environment, as the commands that serve
resolve it. Secrets print as stars. A bad value anywhere makes the command
exit 2 with one line per part naming the setting, the reason and where it was
set, and one line per problem of the rules file ``http.rules`` names, with its
file:line:column: run it before a restart to check a change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from qalqan.cli.common import EXIT_UNREADABLE, console, err_console, guarded

__all__ = ["config_app", "effective_settings", "show_command"]

config_app = typer.Typer(
    help="Qalqan's settings: each one's value and where it came from (docs/configuration.md).",
    no_args_is_help=True,
)


def effective_settings(
    file: Path | None = None, environ: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every setting of every part as ``{setting, variable, value, from, where}``, and the
    problems that stopped a part from being read (one line per part)."""
    from qalqan import config
    from qalqan.errors import ConfigError

    source = config.settings_file(file, environ if environ is not None else _environ())
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for part in config.parts():
        try:
            resolved = config.resolve(part.cls, environ=environ, file=source)
        except ConfigError as error:
            problems.append(str(error))
            continue
        if part.section == "http":
            problems += _rules_problems(resolved.settings.rules, resolved.sources["rules"])
        for f in part.settings_fields():
            where = resolved.sources[f.name]
            rows.append(
                {
                    "setting": f"{part.section}.{f.name}",
                    "variable": f.metadata["env"],
                    "value": config.shown_value(getattr(resolved.settings, f.name)),
                    "from": _kind_of(where, f.metadata["env"]),
                    "where": where,
                }
            )
    return rows, problems


def _rules_problems(rules: Path | None, where: str) -> list[str]:
    """The rules file's problems, each with its file:line:column, as ``qalqan rules lint``
    finds them: its path is a setting, the file keeps its own linter."""
    if rules is None:
        return []
    from qalqan.errors import ConfigError
    from qalqan.screening.config import lint_config_file

    try:
        found = [str(problem) for problem in lint_config_file(rules)]
    except ConfigError as error:
        found = [str(error)]
    return [f"rules file of http.rules (from {where}): {problem}" for problem in found]


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def _kind_of(where: str, variable: str) -> str:
    from qalqan.config import DEFAULT, FLAG

    if where in (DEFAULT, FLAG):
        return where
    return "environment" if where == variable else "file"


@config_app.command("show")
@guarded
def show_command(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Settings file (TOML, or YAML) to read; default: the one QALQAN_CONFIG names.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print every setting with its effective value (secrets as stars) and where it came from."""
    rows, problems = effective_settings(file)
    if problems:
        for problem in problems:
            err_console.print(f"[bold red]error:[/] {escape(problem)}", soft_wrap=True)
        raise typer.Exit(EXIT_UNREADABLE)
    if as_json:
        typer.echo(json.dumps({"settings": rows}, indent=2, ensure_ascii=False))
        return
    table = Table(title="Qalqan settings", title_justify="left")
    for column in ("setting", "value", "from"):
        table.add_column(column, overflow="fold")
    for row in rows:
        origin = row["where"] if row["from"] in ("file", "environment") else row["from"]
        table.add_row(row["setting"], escape(row["value"]), escape(origin))
    console.print(table)
