"""How many call attempts per second a cluster of 1, 2 and 3 Qalqan nodes behind Kamailio answers within 10 ms.

    .venv/bin/python benchmarks/cluster_throughput.py        # needs sipp, kamailio and redis-server

Everything runs on this machine, on loopback (:mod:`tests.cluster.harness`):
sipp plays a simulated operator's call attempts (:mod:`qalqan.sip.feed`, looped)
to Kamailio running ``docs/integrations/kamailio/kamailio.cfg`` with
``WITH_DISPATCHER``; Kamailio sends each INVITE to one of N ``qalqan serve``
processes (the shipped rules, the operator's reference tables, the state shared
through a Redis of its own with ``--cluster``), follows the redirect to a sipp
callee that answers 480, or relays a block's 603. Each call's time is sipp's,
from the INVITE to that final answer, so it holds Kamailio's two hops and the
callee's answer as well as the node.

sipp's steps and the rate search are ``benchmarks/sip_throughput.py``'s
(``prepare_feed``, ``run_step``, ``search``: climb ×1.5 until a step fails, then
bisect; a step passes when every call was answered, sipp reached the rate and
the 99th percentile is within ``--p99-ms``). The nodes date each
call by their own clock, as live (``client_time_skew_s: 0``): the data set's
day is replayed in seconds, bursts and all.

On a machine with few cores, sipp (two processes), Kamailio and every node share
them: more nodes add processes, not cores, and the figures say what that costs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.sip_throughput import Load, Step, prepare_feed, run_step, search
from qalqan.screening.cluster import ClusterSettings
from qalqan.simulator.config import Scenario
from qalqan.simulator.operator import simulate
from tests.cluster.harness import Cluster, binary

__all__ = ["main"]


def _operator(workdir: Path, subscribers: int) -> tuple[Path, Load, dict[str, object]]:
    """The simulated operator's reference tables (an empty ``cdrs``: no contact learned at
    start), sipp's load (its call attempts, timed to their final answers) and the nodes'
    SIP settings."""
    import shutil

    import yaml

    data = simulate(workdir / "operator", Scenario(subscribers=subscribers, days=1, seed=3)).out_dir
    _, load = prepare_feed(data, workdir)
    reference = workdir / "reference"
    reference.mkdir()
    for name in ("cells", "subscribers", "roaming", "registry"):
        shutil.copy(data / f"{name}.csv", reference / f"{name}.csv")
    with (data / "cdrs.csv").open(encoding="utf-8") as handle:
        (reference / "cdrs.csv").write_text(handle.readline(), encoding="utf-8")
    settings = yaml.safe_load((workdir / "feed" / "sip.yaml").read_text(encoding="utf-8"))
    settings["client_time_skew_s"] = 0.0  # live: the node's own clock dates every call
    return reference, load, settings


def _measure(
    size: int,
    args: argparse.Namespace,
    workdir: Path,
    operator: tuple[Path, Load, dict[str, object]],
) -> tuple[int, Step | None]:
    reference, load, settings = operator
    sipp = binary("sipp")
    assert sipp is not None
    options = {
        "start": args.start_rate,
        "max_rate": args.max_rate,
        "p99_ms": args.p99_ms,
        "refinements": args.refinements,
        "tries": args.tries,
    }
    with Cluster(
        workdir / f"nodes-{size}",
        data=reference,
        sip_settings=settings,
        size=size,
        shared=not args.alone,
        kamailio_children=args.kamailio_children,
        try_ms=args.try_ms,
        store_fsync=args.fsync,
        log_decisions=False,
    ) as cluster:
        shared = (
            f"shared state in Redis, fsync {args.fsync}" if not args.alone else "each node alone"
        )

        def measure(rate: int) -> Step:
            before = cluster.kamailio.log().count("failing open")
            try:
                step = run_step(
                    sipp, cluster.kamailio.port, rate, args.seconds, cluster.workdir, load
                )
            except subprocess.TimeoutExpired:  # sipp itself stuck past its own timeout: failed
                calls = max(1, int(rate * args.seconds))
                return Step(rate, calls, 0, 0.0, float("inf"), float("inf"), calls, False)
            # A call Kamailio failed open (no node answered in time) reached the callee
            # unscreened: answered, quickly, and a failure all the same.
            unscreened = cluster.kamailio.log().count("failing open") - before
            if unscreened:
                print(
                    f"  ({unscreened} calls failed open by Kamailio in the next step)", flush=True
                )
            return replace(step, failed=step.failed + unscreened)

        best, steps = search(f"{size} node(s) behind Kamailio ({shared})", measure, **options)
        log = cluster.kamailio.log()
        print(
            f"  Kamailio: {log.count('did not answer')} tries passed to the next node, "
            f"{log.count('failing open')} calls failed open",
            flush=True,
        )
    at_best = [step for step in steps if step.rate == best and step.passed(args.p99_ms)]
    return best, (at_best[-1] if at_best else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each step")
    parser.add_argument("--start-rate", type=int, default=50)
    parser.add_argument("--max-rate", type=int, default=5000, help="never drive more than this")
    parser.add_argument("--p99-ms", type=float, default=10.0)
    parser.add_argument("--refinements", type=int, default=3)
    parser.add_argument("--tries", type=int, default=2)
    parser.add_argument("--subscribers", type=int, default=1500, help="of the simulated operator")
    parser.add_argument("--kamailio-children", type=int, default=2)
    parser.add_argument("--try-ms", type=int, default=150, help="Kamailio's wait per node")
    parser.add_argument("--alone", action="store_true", help="no shared state (for comparison)")
    parser.add_argument(
        "--fsync", default="everysec", choices=["everysec", "always"], help="Redis appendfsync"
    )
    args = parser.parse_args(argv)
    missing = [name for name in ("sipp", "kamailio", "redis-server") if binary(name) is None]
    if missing:
        print(
            f"needs {', '.join(missing)}: apt-get install sip-tester kamailio redis-server",
            file=sys.stderr,
        )
        return 2
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; steps of {args.seconds:g} s; "
        f"pass = all answered, rate reached, p99 ≤ {args.p99_ms:g} ms (sipp, INVITE to final answer); "
        f"stream {ClusterSettings().stream}"
    )
    results: dict[int, tuple[int, Step | None]] = {}
    with tempfile.TemporaryDirectory(prefix="qalqan-cluster-bench-") as tmp:
        workdir = Path(tmp)
        started = time.monotonic()
        operator = _operator(workdir, args.subscribers)
        print(f"operator and feed ready in {time.monotonic() - started:.1f} s")
        for size in args.nodes:
            results[size] = _measure(size, args, workdir, operator)
    print()
    print(f"| nodes | calls/s at p99 ≤ {args.p99_ms:g} ms | p50 | p99 |")
    print("|---|---|---|---|")
    for size, (best, step) in results.items():
        shown = "— | —" if step is None else f"{step.p50_ms:.2f} ms | {step.p99_ms:.2f} ms"
        print(f"| {size} | {best} | {shown} |")
    print(f"load average now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
