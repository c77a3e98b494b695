"""``qalqan brands check-text`` and ``qalqan brands check-domain``: impersonation of protected brands.

Thin adapters over :mod:`qalqan.content.brands` and :mod:`qalqan.content.domains`:
a verdict and its reasons in the operator's language (``--lang``), or the verdicts
as JSON (``--json``). ``check-domain`` exits 1 when an address is a lookalike, 0
when none is; Qalqan's errors (an unreadable brands file or input) are one line
and exit code 2 (:func:`qalqan.cli.common.guarded`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from qalqan.cli.common import console, guarded
from qalqan.errors import QalqanError

if TYPE_CHECKING:
    from qalqan.content.brands import Registry
    from qalqan.content.domains import DomainVerdict
    from qalqan.domain.messages import Reason

__all__ = ["brands_app"]

MAX_INPUT_BYTES = 1 << 20
"""The most read from --file or --from: a text of 50,000 characters or 10,000 addresses fit."""

brands_app = typer.Typer(
    name="brands",
    help="Say whether a text or an address impersonates a protected brand or person.",
    no_args_is_help=True,
    add_completion=False,
)

BrandsFile = Annotated[
    Path | None,
    typer.Option(
        "--brands",
        help="An operator's brands file laid over the shipped list (same shape as "
        "qalqan/content/brands.yaml).",
    ),
]
Lang = Annotated[str, typer.Option("--lang", help="The reasons' language: ru, kk or en.")]
Json = Annotated[bool, typer.Option("--json", help="Print the verdicts as JSON.")]


class _InputError(QalqanError):
    """Input that cannot be read: too large, not UTF-8, missing."""


def _registry(path: Path | None) -> Registry:
    from qalqan.content.brands import load_registry, shipped_registry

    return shipped_registry() if path is None else load_registry(path)


def _read(path: Path) -> str:
    with path.open("rb") as stream:
        data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise _InputError(f"{path}: larger than {MAX_INPUT_BYTES:,} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _reasons(reasons: tuple[Reason, ...], lang: str) -> None:
    for reason in reasons:
        console.print(f"  {escape(reason.detail_in(lang))}")


@brands_app.command("lint")
def lint_command(
    path: Annotated[Path, typer.Argument(help="An operator's brands file to check.")],
) -> None:
    """List every mistake of a brands file, each with its line; exit 2 if there is any."""
    from qalqan.content.brands import BrandsFileError, load_registry

    try:
        registry = load_registry(path)
    except BrandsFileError as exc:
        for line, what in exc.problems:
            console.print(f"{escape(str(exc.path))}:{line}: {escape(what)}", soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(
        f"{escape(str(path))}: ok; {len(registry.brands)} brands and {len(registry.lures)} "
        "lure phrases with the shipped list"
    )


def _print_domain(address: str, verdict: DomainVerdict) -> None:
    if verdict.lookalike and verdict.brand is not None:
        kinds = ", ".join(kind.value for kind in verdict.kinds)
        console.print(
            f"{escape(address)}: [bold red]lookalike[/] of {escape(verdict.brand.name)} "
            f"({kinds}; score {verdict.score})"
        )
    elif verdict.own and verdict.brand is not None:
        console.print(f"{escape(address)}: [green]own[/] address of {escape(verdict.brand.name)}")
    else:
        console.print(f"{escape(address)}: no protected brand imitated")


@brands_app.command("check-text")
@guarded
def check_text_command(
    text: Annotated[str | None, typer.Argument(help="The text of an ad or message.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Read the text from this UTF-8 file.")
    ] = None,
    brands: BrandsFile = None,
    lang: Lang = "ru",
    as_json: Json = False,
) -> None:
    """Whether a text names a protected brand or person with an investment or payment lure.

    The addresses written in the text are checked too: those that imitate a protected
    brand, or are one's own, are listed with their reasons.
    """
    from qalqan.content.domains import DomainVerdict, LookalikeIndex, check_domains, links_in

    if (text is None) == (file is None):
        raise _InputError("give the text, or --file FILE, but not both")
    registry = _registry(brands)
    written = text if text is not None else _read(file)  # type: ignore[arg-type]
    verdict = registry.check_text(written)
    links = [
        found
        for found in check_domains(links_in(written), LookalikeIndex(registry))
        if isinstance(found, DomainVerdict) and (found.lookalike or found.own)
    ]
    if as_json:
        data = {**verdict.as_data(), "links": [link.as_data() for link in links]}
        console.print_json(json.dumps(data, ensure_ascii=False))
        return
    if verdict.impersonation:
        console.print(f"[bold red]impersonation[/] (score {verdict.score})")
    elif verdict.mentions:
        console.print(f"names a protected brand, no lure (score {verdict.score})")
    else:
        console.print("no protected brand or person named")
    _reasons(verdict.reasons, lang)
    for link in links:
        _print_domain(link.given, link)
        _reasons(link.reasons, lang)


@brands_app.command("check-domain")
@guarded
def check_domain_command(
    domains: Annotated[
        list[str] | None, typer.Argument(help="Domains or URLs to check.", show_default=False)
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="Read addresses from this file, one a line (# comments)."),
    ] = None,
    brands: BrandsFile = None,
    lang: Lang = "ru",
    as_json: Json = False,
) -> None:
    """Whether each address is a protected brand's own, imitates one (and how), or neither."""
    from qalqan.content.domains import DomainError, LookalikeIndex, check_domains

    given = list(domains or [])
    if from_file is not None:
        lines = _read(from_file).splitlines()
        given += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not given:
        raise _InputError("give one or more domains, or --from FILE")
    verdicts = check_domains(given, LookalikeIndex(_registry(brands)))
    lookalikes = 0
    rows: list[dict[str, object]] = []
    for address, verdict in zip(given, verdicts, strict=True):
        if isinstance(verdict, DomainError):
            rows.append({"domain": address, "error": verdict.reason})
            if not as_json:
                console.print(
                    f"{escape(address)}: [yellow]not a domain[/]: {escape(verdict.reason)}"
                )
            continue
        lookalikes += verdict.lookalike
        rows.append(verdict.as_data())
        if as_json:
            continue
        _print_domain(address, verdict)
        _reasons(verdict.reasons, lang)
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
    if lookalikes:
        raise typer.Exit(1)
