"""Campaigns: fraud calls grouped into the call centers behind them, and where those work from.

A call center reaches its victims over several routes (international carriers,
VoIP trunks with a random domestic caller ID on every call, SIM farms at home) with
changing caller IDs, but it leaves traces it cannot avoid:

- *sources*: every call comes from a source — a farm, a Wangiri number range
  (:func:`wangiri_ranges`: one operation across bursts, carriers and days), or a
  route from abroad;
- *office day and week*: a call center keeps its own hours (start, lunch, UTC
  offset: :func:`estimate_utc_offset`) and days off on every route it uses; two
  sources whose hours or weeks differ are never one center
  (:func:`office_days_differ`), and sources that keep the same are linked;
- *shared victims beyond chance*: a drawn-in victim is called again, often over
  another route; two sources that share far more victims (or conversations) than
  chance allows belong to one center;
- *reused caller IDs*: the same spoofed number on two sources;
- *complaints*: citizens' reports naming its numbers, or made by its victims
  right after its calls, tell its script (bank security, police, ...), by the
  category the reporter chose or, where the reporter chose ``other``, by what their
  text tells (:mod:`qalqan.content.schemes`); two scripts are two centers, and
  complaints retelling one text (:func:`~qalqan.content.clusters.cluster_reports`)
  tie their sources like one script (:func:`_complaints`).

Communities of sources joined by that evidence form campaigns. A carrier rented by
several centers carries several office days: its calls are shared out among the
centers by office day and victims (:func:`split_office_days` finds it mixed). For
each campaign: its calls, distinct victims, estimated UTC offset of its working
day, peak concurrent lines, farms and routes, and why its calls are one campaign.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import networkx as nx
import numpy as np
import phonenumbers
import pyarrow as pa
from scipy.stats import chi2

from qalqan.analytics.farms import Farm
from qalqan.content.clusters import (
    REPORT_CATEGORIES,
    TextCluster,
    cluster_reports,
    text_schemes,
)
from qalqan.content.schemes import MAX_TEXT_CHARS, SchemeClassifier, cached_classifier
from qalqan.domain.messages import reasons_cell
from qalqan.domain.model import CallVerdict, Reason

__all__ = [
    "CALL_CAMPAIGNS",
    "Campaign",
    "assign_campaigns",
    "estimate_utc_offset",
    "group_campaigns",
    "office_day_of_hour",
    "office_days_differ",
    "split_office_days",
    "wangiri_ranges",
    "weeks_differ",
]

logger = logging.getLogger(__name__)

#: An office day: work from 9 to 18 local with lunch at 13:00.
OFFICE_START, OFFICE_END, LUNCH = 9, 18, 13
#: Two sources' hours farther apart than this share of their calls (and fitting other office
#: days) are two offices.
OFFICE_DISTANCE = 0.15
#: Office-day templates closer than this (share of calls) are one office seen a little shifted.
SAME_OFFICE = 0.35
#: An office day closer than this to a known center's is that center (an hour's shift of a
#: nine-hour day moves about a quarter of the calls, and is another center).
KNOWN_OFFICE = 0.2
#: A source that makes this many calls on a typical day and none on another rests that day.
BUSY_DAY_CALLS = 5
#: Sources with fewer calls than this say too little of their office day to be joined by it.
MIN_OFFICE_CALLS = 30
#: At most this many sources (the busiest) are compared pairwise for their office day.
MAX_OFFICE_SOURCES = 300
#: Link weights: sources keeping one office day, and whose complaints also tell one script
#: (shared victims weigh up to 20, as many times beyond chance as they are).
OFFICE_WEIGHT, SCRIPT_WEIGHT = 1.0, 3.0
#: How much likelier a shared route's call is a center's when that center talked with its victim.
VICTIM_ODDS = 20.0
#: A number more sources than this called is everybody's number (a list all of them dial, a
#: hotline), not a victim they share: it links none of them. Sources are the other side's to
#: multiply (a SIM each), and a number that all of n sources call would be n * (n - 1) / 2
#: links (at 10 million call records, no victim was called by more than 8).
MAX_SOURCES_A_VICTIM = 100
#: A call this long (seconds) is a conversation: what draws a victim in.
CONVERSATION_S = 180
#: At most this many complaints linked to fraud calls are read by their text (the victims'
#: first, each kind earliest first: :func:`_complaints`), and their distinct texts at most
#: this many characters; the rest keep the category their reporters chose.
MAX_REPORT_TEXTS, MAX_REPORT_CHARS = 5_000, 500_000
#: Two sources whose complaints retell one text, this many on each side, are told one script.
SCRIPT_TEXT_REPORTS = 2
#: A phrase quoted in a campaign's reason is cut at this many characters.
MAX_QUOTED_CHARS = 80


@dataclass(slots=True)
class Campaign:
    campaign_id: str
    n_calls: int
    n_victims: int
    utc_offset_h: float | None
    farm_ids: list[str]
    routes: list[str]
    sources: list[str]
    peak_lines: int
    first_seen: object
    last_seen: object
    hourly: list[int] = field(default_factory=list)
    """Calls per UTC hour of day."""
    report_categories: dict[str, int] = field(default_factory=dict)
    """Complaints linked to the campaign, by scam category (the call center's script): the
    reporter's, or the scam the text tells where the reporter chose ``other``."""
    scripts: dict[str, int] = field(default_factory=dict)
    """Complaints linked to the campaign by the text cluster they retell (``T00001``: the
    largest cluster of this run's linked complaints), most first."""
    kind: str = "call_center"
    """``call_center`` (an office day), ``bypass`` (a SIM box round the clock), ``wangiri``."""
    said: list[Reason] = field(default_factory=list)
    """Why these calls are one campaign, each a message with its facts."""

    def reasons(self) -> str:
        """Why, in English, ``"; "``-separated (``campaigns.csv``'s ``reasons``)."""
        return "; ".join(r.detail for r in self.said)

    def reason_facts(self) -> str | None:
        """:attr:`said` as data, in the order of :meth:`reasons` (``reason_facts``)."""
        return reasons_cell(self.said)


def _office_templates() -> tuple[list[tuple[int, int]], np.ndarray]:
    """Every office day as a distribution over UTC hours: (offset, start) and the 24 weights."""
    keys, rows = [], []
    for offset in range(-11, 15):
        for start in (8, 9, 10):
            template = np.zeros(24)
            for local in range(start, start + 9):
                if local != LUNCH:
                    template[(local - offset) % 24] = 1.0
            template /= template.sum()
            keys.append((offset, start))
            rows.append(template * 0.97 + 0.03 / 24)
    return keys, np.array(rows)


TEMPLATE_KEYS, TEMPLATES = _office_templates()


def fit_office_day(hourly_utc: list[int] | np.ndarray) -> tuple[int, int] | None:
    """The office day (UTC offset, local start: 8, 9 or 10 for nine hours, lunch at 13) that best fits.

    Returns None when the activity is spread round the clock (no working day to fit)
    or too thin to say.
    """
    counts = np.asarray(hourly_utc, dtype=np.float64)
    total = counts.sum()
    if total < 20:
        return None
    share = counts / total
    # round-the-clock traffic has no office day
    if (share > 0.005).sum() > 16:
        return None
    fit = np.log(TEMPLATES) @ share
    return TEMPLATE_KEYS[int(np.argmax(fit))]


def estimate_utc_offset(hourly_utc: list[int] | np.ndarray) -> float | None:
    """The UTC offset of the office day that best fits the activity (:func:`fit_office_day`)."""
    office = fit_office_day(hourly_utc)
    return None if office is None else float(office[0])


def split_office_days(
    hours: np.ndarray, *, min_share: float = 0.08, min_calls: int = 20
) -> np.ndarray:
    """Which office day each call of a shared route came from, by its UTC hour.

    A carrier rented by two call centers in different time zones carries two office
    days. Returns one label a call (0 when the route is one office day): the label
    of its hour by :func:`office_day_of_hour` over the route's calls.
    """
    hours = np.asarray(hours, dtype=np.int64)
    counts = np.bincount(hours, minlength=24)
    labels = office_day_of_hour(counts, min_share=min_share, min_calls=min_calls)
    return np.asarray(labels[hours], dtype=np.int64)


def office_day_of_hour(
    counts: np.ndarray, *, min_share: float = 0.08, min_calls: int = 20
) -> np.ndarray:
    """Which office day the calls of each UTC hour came from, given a route's calls by hour.

    The route's hourly activity is fitted as a mixture of office-day templates
    (EM over the templates' weights); near-identical templates pool their weight, and
    those keeping at least ``min_share`` of the calls (and ``min_calls`` calls) are the
    centers; each hour goes to the likeliest. Returns 24 labels (all 0 when the route is
    one office day). Reads the counts only, so a route of millions of calls costs no more.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() < 60:
        return np.zeros(24, dtype=np.int64)
    weights = np.full(len(TEMPLATES), 1.0 / len(TEMPLATES))
    for _ in range(200):
        joint = weights[:, None] * TEMPLATES  # template x hour
        posterior = joint / joint.sum(axis=0, keepdims=True)
        weights = (posterior * counts).sum(axis=1) / counts.sum()
    # Near-identical office days (an hour's shift of start and offset) share one center's mass.
    reps: list[int] = []
    mass: list[float] = []
    for j in np.argsort(-weights, kind="stable"):
        close = [
            k for k, r in enumerate(reps) if 0.5 * np.abs(TEMPLATES[j] - TEMPLATES[r]).sum() < 0.35
        ]
        if close:
            mass[close[0]] += float(weights[j])
        else:
            reps.append(int(j))
            mass.append(float(weights[j]))
    total = float(counts.sum())
    kept = np.array(
        [r for r, m in zip(reps, mass, strict=True) if m >= min_share and m * total >= min_calls],
        dtype=np.int64,
    )
    if kept.size <= 1:
        return np.zeros(24, dtype=np.int64)
    joint = weights[kept, None] * TEMPLATES[kept]
    return np.asarray(np.argmax(joint, axis=0), dtype=np.int64)


#: Calls of one Wangiri burst come at most this many seconds apart.
BURST_GAP_S = 900.0
#: Within a burst, two neighbouring numbers this many times farther apart than the burst's
#: typical neighbours belong to two ranges.
RANGE_GAP_FACTOR = 20.0
#: Numbers are allocated in blocks of a thousand or more: two numbers closer than this are
#: never cut apart.
MIN_RANGE_GAP = 1000


class _Union:
    """Union-find over names: the operations (or centers) that evidence joins."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = self.parent.setdefault(x, x)
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _shortest_range(number: str) -> int:
    """Characters of the shortest prefix that can be a range: ``+``, the country code, one digit."""
    return _shortest_range_after(number[:4])


@functools.lru_cache(maxsize=4096)
def _shortest_range_after(lead: str) -> int:
    # a country code is one to three digits, so the first four characters tell it
    for digits in (1, 2, 3):
        code = lead[1 : 1 + digits]
        if (
            len(code) == digits
            and code.isdigit()
            and int(code) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        ):
            return 2 + digits
    return 4


def _common_prefix(a: str, b: str) -> str:
    same = 0
    while same < min(len(a), len(b)) and a[same] == b[same]:
        same += 1
    return a[:same]


def _burst_ranges(numbers: list[str]) -> list[list[str]]:
    """The numbers of one burst in numeric order, cut where neighbours lie out of scale apart."""
    ordered = sorted(set(numbers), key=lambda n: int(n[1:]))
    if len(ordered) < 3:
        return [[n] for n in ordered]
    values = np.array([int(n[1:]) for n in ordered], dtype=np.float64)
    gaps = np.diff(values)
    typical = max(float(np.percentile(gaps, 50, method="lower")), 1.0)
    apart = (gaps > RANGE_GAP_FACTOR * typical) & (gaps >= MIN_RANGE_GAP)
    cuts = [0, *(np.flatnonzero(apart) + 1).tolist(), len(ordered)]
    return [ordered[a:b] for a, b in itertools.pairwise(cuts)]


def _bursts_cut(timed: list[tuple[float, str]]) -> list[list[str]]:
    """Time-ordered calls of one number length, cut into bursts and each burst into ranges."""
    pieces: list[list[str]] = []
    start = 0
    for i in range(1, len(timed) + 1):
        if i == len(timed) or timed[i][0] - timed[i - 1][0] > BURST_GAP_S:
            pieces += _burst_ranges([n for _, n in timed[start:i]])
            start = i
    return pieces


def wangiri_ranges(calls: Iterable[tuple[str, float]]) -> dict[str, str]:
    """The number range of each Wangiri caller: one operation across bursts, carriers and days.

    ``calls`` are ``(calling number, time in seconds)``. Calls from numbers of one length
    at most :data:`BURST_GAP_S` apart form a burst. An operation spreads its numbers over
    one range, so within a burst the numbers, in numeric order, are cut where two
    neighbours lie :data:`RANGE_GAP_FACTOR` times farther apart than the burst's typical
    neighbours and at least :data:`MIN_RANGE_GAP` apart (a second operation's range is
    far off); the range of each piece is the
    longest prefix its numbers share. Pieces of every burst whose ranges nest (one
    prefix begins the other) are one operation: bursts on other days and from other
    numbers of the range join it, while two ranges of one country code stay apart. A
    piece wider than the country code and one digit proves nothing and is not used.

    Returns each number's range: the widest prefix of its operation, e.g. ``+2224500``.
    """
    by_length: dict[int, list[tuple[float, str]]] = {}
    for number, t in calls:
        if number and number[0] == "+" and number[1:].isdigit():
            by_length.setdefault(len(number), []).append((float(t), number))
    union = _Union()
    blocks: set[str] = set()
    for timed in by_length.values():
        timed.sort()
        for piece in _bursts_cut(timed):
            block = _common_prefix(piece[0], piece[-1])
            # too wide to be one range: each number stands for itself
            for part in [piece] if len(block) >= _shortest_range(block) else [[n] for n in piece]:
                block = _common_prefix(part[0], part[-1])
                blocks.add(block)
                for number in part:
                    union.join(block, number)
    for block in blocks:
        for end in range(_shortest_range(block), len(block)):
            if block[:end] in blocks:
                union.join(block, block[:end])
    widest: dict[str, str] = {}
    for block in blocks:
        root = union.find(block)
        if root not in widest or len(block) < len(widest[root]):
            widest[root] = block
    return {
        number: widest[union.find(number)] for timed in by_length.values() for _, number in timed
    }


def _sources(con: duckdb.DuckDBPyConnection, calls: str, durations: str | None) -> None:
    """TEMP TABLE ``fraud_calls``: the fraud calls among ``calls``, each with its source.

    A call's duration is read from the call records named ``durations`` (by record id),
    or, when ``durations`` is None, from the calls' own ``duration_s``.
    """
    duration, records = (
        ("c.duration_s", "")
        if durations is None
        else ("k.duration_s", f"LEFT JOIN {durations} k USING (record_id)")
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fraud_calls AS
        SELECT c.record_id, c.t, c.ingress, c.a_number, c.b_number, c.farm_id, c.imsi,
               {duration} AS duration_s,  -- read once: whether a call was a conversation, how long a line was busy
               -- a farm calling its own SIMs to look human: not a victim, not office hours
               c.b_number IN (SELECT msisdn FROM _box_numbers) AS internal,
               CASE WHEN c.farm_id IS NOT NULL THEN 'farm:' || c.farm_id
                    WHEN c.imsi IS NOT NULL THEN 'sim:' || c.imsi
                    WHEN starts_with(json_extract_string(c.reason_facts, '$[0].rule'), 'wangiri.')
                         THEN 'range:' || c.a_number
                    ELSE 'route:' || c.ingress END AS source
        FROM {calls} c {records}
        WHERE c.verdict IN ('{CallVerdict.FRAUD}', '{CallVerdict.SPOOFED}')
        """
    )
    # A Wangiri operation's numbers spread over its range: one source per range, not per number.
    from_ranges = con.execute(
        "SELECT a_number, epoch(t) FROM fraud_calls WHERE starts_with(source, 'range:')"
    ).fetchall()
    ranges = wangiri_ranges(from_ranges)
    if not ranges:
        return
    con.register("_ranges", pa.table({"a_number": list(ranges), "range": list(ranges.values())}))
    try:
        con.execute(
            """UPDATE fraud_calls SET source = 'range:' || r.range FROM _ranges r
               WHERE starts_with(fraud_calls.source, 'range:') AND fraud_calls.a_number = r.a_number"""
        )
        # Calls from the operation's range that the burst rule did not name (found by the call
        # model on a carrier) are the operation's too.
        con.execute(
            """UPDATE fraud_calls SET source = 'range:' || r.range
               FROM (SELECT DISTINCT range, length(a_number) AS digits FROM _ranges) r
               WHERE starts_with(fraud_calls.source, 'route:') AND fraud_calls.a_number IS NOT NULL
                 AND starts_with(fraud_calls.a_number, r.range) AND length(fraud_calls.a_number) = r.digits"""
        )
    finally:
        con.unregister("_ranges")


def _split_mixed_campaigns(con: duckdb.DuckDBPyConnection, *, next_group: int) -> None:
    """A campaign whose calls follow two office days is two call centers: split it by the hour.

    Campaigns with a source busy round the clock (a bypass box) or made of Wangiri
    ranges have no office day and are left whole. Each campaign is read as its calls
    by UTC hour, and its calls move to their hour's center in one update.
    """
    rows = con.execute(
        """
        WITH busy AS (SELECT source FROM fraud_calls GROUP BY source HAVING count(DISTINCT hour(t)) >= 18),
        whole AS (
            SELECT DISTINCT group_no FROM fraud_calls
            WHERE source IN (SELECT source FROM busy) OR starts_with(source, 'range:')
        )
        SELECT group_no, hour(t) AS h, count(*) FROM fraud_calls
        WHERE NOT internal AND group_no NOT IN (SELECT group_no FROM whole)
        GROUP BY group_no, h ORDER BY group_no, h
        """
    ).fetchall()
    by_group: dict[int, np.ndarray] = {}
    for group_no, hour, n in rows:
        by_group.setdefault(int(group_no), np.zeros(24, dtype=np.int64))[int(hour)] = int(n)
    moved: list[tuple[int, int, int]] = []
    for group_no, counts in by_group.items():
        labels = office_day_of_hour(counts)
        used = labels[counts > 0]
        if used.max(initial=0) == 0:
            continue
        numbers = {k: next_group + i for i, k in enumerate(sorted(set(used.tolist())))}
        next_group += len(numbers)
        moved += [(group_no, h, numbers[int(labels[h])]) for h in range(24) if counts[h] > 0]
    if not moved:
        return
    con.register(
        "_regroup",
        pa.table(
            {
                "old": pa.array([m[0] for m in moved], pa.int64()),
                "h": pa.array([m[1] for m in moved], pa.int64()),
                "group_no": pa.array([m[2] for m in moved], pa.int64()),
            }
        ),
    )
    try:
        con.execute(
            """UPDATE fraud_calls SET group_no = r.group_no FROM _regroup r
               WHERE NOT fraud_calls.internal AND fraud_calls.group_no = r.old
                 AND hour(fraud_calls.t) = r.h"""
        )
    finally:
        con.unregister("_regroup")
    # A farm's calls between its own SIMs go where the farm's calls to victims went.
    con.execute(
        """
        UPDATE fraud_calls SET group_no = m.g
        FROM (
            -- the group most of the source's calls to victims went to; a tie to the smallest
            SELECT source, group_no AS g FROM (
                SELECT source, group_no,
                       row_number() OVER (PARTITION BY source ORDER BY count(*) DESC, group_no) AS rank
                FROM fraud_calls WHERE NOT internal GROUP BY source, group_no
            ) WHERE rank = 1
        ) m
        WHERE fraud_calls.internal AND fraud_calls.source = m.source
        """
    )


def office_days_differ(
    a: np.ndarray | list[int], b: np.ndarray | list[int], *, significance: float = 1e-4
) -> bool:
    """Whether two sources' calls by UTC hour of day cannot be one office's.

    Calls of one office spread over its routes and farms alike, so their hours differ
    by chance only. Two profiles differ when they fit different office days
    (:func:`fit_office_day`), a likelihood-ratio test of one shared profile rejects it
    at ``significance``, and they differ beyond chance by at least
    :data:`OFFICE_DISTANCE` of the calls (an hour's shift of a nine-hour day moves
    about a quarter): a large source's wobble, or a farm's few calls of its own
    outside the office day, is not another office.
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    fit = fit_office_day(x)
    if fit is not None and fit == fit_office_day(y):
        return False
    keep = (x + y) > 0
    x, y = x[keep], y[keep]
    nx_, ny_ = float(x.sum()), float(y.sum())
    if nx_ == 0 or ny_ == 0 or keep.sum() < 2:
        return False
    both = x + y
    g = 2.0 * sum(
        float(np.sum(o[o > 0] * np.log(o[o > 0] / (both[o > 0] * n / (nx_ + ny_)))))
        for o, n in ((x, nx_), (y, ny_))
    )
    distance = 0.5 * float(np.abs(x / nx_ - y / ny_).sum())
    return bool(chi2.sf(g, int(keep.sum()) - 1) < significance and distance > OFFICE_DISTANCE)


def weeks_differ(a: np.ndarray | list[int], b: np.ndarray | list[int]) -> bool:
    """Whether one source rests on a day the other works: two offices' weeks (days off).

    ``a`` and ``b`` are calls by local day, over the same days. Only the days both were
    in service count (a farm set up mid-week, or one whose stock ran out, is no other
    office); a day is a day off when a source made no call on it although it makes
    :data:`BUSY_DAY_CALLS` or more on a typical day, and the other worked (at least a
    fifth of its typical day). Volume that rises or falls is no other week.
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if not x.any() or not y.any():
        return False
    width = max(x.size, y.size)
    x, y = np.pad(x, (0, width - x.size)), np.pad(y, (0, width - y.size))
    first = max(int(np.flatnonzero(x)[0]), int(np.flatnonzero(y)[0]))
    last = min(int(np.flatnonzero(x)[-1]), int(np.flatnonzero(y)[-1]))
    if last - first < 2:
        return False
    x, y = x[first : last + 1], y[first : last + 1]
    for rests, works in ((x, y), (y, x)):
        typical = float(np.median(rests[rests > 0]))
        usual = float(np.median(works[works > 0]))
        if typical >= BUSY_DAY_CALLS and bool(np.any((rests == 0) & (works >= 0.2 * usual))):
            return True
    return False


@dataclass(slots=True)
class _Profile:
    """What a source shows of the office behind it."""

    hourly: np.ndarray
    """Calls by UTC hour of day."""
    daily: np.ndarray
    """Calls by day of the data, counted in the source's own office day (its UTC offset)."""
    categories: dict[str, int] = field(default_factory=dict)
    """Complaints about its calls, by the scam's category (:attr:`_Complaints.category`)."""
    scripts: dict[str, int] = field(default_factory=dict)
    """Complaints about its calls, by the text cluster of a scam they retell."""

    @property
    def calls(self) -> int:
        return int(self.hourly.sum())

    def category(self) -> str | None:
        """The script its complaints tell, when at least two agree and most do (``other``
        names no one script)."""
        if not self.categories:
            return None
        name, n = max(self.categories.items(), key=lambda kv: (kv[1], kv[0]))
        total = sum(self.categories.values())
        return name if n >= 2 and n >= 0.6 * total and name != "other" else None

    def one_script(self, other: _Profile) -> bool:
        """Whether the two sources' complaints tell one script: one category, or
        :data:`SCRIPT_TEXT_REPORTS` complaints or more on each side retelling one text."""
        script = self.category()
        if script is not None and script == other.category():
            return True
        return any(
            n >= SCRIPT_TEXT_REPORTS and other.scripts.get(cluster, 0) >= SCRIPT_TEXT_REPORTS
            for cluster, n in self.scripts.items()
        )


_BY_VICTIM = """(r.reporter = f.b_number AND NOT f.internal AND r.time BETWEEN f.t AND f.t + INTERVAL 3 DAY)"""
"""SQL: the complaint ``r`` was made by the callee of fraud call ``f`` (not a farm's own SIM),
within three days of it."""
#: A complaint concerns a fraud call ``f`` when it names the number the call came from, or its
#: reporter was called (not by a farm's own SIM) within three days before.
_CONCERNS = f"""(r.reported_number IS NOT NULL AND r.reported_number = f.a_number)
              OR {_BY_VICTIM}"""


@dataclass(slots=True)
class _Complaints:
    """The complaints linked to fraud calls, read by their text (:func:`_complaints`)."""

    told: dict[str, str] = field(default_factory=dict)
    """Report id → the category of the scam its text tells, for those whose reporter chose
    ``other`` (a text that tells no scam leaves it ``other``, which names no script)."""
    clusters: dict[str, TextCluster] = field(default_factory=dict)
    """Report id → the cluster of texts it retells, when they tell a scam."""

    def category(self, report_id: str, chosen: str | None) -> str | None:
        """The script a complaint tells: the scam its text tells where its reporter chose
        ``other``, else the reporter's category."""
        return self.told.get(report_id, chosen)

    def script(self, report_id: str) -> TextCluster | None:
        return self.clusters.get(report_id)


def _within_bounds(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The first ``rows`` (complaints, their text last) within :data:`MAX_REPORT_TEXTS` and
    :data:`MAX_REPORT_CHARS`; a warning says how many were left unread."""
    seen: set[str] = set()
    chars = 0
    for n, row in enumerate(rows):
        text = str(row[-1])
        if text not in seen:
            chars += len(text)
            seen.add(text)
        if n == MAX_REPORT_TEXTS or chars > MAX_REPORT_CHARS:
            logger.warning(
                "more complaints concern fraud calls than are read by their text (%d complaints, "
                "%d characters): the texts of the first %d (victims' first, then the earliest) "
                "are read, the rest keep their reporters' categories",
                MAX_REPORT_TEXTS,
                MAX_REPORT_CHARS,
                n,
            )
            return rows[:n]
    return rows


@functools.cache
def _classifier() -> SchemeClassifier:
    """The scheme classifier, loaded (or trained) once a process, when a complaint has a text."""
    return cached_classifier()


def _complaints(con: duckdb.DuckDBPyConnection) -> _Complaints:
    """The complaints linked to the fraud calls, each read by its text.

    Only complaints that concern a fraud call (:data:`_CONCERNS`) and have a text are read:
    the victims' first (a callee of a fraud call complaining within three days of it; one that
    only names a caller ID anyone can send), each kind earliest first, and of those the first
    :data:`MAX_REPORT_TEXTS` whose distinct texts, each cut at
    :data:`~qalqan.content.schemes.MAX_TEXT_CHARS`, hold at most :data:`MAX_REPORT_CHARS`
    characters (a warning says when there were more: :func:`_within_bounds`). Each distinct
    text is classified once; a complaint whose reporter chose ``other`` takes the category of
    the scam its text tells (a legitimate text, about sales calls or a bank's own call, leaves
    it ``other``, which names no script). The texts are clustered by script
    (:func:`~qalqan.content.clusters.cluster_reports`); the clusters that tell a scam tie
    their sources (:meth:`_Profile.one_script`).
    """
    rows = con.execute(
        f"""
        SELECT r.report_id, any_value(r.time) AS time, any_value(r.category),
               any_value(substr(r.text, 1, {MAX_TEXT_CHARS})) AS text
        FROM reports r JOIN fraud_calls f ON {_CONCERNS}
        WHERE r.text IS NOT NULL AND length(trim(r.text)) > 0
        GROUP BY r.report_id
        -- victims first: a complaint anyone can send naming a caller ID must not crowd them out
        ORDER BY bool_or({_BY_VICTIM}) DESC, time, r.report_id
        LIMIT {MAX_REPORT_TEXTS + 1}
        """
    ).fetchall()
    rows = _within_bounds(rows)
    if not rows:
        return _Complaints()
    classifier = _classifier()
    scheme = text_schemes(classifier, list(dict.fromkeys(str(text) for *_, text in rows)))
    told = {
        str(report_id): category
        for report_id, _, chosen, text in rows
        if chosen == "other" and (category := REPORT_CATEGORIES.get(scheme[str(text)])) is not None
    }
    clusters = cluster_reports(
        ((str(report_id), str(text)) for report_id, _, _, text in rows),
        classifier=classifier,
        explained_from=SCRIPT_TEXT_REPORTS,  # a script's phrases are quoted when retold
        known_schemes=scheme,
    )
    return _Complaints(
        told=told,
        clusters={
            report_id: c for c in clusters if c.report_category is not None for report_id in c.ids
        },
    )


def _profiles(
    con: duckdb.DuckDBPyConnection, sources: list[str], complaints: _Complaints
) -> dict[str, _Profile]:
    rows = con.execute(
        """
        SELECT source, list(hour(t)), list(epoch(t)) FROM fraud_calls
        WHERE NOT internal GROUP BY source
        """
    ).fetchall()
    first = con.execute("SELECT min(epoch(t)) FROM fraud_calls").fetchall()[0][0] or 0.0
    profiles: dict[str, _Profile] = {}
    for source, hours, times in rows:
        hourly = np.bincount(np.asarray(hours, dtype=np.int64), minlength=24)
        offset = estimate_utc_offset(hourly) or 0.0
        # local days from the day before the first call, so that no offset makes one negative
        days = (np.asarray(times, dtype=np.float64) - first + offset * 3600) // 86_400 + 1
        profiles[source] = _Profile(hourly=hourly, daily=np.bincount(days.astype(np.int64)))
    for source in sources:
        profiles.setdefault(
            source, _Profile(hourly=np.zeros(24, np.int64), daily=np.ones(1, np.int64))
        )
    for report_id, source, chosen in con.execute(
        f"""
        SELECT DISTINCT r.report_id, f.source, r.category FROM reports r JOIN fraud_calls f
          ON {_CONCERNS}
        ORDER BY 1, 2
        """
    ).fetchall():
        profile = profiles[source]
        if (category := complaints.category(report_id, chosen)) is not None:
            profile.categories[category] = profile.categories.get(category, 0) + 1
        if (script := complaints.script(report_id)) is not None:
            profile.scripts[script.cluster_id] = profile.scripts.get(script.cluster_id, 0) + 1
    return profiles


def _apart(a: _Profile, b: _Profile) -> bool:
    """Two sources that cannot be one call center: other office day, week or script."""
    if office_days_differ(a.hourly, b.hourly) or weeks_differ(a.daily, b.daily):
        return True
    ca, cb = a.category(), b.category()
    return ca is not None and cb is not None and ca != cb


def _links(con: duckdb.DuckDBPyConnection, population: int) -> list[tuple[str, str, float, str]]:
    """Source pairs sharing victims well beyond chance, or reusing caller IDs.

    Chance is what two sources calling that many people each out of the whole
    population would share; follow-up calls on a drawn-in victim over another
    route push the overlap far beyond it. A conversation (a call of several
    minutes) is what draws a victim in, so victims both sources talked with count
    on their own, against the chance of that.
    """
    links = []
    for talked in (False, True):
        victims = con.sql(
            f"""
            -- sources busy round the clock (bypass boxes) call everybody: sharing victims with
            -- them means nothing
            WITH busy AS (
                SELECT source FROM fraud_calls GROUP BY source HAVING count(DISTINCT hour(t)) >= 18
            ),
            v AS (SELECT DISTINCT f.source, f.b_number FROM fraud_calls f
                  WHERE NOT f.internal {f"AND f.duration_s >= {CONVERSATION_S}" if talked else ""}),
            sizes AS (SELECT source, count(*) AS n FROM v GROUP BY 1),
            everybodys AS (
                SELECT b_number FROM v WHERE source NOT IN (SELECT source FROM busy)
                GROUP BY 1 HAVING count(*) > {MAX_SOURCES_A_VICTIM}
            ),
            victims_of AS (
                SELECT * FROM v WHERE source NOT IN (SELECT source FROM busy)
                  AND b_number NOT IN (SELECT b_number FROM everybodys)
            )
            SELECT x.source AS a, y.source AS b, count(*) AS shared, any_value(sx.n) AS na, any_value(sy.n) AS nb
            FROM victims_of x JOIN victims_of y ON x.b_number = y.b_number AND x.source < y.source
            JOIN sizes sx ON sx.source = x.source JOIN sizes sy ON sy.source = y.source
            GROUP BY 1, 2
            """
        ).fetchall()
        for a, b, shared, na, nb in victims:
            expected = na * nb / max(population, 1)
            if shared >= 2 and shared >= 4 * expected:
                links.append((a, b, min(float(shared) / max(expected, 0.1), 20.0), "victims"))
    clis = con.sql(
        """
        WITH c AS (SELECT DISTINCT source, a_number FROM fraud_calls
                   WHERE a_number IS NOT NULL AND NOT starts_with(source, 'farm:') AND NOT starts_with(source, 'sim:'))
        SELECT x.source, y.source, count(*) FROM c x JOIN c y ON x.a_number = y.a_number AND x.source < y.source
        GROUP BY 1, 2 HAVING count(*) >= 3
        """
    ).fetchall()
    links += [(a, b, float(n), "caller_ids") for a, b, n in clis]
    return links


def _group_sources(
    con: duckdb.DuckDBPyConnection,
    sources: list[str],
    population: int,
    profiles: dict[str, _Profile],
) -> tuple[list[list[str]], list[tuple[str, str, str]]]:
    """Sources joined into call centers (and Wangiri operations): communities of the evidence.

    Shared victims and reused caller IDs join two sources unless they cannot be one
    center (:func:`_apart`); so does the same office day, week and script (one category,
    or complaints retelling one text: :meth:`_Profile.one_script`), more weakly, between
    sources with enough calls to show them. Complaints retelling different texts keep no
    sources apart: victims retell one script in their own words. Returns the groups and the
    links of shared victims and caller IDs that were kept (``a``, ``b``, kind).
    """
    graph = nx.Graph()
    graph.add_nodes_from(sources)
    known = set(sources)
    kept: list[tuple[str, str, str]] = []
    for a, b, w, kind in _links(con, population):
        if a in known and b in known and not _apart(profiles[a], profiles[b]):
            graph.add_edge(a, b, weight=graph.get_edge_data(a, b, {"weight": 0.0})["weight"] + w)
            kept.append((a, b, kind))
    office = [
        s
        for s in sources
        if not s.startswith("range:")
        and profiles[s].calls >= MIN_OFFICE_CALLS
        and estimate_utc_offset(profiles[s].hourly) is not None
    ]
    # pairs grow with the square of the sources: the busiest few hundred show every center
    office = sorted(office, key=lambda s: (-profiles[s].calls, s))[:MAX_OFFICE_SOURCES]
    for i, a in enumerate(office):
        for b in office[i + 1 :]:
            if _apart(profiles[a], profiles[b]):
                continue
            w = OFFICE_WEIGHT + (SCRIPT_WEIGHT if profiles[a].one_script(profiles[b]) else 0.0)
            graph.add_edge(a, b, weight=graph.get_edge_data(a, b, {"weight": 0.0})["weight"] + w)
    groups = sorted(
        (sorted(c) for c in nx.community.louvain_communities(graph, weight="weight", seed=11)),
        key=lambda g: g[0],
    )
    return groups, kept


def _mixed_routes(profiles: dict[str, _Profile]) -> list[str]:
    """Routes whose calls follow several office days: carriers rented by several centers."""
    return sorted(
        s
        for s, p in profiles.items()
        if s.startswith("route:")
        and split_office_days(np.repeat(np.arange(24), p.hourly)).max(initial=0) > 0
    )


def _mixture(counts: np.ndarray, components: np.ndarray) -> np.ndarray:
    """The weights of ``components`` (rows: distributions over hours) that best explain ``counts`` (EM)."""
    weights = np.full(len(components), 1.0 / max(len(components), 1))
    for _ in range(200):
        joint = weights[:, None] * components
        posterior = joint / joint.sum(axis=0, keepdims=True)
        weights = (posterior * counts).sum(axis=1) / max(counts.sum(), 1.0)
    return weights


def _pool_unseen(
    best: np.ndarray, keep: np.ndarray, weights: np.ndarray, components: np.ndarray, known: int
) -> np.ndarray:
    """``best`` with office days of no known center pooled when near-identical (one new center).

    EM may share one unseen center's calls among neighbouring office days (an hour's shift
    of start or offset); those within :data:`SAME_OFFICE` of the heaviest are one center.
    """
    pooled = np.arange(keep.size)
    reps: list[int] = []
    for j in np.argsort(-weights[keep], kind="stable").tolist():
        if keep[j] < known:
            continue
        near = [
            r
            for r in reps
            if 0.5 * np.abs(components[keep[j]] - components[keep[r]]).sum() < SAME_OFFICE
        ]
        if near:
            pooled[j] = near[0]
        else:
            reps.append(j)
    return np.asarray(pooled[best], dtype=np.int64)


def _office_days(
    groups: list[list[str]], profiles: dict[str, _Profile]
) -> list[tuple[int, np.ndarray]]:
    """The groups that show an office day, with its hourly shape (smoothed), by group number."""
    centers = []
    for g, members in enumerate(groups):
        if any(m.startswith("range:") for m in members):
            continue  # a Wangiri operation's bursts are no office day
        hourly = sum((profiles[m].hourly for m in members), np.zeros(24, np.int64))
        if hourly.sum() >= MIN_OFFICE_CALLS and estimate_utc_offset(hourly) is not None:
            centers.append((g, (hourly + 0.5) / (hourly.sum() + 12.0)))
    return centers


def _talked_with(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """For each victim, the sources whose call with them was a conversation."""
    talked: dict[str, set[str]] = {}
    for source, b_number in con.execute(
        f"""SELECT DISTINCT f.source, f.b_number FROM fraud_calls f
            WHERE NOT f.internal AND f.duration_s >= {CONVERSATION_S}"""
    ).fetchall():
        talked.setdefault(b_number, set()).add(source)
    return talked


def _office_mixture(
    counts: np.ndarray, components: np.ndarray, *, mixed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The mixture weights of a route's hourly ``counts``, and the office days that keep calls.

    On a route not known to be mixed, several office days are kept only when the mixture
    explains the hours far better than the best single one (see :func:`_share_routes`).
    """
    weights = _mixture(counts, components) if len(components) else np.zeros(0)
    keep = np.flatnonzero(
        (weights * counts.sum() >= MIN_OFFICE_CALLS / 2) & ((weights >= 0.1) | mixed)
    )
    if keep.size > 1 and not mixed:
        shape = weights[keep] @ components[keep] / weights[keep].sum()
        mix = float(counts @ np.log(shape))
        one = float(np.max(np.log(components[keep]) @ counts))
        fits = 0.5 * float(np.abs(counts / counts.sum() - shape).sum()) <= OFFICE_DISTANCE
        if not fits or 2 * (mix - one) < chi2.isf(1e-6, keep.size - 1):
            keep = keep[:0]
    return weights, keep


def _call_scores(
    calls: list[tuple[str, int, str]],
    hours: np.ndarray,
    weights: np.ndarray,
    components: np.ndarray,
    keep: np.ndarray,
    group_no: list[int],
    talked: dict[str, set[str]],
    group_of: dict[str, int],
) -> np.ndarray:
    """Log-likelihood of each call (row) under each kept office day (column), victims weighed in."""
    likely = np.log(weights[keep, None] * components[keep])  # component x hour
    scores = likely[:, hours].T.copy()  # call x component
    for i, (_, _, b_number) in enumerate(calls):
        for source in talked.get(b_number, ()):
            center = group_of.get(source)
            if center is not None and center in group_no:
                scores[i, group_no.index(center)] += np.log(VICTIM_ODDS)
    return np.asarray(scores)


def _share_routes(
    con: duckdb.DuckDBPyConnection,
    routes: list[str],
    groups: list[list[str]],
    profiles: dict[str, _Profile],
    *,
    mixed: bool,
) -> list[list[str]]:
    """Split each shared route's calls among the centers it carries: by office day and victims.

    A center's office day is the hourly activity of the other sources joined into it;
    the route's hourly activity is fitted as a mixture of those (EM) and each call goes
    to the likeliest center, a center that talked with the same victim elsewhere being
    :data:`VICTIM_ODDS` times likelier. A route known to carry several office days
    (``mixed``) is also fitted with every office day no center shows yet, and those
    that keep enough calls are centers of their own. A route already in a center is
    split only when the mixture explains its hours far better than any one center
    (likelihood ratio at 10⁻⁶), so two centers an hour apart on one carrier are told
    apart and a center's own route stays whole. Returns the groups with the route's
    parts (``route:X#1``, ...) in place of the route.
    """
    groups = [list(g) for g in groups]
    home = {m: g for g, members in enumerate(groups) for m in members}
    for route in routes:
        if route in home:
            groups[home[route]].remove(route)
    centers = _office_days(groups, profiles)
    if not mixed and any(
        r in home and groups[home[r]] and home[r] not in {g for g, _ in centers} for r in routes
    ):
        # without the route its center shows no office day: nothing to tell its calls apart by
        return [g + [r for r in routes if home.get(r) == i] for i, g in enumerate(groups)]
    known = [shape for _, shape in centers]
    unseen = [
        t
        for t in (TEMPLATES if mixed else [])
        if all(0.5 * np.abs(t - shape).sum() > KNOWN_OFFICE for shape in known)
    ]
    components = np.array(known + unseen) if known or unseen else np.zeros((0, 24))
    talked = _talked_with(con)
    group_of = {m: g for g, members in enumerate(groups) for m in members}
    moved: dict[str, str] = {}
    """record_id → the route's part its call now comes from"""
    for route in routes:
        calls = con.execute(
            "SELECT record_id, hour(t), b_number FROM fraud_calls WHERE source = ? AND NOT internal ORDER BY record_id",
            [route],
        ).fetchall()
        hours = np.array([h for _, h, _ in calls], dtype=np.int64)
        counts = np.bincount(hours, minlength=24).astype(np.float64)
        weights, keep = _office_mixture(counts, components, mixed=mixed)
        if keep.size <= 1:  # one office day after all: the route stays with its center
            if route in home:
                groups[home[route]].append(route)
            elif keep.size and keep[0] < len(centers):
                groups[centers[int(keep[0])][0]].append(route)
            else:
                groups.append([route])
            continue
        group_no = [centers[k][0] if k < len(centers) else -1 - k for k in keep.tolist()]
        scores = _call_scores(calls, hours, weights, components, keep, group_no, talked, group_of)
        best = _pool_unseen(np.argmax(scores, axis=1), keep, weights, components, len(centers))
        parts = _route_parts(route, calls, best, group_no, groups, moved)
        for k, part in parts.items():  # what a part shows of its office day, for the next pass
            profiles[part] = _Profile(
                hourly=np.bincount(hours[best == k], minlength=24), daily=np.ones(1, np.int64)
            )
    if moved:
        _move_calls(con, moved)
    return [g for g in groups if g]


def _route_parts(
    route: str,
    calls: list[tuple[str, int, str]],
    best: np.ndarray,
    group_no: list[int],
    groups: list[list[str]],
    moved: dict[str, str],
) -> dict[int, str]:
    """The parts of ``route`` (``route#1``, ...) by office day, each put in its center's group.

    ``best`` is each call's office day; ``group_no`` the group of each, negative for an
    office day no center shows (its part becomes a group of its own). Each call's new
    source goes into ``moved``.
    """
    parts: dict[int, str] = {}
    for (record_id, _, _), k in zip(calls, best.tolist(), strict=True):
        if k not in parts:
            parts[k] = f"{route}#{len(parts) + 1}"
            g = group_no[k]
            if g >= 0:
                groups[g].append(parts[k])
            else:
                groups.append([parts[k]])
        moved[record_id] = parts[k]
    return parts


def _move_calls(con: duckdb.DuckDBPyConnection, moved: dict[str, str]) -> None:
    """Give the fraud calls of ``moved`` their new source."""
    con.register("_split", pa.table({"record_id": list(moved), "new_source": list(moved.values())}))
    try:
        con.execute(
            "UPDATE fraud_calls SET source = s.new_source FROM _split s WHERE fraud_calls.record_id = s.record_id"
        )
    finally:
        con.unregister("_split")


def _why(
    campaign: Campaign,
    joined: list[tuple[str, str, str]],
    times: list[float],
    numbers: int,
    *,
    scripts: Mapping[str, TextCluster],
) -> list[Reason]:
    """Why a campaign's calls are one campaign, from the evidence that joined its sources.

    ``scripts`` are the text clusters of the linked complaints by id: the script's reason
    quotes the phrases of the campaign's main one (:func:`_script_reason`).

    Each reason's rule is ``campaign.<kind of evidence>``, its key
    ``analysis.campaign.<kind>``. The office day and the script weigh what their
    links weigh in the graph of sources (:data:`OFFICE_WEIGHT`, :data:`SCRIPT_WEIGHT`);
    the other weights rank the evidence (victims' and caller IDs' links weigh by how
    far beyond chance they are, which a campaign's reason does not add up).
    """
    if campaign.kind == "wangiri":
        ranges = sorted({s.removeprefix("range:") for s in campaign.sources})
        return [
            Reason.said(
                "campaign.range", 1.0, "analysis.campaign.range",
                numbers=numbers, range=", ".join(f"{r}…" for r in ranges),
                days=len({int(t // 86_400) for t in times}),
            )
        ]  # fmt: skip
    if campaign.kind != "call_center":
        return [Reason.said("campaign.round_the_clock", 1.0, "analysis.campaign.round_the_clock")]
    said: list[Reason] = []
    office = fit_office_day(campaign.hourly)
    if office is not None:
        offset, start = office
        said.append(
            Reason.said(
                "campaign.office_day", OFFICE_WEIGHT, "analysis.campaign.office_day",
                sources=len(campaign.sources), start=f"{start:02d}", end=f"{start + 9:02d}",
                offset=f"{offset:+d}",
            )
        )  # fmt: skip
        local = np.asarray(times, dtype=np.float64) + offset * 3600
        days = (local // 86_400).astype(np.int64)
        if days.size and days.max() - days.min() >= 13:  # two weeks show which days are off
            per_day = np.bincount(days - days.min())
            weekday = (days.min() + np.arange(per_day.size) + 3) % 7  # 1 Jan 1970 was a Thursday
            mean = np.array([per_day[weekday == d].mean() for d in range(7)])
            worked = int((mean >= 0.2 * mean.max()).sum())
            said.append(Reason.said("campaign.week", 0.5, "analysis.campaign.week", days=worked))
    base = {s.split("#")[0] for s in campaign.sources}
    inside = [k for a, b, k in set(joined) if a in base and b in base]
    if victims := inside.count("victims"):
        said.append(
            Reason.said(
                "campaign.shared_victims", 2.0, "analysis.campaign.shared_victims", pairs=victims
            )
        )
    if caller_ids := inside.count("caller_ids"):
        said.append(
            Reason.said(
                "campaign.caller_ids", 2.0, "analysis.campaign.caller_ids", pairs=caller_ids
            )
        )
    if (script := _script_reason(campaign, scripts)) is not None:
        said.append(script)
    shared = sorted({s.split("#")[0].removeprefix("route:") for s in campaign.sources if "#" in s})
    if shared:
        said.append(
            Reason.said(
                "campaign.shared_route", 1.0, "analysis.campaign.shared_route",
                routes=", ".join(shared),
            )
        )  # fmt: skip
    return said


def _script_reason(campaign: Campaign, scripts: Mapping[str, TextCluster]) -> Reason | None:
    """The script the campaign's complaints tell, when two or more agree and 60 % do; with the
    scheme and the deciding phrases of the text most of them retell (two or more, that
    category's first), when there is one. ``other`` names no script unless a text does."""
    category, reports = max(
        campaign.report_categories.items(), key=lambda kv: (kv[1], kv[0]), default=("", 0)
    )
    total = sum(campaign.report_categories.values())
    if reports < 2 or reports < 0.6 * total:
        return None
    retold = [
        (scripts[cluster], n)
        for cluster, n in campaign.scripts.items()
        if n >= SCRIPT_TEXT_REPORTS and cluster in scripts
    ]
    if not retold and category == "other":
        return None
    if not retold:
        return Reason.said(
            "campaign.script", SCRIPT_WEIGHT, "analysis.campaign.script",
            category=category, reports=reports, total=total,
        )  # fmt: skip
    main, texts = min(
        retold, key=lambda cn: (cn[0].report_category != category, -cn[1], cn[0].cluster_id)
    )
    quoted = ", ".join(f"«{_cut(p.text, MAX_QUOTED_CHARS)}»" for p in main.phrases) or "«…»"
    return Reason.said(
        "campaign.script", SCRIPT_WEIGHT, "analysis.campaign.script.text",
        category=category, reports=reports, total=total, texts=texts, scheme=main.scheme,
        phrases=quoted,
    )  # fmt: skip


def _cut(text: str, most: int) -> str:
    """``text`` on one line, cut at ``most`` characters (an ellipsis says so)."""
    line = " ".join(text.split())
    return line if len(line) <= most else line[: most - 1] + "…"


CALL_CAMPAIGNS = "call_campaigns"
"""The engine's table of each fraud call's campaign (:func:`assign_campaigns`)."""


def group_campaigns(
    con: duckdb.DuckDBPyConnection, calls: pa.Table, farms: list[Farm]
) -> tuple[pa.Table, list[Campaign]]:
    """Assign a campaign to every fraud call; returns the calls with ``campaign_id`` and the campaigns."""
    con.register("_calls", calls)
    try:
        campaigns = assign_campaigns(con, "_calls", farms)
        out = con.sql(
            f"""
            SELECT c.record_id, c.verdict, cc.campaign_id, c.reasons, c.ingress, c.t AS start_time
            FROM _calls c LEFT JOIN {CALL_CAMPAIGNS} cc USING (record_id)
            ORDER BY c.t, c.record_id
            """
        ).to_arrow_table()
    finally:
        con.unregister("_calls")
    return out, campaigns


def assign_campaigns(
    con: duckdb.DuckDBPyConnection,
    calls: str,
    farms: list[Farm],
    *,
    durations: str | None = "cdrs",
) -> list[Campaign]:
    """The campaigns of the fraud calls among ``calls`` (the engine's table of judged calls), and
    TEMP TABLE ``call_campaigns`` (``record_id``, ``campaign_id``): each fraud call's campaign.

    Only the fraud calls are read out of ``calls``; they are what scales with findings. Their
    durations come from the call records named ``durations``, or from the calls' own
    ``duration_s`` when it is None (fraud calls kept from earlier days, whose records may be
    gone: :mod:`qalqan.analytics.campaign_days`).
    """
    box_imsis = sorted({imsi for f in farms for imsi in f.imsis})
    con.register("_box_imsis", pa.table({"imsi": pa.array(box_imsis, pa.string())}))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _box_numbers AS SELECT DISTINCT s.msisdn FROM subscribers s JOIN _box_imsis USING (imsi)"
    )
    try:
        _sources(con, calls, durations)
        complaints = _complaints(con)
        groups, joined = _grouped_sources(con, complaints)
        _assign_groups(con, groups)
        campaigns, number_of, evidence = _campaigns(con)
        con.register(
            "_campaign_of",
            pa.table({"group_no": list(number_of), "campaign_id": list(number_of.values())}),
        )
        peaks = _peak_lines(con)
        office = {c.campaign_id for c in campaigns if c.kind == "call_center"}
        reported, retold = _reported(con, office, complaints)
        scripts = {c.cluster_id: c for c in complaints.clusters.values()}
        for c in campaigns:
            c.peak_lines = int(peaks.get(c.campaign_id, 0))
            c.report_categories = reported.get(c.campaign_id, {})
            c.scripts = dict(
                sorted(retold.get(c.campaign_id, {}).items(), key=lambda kv: (-kv[1], kv[0]))
            )
            c.said = _why(c, joined, *evidence[c.campaign_id], scripts=scripts)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {CALL_CAMPAIGNS} AS
                SELECT f.record_id, co.campaign_id FROM fraud_calls f JOIN _campaign_of co USING (group_no)"""
        )
    finally:
        for name in ("_assign", "_campaign_of", "_box_imsis"):
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)
    return campaigns


def _grouped_sources(
    con: duckdb.DuckDBPyConnection, complaints: _Complaints
) -> tuple[list[list[str]], list[tuple[str, str, str]]]:
    """The fraud calls' sources grouped into centers, shared routes split among them; and the links."""
    population = int(con.execute("SELECT greatest(count(*), 1) FROM subscribers").fetchall()[0][0])
    sources = [
        r[0] for r in con.execute("SELECT DISTINCT source FROM fraud_calls ORDER BY 1").fetchall()
    ]
    profiles = _profiles(con, sources, complaints)
    shared = _mixed_routes(profiles)
    groups, joined = _group_sources(
        con, [s for s in sources if s not in shared], population, profiles
    )
    groups = _share_routes(con, shared, groups, profiles, mixed=True)
    # a carrier two centers an hour apart both rent looks like one office day: test each
    routes = [s for g in groups for s in g if s.startswith("route:") and "#" not in s]
    for route in routes:
        groups = _share_routes(con, [route], groups, profiles, mixed=False)
    return groups, joined


def _assign_groups(con: duckdb.DuckDBPyConnection, groups: list[list[str]]) -> None:
    """Each fraud call's ``group_no``: its source's group, mixed groups then split."""
    assignment = {s: i for i, g in enumerate(groups) for s in g}
    con.register(
        "_assign",
        pa.table({"source": list(assignment), "group_no": list(assignment.values())}),
    )
    con.execute("ALTER TABLE fraud_calls ADD COLUMN group_no BIGINT")
    con.execute(
        "UPDATE fraud_calls SET group_no = a.group_no FROM _assign a WHERE fraud_calls.source = a.source"
    )
    _split_mixed_campaigns(con, next_group=len(groups))


def _campaigns(
    con: duckdb.DuckDBPyConnection,
) -> tuple[list[Campaign], dict[int, str], dict[str, tuple[list[float], int]]]:
    """The campaigns, largest first; each group's campaign id; each campaign's call times and numbers."""
    stats = con.sql(
        """
        SELECT f.group_no, count(*) AS n_calls,
               count(DISTINCT f.b_number) FILTER (WHERE NOT f.internal) AS n_victims,
               list(DISTINCT f.farm_id) FILTER (WHERE f.farm_id IS NOT NULL) AS farms,
               list(DISTINCT f.ingress) AS routes, list(DISTINCT f.source) AS sources,
               min(f.t) AS first_seen, max(f.t) AS last_seen,
               list(hour(f.t)) FILTER (WHERE NOT f.internal) AS hours,
               list(epoch(f.t)) FILTER (WHERE NOT f.internal) AS times,
               count(DISTINCT f.a_number) AS n_numbers
        FROM fraud_calls f
        GROUP BY 1 ORDER BY n_calls DESC, f.group_no
        """
    ).fetchall()
    campaigns: list[Campaign] = []
    number_of: dict[int, str] = {}
    evidence: dict[str, tuple[list[float], int]] = {}
    for n, (
        group_no,
        n_calls,
        n_victims,
        farm_ids,
        routes,
        srcs,
        first,
        last,
        hours,
        times,
        n_numbers,
    ) in enumerate(stats, 1):
        hourly = np.bincount(np.asarray(hours or [], dtype=np.int64), minlength=24).tolist()
        cid = f"C{n:04d}"
        number_of[group_no] = cid
        evidence[cid] = (times or [], int(n_numbers))
        wangiri = all(s.startswith("range:") for s in srcs)
        total = max(sum(hourly), 1)
        round_the_clock = sum(1 for h in hourly if h / total > 0.005) > 16
        campaigns.append(
            Campaign(
                campaign_id=cid,
                n_calls=int(n_calls),
                n_victims=int(n_victims),
                utc_offset_h=None if wangiri else estimate_utc_offset(hourly),
                farm_ids=sorted(farm_ids or []),
                routes=sorted(r for r in routes if r != "mobile"),
                sources=sorted(srcs),
                peak_lines=0,
                first_seen=first,
                last_seen=last,
                hourly=hourly,
                kind="wangiri"
                if wangiri
                else "bypass"
                if round_the_clock and farm_ids
                else "round_the_clock"
                if round_the_clock
                else "call_center",
            )
        )
    return campaigns, number_of, evidence


def _peak_lines(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The most calls each campaign had going at once (a call's line is busy 20 s past its end)."""
    return dict(
        con.execute(
            """
            WITH c AS (SELECT f.record_id, f.t, f.duration_s, co.campaign_id FROM fraud_calls f
                       JOIN _campaign_of co USING (group_no)),
                 -- in seconds since the epoch: a start and an end at one moment tie exactly
                 ends AS (SELECT c.campaign_id, epoch(c.t) AS ts, 1 AS d FROM c
                          UNION ALL SELECT c.campaign_id, epoch(c.t) + coalesce(c.duration_s, 0) + 20, -1
                          FROM c),
                 running AS (SELECT campaign_id, sum(d) OVER (PARTITION BY campaign_id ORDER BY ts, d
                             ROWS UNBOUNDED PRECEDING) AS lines FROM ends)
            SELECT campaign_id, max(lines) FROM running GROUP BY 1
            """
        ).fetchall()
    )


def _reported(
    con: duckdb.DuckDBPyConnection, office: set[str], complaints: _Complaints
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Citizens' complaints linked to each campaign, counted by category
    (:meth:`_Complaints.category`), and by the text cluster they retell.

    ``office``: the call centers' campaigns, the only ones a victim's complaint is counted for.
    """
    reported: dict[str, dict[str, int]] = {}
    retold: dict[str, dict[str, int]] = {}
    for report_id, campaign_id, chosen, by_victim in con.execute(
        """
        WITH c AS (SELECT f.a_number, f.b_number, f.t, co.campaign_id FROM fraud_calls f
                   JOIN _campaign_of co USING (group_no)),
        linked AS (
            -- a complaint names a number the campaign called from, or comes from one of its
            -- victims within three days of its call
            SELECT r.report_id, c.campaign_id, any_value(r.category) AS category,
                   NOT bool_or(r.reported_number IS NOT NULL AND r.reported_number = c.a_number) AS by_victim
            FROM reports r JOIN c
              ON (r.reported_number IS NOT NULL AND r.reported_number = c.a_number)
              OR (r.reporter = c.b_number AND r.time BETWEEN c.t AND c.t + INTERVAL 3 DAY)
            GROUP BY 1, 2
        )
        SELECT report_id, campaign_id, category, by_victim FROM linked ORDER BY report_id, campaign_id
        """
    ).fetchall():
        # A bypass box calls everybody: its callees' complaints are about someone else.
        if by_victim and campaign_id not in office:
            continue
        if (category := complaints.category(report_id, chosen)) is not None:
            counts = reported.setdefault(campaign_id, {})
            counts[category] = counts.get(category, 0) + 1
        if (script := complaints.script(report_id)) is not None:
            texts = retold.setdefault(campaign_id, {})
            texts[script.cluster_id] = texts.get(script.cluster_id, 0) + 1
    return reported, retold
