"""Campaigns: fraud calls grouped into the call centers behind them, and where those work from.

A call center reaches its victims over several routes (international carriers,
VoIP trunks, SIM farms at home) with changing caller IDs, but it leaves
traces that tie its calls together:

- *sources*: every call comes from a source — a farm, a Wangiri number range,
  or a route from abroad, split by office day when several centers share it
  (:func:`split_office_days`);
- *shared victims beyond chance*: a drawn-in victim is called again, often over
  another route; two sources that share far more victims than chance allows
  (given how many people each called) belong to one center;
- *reused caller IDs*: the same spoofed number on two sources;
- *working hours*: a call center keeps its own office hours; its hourly
  activity gives its UTC offset (:func:`estimate_utc_offset`);
- *complaints*: citizens' reports naming its numbers, or made by its victims
  right after its calls, tell its script (bank security, police, ...).

Communities of sources joined by that evidence form campaigns; a campaign that
still follows two office days is split by the hour. For each campaign: its calls,
distinct victims, estimated UTC offset of its working day, peak concurrent
lines, farms and routes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import duckdb
import networkx as nx
import numpy as np
import pyarrow as pa

from qalqan.analytics.farms import Farm

__all__ = ["Campaign", "estimate_utc_offset", "group_campaigns"]

#: An office day: work from 9 to 18 local with lunch at 13:00.
OFFICE_START, OFFICE_END, LUNCH = 9, 18, 13


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
    """Complaints linked to the campaign, by scam category (the call center's script)."""
    kind: str = "call_center"
    """``call_center`` (an office day), ``bypass`` (a SIM box round the clock), ``wangiri``."""


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


def estimate_utc_offset(hourly_utc: list[int] | np.ndarray) -> float | None:
    """The UTC offset that best fits an office day (8, 9 or 10 for nine hours, lunch at 13) to the activity.

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
    return float(TEMPLATE_KEYS[int(np.argmax(fit))][0])


def split_office_days(
    hours: np.ndarray, *, min_share: float = 0.08, min_calls: int = 20
) -> np.ndarray:
    """Which office day each call of a shared route came from, by its UTC hour.

    A carrier rented by two call centers in different time zones carries two office
    days. The route's hourly activity is fitted as a mixture of office-day templates
    (EM over the templates' weights); near-identical templates pool their weight, and
    those keeping at least ``min_share`` of the calls (and ``min_calls`` calls) are the
    centers; each call goes to the likeliest. Returns one label a
    call (0 when the route is one office day).
    """
    hours = np.asarray(hours, dtype=np.int64)
    if hours.size < 60:
        return np.zeros(hours.size, dtype=np.int64)
    counts = np.bincount(hours, minlength=24).astype(np.float64)
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
        return np.zeros(hours.size, dtype=np.int64)
    joint = weights[kept, None] * TEMPLATES[kept]
    return np.asarray(np.argmax(joint[:, hours], axis=0), dtype=np.int64)


def _sources(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE fraud_calls AS
        SELECT c.record_id, c.t, c.ingress, c.a_number, c.b_number, c.farm_id, c.imsi,
               -- a farm calling its own SIMs to look human: not a victim, not office hours
               c.b_number IN (SELECT msisdn FROM _box_numbers) AS internal,
               CASE WHEN c.farm_id IS NOT NULL THEN 'farm:' || c.farm_id
                    WHEN c.imsi IS NOT NULL THEN 'sim:' || c.imsi
                    WHEN starts_with(c.reasons, 'wangiri') THEN 'range:' || left(c.a_number, length(c.a_number) - 2)
                    ELSE 'route:' || c.ingress END AS source
        FROM _calls c WHERE c.verdict IN ('fraud', 'spoofed')
        """
    )


def _split_shared_routes(con: duckdb.DuckDBPyConnection) -> None:
    """Give each office day on a shared route a source of its own (``route:X#1``, ``route:X#2``)."""
    rows = con.execute(
        "SELECT record_id, source, hour(t) FROM fraud_calls WHERE starts_with(source, 'route:') ORDER BY source, record_id"
    ).fetchall()
    by_source: dict[str, list[tuple[str, int]]] = {}
    for record_id, source, hour in rows:
        by_source.setdefault(source, []).append((record_id, hour))
    ids: list[str] = []
    names: list[str] = []
    for source, calls in by_source.items():
        labels = split_office_days(np.array([h for _, h in calls]))
        if labels.max(initial=0) == 0:
            continue
        ids += [r for r, _ in calls]
        names += [f"{source}#{int(k) + 1}" for k in labels]
    if not ids:
        return
    con.register("_split", pa.table({"record_id": ids, "new_source": names}))
    try:
        con.execute(
            "UPDATE fraud_calls SET source = s.new_source FROM _split s WHERE fraud_calls.record_id = s.record_id"
        )
    finally:
        con.unregister("_split")


def _split_mixed_campaigns(con: duckdb.DuckDBPyConnection, *, next_group: int) -> None:
    """A campaign whose calls follow two office days is two call centers: split it by the hour.

    Campaigns with a source busy round the clock (a bypass box) or made of Wangiri
    ranges have no office day and are left whole.
    """
    rows = con.execute(
        """
        WITH busy AS (SELECT source FROM fraud_calls GROUP BY source HAVING count(DISTINCT hour(t)) >= 18),
        whole AS (
            SELECT DISTINCT group_no FROM fraud_calls
            WHERE source IN (SELECT source FROM busy) OR starts_with(source, 'range:')
        )
        SELECT group_no, record_id, hour(t) FROM fraud_calls
        WHERE NOT internal AND group_no NOT IN (SELECT group_no FROM whole)
        ORDER BY group_no, record_id
        """
    ).fetchall()
    by_group: dict[int, list[tuple[str, int]]] = {}
    for group_no, record_id, hour in rows:
        by_group.setdefault(int(group_no), []).append((record_id, int(hour)))
    ids: list[str] = []
    new: list[int] = []
    for calls in by_group.values():
        labels = split_office_days(np.array([h for _, h in calls]))
        if labels.max(initial=0) == 0:
            continue
        numbers = {k: next_group + i for i, k in enumerate(sorted(set(labels.tolist())))}
        next_group += len(numbers)
        ids += [r for r, _ in calls]
        new += [numbers[int(k)] for k in labels]
    if not ids:
        return
    con.register("_regroup", pa.table({"record_id": ids, "group_no": pa.array(new, pa.int64())}))
    try:
        con.execute(
            "UPDATE fraud_calls SET group_no = r.group_no FROM _regroup r WHERE fraud_calls.record_id = r.record_id"
        )
    finally:
        con.unregister("_regroup")
    # A farm's calls between its own SIMs go where the farm's calls to victims went.
    con.execute(
        """
        UPDATE fraud_calls SET group_no = m.g
        FROM (SELECT source, mode(group_no) AS g FROM fraud_calls WHERE NOT internal GROUP BY source) m
        WHERE fraud_calls.internal AND fraud_calls.source = m.source
        """
    )


def _links(con: duckdb.DuckDBPyConnection, population: int) -> list[tuple[str, str, float]]:
    """Source pairs sharing victims well beyond chance, or reusing caller IDs.

    Chance is what two sources calling that many people each out of the whole
    population would share; follow-up calls on a drawn-in victim over another
    route push the overlap far beyond it.
    """
    # Sources busy round the clock (bypass boxes) call everybody: sharing victims with them means nothing.
    busy = {
        s
        for (s,) in con.execute(
            """SELECT source FROM fraud_calls GROUP BY source HAVING count(DISTINCT hour(t)) >= 18"""
        ).fetchall()
    }
    victims = con.sql(
        """
        WITH v AS (SELECT DISTINCT source, b_number FROM fraud_calls WHERE NOT internal),
        sizes AS (SELECT source, count(*) AS n FROM v GROUP BY 1)
        SELECT x.source AS a, y.source AS b, count(*) AS shared, any_value(sx.n) AS na, any_value(sy.n) AS nb
        FROM v x JOIN v y ON x.b_number = y.b_number AND x.source < y.source
        JOIN sizes sx ON sx.source = x.source JOIN sizes sy ON sy.source = y.source
        GROUP BY 1, 2
        """
    ).fetchall()
    links = []
    for a, b, shared, na, nb in victims:
        if a in busy or b in busy:
            continue
        expected = na * nb / max(population, 1)
        if shared >= 2 and shared >= 4 * expected:
            links.append((a, b, min(float(shared) / max(expected, 0.1), 20.0)))
    clis = con.sql(
        """
        WITH c AS (SELECT DISTINCT source, a_number FROM fraud_calls
                   WHERE a_number IS NOT NULL AND NOT starts_with(source, 'farm:') AND NOT starts_with(source, 'sim:'))
        SELECT x.source, y.source, count(*) FROM c x JOIN c y ON x.a_number = y.a_number AND x.source < y.source
        GROUP BY 1, 2 HAVING count(*) >= 3
        """
    ).fetchall()
    links += [(a, b, float(n)) for a, b, n in clis]
    return links


def group_campaigns(
    con: duckdb.DuckDBPyConnection, calls: pa.Table, farms: list[Farm]
) -> tuple[pa.Table, list[Campaign]]:
    """Assign a campaign to every fraud call; returns the calls with ``campaign_id`` and the campaigns."""
    con.register("_calls", calls)
    box_imsis = sorted({imsi for f in farms for imsi in f.imsis})
    con.register("_box_imsis", pa.table({"imsi": pa.array(box_imsis, pa.string())}))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _box_numbers AS SELECT DISTINCT s.msisdn FROM subscribers s JOIN _box_imsis USING (imsi)"
    )
    try:
        _sources(con)
        _split_shared_routes(con)
        population = int(
            con.execute("SELECT greatest(count(*), 1) FROM subscribers").fetchall()[0][0]
        )
        sources = [
            r[0]
            for r in con.execute("SELECT DISTINCT source FROM fraud_calls ORDER BY 1").fetchall()
        ]
        graph = nx.Graph()
        graph.add_nodes_from(sources)
        for a, b, w in _links(con, population):
            graph.add_edge(a, b, weight=w)
        groups = sorted(
            (sorted(c) for c in nx.community.louvain_communities(graph, weight="weight", seed=11)),
            key=lambda g: g[0],
        )
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
        stats = con.sql(
            """
            SELECT f.group_no, count(*) AS n_calls,
                   count(DISTINCT f.b_number) FILTER (WHERE NOT f.internal) AS n_victims,
                   list(DISTINCT f.farm_id) FILTER (WHERE f.farm_id IS NOT NULL) AS farms,
                   list(DISTINCT f.ingress) AS routes, list(DISTINCT f.source) AS sources,
                   min(f.t) AS first_seen, max(f.t) AS last_seen,
                   list(hour(f.t)) FILTER (WHERE NOT f.internal) AS hours
            FROM fraud_calls f
            GROUP BY 1 ORDER BY n_calls DESC, f.group_no
            """
        ).fetchall()
        campaigns: list[Campaign] = []
        number_of: dict[int, str] = {}
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
        ) in enumerate(stats, 1):
            hourly = np.bincount(np.asarray(hours or [], dtype=np.int64), minlength=24).tolist()
            cid = f"C{n:04d}"
            number_of[group_no] = cid
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
        con.register(
            "_campaign_of",
            pa.table({"group_no": list(number_of), "campaign_id": list(number_of.values())}),
        )
        peaks = dict(
            con.execute(
                """
                WITH c AS (SELECT f.record_id, f.t, co.campaign_id FROM fraud_calls f
                           JOIN _campaign_of co USING (group_no)),
                     ends AS (SELECT c.campaign_id, c.t AS ts, 1 AS d FROM c
                              UNION ALL SELECT c.campaign_id, c.t + to_seconds(coalesce(k.duration_s, 0) + 20), -1
                              FROM c JOIN cdrs k USING (record_id)),
                     running AS (SELECT campaign_id, sum(d) OVER (PARTITION BY campaign_id ORDER BY ts, d
                                 ROWS UNBOUNDED PRECEDING) AS lines FROM ends)
                SELECT campaign_id, max(lines) FROM running GROUP BY 1
                """
            ).fetchall()
        )
        office = {c.campaign_id for c in campaigns if c.kind == "call_center"}
        reported: dict[str, dict[str, int]] = {}
        for campaign_id, category, by_victim in con.execute(
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
            SELECT campaign_id, category, by_victim FROM linked ORDER BY report_id, campaign_id
            """
        ).fetchall():
            # A bypass box calls everybody: its callees' complaints are about someone else.
            if by_victim and campaign_id not in office:
                continue
            counts = reported.setdefault(campaign_id, {})
            counts[category] = counts.get(category, 0) + 1
        for c in campaigns:
            c.peak_lines = int(peaks.get(c.campaign_id, 0))
            c.report_categories = reported.get(c.campaign_id, {})
        out = con.sql(
            """
            SELECT c.record_id, c.verdict, co.campaign_id, c.reasons, c.ingress, c.t AS start_time
            FROM _calls c
            LEFT JOIN fraud_calls f USING (record_id)
            LEFT JOIN _campaign_of co USING (group_no)
            ORDER BY c.t, c.record_id
            """
        ).to_arrow_table()
    finally:
        for name in ("_calls", "_assign", "_campaign_of", "_box_imsis"):
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)
    return out, campaigns
