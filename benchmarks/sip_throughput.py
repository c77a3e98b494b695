"""How many call attempts per second the SIP screening node answers within 10 ms, next to Kamailio.

    .venv/bin/python benchmarks/sip_throughput.py                 # the full engine, one worker
    .venv/bin/python benchmarks/sip_throughput.py --workers 2 --cluster redis://127.0.0.1:6379/0
    .venv/bin/python benchmarks/sip_throughput.py --engine trivial --skip-kamailio
    # needs sipp and kamailio (apt: sip-tester kamailio)

sipp plays the SBC on 127.0.0.1: each call is an INVITE, the 302 (or 603/608) it
waits for (the response time measured, per call, with ``-trace_rtt``) and the
ACK. The rate climbs (×1.5 a step, then bisection) until a step fails; a step
passes when every call got its answer, sipp really reached the rate (≥ 95 %)
and the 99th percentile of response times is at most ``--p99-ms``. The same
search is run against Qalqan and against Kamailio answering with a plain
stateless ``sl_send_reply("302")`` — the fastest thing an SBC could talk to —
in the same run, and the ratio printed. Load stays on loopback and is bounded
by ``--max-rate`` and ``--seconds``.

``--engine full`` (the default) serves the real engine with ``qalqan serve
--data``, as an operator runs it, on a data set (``--data``, else a simulated
operator made for the run), and sipp plays that data set's own call attempts
(``qalqan.sip.feed``: the callee in the Request-URI, the caller in
P-Asserted-Identity, the ingress as a trunk group, the time, the cell, the
IMEI): every call is judged by every rule. ``--workers N`` runs ``qalqan serve
--workers N``, with the cluster's shared state when ``--cluster URL`` is given
(a stream of its own for the run), else each worker with its own state.
``--engine trivial`` measures the SIP path alone (a ``decide`` that allows
everything, in this process), the figure of earlier runs.

sipp's transport mode decides how the workers share the load: ``-t u1`` (one
socket) sends everything from one port, which SO_REUSEPORT hands to one
worker; ``-t un`` (a socket per call, the default with several workers)
spreads the calls. sipp itself needs CPU on the same 2 cores; each step prints
the share of a core it used.

What the two do differs, and the figures should be read with that in mind:
Qalqan parses every message, keeps an RFC 3261 transaction per INVITE (for
retransmissions and Timer G), builds a CallAttempt, runs the engine and writes
the decision headers; Kamailio sends a canned reply from C without transaction
state.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from qalqan.domain.model import Action, CallAttempt, Decision
from qalqan.sip.config import SipConfig
from qalqan.sip.feed import write_feed
from qalqan.sip.metrics import LatencyHistogram, SipMetrics
from qalqan.sip.server import SipServerThread

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "sip" / "invite_redirect.xml"
KAMAILIO_CFG = HERE / "sip" / "kamailio_redirect.cfg"
DIALLED = "+77015550001"


@dataclass(frozen=True)
class Step:
    rate: int
    calls: int
    completed: int
    achieved_rate: float
    p50_ms: float
    p99_ms: float
    failed: int
    sipp_ok: bool
    server_p99_ms: float | None = None
    """Qalqan's own view: arrival of the INVITE to its answer leaving (histogram bucket bound)."""
    sipp_cores: float = 0.0
    """CPU sipp used over the step, in cores (user + system seconds per second)."""

    def passed(self, p99_limit_ms: float) -> bool:
        return (
            self.sipp_ok
            and self.failed == 0
            and self.completed >= self.calls
            and self.achieved_rate >= 0.95 * self.rate
            and self.p99_ms <= p99_limit_ms
        )

    def line(self, p99_limit_ms: float) -> str:
        verdict = "ok" if self.passed(p99_limit_ms) else "FAIL"
        return (
            f"  {self.rate:>6} calls/s asked  {self.achieved_rate:>8.0f} reached  "
            f"p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:7.2f} ms  "
            f"{self.completed}/{self.calls} answered  {verdict}  (sipp {self.sipp_cores:.2f} cores)"
            + (
                ""
                if self.server_p99_ms is None
                else f"  (server side p99 ≤ {self.server_p99_ms:g} ms)"
            )
        )


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("inf")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Load:
    """What sipp plays: a scenario, its injection file (None: the fixed DIALLED number), a transport."""

    scenario: Path
    feed: Path | None = None
    transport: str = "u1"


