"""Score an analysis against ground truth: the figures an operator would ask for.

- SIM boxes: precision and recall over SIMs that made calls, recall per farm kind
  (``bypass``, ``rotating``, ``evasive`` when the truth names kinds);
- farms: for each true farm, the detected farm with the highest Jaccard overlap of
  SIMs, and how far its estimated place is from the nearest of the true sites;
- calls: fraud-call precision and recall (``fraud`` and ``spoofed`` both count as
  flagged), and false flags on legitimate calls from abroad, per look-alike kind;
- campaigns: adjusted Rand index over flagged fraud calls, and for each call
  center whether the campaign holding most of its calls has the right UTC offset;
- money: mule precision and recall (every account on the trail, and collecting
  mules alone), the share of collecting mules tied to the right campaign (a found
  campaign stands for the center that placed most of its calls), each center's
  losses against ``losses.csv``, and false mules by look-alike kind.

Truth comes as exchange-v1 ``labels.csv``, optionally with ``farms.csv``,
``campaigns.csv`` and ``losses.csv`` as the simulator writes them.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from qalqan.domain.model import CallVerdict, SimVerdict

__all__ = ["Evaluation", "evaluate"]

Truth = dict[tuple[str, str], tuple[str, str]]
"""(kind, id) → (label, group), as ``labels.csv`` gives them."""

_FLAGGED = (CallVerdict.FRAUD, CallVerdict.SPOOFED)


#: What the figures read of ``calls.csv``: not its reasons, most of its bytes (12 million rows
#: at 100 million call records; with them, and the payments, read whole, an evaluation of
#: 40 days took 19.5 GB).
CALL_COLUMNS = ("record_id", "verdict", "campaign_id", "ingress")


def _read(path: Path, columns: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The rows of a CSV file as text, with only those of ``columns`` it has (all without)."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), [])
    table = pcsv.read_csv(
        path,
        convert_options=pcsv.ConvertOptions(
            strings_can_be_null=True,
            column_types={},
            include_columns=[c for c in columns if c in header] or None,
        ),
    )
    table = table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _active_accounts(path: Path) -> set[str | None]:
    """Every account that paid or was paid in ``payments.csv``: its two columns alone, never
    a row at a time (12 million payments over 40 days of 463,000 subscribers)."""
    if not path.exists():
        return set()
    table = pcsv.read_csv(
        path,
        convert_options=pcsv.ConvertOptions(
            strings_can_be_null=True,
            include_columns=["payer", "payee"],
            column_types={"payer": pa.string(), "payee": pa.string()},
        ),
    )
    return set(pc.unique(table["payer"]).to_pylist()) | set(pc.unique(table["payee"]).to_pylist())


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def adjusted_rand_index(truth: list[str], found: list[str]) -> float:
    """Adjusted Rand index of two labelings (Hubert and Arabie)."""
    n = len(truth)
    if n < 2:
        return 1.0
    pairs = Counter(zip(truth, found, strict=True))
    a = Counter(truth)
    b = Counter(found)

    def comb(x: int) -> float:
        return x * (x - 1) / 2

    index = sum(comb(v) for v in pairs.values())
    sum_a = sum(comb(v) for v in a.values())
    sum_b = sum(comb(v) for v in b.values())
    expected = sum_a * sum_b / comb(n)
    maximum = (sum_a + sum_b) / 2
    return 1.0 if maximum == expected else (index - expected) / (maximum - expected)


def _money(
    out_dir: Path, truth_dir: Path, truth: Truth, calls: list[dict[str, Any]]
) -> dict[str, Any]:
    """Mule accounts found against those that moved money in the data set (next to the truth
    folder); collecting mules alone, each tied to the right campaign or not; each campaign's
    losses against the truth's (``losses.csv``); false mules by look-alike kind."""
    trail = _read(out_dir / "accounts.csv")
    found = {r["account"] for r in trail if (r.get("verdict") or "mule") == "mule"}
    active = _active_accounts(truth_dir.parent / "payments.csv")
    mules = {
        i for (k, i), (lab, _) in truth.items() if k == "account" and lab == "mule" and i in active
    }
    if not mules and not found:
        return {}
    hit = len(found & mules)
    figures: dict[str, Any] = {
        "mules": len(mules),
        "found": len(found),
        "precision": _ratio(hit, len(found)),
        "recall": _ratio(hit, len(mules)),
    }
    false_by_kind: Counter[str] = Counter(
        truth.get(("account", a), ("legit", ""))[1] or "ordinary" for a in found - mules
    )
    figures["false_mules"] = dict(sorted(false_by_kind.items()))
    losses = _read(truth_dir / "losses.csv")
    collecting = {r["mule"]: r["campaign"] for r in losses}
    if not collecting:
        return figures
    found_collectors = {
        r["account"]: r.get("campaign_id") or "" for r in trail if r.get("role") == "collector"
    }
    right = len(collecting.keys() & found_collectors.keys())
    figures["collectors"] = {
        "mules": len(collecting),
        "found": len(found_collectors),
        "precision": _ratio(right, len(found_collectors)),
        "recall": _ratio(right, len(collecting)),
    }
    center_of = _campaign_centers(calls, truth)
    attributed = [
        center_of.get(found_collectors[m]) == center
        for m, center in collecting.items()
        if m in found_collectors
    ]
    figures["collectors"]["attributed_right"] = _ratio(sum(attributed), len(attributed))
    figures["losses"] = _loss_figures(losses, _read(out_dir / "campaign_money.csv"), center_of)
    return figures


