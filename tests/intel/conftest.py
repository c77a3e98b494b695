"""A small ``qalqan analyze`` output folder holding every kind of indicator, written by hand."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest


def with_luhn(body: str) -> str:
    """``body`` (14 digits) with its Luhn check digit: an IMEI."""
    total = 0
    for i, char in enumerate(reversed(body)):
        value = int(char)
        if i % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return body + str((10 - total % 10) % 10)


FARM_IMEIS = (with_luhn("35332510206941"), with_luhn("35290611291551"))
FARM_CELLS = ("C00050-1", "C00050-2")
SIMBOX_IMSI = "401770004272713"
SIMBOX_NUMBER = "+77082226589"
WANGIRI_BLOCK = "+222450000xx"
SPOOFED_PRESENTED = "+77023810000"
"""A bank's number presented by a spoofed call: an innocent party's, never shared."""
ACCOUNTS = (
    ("bank:KZ363167842790181311", "collector"),
    ("ewallet:8825481887", "ewallet"),
    ("msisdn:+77001112233", "sim_balance"),
    ("crypto:TZ8ebGnFDBsXHsY6d5JY14z8LzXdrYWpaD", "crypto"),
)


def _facts(*items: tuple[str, str, dict[str, str]]) -> str:
    return json.dumps(
        [{"rule": rule, "key": key, "facts": facts, "weight": 1.0} for rule, key, facts in items]
    )


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_analysis(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _write(
        folder / "sims.csv",
        ["imsi", "msisdn", "score", "verdict", "farm_id", "reasons", "reason_facts"],
        [
            [SIMBOX_IMSI, SIMBOX_NUMBER, 0.99, "simbox", "F0001", "simfarm.member: ...", ""],
            ["401770000000009", "+77001286582", 0.01, "clear", "", "", ""],
        ],
    )
    _write(
        folder / "farms.csv",
        ["farm_id", "n_sims", "imeis", "lat", "lon", "first_seen", "last_seen", "sites", "cells"],
        [
            [
                "F0001", 191, ";".join(FARM_IMEIS), 49.927672, 82.553073,
                "2026-03-02T00:00:00Z", "2026-03-04T08:59:27Z", "S00050", ";".join(FARM_CELLS),
            ]
        ],
    )  # fmt: skip
    wangiri = _facts(
        ("wangiri.one_ring_burst", "wangiri.one_ring_burst", {"range": WANGIRI_BLOCK, "window": "10m", "callees": "13", "one_ring": "7", "ended": "7"})
    )  # fmt: skip
    spoofed = _facts(
        ("spoofed_cli.domestic_from_abroad", "spoofed_cli.domestic_from_abroad", {"caller": SPOOFED_PRESENTED, "route": "international:w2", "callee": "+77008369668"})
    )  # fmt: skip
    _write(
        folder / "calls.csv",
        ["record_id", "verdict", "campaign_id", "reasons", "ingress", "start_time", "reason_facts"],
        [
            [
                "r1",
                "fraud",
                "C0003",
                "wangiri",
                "international:w6",
                "2026-03-03T02:11:34Z",
                wangiri,
            ],
            ["r2", "spoofed", "", "spoofed", "international:w2", "2026-03-03T02:12:00Z", spoofed],
        ],
    )
    office = _facts(
        ("campaign.office_day", "analysis.campaign.office_day", {"sources": "3", "start": "08", "end": "17", "offset": "+8"})
    )  # fmt: skip
    _write(
        folder / "campaigns.csv",
        ["campaign_id", "n_calls", "n_victims", "utc_offset_h", "farm_ids", "routes", "kind", "first_seen", "last_seen", "reasons", "reason_facts"],
        [
            ["C0002", 600, 556, 8, "F0001", "", "call_center", "2026-03-02T00:00:00Z", "2026-03-04T08:59:27Z", "3 sources keep one office day", office],
            ["C0003", 396, 396, "", "", "", "wangiri", "2026-03-03T02:11:34Z", "2026-03-03T02:33:22Z", "one-ring calls", ""],
        ],
    )  # fmt: skip
    _write(
        folder / "accounts.csv",
        ["account", "role", "verdict", "amount_in", "payers", "reasons", "reason_facts"],
        [[account, role, "mule", "", "", f"{role} on the trail", ""] for account, role in ACCOUNTS],
    )
    return folder


@pytest.fixture
def analysis(tmp_path: Path) -> Path:
    return write_analysis(tmp_path / "analysis")