def run_step(sipp: str, port: int, rate: int, seconds: float, workdir: Path, load: Load) -> Step:
    """Drive ``rate`` calls per second for ``seconds`` and read back every response time."""
    calls = max(1, int(rate * seconds))
    for old in workdir.glob("*_rtt.csv"):
        old.unlink()
    played = ["-inf", str(load.feed)] if load.feed is not None else ["-s", DIALLED]
    command = [
        sipp, f"127.0.0.1:{port}",
        "-sf", str(load.scenario),
        *played,
        "-t", load.transport,
        "-max_socket", "4096",  # -t un opens a socket per open call; under the file limit
        "-i", "127.0.0.1",
        "-r", str(rate),
        "-m", str(calls),
        "-l", str(max(100, rate)),  # at most a second's worth of calls open at once
        "-nostdin",
        "-timeout", f"{int(seconds) + 20}s",
        "-trace_rtt", "-rtt_freq", "1",
        "-timer_resol", "1",  # sipp's clock otherwise ticks in 4-10 ms steps
        "-buff_size", str(4 << 20),
    ]  # fmt: skip
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.run(
        command, check=False, cwd=workdir, capture_output=True, text=True, timeout=seconds + 60
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sipp_cpu = (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)
    times: list[float] = []
    stamps: list[float] = []
    for path in workdir.glob("*_rtt.csv"):
        for row in path.read_text().splitlines()[1:]:
            parts = row.split(";")
            if len(parts) >= 2:
                stamps.append(float(parts[0]))
                times.append(float(parts[1]))
    span_s = (max(stamps) - min(stamps)) / 1000.0 if len(stamps) > 1 else seconds
    achieved = len(times) / span_s if span_s > 0 else 0.0
    return Step(
        rate=rate,
        calls=calls,
        completed=len(times),
        achieved_rate=achieved,
        p50_ms=percentile(times, 0.50),
        p99_ms=percentile(times, 0.99),
        failed=calls - len(times),
        sipp_ok=process.returncode == 0,
        sipp_cores=sipp_cpu / wall if wall > 0 else 0.0,
    )


def search(
    name: str,
    measure: Callable[[int], Step],
    *,
    start: int,
    max_rate: int,
    p99_ms: float,
    refinements: int,
    tries: int,
) -> tuple[int, list[Step]]:
    """The highest rate that passes: climb ×1.5 until a failure, then bisect.

    A failed step is run again, up to ``tries`` times in all, before it counts as
    failed: on a shared machine one unlucky scheduling burst should not decide.
    """
    print(f"{name}:")
    steps: list[Step] = []

    def attempt(rate: int) -> Step:
        for _ in range(max(1, tries)):
            step = measure(rate)
            steps.append(step)
            print(step.line(p99_ms), flush=True)
            if step.passed(p99_ms):
                break
        return step

    best = 0
    rate = start
    failed_at: int | None = None
    while rate <= max_rate:
        step = attempt(rate)
        if not step.passed(p99_ms):
            failed_at = rate
            break
        best = rate
        rate = int(rate * 1.5)
    if failed_at is not None:
        low, high = best, failed_at
        for _ in range(refinements):
            if high - low <= max(50, low // 20):
                break
            middle = (low + high) // 2
            if attempt(middle).passed(p99_ms):
                low = middle
            else:
                high = middle
        best = low
    return best, steps


def trivial_decide(attempt: CallAttempt) -> Decision:
    return Decision(action=Action.ALLOW, score=0.0)


@contextmanager
def qalqan_node() -> Iterator[tuple[int, SipMetrics]]:
    config = SipConfig(
        listen_host="127.0.0.1", udp_port=0, tcp_port=None, queue_size=4096, deadline_ms=1000
    )
    with SipServerThread(config, trivial_decide) as node:
        yield node.server.udp_port or 0, node.server.metrics


def prepare_feed(data: Path | None, workdir: Path) -> tuple[Path, Load]:
    """The data set (simulated when none is given) and sipp's load: its own call attempts."""
    if data is None:
        data = workdir / "operator"
        subprocess.run(
            [sys.executable, "-m", "qalqan.cli.main", "simulate", str(data), "-n", "5000",
             "-d", "2", "--seed", "1"],
            check=True, capture_output=True,
        )  # fmt: skip
    summary = write_feed(data, workdir / "feed")
    assert summary.scenario is not None and summary.attempts_csv is not None
    # The response time is measured from the INVITE to its final answer, whichever it is.
    text = summary.scenario.read_text(encoding="utf-8")
    text = re.sub(r'<recv response="([2-6][0-9][0-9])"', r'<recv response="\1" rtd="true"', text)
    summary.scenario.write_text(text, encoding="utf-8")
    print(f"data set {data}: {summary.attempts} call attempts in the feed")
    return data, Load(scenario=summary.scenario, feed=summary.attempts_csv)


@contextmanager
def qalqan_serve(
    data: Path, sip_config: Path, workdir: Path, *, workers: int, cluster: str | None
) -> Iterator[int]:
    """``qalqan serve`` with the full engine on ``data``, as an operator starts it; yields the UDP port."""
    port = free_udp_port()
    metrics = free_metrics_ports(workers)
    command = [
        sys.executable, "-m", "qalqan.cli.main", "serve", "--data", str(data),
        "--sip-config", str(sip_config), "--udp-port", str(port), "--tcp-port", str(port),
        "--workers", str(workers), "--metrics-port", str(metrics),
    ]  # fmt: skip
    env = {**os.environ, "COLUMNS": "400", "QALQAN_SIP_QUEUE_SIZE": "4096"}
    if cluster:
        command += ["--cluster", cluster]
        env["QALQAN_CLUSTER_STREAM"] = f"qalqan:bench-sip:{os.getpid()}:{time.time_ns()}"
    elif workers > 1:
        command.append("--allow-split-state")
    log_path = workdir / "qalqan-serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            _wait_until_ready(process, log_path, workers=workers, clustered=bool(cluster))
            yield port
            print_decisions(range(metrics, metrics + workers))
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)


def free_metrics_ports(count: int) -> int:
    """The first of ``count`` consecutive free TCP ports (worker k answers /metrics on first + k - 1)."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = int(probe.getsockname()[1])
        if first + count <= 65535 and all(_tcp_free(p) for p in range(first, first + count)):
            return first
    raise RuntimeError("no free run of ports for the workers' /metrics")


def _tcp_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def print_decisions(ports: range) -> None:
    """What the node answered over the run, from its workers' /metrics: judged or failed open."""
    totals: dict[str, float] = {}
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
            text = page.read().decode()
        for family, label, value in re.findall(
            r'^qalqan_node_(decisions|fail_open)_total\{\w+="([^"]+)"\} (\S+)$', text, re.M
        ):
            key = f"{family} {label}"
            totals[key] = totals.get(key, 0.0) + float(value)
    print("  answers over the run: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(totals.items())))


def _wait_until_ready(
    process: subprocess.Popen[bytes], log: Path, *, workers: int, clustered: bool
) -> None:
    """Until every worker listens (and, in a cluster, has caught up): the node's own lines."""
    listening = r"worker \d+ \(pid \d+\) listening" if workers > 1 else r"redirect server on"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        ready = len(re.findall(listening, text)) >= (workers if workers > 1 else 1)
        if ready and clustered:
            ready = len(re.findall(r"caught up", text)) >= workers
        if ready:
            time.sleep(1.0)
            return
        if process.poll() is not None:
            raise RuntimeError(f"qalqan serve exited at start:\n{text}")
        time.sleep(0.5)
    raise RuntimeError(f"qalqan serve was not ready within 300 s; see {log}")


def with_server_view(metrics: SipMetrics, measure: Callable[[int], Step]) -> Callable[[int], Step]:
    """Add Qalqan's own response-latency p99 over the step to what sipp measured."""

    def measured(rate: int) -> Step:
        before = list(metrics.response_latency.counts)
        step = measure(rate)
        delta = LatencyHistogram()
        delta.counts = [a - b for a, b in zip(metrics.response_latency.counts, before, strict=True)]
        delta.total = sum(delta.counts)
        return replace(step, server_p99_ms=delta.quantile_bound_ms(0.99))

    return measured


@contextmanager
def kamailio_node(binary: str, workdir: Path, children: int) -> Iterator[int]:
    port = free_udp_port()
    command = [
        binary, "-f", str(KAMAILIO_CFG), "-DD", "-E",
        "-l", f"udp:127.0.0.1:{port}", "-Y", str(workdir),
        "-m", "64", "-M", "8", "-A", f"CHILDREN={children}",
    ]  # fmt: skip
    with (workdir / "kamailio.log").open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            time.sleep(1.0)
            if process.poll() is not None:
                raise RuntimeError(f"kamailio exited at start; see {workdir / 'kamailio.log'}")
            yield port
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each step")
    parser.add_argument("--start-rate", type=int, default=250)
    parser.add_argument("--max-rate", type=int, default=30000, help="never drive more than this")
    parser.add_argument("--p99-ms", type=float, default=10.0)
    parser.add_argument(
        "--refinements", type=int, default=3, help="bisection steps after the first failure"
    )
    parser.add_argument(
        "--tries", type=int, default=2, help="runs of a step before it counts as failed"
    )
    parser.add_argument(
        "--engine", choices=("full", "trivial"), default="full",
        help="full: qalqan serve --data with the real engine, fed the data set's own calls; "
        "trivial: a decide that allows everything, in this process (the SIP path alone)",
    )  # fmt: skip
    parser.add_argument(
        "--data", type=Path, help="data set of the full engine (default: simulated)"
    )
    parser.add_argument("--workers", type=int, default=1, help="qalqan serve --workers N")
    parser.add_argument(
        "--cluster", help="Redis URL of the cluster's shared state for several workers "
        "(default: each worker its own state)",
    )  # fmt: skip
    parser.add_argument(
        "--transport", choices=("u1", "un"),
        help="sipp's UDP mode: u1 one socket, un a socket per call (default: un with several "
        "workers, else u1); Kamailio is driven the same way",
    )  # fmt: skip
    parser.add_argument("--kamailio-children", type=int, default=1, help="Kamailio's UDP workers")
    parser.add_argument("--skip-kamailio", action="store_true")
    args = parser.parse_args(argv)

    sipp = shutil.which("sipp")
    kamailio = shutil.which("kamailio") or (
        "/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None
    )
    if sipp is None or (kamailio is None and not args.skip_kamailio):
        print("needs sipp and kamailio: apt-get install sip-tester kamailio", file=sys.stderr)
        return 2
    if args.engine == "trivial" and args.workers > 1:
        print("--engine trivial runs in this process: one worker only", file=sys.stderr)
        return 2
    transport = args.transport or ("un" if args.workers > 1 else "u1")
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; steps of {args.seconds:g} s; "
        f"pass = all answered, rate reached, p99 ≤ {args.p99_ms:g} ms (sipp times in its clock ticks); "
        f"sipp -t {transport}"
    )
    options = {
        "start": args.start_rate,
        "max_rate": args.max_rate,
        "p99_ms": args.p99_ms,
        "refinements": args.refinements,
        "tries": args.tries,
    }
    with tempfile.TemporaryDirectory(prefix="qalqan-sip-bench-") as tmp:
        workdir = Path(tmp)
        if args.engine == "trivial":
            load = Load(scenario=SCENARIO, transport=transport)
            with qalqan_node() as (port, metrics):
                qalqan, _ = search(
                    "Qalqan SIP server (one process, trivial decide)",
                    with_server_view(
                        metrics,
                        lambda rate: run_step(sipp, port, rate, args.seconds, workdir, load),
                    ),
                    **options,
                )
        else:
            data, load = prepare_feed(args.data, workdir)
            load = replace(load, transport=transport)
            assert load.feed is not None
            state = "shared state " + args.cluster if args.cluster else "each its own state"
            with qalqan_serve(
                data, load.feed.parent / "sip.yaml", workdir, workers=args.workers,
                cluster=args.cluster,
            ) as port:  # fmt: skip
                qalqan, _ = search(
                    f"Qalqan qalqan serve, full engine, {args.workers} worker(s), {state}",
                    lambda rate: run_step(sipp, port, rate, args.seconds, workdir, load),
                    **options,
                )
        kamailio_best = 0
        if not args.skip_kamailio and kamailio is not None:
            with kamailio_node(kamailio, workdir, args.kamailio_children) as port:
                kamailio_best, _ = search(
                    f"Kamailio sl_send_reply 302 ({args.kamailio_children} UDP worker(s))",
                    lambda rate: run_step(sipp, port, rate, args.seconds, workdir, load),
                    **options,
                )
    print()
    print(f"Qalqan:   {qalqan} calls/s with p99 ≤ {args.p99_ms:g} ms")
    if kamailio_best:
        print(f"Kamailio: {kamailio_best} calls/s with p99 ≤ {args.p99_ms:g} ms")
        print(f"Qalqan/Kamailio: {qalqan / kamailio_best:.2f}")
    if kamailio_best >= args.max_rate or qalqan >= args.max_rate:
        print(f"(a figure at --max-rate {args.max_rate} is a floor: the search stopped there)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
