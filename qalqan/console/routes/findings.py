"""What analysis found: ``/findings``, with the farms on a map of the operator's country when
the console has one (:mod:`qalqan.console.maps`), listed otherwise."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qalqan import cases
from qalqan.console.i18n import translate
from qalqan.console.maps import city_labels, farm_points, map_file, outline
from qalqan.console.web import console_of, lang_of

__all__ = ["routes"]


async def findings_page(request: Request) -> Response:
    console = console_of(request)
    found = await console.run(request, cases.findings)
    lang = lang_of(request)
    country = await console.country()
    farms = farm_points(found, lang, country=country)
    world = None
    if country is not None and map_file(country) is not None:
        world = {
            "outline": outline(country),
            "farms": farms,
            "cities": city_labels(country, lambda key: translate(lang, "city_" + key)),
            "labels": {
                "farm": translate(lang, "kind_sim_farm"),
                "sims": translate(lang, "map_sims"),
            },
        }
    return console.render(
        request, "findings.html", findings=found, farms=farms, world=world, country=country
    )


routes = [Route("/findings", findings_page)]
