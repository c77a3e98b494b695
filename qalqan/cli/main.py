"""Entry point of the ``qalqan`` command."""

from __future__ import annotations

import typer

from qalqan import __version__
from qalqan.cli.simulate import simulate_command

app = typer.Typer(
    name="qalqan",
    help="Qalqan: screen calls, find SIM boxes and farms, catch spoofed caller IDs.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
app.command("simulate")(simulate_command)


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"qalqan {__version__}")
        raise typer.Exit()


def main() -> None:
    app()
