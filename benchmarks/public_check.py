"""The public number check under load, and its rate limits holding while it is loaded.

Starts ``qalqan.public`` under uvicorn (no access log, as ``qalqan serve-public``
runs it) in a child process on 127.0.0.1 (a free port) over a fresh SQLite case
store holding ``--reports`` citizens' reports of ``--numbers`` numbers. Clients
connect from their own loopback addresses (127.0.0.x), which is what the rate
limits key on.

1. **Throughput**: per-client limits set out of the way, ``--concurrency``
   clients ask ``GET /v1/check/{number}`` for ``--seconds`` (a mix of reported
   and unknown numbers). Prints requests per second and the p50, p99 and
   worst latency of the answers.
2. **Limits hold**: the shipped limits (1 check a second per client after a
   burst of 30). One greedy client asks as fast as it can while ``--polite``
   clients each ask once a second; prints what each was answered (the greedy
   one should get 429 with ``Retry-After`` past its burst, the polite ones
   200 throughout) and the polite clients' latency.

``--workers N`` serves N processes, each on its own port, and every client
sends its requests to them in turn (as a balancer would). ``--redis URL`` (or
``--redis auto``: a ``redis-server`` of the benchmark's own on a free port) runs
both parts twice: with each worker's limits its own, then with the limits, the
spent challenges and the counts shared in that Redis (under a key prefix of the
run's own; nothing else there is touched), and prints both.

    python benchmarks/public_check.py --seconds 8 --concurrency 8 --polite 5
    python benchmarks/public_check.py --seconds 8 --workers 2 --redis auto
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SERVE = """
import sys
from qalqan.cases.store import CaseStore
from qalqan.cli.public import uvicorn_config
from qalqan.public import PublicFace, PublicSettings, create_app
from qalqan.screening.network import ProtectedNumbers
import uvicorn
from qalqan.public.shared import SharedStore
url, port, settings = sys.argv[1], int(sys.argv[2]), __import__("json").loads(sys.argv[3])
redis, prefix, secret = sys.argv[4], sys.argv[5], bytes.fromhex(sys.argv[6])
shared = SharedStore(redis, prefix=prefix) if redis else None
store = CaseStore.open(url)
face = PublicFace(store=store, registry=ProtectedNumbers(), settings=PublicSettings(**settings),
                  secret=secret, shared=shared)
uvicorn.Server(uvicorn_config(create_app(store=store, face=face), "127.0.0.1", port)).run()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _numbers(n: int) -> list[str]:
    return [f"+7701{i:07d}" for i in range(n)]


def _fill(url: str, numbers: list[str], reports: int) -> None:
    from qalqan.cases import CaseStore, upgrade
    from qalqan.cases.reports import NewReport, file_report
    from qalqan.domain.model import ReportCategory, ReportChannel

    upgrade(url)
    store = CaseStore.open(url)
    categories = list(ReportCategory)
    with store.transaction() as session:
        for i in range(reports):
            report = NewReport(
                number=numbers[i % len(numbers)],
                channel=ReportChannel.CALL,
                category=categories[i % len(categories)],
                text=f"report {i}",
                reporter_key=f"r{i}",
            )
            file_report(session, report)
    store.close()


class Server:
    def __init__(
        self, url: str, settings: dict[str, float], redis: str = "", prefix: str = ""
    ) -> None:
        self.port = _free_port()
        argv = [url, str(self.port), json.dumps(settings), redis, prefix, SECRET.hex()]
        self.process = subprocess.Popen([sys.executable, "-c", SERVE, *argv])
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.base}/metrics", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> tuple[float, float]:
        """Stop it: the CPU seconds (user + sys) it took and its peak memory in MiB."""
        return _reap(self.process)


def _reap(process: subprocess.Popen[bytes]) -> tuple[float, float]:
    """Stop ``process``: its CPU seconds and its peak resident memory (VmHWM) in MiB."""
    status_file = Path(f"/proc/{process.pid}/status")
    peak = 0.0
    if status_file.exists():  # ru_maxrss would count the benchmark's own pages before exec
        for line in status_file.read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    process.terminate()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, peak


SECRET = secrets.token_bytes(32)
"""The workers' one secret (as ``--secret-file`` gives them)."""


@contextmanager
def serving(
    url: str, settings: dict[str, float], workers: int, redis: str, prefix: str
) -> Iterator[list[str]]:
    """``workers`` servers over the store at ``url`` (sharing ``redis`` when given): their bases."""
    servers: list[Server] = []
    try:
        for _ in range(workers):
            servers.append(Server(url, settings, redis, prefix))
        yield [server.base for server in servers]
    finally:
        used = [server.stop() for server in servers]
        print(
            f"  the {len(used)} worker(s) took {sum(cpu for cpu, _ in used):.1f} CPU s "
            f"(user + sys, from their start), peak RSS {max(rss for _, rss in used):.0f} MiB each at most"
        )


