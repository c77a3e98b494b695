"""How long an operator's queue takes to load while anonymous clients flood the console's sign-in.

Starts the console (``qalqan.console.create_app`` under uvicorn) in a child
process on 127.0.0.1 (a free port) over a fresh SQLite case store with the
demo accounts and the test feed's intercepted calls, with Argon2 at its real,
default cost. One operator signs in and loads ``/queue`` again and again; at
the same time ``N`` clients post sign-ins as fast as they can, each with a
new unknown name and a wrong password (what someone guessing or flooding
does). Each scenario runs ``--seconds`` (bounded), and prints the queue's
median, p95 and worst latency, and what the flood's sign-ins were answered.

Then, with no flood, shift start: ``--shift`` operators (10) sign in with the
right password, each with their own account and address (127.0.1.x), spread evenly over
one second and then all at the same instant; it prints what each was answered
and the slowest sign-in.

    python benchmarks/console_login_flood.py --clients 0 5 20 --seconds 8 --shift 10

The console's settings come from the environment as ``qalqan console`` reads
them (``QALQAN_CONSOLE_*``), so the throttle can be switched off to measure
the bound on hashing alone, e.g. ``QALQAN_CONSOLE_LOGIN_FAILURES_PER_ADDRESS=1000000``
and ``QALQAN_CONSOLE_LOGIN_FAILURES_PER_NAME=1000000``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import inspect
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "a long enough password"
SHIFT_ACCOUNTS = 50


def serve(folder: str) -> None:
    """The child: a populated store, the demo accounts, the console on a free port."""
    import socket

    import uvicorn

    from qalqan.cases import CaseStore, ingest_decisions, upgrade, users
    from qalqan.cases.roles import SYSTEM, Role
    from qalqan.console import create_app
    from tests.cases.feeds import write_feed

    url = str(Path(folder) / "cases.db")
    upgrade(url)
    store = CaseStore.open(url)
    feed = write_feed(Path(folder) / "feed", calls=200)
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
    with store.transaction() as session:
        users.add_user(session, SYSTEM, name="aigerim", role=Role.OPERATOR, password=PASSWORD)
        for i in range(SHIFT_ACCOUNTS):
            users.add_user(session, SYSTEM, name=f"shift{i}", role=Role.OPERATOR, password=PASSWORD)
    options: dict[str, Any] = {}
    if "settings" in inspect.signature(create_app).parameters:
        from qalqan.console.settings import ConsoleSettings

        options["settings"] = ConsoleSettings.from_env()
    app = create_app(url, secret_key="benchmark-secret-key", store=store, **options)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    print(port, flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error")


async def _token(client: Any) -> str:
    found = CSRF.search((await client.get("/login")).text)
    assert found, "no CSRF token on the sign-in page"
    return found.group(1)


def sign_in(base: str) -> dict[str, str]:
    """The operator's session cookie: signed in once, before any flood (as on a shift)."""
    import httpx

    with httpx.Client(base_url=base, timeout=60.0) as client:
        found = CSRF.search(client.get("/login").text)
        assert found, "no CSRF token on the sign-in page"
        signed = client.post(
            "/login", data={"csrf": found.group(1), "username": "aigerim", "password": PASSWORD}
        )
        assert signed.status_code in (200, 303), signed.status_code
        return dict(client.cookies)


