"""``qalqan serve`` (the SIP redirect server) and ``qalqan serve-http`` (the HTTP screening API).

Thin adapters over one :class:`~qalqan.screening.node.ScreeningNode`, built the
same way for both (:meth:`~qalqan.screening.node.ScreeningNode.build`: rules,
reference tables, reputation lists, STIR/SHAKEN) with the node's deadline and
fail-open policy from ``QALQAN_NODE_*`` (see ``docs/screening.md``). The SIP
face's settings come from ``--sip-config``, the HTTP face's from
``QALQAN_HTTP_*`` (see ``docs/api.md``) with the options given here on top; a
missing engine or rules file is reported before anything listens. ``serve
--metrics-port`` opens the node's ``/metrics`` beside the SIP listeners. ``--get PATH`` answers one GET in-process and
prints it, without opening a port: a quick check of ``/healthz`` or
``/metrics`` with the very settings and engine a server would use.

Heavy imports (uvicorn, the engine) happen inside the command, so that
``qalqan --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qalqan.cli.common import console, err_console, guarded

if TYPE_CHECKING:
    from collections.abc import Callable

    from qalqan.screening.cluster import ClusterSettings
    from qalqan.screening.node import ScreeningNode
    from qalqan.sip.config import SipConfig


NodeData = Annotated[
    Path | None,
    typer.Option(
        help="The operator's reference tables (subscribers, roaming, registry, cells; exchange-v1). "
        "Without them most spoofing and farm rules cannot fire. Contact between numbers is "
        "learned at start from its cdrs (answered calls and SMS of the last 30 days)."
    ),
]
"""What a screening node knows of the operator, the same for both faces."""
NodeCluster = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Redis URL of the cluster's event log (cluster.url, QALQAN_CLUSTER_URL): the node "
        "shares its rolling state with every node on the same stream (docs/cluster.md).",
    ),
]
NodeId = Annotated[
    str | None,
    typer.Option(
        "--node-id",
        help="This node's name in the cluster's event log (cluster.node_id; default hostname-pid).",
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        help="Worker processes sharing the ports, each with its own screening node "
        "(sip.workers; default 1). More than 1 needs --cluster, or --allow-split-state."
    ),
]
AllowSplitState = Annotated[
    bool,
    typer.Option(
        "--allow-split-state",
        help="With --workers N > 1 and no cluster: let each worker judge from its own "
        "rolling state, like N separate nodes.",
    ),
]
NodeLists = Annotated[
    list[Path] | None,
    typer.Option(
        "--lists",
        help="Reputation lists: a `qalqan analyze` output folder or a CSV; repeatable.",
    ),
]


@guarded
def serve_command(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on (sip.listen_host; default 127.0.0.1)."),
    ] = None,
    udp_port: Annotated[
        int | None,
        typer.Option(help="SIP over UDP (sip.udp_port; default 5060; 0 picks a free port)."),
    ] = None,
    tcp_port: Annotated[
        int | None,
        typer.Option(help="SIP over TCP (sip.tcp_port; default 5060; 0 picks a free port)."),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(help="Rules file of the screening engine (default: the shipped rules)."),
    ] = None,
    data: NodeData = None,
    lists: NodeLists = None,
    sip_config: Annotated[
        Path | None,
        typer.Option(
            "--sip-config",
            help="YAML of SIP settings (warning_uri, divert_uri, block_status, source_ingress, ...; "
            "see docs/integrations/kamailio/README.md); default: the sip table of the settings "
            "file QALQAN_CONFIG names. QALQAN_SIP_* variables and the options above win over it.",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Answer GET /metrics (Prometheus text) over HTTP on this port (sip.metrics_port; "
            "0 picks a free one); default: no metrics listener."
        ),
    ] = None,
    metrics_host: Annotated[
        str | None,
        typer.Option(help="Address of the metrics listener (sip.metrics_host; default 127.0.0.1)."),
    ] = None,
    cluster: NodeCluster = None,
    node_id: NodeId = None,
    decisions_log: Annotated[
        Path | None,
        typer.Option(
            help="Add each INVITE's decision to this CSV, in replay's decisions.csv columns "
            "(sip.decisions_log; size-capped by sip.decisions_log_max_bytes)."
        ),
    ] = None,
    workers: Workers = None,
    allow_split_state: AllowSplitState = False,
) -> None:
    """Serve the SIP redirect server: every INVITE answered 302 (allow, warn, divert) or 603/608 (block).

    The decision travels in X-Qalqan-Action, X-Qalqan-Score and X-Qalqan-Reasons. In a
    cluster (--cluster), the node catches up with the others once its listeners are open,
    answering fail-open meanwhile (/healthz says 503 until then), and says when it has.
    """
    import signal
    import threading

    from qalqan.screening.cluster import ClusterSettings
    from qalqan.sip.server import SipServerThread, settle_collector

    config = _sip_config(
        sip_config,
        host=host,
        udp_port=udp_port,
        tcp_port=tcp_port,
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        decisions_log=decisions_log,
        workers=workers,
    )
    shared = ClusterSettings.from_env(url=cluster, node_id=node_id)
    build = _node_builder(config, shared, rules=rules, data=data, lists=lists or [])
    if config.workers > 1:
        _serve_workers(config, build, clustered=shared.enabled, split=allow_split_state)
        return
    node = build(0)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    metrics_address = (
        None if config.metrics_port is None else (config.metrics_host, config.metrics_port)
    )
    with SipServerThread(config, node, metrics_address=metrics_address) as running:
        server = running.server
        shown_metrics = (
            f"; metrics on http://{config.metrics_host}:{server.metrics_port}/metrics"
            if server.metrics_port is not None
            else ""
        )
        console.print(
            f"Qalqan SIP redirect server on {config.listen_host}: UDP {server.udp_port}, "
            f"TCP {server.tcp_port}"
            f"{shown_metrics}{'' if data else ' (no reference tables: give --data)'}; "
            "Ctrl-C stops it",
            soft_wrap=True,
        )
        _join_cluster(node)
        settle_collector()  # what was loaded is frozen; the oldest generation is walked rarely
        stopped.wait()
    node.stop()
    snapshot = server.metrics.snapshot()
    console.print(f"stopped; decisions: {snapshot['decisions_by_action']}", soft_wrap=True)


def _node_builder(
    config: SipConfig,
    cluster: ClusterSettings,
    *,
    rules: Path | None,
    data: Path | None,
    lists: list[Path],
) -> Callable[[int], ScreeningNode]:
    """How the node of worker k is built (k = 0: the one node of a single process).

    In a cluster, each worker is a node of its own name, ``<node_id>-w<k>``.
    """
    import dataclasses
    import os
    import socket

    from qalqan.screening.node import NodeSettings, ScreeningNode

    def build(worker: int) -> ScreeningNode:
        shared = cluster
        if worker and shared.enabled:
            base = shared.node_id or f"{socket.gethostname()}-{os.getppid()}"
            shared = dataclasses.replace(shared, node_id=f"{base}-w{worker}")
        return ScreeningNode.build(
            NodeSettings.from_env(face=config),
            rules=rules,
            data=data,
            lists=lists,
            on_history=lambda learned: err_console.print(
                learned.summary(), soft_wrap=True, highlight=False
            ),
            cluster=shared,
        )

    return build


def _serve_workers(
    config: SipConfig, build: Callable[[int], ScreeningNode], *, clustered: bool, split: bool
) -> None:
    """``--workers N``: N worker processes on the same ports (:mod:`qalqan.sip.workers`)."""
    from qalqan.errors import ConfigError
    from qalqan.sip.workers import WorkerPool

    if not clustered and not split:
        raise ConfigError(
            f"--workers {config.workers}: each worker would judge from its own rolling state "
            "(calls per caller, per SIM, ...), seeing about 1/N of the calls, like "
            f"{config.workers} separate nodes; give --cluster URL to share the state, or "
            "--allow-split-state to accept that"
        )
    console.print(
        f"Qalqan SIP redirect server on {config.listen_host}: {config.workers} workers on "
        f"UDP {config.udp_port}, TCP {config.tcp_port} (SO_REUSEPORT)"
        f"{'' if clustered else ', each with its own state'}; Ctrl-C stops them",
        soft_wrap=True,
    )
    pool = WorkerPool(
        config,
        build,
        say=lambda text: err_console.print(text, soft_wrap=True, highlight=False),
        on_listening=_join_cluster,
    )
    pool.run()
    console.print("stopped: every worker", soft_wrap=True)


def _join_cluster(node: ScreeningNode) -> None:
    """Catch up with the cluster (nothing for a node alone), and say so."""
    if node.shared is None:
        return
    shared = node.shared
    console.print(f"node {shared.node_id}: catching up with the cluster's stream", soft_wrap=True)
    node.start()
    applied = int(shared.metrics.applied.get())
    console.print(
        f"node {shared.node_id}: caught up ({applied} events applied"
        f"{', from a snapshot on' if shared.metrics.snapshots.get(('loaded',)) else ''}); "
        "judging",
        soft_wrap=True,
    )


def _sip_config(path: Path | None, *, host: str | None, **given: Any) -> SipConfig:
    """The SIP settings: the YAML file's (else the settings file's ``sip`` table), then
    ``QALQAN_SIP_*``, then the listening and metrics options given (None: not given)."""
    from qalqan.sip.config import SipConfig

    return SipConfig.read(path, listen_host=host, **given)


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
    data: NodeData = None,
    lists: NodeLists = None,
    get: Annotated[
        str | None,
        typer.Option(
            "--get",
            help="Answer one GET for this path in-process, print it and exit (e.g. /healthz).",
        ),
    ] = None,
    cluster: NodeCluster = None,
    node_id: NodeId = None,
) -> None:
    """Serve the HTTP screening API: POST /v1/screen, /v1/screen/batch, /v1/outcome, /healthz, /metrics.

    Every setting is read from QALQAN_HTTP_* variables (docs/api.md); the options override them.
    """
    from qalqan.api.app import ScreeningApi
    from qalqan.api.config import ApiSettings
    from qalqan.api.engine import node_factory
    from qalqan.screening.cluster import ClusterSettings
    from qalqan.screening.node import NodeSettings

    settings = ApiSettings.from_env(host=host, port=port, rules=rules)
    factory = node_factory(
        NodeSettings.from_env(face=settings),
        rules=settings.rules,
        engine=settings.engine,
        data=data,
        lists=lists or [],
        on_history=lambda learned: err_console.print(
            learned.summary(), soft_wrap=True, highlight=False
        ),
        cluster=ClusterSettings.from_env(url=cluster, node_id=node_id),
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
