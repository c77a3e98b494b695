"""Write an analysis as exchange-v1 output tables, with the extras analysts want.

``sims.csv``, ``farms.csv``, ``calls.csv`` and ``campaigns.csv`` carry the
contract's columns first and helpful extras after (sites and cells of a farm,
its track, the hourly activity of a campaign); ``farm_tracks.csv`` lists each
farm's stays, one a row, for a spreadsheet or a map; ``sim_features.parquet`` keeps every SIM's
features; ``summary.html`` shows the findings at a glance.
"""

from __future__ import annotations

import contextlib
import html
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from qalqan.analytics.farms import Farm, Stay
from qalqan.analytics.money import money_tables
from qalqan.analytics.pipeline import AnalysisResult, JudgedCalls
from qalqan.domain.model import CallVerdict, SimVerdict
from qalqan.exchange.schema import (
    CALLS,
    CAMPAIGNS,
    FARMS,
    SIMS,
    Column,
    Kind,
    Table,
    reason_facts_column,
)
from qalqan.exchange.types import TIME_TYPE, canonical_schema
from qalqan.exchange.writer import TableWriter

__all__ = [
    "ACCOUNTS", "CAMPAIGN_MONEY", "FARM_TRACKS", "VICTIM_PAYMENTS", "write_farms", "write_result",
]  # fmt: skip

#: ``accounts.csv``: the money trail (an extra output; not part of exchange-v1's required set).
ACCOUNTS = Table(
    name="accounts",
    doc="Accounts on a mule's trail: collectors, the SIM balances and e-wallets they fed, crypto.",
    output=True,
    columns=(
        Column(name="account", kind=Kind.ACCOUNT, unique=True, doc=""),
        Column(name="role", kind=Kind.TEXT, doc="collector, sim_balance, ewallet or crypto"),
        Column(name="verdict", kind=Kind.TEXT, doc="mule"),
        Column(name="amount_in", kind=Kind.FLOAT, nullable=True, doc=""),
        Column(name="payers", kind=Kind.INT, nullable=True, doc=""),
        Column(name="reasons", kind=Kind.TEXT, nullable=True, doc=""),
        Column(
            name="campaign_id",
            kind=Kind.TEXT,
            nullable=True,
            required=False,
            doc="the campaign whose victims' money it carried (as in campaigns.csv)",
        ),
        Column(
            name="victims",
            kind=Kind.INT,
            nullable=True,
            required=False,
            doc="of a collector: payers called by a campaign shortly before paying",
        ),
        Column(
            name="farm_id",
            kind=Kind.TEXT,
            nullable=True,
            required=False,
            doc="of a SIM balance: the farm whose calls its SIM made; of a collector: the farm "
            "whose SIMs it paid for (as in farms.csv)",
        ),
        reason_facts_column(),
    ),
)

#: ``victim_payments.csv``: every transfer into a collecting mule (an extra output).
VICTIM_PAYMENTS = Table(
    name="victim_payments",
    doc="Every transfer into a collecting mule: who paid, how much, when, after which call.",
    output=True,
    columns=(
        Column(name="payment_id", kind=Kind.TEXT, unique=True, doc="as in payments"),
        Column(name="time", kind=Kind.TIME, doc="when the money moved"),
        Column(name="payer", kind=Kind.ACCOUNT, doc="the victim's account"),
        Column(name="victim", kind=Kind.E164, nullable=True, doc="the payer's holder_msisdn"),
        Column(name="mule", kind=Kind.ACCOUNT, doc="the collecting mule paid"),
        Column(name="amount", kind=Kind.FLOAT, minimum=0, doc=""),
        Column(name="currency", kind=Kind.CURRENCY, doc=""),
        Column(name="campaign_id", kind=Kind.TEXT, nullable=True, doc="the mule's campaign"),
        Column(
            name="called_by",
            kind=Kind.TEXT,
            nullable=True,
            doc="the campaign whose flagged call last reached the victim before paying",
        ),
        Column(name="call_record", kind=Kind.TEXT, nullable=True, doc="that call's record_id"),
        Column(name="minutes_after_call", kind=Kind.INT, nullable=True, doc=""),
        Column(name="reasons", kind=Kind.TEXT, nullable=True, doc=""),
        reason_facts_column(),
    ),
)

