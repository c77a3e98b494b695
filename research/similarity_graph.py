"""Graph side of per-number scoring: neighbour features and communities of a number graph.

Operators often hold a graph over their numbers: who calls whom, which SIMs
share a handset, or (as in the Sichuan research data) which numbers *behave*
alike. Such a graph helps a per-number score in two ways, and both are easy to
get wrong:

* **As features.** The degree of a number and the averages of its neighbours'
  features use no labels and are safe. The share of a number's neighbours that
  are *known* fraud is strong but leaks, unless the known labels are only those
  of the training numbers. :func:`neighbour_fraud_share` takes an explicit
  ``known`` mask, and :func:`cross_fitted_neighbour_fraud_share` also computes
  it for the training numbers the way it will be computed for new numbers. A
  training number never sees its own fold's labels, so it does not look
  better-informed than a test number.
* **As groups for evaluation.** Neighbours in a similarity graph are
  near-duplicates. A random split puts one twin in training and the other in
  test, and a model then looks better than it will on a new number.
  :func:`communities` cuts the graph into tightly knit groups (Louvain
  modularity, seeded) so that a grouped cross-validation keeps each group on
  one side.

The adjacency is a SciPy sparse matrix over the rows of the feature table.
:func:`symmetrise` turns a stored triangle into an undirected 0/1 graph without
self-loops. Everything here is deterministic under its seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qalqan.analytics.number_scoring import FeatureTable

__all__ = [
    "communities",
    "cross_fitted_neighbour_fraud_share",
    "edges_across",
    "neighbour_degree",
    "neighbour_fraud_share",
    "neighbour_means",
    "symmetrise",
]

SparseMatrix = Any
"""A ``scipy.sparse`` matrix or array (SciPy ships no type information)."""

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def symmetrise(adjacency: SparseMatrix) -> SparseMatrix:
    """The undirected 0/1 graph of ``adjacency``: either direction makes an edge, no self-loops."""
    matrix = sp.csr_matrix(adjacency)
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"adjacency must be square, got shape {matrix.shape}")
    both = ((matrix + matrix.T) != 0).astype(np.float64)
    both.setdiag(0.0)
    both.eliminate_zeros()
    return sp.csr_matrix(both)


def neighbour_degree(adjacency: SparseMatrix) -> FeatureTable:
    """``graph_degree``: how many neighbours each number has. Uses no labels."""
    graph = symmetrise(adjacency)
    degree = np.asarray(graph.sum(axis=1), dtype=np.float64).ravel()
    return FeatureTable(columns=("graph_degree",), values=degree[:, None])


def neighbour_means(
    adjacency: SparseMatrix, features: FeatureTable, columns: Sequence[str] | None = None
) -> FeatureTable:
    """``graph_neighbour_mean_<column>``: the average of each feature over a number's neighbours.

    Missing values are skipped. A number with no neighbour that has a value gets
    NaN. Uses no labels.
    """
    graph = symmetrise(adjacency)
    if graph.shape[0] != len(features):
        raise ValueError(f"graph has {graph.shape[0]} nodes but the table has {len(features)} rows")
    names = tuple(columns) if columns is not None else features.columns
    values = np.column_stack([features.column(name) for name in names])
    present = ~np.isnan(values)
    sums = np.asarray(graph @ np.where(present, values, 0.0), dtype=np.float64)
    counts = np.asarray(graph @ present.astype(np.float64), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.where(counts > 0, counts, 1.0), np.nan)
    return FeatureTable(
        columns=tuple(f"graph_neighbour_mean_{name}" for name in names), values=means
    )


def neighbour_fraud_share(
    adjacency: SparseMatrix, labels: npt.ArrayLike, known: npt.ArrayLike
) -> FeatureTable:
    """What a number's neighbours are known to be, counting only labels where ``known`` is true.

    Columns:

    * ``graph_known_neighbours``: neighbours whose label may be used.
    * ``graph_known_fraud_neighbour_share``: the fraud share among them, or NaN if there are none.

    The labels of numbers outside ``known`` are never read. Pass the training
    mask, never all rows.
    """
    graph = symmetrise(adjacency)
    label_array = np.asarray(labels)
    known_mask = np.asarray(known, dtype=bool)
    if not (graph.shape[0] == label_array.shape[0] == known_mask.shape[0]):
        raise ValueError("adjacency, labels and known must cover the same numbers")
    usable = known_mask.astype(np.float64)
    fraud = np.where(known_mask, label_array == 1, False).astype(np.float64)
    known_count = np.asarray(graph @ usable, dtype=np.float64)
    fraud_count = np.asarray(graph @ fraud, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(known_count > 0, fraud_count / np.maximum(known_count, 1.0), np.nan)
    return FeatureTable(
        columns=("graph_known_neighbours", "graph_known_fraud_neighbour_share"),
        values=np.column_stack([known_count, share]),
    )


def cross_fitted_neighbour_fraud_share(
    adjacency: SparseMatrix, labels: npt.ArrayLike, *, train_folds: npt.ArrayLike
) -> FeatureTable:
    """:func:`neighbour_fraud_share` for one training/test split, without leaks and without skew.

    ``train_folds`` holds an inner fold number (0, 1, ...) for every training
    number and -1 for every number to be scored. A test number sees the labels
    of all training numbers. A training number sees only the labels of training
    numbers in *other* inner folds. So the model learns from the feature as it
    will look for a new number, which never knows its own label and its
    group's. Test labels are never read.
    """
    folds = np.asarray(train_folds, dtype=np.int64)
    label_array = np.asarray(labels)
    train = folds >= 0
    result = neighbour_fraud_share(adjacency, label_array, train).values.copy()
    for fold in np.unique(folds[train]):
        inside = folds == fold
        other = neighbour_fraud_share(adjacency, label_array, train & ~inside).values
        result[inside] = other[inside]
    return FeatureTable(
        columns=("graph_known_neighbours", "graph_known_fraud_neighbour_share"), values=result
    )


def edges_across(adjacency: SparseMatrix, test: npt.ArrayLike) -> float:
    """The share of the test numbers' edges that lead into the training side (0 if there are none).

    With a random split this is close to the training share. A grouped split
    should bring it well below that. It is the measure of how many of a test
    number's near-duplicates the model was trained on.
    """
    graph = symmetrise(adjacency)
    mask = np.asarray(test, dtype=bool)
    rows = graph[np.flatnonzero(mask)]
    total = float(rows.sum())
    if total == 0.0:
        return 0.0
    to_train = float(rows[:, np.flatnonzero(~mask)].sum())
    return to_train / total


def communities(
    adjacency: SparseMatrix,
    *,
    seed: int = 0,
    resolution: float = 1.0,
    max_size: int | None = None,
) -> IntArray:
    """A community number for every node: Louvain modularity maximisation, seeded.

    Isolated nodes are communities of one. A community larger than ``max_size``
    is split again by running Louvain on its own subgraph, and if that cannot
    split it, by doubling the resolution. This keeps grouped folds balanced when
    the graph has one dominant cluster. Numbers are 0..k-1, largest community
    first.
    """
    graph = symmetrise(adjacency)
    n = graph.shape[0]
    rng = np.random.default_rng(seed)
    membership = _louvain(graph, rng=rng, resolution=resolution)
    if max_size is not None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        membership = _split_large(graph, membership, rng=rng, resolution=resolution, limit=max_size)
    return _renumber_by_size(membership, n)


def _louvain(graph: SparseMatrix, *, rng: np.random.Generator, resolution: float) -> IntArray:
    """Blondel et al. (2008): local moves, then collapse communities into nodes; repeat."""
    n = graph.shape[0]
    membership = np.arange(n, dtype=np.int64)
    level = sp.csr_matrix(graph, dtype=np.float64)
    while True:
        local, moved = _local_moves(level, rng=rng, resolution=resolution)
        if not moved:
            return membership
        membership = local[membership]
        k = int(local.max()) + 1
        assign = sp.csr_matrix(
            (np.ones(level.shape[0]), (np.arange(level.shape[0]), local)),
            shape=(level.shape[0], k),
        )
        level = sp.csr_matrix(assign.T @ level @ assign)


def _local_moves(
    graph: SparseMatrix, *, rng: np.random.Generator, resolution: float
) -> tuple[IntArray, bool]:
    """One Louvain level: move nodes to the neighbouring community with the best modularity gain."""
    n = graph.shape[0]
    indptr, indices, weights = graph.indptr, graph.indices, graph.data
    strength = np.asarray(graph.sum(axis=1), dtype=np.float64).ravel()
    two_m = float(strength.sum())
    community = np.arange(n, dtype=np.int64)
    if two_m == 0.0:
        return community, False
    total = strength.copy()
    any_move = False
    improved = True
    while improved:
        improved = False
        for node in rng.permutation(n):
            start, stop = indptr[node], indptr[node + 1]
            neighbours = indices[start:stop]
            link = weights[start:stop]
            off_self = neighbours != node
            neighbours, link = neighbours[off_self], link[off_self]
            if neighbours.size == 0:
                continue
            current = community[node]
            k = strength[node]
            total[current] -= k
            candidates, position = np.unique(community[neighbours], return_inverse=True)
            link_to = np.bincount(position, weights=link)
            gain = link_to - resolution * total[candidates] * k / two_m
            here = np.flatnonzero(candidates == current)
            stay = gain[here[0]] if here.size else -resolution * total[current] * k / two_m
            best = int(np.argmax(gain))
            target = current
            if gain[best] > stay + 1e-12:
                target = int(candidates[best])
                improved = any_move = True
            community[node] = target
            total[target] += k
    _, dense = np.unique(community, return_inverse=True)
    return dense.astype(np.int64), any_move


def _split_large(
    graph: SparseMatrix,
    membership: IntArray,
    *,
    rng: np.random.Generator,
    resolution: float,
    limit: int,
) -> IntArray:
    result = membership.copy()
    next_label = int(result.max()) + 1
    pending = [(c, resolution) for c in np.unique(result) if np.sum(result == c) > limit]
    while pending:
        community, gamma = pending.pop()
        nodes = np.flatnonzero(result == community)
        sub = _louvain(graph[nodes][:, nodes], rng=rng, resolution=gamma)
        parts = np.unique(sub)
        if parts.size == 1:
            if gamma < 1e6:
                pending.append((community, gamma * 2.0))
            continue
        for part in parts[1:]:
            result[nodes[sub == part]] = next_label
            next_label += 1
        for label in [community, *range(next_label - parts.size + 1, next_label)]:
            if np.sum(result == label) > limit:
                pending.append((label, gamma))
    return result


def _renumber_by_size(membership: IntArray, n: int) -> IntArray:
    labels, inverse, counts = np.unique(membership, return_inverse=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(labels.size, dtype=np.int64)
    rank[order] = np.arange(labels.size)
    return rank[inverse].reshape(n)