def _campaign_centers(calls: list[dict[str, Any]], truth: Truth) -> dict[str, str]:
    """Each found campaign's call center: the one that placed most of its calls."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for r in calls:
        label, group = truth.get(("call", r["record_id"]), ("legit", ""))
        if r.get("campaign_id") and label == CallVerdict.FRAUD:
            votes[r["campaign_id"]][group] += 1
    return {c: v.most_common(1)[0][0] for c, v in votes.items()}


def _loss_figures(
    losses: list[dict[str, Any]], found: list[dict[str, Any]], center_of: dict[str, str]
) -> dict[str, Any]:
    """Per call center: what its victims lost, what the analysis says its campaigns took, and
    how far apart (the campaigns of one center added up)."""
    true_loss: defaultdict[str, float] = defaultdict(float)
    for r in losses:
        true_loss[r["campaign"]] += float(r["amount"])
    found_loss: defaultdict[str, float] = defaultdict(float)
    for r in found:
        if float(r["lost"]) > 0:  # a campaign whose calls were all intercepted took nothing
            found_loss[center_of.get(r["campaign_id"], r["campaign_id"])] += float(r["lost"])
    per_center: dict[str, dict[str, Any]] = {}
    for center in sorted(true_loss.keys() | found_loss.keys()):
        lost, said = true_loss[center], found_loss[center]
        per_center[center] = {
            "true": round(lost, 2),
            "found": round(said, 2),
            "error": None if not lost else round(abs(said - lost) / lost, 6),
        }
    errors = [v["error"] for v in per_center.values() if v["error"] is not None]
    spurious = [c for c, v in per_center.items() if v["error"] is None]
    return {
        "by_center": per_center,
        "within_1pct": sum(1 for e in errors if e <= 0.01) if errors else 0,
        "centers": len(errors),
        "worst_error": max(errors) if errors else None,
        "spurious": spurious,
        "total_true": round(sum(true_loss.values()), 2),
        "total_found": round(sum(found_loss.values()), 2),
    }


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


@dataclass(slots=True)
class Evaluation:
    sim: dict[str, Any] = field(default_factory=dict)
    farms: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, Any] = field(default_factory=dict)
    campaigns: dict[str, Any] = field(default_factory=dict)
    money: dict[str, Any] = field(default_factory=dict)


def evaluate(out_dir: Path, truth_dir: Path) -> Evaluation:
    labels = _read(truth_dir / "labels.csv")
    truth: Truth = {(r["kind"], r["id"]): (r["label"] or "", r["group"] or "") for r in labels}
    farm_truth = {r["farm_id"]: r for r in _read(truth_dir / "farms.csv")}
    center_truth = {r["campaign"]: r for r in _read(truth_dir / "campaigns.csv")}
    sims = _read(out_dir / "sims.csv")
    calls = _read(out_dir / "calls.csv", CALL_COLUMNS)
    result = Evaluation()
    result.sim = _sim_figures(sims, truth, farm_truth)
    result.farms = _farm_figures(sims, _read(out_dir / "farms.csv"), truth, farm_truth)
    result.calls = _call_figures(calls, truth)
    result.campaigns = _campaign_figures(calls, truth, center_truth, out_dir)
    result.money = _money(out_dir, truth_dir, truth, calls)
    offsets = result.campaigns["utc_offsets"]
    result.campaigns["offsets_right"] = sum(1 for v in offsets.values() if v["right"])
    result.campaigns["call_centers"] = len(offsets)
    return result


def _sim_figures(
    sims: list[dict[str, Any]], truth: Truth, farm_truth: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """SIM boxes: precision, recall, recall by farm kind, and false SIM boxes by look-alike."""
    tp = fp = fn = 0
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false_by_group: Counter[str] = Counter()
    for row in sims:
        label, group = truth.get(("sim", row["imsi"]), ("legit", ""))
        flagged = row["verdict"] == SimVerdict.SIMBOX
        if label == SimVerdict.SIMBOX:
            kind = (farm_truth.get(group) or {}).get("kind") or "farm"
            per_kind[kind][1] += 1
            if flagged:
                tp += 1
                per_kind[kind][0] += 1
            else:
                fn += 1
        elif flagged:
            fp += 1
            false_by_group[group or "ordinary"] += 1
    return {
        "sims_seen": len(sims),
        "simbox_sims": tp + fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "false_simbox": dict(false_by_group),
        "recall_by_kind": {k: _ratio(v[0], v[1]) for k, v in sorted(per_kind.items())},
    }


def _farm_figures(
    sims: list[dict[str, Any]],
    found_farms: list[dict[str, Any]],
    truth: Truth,
    farm_truth: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """For each true farm: the found farm overlapping it most, and how far from its sites."""
    members: dict[str, set[str]] = defaultdict(set)
    for row in sims:
        if row.get("farm_id"):
            members[row["farm_id"]].add(row["imsi"])
    seen = {r["imsi"] for r in sims}
    true_members: dict[str, set[str]] = defaultdict(set)
    for (kind, ident), (label, group) in truth.items():
        if kind == "sim" and label == SimVerdict.SIMBOX and ident in seen:
            true_members[group].add(ident)
    located = {r["farm_id"]: r for r in found_farms}
    farms: list[dict[str, Any]] = []
    for farm, true in sorted(true_members.items()):
        best, best_j = None, 0.0
        for fid, got in members.items():
            j = len(true & got) / len(true | got)
            if j > best_j:
                best, best_j = fid, j
        entry: dict[str, Any] = {
            "farm": farm,
            "kind": (farm_truth.get(farm) or {}).get("kind", ""),
            "sims": len(true),
            "found_as": best,
            "jaccard": round(best_j, 3),
            "km": None,
        }
        place = farm_truth.get(farm)
        if best and place and located.get(best, {}).get("lat"):
            lat, lon = float(located[best]["lat"]), float(located[best]["lon"])
            sites = zip(place["site_lats"].split(";"), place["site_lons"].split(";"), strict=True)
            entry["km"] = round(min(_km(lat, lon, float(a), float(b)) for a, b in sites), 3)
        farms.append(entry)
    return farms


def _fraud_and_flagged(
    judged: dict[str, dict[str, Any]], truth: Truth
) -> tuple[list[str], set[str]]:
    """The fraud calls of the truth, and the calls the analysis flagged (fraud or spoofed)."""
    fraud_ids = [
        i for (k, i), (lab, _) in truth.items() if k == "call" and lab == CallVerdict.FRAUD
    ]
    flagged_ids = {i for i, r in judged.items() if r["verdict"] in _FLAGGED}
    return fraud_ids, flagged_ids


def _call_figures(calls: list[dict[str, Any]], truth: Truth) -> dict[str, Any]:
    """Fraud calls: precision, recall, and false flags by look-alike kind and from abroad."""
    judged = {r["record_id"]: r for r in calls}
    fraud_ids, flagged_ids = _fraud_and_flagged(judged, truth)
    tp = sum(1 for i in fraud_ids if i in flagged_ids)
    fp_ids = [
        i for i in flagged_ids if truth.get(("call", i), ("legit", ""))[0] != CallVerdict.FRAUD
    ]
    legit_outside = [
        r
        for r in calls
        if truth.get(("call", r["record_id"]), ("legit", ""))[0] != CallVerdict.FRAUD
        and r.get("ingress", "mobile") != "mobile"
    ]
    legit_groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, r in judged.items():
        label, group = truth.get(("call", i), ("legit", ""))
        if label == "legit" and group:
            legit_groups[group][1] += 1
            legit_groups[group][0] += r["verdict"] != CallVerdict.CLEAR
    figures: dict[str, Any] = {
        "fraud_calls": len(fraud_ids),
        "precision": _ratio(tp, len(flagged_ids)),
        "recall": _ratio(tp, len(fraud_ids)),
        "false_flags": len(fp_ids),
        "false_flag_rate_by_kind": {g: _ratio(v[0], v[1]) for g, v in sorted(legit_groups.items())},
        "legit_judged": len(legit_outside),
    }
    international = [
        g for g in legit_groups if g in ("roamer_home", "roamer_other_operator", "relative_abroad")
    ]
    flagged_intl = sum(legit_groups[g][0] for g in international)
    total_intl = sum(legit_groups[g][1] for g in international)
    figures["false_flag_rate_international"] = _ratio(flagged_intl, total_intl)
    return figures


def _campaign_figures(
    calls: list[dict[str, Any]],
    truth: Truth,
    center_truth: dict[str, dict[str, Any]],
    out_dir: Path,
) -> dict[str, Any]:
    """Campaigns: the adjusted Rand index over flagged fraud calls, and each center's UTC offset."""
    judged = {r["record_id"]: r for r in calls}
    fraud_ids, flagged_ids = _fraud_and_flagged(judged, truth)
    pairs = [
        (truth[("call", i)][1], judged[i].get("campaign_id") or "none")
        for i in fraud_ids
        if i in flagged_ids
    ]
    figures: dict[str, Any] = {
        "ari": adjusted_rand_index([p[0] for p in pairs], [p[1] for p in pairs]) if pairs else None
    }
    found_campaigns = {r["campaign_id"]: r for r in _read(out_dir / "campaigns.csv")}
    offsets: dict[str, dict[str, Any]] = {}
    by_center: dict[str, Counter[str]] = defaultdict(Counter)
    for t, f in pairs:
        by_center[t][f] += 1
    for center, row in sorted(center_truth.items()):
        if not row.get("utc_offset_h"):
            continue
        if center not in by_center:
            offsets[center] = {"true": float(row["utc_offset_h"]), "found": None, "right": False}
            continue
        campaign = by_center[center].most_common(1)[0][0]
        found = (found_campaigns.get(campaign) or {}).get("utc_offset_h")
        value = float(found) if found not in (None, "") else None
        offsets[center] = {
            "true": float(row["utc_offset_h"]),
            "found": value,
            "campaign": campaign,
            "right": value is not None and abs(value - float(row["utc_offset_h"])) < 0.5,
        }
    figures["utc_offsets"] = offsets
    return figures
