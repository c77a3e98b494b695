"""Findings of ``qalqan analyze`` in: SIM farms, campaigns and spoofed-number waves as alerts."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from qalqan.cases import audit
from qalqan.cases.ingest.alerts import (
    as_json,
    batches,
    count_alerts,
    link_alerts,
    link_calls_to_campaigns,
    link_entities,
    severity_by_count,
    write_alerts,
)
from qalqan.cases.ingest.data_set import DataSetFacts, read_data_set
from qalqan.cases.ingest.reasons import guess_category, keyed, saying
from qalqan.cases.ingest.report import DEFAULT_BATCH, IngestProgress, IngestReport
from qalqan.cases.models import AlertKind, AnalysedCall, EntityKind
from qalqan.cases.roles import SYSTEM, Actor, Permission, authorize
from qalqan.cases.store import clock_of
from qalqan.cases.upsert import entity_ids, upsert
from qalqan.domain.model import ReportCategory
from qalqan.errors import MissingTableError
from qalqan.exchange.reader import read_file
from qalqan.exchange.sources import find_table


def _split(text: str | None, sep: str = ";") -> list[str]:
    return [p.strip() for p in (text or "").split(sep) if p.strip()]


def _time_of(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


@dataclass(slots=True)
class _Finding:
    """One alert to write with everything it links."""

    kind: AlertKind
    row: dict[str, Any]
    entities: list[tuple[tuple[str, str], str]] = field(default_factory=list)
    """(entity, relation to the alert)."""
    entity_links: list[tuple[tuple[str, str], tuple[str, str], str]] = field(default_factory=list)


def _farm_findings(farms: pa.Table, sims: pa.Table, source: str) -> list[_Finding]:
    members: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for imsi, msisdn, farm_id in zip(
        sims.column("imsi").to_pylist(),
        sims.column("msisdn").to_pylist(),
        sims.column("farm_id").to_pylist(),
        strict=True,
    ):
        if farm_id:
            members[farm_id].append((imsi, msisdn))
    findings = []
    for row in farms.to_pylist():
        farm_id = row["farm_id"]
        farm = (EntityKind.FARM.value, f"{source}/{farm_id}")
        imeis = _split(row.get("imeis"))
        cells = _split(row.get("cells"))
        sites = _split(row.get("sites"))
        severity = severity_by_count(int(row["n_sims"]), critical=50, high=10)
        size = {"sims": row["n_sims"], "handsets": len(imeis)}
        if row.get("lat") is None or row.get("lon") is None:
            headline = saying("finding.farm.unplaced", **size)
        else:
            place = {**size, "lat": f"{row['lat']:.5f}", "lon": f"{row['lon']:.5f}"}
            headline = (
                saying("finding.farm", **place, site=sites[0])
                if sites
                else saying("finding.farm.no_site", **place)
            )
        reasons: list[str | dict[str, object]] = [headline]
        reasons += keyed(_split(row.get("reasons"), ";"), row.get("reason_facts"))
        f = _Finding(
            AlertKind.SIM_FARM,
            {
                "source_ref": farm_id,
                "severity": severity.value,
                "severity_rank": severity.rank,
                "score": float(row.get("score") or 1.0),
                "reasons": as_json(reasons),
                "source_records": as_json([]),
                "details": as_json(
                    {
                        "n_sims": row["n_sims"],
                        "lat": row.get("lat"),
                        "lon": row.get("lon"),
                        "sites": sites,
                        "first_seen": row.get("first_seen"),
                        "last_seen": row.get("last_seen"),
                    }
                ),
                "occurred_at": _time_of(row.get("last_seen")),
            },
        )
        f.entities.append((farm, "self"))
        for imei in imeis:
            f.entities.append(((EntityKind.IMEI.value, imei), "handset"))
            f.entity_links.append((farm, (EntityKind.IMEI.value, imei), "handset"))
        for cell in cells:
            f.entities.append(((EntityKind.CELL.value, cell), "cell"))
            f.entity_links.append((farm, (EntityKind.CELL.value, cell), "cell"))
        for imsi, msisdn in members.get(farm_id, []):
            sim = (EntityKind.SIM.value, imsi)
            f.entities.append((sim, "member"))
            f.entity_links.append((farm, sim, "member"))
            if msisdn:
                number = (EntityKind.NUMBER.value, msisdn)
                f.entities.append((number, "member_number"))
                f.entity_links.append((sim, number, "msisdn"))
        findings.append(f)
    return findings


MAX_CAMPAIGN_NUMBERS: Final = 10_000
"""A campaign links at most this many of the numbers it called from (the rest are counted)."""


def _campaign_findings(
    campaigns: pa.Table,
    calls: list[dict[str, Any]],
    facts: DataSetFacts,
    source: str,
) -> list[_Finding]:
    by_campaign: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in calls:
        if call["campaign_id"]:
            by_campaign[call["campaign_id"]].append(call)
    findings = []
    for row in campaigns.to_pylist():
        cid = row["campaign_id"]
        members = by_campaign.get(cid, [])
        severity = severity_by_count(int(row["n_victims"]), critical=100, high=20)
        offset = row.get("utc_offset_h")
        farms = _split(row.get("farm_ids"))
        routes = _split(row.get("routes"))
        reasons: list[str | dict[str, object]] = [
            saying("finding.campaign", calls=f"{row['n_calls']:,}", people=f"{row['n_victims']:,}")
        ]
        if offset is not None:
            reasons.append(saying("finding.campaign.offset", offset=f"{offset:+g}"))
        if farms:
            key = "finding.campaign.farms" if len(farms) > 1 else "finding.campaign.farm"
            reasons.append(saying(key, farms=", ".join(farms)))
        if routes:
            reasons.append(saying("finding.campaign.routes", routes=", ".join(routes)))
        votes = Counter(
            c.value for c in (guess_category(call["reasons"]) for call in members) if c is not None
        )
        numbers = sorted({n for n in (_presented(call, facts) for call in members) if n})
        f = _Finding(
            AlertKind.CAMPAIGN,
            {
                "source_ref": cid,
                "severity": severity.value,
                "severity_rank": severity.rank,
                "score": 1.0,
                "category": votes.most_common(1)[0][0] if votes else ReportCategory.OTHER.value,
                "reasons": as_json(reasons),
                "source_records": as_json([c["record_id"] for c in members]),
                "details": as_json(
                    {
                        "n_calls": row["n_calls"],
                        "n_victims": row["n_victims"],
                        "utc_offset_h": offset,
                        "farm_ids": farms,
                        "routes": routes,
                        "kind": row.get("kind"),
                        "peak_lines": row.get("peak_lines"),
                        "first_seen": row.get("first_seen"),
                        "last_seen": row.get("last_seen"),
                        "calls_by_utc_hour": [int(h) for h in _split(row.get("calls_by_utc_hour"))],
                        "numbers_total": len(numbers),
                    }
                ),
                "occurred_at": _time_of(row.get("last_seen"))
                or max((c["start_time"] for c in members if c["start_time"]), default=None),
            },
        )
        campaign = (EntityKind.CAMPAIGN.value, f"{source}/{cid}")
        f.entities.append((campaign, "self"))
        for farm_id in farms:
            farm = (EntityKind.FARM.value, f"{source}/{farm_id}")
            f.entities.append((farm, "uses_farm"))
            f.entity_links.append((campaign, farm, "uses_farm"))
        for route in routes:
            f.entities.append(((EntityKind.ROUTE.value, route), "uses_route"))
            f.entity_links.append((campaign, (EntityKind.ROUTE.value, route), "uses_route"))
        for number in numbers[:MAX_CAMPAIGN_NUMBERS]:
            f.entities.append(((EntityKind.NUMBER.value, number), "caller"))
        findings.append(f)
    return findings


_NUMBER: Final = re.compile(r"\+\d{7,15}")


def _presented(call: dict[str, Any], facts: DataSetFacts) -> str | None:
    """The caller ID a call presented: from cdrs when known, else the first number its reason names."""
    known = facts.calls.get(call["record_id"])
    if known is not None:
        return known.caller
    match = _NUMBER.search(call["reasons"] or "")
    return match.group(0) if match else None


_WAVE_HEADLINES: Final = {
    (True, True): "finding.wave.campaign.examples",
    (True, False): "finding.wave.campaign",
    (False, True): "finding.wave.route.examples",
    (False, False): "finding.wave.route",
}
"""A wave's headline by (grouped by campaign rather than route, numbers to show as examples)."""


