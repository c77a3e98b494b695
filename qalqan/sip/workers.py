"""Several SIP worker processes on one host: ``qalqan serve --workers N``.

One Python process answers calls on one core. To use the others, the parent
process starts N workers, each with its own event loop, its own
:class:`~qalqan.sip.server.SipServer` and its own
:class:`~qalqan.screening.node.ScreeningNode`, built the one way a node is built
(``ScreeningNode.build``, by the ``build`` function the command passes), and
only watches over them:

- **how calls are spread**: every worker binds the same UDP and TCP port with
  ``SO_REUSEPORT``, and the kernel hands each datagram and each new TCP
  connection to one worker by a hash of the sender's address and port. So a
  transaction stays with the worker that holds it (its retransmissions, its ACK
  and its CANCEL come from the same address and port), TCP connections and many
  SBCs spread evenly, and a single SBC sending everything from one UDP port
  lands on one worker: give it several source ports (or TCP) to use them all.
  Measured with sipp: ``-t un`` (a socket per call) spreads over the workers,
  ``-t u1`` (one socket) does not (``docs/benchmarks.md``).
- **state**: each worker's engine has its own rolling state, so N workers judge
  like N separate nodes, unless the cluster's shared state is on
  (``--cluster``): then every worker is a node of the cluster, named
  ``<node_id>-w<k>``. ``qalqan serve`` refuses N > 1 without a cluster unless the
  operator says ``--allow-split-state``.
- **metrics**: worker k (1..N) answers ``/metrics`` on ``metrics_port + k - 1``
  (each its own page: Prometheus adds them up); with ``metrics_port`` 0 each
  picks a free port and says which. A decisions log (``sip.decisions_log``) is
  written by each worker to its own file, ``FILE-w<k>`` (``decisions-w1.csv``).
- **a worker that dies** (killed, crashed) is started again by the parent, with a
  log line; one that dies within seconds of its start is started again after a
  pause that doubles, up to 30 s, so that a worker that cannot start does not
  spin. SIGTERM or SIGINT to the parent is passed on to every worker, which
  closes its listeners and stops; a worker still running 10 s later is killed.
  A worker whose parent dies (SIGKILL leaves no time to pass anything on) stops
  within a second: no worker outlives its parent to hold the port.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import cast

from qalqan.errors import ConfigError
from qalqan.screening.node import ScreeningNode
from qalqan.sip.config import SipConfig

__all__ = ["BuildNode", "WorkerPool", "serve_worker", "worker_config"]

logger = logging.getLogger(__name__)

#: Builds worker k's screening node (k counts from 1), in the worker's own process.
BuildNode = Callable[[int], ScreeningNode]

_QUICK_DEATH_S = 5.0
"""A worker that dies sooner than this after its start is started again only after a pause."""
_RESTART_PAUSE_S = (0.5, 30.0)
_STOP_GRACE_S = 10.0
_PARENT_CHECK_S = 1.0
"""How often a worker checks that its parent still runs; a worker whose parent died stops."""


def worker_config(config: SipConfig, index: int) -> SipConfig:
    """Worker ``index``'s settings (1..N): the same ports, its own metrics port and decisions
    log (``decisions-w2.csv`` beside ``decisions.csv``: each worker writes its own file)."""
    metrics_port = config.metrics_port
    if metrics_port:  # None: no listener; 0: each worker picks a free port
        metrics_port += index - 1
    log = config.decisions_log
    if log is not None:
        log = log.with_name(f"{log.stem}-w{index}{log.suffix}")
    return replace(config, workers=1, metrics_port=metrics_port, decisions_log=log)


def _free_port(host: str, kind: socket.SocketKind) -> int:
    """A port free for ``kind`` on ``host`` now, for workers that were asked for port 0."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _fixed_ports(config: SipConfig) -> SipConfig:
    """Port 0 means one free port for all the workers, chosen here, not one for each."""
    udp, tcp = config.udp_port, config.tcp_port
    if udp == 0:
        udp = _free_port(config.listen_host, socket.SOCK_DGRAM)
    if tcp == 0:
        tcp = _free_port(config.listen_host, socket.SOCK_STREAM)
    return replace(config, udp_port=udp, tcp_port=tcp)


