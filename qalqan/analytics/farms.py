"""SIM farms: the SIM–SIM evidence graph, its communities, and where the equipment stands.

A farm that uses each SIM about twice and then replaces it is invisible SIM
by SIM: two calls say little. Together its SIMs give themselves away. The
graph joins two suspect SIMs when

- they were seen in the same handset (IMEI) — the box's channel;
- they were activated the same day with neighbouring IMSIs, or registered to
  the same owner — bought together;
- they called or texted each other — a farm faking its SIMs' lives;
- they worked from the same site on the same day, one going silent as the
  other starts — the same box, changing SIMs;
- they called the same victims.

Farms whose SIMs live like people (a handset each, calls and SMS among
themselves, call-backs from outside, moving through a city) give little away
SIM by SIM. What they cannot fake is a life beyond the farm: such a SIM keeps
in touch with nobody but other young SIMs, while it calls strangers who do not
call it back. :func:`farm_like_groups` finds young SIMs tied by calls or SMS
among themselves from the same site within hours, and judges each group as a
whole; the SIMs of a group judged a farm become candidates however little
each one says on its own.

Each edge has a weight by how telling it is; the graph's pieces (SIMs tied by
hard evidence, each stray placed with the piece it is tied to most) are scored
as a whole, and their members inherit the verdict. A farm's place is the site that carried most of its calls, with the
other sites it used; its track is where it stood in time order (:class:`Stay`):
the equipment moves and rests, and an investigator follows it from site to site.

The graph, the farm-like groups and the farms' growth read the per-SIM partials
(``part_*`` of :mod:`qalqan.analytics.features`, and :data:`FARM_PARTIALS`),
never the call records themselves: the partials of earlier days merged with those
of a new day give the same farms as all the records, so a daily run
(:mod:`qalqan.analytics.incremental`) need not read the days before. A farm's
handsets, sites, cells and span come from the same partials; only its track reads its
own SIMs' calls, of its last :data:`TRACK_DAYS` days.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb
import networkx as nx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from qalqan.analytics.features import Partial, has_table, utc_days_sql
from qalqan.domain.messages import reasons_cell
from qalqan.domain.model import Reason

__all__ = [
    "EDGE_WEIGHTS",
    "EVIDENCE_MESSAGES",
    "EVIDENCE_RULES",
    "FARM_PARTIALS",
    "MAX_STAYS",
    "TRACK_DAYS",
    "Farm",
    "FarmLikeSettings",
    "Stay",
    "farm_like_groups",
    "farm_partials",
    "find_farms",
]

#: The message (qalqan.domain.messages) that tells each kind of evidence, with ``pairs``.
EVIDENCE_MESSAGES: dict[str, str] = {
    "shared_imei": "analysis.farm.evidence.shared_imei",
    "activation_batch": "analysis.farm.evidence.activation_batch",
    "same_owner": "analysis.farm.evidence.same_owner",
    "sim_to_sim": "analysis.farm.evidence.sim_to_sim",
    "same_site_day": "analysis.farm.evidence.same_site_day",
    "shared_victims": "analysis.farm.evidence.shared_victims",
}

#: The rule id of each kind of evidence in a farm's reasons.
EVIDENCE_RULES: dict[str, str] = {kind: f"simfarm.{kind}" for kind in EVIDENCE_MESSAGES}

#: How much one kind of evidence says that two SIMs belong to one box.
EDGE_WEIGHTS: dict[str, float] = {
    "shared_imei": 3.0,
    "activation_batch": 2.0,
    "same_owner": 2.0,
    "sim_to_sim": 2.0,
    "same_site_day": 0.5,
    "shared_victims": 0.5,
}


#: The partials the farms read beside those of the features (``part_<name>``), made from
#: ``mo`` and merged across days as :class:`~qalqan.analytics.features.Partial` says:
#: the sites each SIM worked from, hour by hour (two SIMs stood together). Who called or
#: texted which SIM (``sim_to_sim``, the direction matters when a farm grows) is one of
#: the features' (:data:`~qalqan.analytics.features.PARTIALS`), whose contacts read it.
FARM_PARTIALS: tuple[Partial, ...] = (
    Partial(
        name="sim_site_hour",
        keys=("imsi", "site", "hour_n"),
        merge={},
        select="""SELECT DISTINCT imsi, site, CAST(epoch(t) AS BIGINT) // 3600 AS hour_n
                  FROM {mo} WHERE site IS NOT NULL""",
    ),
)


def farm_partials(
    con: duckdb.DuckDBPyConnection,
    *,
    prefix: str = "part_",
    mo: str = "mo",
    partials: Iterable[Partial] = FARM_PARTIALS,
) -> None:
    """Every partial of ``partials`` (:data:`FARM_PARTIALS`) of the records in ``mo``, as
    ``<prefix><name>``."""
    for partial in partials:
        select = partial.select.format(mo=mo)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {prefix}{partial.name} AS {select}")


def _missing_farm_partials(con: duckdb.DuckDBPyConnection) -> list[Partial]:
    """Make each farm partial from ``mo`` unless it is there already (a daily run merged
    it from the kept state); those made here, to be dropped after use."""
    missing = [p for p in FARM_PARTIALS if not has_table(con, p.table)]
    farm_partials(con, partials=missing)
    return missing


def _drop_farm_partials(con: duckdb.DuckDBPyConnection, made: Iterable[Partial]) -> None:
    for partial in made:
        con.execute(f"DROP TABLE IF EXISTS {partial.table}")


#: Most stays a farm's track keeps (the latest); a farm hopping between two sites
#: every few minutes would otherwise make one as long as its calls.
MAX_STAYS = 500

#: The days of calls a farm's track is drawn from: the day of the farm's last call (UTC)
#: and the days before it. Where the equipment stood lately is what an investigator
#: follows; its first and last calls, sites and handsets are of every day. The window keeps
#: a daily run's reading of the kept calls the same whatever the days kept (every kept
#: day's calls before: some 0.15 CPU s more for each day at 200,000 SIMs).
TRACK_DAYS = 14


@dataclass(frozen=True, slots=True)
class Stay:
    """One stop of a farm's track: its SIMs worked from ``site`` from ``first`` to ``last``.

    A stay ends when the farm's next call or SMS comes from another site; the
    farm may come back to a site later (another stay).
    """

    site: str
    lat: float | None
    lon: float | None
    first: object
    last: object
    calls: int
    """Calls and SMS the farm's SIMs made from the site during the stay."""
    sims: int
    """Different SIMs of the farm that worked from it during the stay."""

    def as_dict(self) -> dict[str, object]:
        return {
            "site": self.site,
            "lat": None if self.lat is None else round(float(self.lat), 6),
            "lon": None if self.lon is None else round(float(self.lon), 6),
            "first": _iso(self.first),
            "last": _iso(self.last),
            "calls": self.calls,
            "sims": self.sims,
        }


