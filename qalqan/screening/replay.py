"""Replay a data set through the screening engine as if it were happening live.

    summary = replay(Path("data"), Path("decisions.csv"), analyze_every_s=3600)
    score = score_replay(Path("decisions.csv"), Path("data"), Path("data/truth"))

Every call attempt of ``cdrs`` goes through :meth:`ScreeningEngine.screen` in
time order, and one row per attempt is written to ``decisions.csv``
(exchange-v1: ``record_id, action, score, reasons, latency_us``), in that order,
with one Qalqan column after them, ``reason_facts``: every reason as data
(rule, message key, facts, weight) in JSON, so that the case console can show
the reasons in the operator's language (read a cell with
:func:`qalqan.domain.messages.parse_reasons`).

**Never the future.** The point of a replay is to measure what the engine
would have done live, so each decision may use only what was known before
its attempt:

- attempts are recorded into the engine's state only after they are decided;
- a call's outcome (answered, talk time) is revealed only once it has ended —
  ``duration_s`` plus ``outcome_delay_s`` (ringing, CDR latency) after it began,
  an SMS's delivery ``outcome_delay_s`` after it was sent — and with the
  engine's own answer: the outcome of a call the replayed engine intercepted
  teaches it no contact, as live it would not have gone through;
- the hourly batch detector (:class:`~qalqan.screening.farm_watch.FarmWatch`)
  sees only the attempts already replayed and outcomes already revealed, and
  its listings apply from the hour it ran;
- reference tables are read as the network knows them at each moment:
  subscribers, the registry and cells as given, roaming as "registered abroad
  right now".

So cutting ``cdrs`` after any attempt leaves every decision before the cut
unchanged (a test checks this). Reputation lists passed in (``lists``) are
taken as known from the start: give lists made *before* the replayed period
(yesterday's analysis, partners' lists), not an analysis of the same data.

**Order.** ``cdrs`` may come unsorted. Accepted rows (rejected ones go to the
quarantine, as everywhere) are staged as Parquet with their file order, and
DuckDB sorts them by ``start_time`` (ties in file order), spilling to disk
rather than holding the table in Python; the replay streams the sorted
result in batches.

Scoring against a simulator's ground truth (:func:`score_replay`) gives what
an operator asks of screening: how many fraud calls were intercepted (any
action but ``allow``), how many legitimate calls from outside were touched,
and that no roaming subscriber's call home was ever blocked.
"""

from __future__ import annotations

import dataclasses
import gc
import heapq
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any, Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from qalqan.domain.messages import reasons_cell
from qalqan.domain.model import (
    Action,
    CallAttempt,
    CallResult,
    CallVerdict,
    Event,
    Ingress,
    IngressClass,
)
from qalqan.exchange.reader import DataSet, ReadLimits, TableReport
from qalqan.exchange.schema import DECISIONS
from qalqan.exchange.sources import find_table
from qalqan.exchange.types import canonical_schema
from qalqan.screening.config import ScreeningConfig, load_config
from qalqan.screening.engine import ScreeningEngine
from qalqan.screening.farm_watch import FarmWatch, FarmWatchSettings
from qalqan.screening.network import load_network
from qalqan.screening.reputation import ReputationLists
from qalqan.screening.signals import CallOutcome

__all__ = [
    "ReplayScore",
    "ReplaySummary",
    "recorded_calls",
    "replay",
    "score_replay",
    "sorted_cdrs",
]

Progress = Callable[[int, int], None]
"""Called with (attempts replayed, attempts in all)."""

WRITE_ROWS: Final = 65_536
FREEZE_EVERY: Final = 10_000
"""Attempts between two :func:`gc.freeze` calls (see :mod:`qalqan.screening.engine`)."""
_COLUMNS: Final = (
    "record_id",
    "start_us",
    "duration_s",
    "event",
    "result",
    "a_number",
    "b_number",
    "ingress",
    "a_imsi",
    "a_imei",
    "a_cell",
)
_ATTEST: Final = "identity_attest"
"""Optional column: the attestation the operator's network gave a verified Identity header."""
_EVENTS: Final = {event.value: event for event in Event}
_ANSWERED: Final = CallResult.ANSWERED.value


class _Latencies:
    """Percentiles of decision latency in bounded memory: half-microsecond bins up to 20 ms."""

    BIN_US: Final = 0.5
    BINS: Final = 40_000

    def __init__(self) -> None:
        self.counts = [0] * (self.BINS + 1)
        self.n = 0

    def add(self, us: float) -> None:
        self.counts[min(int(us / self.BIN_US), self.BINS)] += 1
        self.n += 1

    def percentile(self, q: float) -> float:
        """Upper edge of the bin holding the ``q`` quantile (the last bin: 20 ms or more)."""
        if not self.n:
            return 0.0
        rank = max(1, round(q * self.n))
        seen = 0
        for i, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return (i + 1) * self.BIN_US
        return self.BINS * self.BIN_US


