"""What the findings map and a campaign's hourly chart draw, as plain JSON-ready data.

The outline of Kazakhstan is ``static/kz.geo.json``: a hand-drawn, simplified
polygon (about half a degree accurate; not a legal border) shipped with the
console, so the map needs nothing from the network. The farms come from the
findings the library returns (``details.lat``/``lon``/``n_sims``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from math import floor
from pathlib import Path
from typing import Any

from qalqan.cases.views import FindingSummary

__all__ = [
    "CITIES",
    "OUTLINE",
    "campaign_hours",
    "city_labels",
    "farm_points",
    "office_day",
    "offset_text",
    "outline",
]

OUTLINE = Path(__file__).parent / "static" / "kz.geo.json"

CITIES: tuple[tuple[str, float, float], ...] = (
    ("almaty", 76.95, 43.24),
    ("astana", 71.45, 51.17),
    ("shymkent", 69.59, 42.32),
    ("aktobe", 57.17, 50.28),
    ("karaganda", 73.10, 49.80),
    ("aktau", 51.20, 43.65),
    ("oskemen", 82.61, 49.95),
    ("oral", 51.37, 51.23),
)
"""Cities drawn for orientation: key (``city_…`` in the word list), longitude, latitude."""


def outline() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(OUTLINE.read_text(encoding="utf-8"))
    return data


def farm_points(found: Iterable[FindingSummary]) -> list[dict[str, Any]]:
    """Farms with an estimated location: name, [lon, lat, SIMs], the alert to open."""
    points = []
    for f in found:
        if f.kind != "sim_farm":
            continue
        lat, lon = f.details.get("lat"), f.details.get("lon")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            continue
        sims = f.details.get("n_sims")
        points.append(
            {
                "name": f.source_ref,
                "value": [float(lon), float(lat), int(sims) if isinstance(sims, int) else 0],
                "alert_id": f.alert_id,
                "severity": f.severity,
            }
        )
    return points


def campaign_hours(details: dict[str, Any]) -> list[int]:
    """The 24 counts of calls by UTC hour the analysis stored, or [] when it stored none."""
    raw = details.get("calls_by_utc_hour")
    if not isinstance(raw, list) or len(raw) != 24:
        return []
    return [int(h) for h in raw]


def office_day(
    hours: list[int], offset_h: float | None, *, share: float = 0.1
) -> tuple[int, int] | None:
    """(first, last) local hour with real activity: hours with at least ``share`` of the busiest.

    ``(9, 17)`` reads "office day 09–18": from 09:00 to the end of the 17:00 hour.
    Hours are rotated to local time first, so a day that crosses midnight UTC stays one span.
    """
    if not hours or offset_h is None or max(hours) <= 0:
        return None
    local = [0] * 24
    for utc, n in enumerate(hours):
        local[floor(utc + offset_h) % 24] += n
    busy = [h for h, n in enumerate(local) if n >= share * max(local)]
    return busy[0], busy[-1]


def offset_text(offset_h: float) -> str:
    """``3.0`` → ``UTC+3``, ``5.5`` → ``UTC+5:30``, ``-4`` → ``UTC−4``."""
    sign = "+" if offset_h >= 0 else "−"
    whole = int(abs(offset_h))
    minutes = round((abs(offset_h) - whole) * 60)
    return f"UTC{sign}{whole}" + (f":{minutes:02d}" if minutes else "")


def city_labels(name: Callable[[str], str]) -> list[dict[str, Any]]:
    return [{"name": name(key), "value": [lon, lat]} for key, lon, lat in CITIES]
