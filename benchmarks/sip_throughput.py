"""How many call attempts per second the SIP screening node answers within 10 ms, next to Kamailio.

    .venv/bin/python benchmarks/sip_throughput.py            # needs sipp and kamailio (apt: sip-tester kamailio)

sipp plays the SBC on 127.0.0.1: each call is an INVITE, the 302 it waits for
(the response time measured, per call, with ``-trace_rtt``) and the ACK. The
rate climbs (×1.5 a step, then bisection) until a step fails; a step passes
when every call got its 302, sipp really reached the rate (≥ 95 %) and the
99th percentile of response times is at most ``--p99-ms``. The same search is
run against Qalqan's SIP server (a trivial ``decide``, so the SIP path itself
is measured) and against Kamailio answering with a plain stateless
``sl_send_reply("302")`` — the fastest thing an SBC could talk to. Load stays
on loopback and is bounded by ``--max-rate`` and ``--seconds``.

What the two do differs, and the figures should be read with that in mind:
Qalqan parses every message fully, keeps an RFC 3261 transaction per INVITE
(for retransmissions and Timer G), builds a CallAttempt, calls ``decide`` and
writes the decision headers, in one Python process; Kamailio sends a canned
reply from C without transaction state.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from qalqan.domain.model import Action, CallAttempt, Decision
from qalqan.sip.config import SipConfig
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
            f"{self.completed}/{self.calls} answered  {verdict}"
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


def run_step(sipp: str, port: int, rate: int, seconds: float, workdir: Path) -> Step:
    """Drive ``rate`` calls per second for ``seconds`` and read back every response time."""
    calls = max(1, int(rate * seconds))
    for old in workdir.glob("*_rtt.csv"):
        old.unlink()
    command = [
        sipp, f"127.0.0.1:{port}",
        "-sf", str(SCENARIO),
        "-s", DIALLED,
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
    process = subprocess.run(
        command, check=False, cwd=workdir, capture_output=True, text=True, timeout=seconds + 60
    )
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
        "--kamailio-children", type=int, default=1, help="UDP workers (Qalqan uses one process)"
    )
    parser.add_argument("--skip-kamailio", action="store_true")
    args = parser.parse_args(argv)

    sipp = shutil.which("sipp")
    kamailio = shutil.which("kamailio") or (
        "/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None
    )
    if sipp is None or (kamailio is None and not args.skip_kamailio):
        print("needs sipp and kamailio: apt-get install sip-tester kamailio", file=sys.stderr)
        return 2
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; steps of {args.seconds:g} s; "
        f"pass = all answered, rate reached, p99 ≤ {args.p99_ms:g} ms (sipp times in its clock ticks)"
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
        with qalqan_node() as (port, metrics):
            qalqan, _ = search(
                "Qalqan SIP server (Python, one process, trivial decide)",
                with_server_view(
                    metrics, lambda rate: run_step(sipp, port, rate, args.seconds, workdir)
                ),
                **options,
            )
        kamailio_best = 0
        if not args.skip_kamailio and kamailio is not None:
            with kamailio_node(kamailio, workdir, args.kamailio_children) as port:
                kamailio_best, _ = search(
                    f"Kamailio sl_send_reply 302 ({args.kamailio_children} UDP worker(s))",
                    lambda rate: run_step(sipp, port, rate, args.seconds, workdir),
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
