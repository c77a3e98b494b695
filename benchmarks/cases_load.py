"""How the case store holds up: alerts ingested per second, and the queue's latency, on PostgreSQL.

    .venv/bin/python benchmarks/cases_load.py                       # 100,000 alerts, local PostgreSQL
    .venv/bin/python benchmarks/cases_load.py --url postgresql://qalqan@db/bench --alerts 20000
    .venv/bin/python benchmarks/cases_load.py --url /tmp/bench.db    # the same on an SQLite file

Writes a synthetic feed of ``--alerts`` intercepted calls (``decisions.csv``
plus the data set's ``cdrs`` and ``subscribers``: a third of the callees are
called more than once, a quarter are 65 or older), then measures:

- *ingest*: ``ingest_decisions`` end to end — reading and validating the
  files, upserting victims, alerts, episodes and entities, the audit entry
  and the commit of every batch — as alerts per second; then the same input
  again (the idempotent re-run, which must add nothing);
- *queue*: ``queue()`` as the console calls it for one page of 50 — the
  permission check, the ordered query over every waiting alert, the audit
  entry naming what was shown, the commit — ``--queries`` times, p50/p99;
  and ``claim()`` of the top call, the other hot path;
- *queue again*, in the state a store usually is in: all but ``--backlog``
  (500) of the alerts worked, so the history is large and the backlog small.
  The queue's cost follows the backlog, not the history (the
  ``ix_alerts_queue`` index on kind, status and claim expiry).

Against PostgreSQL (the default: ``QALQAN_BENCH_POSTGRES_URL`` or the local
server) it creates a database of its own and drops it afterwards. Numbers
printed are measurements, not pass/fail thresholds.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import make_url

from qalqan.cases.ingest import ingest_decisions
from qalqan.cases.intercepts import claim, queue
from qalqan.cases.models import Alert
from qalqan.cases.roles import SYSTEM, Actor, Role
from qalqan.cases.store import CaseStore, normalise_url, upgrade
from qalqan.cases.users import add_user
from qalqan.cases.views import QueueItem

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1/postgres"
START = datetime(2026, 3, 2, tzinfo=UTC)


def write_feed(folder: Path, alerts: int, seed: int = 7) -> Path:
    """``decisions.csv`` and a data set with ``alerts`` intercepted calls over one day."""
    rng = random.Random(seed)
    data = folder / "data"
    data.mkdir(parents=True)
    victims = max(1, alerts * 2 // 3)
    callers = max(1, alerts // 20)
    step = 86_400 / alerts
    with (
        (folder / "decisions.csv").open("w", newline="") as d,
        (data / "cdrs.csv").open("w", newline="") as c,
    ):
        decisions, cdrs = csv.writer(d), csv.writer(c)
        decisions.writerow(["record_id", "action", "score", "reasons", "latency_us"])
        cdrs.writerow(
            ["record_id", "start_time", "duration_s", "event", "result", "a_number",
             "b_number", "ingress", "a_imsi", "a_imei", "a_cell", "b_imsi", "b_cell"]
        )  # fmt: skip
        for k in range(alerts):
            when = (START + timedelta(seconds=k * step)).strftime("%Y-%m-%dT%H:%M:%SZ")
            victim = f"+7702{rng.randrange(victims):07d}"
            caller = f"+7701{rng.randrange(callers):07d}"
            action, score = rng.choice((("block", 0.97), ("divert", 0.85), ("warn", 0.6)))
            decisions.writerow(
                [f"r{k}", action, score, f"spoofed_cli.domestic_from_abroad: domestic number {caller} arrived from abroad", 40]
            )  # fmt: skip
            cdrs.writerow(
                [f"r{k}", when, 0, "voice", "rejected", caller, victim, "international:carrier1",
                 "", "", "", "", ""]
            )  # fmt: skip
    with (data / "subscribers.csv").open("w", newline="") as s:
        subscribers = csv.writer(s)
        subscribers.writerow(["imsi", "msisdn", "activated", "plan", "birth_year"])
        for i in range(victims):
            year = 1945 + rng.randrange(16) if i % 4 == 0 else 1965 + rng.randrange(40)
            subscribers.writerow(
                [f"4017710{i:08d}", f"+7702{i:07d}", "2020-01-01", "prepaid", year]
            )
    return folder


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def time_queue(store: CaseStore, operator: Actor, queries: int, what: str) -> list[QueueItem]:
    """Time ``queries`` pages of the queue as the console asks for them; print p50/p99."""
    timings = []
    page: list[QueueItem] = []
    for _ in range(queries):
        started = time.perf_counter()
        with store.transaction() as session:
            page = queue(session, operator, limit=50)
        timings.append((time.perf_counter() - started) * 1000)
    print(
        f"queue page of 50 {what}: p50 {statistics.median(timings):.1f} ms, "
        f"p99 {percentile(timings, 99):.1f} ms ({queries} pages; query, audit entry, commit)"
    )
    return page


def _fresh_database() -> tuple[str, tuple[str, str]]:
    """A new PostgreSQL database on the benchmark's server: its URL, and (server, name) to drop."""
    server = normalise_url(os.environ.get("QALQAN_BENCH_POSTGRES_URL", DEFAULT_SERVER))
    name = f"qalqan_cases_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False), (server, name)


