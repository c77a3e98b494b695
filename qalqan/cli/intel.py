"""``qalqan intel export`` and ``qalqan intel import``: indicators to and from partners.

Thin adapters over :mod:`qalqan.intel.sharing` (and :mod:`qalqan.intel.push`
for ``--push``): options in, a line of counts out, Qalqan's errors as one line
and exit code 2 (:func:`qalqan.cli.common.guarded`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qalqan.cli.common import console, err_console, guarded
from qalqan.errors import QalqanError

if TYPE_CHECKING:
    from qalqan.intel.model import Feed

__all__ = ["intel_app"]

intel_app = typer.Typer(
    name="intel",
    help="Share fraud indicators with partners as MISP events or STIX 2.1 bundles.",
    no_args_is_help=True,
    add_completion=False,
)


class _UsageError(QalqanError):
    """An option combination that cannot work."""


def _counts(counted: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n:,}" for kind, n in counted.items() if n) or "none"


@intel_app.command("export")
@guarded
def export_command(
    analysis: Annotated[Path, typer.Option("--analysis", help="A `qalqan analyze` output folder.")],
    format: Annotated[str, typer.Option("--format", help="misp or stix (STIX 2.1).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The JSON file to write.")],
    tlp: Annotated[
        str, typer.Option(help="Traffic Light Protocol: clear, green, amber, amber+strict, red.")
    ] = "amber",
    source: Annotated[
        str, typer.Option(help="Who says so: the name partners see on every indicator.")
    ] = "qalqan analyze",
    push: Annotated[
        str | None,
        typer.Option(
            "--push", help="Also send the MISP event to this MISP instance (https://...)."
        ),
    ] = None,
    key_env: Annotated[
        str,
        typer.Option("--key-env", help="Environment variable holding the MISP automation key."),
    ] = "MISP_KEY",
    allow_http: Annotated[
        bool,
        typer.Option("--allow-http", help="Let --push use plain http:// (a MISP on this machine)."),
    ] = False,
) -> None:
    """Write the indicators of an analysis as a MISP event or a STIX 2.1 bundle."""
    from qalqan.intel.sharing import export_analysis

    if format not in ("misp", "stix"):
        raise _UsageError(f"--format '{format}' is not misp or stix")
    if push is not None and format != "misp":
        raise _UsageError("--push sends MISP events: use it with --format misp")
    try:
        feed, text = export_analysis(analysis, format=format, tlp=tlp, source=source)  # type: ignore[arg-type]
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    out.write_text(text, encoding="utf-8")
    console.print(
        f"{out}: {format}, TLP:{tlp.upper()}; {_counts(feed.counts())}; campaigns {len(feed.campaigns)}"
    )
    if push is not None:
        _push(push, key_env, feed, tlp, allow_http=allow_http)


def _push(url: str, key_env: str, feed: Feed, tlp: str, *, allow_http: bool) -> None:
    from qalqan.intel.misp import to_misp
    from qalqan.intel.push import push_event

    key = os.environ.get(key_env, "")
    if not key:
        raise _UsageError(f"the MISP key is not set: environment variable {key_env} is empty")
    pushed = push_event(url, to_misp(feed, tlp=tlp), key=key, allow_http=allow_http)
    console.print(f"sent to {url}: HTTP {pushed.status}, event {pushed.event_id or '?'}")


@intel_app.command("import")
@guarded
def import_command(
    file: Annotated[Path, typer.Argument(help="A partner's MISP event JSON or STIX 2.1 bundle.")],
    into: Annotated[
        Path, typer.Option("--into", help="The reputation list (CSV) to make or add to.")
    ],
    source: Annotated[
        str | None,
        typer.Option(help="Who says so (default: the feed's own organisation or identity)."),
    ] = None,
    confidence: Annotated[
        float | None,
        typer.Option(help="0-100: the weight (as 0-1) of indicators that state no confidence."),
    ] = None,
    expires: Annotated[
        float | None,
        typer.Option(help="Days from now after which indicators with no end of their own lapse."),
    ] = None,
    others: Annotated[
        Path | None,
        typer.Option(help="Write the indicators screening does not use (accounts, places) here."),
    ] = None,
    max_bytes: Annotated[int, typer.Option(help="Largest feed file read.")] = 64 * 1024 * 1024,
    max_objects: Annotated[int, typer.Option(help="Most JSON objects in a feed.")] = 500_000,
    max_depth: Annotated[int, typer.Option(help="Deepest JSON nesting in a feed.")] = 24,
) -> None:
    """Merge a partner's indicators into a reputation list that screening loads."""
    from qalqan.intel.feed_file import FeedLimits
    from qalqan.intel.sharing import import_feed

    limits = FeedLimits(max_bytes=max_bytes, max_objects=max_objects, max_depth=max_depth)
    try:
        done = import_feed(
            file,
            into=into,
            source=source,
            confidence=confidence,
            expires_days=expires,
            others=others,
            limits=limits,
        )
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    read, merged = done.read, done.merged
    console.print(
        f"{file}: {read.format}, from {read.feed.source}: {_counts(read.feed.counts())}; "
        f"{read.skipped:,} objects of no kind skipped"
    )
    console.print(
        f"{into}: {merged.added:,} listings added, {merged.already_listed:,} already listed"
    )
    if merged.not_for_screening:
        where = f" (written to {others})" if others is not None else " (--others writes them)"
        err_console.print(f"not for screening: {_counts(merged.not_for_screening)}{where}")
