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

    python benchmarks/public_check.py --seconds 8 --concurrency 8 --polite 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

SERVE = """
import sys
from qalqan.cases.store import CaseStore
from qalqan.cli.public import uvicorn_config
from qalqan.public import PublicFace, PublicSettings, create_app
from qalqan.screening.network import ProtectedNumbers
import uvicorn
url, port, settings = sys.argv[1], int(sys.argv[2]), __import__("json").loads(sys.argv[3])
store = CaseStore.open(url)
face = PublicFace(store=store, registry=ProtectedNumbers(), settings=PublicSettings(**settings))
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
    def __init__(self, url: str, settings: dict[str, float]) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVE, url, str(self.port), json.dumps(settings)]
        )
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

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _client(address: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(transport=transport, timeout=10)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _hammer(
    base: str, address: str, numbers: list[str], until: float
) -> tuple[list[float], Counter[int], set[str]]:
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    retry_after: set[str] = set()
    async with _client(address) as client:
        i = 0
        while time.monotonic() < until:
            started = time.perf_counter()
            answer = await client.get(f"{base}/v1/check/{numbers[i % len(numbers)]}")
            latencies.append(time.perf_counter() - started)
            codes[answer.status_code] += 1
            if answer.status_code == 429:
                retry_after.add(answer.headers.get("retry-after", "missing"))
            i += 1
    return latencies, codes, retry_after


async def _polite(
    base: str, address: str, numbers: list[str], until: float
) -> tuple[list[float], Counter[int]]:
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    async with _client(address) as client:
        i = 0
        while time.monotonic() < until:
            started = time.perf_counter()
            answer = await client.get(f"{base}/v1/check/{numbers[i % len(numbers)]}")
            latencies.append(time.perf_counter() - started)
            codes[answer.status_code] += 1
            i += 1
            await asyncio.sleep(1.0)
    return latencies, codes


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def throughput(base: str, numbers: list[str], seconds: float, concurrency: int) -> None:
    until = time.monotonic() + seconds
    started = time.perf_counter()
    runs = await asyncio.gather(
        *(_hammer(base, f"127.0.0.{10 + k}", numbers, until) for k in range(concurrency))
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


async def limits(base: str, numbers: list[str], seconds: float, polite: int) -> None:
    until = time.monotonic() + seconds
    greedy_run = _hammer(base, "127.0.0.2", numbers, until)
    polite_runs = [_polite(base, f"127.0.0.{30 + k}", numbers, until) for k in range(polite)]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--polite", type=int, default=5)
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--reports", type=int, default=5000)
    args = parser.parse_args()
    seconds = min(args.seconds, 60.0)
    numbers = _numbers(args.numbers)
    asked = numbers + [f"+7702{i:07d}" for i in range(args.numbers)]  # half never reported
    with tempfile.TemporaryDirectory() as folder:
        url = str(Path(folder) / "cases.db")
        started = time.perf_counter()
        _fill(url, numbers, args.reports)
        print(
            f"store: {args.reports} reports of {args.numbers} numbers in {time.perf_counter() - started:.1f} s"
        )
        unlimited = {"check_rate": 1e9, "check_burst": 1e9, "global_rate": 1e9, "global_burst": 1e9}
        server = Server(url, unlimited)
        try:
            asyncio.run(throughput(server.base, asked, seconds, args.concurrency))
        finally:
            server.stop()
        server = Server(url, {})
        try:
            asyncio.run(limits(server.base, asked, seconds, args.polite))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