@dataclass(slots=True, kw_only=True)
class ReplaySummary:
    attempts: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    rows_rejected: int = 0
    seconds: float = 0.0
    farm_watch_runs: int = 0
    listings_added: int = 0
    latency_p50_us: float = 0.0
    latency_p99_us: float = 0.0
    quarantine: Path | None = None


def sorted_cdrs(
    dataset: DataSet,
    scratch: Path,
    *,
    quarantine: Path | None,
    memory_limit: str | None = None,
    report: TableReport | None = None,
    batch_rows: int = WRITE_ROWS,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[pa.RecordBatch]:
    """Accepted ``cdrs`` rows sorted by start time (ties in file order), in Arrow batches.

    Columns: ``record_id, start_us`` (microseconds since the epoch) and the
    call's fields, ``identity_attest`` among them (empty where the data set has no such column). The rows are staged in ``scratch`` and sorted by DuckDB,
    which spills to ``scratch`` when the table outgrows memory. ``since`` and
    ``until`` keep only the rows that start after ``since`` and no later than
    ``until`` (the others are dropped as they are read, never staged).
    """
    staged = scratch / "cdrs.parquet"
    writer: pq.ParquetWriter | None = None
    offset = 0
    with dataset.read("cdrs", quarantine=quarantine, report=report) as reader:
        for batch in reader:
            if since is not None or until is not None:
                batch = batch.filter(_within(batch.column("start_time"), since, until))
            order = pa.array(range(offset, offset + batch.num_rows), pa.int64())
            offset += batch.num_rows
            batch = batch.append_column("_seq", order)
            if writer is None:
                writer = pq.ParquetWriter(staged, batch.schema)
            writer.write_batch(batch)
    if writer is None:
        return
    writer.close()
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"SET temp_directory = '{(scratch / 'spill').as_posix()}'")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        result = con.sql(
            f"""
            SELECT record_id, epoch_us(start_time) AS start_us, duration_s, event, result,
                   a_number, b_number, ingress, a_imsi, a_imei, a_cell, identity_attest
            FROM read_parquet('{staged.as_posix()}')
            ORDER BY start_time, _seq
            """
        )
        yield from result.to_arrow_reader(batch_rows)
    finally:
        con.close()


def _within(
    times: pa.Array | pa.ChunkedArray, since: datetime | None, until: datetime | None
) -> Any:
    """The mask of ``times`` after ``since`` and no later than ``until`` (either may be open)."""
    mask: Any = None
    if since is not None:
        mask = pc.greater(times, pa.scalar(since, type=times.type))
    if until is not None:
        upto = pc.less_equal(times, pa.scalar(until, type=times.type))
        mask = upto if mask is None else pc.and_(mask, upto)
    return mask


def recorded_calls(
    batch: pa.RecordBatch, ingresses: dict[str, Ingress] | None = None
) -> Iterator[CallOutcome]:
    """Each row of a :func:`sorted_cdrs` batch as the call it records, not yet screened.

    A row of ``cdrs`` is a call attempt and how it ended: a
    :class:`~qalqan.screening.signals.CallOutcome` whose ``action`` is None.
    ``ingresses`` caches the parsed ingress of each text seen (pass one dict
    for every batch of a replay).
    """
    ingresses = {} if ingresses is None else ingresses
    columns = [batch.column(name).to_pylist() for name in _COLUMNS]
    names = batch.schema.names
    attests = batch.column(_ATTEST).to_pylist() if _ATTEST in names else [None] * batch.num_rows
    for (record_id, start_us, duration, event, result, caller, callee,
         ingress_text, imsi, imei, cell, attest) in zip(*columns, attests, strict=True):  # fmt: skip
        ingress = ingresses.get(ingress_text)
        if ingress is None:
            ingress = ingresses[ingress_text] = Ingress.parse(ingress_text)
        kind = _EVENTS[event]
        yield CallOutcome(
            attempt=CallAttempt(
                time=datetime.fromtimestamp(start_us / 1_000_000, UTC),
                caller=caller,
                callee=callee,
                ingress=ingress,
                imsi=imsi,
                imei=imei,
                cell=cell,
                record_id=record_id,
                attest=attest or None,
            ),
            answered=result == _ANSWERED,
            duration_s=float(duration or 0) if kind is Event.VOICE else 0.0,
            event=kind,
        )


