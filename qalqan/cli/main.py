"""Entry point of the ``qalqan`` command."""

from __future__ import annotations

import typer

from qalqan import __version__
from qalqan.cli.analyze import analyze_command, evaluate_command, train_command
from qalqan.cli.brands import brands_app
from qalqan.cli.cases import audit_app, cases_app
from qalqan.cli.config import config_app
from qalqan.cli.console import console_command
from qalqan.cli.content import content_app
from qalqan.cli.demo import demo_command
from qalqan.cli.evidence import evidence_app
from qalqan.cli.intel import intel_app
from qalqan.cli.keys import keys_app
from qalqan.cli.media import media_app
from qalqan.cli.public import public_reports_command, serve_public_command
from qalqan.cli.screening import replay_command, rules_app
from qalqan.cli.serve import serve_command, serve_http_command
from qalqan.cli.simulate import simulate_command
from qalqan.cli.sip_feed import sip_feed_command
from qalqan.cli.validate import validate_command

app = typer.Typer(
    name="qalqan",
    help="Qalqan: screen calls, find SIM boxes and farms, catch spoofed caller IDs.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
app.command("simulate")(simulate_command)
app.command("validate")(validate_command)
app.command("analyze")(analyze_command)
app.command("evaluate")(evaluate_command)
app.command("train")(train_command)
app.command("demo")(demo_command)
app.command("replay")(replay_command)
app.add_typer(rules_app, name="rules")
app.command("serve")(serve_command)
app.command("serve-http")(serve_http_command)
app.command("sip-feed")(sip_feed_command)
app.add_typer(cases_app, name="cases")
app.add_typer(audit_app, name="audit")
app.command("console")(console_command)
app.command("serve-public")(serve_public_command)
app.command("public-reports")(public_reports_command)
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")
app.add_typer(evidence_app, name="evidence")
app.add_typer(intel_app, name="intel")
app.add_typer(brands_app, name="brands")
app.add_typer(media_app, name="media")
app.add_typer(content_app, name="content")


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"qalqan {__version__}")
        raise typer.Exit()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
