"""``qalqan serve`` (the SIP redirect server) and ``qalqan serve-http`` (the HTTP screening API).

A thin adapter: settings come from ``QALQAN_HTTP_*`` (see ``docs/api.md``)
with the options given here on top, the engine from
:func:`~qalqan.api.engine.engine_factory` (a missing engine or rules file is
reported before anything listens), and the serving from
:mod:`qalqan.api.server`. ``--get PATH`` answers one GET in-process and
prints it, without opening a port: a quick check of ``/healthz`` or
``/metrics`` with the very settings and engine a server would use.

Heavy imports (uvicorn, the engine) happen inside the command, so that
``qalqan --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qalqan.cli.common import console, err_console, guarded


@guarded
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    udp_port: Annotated[int, typer.Option(help="SIP over UDP (0 picks a free port).")] = 5060,
    tcp_port: Annotated[int, typer.Option(help="SIP over TCP (0 picks a free port).")] = 5060,
    rules: Annotated[
        Path | None,
        typer.Option(help="Rules file of the screening engine (default: the shipped rules)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="The operator's reference tables (subscribers, roaming, registry, cells; exchange-v1). "
            "Without them most spoofing and farm rules cannot fire. Contact between numbers is "
            "learned at start from its cdrs (answered calls and SMS of the last 30 days)."
        ),
    ] = None,
    lists: Annotated[
        list[Path] | None,
        typer.Option(
            "--lists",
            help="Reputation lists: a `qalqan analyze` output folder or a CSV; repeatable.",
        ),
    ] = None,
    sip_config: Annotated[
        Path | None,
        typer.Option(
            "--sip-config",
            help="YAML of SIP settings (warning_uri, divert_uri, block_status, source_ingress, ...; "
            "see docs/integrations/kamailio/README.md).",
        ),
    ] = None,
) -> None:
    """Serve the SIP redirect server: every INVITE answered 302 (allow, warn, divert) or 603/608 (block).

    The decision travels in X-Qalqan-Action, X-Qalqan-Score and X-Qalqan-Reasons.
    """
    import gc
    import signal
    import threading

    import yaml

    from qalqan.cli.screening import _lists
    from qalqan.errors import ConfigError
    from qalqan.screening.config import load_config
    from qalqan.screening.engine import ScreeningEngine
    from qalqan.screening.stir import StirSettings
    from qalqan.sip.config import SipConfig
    from qalqan.sip.server import SipServerThread

    settings: dict[str, object] = {}
    if sip_config is not None:
        try:
            loaded = yaml.safe_load(sip_config.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{sip_config}: cannot read SIP settings: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{sip_config}: SIP settings are a mapping of names to values")
        settings.update(loaded)
    settings.update({"listen_host": host, "udp_port": udp_port, "tcp_port": tcp_port})
    config = SipConfig.from_mapping(settings)
    known = _lists(lists or [])
    verifier = StirSettings.from_env().verifier()
    engine = (
        ScreeningEngine.from_dataset(data, load_config(rules), lists=known, verifier=verifier)
        if data is not None
        else ScreeningEngine(load_config(rules), lists=known, verifier=verifier)
    )
    if data is not None:
        # A redirect server never sees a call end: contact comes from the operator's records.
        from qalqan.screening.history import learn_contacts

        err_console.print(learn_contacts(engine, data).summary(), soft_wrap=True, highlight=False)
    gc.freeze()  # what was loaded stays; the collector need not walk it on every call
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    with SipServerThread(config, engine.screen) as node:
        console.print(
            f"Qalqan SIP redirect server on {host}: UDP {node.server.udp_port}, TCP {node.server.tcp_port}"
            f"{'' if data else ' (no reference tables: give --data)'}; Ctrl-C stops it",
            soft_wrap=True,
        )
        stopped.wait()
    snapshot = node.server.metrics.snapshot()
    console.print(f"stopped; decisions: {snapshot['decisions_by_action']}", soft_wrap=True)


__all__ = ["serve_command", "serve_http_command"]


@guarded
def serve_http_command(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on (env QALQAN_HTTP_HOST; default 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="TCP port (env QALQAN_HTTP_PORT; default 8080; 0 picks a free one)."),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(help="Rules file for the screening engine (env QALQAN_HTTP_RULES)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="The operator's reference tables (subscribers, roaming, registry, cells); "
            "contact between numbers is learned at start from its cdrs."
        ),
    ] = None,
    get: Annotated[
        str | None,
        typer.Option(
            "--get",
            help="Answer one GET for this path in-process, print it and exit (e.g. /healthz).",
        ),
    ] = None,
) -> None:
    """Serve the HTTP screening API: POST /v1/screen, /v1/screen/batch, /v1/outcome, /healthz, /metrics.

    Every setting is read from QALQAN_HTTP_* variables (docs/api.md); the options override them.
    """
    from qalqan.api.app import ScreeningApi
    from qalqan.api.config import ApiSettings
    from qalqan.api.engine import engine_factory

    settings = ApiSettings.from_env(host=host, port=port, rules=rules)
    factory = engine_factory(
        settings.rules,
        engine=settings.engine,
        data=data,
        on_history=lambda learned: err_console.print(
            learned.summary(), soft_wrap=True, highlight=False
        ),
    )
    api = ScreeningApi(engine=factory, settings=settings)
    if get is not None:
        response = api.handle("GET", get)
        typer.echo(response.body.decode(), nl=not response.body.endswith(b"\n"))
        if response.status >= 400:
            raise typer.Exit(1)
        return

    from qalqan.api.server import bind, serve

    sock = bind(settings.host, settings.port)
    bound = sock.getsockname()[1]
    shown = ", ".join(f"{k}={v}" for k, v in settings.shown().items() if k != "QALQAN_HTTP_PORT")
    err_console.print(f"settings: {shown}", soft_wrap=True, highlight=False)
    console.print(
        f"Qalqan HTTP screening API on http://{settings.host}:{bound} "
        "(POST /v1/screen, /v1/screen/batch, /v1/outcome, /v1/outcome/batch; GET /healthz, "
        "/metrics); Ctrl-C stops it",
        soft_wrap=True,
    )
    serve(api, sock=sock)