async def scenario(
    base: str, cookies: dict[str, str], clients: int, seconds: float
) -> dict[str, Any]:
    import httpx

    stop = time.monotonic() + seconds
    answers: collections.Counter[int] = collections.Counter()
    timeout = httpx.Timeout(60.0)

    async def flood(i: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
            token = await _token(client)
            n = 0
            while time.monotonic() < stop:
                n += 1
                try:
                    answer = await client.post(
                        "/login",
                        data={"csrf": token, "username": f"nobody{i}x{n}", "password": "guess"},
                    )
                    answers[answer.status_code] += 1
                except httpx.HTTPError:
                    answers[0] += 1

    async def operator() -> list[float]:
        async with httpx.AsyncClient(base_url=base, timeout=timeout, cookies=cookies) as client:
            await asyncio.sleep(0.5)  # let the flood start
            took = []
            while time.monotonic() < stop:
                start = time.perf_counter()
                page = await client.get("/queue")
                took.append(time.perf_counter() - start)
                assert page.status_code == 200 and page.url.path == "/queue", page.url
                await asyncio.sleep(0.1)  # an operator clicks; this is not a load test
            return took

    flooding = [asyncio.create_task(flood(i)) for i in range(clients)]
    took = await operator()
    await asyncio.gather(*flooding)
    took.sort()
    return {
        "clients": clients,
        "queue_loads": len(took),
        "median_ms": round(1000 * statistics.median(took), 1),
        "p95_ms": round(1000 * took[max(0, math.ceil(0.95 * len(took)) - 1)], 1),
        "max_ms": round(1000 * took[-1], 1),
        "flood_answers": dict(sorted(answers.items())),
        "flood_per_s": round(sum(answers.values()) / seconds, 1),
    }


async def shift_start(base: str, operators: int, spread: float) -> dict[str, Any]:
    """``operators`` sign-ins with the right password, started evenly over ``spread`` seconds."""
    import httpx

    async def one(i: int) -> tuple[int, float]:
        desk = httpx.AsyncHTTPTransport(local_address=f"127.0.1.{i + 1}")  # each their own address
        async with httpx.AsyncClient(base_url=base, timeout=60.0, transport=desk) as client:
            token = await _token(client)
            await asyncio.sleep(spread * i / operators)
            start = time.perf_counter()
            answer = await client.post(
                "/login", data={"csrf": token, "username": f"shift{i}", "password": PASSWORD}
            )
            return answer.status_code, time.perf_counter() - start

    answers = await asyncio.gather(*(one(i) for i in range(operators)))
    return {
        "operators": operators,
        "spread_s": spread,
        "answers": dict(sorted(collections.Counter(status for status, _ in answers).items())),
        "slowest_ms": round(1000 * max(took for _, took in answers), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[0, 5, 20])
    parser.add_argument("--seconds", type=float, default=8.0, help="per scenario (at most 60)")
    parser.add_argument(
        "--shift",
        type=int,
        default=10,
        help=f"operators signing in at shift start (at most {SHIFT_ACCOUNTS}; 0: none)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    seconds = min(args.seconds, 60.0)
    with tempfile.TemporaryDirectory() as folder:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", folder],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            assert child.stdout is not None
            port = int(child.stdout.readline())
            base = f"http://127.0.0.1:{port}"
            time.sleep(1.0)
            cookies = sign_in(base)
            results = []
            for n in args.clients:
                results.append(asyncio.run(scenario(base, cookies, n, seconds)))
                if not args.json:
                    r = results[-1]
                    print(
                        f"{r['clients']:>3} flood clients: queue median {r['median_ms']} ms, "
                        f"p95 {r['p95_ms']} ms, max {r['max_ms']} ms ({r['queue_loads']} loads); "
                        f"flood {r['flood_per_s']}/s answered {r['flood_answers']}",
                        flush=True,
                    )
            shifts = []
            for spread in (1.0, 0.0) if args.shift else ():
                shifts.append(
                    asyncio.run(shift_start(base, min(args.shift, SHIFT_ACCOUNTS), spread))
                )
                if not args.json:
                    r = shifts[-1]
                    print(
                        f"shift start: {r['operators']} sign-ins over {r['spread_s']} s answered "
                        f"{r['answers']}, slowest {r['slowest_ms']} ms",
                        flush=True,
                    )
            if args.json:
                print(json.dumps({"flood": results, "shift_start": shifts}, indent=2))
        finally:
            child.terminate()
            child.wait(timeout=10)


if __name__ == "__main__":
    main()