def _wave_findings(
    calls: list[dict[str, Any]], facts: DataSetFacts, source: str, min_calls: int
) -> list[_Finding]:
    waves: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for call in calls:
        if call["verdict"] != "spoofed":
            continue
        known = facts.calls.get(call["record_id"])
        start = known.start_time if known is not None else call["start_time"]
        ingress = known.ingress if known is not None else call["ingress"]
        group = (
            f"campaign {call['campaign_id']}"
            if call["campaign_id"]
            else f"route {ingress or 'unknown'}"
        )
        rule = (call["reasons"] or "unexplained").split(":", 1)[0].strip()
        day = start.date().isoformat() if start is not None else "unknown day"
        waves[group, rule, day].append(
            {**call, "_start": start, "_ingress": ingress, "_campaign": call["campaign_id"]}
        )
    findings = []
    for (group, rule, day), members in sorted(waves.items()):
        if len(members) < min_calls:
            continue
        numbers = Counter(n for n in (_presented(c, facts) for c in members) if n)
        severity = severity_by_count(len(members), critical=50, high=10)
        examples = ", ".join(n for n, _ in numbers.most_common(3))
        cells = {c["reasons"]: c.get("reason_facts") for c in members if c["reasons"]}
        distinct = sorted(cells)
        by_campaign = members[0]["_campaign"]
        told: dict[str, object] = {"calls": len(members), "day": day, "numbers": len(numbers)}
        if by_campaign:
            told["campaign"] = by_campaign
        else:
            told["route"] = members[0]["_ingress"] or "unknown"
        if examples:
            told["examples"] = examples
        key = _WAVE_HEADLINES[bool(by_campaign), bool(examples)]
        reasons: list[str | dict[str, object]] = [saying(key, **told)]
        for sentence in distinct[:5]:
            reasons += keyed([sentence], cells[sentence])
        campaign_ids = {c["campaign_id"] for c in members if c["campaign_id"]}
        routes = {c["_ingress"] for c in members if c["_ingress"] and ":" in c["_ingress"]}
        category = guess_category(*distinct[:20]) or ReportCategory.OTHER
        f = _Finding(
            AlertKind.SPOOFED_WAVE,
            {
                "source_ref": f"{group}|{rule}|{day}",
                "severity": severity.value,
                "severity_rank": severity.rank,
                "score": 1.0,
                "category": category.value,
                "reasons": as_json(reasons),
                "source_records": as_json([c["record_id"] for c in members]),
                "details": as_json(
                    {
                        "calls": len(members),
                        "rule": rule,
                        "day": day,
                        "group": group,
                        "numbers": len(numbers),
                    }
                ),
                "occurred_at": max((c["_start"] for c in members if c["_start"]), default=None),
            },
        )
        for number in numbers:
            f.entities.append(((EntityKind.NUMBER.value, number), "presented"))
        for cid in campaign_ids:
            f.entities.append(((EntityKind.CAMPAIGN.value, f"{source}/{cid}"), "campaign"))
        for route in routes:
            f.entities.append(((EntityKind.ROUTE.value, route), "route"))
        findings.append(f)
    return findings