#: ``campaign_money.csv``: what each campaign's victims paid and where it went (an extra output).
CAMPAIGN_MONEY = Table(
    name="campaign_money",
    doc="Per campaign: victims who paid its mules, the money lost and preventable, the chain.",
    output=True,
    columns=(
        Column(name="campaign_id", kind=Kind.TEXT, unique=True, doc="as in campaigns.csv"),
        Column(name="victims_paid", kind=Kind.INT, minimum=0, doc="payers of its mules"),
        Column(name="victims_called", kind=Kind.INT, minimum=0, doc="of them, called by it before"),
        Column(name="transfers", kind=Kind.INT, minimum=0, doc="transfers into its mules"),
        Column(name="lost", kind=Kind.FLOAT, minimum=0, doc="their sum"),
        Column(name="currency", kind=Kind.CURRENCY, nullable=True, doc=""),
        Column(
            name="preventable",
            kind=Kind.FLOAT,
            minimum=0,
            doc="of it, paid after the campaign's first flagged call to the payer",
        ),
        Column(
            name="calls_before_payment",
            kind=Kind.INT,
            minimum=0,
            doc="its flagged calls to paying victims before their first payment",
        ),
        Column(
            name="intercepted_before_payment",
            kind=Kind.INT,
            minimum=0,
            doc="its calls refused by the network (result rejected) before the callee paid it",
        ),
        Column(name="first_payment", kind=Kind.TIME, nullable=True, doc=""),
        Column(name="last_payment", kind=Kind.TIME, nullable=True, doc=""),
        Column(name="n_collectors", kind=Kind.INT, minimum=0, doc=""),
        Column(name="collectors", kind=Kind.TEXT, nullable=True, doc="';'-separated"),
        Column(name="sim_balances", kind=Kind.INT, minimum=0, doc="SIM balances its mules fed"),
        Column(name="ewallets", kind=Kind.INT, minimum=0, doc="e-wallets its mules fed"),
        Column(
            name="farm_ids",
            kind=Kind.TEXT,
            nullable=True,
            doc="farms whose SIMs its mules topped up, ';'-separated",
        ),
        Column(name="reasons", kind=Kind.TEXT, nullable=True, doc=""),
        reason_facts_column(),
    ),
)


#: ``farm_tracks.csv``: where each farm stood, in time order (an extra output).
FARM_TRACKS = Table(
    name="farm_tracks",
    doc="Each farm's stays, in time order: the site its SIMs worked from, from when to when.",
    output=True,
    columns=(
        Column(name="farm_id", kind=Kind.TEXT, doc="as in farms.csv"),
        Column(name="stay", kind=Kind.INT, minimum=1, doc="1, 2, ... in time order"),
        Column(
            name="site", kind=Kind.TEXT, doc="cells.csv's site_id (the cell when sites are unknown)"
        ),
        Column(name="lat", kind=Kind.FLOAT, minimum=-90, maximum=90, nullable=True, doc=""),
        Column(name="lon", kind=Kind.FLOAT, minimum=-180, maximum=180, nullable=True, doc=""),
        Column(name="first", kind=Kind.TIME, doc="the farm's first call or SMS of the stay"),
        Column(name="last", kind=Kind.TIME, doc="its last one before it moved on"),
        Column(name="calls", kind=Kind.INT, minimum=1, doc="calls and SMS made during the stay"),
        Column(name="sims", kind=Kind.INT, minimum=1, doc="different SIMs of the farm in them"),
    ),
)


def _written_schema(table_def: Table, found: pa.Schema) -> pa.Schema:
    """The columns a table is written with: the contract's, the extras ``found`` holds, and
    Qalqan's own extension columns (not required by the contract) last, only when found."""
    schema = canonical_schema(table_def, found)
    extensions = [c.name for c in table_def.columns if not c.required]
    present = set(found.names)
    return pa.schema(
        [f for f in schema if f.name not in extensions]
        + [schema.field(name) for name in extensions if name in present]
    )


def _write(out_dir: Path, table_def: Table, data: pa.Table) -> None:
    schema = _written_schema(table_def, data.schema)
    data = data.select(schema.names).cast(schema)
    with TableWriter(out_dir, table_def, schema=schema) as writer:
        writer.write(data)


def _write_calls(out_dir: Path, calls: JudgedCalls) -> None:
    """``calls.csv`` a batch at a time, as the engine gives the judged calls in order."""
    with contextlib.ExitStack() as open_writer:
        writer: TableWriter | None = None
        for batch in calls.batches():
            if writer is None:
                schema = _written_schema(CALLS, batch.schema)
                writer = open_writer.enter_context(TableWriter(out_dir, CALLS, schema=schema))
            writer.write(batch)
    if writer is None:  # no calls: the header alone
        _write(out_dir, CALLS, calls.to_arrow())


