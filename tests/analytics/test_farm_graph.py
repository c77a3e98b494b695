"""The SIM graph held as columns finds the same pieces and evidence as the graph library did.

The reference below is written over networkx's dictionaries, step by step: pieces of SIMs
tied by a handset, a batch or an owner (pairs of two farm-like groups judged apart
excepted); loose SIMs (pieces of one or two) tied by their calls; pieces joined by calls
where the pairs that called each other are a tenth of the smaller one's SIMs, the most
for their size first, counted again after each join; strays placed with the piece they
are tied to most, ties to the piece found first, each stray seeing those placed before it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import networkx as nx
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.analytics.farms import CALLS_PER_SIM, EDGE_WEIGHTS, STRONG, _communities, _SimGraph

KINDS = list(EDGE_WEIGHTS)


def _reference(
    nodes: list[str], edges: list[tuple[str, str, str]], group_of: dict[str, int]
) -> tuple[list[set[str]], dict[frozenset[str], dict[str, int]]]:
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    kinds: dict[tuple[str, str], set[str]] = {}
    for a, b, kind in edges:
        kinds.setdefault((a, b), set()).add(kind)
    for (a, b), found in kinds.items():
        graph.add_edge(a, b, weight=sum(EDGE_WEIGHTS[k] for k in found))
    apart = {
        p
        for p in kinds
        if p[0] in group_of and p[1] in group_of and group_of[p[0]] != group_of[p[1]]
    }
    hard = nx.Graph()
    hard.add_nodes_from(graph.nodes)
    hard.add_edges_from(
        p for p, found in kinds.items() if p not in apart and found & (STRONG - {"sim_to_sim"})
    )
    calls = [p for p, found in kinds.items() if p not in apart and "sim_to_sim" in found]
    loose = {node for c in nx.connected_components(hard) if len(c) < 3 for node in c}
    hard.add_edges_from((a, b) for a, b in calls if a in loose and b in loose)
    pieces = _joined_by_calls([set(c) for c in nx.connected_components(hard)], calls, nodes.index)
    big = [p for p in pieces if len(p) >= 3]
    owner = {node: i for i, p in enumerate(big) for node in p}
    for piece in pieces:
        if len(piece) >= 3:
            continue
        ties: dict[int, float] = {}
        for node in piece:
            for other, data in graph[node].items():
                if other in owner:
                    ties[owner[other]] = ties.get(owner[other], 0.0) + float(data["weight"])
        if ties:
            best = max(sorted(ties), key=lambda i: ties[i])
            big[best] |= piece
            for node in piece:
                owner[node] = best
        else:
            big.append(set(piece))
    return big, {frozenset(m): _evidence(kinds, m) for m in big}


def _joined_by_calls(
    pieces: list[set[str]], calls: list[tuple[str, str]], index: Callable[[str], int]
) -> list[set[str]]:
    """Join the pair of pieces with the most calling pairs for the smaller one's size, again
    and again, while that is at least CALLS_PER_SIM; pieces in the order of their first SIM."""
    pieces = [set(p) for p in pieces]
    while True:
        best = None
        for i, x in enumerate(pieces):
            for j, y in enumerate(pieces):
                if i >= j:
                    continue
                count = sum(1 for a, b in calls if (a in x and b in y) or (a in y and b in x))
                if not count or count / min(len(x), len(y)) < CALLS_PER_SIM:
                    continue
                first = sorted((min(map(index, x)), min(map(index, y))))
                key = (-count / min(len(x), len(y)), -count, *first)
                if best is None or key < best[0]:
                    best = (key, i, j)
        if best is None:
            return sorted(pieces, key=lambda p: min(map(index, p)))
        _, i, j = best
        pieces[i] |= pieces.pop(j)


def _evidence(kinds: dict[tuple[str, str], set[str]], members: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (a, b), found in kinds.items():
        if a in members and b in members:
            for k in found:
                counts[k] = counts.get(k, 0) + 1
    return counts


@st.composite
def _graphs(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str, str]], dict[str, int]]:
    n = draw(st.integers(min_value=0, max_value=24))
    nodes = [f"4010{i:05d}" for i in range(n)]
    edges = []
    for _ in range(draw(st.integers(min_value=0, max_value=60))):
        i, j = sorted(
            draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
            if n > 1
            else [0, 0]
        )
        if i == j:
            continue
        edges.append((nodes[i], nodes[j], draw(st.sampled_from(KINDS))))
    grouped = draw(st.lists(st.sampled_from(nodes), unique=True, max_size=n)) if nodes else []
    group_of = {node: draw(st.integers(0, 2)) for node in grouped}
    return nodes, edges, group_of


def _table(edges: list[tuple[str, str, str]]) -> pa.Table:
    return pa.table(
        {
            "a": pa.array([e[0] for e in edges], pa.string()),
            "b": pa.array([e[1] for e in edges], pa.string()),
            "kind": pa.array([e[2] for e in edges], pa.string()),
        }
    )


def _as_the_reference(case: tuple[list[str], list[tuple[str, str, str]], dict[str, int]]) -> None:
    """The pieces and each piece's evidence are the reference's."""
    nodes, edges, group_of = case
    graph = _SimGraph.of(_table(edges), nodes, group_of)
    pieces = _communities(graph)
    expected, evidence = _reference(nodes, edges, group_of)
    assert pieces == expected
    for piece in pieces:
        assert graph.evidence(sorted(piece)) == evidence[frozenset(piece)]


@settings(max_examples=300, deadline=None)
@given(_graphs())
def test_the_pieces_and_their_evidence_are_the_graph_librarys(
    case: tuple[list[str], list[tuple[str, str, str]], dict[str, int]],
) -> None:
    _as_the_reference(case)


def test_a_stray_joins_the_piece_it_is_tied_to_most_and_later_strays_see_it() -> None:
    nodes = [f"s{i}" for i in range(8)]
    edges = [
        # two pieces tied by handsets: s0-s1-s2 and s3-s4-s5
        ("s0", "s1", "shared_imei"), ("s1", "s2", "shared_imei"),
        ("s3", "s4", "same_owner"), ("s4", "s5", "same_owner"),
        # s6 stood with both, more often with the second
        ("s0", "s6", "same_site_day"), ("s3", "s6", "same_site_day"), ("s4", "s6", "shared_victims"),
        # s7 is tied only to s6, which has joined the second piece by then
        ("s6", "s7", "same_site_day"),
    ]  # fmt: skip
    pieces = _communities(_SimGraph.of(_table(edges), nodes, {}))
    assert pieces == [{"s0", "s1", "s2"}, {"s3", "s4", "s5", "s6", "s7"}]


def test_a_call_between_two_groups_judged_apart_joins_nothing() -> None:
    nodes = [f"s{i}" for i in range(6)]
    edges = [
        ("s0", "s1", "shared_imei"), ("s1", "s2", "shared_imei"),
        ("s3", "s4", "shared_imei"), ("s4", "s5", "shared_imei"),
        ("s2", "s3", "sim_to_sim"),
    ]  # fmt: skip
    apart = _communities(_SimGraph.of(_table(edges), nodes, {"s2": 0, "s3": 1}))
    assert apart == [{"s0", "s1", "s2"}, {"s3", "s4", "s5"}]
    together = _communities(_SimGraph.of(_table(edges), nodes, {"s2": 0, "s3": 0}))
    assert together == [set(nodes)]


def test_no_candidate_sims_make_no_pieces() -> None:
    assert _communities(_SimGraph.of(_table([]), [], {})) == []


@st.composite
def _pieces_and_calls(
    draw: st.DrawFn,
) -> tuple[list[str], list[tuple[str, str, str]], dict[str, int]]:
    """Pieces of 1 to 25 SIMs, each a chain of shared handsets, and calls between any SIMs."""
    sizes = draw(st.lists(st.integers(1, 25), min_size=1, max_size=6))
    nodes = [f"4010{i:05d}" for i in range(sum(sizes))]
    edges, start = [], 0
    for size in sizes:
        edges += [(nodes[i], nodes[i + 1], "shared_imei") for i in range(start, start + size - 1)]
        start += size
    for _ in range(draw(st.integers(0, 40))):
        i, j = sorted(draw(st.lists(st.integers(0, len(nodes) - 1), min_size=2, max_size=2)))
        if i != j:
            edges.append((nodes[i], nodes[j], "sim_to_sim"))
    return nodes, edges, {}


@settings(max_examples=200, deadline=None)
@given(_pieces_and_calls())
def test_big_pieces_joined_by_calls_are_the_references(
    case: tuple[list[str], list[tuple[str, str, str]], dict[str, int]],
) -> None:
    _as_the_reference(case)


def test_a_few_calls_between_two_farms_do_not_make_them_one_but_calls_hold_a_farm_together() -> (
    None
):
    """A farm tied by its owner (30 SIMs) and an evasive farm whose 20 SIMs only call each
    other (each its next two): a call from the evasive farm reaches one of the other's SIMs."""
    owned = [f"a{i:02d}" for i in range(30)]
    evasive = [f"b{i:02d}" for i in range(20)]
    edges = [(owned[0], sim, "same_owner") for sim in owned[1:]]
    edges += [(evasive[i], evasive[(i + k) % 20], "sim_to_sim") for i in range(20) for k in (1, 2)]
    edges += [(owned[3], evasive[5], "sim_to_sim")]
    edges = [(min(a, b), max(a, b), kind) for a, b, kind in edges]
    pieces = _communities(_SimGraph.of(_table(edges), sorted(owned + evasive), {}))
    assert pieces == [set(owned), set(evasive)]
    # pairs that called each other as many as a tenth of the smaller farm's SIMs make them one
    edges += [(owned[9], evasive[14], "sim_to_sim")]
    pieces = _communities(_SimGraph.of(_table(edges), sorted(owned + evasive), {}))
    assert pieces == [set(owned) | set(evasive)]


def test_a_farm_that_called_thousands_of_lone_sims_takes_them_in_one_at_a_time_cheaply() -> None:
    """Each of 40,000 lone SIMs called one SIM of a farm: joining them one by one must not
    look at every SIM the farm is still tied to each time (800 million looks)."""
    farm = [f"a{i}" for i in range(3)]
    lone = [f"b{i:05d}" for i in range(40_000)]
    edges = [("a0", "a1", "shared_imei"), ("a1", "a2", "shared_imei")]
    edges += [(farm[i % 3], sim, "sim_to_sim") for i, sim in enumerate(lone)]
    graph = _SimGraph.of(_table(edges), sorted(farm + lone), {})
    started = time.perf_counter()
    pieces = _communities(graph)
    assert time.perf_counter() - started < 10
    assert pieces == [set(farm) | set(lone)]
