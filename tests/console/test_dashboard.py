"""The dashboard calls a caller ID domestic by the numbering plan of the console's country
(``QALQAN_CONSOLE_COUNTRY``, or the data's): a Kazakh operator's +7 70x numbers are domestic, an
Azerbaijani operator's +994 ones, and Russia's +7 numbers are not Kazakhstan's."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from qalqan.cases.models import Alert
from qalqan.cases.roles import Role
from qalqan.console import create_app
from qalqan.console.i18n import MESSAGES
from qalqan.console.settings import ConsoleSettings
from tests.cases.conftest import PASSWORD
from tests.cases.feeds import BANK_HOTLINE
from tests.console.conftest import NAMES, csrf_of, populated_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PRESENTED = ("+77011234567", "+77052345678", "+994501234567")
"""What three of the feed's spoofed calls present instead of the bank: two Kazakh mobile
numbers and an Azerbaijani one, with no rule naming them (no protected number, not ours)."""


def _caller_ids(store: Any, url: str, settings: ConsoleSettings) -> dict[str, int]:
    """The dashboard's caller-ID chart, as a supervisor of a console with ``settings`` sees it."""
    client = TestClient(create_app(url, secret_key="test", store=store, settings=settings))
    page = client.get("/login")
    client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": NAMES[Role.SUPERVISOR], "password": PASSWORD},
    )
    page = client.get("/dashboard")
    assert page.status_code == 200
    data = re.search(r'id="chart-data">(.*?)</script>', page.text, re.S)
    assert data
    names = {MESSAGES["cid_" + kind]["ru"]: kind for kind in ("domestic", "foreign")}
    return {
        names[c["name"]]: c["value"]
        for c in json.loads(data.group(1))["caller_ids"]
        if c["name"] in names
    }


@pytest.mark.parametrize(
    ("country", "domestic", "foreign"),
    [
        ("auto", 2, 1),  # the feed's subscribers are Kazakh
        ("KZ", 2, 1),
        ("AZ", 1, 2),
        ("RU", 0, 3),  # +7 is Russia's too: the plan tells +7 70x from Russia's numbers
    ],
)
def test_domestic_caller_ids_are_the_consoles_countrys(
    tmp_path: Path, country: str, domestic: int, foreign: int
) -> None:
    store, url, _ = populated_store(tmp_path)
    try:
        with store.transaction() as session:
            spoofed = session.scalars(
                select(Alert).where(Alert.caller == BANK_HOTLINE).order_by(Alert.id)
            ).all()
            for alert, number in zip(spoofed, PRESENTED, strict=False):
                alert.caller, alert.reasons = number, "[]"
        shown = _caller_ids(store, url, ConsoleSettings(country=country))
        assert shown == {kind: n for kind, n in (("domestic", domestic), ("foreign", foreign)) if n}
    finally:
        store.close()
