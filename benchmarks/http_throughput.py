"""How many decisions per second the HTTP screening API serves, and at what latency.

Starts ``qalqan.api`` under uvicorn in a child process on 127.0.0.1 (a free
port) with a trivial, constant-time ``decide`` — so the figures are the cost
of the HTTP face itself, not of any engine — and drives it over keep-alive
connections for a bounded time per scenario:

- ``single``: ``POST /v1/screen``, one call attempt per request;
- ``batch``: ``POST /v1/screen/batch`` with ``--batch-size`` attempts per request;
- ``in-process``: ``ScreeningApi.handle`` called directly, no HTTP: the ceiling.

The load generator is ``wrk`` when installed (``apt-get install wrk``), else
an ``httpx`` async client in this process (which, in Python, is usually the
bottleneck: prefer wrk). Loopback only; every run stops after ``--seconds``.

    python benchmarks/http_throughput.py --seconds 5 --connections 16 --batch-size 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ATTEMPT = {
    "time": "2026-03-02T07:15:02Z",
    "caller": "+77011234567",
    "callee": "+77071234567",
    "ingress": "international:carrierA",
    "record_id": "bench-1",
}
MAX_SECONDS = 60


def trivial_decide(attempt: Any) -> Any:
    from qalqan.domain.model import Action, Decision, Reason

    return Decision(
        action=Action.WARN,
        score=0.73,
        reasons=(Reason(rule="bench.constant", weight=0.73, detail="always warns"),),
    )


def serve_child() -> None:
    """The server side: print the port, then serve until killed."""
    from qalqan.api.app import ScreeningApi
    from qalqan.api.config import ApiSettings
    from qalqan.api.server import bind, serve

    settings = ApiSettings(host="127.0.0.1", port=0, max_batch=10_000, max_body_bytes=8 << 20)
    api = ScreeningApi(trivial_decide, settings=settings)
    sock = bind("127.0.0.1", 0)
    print(sock.getsockname()[1], flush=True)
    serve(api, sock=sock)


def start_server() -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None
    port = int(child.stdout.readline())
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 10
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return child, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            child.kill()
            raise SystemExit("the server did not start")
        time.sleep(0.05)


# --- wrk -------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    url: str, body: bytes, *, seconds: int, connections: int, threads: int
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        body_file = Path(scratch) / "body.json"
        body_file.write_bytes(body)
        script = Path(scratch) / "post.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'local f = io.open("{body_file}", "rb")\n'
            "wrk.body = f:read('*a')\n"
            "f:close()\n"
            "done = function(summary, latency, requests)\n"
            '  io.write(string.format("non-200: %d\\n", summary.errors.status))\n'
            "end\n"
        )
        output = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    errors = re.search(r"non-200: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests_per_s": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_200": float(errors.group(1)) if errors else 0.0,
        "socket_errors": 0.0 if socket_errors is None else 1.0,
    }


# --- httpx -----------------------------------------------------------------------------------


async def _drive(url: str, body: bytes, *, seconds: int, connections: int) -> list[float]:
    import httpx

    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {response.status_code}: {response.text}")

        await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies


def run_httpx(url: str, body: bytes, *, seconds: int, connections: int) -> dict[str, float]:
    started = time.perf_counter()
    latencies = asyncio.run(_drive(url, body, seconds=seconds, connections=connections))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "non_200": 0.0,
        "socket_errors": 0.0,
    }


# --- in-process ------------------------------------------------------------------------------


def run_in_process(body: bytes, path: str, *, seconds: int, per_request: int) -> dict[str, float]:
    from qalqan.api.app import ScreeningApi
    from qalqan.api.config import ApiSettings

    api = ScreeningApi(trivial_decide, settings=ApiSettings(max_batch=10_000))
    headers = {"content-type": "application/json"}
    latencies: list[float] = []
    stop = time.perf_counter() + min(seconds, 5)
    while time.perf_counter() < stop:
        started = time.perf_counter()
        response = api.handle("POST", path, headers=headers, body=body)
        latencies.append(time.perf_counter() - started)
        assert response.status == 200, response.body
    latencies.sort()
    total = sum(latencies)
    return {
        "requests_per_s": len(latencies) / total,
        "decisions_per_s": len(latencies) * per_request / total,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="per scenario (at most 60)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--batch-size", type=int, default=100, help="attempts per batch request")
    parser.add_argument("--tool", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child()
        return
    seconds = max(1, min(args.seconds, MAX_SECONDS))
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "httpx"
    single = json.dumps(ATTEMPT).encode()
    batch = json.dumps([ATTEMPT] * args.batch_size).encode()

    figures: dict[str, dict[str, Any]] = {}
    child, url = start_server()
    try:
        for name, path, body, per_request in (
            ("single", "/v1/screen", single, 1),
            ("batch", "/v1/screen/batch", batch, args.batch_size),
        ):
            if tool == "wrk":
                result = run_wrk(
                    url + path, body, seconds=seconds, connections=args.connections, threads=1
                )
            else:
                result = run_httpx(url + path, body, seconds=seconds, connections=args.connections)
            result["decisions_per_s"] = result["requests_per_s"] * per_request
            figures[name] = {"tool": tool, "attempts_per_request": per_request, **result}
    finally:
        child.terminate()
        child.wait(10)
    figures["in-process single"] = run_in_process(
        single, "/v1/screen", seconds=seconds, per_request=1
    )
    figures["in-process batch"] = run_in_process(
        batch, "/v1/screen/batch", seconds=seconds, per_request=args.batch_size
    )

    if args.json:
        print(json.dumps(figures, indent=2))
        return
    cpus = os.cpu_count()
    print(
        f"HTTP screening API, trivial decide, {args.connections} keep-alive connections, "
        f"{seconds} s per scenario, load by {tool}, {cpus} CPUs (server and load share them)"
    )
    print(f"{'scenario':<20} {'requests/s':>12} {'decisions/s':>12} {'p50 ms':>8} {'p99 ms':>8}")
    for name, f in figures.items():
        print(
            f"{name:<20} {f['requests_per_s']:>12,.0f} {f['decisions_per_s']:>12,.0f} "
            f"{f['p50_ms']:>8.3f} {f['p99_ms']:>8.3f}"
        )
    for name, f in figures.items():
        if f.get("non_200") or f.get("socket_errors"):
            print(f"warning: {name}: {f['non_200']:.0f} non-200 answers or socket errors")


if __name__ == "__main__":
    main()