def serve_worker(
    index: int,
    config: SipConfig,
    build: BuildNode,
    *,
    say: Callable[[str], None],
    on_listening: Callable[[ScreeningNode], None] = lambda node: None,
) -> None:
    """Run worker ``index`` until SIGTERM or SIGINT: build its node, listen, answer.

    Runs in the worker's own process (the parent forks it). ``on_listening`` is
    called once the listeners are open (the command joins the cluster there).
    """
    from qalqan.sip.server import SipServerThread, settle_collector

    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    node = build(index)
    metrics_address = (
        None if config.metrics_port is None else (config.metrics_host, config.metrics_port)
    )
    with SipServerThread(config, node, metrics_address=metrics_address, reuse_port=True) as running:
        server = running.server
        shown_metrics = (
            "" if server.metrics_port is None else f", metrics port {server.metrics_port}"
        )
        say(
            f"worker {index} (pid {os.getpid()}) listening: UDP {server.udp_port}, "
            f"TCP {server.tcp_port}{shown_metrics}"
        )
        on_listening(node)
        settle_collector()
        parent = os.getppid()
        while not stopped.wait(_PARENT_CHECK_S):
            if os.getppid() != parent:  # the parent is gone (killed): no one would stop us
                say(f"worker {index} (pid {os.getpid()}): the parent is gone; stopping")
                break
    node.stop()


@dataclass
class _Worker:
    index: int
    process: BaseProcess
    started: float
    pause_s: float = 0.0


class WorkerPool:
    """N worker processes on one host, started, watched and stopped by this (parent) process.

    >>> pool = WorkerPool(SipConfig(udp_port=0, tcp_port=None, workers=2), build=lambda k: ...)
    >>> pool.workers
    2
    """

    def __init__(
        self,
        config: SipConfig,
        build: BuildNode,
        *,
        say: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
        on_listening: Callable[[ScreeningNode], None] = lambda node: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if config.workers < 1:
            raise ConfigError(f"sip.workers {config.workers} is not 1..64")
        self.config = config
        self.workers = config.workers
        self.build = build
        self.say = say
        self.on_listening = on_listening
        self.clock = clock
        self._context = multiprocessing.get_context("fork")
        self._running: dict[int, _Worker] = {}
        self._stop = threading.Event()

    @property
    def pids(self) -> dict[int, int | None]:
        """Worker index → process id, of the workers started."""
        return {k: w.process.pid for k, w in self._running.items()}

    def run(self) -> None:
        """Start the workers and watch them until SIGTERM or SIGINT; then stop them all."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self.config = _fixed_ports(self.config)
            for index in range(1, self.workers + 1):
                self._start(index)
            while not self._stop.is_set():
                self._watch()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        """Ask :meth:`run` to stop the workers and return (from any thread)."""
        self._stop.set()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    def _start(self, index: int, pause_s: float = 0.0) -> None:
        config = worker_config(self.config, index)
        process = self._context.Process(
            target=serve_worker,
            args=(index, config, self.build),
            kwargs={"say": self.say, "on_listening": self.on_listening},
            name=f"qalqan-sip-worker-{index}",
            daemon=False,
        )
        process.start()
        self._running[index] = _Worker(index, process, self.clock(), pause_s)

    def _watch(self) -> None:
        """Wait a moment for a worker to end; start again any that ended."""
        sentinels = {w.process.sentinel: w for w in self._running.values()}
        for ended in wait(list(sentinels), timeout=0.2):
            if self._stop.is_set():
                return
            worker = sentinels[cast(int, ended)]
            worker.process.join()
            lived = self.clock() - worker.started
            pause = 0.0
            if lived < _QUICK_DEATH_S:
                pause = min(max(worker.pause_s * 2, _RESTART_PAUSE_S[0]), _RESTART_PAUSE_S[1])
            message = (
                f"worker {worker.index} (pid {worker.process.pid}) ended with exit code "
                f"{worker.process.exitcode} after {lived:.1f} s; starting it again"
                + (f" in {pause:g} s" if pause else "")
            )
            logger.warning(message)
            self.say(message)
            if pause and self._stop.wait(pause):
                return
            self._start(worker.index, pause)

    def _stop_all(self) -> None:
        for worker in self._running.values():
            if worker.process.is_alive() and worker.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.process.pid, signal.SIGTERM)
        deadline = self.clock() + _STOP_GRACE_S
        for worker in self._running.values():
            worker.process.join(max(0.0, deadline - self.clock()))
            if worker.process.is_alive():
                self.say(f"worker {worker.index} (pid {worker.process.pid}) did not stop; killed")
                worker.process.kill()
                worker.process.join(5.0)
        self._running.clear()