def write_farms(out_dir: Path, farms: list[Farm]) -> None:
    """``farms.csv``: every farm, its handsets (``shared_imeis``: those that SIMs of no farm
    used too, which the reputation lists leave out), place, evidence and track."""
    table = pa.Table.from_pylist(
        [
            {
                "farm_id": f.farm_id,
                "n_sims": len(f.imsis),
                "imeis": ";".join(f.imeis),
                "lat": None if f.lat is None else round(float(f.lat), 6),
                "lon": None if f.lon is None else round(float(f.lon), 6),
                "first_seen": f.first_seen,
                "last_seen": f.last_seen,
                "sites": ";".join(f.sites),
                "cells": ";".join(f.cells[:20]),
                "score": round(f.score, 4),
                "reasons": f.reasons(),
                "track": json.dumps([s.as_dict() for s in f.track], separators=(",", ":")),
                "reason_facts": f.reason_facts(),
                "shared_imeis": ";".join(f.shared_imeis),
            }
            for f in farms
        ],
        schema=pa.schema(
            [("farm_id", pa.string()), ("n_sims", pa.int64()), ("imeis", pa.string()),
             ("lat", pa.float64()), ("lon", pa.float64()), ("first_seen", TIME_TYPE),
             ("last_seen", TIME_TYPE), ("sites", pa.string()), ("cells", pa.string()),
             ("score", pa.float64()), ("reasons", pa.string()), ("track", pa.string()),
             ("reason_facts", pa.string()), ("shared_imeis", pa.string())]
        ),
    )  # fmt: skip
    _write(out_dir, FARMS, table)


def write_result(
    result: AnalysisResult, out_dir: Path, sim_features: pa.Table | None = None
) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir, SIMS, result.sims)
    write_farms(out_dir, result.farms)
    tracks = pa.Table.from_pylist(
        [
            {"farm_id": f.farm_id, "stay": n, "site": s.site, "lat": s.lat, "lon": s.lon,
             "first": s.first, "last": s.last, "calls": s.calls, "sims": s.sims}
            for f in result.farms
            for n, s in enumerate(f.track, start=1)
        ],
        schema=pa.schema(
            [("farm_id", pa.string()), ("stay", pa.int64()), ("site", pa.string()),
             ("lat", pa.float64()), ("lon", pa.float64()), ("first", TIME_TYPE),
             ("last", TIME_TYPE), ("calls", pa.int64()), ("sims", pa.int64())]
        ),
    )  # fmt: skip
    with TableWriter(out_dir, FARM_TRACKS, schema=tracks.schema) as writer:
        writer.write(tracks)
    _write_calls(out_dir, result.calls)
    campaigns = pa.Table.from_pylist(
        [
            {
                "campaign_id": c.campaign_id,
                "n_calls": c.n_calls,
                "n_victims": c.n_victims,
                "utc_offset_h": c.utc_offset_h,
                "farm_ids": ";".join(c.farm_ids),
                "routes": ";".join(c.routes),
                "kind": c.kind,
                "peak_lines": c.peak_lines,
                "first_seen": c.first_seen,
                "last_seen": c.last_seen,
                "calls_by_utc_hour": ";".join(str(h) for h in c.hourly),
                "reports": sum(c.report_categories.values()),
                "report_categories": ";".join(f"{k}:{v}" for k, v in c.report_categories.items()),
                "scripts": ";".join(f"{k}:{v}" for k, v in c.scripts.items()),
                "reasons": c.reasons(),
                "reason_facts": c.reason_facts(),
            }
            for c in result.campaigns
        ],
        schema=pa.schema(
            [("campaign_id", pa.string()), ("n_calls", pa.int64()), ("n_victims", pa.int64()),
             ("utc_offset_h", pa.float64()), ("farm_ids", pa.string()), ("routes", pa.string()),
             ("kind", pa.string()), ("peak_lines", pa.int64()), ("first_seen", TIME_TYPE),
             ("last_seen", TIME_TYPE), ("calls_by_utc_hour", pa.string()), ("reports", pa.int64()),
             ("report_categories", pa.string()), ("scripts", pa.string()), ("reasons", pa.string()),
             ("reason_facts", pa.string())]
        ),
    )  # fmt: skip
    _write(out_dir, CAMPAIGNS, campaigns)
    if result.accounts is not None:
        _write(out_dir, ACCOUNTS, result.accounts)
        found = money_tables(result.calls.con)
        for table_def in (VICTIM_PAYMENTS, CAMPAIGN_MONEY):
            if table_def.name in found:
                _write(out_dir, table_def, found[table_def.name])
    if sim_features is not None:
        import pyarrow.parquet as pq

        pq.write_table(sim_features, out_dir / "sim_features.parquet", compression="zstd")
    (out_dir / "summary.html").write_text(_summary_html(result), encoding="utf-8")


