"""Findings of ``qalqan analyze`` in: SIM farms, campaigns and spoofed-number waves as alerts."""

from __future__ import annotations

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
from qalqan.cases.ingest.money import ingest_money
from qalqan.cases.ingest.reasons import file_reasons, finding, reasons_json, scheme_of
from qalqan.cases.ingest.report import DEFAULT_BATCH, IngestProgress, IngestReport
from qalqan.cases.models import AlertKind, AnalysedCall, EntityKind
from qalqan.cases.roles import SYSTEM, Actor, Permission, authorize
from qalqan.cases.store import clock_of
from qalqan.cases.upsert import entity_ids, upsert
from qalqan.domain.model import CallVerdict, Reason, ReportCategory
from qalqan.errors import MissingTableError
from qalqan.exchange.reader import read_file
from qalqan.exchange.sources import find_table


def _split(text: str | None, sep: str = ";") -> list[str]:
    """A list column of the analysis (``imeis``, ``cells``, ``farm_ids``): never reasons."""
    return [p.strip() for p in (text or "").split(sep) if p.strip()]


def _time_of(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Judged:
    """One call of ``calls.csv`` that analysis judged fraud or spoofed, as it says."""

    record_id: str
    verdict: CallVerdict
    campaign_id: str | None
    reasons: tuple[Reason, ...]
    start_time: datetime | None
    ingress: str | None


@dataclass(slots=True)
class _Finding:
    """One alert to write with everything it links."""

    kind: AlertKind
    row: dict[str, Any]
    entities: list[tuple[tuple[str, str], str]] = field(default_factory=list)
    """(entity, relation to the alert)."""
    entity_links: list[tuple[tuple[str, str], tuple[str, str], str]] = field(default_factory=list)


def _farm_headline(row: dict[str, Any], sites: list[str], handsets: int) -> Reason:
    weight = float(row.get("score") or 1.0)
    size = {"sims": row["n_sims"], "handsets": handsets}
    if row.get("lat") is None or row.get("lon") is None:
        return finding("finding.farm.unplaced", weight, **size)
    place = {**size, "lat": f"{row['lat']:.5f}", "lon": f"{row['lon']:.5f}"}
    if sites:
        return finding("finding.farm", weight, **place, site=sites[0])
    return finding("finding.farm.no_site", weight, **place)


def _farm_members(sims: pa.Table) -> dict[str, list[tuple[str, str | None]]]:
    members: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for imsi, msisdn, farm_id in zip(
        sims.column("imsi").to_pylist(),
        sims.column("msisdn").to_pylist(),
        sims.column("farm_id").to_pylist(),
        strict=True,
    ):
        if farm_id:
            members[farm_id].append((imsi, msisdn))
    return members


def _farm_findings(farms: pa.Table, sims: pa.Table, source: str) -> list[_Finding]:
    members = _farm_members(sims)
    findings = []
    for row in farms.to_pylist():
        farm_id = row["farm_id"]
        farm = (EntityKind.FARM.value, f"{source}/{farm_id}")
        imeis = _split(row.get("imeis"))
        cells = _split(row.get("cells"))
        sites = _split(row.get("sites"))
        severity = severity_by_count(int(row["n_sims"]), critical=50, high=10)
        reasons = [
            _farm_headline(row, sites, len(imeis)),
            *file_reasons(row.get("reason_facts"), row.get("reasons"), table="farms"),
        ]
        f = _Finding(
            AlertKind.SIM_FARM,
            {
                "source_ref": farm_id,
                "severity": severity.value,
                "severity_rank": severity.rank,
                "score": float(row.get("score") or 1.0),
                "reasons": reasons_json(reasons),
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


def _campaign_reasons(row: dict[str, Any], farms: list[str], routes: list[str]) -> list[Reason]:
    """What the store says of a campaign (size, office hours, farms, routes), then why
    analysis holds its calls to be one campaign (``campaigns.csv``'s own reasons)."""
    offset = row.get("utc_offset_h")
    reasons = [
        finding(
            "finding.campaign", 1.0, calls=f"{row['n_calls']:,}", people=f"{row['n_victims']:,}"
        )
    ]
    if offset is not None:
        reasons.append(finding("finding.campaign.offset", 0.0, offset=f"{offset:+g}"))
    if farms:
        key = "finding.campaign.farms" if len(farms) > 1 else "finding.campaign.farm"
        reasons.append(finding(key, 0.0, farms=", ".join(farms)))
    if routes:
        reasons.append(finding("finding.campaign.routes", 0.0, routes=", ".join(routes)))
    return reasons + file_reasons(row.get("reason_facts"), row.get("reasons"), table="campaigns")


def _campaign_category(reasons: list[Reason], members: list[_Judged]) -> ReportCategory:
    """The scheme the campaign's own reasons name (its complaints), else the one most of its
    calls point to."""
    told = scheme_of(reasons)
    if told is not None:
        return told
    votes = Counter(c.value for c in (scheme_of(call.reasons) for call in members) if c)
    return ReportCategory(votes.most_common(1)[0][0]) if votes else ReportCategory.OTHER


def _campaign_findings(
    campaigns: pa.Table, calls: list[_Judged], facts: DataSetFacts, source: str
) -> list[_Finding]:
    by_campaign: dict[str, list[_Judged]] = defaultdict(list)
    for call in calls:
        if call.campaign_id:
            by_campaign[call.campaign_id].append(call)
    findings = []
    for row in campaigns.to_pylist():
        cid = row["campaign_id"]
        members = by_campaign.get(cid, [])
        severity = severity_by_count(int(row["n_victims"]), critical=100, high=20)
        farms = _split(row.get("farm_ids"))
        routes = _split(row.get("routes"))
        reasons = _campaign_reasons(row, farms, routes)
        numbers = sorted({n for n in (_presented(call, facts) for call in members) if n})
        f = _Finding(
            AlertKind.CAMPAIGN,
            {
                "source_ref": cid,
                "severity": severity.value,
                "severity_rank": severity.rank,
                "score": 1.0,
                "category": _campaign_category(reasons, members).value,
                "reasons": reasons_json(reasons),
                "source_records": as_json([c.record_id for c in members]),
                "details": as_json(
                    {
                        "n_calls": row["n_calls"],
                        "n_victims": row["n_victims"],
                        "utc_offset_h": row.get("utc_offset_h"),
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
                or max((c.start_time for c in members if c.start_time), default=None),
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


def _presented(call: _Judged, facts: DataSetFacts) -> str | None:
    """The caller ID a call presented: its CDR's when the data set is given, else the
    ``caller`` fact of the first of its reasons that has one."""
    known = facts.calls.get(call.record_id)
    if known is not None:
        return known.caller
    told = (dict(r.facts).get("caller") for r in call.reasons)
    return next((number for number in told if number), None)


_WAVE_HEADLINES: Final = {
    (True, True): "finding.wave.campaign.examples",
    (True, False): "finding.wave.campaign",
    (False, True): "finding.wave.route.examples",
    (False, False): "finding.wave.route",
}
"""A wave's headline by (grouped by campaign rather than route, numbers to show as examples)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _WaveCall:
    """A spoofed call of a wave, with when and where it came in (its CDR's, when known)."""

    judged: _Judged
    start: datetime | None
    ingress: str | None


def _waves(
    calls: list[_Judged], facts: DataSetFacts
) -> dict[tuple[str, str, str], list[_WaveCall]]:
    """The spoofed calls by (campaign or route, the rule of their first reason, UTC day)."""
    waves: dict[tuple[str, str, str], list[_WaveCall]] = defaultdict(list)
    for call in calls:
        if call.verdict is not CallVerdict.SPOOFED:
            continue
        known = facts.calls.get(call.record_id)
        start = known.time if known is not None else call.start_time
        ingress = str(known.ingress) if known is not None else call.ingress
        group = (
            f"campaign {call.campaign_id}" if call.campaign_id else f"route {ingress or 'unknown'}"
        )
        rule = call.reasons[0].rule if call.reasons else "unexplained"
        day = start.date().isoformat() if start is not None else "unknown day"
        waves[group, rule, day].append(_WaveCall(judged=call, start=start, ingress=ingress))
    return waves


def _wave_reasons(
    members: list[_WaveCall], numbers: Counter[str], day: str
) -> tuple[Reason, list[Reason]]:
    """A wave's headline, and the distinct reasons of its calls (strongest first)."""
    examples = ", ".join(n for n, _ in numbers.most_common(3))
    campaign = members[0].judged.campaign_id
    told: dict[str, object] = {"calls": len(members), "day": day, "numbers": len(numbers)}
    if campaign:
        told["campaign"] = campaign
    else:
        told["route"] = members[0].ingress or "unknown"
    if examples:
        told["examples"] = examples
    key = _WAVE_HEADLINES[bool(campaign), bool(examples)]
    distinct = {reason for m in members for reason in m.judged.reasons}
    ordered = sorted(distinct, key=lambda r: (-r.weight, r.detail, r.rule))
    return finding(key, 1.0, **told), ordered


def _wave_findings(
    calls: list[_Judged], facts: DataSetFacts, source: str, min_calls: int
) -> list[_Finding]:
    findings = []
    for (group, rule, day), members in sorted(_waves(calls, facts).items()):
        if len(members) < min_calls:
            continue
        numbers = Counter(n for n in (_presented(m.judged, facts) for m in members) if n)
        severity = severity_by_count(len(members), critical=50, high=10)
        headline, distinct = _wave_reasons(members, numbers, day)
        campaign_ids = {m.judged.campaign_id for m in members if m.judged.campaign_id}
        routes = {m.ingress for m in members if m.ingress and ":" in m.ingress}
        category = scheme_of(distinct) or ReportCategory.OTHER
        f = _Finding(
            AlertKind.SPOOFED_WAVE,
            {
                "source_ref": f"{group}|{rule}|{day}",
                "severity": severity.value,
                "severity_rank": severity.rank,
                "score": 1.0,
                "category": category.value,
                "reasons": reasons_json([headline, *distinct[:5]]),
                "source_records": as_json([m.judged.record_id for m in members]),
                "details": as_json(
                    {
                        "calls": len(members),
                        "rule": rule,
                        "day": day,
                        "group": group,
                        "numbers": len(numbers),
                    }
                ),
                "occurred_at": max((m.start for m in members if m.start), default=None),
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


_NO_SIMS: Final = pa.schema(
    [("imsi", pa.string()), ("msisdn", pa.string()), ("farm_id", pa.string())]
)


def _read_tables(
    out_dir: Path, report: IngestReport, quarantine: Path | None
) -> dict[str, pa.Table]:
    """``farms``, ``sims`` (empty when absent), ``calls`` and ``campaigns`` of the analysis."""
    tables: dict[str, pa.Table] = {"sims": _NO_SIMS.empty_table()}
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
    return tables


_FLAGGED: Final = pa.array([CallVerdict.FRAUD.value, CallVerdict.SPOOFED.value])


def _judged_calls(calls: pa.Table) -> list[_Judged]:
    """The calls analysis judged fraud or spoofed."""
    flagged = calls.filter(pc.is_in(calls.column("verdict"), value_set=_FLAGGED))
    extra_time = "start_time" in flagged.column_names
    extra_ingress = "ingress" in flagged.column_names
    return [
        _Judged(
            record_id=r["record_id"],
            verdict=CallVerdict(r["verdict"]),
            campaign_id=r["campaign_id"],
            reasons=tuple(file_reasons(r.get("reason_facts"), r["reasons"], table="calls")),
            start_time=_time_of(r.get("start_time")) if extra_time else None,
            ingress=r.get("ingress") if extra_ingress else None,
        )
        for r in flagged.to_pylist()
    ]


def _write_judged(session: Session, part: Sequence[_Judged], source: str) -> None:
    upsert(
        session,
        AnalysedCall,
        [
            {
                "source": source,
                "record_id": c.record_id,
                "verdict": c.verdict.value,
                "campaign_id": c.campaign_id,
            }
            for c in {c.record_id: c for c in part}.values()
        ],
        keys=("source", "record_id"),
        update={"verdict": "excluded", "campaign_id": "excluded"},
    )


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
    :func:`~qalqan.cases.ingest.ingest_decisions`. Permission: ``ingest``.
    """
    actor = authorize(session, actor, Permission.INGEST, f"folder:{out_dir.name}")
    report = IngestReport()
    tables = _read_tables(out_dir, report, quarantine)
    calls = _judged_calls(tables["calls"])
    facts = (
        read_data_set(
            data,
            [c.record_id for c in calls],
            with_people=False,
            report=report,
            quarantine=quarantine,
        )
        if data
        else DataSetFacts()
    )
    findings = (
        _farm_findings(tables["farms"], tables["sims"], source)
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
        _write_judged(session, part, source)
        acknowledge("calls", len(part), 0)
    # a farm links all its SIMs: batches of findings are kept small
    for group in batches(findings, max(1, size // 20)):
        written = _write_findings(session, group, source)
        for kind, n in written.items():
            report.saw(kind, n)
        acknowledge("findings", len(group), sum(written.values()))
    link_calls_to_campaigns(session, source, None)
    session.commit()
    ingest_money(session, out_dir, data, source=source, actor=actor, batch_size=size,
                 quarantine=quarantine, report=report)  # fmt: skip
    after = count_alerts(session, kinds, source)
    report.alerts_new = {k: after[k] - before[k] for k in after}
    return report
