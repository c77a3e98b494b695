"""Campaigns: fraud calls grouped into the call centers behind them, and where those work from.

A call center reaches its victims over several routes (international carriers,
VoIP trunks, SIM farms at home) with changing caller IDs, but it leaves
traces that tie its calls together:

- *sources*: every call comes from a source — a farm, a Wangiri number range,
  or a route from abroad;
- *shared victims beyond chance*: a drawn-in victim is called again, often over
  another route; two sources that share far more victims than chance allows
  (given how many people each called) belong to one center;
- *reused caller IDs*: the same spoofed number on two sources;
- *working hours*: a call center keeps its own office hours; its hourly
  activity gives its UTC offset (:func:`estimate_utc_offset`).

Sources joined by that evidence form a campaign. For each campaign: its calls,
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
    kind: str = "call_center"


def estimate_utc_offset(hourly_utc: list[int] | np.ndarray) -> float | None:
    """The UTC offset that best fits an office day (9–18 with a lunch hour at 13) to the activity.

    Returns None when the activity is spread round the clock (no working day to fit).
    """
    counts = np.asarray(hourly_utc, dtype=np.float64)
    total = counts.sum()
    if total < 20:
        return None
    share = counts / total
    # round-the-clock traffic has no office day
    if (share > 0.005).sum() > 16:
        return None
    best, best_fit = None, -np.inf
    for offset in range(-11, 15):
        for start in (8, 9, 10):
            template = np.zeros(24)
            for local in range(start, start + 9):
                if local != LUNCH:
                    template[(local - offset) % 24] = 1.0
            template /= template.sum()
            fit = float(np.dot(share, np.log(template * 0.97 + 0.03 / 24)))
            if fit > best_fit:
                best, best_fit = offset, fit
    return float(best) if best is not None else None


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
        stats = con.sql(
            """
            SELECT a.group_no, count(*) AS n_calls,
                   count(DISTINCT f.b_number) FILTER (WHERE NOT f.internal) AS n_victims,
                   list(DISTINCT f.farm_id) FILTER (WHERE f.farm_id IS NOT NULL) AS farms,
                   list(DISTINCT f.ingress) AS routes, list(DISTINCT f.source) AS sources,
                   min(f.t) AS first_seen, max(f.t) AS last_seen,
                   list(hour(f.t)) FILTER (WHERE NOT f.internal) AS hours
            FROM fraud_calls f JOIN _assign a USING (source)
            GROUP BY 1 ORDER BY n_calls DESC, a.group_no
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
            hourly = np.bincount(np.asarray(hours, dtype=np.int64), minlength=24).tolist()
            cid = f"C{n:04d}"
            number_of[group_no] = cid
            wangiri = all(s.startswith("range:") for s in srcs)
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
                    kind="wangiri" if wangiri else "call_center",
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
                           JOIN _assign a USING (source) JOIN _campaign_of co USING (group_no)),
                     ends AS (SELECT c.campaign_id, c.t AS ts, 1 AS d FROM c
                              UNION ALL SELECT c.campaign_id, c.t + to_seconds(coalesce(k.duration_s, 0) + 20), -1
                              FROM c JOIN cdrs k USING (record_id)),
                     running AS (SELECT campaign_id, sum(d) OVER (PARTITION BY campaign_id ORDER BY ts, d
                                 ROWS UNBOUNDED PRECEDING) AS lines FROM ends)
                SELECT campaign_id, max(lines) FROM running GROUP BY 1
                """
            ).fetchall()
        )
        for c in campaigns:
            c.peak_lines = int(peaks.get(c.campaign_id, 0))
        out = con.sql(
            """
            SELECT c.record_id, c.verdict, co.campaign_id, c.reasons, c.ingress, c.t AS start_time
            FROM _calls c
            LEFT JOIN fraud_calls f USING (record_id)
            LEFT JOIN _assign a USING (source)
            LEFT JOIN _campaign_of co USING (group_no)
            ORDER BY c.t, c.record_id
            """
        ).to_arrow_table()
    finally:
        for name in ("_calls", "_assign", "_campaign_of", "_box_imsis"):
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)
    return out, campaigns
