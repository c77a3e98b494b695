"""The operator's country: told by the data (an Azerbaijani operator draws Azerbaijan), or set.

The store here holds what the simulator's another-country family (an operator in
Azerbaijan, +994, UTC+4) makes; see :mod:`tests.console.another_country`.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.cases import CaseStore
from qalqan.cases.country import country_of_numbers, data_country
from qalqan.cases.roles import Role
from qalqan.console import create_app
from qalqan.console.settings import ConsoleSettings
from qalqan.errors import ConfigError
from tests.cases.conftest import PASSWORD, make_people
from tests.console.another_country import another_country_store
from tests.console.conftest import NAMES, csrf_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def azerbaijan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CaseStore, str]]:
    store, url = another_country_store(tmp_path_factory.mktemp("az"))
    make_people(store)
    try:
        yield store, url
    finally:
        store.close()


def _signed_in(
    store: CaseStore, url: str, role: Role = Role.ANALYST, **settings: Any
) -> tuple[TestClient, str]:
    """A client signed in as ``role`` to a console with ``settings``; the CSRF token."""
    app = create_app(url, secret_key="test-secret", store=store, **settings)
    client = TestClient(app)
    page = client.get("/login")
    page = client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": NAMES[role], "password": PASSWORD},
    )
    return client, csrf_of(page.text)


def _findings_page(store: CaseStore, url: str, **settings: Any) -> str:
    client, _ = _signed_in(store, url, **settings)
    page = client.get("/findings")
    assert page.status_code == 200
    return page.text


def _map_data(html: str) -> dict[str, Any] | None:
    found = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', html, re.S)
    return json.loads(found.group(1)) if found else None


def test_the_data_says_azerbaijan(azerbaijan: tuple[CaseStore, str]) -> None:
    store, _ = azerbaijan
    with store.transaction() as session:
        assert data_country(session) == "AZ"


def test_an_azerbaijani_operator_gets_the_map_of_azerbaijan(
    azerbaijan: tuple[CaseStore, str],
) -> None:
    html = _findings_page(*azerbaijan)
    data = _map_data(html)
    assert data is not None
    assert data["outline"]["features"][0]["properties"]["name"] == "Azerbaijan"
    assert 'Фермы на карте — <span class="map-country">Азербайджан</span>' in html
    assert data["farms"], "the simulated farms are on the page"
    # every farm the simulator placed lies in a region of Azerbaijan, named in Russian
    regions = {f["region"] for f in data["farms"]}
    assert None not in regions
    assert regions & {"Баку", "Гянджа", "Сумгайыт", "Апшеронский район"}
    assert {c["name"] for c in data["cities"]} >= {"Баку", "Гянджа"}
    assert "Алматы" not in html and "Kazakhstan" not in json.dumps(data)


def test_the_setting_overrides_the_data(azerbaijan: tuple[CaseStore, str]) -> None:
    data = _map_data(_findings_page(*azerbaijan, settings=ConsoleSettings(country="kz")))
    assert data is not None
    assert data["outline"]["features"][0]["properties"]["name"] == "Kazakhstan"
    assert {f["region"] for f in data["farms"]} == {None}  # Baku is not in Kazakhstan


def test_a_country_without_a_map_gets_a_message_and_the_farms_listed_never_another_map(
    azerbaijan: tuple[CaseStore, str],
) -> None:
    html = _findings_page(*azerbaijan, settings=ConsoleSettings(country="TR"))
    assert _map_data(html) is None and 'id="farm-map"' not in html
    assert "Карты этой страны (TR) в консоли нет" in html
    assert '<table class="details farms">' in html and "farm-1" in html


def test_no_country_known_says_so(tmp_path: Path) -> None:
    from qalqan.cases import ingest_findings, upgrade
    from tests.cases.feeds import write_feed

    feed = write_feed(tmp_path / "feed")
    for line in ("sims.csv",):  # a farm without its SIMs' numbers, and no potential victims
        (feed.findings / line).unlink()
    url = str(tmp_path / "cases.db")
    upgrade(url)
    store = CaseStore.open(url)
    try:
        with store.transaction() as session:
            ingest_findings(session, feed.findings)
        with store.transaction() as session:
            assert data_country(session) is None
        make_people(store)
        html = _findings_page(store, url)
        assert _map_data(html) is None
        assert "Страна оператора пока не известна" in html and "QALQAN_CONSOLE_COUNTRY" in html
    finally:
        store.close()


def test_country_setting_is_checked() -> None:
    assert ConsoleSettings(currency=" azn ").currency == "AZN"
    with pytest.raises(ConfigError, match="QALQAN_CONSOLE_CURRENCY"):
        ConsoleSettings(currency="manat")
    assert ConsoleSettings(country=" Az ").country == "AZ"
    assert ConsoleSettings(country="AUTO").country == "auto"
    with pytest.raises(ConfigError, match="QALQAN_CONSOLE_COUNTRY"):
        ConsoleSettings(country="Azerbaijan")
    assert ConsoleSettings.from_env({"QALQAN_CONSOLE_COUNTRY": "kg"}).country == "KG"


def test_country_of_numbers_counts_countries_not_prefixes() -> None:
    assert country_of_numbers(["+994501234567", "+994551234567", "+77011234567"]) == "AZ"
    # +7 is Kazakhstan's and Russia's: the numbering plan tells them apart
    assert country_of_numbers(["+79031234567", "+79161234567", "+77011234567"]) == "RU"
    assert country_of_numbers([None, "", "garbage", "+999"]) is None
    assert country_of_numbers([]) is None


@given(st.lists(st.sampled_from(["+994501234567", "+77011234567", "+996555123456"]), max_size=9))
def test_country_of_numbers_does_not_depend_on_order(numbers: list[str]) -> None:
    assert country_of_numbers(numbers) == country_of_numbers(list(reversed(numbers)))


def _losses(store: CaseStore) -> list[tuple[str, Decimal]]:
    from sqlalchemy import select

    from qalqan.cases.models import Loss

    with store.transaction() as session:
        return [(c, Decimal(a)) for c, a in session.execute(select(Loss.currency, Loss.amount))]


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({}, "1 500 KZT"),  # the test feed's subscribers are Kazakh
        ({"country": "AZ"}, "1 500 AZN"),
        ({"country": "KG"}, "1 500 KGS"),
        ({"country": "FR", "currency": "eur"}, "1 500 EUR"),
    ],
)
def test_losses_are_counted_in_the_operators_currency(
    tmp_path: Path, settings: dict[str, str], said: str
) -> None:
    from qalqan.cases import queue
    from tests.console.conftest import populated_store

    store, url, people = populated_store(tmp_path)
    try:
        with store.transaction() as session:
            alert_id = queue(session, people.operator)[0].alert_id
        client, csrf = _signed_in(store, url, Role.OPERATOR, settings=ConsoleSettings(**settings))
        client.post(f"/alerts/{alert_id}/claim", data={"csrf": csrf})
        page = client.get(f"/alerts/{alert_id}")  # the outcome form, once the call is claimed
        assert f"Предотвращённый ущерб, {said[-3:]}" in page.text
        client.post(
            f"/alerts/{alert_id}/outcome",
            data={"csrf": csrf, "outcome": "warned", "prevented": "1500"},
        )
        assert _losses(store) == [(said[-3:], Decimal("1500.00"))]
    finally:
        store.close()


def test_without_a_known_currency_an_amount_is_refused_not_counted_in_tenge(
    tmp_path: Path,
) -> None:
    from qalqan.cases import queue
    from tests.console.conftest import populated_store

    store, url, people = populated_store(tmp_path)
    try:
        with store.transaction() as session:
            alert_id = queue(session, people.operator)[0].alert_id
        client, csrf = _signed_in(store, url, Role.OPERATOR, settings=ConsoleSettings(country="FR"))
        client.post(f"/alerts/{alert_id}/claim", data={"csrf": csrf})
        page = client.post(
            f"/alerts/{alert_id}/outcome",
            data={"csrf": csrf, "outcome": "warned", "prevented": "1500"},
        )
        assert "Валюта оператора не известна" in page.text
        assert _losses(store) == []
        page = client.post(  # the outcome alone is saved as ever
            f"/alerts/{alert_id}/outcome", data={"csrf": csrf, "outcome": "warned"}
        )
        assert "Валюта оператора не известна" not in page.text
    finally:
        store.close()


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("+77020000001", "+7 702 000 00 01"),
        ("+994501234567", "+994 50 123 45 67"),
        ("+996555123456", "+996 555 123 456"),
        ("+998901234567", "+998 90 123 45 67"),
        ("+99450", "+99450"),  # not a number the plan knows: as it came
        ("<b>+994</b>", "<b>+994</b>"),
        (None, "—"),
    ],
)
def test_numbers_are_shown_in_groups_whatever_the_country(number: str | None, shown: str) -> None:
    from qalqan.console.formats import phone

    assert phone(number) == shown


def test_the_data_is_asked_once_per_few_minutes_not_per_page(
    azerbaijan: tuple[CaseStore, str],
) -> None:
    """Opening pages does not cost a look-up each: the store is asked once, then remembered."""
    from sqlalchemy import event

    store, url = azerbaijan
    client, _ = _signed_in(store, url)
    asked: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "potential_victims" in statement and "msisdn" in statement:
            asked.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert client.get("/findings").status_code == 200
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert len(asked) == 1
