"""The money flow in Debian's Chromium: a campaign's page, a case's page and the dashboard show
the flow and its totals as the payments add up; screenshots of each are saved under
``test-artifacts/console/`` for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from qalqan.cases.investigations import open_case
from qalqan.cases.roles import Role
from qalqan.console import create_app
from tests.cases.test_money_ingest import FED, SIM_BALANCES, Paid
from tests.console.test_browser import (
    ARTIFACTS,
    _serving,
    _sign_in,
    chromium,
    playwright_api,
)
from tests.console.test_money import _alert, _kzt, with_money


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, list[Paid], dict[str, int]]]:
    folder: Path = tmp_path_factory.mktemp("money-console")
    store, url, paid, console = with_money(folder, extra=40)  # more victims than a column shows
    ids = {
        "campaign": _alert(store, "campaign", "C0001"),
        "farm": _alert(store, "sim_farm", "F0001"),
    }
    with store.transaction() as session:
        ids["case"] = open_case(
            session, console.people.analyst, "Ферма F0001 и её деньги", [ids["farm"]]
        ).id
    try:
        with _serving(create_app(url, secret_key="browser-test", store=store)) as base:
            yield base, paid, ids
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[playwright_api.Browser]:
    with chromium(ARTIFACTS) as launched:
        yield launched


def _lost(paid: list[Paid], campaign: str | None = None) -> str:
    return _kzt(sum(Decimal(str(p.amount)) for p in paid if campaign in (None, p.campaign_id)))


def test_the_campaign_and_case_pages_draw_the_flow(
    browser: playwright_api.Browser, served: tuple[str, list[Paid], dict[str, int]]
) -> None:
    base, paid, ids = served
    page = _sign_in(browser, base, Role.ANALYST)
    for name, url in (
        ("campaign", f"/alerts/{ids['campaign']}"),
        ("case", f"/cases/{ids['case']}"),
    ):
        page.goto(base + url)
        card = page.locator("#money")
        playwright_api.expect(card.locator("svg.money-flow")).to_be_visible()
        playwright_api.expect(card.locator(".money-lost")).to_have_text(_lost(paid, "C0001"))
        # the picture has every column's nodes and a link from each SIM balance to its farm
        assert card.locator("svg .money-node").count() <= 4 * 9
        farm_links = card.locator(f'svg a[href="/alerts/{ids["farm"]}"]')
        assert farm_links.count() == len(SIM_BALANCES)
        box = card.locator("svg.money-flow").bounding_box()
        assert box is not None and box["width"] > 600
        card.scroll_into_view_if_needed()
        card.screenshot(path=str(ARTIFACTS / f"30-money-flow-{name}.png"))
    # the farm link leads to the farm
    page.locator(f'#money svg a[href="/alerts/{ids["farm"]}"]').first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/alerts/{ids['farm']}")
    page.close()


def test_the_table_beside_the_flow_is_read_out(
    browser: playwright_api.Browser, served: tuple[str, list[Paid], dict[str, int]]
) -> None:
    base, _, ids = served
    page = _sign_in(browser, base, Role.ANALYST)
    page.goto(f"{base}/alerts/{ids['campaign']}")
    table = page.get_by_role("table", name="Переводы по шагам")
    playwright_api.expect(table).to_be_visible()
    crypto, _, wallet, amount, _ = FED[-1]
    row = table.locator("tr", has_text=crypto)
    playwright_api.expect(row).to_contain_text(wallet)
    playwright_api.expect(row).to_contain_text(_kzt(amount))
    assert page.get_by_role("img", name="Деньги жертв кампании C0001").count() == 1
    page.close()


def test_the_dashboard_shows_what_was_lost_and_preventable(
    browser: playwright_api.Browser, served: tuple[str, list[Paid], dict[str, int]]
) -> None:
    base, paid, ids = served
    page = _sign_in(browser, base, Role.SUPERVISOR)
    page.goto(f"{base}/dashboard")
    totals = page.locator(".money-totals")
    lost = sum(Decimal(str(p.amount)) for p in paid)
    playwright_api.expect(totals.locator(".money-lost")).to_have_text(
        f"{lost:,.0f}".replace(",", " ") + " KZT"
    )
    first = totals.locator("table.top-campaigns a").first
    playwright_api.expect(first).to_have_text("C0001")
    totals.screenshot(path=str(ARTIFACTS / "31-money-dashboard.png"))
    first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/alerts/{ids['campaign']}#money")
    page.close()
