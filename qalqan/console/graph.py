"""A case as a graph: its episodes and the numbers, SIMs, IMEIs, cells, accounts and victims they share.

Investigators read a case by what ties its calls together — the same farm
IMEI, the same mule account, the same person targeted twice. This turns a
:class:`~qalqan.cases.views.CaseView` into Cytoscape.js elements (plain
dicts, JSON-ready) without touching the database: one node per episode,
one per distinct entity, one per potential victim, and an edge for every
link the case store knows, labelled with its relation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qalqan.cases.views import CaseView

__all__ = ["case_graph"]


def case_graph(
    case: CaseView,
    *,
    episode_label: str,
    victim_label: str,
    kind_label: Callable[[str], str] = str,
) -> list[dict[str, Any]]:
    """Cytoscape elements (``{"data": …, "classes": …}``) for the case.

    Node labels carry what a thing is (``IMEI 3500…``, ``account KZ…``), in
    the reader's language through ``kind_label``; edges carry the relation as
    data only (shown on hover), so that labels never pile up on each other.
    """
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[str, dict[str, Any]] = {}

    def node(ident: str, label: str, kind: str) -> str:
        nodes.setdefault(ident, {"data": {"id": ident, "label": label}, "classes": kind})
        return ident

    def edge(source: str, target: str, label: str) -> None:
        ident = f"{source}->{target}:{label}"
        edges.setdefault(
            ident, {"data": {"id": ident, "source": source, "target": target, "label": label}}
        )

    case_node = node(f"case:{case.id}", f"#{case.id} {case.title}", "case")
    for alert in case.episodes:
        episode = node(f"alert:{alert.id}", f"{episode_label} #{alert.id}", "episode")
        edge(case_node, episode, "")
        if alert.victim is not None:
            victim = node(
                f"victim:{alert.victim.id}", f"{victim_label} {alert.victim.msisdn}", "victim"
            )
            edge(episode, victim, "")
        for entity in alert.entities:
            label = f"{kind_label(entity.kind)} {entity.value}"
            target = node(f"entity:{entity.id}", label, entity.kind)
            edge(episode, target, entity.relation.replace("_", " "))
    for finding in case.findings:
        found = node(f"alert:{finding.alert_id}", finding.headline, finding.kind)
        edge(case_node, found, "")
    for entity in case.entities:
        if entity.relation == "attached":
            label = f"{kind_label(entity.kind)} {entity.value}"
            edge(case_node, node(f"entity:{entity.id}", label, entity.kind), "attached")
    return [*nodes.values(), *edges.values()]