def _iso(t: object) -> str | None:
    """A time as ISO 8601 UTC with ``Z`` (the exchange format's time)."""
    if t is None:
        return None
    iso = getattr(t, "isoformat", None)
    if iso is None:
        return str(t)
    text = str(iso())
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(slots=True)
class Farm:
    farm_id: str
    imsis: list[str]
    imeis: list[str]
    lat: float | None
    lon: float | None
    sites: list[str]
    cells: list[str]
    first_seen: object
    last_seen: object
    score: float
    evidence: dict[str, int] = field(default_factory=dict)
    """Edges of each kind inside the farm."""
    track: list[Stay] = field(default_factory=list)
    """Where the farm stood, in time order (the latest :data:`MAX_STAYS` stays)."""
    shared_imeis: list[str] = field(default_factory=list)
    """Of :attr:`imeis`, those that SIMs of no farm used too: a modem carrying a real phone's
    IMEI, the phone elsewhere (a handset ties SIMs only where they met, :func:`_edges`).
    The equipment's, but no mark of it: listing them would stop the phone's owner."""

    def said(self) -> list[Reason]:
        """The evidence, kind by kind, most pairs first (ties by kind), each a reason.

        The rule of each is ``simfarm.<kind>`` (:data:`EVIDENCE_RULES`), its weight what
        that evidence adds to the farm in the SIM graph: its pairs times the weight
        of one such pair (:data:`EDGE_WEIGHTS`).
        """
        return [
            Reason.said(EVIDENCE_RULES[k], EDGE_WEIGHTS[k] * n, EVIDENCE_MESSAGES[k], pairs=n)
            for k, n in sorted(self.evidence.items(), key=lambda x: (-x[1], x[0]))
            if n
        ]

    def reasons(self) -> str:
        """The evidence in English, ``"; "``-separated (``farms.csv``'s ``reasons``)."""
        return "; ".join(r.detail for r in self.said())

    def reason_facts(self) -> str | None:
        """:meth:`said` as data, in the order of :meth:`reasons` (``reason_facts``)."""
        return reasons_cell(self.said())


@dataclass(frozen=True, slots=True, kw_only=True)
class FarmLikeSettings:
    """What makes a group of young SIMs a farm that fakes its SIMs' lives."""

    min_sims: int = 4
    """SIMs in the group."""
    max_kept_contacts: int = 1
    """People beyond the young SIMs a member may keep in touch with (two calls or SMS, any way)."""
    max_callback_share: float = 0.2
    """Share of the group's callees outside it that may have called one of its SIMs."""
    min_callees_per_sim: float = 1.0
    """Different people outside the group it called, per SIM: a farm exists to call them."""
    together_h: float = 3.0
    """Two SIMs stood together when they worked from one site within this many hours (whole
    hours: the partial of the sites SIMs worked from counts hours since the epoch)."""
    group_score: float = 0.9
    """The score a member of a farm-like group is given (as a candidate of :func:`find_farms`)."""


def farm_like_groups(
    con: duckdb.DuckDBPyConnection, settings: FarmLikeSettings | None = None
) -> list[list[str]]:
    """Groups of young SIMs that live only among themselves and call strangers: farms.

    Needs the feature tables (``part_*``, ``pairs``, ``sim_age``, ``sim_subscriber``; the
    farm partials are made from ``mo`` when they are not there). A
    member is a young SIM (``sim_age.young``), not corporate or M2M, that kept in
    touch with at most ``max_kept_contacts`` people outside the young SIMs; two
    members are tied when one called or texted the other and both worked from one
    site within ``together_h`` hours. A connected group of ``min_sims`` or more is a
    farm when its calls out of the group went to ``min_callees_per_sim`` different
    people per SIM or more, hardly any of whom (``max_callback_share``) called back.
    """
    s = settings or FarmLikeSettings()
    made = _missing_farm_partials(con)
    try:
        return _farm_like_groups(con, s)
    finally:
        _drop_farm_partials(con, made)


