"""``qalqan serve-public``: the public number check and citizens' reports, apart from the console.

A thin adapter over :mod:`qalqan.public`: it opens the case store (refusing an
unmigrated one), reads the registry of protected numbers, and serves the app
with uvicorn **without an access log** (an access log names clients'
addresses; the public application records none). ``--check NUMBER`` prints the
verdict as JSON in-process, without opening a port. ``--redis URL`` (or
``QALQAN_PUBLIC_REDIS``) shares the rate limits, the spent challenges and the
counts with the other workers on that Redis (:mod:`qalqan.public.shared`); it
must answer at start.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qalqan.cli.cases import Db
from qalqan.cli.common import console, guarded
from qalqan.errors import ConfigError

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

    from qalqan.public.face import PublicFace, PublicSettings
    from qalqan.public.shared import SharedStore

__all__ = [
    "public_face",
    "public_reports_command",
    "serve_public_command",
    "shared_store",
    "uvicorn_config",
    "write_reports",
]

MIN_SECRET = 32


def _secret(path: Path | None) -> bytes | None:
    if path is None:
        return None
    secret = path.read_bytes().strip()
    if len(secret) < MIN_SECRET:
        raise ConfigError(f"{path}: a secret is at least {MIN_SECRET} bytes")
    return secret


def _tagger() -> Callable[[str], str | None]:
    from qalqan.content.schemes import cached_classifier

    classifier = cached_classifier()

    def scheme_of(text: str) -> str | None:
        return classifier.classify(text).scheme

    return scheme_of


def public_face(
    db: str,
    settings: PublicSettings,
    *,
    registry: Path | None = None,
    secret_file: Path | None = None,
    tag_schemes: bool = False,
    shared: SharedStore | None = None,
) -> PublicFace:
    """The public application's core over the store at ``db`` (what the command serves)."""
    from qalqan.cases.store import CaseStore
    from qalqan.public.face import PublicFace, load_registry

    return PublicFace(
        store=CaseStore.open(db),
        registry=load_registry(registry),
        settings=settings,
        secret=_secret(secret_file),
        tag_scheme=_tagger() if tag_schemes else None,
        shared=shared,
    )


def shared_store(url: str, timeout_ms: float) -> SharedStore:
    """The Redis the workers share, asked once: ConfigError when it does not answer."""
    from qalqan.public.shared import SharedStore, StoreDownError

    store = SharedStore(url, timeout_s=timeout_ms / 1000)
    try:
        store.ping()
    except StoreDownError:
        raise ConfigError(
            "the public face's Redis (--redis) cannot be reached; start it, or serve without "
            "--redis (one worker per public address)"
        ) from None
    return store


def uvicorn_config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    """How the public app is served: no access log (it would name clients' addresses)."""
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, server_header=False
    )


@guarded
def serve_public_command(
    db: Db,
    registry: Annotated[
        Path | None, typer.Option(help="The exchange-v1 registry file of protected numbers.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    region: Annotated[str, typer.Option(help="The operator's country (ISO 3166).")] = "KZ",
    secret_file: Annotated[
        Path | None,
        typer.Option(
            help="A file of 32 or more bytes signing challenges (default: random per start)."
        ),
    ] = None,
    pow_difficulty: Annotated[
        int, typer.Option(min=1, max=32, help="Bits of work a report costs.")
    ] = 16,
    check_rate: Annotated[
        float, typer.Option(min=0.001, help="Checks per second per client.")
    ] = 1.0,
    check_burst: Annotated[float, typer.Option(min=1, help="Checks a client may burst.")] = 30.0,
    report_rate: Annotated[
        float, typer.Option(min=0.0001, help="Reports per second per client.")
    ] = 1 / 60,
    report_burst: Annotated[float, typer.Option(min=1, help="Reports a client may burst.")] = 5.0,
    global_rate: Annotated[
        float, typer.Option(min=1, help="Checks per second, all clients.")
    ] = 500.0,
    global_burst: Annotated[
        float, typer.Option(min=1, help="Checks all clients may burst.")
    ] = 1000.0,
    tag_schemes: Annotated[
        bool, typer.Option("--tag-schemes", help="Tag reports' texts with their scam scheme.")
    ] = False,
    redis: Annotated[
        str | None,
        typer.Option(
            envvar="QALQAN_PUBLIC_REDIS",
            show_envvar=True,
            show_default=False,
            help="A Redis (redis://host:6379/0) the workers share rate limits, spent challenges "
            "and counts in; needs --secret-file. Default: each process keeps its own.",
        ),
    ] = None,
    redis_timeout_ms: Annotated[
        float,
        typer.Option(min=1, max=10_000, help="The longest a request waits for the Redis."),
    ] = 100.0,
    check: Annotated[
        str | None, typer.Option(help="Print the verdict on this number as JSON and exit.")
    ] = None,
) -> None:
    """Serve the public number check and citizens' reports (never together with the console)."""
    from qalqan.public import PublicSettings, create_app
    from qalqan.public.checks import parse_number

    settings = PublicSettings(
        home_region=region.upper(),
        check_rate=check_rate,
        check_burst=check_burst,
        report_rate=report_rate,
        report_burst=report_burst,
        global_rate=global_rate,
        global_burst=global_burst,
        pow_difficulty=pow_difficulty,
    )
    if redis and secret_file is None:
        raise ConfigError(
            "--redis needs --secret-file: the workers sharing a Redis must sign challenges and "
            "key clients with one secret"
        )
    shared = shared_store(redis, redis_timeout_ms) if redis else None
    face = public_face(
        db,
        settings,
        registry=registry,
        secret_file=secret_file,
        tag_schemes=tag_schemes,
        shared=shared,
    )
    if check is not None:
        verdict = face.check(parse_number(check, region=settings.home_region))
        typer.echo(json.dumps(verdict.as_data(), ensure_ascii=False, indent=2))
        return
    import uvicorn

    app = create_app(store=face.store, face=face)
    console.print(f"public number check at http://{host}:{port}/")
    uvicorn.Server(uvicorn_config(app, host, port)).run()


def write_reports(folder: Path, rows: list[dict[str, Any]]) -> Path:
    """Citizens' reports as the exchange-v1 ``reports`` table in ``folder`` (``reports.csv``)."""
    import pyarrow as pa

    from qalqan.exchange.schema import REPORTS
    from qalqan.exchange.types import canonical_schema
    from qalqan.exchange.writer import write_table

    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=canonical_schema(REPORTS))
    return write_table(folder, REPORTS, table)


@guarded
def public_reports_command(
    db: Db,
    out: Annotated[Path, typer.Option(help="Folder to write reports.csv into.")],
    since: Annotated[
        datetime | None, typer.Option(help="Only reports received from then on (ISO 8601, UTC).")
    ] = None,
) -> None:
    """Write citizens' reports from the public form as the exchange-v1 reports table."""
    from datetime import UTC

    from qalqan.cases.reports import report_rows
    from qalqan.cases.store import CaseStore

    store = CaseStore.open(db)
    try:
        with store.transaction() as session:
            rows = report_rows(
                session, since=None if since is None else since.replace(tzinfo=since.tzinfo or UTC)
            )
    finally:
        store.close()
    path = write_reports(out, rows)
    console.print(f"{len(rows):,} reports written to {path}")