def _track_cell(track: list[Stay], most: int = 12) -> str:
    """The farm's stays for the summary: site and time span each, the latest ``most`` of them."""
    shown = [
        f"{html.escape(s.site)} {str(s.first)[5:16]}–{str(s.last)[11:16]}" for s in track[-most:]
    ]
    more = f"… {len(track) - most} earlier, " if len(track) > most else ""
    return more + " → ".join(shown)


def _bars(values: list[int], width: int = 360, height: int = 60) -> str:
    top = max(values) or 1
    step = width / len(values)
    bars = "".join(
        f'<rect x="{i * step:.1f}" y="{height - v / top * height:.1f}" width="{step * 0.8:.1f}" '
        f'height="{v / top * height:.1f}" fill="#b3261e"><title>{i:02d}:00 UTC: {v} calls</title></rect>'
        for i, v in enumerate(values)
    )
    return f'<svg width="{width}" height="{height + 14}" role="img">{bars}<text x="0" y="{height + 12}" font-size="10">00 UTC</text><text x="{width - 40}" y="{height + 12}" font-size="10">23 UTC</text></svg>'


def _counts(column: pa.ChunkedArray) -> dict[str, int]:
    """How many rows have each value of ``column``, counted over the column at once."""
    return {c["values"]: c["counts"] for c in pc.value_counts(column).to_pylist()}


def _summary_html(result: AnalysisResult) -> str:
    verdicts = _counts(result.sims.column("verdict"))
    call_verdicts = result.calls.verdicts
    esc = html.escape
    farms = "".join(
        f"<tr><td>{esc(f.farm_id)}</td><td>{len(f.imsis)}</td><td>{len(f.imeis)}</td>"
        f"<td>{'' if f.lat is None else f'{f.lat:.5f}, {f.lon:.5f}'}</td><td>{esc(', '.join(f.sites[:4]))}</td>"
        f"<td>{esc(str(f.first_seen))[:16]} – {esc(str(f.last_seen))[:16]}</td>"
        f"<td>{_track_cell(f.track)}</td><td>{esc(f.reasons())}</td></tr>"
        for f in result.farms
    )
    campaigns = "".join(
        f"<tr><td>{esc(c.campaign_id)}</td><td>{esc(c.kind)}</td><td>{c.n_calls}</td><td>{c.n_victims}</td>"
        f"<td>{'' if c.utc_offset_h is None else f'UTC{c.utc_offset_h:+.0f}'}</td><td>{c.peak_lines}</td>"
        f"<td>{esc(', '.join(c.farm_ids))}</td><td>{esc(', '.join(c.routes))}</td><td>{_bars(c.hourly)}</td></tr>"
        for c in result.campaigns
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Qalqan analysis</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2rem; color: #1c1b1f; }}
table {{ border-collapse: collapse; margin: 1rem 0 2rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .35rem .6rem; text-align: left; vertical-align: top; }}
th {{ background: #f3f0f4; }}
.figures span {{ display: inline-block; margin-right: 2rem; font-size: 1.3rem; }}
</style></head><body>
<h1>Qalqan analysis</h1>
<p>Network local time: UTC{result.local_offset_h:+d}; home country {esc(result.home_region)}.</p>
<div class="figures">
<span>{verdicts.get(SimVerdict.SIMBOX, 0)} SIM-box SIMs</span><span>{verdicts.get(SimVerdict.SUSPECT, 0)} suspect SIMs</span>
<span>{len(result.farms)} farms</span><span>{call_verdicts.get(CallVerdict.SPOOFED, 0)} spoofed calls</span>
<span>{call_verdicts.get(CallVerdict.FRAUD, 0)} fraud calls</span><span>{len(result.campaigns)} campaigns</span>
</div>
<h2>SIM boxes and farms</h2>
<table><tr><th>farm</th><th>SIMs</th><th>IMEIs</th><th>estimated place</th><th>sites</th><th>active</th><th>track (UTC)</th><th>evidence</th></tr>{farms}</table>
<h2>Campaigns</h2>
<table><tr><th>campaign</th><th>kind</th><th>calls</th><th>victims</th><th>works at</th><th>peak lines</th><th>farms</th><th>routes</th><th>calls by hour (UTC)</th></tr>{campaigns}</table>
</body></html>
"""