def _farm_like_groups(con: duckdb.DuckDBPyConnection, s: FarmLikeSettings) -> list[list[str]]:
    """:func:`farm_like_groups` once the farm partials are there."""
    slot_h = max(int(s.together_h), 1)
    rows = con.execute(
        """
        WITH young AS (
            SELECT a.imsi, u.msisdn FROM sim_age a JOIN sim_subscriber u USING (imsi)
            WHERE a.young AND coalesce(u.plan, '') NOT IN ('corporate', 'm2m')
              AND u.msisdn IS NOT NULL
        ),
        young_numbers AS (SELECT DISTINCT msisdn FROM young),
        -- only the young SIMs' own contacts count: the rest of the network is not read
        both_ways AS (
            SELECT a_number AS me, b_number AS other, n FROM pairs
            WHERE a_number IN (SELECT msisdn FROM young_numbers)
            UNION ALL SELECT b_number, a_number, n FROM pairs
            WHERE b_number IN (SELECT msisdn FROM young_numbers)
        ),
        living AS (
            SELECT y.imsi FROM young y JOIN (
                SELECT me, count(DISTINCT other) AS people FROM (
                    SELECT me, other, sum(n) AS n FROM both_ways GROUP BY 1, 2
                ) WHERE n >= 2 AND other NOT IN (SELECT msisdn FROM young_numbers) GROUP BY me
            ) k ON k.me = y.msisdn
            WHERE k.people > ?
        ),
        member AS (SELECT imsi FROM young WHERE imsi NOT IN (SELECT imsi FROM living)),
        places AS (
            SELECT DISTINCT p.imsi, p.site, p.hour_n // ? AS slot
            FROM part_sim_site_hour p JOIN member USING (imsi)
        ),
        ties AS (
            -- the contacts are kept both ways: each pair once, the smaller SIM first
            SELECT c.imsi AS a, c.other AS b
            FROM part_sim_contact c JOIN member x ON x.imsi = c.imsi JOIN member y ON y.imsi = c.other
            WHERE c.imsi < c.other
        )
        -- tied pairs that stood at one site within a slot of each other
        SELECT DISTINCT t.a, t.b FROM ties t
        JOIN places p ON p.imsi = t.a
        JOIN places q ON q.imsi = t.b AND q.site = p.site AND q.slot BETWEEN p.slot - 1 AND p.slot + 1
        ORDER BY t.a, t.b
        """,
        [s.max_kept_contacts, slot_h],
    ).fetchall()
    graph = nx.Graph()
    graph.add_edges_from(rows)
    groups = [sorted(c) for c in nx.connected_components(graph) if len(c) >= s.min_sims]
    if not groups:
        return []
    con.register("_groups", _membership(groups, "grp"))
    try:
        judged = con.execute(
            """
            WITH numbers AS (
                SELECT g.grp, u.msisdn FROM _groups g JOIN sim_subscriber u USING (imsi)
            ),
            out_calls AS (
                -- calls to numbers outside the group (an anti-join, portable to Spark)
                SELECT g.grp, m.b_number FROM part_sim_callee m JOIN _groups g USING (imsi)
                LEFT JOIN numbers own ON own.grp = g.grp AND own.msisdn = m.b_number
                WHERE own.msisdn IS NULL
            ),
            callees AS (SELECT DISTINCT grp, b_number FROM out_calls),
            called_back AS (
                SELECT DISTINCT c.grp, c.b_number FROM callees c
                JOIN pairs p ON p.a_number = c.b_number
                JOIN numbers n ON n.msisdn = p.b_number AND n.grp = c.grp
            ),
            back AS (SELECT grp, count(*) AS back FROM called_back GROUP BY grp)
            SELECT c.grp, count(*) AS callees, coalesce(max(b.back), 0) AS back
            FROM callees c LEFT JOIN back b USING (grp) GROUP BY c.grp ORDER BY c.grp
            """
        ).fetchall()
    finally:
        con.unregister("_groups")
    found = []
    for grp, callees, back in judged:
        members = groups[int(grp)]
        if callees < s.min_callees_per_sim * len(members):
            continue
        if back > s.max_callback_share * callees:
            continue
        found.append(members)
    return found


#: Each SIM of ``handsets`` (``imsi``, ``imei``) with its handset beside each site it was seen
#: at: a handset ties two SIMs where they meet on both at once (:func:`_edges`,
#: :func:`_expand`), each handset's SIMs paired once a site, not once for every two sites.
_HANDSET_SITES = """SELECT DISTINCT h.imsi, h.imei, c.site
                    FROM handsets h JOIN part_sim_cell c USING (imsi)"""

MAX_CLIQUE = 5_000
"""The most candidate SIMs on one key (a handset at a site, an activation day, an owner, a
site on a day, a callee) that the SIM graph links pair by pair. Beyond it the key's SIMs are
linked in a chain, each to the next in IMSI order: the same SIMs tied together, with one
link a SIM instead of one for every other SIM. Who dials, from where, on whose name and in
which handset is the other side's to choose, and 100,000 suspect SIMs calling one number
would otherwise be 5 billion pairs. Over 40 days of 463,000 subscribers (100 million call
records, 16,176 candidate SIMs, farms of up to 10,000 SIMs) no key had more than 1,784 of
them (an owner)."""


def _shared(name: str, source: str, key: str, kind: str, *, near: str | None = None) -> str:
    """SQL: the common table expressions ``{name}_keyed`` and ``{name}``: the pairs (``a`` < ``b``)
    of the SIMs of ``source`` (its ``imsi`` and the columns ``key``, a SIM once a key) that
    share a key, with ``kind``. Every pair of a key's SIMs up to :data:`MAX_CLIQUE` of them;
    beyond that each SIM and the next in IMSI order.

    With ``near``, a column of numbers, only the SIMs of a key whose numbers are at most
    1,000 apart are paired; beyond :data:`MAX_CLIQUE`, each SIM and the next in the order of
    that number when they are at most 1,000 apart: the SIMs the pairs tie together are the
    same.
    """
    same = " AND ".join(f"x.{k} = y.{k}" for k in (k.strip() for k in key.split(",")))
    close = f" AND abs(x.{near} - y.{near}) <= 1000" if near else ""
    return f"""
        {name}_keyed AS (
            SELECT *, count(*) OVER (PARTITION BY {key}) AS key_sims,
                   row_number() OVER (PARTITION BY {key} ORDER BY {f"{near}, " if near else ""}imsi) AS k
            FROM {source}
        ),
        {name} AS (
            SELECT x.imsi AS a, y.imsi AS b, '{kind}' AS kind
            FROM {name}_keyed x JOIN {name}_keyed y ON {same} AND x.imsi < y.imsi{close}
            WHERE x.key_sims <= {MAX_CLIQUE} AND y.key_sims <= {MAX_CLIQUE}
            UNION ALL
            SELECT least(x.imsi, y.imsi), greatest(x.imsi, y.imsi), '{kind}'
            FROM {name}_keyed x JOIN {name}_keyed y ON {same} AND y.k = x.k + 1{close}
            WHERE x.key_sims > {MAX_CLIQUE} AND y.key_sims > {MAX_CLIQUE}
        )"""