class _DecisionWriter:
    """``decisions.csv`` in exchange-v1 columns (then ``reason_facts``), written a batch at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema = canonical_schema(DECISIONS)
        path.parent.mkdir(parents=True, exist_ok=True)
        options = pcsv.WriteOptions(include_header=True, quoting_style="needed")
        self._writer = pcsv.CSVWriter(str(path), self.schema, write_options=options)
        self._rows: dict[str, list[Any]] = {name: [] for name in self.schema.names}

    def add(
        self,
        record_id: str,
        action: str,
        score: float,
        reasons: str | None,
        latency_us: float,
        reason_facts: str | None,
    ) -> None:
        rows = self._rows
        rows["record_id"].append(record_id)
        rows["action"].append(action)
        rows["score"].append(score)
        rows["reasons"].append(reasons)
        rows["latency_us"].append(latency_us)
        rows["reason_facts"].append(reason_facts)
        if len(rows["record_id"]) >= WRITE_ROWS:
            self.flush()

    def flush(self) -> None:
        if self._rows["record_id"]:
            self._writer.write_batch(pa.RecordBatch.from_pydict(self._rows, schema=self.schema))
            self._rows = {name: [] for name in self.schema.names}

    def close(self) -> None:
        self.flush()
        self._writer.close()


class _Replay:
    """One replay in progress: the engine, the batch detector, and what is still to be revealed."""

    def __init__(
        self,
        engine: ScreeningEngine,
        watch: FarmWatch | None,
        writer: _DecisionWriter,
        *,
        sites: dict[str, str],
        analyze_every_s: float | None,
        outcome_delay_s: float | None,
    ) -> None:
        self.engine = engine
        self.watch = watch
        self.writer = writer
        self.sites = sites
        self.every = analyze_every_s if watch is not None else None
        self.delay = outcome_delay_s
        self.next_run: float | None = None
        self.pending: list[tuple[float, int, CallOutcome]] = []
        """Outcomes of calls in progress, by the moment they become known."""
        self.latencies = _Latencies()
        self.actions: Counter[str] = Counter()
        self.listings_added = 0
        self.done = 0

    def catch_up(self, t: float) -> None:
        """Everything that became known before ``t``: ended calls, then the batch detector's runs."""
        pending = self.pending
        while pending and pending[0][0] <= t:
            outcome = heapq.heappop(pending)[2]
            self.engine.observe(outcome)
        if self.watch is None or not self.every:
            return
        if self.next_run is None:
            self.next_run = (t // self.every + 1) * self.every
        while t >= self.next_run:
            self.listings_added += self.watch.run(self.next_run, self.engine.lists)
            self.next_run += self.every

    def screen(self, call: CallOutcome) -> None:
        """Decide one attempt, write its decision, remember it, and schedule its outcome."""
        attempt = call.attempt
        t = attempt.time.timestamp()
        self.catch_up(t)
        decision = self.engine.screen(attempt)
        self.latencies.add(decision.latency_us)
        self.actions[decision.action.value] += 1
        # Most calls are allowed with no reason: their two reason cells are empty.
        reasons = decision.reasons
        self.writer.add(
            attempt.record_id or "",
            decision.action.value,
            decision.score,
            decision.reasons_text() or None if reasons else None,
            round(decision.latency_us, 1),
            reasons_cell(reasons) if reasons else None,
        )
        if self.watch is not None:
            cell = attempt.cell
            self.watch.add(
                t=t,
                caller=attempt.caller,
                callee=attempt.callee,
                imsi=attempt.imsi if attempt.ingress.kind is IngressClass.MOBILE else None,
                imei=attempt.imei,
                site=self.sites.get(cell, cell) if cell else None,
            )
        if self.delay is None:  # outcomes are never revealed (a redirect server's view)
            self._count()
            return
        # The outcome carries the engine's answer: a call it intercepted would not have gone
        # through as the CDR says, so it teaches no contact (see qalqan.screening.features).
        outcome = CallOutcome(
            attempt=attempt,
            answered=call.answered,
            duration_s=call.duration_s,
            action=decision.action,
            event=call.event,
        )
        heapq.heappush(self.pending, (t + call.duration_s + self.delay, self.done, outcome))
        self._count()

    def _count(self) -> None:
        self.done += 1
        if self.done % FREEZE_EVERY == 0:
            gc.freeze()  # the state grew: keep it out of the cyclic collector's passes


def replay(
    data_dir: Path,
    out: Path,
    *,
    config: ScreeningConfig | None = None,
    lists: ReputationLists | None = None,
    analyze_every_s: float | None = 3600.0,
    outcome_delay_s: float | None = 30.0,
    farm_watch: FarmWatchSettings | None = None,
    quarantine: Path | None = None,
    protection_list: Path | None = None,
    work_dir: Path | None = None,
    memory_limit: str | None = None,
    enforce_deadline: bool = False,
    progress: Progress | None = None,
    limits: ReadLimits | None = None,
) -> ReplaySummary:
    """Stream every attempt of ``data_dir`` through a fresh engine in time order; write ``out``.

    ``analyze_every_s``: how often (in the data's own time) the batch detector
    runs and feeds the engine's reputation lists; None never.
    ``outcome_delay_s``: how long after a call ends its outcome becomes known; None
    never, as a SIP redirect server, which hands each call on and never sees it end, knows
    only the attempts it screened (what ``qalqan serve`` decides, replayed).
    ``enforce_deadline``: apply the rules file's time budget as a live node
    would; off by default, so that a hiccup of the machine running the replay
    (another process, the garbage collector) cannot change a decision and the
    same data always gives the same ``decisions.csv``. ``latency_us`` is
    measured either way. ``limits``: what reading each table may cost
    (:mod:`qalqan.exchange.limits`).
    """
    started = perf_counter()
    config = config if config is not None else load_config()
    if not enforce_deadline:
        config = dataclasses.replace(config, deadline_us=math.inf)
    dataset = DataSet.open(data_dir, limits=limits)
    network = load_network(dataset, quarantine=quarantine)
    if protection_list is not None:
        network.subscribers.load_protection_list(protection_list)
    engine = ScreeningEngine(
        config,
        lists=lists if lists is not None else ReputationLists(),
        subscribers=network.subscribers,
        protected=network.protected,
        cells=network.cells,
    )
    watch = None
    if analyze_every_s:
        settings = farm_watch or FarmWatchSettings(young_sim_days=config.young_sim_days)
        watch = FarmWatch(network.subscribers, settings=settings)
    report = TableReport(table="cdrs")
    # The reference data and the state are long-lived and acyclic: keep them out of the
    # cyclic collector's way, or its full passes show up as decisions of milliseconds.
    gc.freeze()
    scratch = Path(tempfile.mkdtemp(prefix="qalqan-replay-", dir=work_dir))
    writer = _DecisionWriter(out)
    run = _Replay(
        engine,
        watch,
        writer,
        sites=network.cells.site_of,
        analyze_every_s=analyze_every_s,
        outcome_delay_s=outcome_delay_s,
    )
    try:
        batches = sorted_cdrs(
            dataset, scratch, quarantine=quarantine, memory_limit=memory_limit, report=report
        )
        ingresses: dict[str, Ingress] = {}
        for batch in batches:
            for call in recorded_calls(batch, ingresses):
                run.screen(call)
            if progress is not None:
                progress(run.done, max(report.rows_accepted, run.done))
    finally:
        writer.close()
        shutil.rmtree(scratch, ignore_errors=True)
        gc.unfreeze()
    return ReplaySummary(
        attempts=run.done,
        actions=run.actions,
        rows_rejected=report.rows_rejected,
        seconds=perf_counter() - started,
        farm_watch_runs=watch.runs if watch is not None else 0,
        listings_added=run.listings_added,
        latency_p50_us=run.latencies.percentile(0.5),
        latency_p99_us=run.latencies.percentile(0.99),
        quarantine=quarantine,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayScore:
    """How a replay did against ground truth."""

    fraud_calls: int
    fraud_intercepted: int
    legit_inbound: int
    legit_inbound_touched: int
    legit_mobile: int
    legit_mobile_touched: int
    roaming_calls: int
    roaming_blocked: int
    fraud_by_group: dict[str, tuple[int, int]]
    """Fraud calls by group (call center, farm, Wangiri), as (calls, intercepted)."""
    touched_by_group: dict[str, tuple[int, int]]
    """Legitimate inbound calls by look-alike group, as (calls, touched)."""

    @property
    def interception_rate(self) -> float:
        return self.fraud_intercepted / self.fraud_calls if self.fraud_calls else 0.0

    @property
    def legit_touched_rate(self) -> float:
        return self.legit_inbound_touched / self.legit_inbound if self.legit_inbound else 0.0

    @property
    def legit_mobile_touched_rate(self) -> float:
        return self.legit_mobile_touched / self.legit_mobile if self.legit_mobile else 0.0


def _source(path: Path) -> str:
    text = path.as_posix()
    if text.endswith(".parquet"):
        return f"read_parquet('{text}')"
    return f"read_csv('{text}', header=true, all_varchar=true)"


def score_replay(decisions: Path, data_dir: Path, truth_dir: Path) -> ReplayScore:
    """Score ``decisions.csv`` against the ground truth ``truth_dir/labels.csv`` of ``data_dir``.

    Fraud calls: every record labelled ``fraud`` (kind ``call``). Legitimate
    inbound calls: every attempt over ``international``, ``voip`` or
    ``national`` ingress not labelled fraud. Roaming calls: attempts from
    outside presenting our subscriber's number while that SIM was registered
    abroad (``roaming``).
    """
    cdrs = find_table(data_dir, "cdrs")
    labels = find_table(truth_dir, "labels")
    if cdrs is None or labels is None:
        from qalqan.errors import MissingTableError

        raise MissingTableError(
            "cdrs" if cdrs is None else "labels", data_dir if cdrs is None else truth_dir
        )
    subscribers = find_table(data_dir, "subscribers")
    roaming = find_table(data_dir, "roaming")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            f"CREATE TEMP VIEW d AS SELECT * FROM read_csv('{decisions.as_posix()}', header=true, all_varchar=true)"
        )
        con.execute(
            f"CREATE TEMP VIEW c AS SELECT record_id, CAST(start_time AS TIMESTAMPTZ) AS t, a_number, "
            f"split_part(ingress, ':', 1) AS kind FROM {_source(cdrs)}"
        )
        con.execute(
            f"""CREATE TEMP TABLE l AS SELECT id, any_value(label) AS label, any_value("group") AS g
                FROM {_source(labels)} WHERE kind = 'call' GROUP BY id"""
        )
        con.execute(
            """CREATE TEMP TABLE j AS
               SELECT c.*, d.action, coalesce(l.label, 'legit') AS label, coalesce(l.g, '') AS g
               FROM c JOIN d USING (record_id) LEFT JOIN l ON l.id = c.record_id"""
        )
        touched = f"count(*) FILTER (WHERE action <> '{Action.ALLOW}')"
        fraud = con.execute(
            f"SELECT g, count(*), {touched} FROM j "
            f"WHERE label = '{CallVerdict.FRAUD}' GROUP BY g ORDER BY g"
        ).fetchall()
        inbound = con.execute(
            f"SELECT g, count(*), {touched} FROM j "
            f"WHERE label <> '{CallVerdict.FRAUD}' AND kind IN ('international', 'voip', 'national') GROUP BY g ORDER BY g"
        ).fetchall()
        mobile = con.execute(
            f"SELECT count(*), {touched} FROM j "
            f"WHERE label <> '{CallVerdict.FRAUD}' AND kind IN ('mobile', 'fixed')"
        ).fetchall()[0]
        roaming_calls = roaming_blocked = 0
        if subscribers is not None and roaming is not None:
            row = con.execute(
                f"""WITH s AS (SELECT imsi, msisdn FROM {_source(subscribers)}),
                         r AS (SELECT imsi, CAST(start_time AS TIMESTAMPTZ) AS s0,
                                      CAST(end_time AS TIMESTAMPTZ) AS s1 FROM {_source(roaming)}),
                         calls AS (
                            SELECT DISTINCT j.record_id, j.action FROM j
                            JOIN s ON s.msisdn = j.a_number
                            JOIN r ON r.imsi = s.imsi AND j.t BETWEEN r.s0 AND r.s1
                            WHERE j.kind IN ('international', 'voip', 'national'))
                    SELECT count(*), count(*) FILTER (WHERE action = '{Action.BLOCK}') FROM calls"""
            ).fetchall()[0]
            roaming_calls, roaming_blocked = int(row[0]), int(row[1])
    finally:
        con.close()
    return ReplayScore(
        fraud_calls=sum(int(n) for _, n, _ in fraud),
        fraud_intercepted=sum(int(k) for _, _, k in fraud),
        legit_inbound=sum(int(n) for _, n, _ in inbound),
        legit_inbound_touched=sum(int(k) for _, _, k in inbound),
        legit_mobile=int(mobile[0]),
        legit_mobile_touched=int(mobile[1]),
        roaming_calls=roaming_calls,
        roaming_blocked=roaming_blocked,
        fraud_by_group={str(g): (int(n), int(k)) for g, n, k in fraud},
        touched_by_group={str(g or "ordinary"): (int(n), int(k)) for g, n, k in inbound},
    )