@contextmanager
def own_redis() -> Iterator[str]:
    """A ``redis-server`` of the benchmark's own on a free port, without persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("--redis auto needs redis-server on the PATH")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
        import redis

        client = redis.Redis(port=port)
        memory = client.info("memory")
        print(
            f"redis-server: {client.dbsize()} keys left, peak memory "
            f"{memory['used_memory_peak'] / 2**20:.1f} MiB"
        )
        client.close()
    finally:
        cpu, rss = _reap(process)
        print(f"redis-server took {cpu:.1f} CPU s (user + sys), peak RSS {rss:.0f} MiB")


def _client(address: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(transport=transport, timeout=10)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _ask(
    bases: list[str], address: str, numbers: list[str], until: float, *, pause_s: float = 0.0
) -> tuple[list[float], Counter[int], set[str]]:
    """One client from ``address`` checking numbers until ``until``, ``pause_s`` between checks
    (none: without pause); its latencies, answers and the Retry-After values of its 429s."""
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    retry_after: set[str] = set()
    async with _client(address) as client:
        i = 0
        while time.monotonic() < until:
            started = time.perf_counter()
            base = bases[i % len(bases)]
            answer = await client.get(f"{base}/v1/check/{numbers[i % len(numbers)]}")
            latencies.append(time.perf_counter() - started)
            codes[answer.status_code] += 1
            if answer.status_code == 429:
                retry_after.add(answer.headers.get("retry-after", "missing"))
            i += 1
            if pause_s:
                await asyncio.sleep(pause_s)
    return latencies, codes, retry_after


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def throughput(
    bases: list[str], numbers: list[str], seconds: float, concurrency: int
) -> None:
    until = time.monotonic() + seconds
    started = time.perf_counter()
    runs = await asyncio.gather(
        *(_ask(bases, f"127.0.0.{10 + k}", numbers, until) for k in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    latencies = [t for run in runs for t in run[0]]
    codes: Counter[int] = Counter()
    for run in runs:
        codes.update(run[1])
    print(
        f"throughput: {len(latencies)} checks in {elapsed:.1f} s by {concurrency} clients: "
        f"{len(latencies) / elapsed:.0f} requests/s; answers {dict(codes)}"
    )
    print(
        f"  latency p50 {_ms(_quantile(latencies, 0.5))}, p99 {_ms(_quantile(latencies, 0.99))}, "
        f"worst {_ms(max(latencies))}"
    )


async def limits(bases: list[str], numbers: list[str], seconds: float, polite: int) -> None:
    until = time.monotonic() + seconds
    greedy_run = _ask(bases, "127.0.0.2", numbers, until)
    polite_runs = [
        _ask(bases, f"127.0.0.{30 + k}", numbers, until, pause_s=1.0) for k in range(polite)
    ]
    greedy, kind = await asyncio.gather(greedy_run, asyncio.gather(*polite_runs))
    print(
        f"limits: the greedy client was answered {dict(greedy[1])} in {seconds:.0f} s "
        f"(Retry-After: {sorted(greedy[2])}); its p50 {_ms(statistics.median(greedy[0]))}"
    )
    codes: Counter[int] = Counter()
    for run in kind:
        codes.update(run[1])
    latencies = [t for run in kind for t in run[0]]
    print(
        f"  {polite} polite clients (1 a second) were answered {dict(codes)}; "
        f"p50 {_ms(_quantile(latencies, 0.5))}, worst {_ms(max(latencies))}"
    )


def run(args: argparse.Namespace, url: str, asked: list[str], redis: str, prefix: str) -> None:
    """Both parts over ``args.workers`` servers, sharing ``redis`` when given."""
    seconds = min(args.seconds, 60.0)
    where = f"shared in Redis ({prefix})" if redis else "each worker's own"
    print(f"== {args.workers} worker(s), limits {where}")
    unlimited = {"check_rate": 1e9, "check_burst": 1e9, "global_rate": 1e9, "global_burst": 1e9}
    with serving(url, unlimited, args.workers, redis, f"{prefix}:throughput") as bases:
        asyncio.run(throughput(bases, asked, seconds, args.concurrency))
    with serving(url, {}, args.workers, redis, f"{prefix}:limits") as bases:
        asyncio.run(limits(bases, asked, seconds, args.polite))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--polite", type=int, default=5)
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1, choices=range(1, 9))
    parser.add_argument("--redis", default="", help="a Redis URL, or auto: one of its own")
    args = parser.parse_args()
    numbers = _numbers(args.numbers)
    asked = numbers + [f"+7702{i:07d}" for i in range(args.numbers)]  # half never reported
    with tempfile.TemporaryDirectory() as folder:
        url = str(Path(folder) / "cases.db")
        started = time.perf_counter()
        _fill(url, numbers, args.reports)
        print(
            f"store: {args.reports} reports of {args.numbers} numbers in {time.perf_counter() - started:.1f} s"
        )
        run(args, url, asked, "", "")
        if not args.redis:
            return
        prefix = f"qalqan:bench:{secrets.token_hex(4)}"
        if args.redis != "auto":
            run(args, url, asked, args.redis, prefix)
            return
        with own_redis() as redis:
            run(args, url, asked, redis, prefix)


if __name__ == "__main__":
    main()