def _write_findings(session: Session, findings: Sequence[_Finding], source: str) -> dict[str, int]:
    now = clock_of(session)
    written: dict[str, int] = {}
    for kind in AlertKind:
        group = [f for f in findings if f.kind is kind]
        if not group:
            continue
        for f in group:
            if f.row.get("occurred_at") is None:
                f.row["occurred_at"] = now
        ids = write_alerts(session, kind, source, [f.row for f in group])
        pairs = [e for f in group for e, _ in f.entities]
        pairs += [p for f in group for link in f.entity_links for p in link[:2]]
        entity = entity_ids(session, pairs)
        link_alerts(
            session,
            [(ids[f.row["source_ref"]], entity[e], rel) for f in group for e, rel in f.entities],
        )
        link_entities(
            session, [(entity[a], entity[b], rel) for f in group for a, b, rel in f.entity_links]
        )
        written[kind.value] = len(ids)
    return written


def ingest_findings(
    session: Session,
    out_dir: Path,
    data: Path | None = None,
    *,
    source: str = "default",
    actor: Actor = SYSTEM,
    batch_size: int = DEFAULT_BATCH,
    min_wave_calls: int = 3,
    progress: IngestProgress | None = None,
    quarantine: Path | None = None,
) -> IngestReport:
    """Load a ``qalqan analyze`` output folder: farms, campaigns and spoofed waves as alerts.

    ``calls.csv`` and ``campaigns.csv`` and ``farms.csv`` are required,
    ``sims.csv`` gives a farm its SIMs and numbers. With ``data`` (the data set
    analysed), the numbers each campaign and wave called from come from its
    ``cdrs``. Rejected rows are counted and quarantined as by
    :func:`ingest_decisions`. Permission: ``ingest``.
    """
    actor = authorize(session, actor, Permission.INGEST, f"folder:{out_dir.name}")
    report = IngestReport()
    tables: dict[str, pa.Table] = {}
    for name in ("farms", "sims", "calls", "campaigns"):
        path = find_table(out_dir, name)
        if path is None:
            if name == "sims":
                continue
            raise MissingTableError(name, out_dir)
        with read_file(path, name, quarantine=quarantine) as reader:
            tables[name] = reader.read_all()
        report.note_rejected(reader.report, quarantine)
        report.rows_read += len(tables[name])
    calls_table = tables["calls"]
    calls_table = calls_table.filter(
        pc.is_in(calls_table.column("verdict"), value_set=pa.array(["fraud", "spoofed"]))
    )
    extra_time = "start_time" in calls_table.column_names
    extra_ingress = "ingress" in calls_table.column_names
    calls = [
        {
            "record_id": r["record_id"],
            "verdict": r["verdict"],
            "campaign_id": r["campaign_id"],
            "reasons": r["reasons"],
            "reason_facts": r.get("reason_facts"),
            "start_time": _time_of(r.get("start_time")) if extra_time else None,
            "ingress": r.get("ingress") if extra_ingress else None,
        }
        for r in calls_table.to_pylist()
    ]
    facts = (
        read_data_set(
            data,
            [c["record_id"] for c in calls],
            with_people=False,
            report=report,
            quarantine=quarantine,
        )
        if data
        else DataSetFacts()
    )
    sims = tables.get("sims")
    if sims is None:
        sims = pa.table(
            {
                "imsi": pa.array([], pa.string()),
                "msisdn": pa.array([], pa.string()),
                "farm_id": pa.array([], pa.string()),
            }
        )
    findings = (
        _farm_findings(tables["farms"], sims, source)
        + _campaign_findings(tables["campaigns"], calls, facts, source)
        + _wave_findings(calls, facts, source, min_wave_calls)
    )
    kinds = [AlertKind.SIM_FARM, AlertKind.CAMPAIGN, AlertKind.SPOOFED_WAVE]
    before = count_alerts(session, kinds, source)
    session.commit()
    total = len(calls) + len(findings)
    done = 0

    def acknowledge(what: str, items: int, alerts: int) -> None:
        nonlocal done
        report.batches += 1
        audit.append(
            session,
            actor,
            "ingest_findings",
            f"folder:{out_dir.name}",
            at=clock_of(session),
            details={
                "source": source,
                "batch": report.batches,
                "what": what,
                "items": items,
                "alerts": alerts,
            },
        )
        session.commit()  # acknowledged from here on
        done += items
        if progress is not None:
            progress(done, total)

    size = max(1, batch_size)
    for part in batches(calls, size):
        upsert(
            session,
            AnalysedCall,
            [
                {
                    "source": source,
                    "record_id": c["record_id"],
                    "verdict": c["verdict"],
                    "campaign_id": c["campaign_id"],
                }
                for c in {c["record_id"]: c for c in part}.values()
            ],
            keys=("source", "record_id"),
            update={"verdict": "excluded", "campaign_id": "excluded"},
        )
        acknowledge("calls", len(part), 0)
    # a farm links all its SIMs: batches of findings are kept small
    for part in batches(findings, max(1, size // 20)):
        written = _write_findings(session, part, source)
        for kind, n in written.items():
            report._saw(kind, n)
        acknowledge("findings", len(part), sum(written.values()))
    link_calls_to_campaigns(session, source, None)
    session.commit()
    after = count_alerts(session, kinds, source)
    report.alerts_new = {k: after[k] - before[k] for k in after}
    return report