def _drop_database(server: str, name: str) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _time_ingest(store: CaseStore, feed: Path, alerts: int, batch: int) -> int:
    """Time the ingest of the feed, then of the same feed again; returns the alerts waiting."""
    with store.transaction() as session:
        started = time.perf_counter()
        report = ingest_decisions(session, feed / "decisions.csv", feed / "data", batch_size=batch)
        took = time.perf_counter() - started
    print(
        f"ingest: {report.total_new:,} alerts in {took:.1f} s = {report.total_new / took:,.0f} alerts/s "
        f"(batches of {batch:,}, files read and validated included)"
    )
    with store.transaction() as session:
        started = time.perf_counter()
        again = ingest_decisions(session, feed / "decisions.csv", feed / "data", batch_size=batch)
        took_again = time.perf_counter() - started
        waiting = session.scalar(select(func.count()).select_from(Alert))
    print(
        f"re-ingest of the same input: {again.total_new} new, {took_again:.1f} s "
        f"= {alerts / took_again:,.0f} alerts/s checked"
    )
    return int(waiting or 0)


def _time_claims(store: CaseStore, operator: Actor, page: list[QueueItem]) -> None:
    """Time claiming the first 50 alerts of a queue page, one transaction each."""
    claims = []
    for item in page[:50]:
        started = time.perf_counter()
        with store.transaction() as session:
            claim(session, operator, item.alert_id)
        claims.append((time.perf_counter() - started) * 1000)
    print(f"claim: p50 {statistics.median(claims):.1f} ms, p99 {percentile(claims, 99):.1f} ms")


def _leave_backlog(store: CaseStore, backlog: int) -> int:
    """Mark all but the newest ``backlog`` alerts worked, as after months; returns those waiting."""
    # The usual state of a store: months of calls worked, a shift's backlog waiting.
    # (Set up with one UPDATE: recording 100,000 outcomes one by one is not what is measured.)
    with store.transaction() as session:
        keep = select(Alert.id).order_by(Alert.received_at.desc()).limit(backlog)
        session.execute(
            update(Alert)
            .where(Alert.id.not_in(keep.scalar_subquery()))
            .values(status="done", outcome="warned", claimed_by=None, claim_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        waiting = session.scalar(
            select(func.count()).select_from(Alert).where(Alert.status != "done")
        )
    # What autovacuum does after such an UPDATE, done now so that the figure is not
    # about dead rows and stale statistics left by the set-up.
    with store.engine.connect() as connection:
        statement = "VACUUM ANALYZE alerts" if store.dialect == "postgresql" else "ANALYZE"
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text(statement))
    return int(waiting or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url",
        help="Database: postgresql:// URL or SQLite path (default: a fresh PostgreSQL database).",
    )
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--backlog",
        type=int,
        default=500,
        help="Alerts left waiting in the second queue measurement, the rest marked worked.",
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="qalqan-cases-bench-"))
    created: tuple[str, str] | None = None
    url = args.url
    if url is None:
        url, created = _fresh_database()
    try:
        started = time.perf_counter()
        feed = write_feed(scratch, args.alerts)
        print(
            f"feed of {args.alerts:,} intercepted calls written in {time.perf_counter() - started:.1f} s"
        )
        upgrade(url)
        clock_now = [START + timedelta(days=1, minutes=5)]
        store = CaseStore.open(url, clock=lambda: clock_now[0])
        print(f"case store: {store.dialect}")
        with store.transaction() as session:
            made = add_user(
                session, SYSTEM, name="bench", role=Role.OPERATOR, password="benchmark password"
            )
        operator = Actor(name=made.name, role=made.role, user_id=made.id)

        waiting = _time_ingest(store, feed, args.alerts, args.batch)
        page = time_queue(store, operator, args.queries, f"over {waiting:,} waiting alerts")
        _time_claims(store, operator, page)
        waiting = _leave_backlog(store, args.backlog)
        time_queue(
            store, operator, args.queries, f"with {waiting:,} waiting of {args.alerts:,} alerts"
        )
        store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if created is not None:
            _drop_database(*created)


if __name__ == "__main__":
    main()