def _edges(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Pairs (a < b) of candidate SIMs with the kind of evidence that links them, from the partials.

    A handset ties two SIMs only where both were seen at one site: a box's modems take
    the IMEIs of real phones (copied, or drawn from the phones' own ranges), and the
    phone whose IMEI a modem carries, in its owner's pocket in another town, is a second
    handset with the same number, not a SIM that passed through the box. A key shared by
    more than :data:`MAX_CLIQUE` candidate SIMs links them in a chain (:func:`_shared`).
    """
    return con.sql(
        f"""
        WITH cand AS (SELECT imsi FROM candidates),
        handsets AS (SELECT p.imsi, p.imei FROM part_sim_imei p JOIN cand USING (imsi)),
        handset_sites AS ({_HANDSET_SITES}),
        {_shared("imei_links", "handset_sites", "imei, site", "shared_imei")},
        imei_pairs AS (SELECT DISTINCT a, b, kind FROM imei_links),
        subs AS (
            SELECT s.imsi, s.activated, s.imsi_n, s.owner_id, s.owner_sims
            FROM sim_subscriber s JOIN cand USING (imsi)
        ),
        {_shared("batch_pairs", "subs", "activated", "activation_batch", near="imsi_n")},
        owners AS (SELECT imsi, owner_id FROM subs WHERE owner_sims >= 3),
        {_shared("owner_pairs", "owners", "owner_id", "same_owner")},
        contact_pairs AS (
            SELECT c.imsi AS a, c.other AS b, 'sim_to_sim' AS kind
            FROM part_sim_contact c JOIN cand x ON x.imsi = c.imsi JOIN cand y ON y.imsi = c.other
            WHERE c.imsi < c.other
        ),
        site_days AS (SELECT p.imsi, p.site, p.d FROM part_sim_site_day p JOIN cand USING (imsi)),
        {_shared("site_links", "site_days", "site, d", "same_site_day")},
        site_pairs AS (SELECT DISTINCT a, b, kind FROM site_links),
        victims AS (SELECT p.imsi, p.b_number FROM part_sim_callee p JOIN cand USING (imsi)),
        {_shared("victim_links", "victims", "b_number", "shared_victims")},
        victim_pairs AS (SELECT DISTINCT a, b, kind FROM victim_links)
        SELECT * FROM imei_pairs UNION ALL SELECT * FROM batch_pairs
        UNION ALL SELECT * FROM owner_pairs UNION ALL SELECT * FROM contact_pairs
        UNION ALL SELECT * FROM site_pairs UNION ALL SELECT * FROM victim_pairs
        """
    ).to_arrow_table()


def find_farms(
    con: duckdb.DuckDBPyConnection,
    scores: dict[str, float],
    *,
    candidate_score: float = 0.2,
    farm_score: float = 0.5,
    seed: int = 7,
    farm_like: FarmLikeSettings | None = None,
    calls: str = "mo",
) -> tuple[list[Farm], dict[str, str]]:
    """Communities of suspect SIMs that behave as one piece of equipment.

    ``scores`` are the SIMs' own scores; members of :func:`farm_like_groups` count
    as suspects with ``farm_like.group_score`` whatever their own. Returns the farms
    (largest first) and the farm of every SIM in one.

    Reads the partials (``part_*``); the farm partials (:data:`FARM_PARTIALS`) are made
    from ``mo`` when they are not there, and dropped again once the farms are found.
    A farm's handsets, sites, cells and span read the partials too; its track reads its
    SIMs' calls in the table named ``calls`` (``mo``'s ``imsi``, ``t``, ``site``,
    ``record_id``; of every day, of which it keeps each farm's last :data:`TRACK_DAYS`).
    """
    made = _missing_farm_partials(con)
    try:
        return _find_farms(
            con,
            scores,
            candidate_score=candidate_score,
            farm_score=farm_score,
            seed=seed,
            like=farm_like or FarmLikeSettings(),
            calls=calls,
        )
    finally:
        _drop_farm_partials(con, made)


def _find_farms(
    con: duckdb.DuckDBPyConnection,
    scores: dict[str, float],
    *,
    candidate_score: float,
    farm_score: float,
    seed: int,
    like: FarmLikeSettings,
    calls: str,
) -> tuple[list[Farm], dict[str, str]]:
    """:func:`find_farms` once the farm partials are there."""
    del seed  # the pieces are found without chance; kept for the callers that pass it
    scores = dict(scores)
    group_of: dict[str, int] = {}
    for n, group in enumerate(farm_like_groups(con, like)):
        for imsi in group:
            scores[imsi] = max(scores.get(imsi, 0.0), like.group_score)
            group_of[imsi] = n
    candidates = sorted(imsi for imsi, s in scores.items() if s >= candidate_score)
    con.register("_cand", pa.table({"imsi": pa.array(candidates, pa.string())}))
    con.execute("CREATE OR REPLACE TEMP TABLE candidates AS SELECT * FROM _cand")
    con.unregister("_cand")
    graph = _SimGraph.of(_edges(con), candidates, group_of)
    communities = _merge_channels(con, _communities(graph))
    farms: list[Farm] = []
    for members in communities:
        imsis = sorted(members)
        if len(imsis) < 2:
            continue
        strength = sum(scores[i] for i in imsis) / len(imsis)
        if strength < farm_score:
            continue
        farms.append(_undescribed(imsis, strength, graph.evidence(imsis)))
    _expand(con, farms, scores)
    _describe(con, farms, calls)
    farms.sort(key=lambda f: (-len(f.imsis), f.imsis[0]))
    membership: dict[str, str] = {}
    for n, farm in enumerate(farms, start=1):
        farm.farm_id = f"F{n:04d}"
        for imsi in farm.imsis:
            membership[imsi] = farm.farm_id
    return farms, membership


STRONG = frozenset({"shared_imei", "activation_batch", "same_owner", "sim_to_sim"})

#: Calls between two pieces of SIMs make them one when the pairs of SIMs that called each
#: other are at least this share of the smaller piece's SIMs. The SIMs of an evasive farm
#: call each other to look human, several pairs a SIM; a farm that dials numbers at random
#: reaches another farm's SIMs now and then (5 pairs between farms of 10,418 and 5,438
#: SIMs over 40 days of 463,000 subscribers), which must not make the two farms one.
CALLS_PER_SIM = 0.1

_KINDS: tuple[str, ...] = tuple(EDGE_WEIGHTS)
"""The kinds of evidence in a fixed order: bit ``1 << i`` of a pair's kinds is ``_KINDS[i]``."""
_STRONG_BITS = sum(1 << i for i, k in enumerate(_KINDS) if k in STRONG)
_CALL_BIT = 1 << _KINDS.index("sim_to_sim")
_HARD_BITS = _STRONG_BITS & ~_CALL_BIT
"""The strong kinds but calls: a handset, an activation batch or an owner in common."""
_WEIGHT_OF_KINDS = np.array(
    [
        sum(EDGE_WEIGHTS[k] for i, k in enumerate(_KINDS) if bits >> i & 1)
        for bits in range(1 << len(_KINDS))
    ]
)
"""A pair's weight in the SIM graph by the bits of its kinds: the weights of its kinds summed."""


@dataclass(frozen=True, slots=True)
class _SimGraph:
    """The SIM graph as columns: candidate SIMs numbered in sorted order, and one row per linked
    pair with the bits of its kinds of evidence.

    At national scale the graph has millions of pairs (one owner's thousands of candidate SIMs
    are linked pair by pair): held as arrays they cost bytes a pair, where a graph library's
    dictionaries cost hundreds.
    """

    nodes: list[str]
    a: np.ndarray
    b: np.ndarray
    kinds: np.ndarray
    apart: np.ndarray
    """Pairs of two farm-like groups judged apart: a call between them joins nothing."""

    @classmethod
    def of(cls, edges: pa.Table, nodes: list[str], group_of: dict[str, int]) -> _SimGraph:
        """From :func:`_edges` (one row per pair and kind), over the sorted candidate SIMs."""
        names = pa.array(nodes, pa.string())
        a = pc.index_in(edges.column("a"), value_set=names)
        b = pc.index_in(edges.column("b"), value_set=names)
        kind = pc.index_in(edges.column("kind"), value_set=pa.array(_KINDS, pa.string()))
        if a.null_count or b.null_count or kind.null_count:
            raise ValueError("the SIM graph links a SIM that is no candidate, or an unknown kind")
        n = max(len(nodes), 1)
        key = a.to_numpy().astype(np.int64) * n + b.to_numpy()
        pairs, row = np.unique(key, return_inverse=True)
        bits = np.zeros(len(pairs), dtype=np.uint8)
        np.bitwise_or.at(bits, row, np.left_shift(1, kind.to_numpy()).astype(np.uint8))
        group = np.array([group_of.get(name, -1) for name in nodes], dtype=np.int64)
        pa_, pb_ = pairs // n, pairs % n
        apart = (group[pa_] >= 0) & (group[pb_] >= 0) & (group[pa_] != group[pb_])
        return cls(nodes=nodes, a=pa_, b=pb_, kinds=bits, apart=apart)

    def evidence(self, members: Sequence[str]) -> dict[str, int]:
        """The pairs of each kind of evidence among ``members`` (kinds absent left out)."""
        inside = np.zeros(len(self.nodes), dtype=np.bool_)
        inside[np.searchsorted(self.nodes, members)] = True
        bits = self.kinds[inside[self.a] & inside[self.b]]
        counts = {k: int(np.count_nonzero(bits >> i & 1)) for i, k in enumerate(_KINDS)}
        return {k: n for k, n in counts.items() if n}


def _communities(graph: _SimGraph) -> list[set[str]]:
    """Pieces of equipment: SIMs tied by hard evidence, then strays placed by where they stood.

    SIMs tied by a shared handset, an activation batch or an owner are one piece; calls
    between pieces join them where they are many for the pieces' size
    (:func:`_joined_by_calls`); a piece of one or two SIMs joins the piece it is tied
    to most. Weak evidence alone (the same site, the same victims) never joins two
    well-formed pieces: two farms can stand in one building.

    Pieces come in the order of their first SIM, and strays are placed in that order
    (a stray joins the piece it is tied to most, ties to the piece found first), each
    seeing the strays placed before it.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(graph.nodes)
    if n == 0:
        return []
    hard = ((graph.kinds & _HARD_BITS) != 0) & ~graph.apart
    tied = coo_matrix(
        (np.ones(int(hard.sum()), dtype=np.int8), (graph.a[hard], graph.b[hard])),
        shape=(n, n),
    )
    _, label = connected_components(tied.tocsr(), directed=False)
    label = _joined_by_calls(graph, label)
    # pieces in the order of their first SIM, as a walk over the sorted SIMs meets them
    by_label = np.argsort(label, kind="stable")
    starts = np.flatnonzero(np.r_[True, label[by_label][1:] != label[by_label][:-1]])
    pieces = sorted(np.split(by_label, starts[1:]), key=lambda p: int(p[0]))
    # every pair's weight from either side, for the strays' ties
    weight = _WEIGHT_OF_KINDS[graph.kinds]
    side = np.concatenate([graph.a, graph.b])
    other = np.concatenate([graph.b, graph.a])
    ordered = np.argsort(side, kind="stable")
    other, weight = other[ordered], np.concatenate([weight, weight])[ordered]
    bounds = np.searchsorted(side[ordered], np.arange(n + 1))
    big = [set(p.tolist()) for p in pieces if len(p) >= 3]
    owner = np.full(n, -1, dtype=np.int64)
    for i, members in enumerate(big):
        owner[list(members)] = i
    for piece in pieces:
        if len(piece) >= 3:
            continue
        ties: dict[int, float] = {}
        for node in piece.tolist():
            lo, hi = bounds[node], bounds[node + 1]
            for whose, w in zip(owner[other[lo:hi]].tolist(), weight[lo:hi].tolist(), strict=True):
                if whose >= 0:
                    ties[whose] = ties.get(whose, 0.0) + w
        if ties:
            best = max(sorted(ties), key=lambda i: ties[i])
            big[best] |= set(piece.tolist())
            owner[piece] = best
        else:
            big.append(set(piece.tolist()))
    return [{graph.nodes[i] for i in piece} for piece in big]


def _joined_by_calls(graph: _SimGraph, label: np.ndarray) -> np.ndarray:
    """Pieces (``label`` of each SIM) joined by the calls between their SIMs. Returns each
    SIM's joined piece, known by its first SIM.

    Calls tie the SIMs that nothing else ties: pieces of one or two SIMs that called each
    other are one. A piece of three or more, or a group so tied, joins another by calls
    only where the pairs of SIMs that called each other are at least
    :data:`CALLS_PER_SIM` of the smaller one's SIMs, counted again after every join: the
    pair with the most such pairs for their size first (then the most pairs, then the
    first SIMs').
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(label)
    calls = ((graph.kinds & _CALL_BIT) != 0) & ~graph.apart
    loose = (np.bincount(label, minlength=n) < 3)[label]
    free = calls & loose[graph.a] & loose[graph.b]
    # each SIM tied to its piece (a node of its own after the SIMs), and the loose SIMs to
    # those they called
    ties = coo_matrix(
        (
            np.ones(n + int(free.sum()), dtype=np.int8),
            (np.r_[np.arange(n), graph.a[free]], np.r_[n + label, graph.b[free]]),
        ),
        shape=(2 * n, 2 * n),
    )
    _, grouped = connected_components(ties.tocsr(), directed=False)
    grouped = grouped[:n]
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, grouped, np.arange(n))
    piece: np.ndarray = first[grouped]
    x, y = piece[graph.a[calls]], piece[graph.b[calls]]
    between = x != y
    x, y = np.minimum(x, y)[between], np.maximum(x, y)[between]
    if not len(x):
        return piece
    ids, sizes = np.unique(piece, return_counts=True)
    size: dict[int, int] = dict(zip(ids.tolist(), sizes.tolist(), strict=True))
    links: dict[int, dict[int, int]] = {}
    pairs, counts = np.unique(x * n + y, return_counts=True)
    for key, count in zip(pairs.tolist(), counts.tolist(), strict=True):
        p, q = divmod(key, n)
        links.setdefault(p, {})[q] = count
        links.setdefault(q, {})[p] = count

    def order(p: int, q: int) -> tuple[float, int, int, int]:
        count = links[p][q]
        return (-count / min(size[p], size[q]), -count, min(p, q), max(p, q))

    heap = [order(p, q) for p in links for q in links[p] if p < q]
    heapq.heapify(heap)
    joined = {p: p for p in size}
    while heap:
        entry = heapq.heappop(heap)
        ratio, _, p, q = entry
        if -ratio < CALLS_PER_SIM:
            break
        if p not in links or q not in links[p]:
            continue  # one of them has joined another since
        now = order(p, q)
        if now != entry:
            # a piece grew since, which only lowers its pairs' share: the pair waits its turn
            # (a pair whose count grew was pushed again when it did), so that a join costs
            # the joined piece's pairs, not every pair of the piece it joins
            heapq.heappush(heap, now)
            continue
        # p < q: the joined piece keeps the first SIM of both
        size[p] += size.pop(q)
        for other, count in links.pop(q).items():
            del links[other][q]
            if other != p:
                links[p][other] = links[p].get(other, 0) + count
                links[other][p] = links[p][other]
                heapq.heappush(heap, order(p, other))
        joined[q] = p
    for q in sorted(joined):  # a piece joined one that had joined an earlier one
        joined[q] = joined[joined[q]]
    return np.array([joined[p] for p in piece.tolist()], dtype=np.int64)


def _merge_channels(con: duckdb.DuckDBPyConnection, pieces: list[set[str]]) -> list[set[str]]:
    """Channels of one box: pieces that worked the same site-days the same way are one farm.

    Without activation batches or owners to tie them, each channel of a box (one
    IMEI and the SIMs that passed through it) is a piece of its own. Channels of one
    box stand at the same sites on the same days, use their SIMs alike (calls per
    SIM) and keep the same hours; two different farms in one building differ in at
    least one of those.
    """
    sized = [p for p in pieces if len(p) >= 3]
    if len(sized) < 2:
        return pieces
    members = sorted(set().union(*sized))
    con.register("_piece_members", pa.table({"imsi": pa.array(members, pa.string())}))
    try:
        site_days = con.execute(
            """
            SELECT s.imsi, list(DISTINCT s.site || '@' || CAST(s.d AS VARCHAR))
            FROM part_sim_site_day s JOIN _piece_members USING (imsi) GROUP BY s.imsi
            """
        ).fetchall()
        hours = con.execute(
            """
            SELECT h.imsi, h.hour, h.originated
            FROM part_sim_hour_of_day h JOIN _piece_members USING (imsi)
            """
        ).fetchall()
    finally:
        con.unregister("_piece_members")
    by_hour: dict[str, np.ndarray] = {}
    for imsi, hour, n in hours:
        by_hour.setdefault(imsi, np.zeros(24, dtype=np.int64))[int(hour)] += int(n)
    per_sim = {
        imsi: (set(days), int(by_hour[imsi].sum()), by_hour[imsi])
        for imsi, days in site_days
        if imsi in by_hour
    }
    stats = []
    for piece in sized:
        days: set[str] = set()
        hourly = np.zeros(24)
        calls = []
        for imsi in piece:
            if imsi not in per_sim:
                continue
            d, n, per_hour = per_sim[imsi]
            days |= d
            calls.append(n)
            hourly += per_hour
        norm = float(np.linalg.norm(hourly)) or 1.0
        stats.append((days, float(np.median(calls)) if calls else 0.0, hourly / norm))
    parent = list(range(len(sized)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(sized)):
        for j in range(i + 1, len(sized)):
            (di, ci, hi), (dj, cj, hj) = stats[i], stats[j]
            if not di or not dj:
                continue
            overlap = len(di & dj) / min(len(di), len(dj))
            alike = max(ci, cj) <= 3 * max(min(ci, cj), 1.0)
            if overlap >= 0.6 and alike and float(hi @ hj) >= 0.8:
                parent[root(i)] = root(j)
    merged: dict[int, set[str]] = {}
    for i, piece in enumerate(sized):
        merged.setdefault(root(i), set()).update(piece)
    return list(merged.values()) + [p for p in pieces if len(p) < 3]


def _expand(con: duckdb.DuckDBPyConnection, farms: list[Farm], scores: dict[str, float]) -> None:
    """Score the community, then its members: pull in SIMs that the farm vouches for.

    A SIM whose own behaviour says little (two calls, a fake incoming call) still
    belongs to a farm when it shared a handset with one of the farm's SIMs and both were
    seen at one site (as in :func:`_edges`), or exchanged
    calls or SMS with two or more of them while standing at the farm's site that
    day, or came from the same activation batch or owner as three of them.
    """
    if not farms:
        return
    rows = [(imsi, n) for n, f in enumerate(farms) for imsi in f.imsis]
    con.register(
        "_members",
        pa.table(
            {"imsi": [r[0] for r in rows], "farm": pa.array([r[1] for r in rows], pa.int64())}
        ),
    )
    try:
        found = con.execute(
            f"""
            WITH members AS (SELECT * FROM _members),
            member_imei AS (
                SELECT DISTINCT m.farm, p.imei FROM part_sim_imei p JOIN members m USING (imsi)
            ),
            member_site_day AS (
                SELECT DISTINCT m.farm, p.site, p.d FROM part_sim_site_day p JOIN members m USING (imsi)
            ),
            outsiders AS (
                SELECT imsi FROM part_sim_activity WHERE imsi NOT IN (SELECT imsi FROM members)
            ),
            handsets AS (
                SELECT p.imsi, p.imei FROM part_sim_imei p
                WHERE p.imei IN (SELECT imei FROM member_imei)
            ),
            handset_sites AS ({_HANDSET_SITES}),
            -- an outsider in a member's handset, both of them seen at one site (_edges): each
            -- farm's handsets and sites once, so that a handset with many SIMs at one site does
            -- not pair them all
            member_handset_sites AS (
                SELECT DISTINCT h.imei, h.site, m.farm FROM handset_sites h JOIN members m USING (imsi)
            ),
            by_imei AS (
                SELECT DISTINCT o.imsi, mh.farm
                FROM handset_sites o JOIN member_handset_sites mh ON mh.imei = o.imei AND mh.site = o.site
                WHERE o.imsi IN (SELECT imsi FROM outsiders)
            ),
            contacts AS (
                SELECT s.imsi AS outsider, m.farm, m.imsi AS member, 'out' AS way
                FROM part_sim_to_sim s JOIN members m ON m.imsi = s.b_imsi
                UNION
                SELECT s.b_imsi AS outsider, m.farm, m.imsi AS member, 'in' AS way
                FROM part_sim_to_sim s JOIN members m ON m.imsi = s.imsi
            ),
            at_site AS (
                -- only where the SIMs that called the farm or were called by it stood
                SELECT DISTINCT p.imsi, sd.farm FROM part_sim_site_day p JOIN member_site_day sd
                  ON sd.site = p.site AND sd.d = p.d
                WHERE p.imsi IN (SELECT outsider FROM contacts)
            ),
            young AS (SELECT imsi FROM sim_age WHERE age_days IS NULL OR young),
            by_contact AS (
                -- both ways: the farm's SIMs call each other; its victims do not call it
                SELECT c.outsider AS imsi, c.farm FROM contacts c
                JOIN at_site a ON a.imsi = c.outsider AND a.farm = c.farm
                WHERE c.outsider IN (SELECT imsi FROM outsiders) AND c.outsider IN (SELECT imsi FROM young)
                GROUP BY 1, 2
                HAVING count(DISTINCT c.member) >= 2 AND count(DISTINCT c.way) = 2
            ),
            subs AS (SELECT imsi, activated, imsi_n, owner_id FROM sim_subscriber),
            member_subs AS (SELECT s.*, m.farm FROM subs s JOIN members m USING (imsi)),
            -- an outsider's batch mates among the farm's SIMs: activated the same day with a
            -- near IMSI, or of the same owner; two joins on equal keys, not one join on either
            -- condition (which compares every SIM with every member)
            owner_members AS (
                SELECT owner_id, farm, count(*) AS members FROM member_subs GROUP BY 1, 2
            ),
            batch_mates AS (
                SELECT o.imsi, ms.farm, ms.imsi AS member FROM subs o JOIN member_subs ms
                  ON o.activated = ms.activated AND abs(o.imsi_n - ms.imsi_n) <= 1000
                WHERE o.imsi IN (SELECT imsi FROM outsiders)
                UNION ALL
                -- an owner with fewer than three of the farm's SIMs: those members one by one
                SELECT o.imsi, ms.farm, ms.imsi FROM subs o JOIN member_subs ms
                  ON o.owner_id = ms.owner_id
                JOIN owner_members om ON om.owner_id = ms.owner_id AND om.farm = ms.farm
                WHERE o.imsi IN (SELECT imsi FROM outsiders) AND om.members < 3
            ),
            by_batch AS (
                SELECT imsi, farm FROM batch_mates GROUP BY 1, 2 HAVING count(DISTINCT member) >= 3
                UNION
                -- three or more of them: the owner alone says so, however many SIMs the owner has
                SELECT o.imsi, om.farm FROM subs o JOIN owner_members om ON om.owner_id = o.owner_id
                WHERE o.imsi IN (SELECT imsi FROM outsiders) AND om.members >= 3
            )
            SELECT imsi, farm, kind FROM (
                SELECT imsi, min(farm) AS farm, 'shared_imei' AS kind, 0 AS rank FROM by_imei GROUP BY 1
                UNION ALL SELECT imsi, min(farm), 'sim_to_sim', 1 FROM by_contact GROUP BY 1
                UNION ALL SELECT imsi, min(farm), 'activation_batch', 2 FROM by_batch GROUP BY 1
            ) ORDER BY rank, imsi
            """
        ).fetchall()
    finally:
        con.unregister("_members")
    added: dict[str, int] = {}
    for imsi, farm, kind in found:
        if imsi in added:
            continue
        if kind == "activation_batch" and scores.get(imsi, 0.0) < 0.03:  # calibrated score
            continue
        added[imsi] = farm
        farms[farm].imsis.append(imsi)
        farms[farm].evidence[kind] = farms[farm].evidence.get(kind, 0) + 1
    for farm in farms:
        farm.imsis = sorted(set(farm.imsis))


def _undescribed(imsis: list[str], score: float, evidence: dict[str, int]) -> Farm:
    """A farm known by its SIMs, score and evidence, before :func:`_describe` places it."""
    return Farm(
        farm_id="",
        imsis=imsis,
        imeis=[],
        lat=None,
        lon=None,
        sites=[],
        cells=[],
        first_seen=None,
        last_seen=None,
        score=score,
        evidence=evidence,
    )


def _membership(groups: Sequence[Iterable[str]], column: str) -> pa.Table:
    """(imsi, ``column``): each group's SIMs with the group's number, as an engine table."""
    rows = [(imsi, n) for n, members in enumerate(groups) for imsi in members]
    return pa.table(
        {
            "imsi": pa.array([r[0] for r in rows], pa.string()),
            column: pa.array([r[1] for r in rows], pa.int64()),
        }
    )


def _describe(con: duckdb.DuckDBPyConnection, farms: list[Farm], calls: str = "mo") -> None:
    """Fill in every farm's handsets, sites, cells, time span and track, all farms at once.

    The handsets (and those of them that SIMs of no farm used too), sites, cells and span
    come from the SIMs' partials of every day
    (``part_sim_imei``, ``part_sim_cell``, ``part_sim_activity``); the track from each
    farm's SIMs' calls in the table named ``calls`` of its last :data:`TRACK_DAYS` days.
    One pass of each query for all the farms, grouped by farm: the work grows with the
    farms' SIMs and recent calls, not with their number nor with the days kept.
    """
    if not farms:
        return
    con.register("_members", _membership([f.imsis for f in farms], "farm"))
    try:
        imeis = _per_farm(
            con,
            """WITH shared AS (
                   SELECT DISTINCT o.imei FROM part_sim_imei o ANTI JOIN _members m ON m.imsi = o.imsi
               )
               SELECT DISTINCT f.farm, s.imei, x.imei IS NOT NULL
               FROM part_sim_imei s JOIN _members f ON f.imsi = s.imsi
               LEFT JOIN shared x ON x.imei = s.imei
               WHERE s.imei IS NOT NULL ORDER BY f.farm, s.imei""",
        )
        sites = _per_farm(con, _FARM_SITES)
        cells = _per_farm(
            con,
            """SELECT f.farm, c.cell FROM part_sim_cell c JOIN _members f ON f.imsi = c.imsi
               GROUP BY f.farm, c.cell ORDER BY f.farm, sum(c.n) DESC, c.cell""",
        )
        spans = _per_farm(
            con,
            """SELECT f.farm, min(a.first_seen), max(a.last_seen)
               FROM part_sim_activity a JOIN _members f ON f.imsi = a.imsi
               GROUP BY f.farm ORDER BY f.farm""",
        )
        tracks = _tracks(con, calls)
    finally:
        con.unregister("_members")
        con.execute("DROP TABLE IF EXISTS _farm_calls")
        con.execute("DROP TABLE IF EXISTS _farm_last")
    for n, farm in enumerate(farms):
        main = sites[n][0] if sites.get(n) else (None, 0, None, None)
        farm.imeis = [r[0] for r in imeis.get(n, [])]
        farm.shared_imeis = [r[0] for r in imeis.get(n, []) if r[1]]
        farm.lat, farm.lon = main[2], main[3]
        farm.sites = [s[0] for s in sites.get(n, []) if s[0] is not None]
        farm.cells = [c[0] for c in cells.get(n, []) if c[0] is not None]
        farm.first_seen, farm.last_seen = spans[n][0] if spans.get(n) else (None, None)
        farm.track = tracks.get(n, [])


#: Each site's place: the mean of its cells (a farm's place and its stays').
_PLACES = "SELECT site_id, avg(lat) AS lat, avg(lon) AS lon FROM cells GROUP BY 1"

#: Each farm's sites, most calls first (the smallest site among equals), each at its place.
_FARM_SITES = f"""
    WITH per_site AS (
        SELECT f.farm, c.site, sum(c.n) AS n
        FROM part_sim_cell c JOIN _members f ON f.imsi = c.imsi GROUP BY f.farm, c.site
    ),
    places AS ({_PLACES})
    SELECT p.farm, p.site, p.n, k.lat, k.lon
    FROM per_site p LEFT JOIN places k ON k.site_id = p.site
    ORDER BY p.farm, p.n DESC, p.site"""


def _per_farm(con: duckdb.DuckDBPyConnection, sql: str) -> dict[int, list[tuple[Any, ...]]]:
    """The rows of ``sql`` (farm first, in the query's order) grouped by farm, the farm left out."""
    grouped: dict[int, list[tuple[Any, ...]]] = {}
    for row in con.execute(sql).fetchall():
        grouped.setdefault(int(row[0]), []).append(tuple(row[1:]))
    return grouped


def _tracks(con: duckdb.DuckDBPyConnection, calls: str) -> dict[int, list[Stay]]:
    """Each farm's stays: runs of its calls (in the table named ``calls``) from one site, in
    time order, of its last :data:`TRACK_DAYS` days (:func:`_farm_calls`).

    The latest :data:`MAX_STAYS` of each farm are kept.
    """
    if not _farm_calls(con, calls):
        return {}
    rows = con.execute(
        f"""
        WITH marked AS (
            SELECT *,
                   CASE WHEN lag(site) OVER w IS NULL OR site <> lag(site) OVER w
                        THEN 1 ELSE 0 END AS moved
            FROM _farm_calls WINDOW w AS (PARTITION BY farm ORDER BY t, record_id)
        ),
        stays AS (
            SELECT *, sum(moved) OVER (PARTITION BY farm ORDER BY t, record_id) AS stay
            FROM marked
        ),
        per_stay AS (
            SELECT farm, stay, min(site) AS site, min(t) AS first, max(t) AS last,
                   count(*) AS calls, count(DISTINCT imsi) AS sims,
                   row_number() OVER (PARTITION BY farm ORDER BY stay DESC) AS latest
            FROM stays GROUP BY farm, stay
        ),
        places AS ({_PLACES})
        SELECT p.farm, p.site, k.lat, k.lon, p.first, p.last, p.calls, p.sims
        FROM per_stay p LEFT JOIN places k ON k.site_id = p.site
        WHERE p.latest <= ?
        ORDER BY p.farm, p.stay
        """,
        [MAX_STAYS],
    ).fetchall()
    tracks: dict[int, list[Stay]] = {}
    for farm, site, lat, lon, first, last, made, sims in rows:
        tracks.setdefault(int(farm), []).append(
            Stay(
                site=site,
                lat=lat,
                lon=lon,
                first=first,
                last=last,
                calls=int(made),
                sims=int(sims),
            )
        )
    return tracks


def _farm_calls(con: duckdb.DuckDBPyConnection, calls: str) -> bool:
    """``_farm_calls``: each farm's calls from a site (in the table named ``calls``) on the last
    :data:`TRACK_DAYS` days (UTC) up to its own last call, by its SIMs' last calls in
    ``part_sim_activity`` (every day's, in a daily run too): a farm gone quiet keeps the
    track of its last days, and a stray record's time far ahead moves no other farm's.
    False when the farms' SIMs made no call.

    The earliest of the farms' first days bounds the read by a constant, which skips the
    older days' files and row groups of kept records.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _farm_last AS
            SELECT f.farm, max({utc_days_sql("a.last_seen")}) AS last_day
            FROM part_sim_activity a JOIN _members f ON f.imsi = a.imsi GROUP BY f.farm"""
    )
    [(earliest,)] = con.execute("SELECT min(last_day) FROM _farm_last").fetchall()
    if earliest is None:
        return False
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _farm_calls AS
            SELECT f.farm, m.t, m.site, m.imsi, m.record_id
            FROM {calls} m JOIN _members f ON f.imsi = m.imsi JOIN _farm_last l ON l.farm = f.farm
            WHERE m.t >= ? AND m.site IS NOT NULL
              AND {utc_days_sql("m.t")} > l.last_day - {TRACK_DAYS}""",
        [_track_first_day(int(earliest))],
    )
    return True


def _track_first_day(last_day: int) -> str:
    """The first (ISO date) of the :data:`TRACK_DAYS` days that end on day ``last_day``
    (whole days from 1970), kept within the years 1 to 9999 whatever times the data holds."""
    epoch = date(1970, 1, 1)
    low, high = (date.min - epoch).days, (date.max - epoch).days
    first = min(max(last_day - (TRACK_DAYS - 1), low), high)
    return (epoch + timedelta(days=first)).isoformat()
