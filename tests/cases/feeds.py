"""A small operator feed for the case store's tests: data set, screening decisions, analysis.

Deterministic and tiny, but shaped like the real thing (``qalqan simulate`` →
``qalqan replay`` → ``qalqan analyze``): one SIM farm of three SIMs calling for
campaign C0001 from the mobile network, and spoofed calls presenting the
National Bank's hotline over an international route for campaign C0002.
Every other potential victim is old enough to be vulnerable, and victims
repeat when there are more calls than victims.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

FARM_SIMS = (
    ("401770000000001", "+77010000001", "350000000000011"),
    ("401770000000002", "+77010000002", "350000000000029"),
    ("401770000000003", "+77010000003", "350000000000037"),
)
BANK_HOTLINE = "+77272707000"
FARM_REASON = "sim_farm.handset_many_sims: IMEI {imei} carried 3 different SIMs in 24h"
SPOOF_REASON = (
    "spoofed_cli.registry_inbound_only: presents +77272707000 (National Bank, hotline), "
    "a number that never calls out"
)
SPOOF_FACTS = json.dumps(
    [
        {
            "rule": "spoofed_cli.registry_inbound_only",
            "key": "spoofed_cli.registry_inbound_only",
            "facts": {"caller": BANK_HOTLINE, "owner": "National Bank, hotline"},
            "weight": 0.85,
        }
    ]
)
"""What the replay writes beside a reason (``reason_facts``): the reason as data."""


def farm_facts(imei: str) -> str:
    return json.dumps(
        [
            {
                "rule": "sim_farm.handset_many_sims",
                "key": "sim_farm.handset_many_sims",
                "facts": {"imei": imei, "sims": "3", "window": "24h"},
                "weight": 0.97,
            }
        ]
    )


def simbox_call_facts(imsi: str) -> str:
    """What ``qalqan analyze`` writes beside a call of a farm's SIM (``calls.csv``)."""
    return json.dumps(
        [
            {
                "rule": "simbox.call",
                "key": "analysis.call.simbox",
                "facts": {"imsi": imsi, "farm": "F0001"},
                "weight": 1.0,
            }
        ]
    )


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])


def victim_number(i: int) -> str:
    return f"+7702{i:07d}"


@dataclass(frozen=True, slots=True)
class Feed:
    data: Path
    """The data set: cdrs, subscribers, registry, reports."""
    decisions: Path
    findings: Path
    """A `qalqan analyze` output folder."""
    intercepted: int
    """Non-allow decisions: the intercepted-call alerts it makes."""
    victims: int


