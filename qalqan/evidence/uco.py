"""The package described in CASE/UCO JSON-LD (``case-uco.jsonld``).

The graph says, in the vocabulary forensic tools share: the **investigation**
(the case), the **action** that made the package (who, when, with which tool),
a **provenance record** holding every file of the package with its size and
SHA-256, and the things the case is about — calls (``observable:Call``), the
numbers (``PhoneAccount``), SIMs (``SIMCard`` with the IMSI), handsets
(``MobileDevice`` with the IMEI), cells (``CellSite``), accounts and the farms'
estimated locations — with relationships between them. Identifiers are
``kb:`` IRIs ending in a UUID derived from the case and the thing, so the same
case described twice names its things the same. ``case_validate`` (from
case-utils, offline) checks it against CASE 1.5.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from qalqan.evidence.collect import CaseEvidence, Table

__all__ = ["CONTEXT", "NAMESPACE", "describe_package"]

NAMESPACE: Final = uuid.UUID("6f3f2a55-7d0e-4d0c-9d5b-5a1f0c1e9b11")
CONTEXT: Final = {
    "kb": "http://qalqan.example.org/kb/",
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "location": "https://ontology.unifiedcyberontology.org/uco/location/",
    "observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "vocabulary": "https://ontology.unifiedcyberontology.org/uco/vocabulary/",
    "tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


class _Graph:
    def __init__(self, case_id: int) -> None:
        self.case_id = case_id
        self.nodes: dict[str, dict[str, Any]] = {}

    def iri(self, kind: str, key: str) -> str:
        name = kind.replace(":", "-")
        return f"kb:{name}-{uuid.uuid5(NAMESPACE, f'case:{self.case_id}/{kind}/{key}')}"

    def add(self, kind: str, key: str, **props: Any) -> str:
        iri = self.iri(kind, key)
        if iri not in self.nodes:
            self.nodes[iri] = {"@id": iri, "@type": kind, **props}
        return iri

    def facet(self, owner: str, kind: str, **props: Any) -> dict[str, Any]:
        return {"@id": self.iri(kind, owner), "@type": kind, **props}

    def relate(self, source: str, target: str, kind: str) -> None:
        self.add(
            "core:Relationship", f"{source}>{kind}>{target}",
            **{"core:source": [{"@id": source}], "core:target": {"@id": target},
               "core:kindOfRelationship": kind, "core:isDirectional": True},
        )  # fmt: skip


def _time(value: str | datetime) -> dict[str, str]:
    text = value.isoformat() if isinstance(value, datetime) else value
    return {"@type": "xsd:dateTime", "@value": text.replace("+00:00", "Z")}


def _decimal(value: str) -> dict[str, str]:
    return {"@type": "xsd:decimal", "@value": value}


def _file(g: _Graph, root: Path, relative: str, digest: str) -> str:
    size = (root / relative).stat().st_size
    key = f"file:{relative}"
    return g.add(
        "observable:File", key,
        **{"core:hasFacet": [
            g.facet(key, "observable:FileFacet", **{
                "observable:fileName": Path(relative).name, "observable:filePath": relative,
                "observable:sizeInBytes": {"@type": "xsd:integer", "@value": str(size)}}),
            g.facet(key, "observable:ContentDataFacet", **{"observable:hash": [{
                "@id": g.iri("types:Hash", relative), "@type": "types:Hash",
                "types:hashMethod": "SHA256",
                "types:hashValue": {"@type": "xsd:hexBinary", "@value": digest.upper()}}]}),
        ]},
    )  # fmt: skip


_KINDS: Final = {
    "number": ("observable:PhoneAccount", "observable:PhoneAccountFacet", "observable:phoneNumber"),
    "sim": ("observable:SIMCard", "observable:SIMCardFacet", "observable:IMSI"),
    "imei": ("observable:MobileDevice", "observable:MobileDeviceFacet", "observable:IMEI"),
    "cell": ("observable:CellSite", "observable:CellSiteFacet", "observable:cellSiteIdentifier"),
    "account": ("observable:Account", "observable:AccountFacet", "observable:accountIdentifier"),
}


def _thing(g: _Graph, kind: str, value: str) -> str | None:
    if kind not in _KINDS or not value:
        return None
    cls, facet, prop = _KINDS[kind]
    key = f"{kind}:{value}"
    return g.add(cls, key, **{"core:hasFacet": [g.facet(key, facet, **{prop: value})]})


def _calls(g: _Graph, calls: Table) -> list[str]:
    made = []
    for row in calls.rows:
        r = dict(zip(calls.columns, row, strict=True))
        key = f"call:{r['alert_id']}"
        facet: dict[str, Any] = {"observable:startTime": _time(r["occurred_at"]),
                                 "observable:callType": "intercepted"}  # fmt: skip
        caller, callee = _thing(g, "number", r["caller"]), _thing(g, "number", r["callee"])
        if caller:
            facet["observable:from"] = {"@id": caller}
        if callee:
            facet["observable:to"] = [{"@id": callee}]
        call = g.add(
            "observable:Call", key,
            **{"core:name": f"alert {r['alert_id']} ({r['record_ids']})", "core:description": r["reasons"],
               "core:hasFacet": [g.facet(key, "observable:CallFacet", **facet)]},
        )  # fmt: skip
        for kind, column in (
            ("sim", "caller_sim"),
            ("imei", "caller_imei"),
            ("cell", "caller_cell"),
        ):
            if thing := _thing(g, kind, r[column]):
                g.relate(call, thing, f"Placed_With_{kind.upper()}")
        made.append(call)
    return made


def _locations(g: _Graph, farms: Table, tracks: Table) -> list[str]:
    made = []
    rows = [("farm", dict(zip(farms.columns, r, strict=True))) for r in farms.rows]
    rows += [("stay", dict(zip(tracks.columns, r, strict=True))) for r in tracks.rows]
    for what, r in rows:
        if not r.get("lat") or not r.get("lon"):
            continue
        key = f"{what}:{r['farm_id']}:{r.get('stay', '')}"
        made.append(g.add(
            "location:Location", key,
            **{"core:name": f"SIM farm {r['farm_id']}" + (f", stay {r['stay']}" if what == "stay" else ", estimated"),
               "core:hasFacet": [g.facet(key, "location:LatLongCoordinatesFacet", **{
                   "location:latitude": _decimal(r["lat"]), "location:longitude": _decimal(r["lon"])})]},
        ))  # fmt: skip
    return made


def describe_package(
    root: Path,
    evidence: CaseEvidence,
    files: Iterable[tuple[str, str]],
    *,
    made_at: datetime,
    made_by: str,
    tool_version: str,
) -> dict[str, Any]:
    """The JSON-LD document for a package whose ``files`` (path, SHA-256) are written."""
    g = _Graph(evidence.case_id)
    exhibits = [_file(g, root, path, digest) for path, digest in files]
    things = _calls(g, evidence.calls)
    for kind, value, _relation, _alert in evidence.entities.rows:
        if thing := _thing(g, kind, value):
            things.append(thing)
    things += _locations(g, evidence.farms, evidence.farm_tracks)
    record = g.add(
        "case-investigation:ProvenanceRecord", "package",
        **{"case-investigation:exhibitNumber": f"qalqan-case-{evidence.case_id}",
           "core:description": "Every file of the evidence package",
           "core:object": [{"@id": e} for e in exhibits]},
    )  # fmt: skip
    tool = g.add("tool:Tool", "qalqan", **{"core:name": "Qalqan", "tool:version": tool_version})
    performer = g.add("identity:Identity", f"user:{made_by}", **{"core:name": made_by})
    action = g.add(
        "case-investigation:InvestigativeAction", "export",
        **{"core:name": "evidence package exported", "core:startTime": _time(made_at),
           "core:endTime": _time(made_at), "action:performer": {"@id": performer},
           "action:instrument": {"@id": tool}, "action:result": [{"@id": record}]},
    )  # fmt: skip
    g.add(
        "case-investigation:Investigation", "case",
        **{"core:name": f"Case #{evidence.case_id}: {evidence.title}",
           "case-investigation:focus": ["telephone fraud"],
           "case-investigation:investigationStatus": evidence.status,
           "core:startTime": _time(evidence.opened_at),
           "core:object": [{"@id": i} for i in [action, record, *dict.fromkeys(things)]]},
    )  # fmt: skip
    return {"@context": CONTEXT, "@graph": list(g.nodes.values())}


def write_description(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