def write_feed(folder: Path, *, calls: int = 12, start: datetime = T0, allowed: int = 4) -> Feed:
    """Write the feed; call ``k`` is from the farm when even, a spoofed bank call when odd."""
    n_victims = max(2, min(calls, 8) if calls <= 16 else calls // 2)
    data, out = folder / "data", folder / "analysis"
    cdrs, decisions, verdicts = [], [], []
    for k in range(calls):
        when = start + timedelta(minutes=k)
        callee = victim_number(k % n_victims)
        rid = f"r{k}"
        if k % 2 == 0:
            imsi, msisdn, imei = FARM_SIMS[(k // 2) % 3]
            cdrs.append(
                [
                    rid,
                    _time(when),
                    0,
                    "voice",
                    "rejected",
                    msisdn,
                    callee,
                    "mobile",
                    imsi,
                    imei,
                    "C00001-1",
                    None,
                    None,
                ]
            )
            decisions.append(
                [rid, "block", 0.97, FARM_REASON.format(imei=imei), 50.0, farm_facts(imei)]
            )
            verdicts.append(
                [
                    rid,
                    "fraud",
                    "C0001",
                    f"simbox.call: placed by SIM {imsi} of farm F0001, judged a SIM box",
                    "mobile",
                    _time(when),
                    simbox_call_facts(imsi),
                ]
            )
        else:
            cdrs.append(
                [
                    rid,
                    _time(when),
                    0,
                    "voice",
                    "rejected",
                    BANK_HOTLINE,
                    callee,
                    "international:carrierA",
                    None,
                    None,
                    None,
                    None,
                    None,
                ]
            )
            decisions.append([rid, "divert", 0.85, SPOOF_REASON, 40.0, SPOOF_FACTS])
            verdicts.append(
                [
                    rid,
                    "spoofed",
                    "C0002",
                    SPOOF_REASON,
                    "international:carrierA",
                    _time(when),
                    SPOOF_FACTS,
                ]
            )
    for i in range(allowed):
        when = start + timedelta(minutes=calls + i)
        rid = f"ok{i}"
        cdrs.append(
            [
                rid,
                _time(when),
                60,
                "voice",
                "answered",
                victim_number(100 + i),
                victim_number(i),
                "mobile",
                f"40177100000{i + 100:04d}",
                "356000000000001",
                "C00002-1",
                None,
                None,
            ]
        )
        decisions.append([rid, "allow", 0.0, None, 12.0, None])
    _write(
        data / "cdrs.csv",
        ["record_id", "start_time", "duration_s", "event", "result", "a_number", "b_number", "ingress", "a_imsi", "a_imei", "a_cell", "b_imsi", "b_cell"],
        cdrs,
    )  # fmt: skip
    subscribers = [
        [
            f"40177100000{i:04d}",
            victim_number(i),
            "2020-01-01",
            "prepaid",
            1948 if i % 2 == 0 else 1990,
        ]
        for i in range(n_victims)
    ] + [[imsi, msisdn, "2026-02-28", "prepaid", 1999] for imsi, msisdn, _ in FARM_SIMS]
    _write(
        data / "subscribers.csv", ["imsi", "msisdn", "activated", "plan", "birth_year"], subscribers
    )
    _write(
        data / "registry.csv",
        ["number", "owner", "policy"],
        [[BANK_HOTLINE, "National Bank, hotline", "inbound_only"]],
    )
    decisions_path = folder / "decisions.csv"
    _write(
        decisions_path,
        ["record_id", "action", "score", "reasons", "latency_us", "reason_facts"],
        decisions,
    )
    last = start + timedelta(minutes=max(calls - 1, 0))
    _write(
        out / "farms.csv",
        ["farm_id", "n_sims", "imeis", "lat", "lon", "first_seen", "last_seen", "sites", "cells", "score", "reasons"],
        [["F0001", 3, ";".join(s[2] for s in FARM_SIMS), 43.25, 76.95, _time(start), _time(last), "S00001", "C00001-1", 0.99, "SIMs shared handsets (3 pairs); SIMs registered to the same owner (3 pairs)"]],
    )  # fmt: skip
    _write(
        out / "sims.csv",
        ["imsi", "msisdn", "score", "verdict", "farm_id", "reasons"],
        [[imsi, msisdn, 0.99, "simbox", "F0001", "handset carried 3 SIMs"] for imsi, msisdn, _ in FARM_SIMS]
        + [[f"40177100000{i + 100:04d}", victim_number(100 + i), 0.01, "clear", None, None] for i in range(allowed)],
    )  # fmt: skip
    _write(
        out / "calls.csv",
        ["record_id", "verdict", "campaign_id", "reasons", "ingress", "start_time", "reason_facts"],
        verdicts,
    )
    farm_calls = (calls + 1) // 2
    _write(
        out / "campaigns.csv",
        ["campaign_id", "n_calls", "n_victims", "utc_offset_h", "farm_ids", "routes", "kind", "first_seen", "last_seen"],
        [
            ["C0001", farm_calls, min(farm_calls, n_victims), 8, "F0001", None, "call_center", _time(start), _time(last)],
            ["C0002", calls // 2, min(calls // 2, n_victims), 2, None, "international:carrierA", "call_center", _time(start), _time(last)],
        ],
    )  # fmt: skip
    return Feed(
        data=data, decisions=decisions_path, findings=out, intercepted=calls, victims=n_victims
    )
