"""The console in a real browser: Debian's Chromium driven by Playwright, over a real socket.

What only a browser shows: the forms post and redirect as buttons are
clicked, the session cookie and CSRF token travel as they will in a shift,
and the pages look right — each main page is saved as a screenshot under
``test-artifacts/console/`` for a person to look at. Skipped when Playwright
or Chromium is missing (``.ci/run`` installs both).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from qalqan.cases.roles import Role
from qalqan.console import create_app
from tests.cases.conftest import PASSWORD, make_people
from tests.console.another_country import another_country_store
from tests.console.conftest import NAMES, ShiftClock, populated_store, store_campaign_hours

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed", allow_module_level=True)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


@contextlib.contextmanager
def chromium(artifacts: Path) -> Iterator[playwright_api.Browser]:
    """Debian's Chromium, headless, driven by Playwright; ``artifacts`` made for screenshots."""
    artifacts.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free port, in a thread; its base URL."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the console did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The console served by uvicorn on a free port, in a thread; its base URL."""
    clock = ShiftClock()
    store, url, _ = populated_store(tmp_path_factory.mktemp("console"), clock)
    store_campaign_hours(store)  # what `qalqan analyze` stores; the test feed has none
    clock.ahead = timedelta(minutes=6)  # the calls have waited past their claim deadline
    app = create_app(url, secret_key="browser-test", store=store)
    try:
        with _serving(app) as base:
            yield base
    finally:
        store.close()


HOSTILE_FARM = (
    '<img src=x onerror="document.body.dataset.pwned=1">'
    "<script>document.body.dataset.pwned=2</script>"
)


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The console over a store in which a farm's id is markup, as a hostile feed could make it."""
    from sqlalchemy import select

    from qalqan.cases.models import Alert

    store, url, _ = populated_store(tmp_path_factory.mktemp("hostile"))
    with store.transaction() as session:
        for farm in session.scalars(select(Alert).where(Alert.kind == "sim_farm")):
            farm.source_ref = HOSTILE_FARM
    app = create_app(url, secret_key="browser-test", store=store)
    try:
        with _serving(app) as base:
            yield base
    finally:
        store.close()


@pytest.fixture(scope="module")
def azerbaijan_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The console over an Azerbaijani operator's farms (the simulator's another-country family)."""
    store, url = another_country_store(tmp_path_factory.mktemp("azerbaijan"))
    make_people(store)
    app = create_app(url, secret_key="browser-test", store=store)
    try:
        with _serving(app) as base:
            yield base
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[playwright_api.Browser]:
    with chromium(ARTIFACTS) as launched:
        yield launched


def _sign_in(browser: playwright_api.Browser, server: str, role: Role) -> playwright_api.Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/login")
    page.fill("input[name=username]", NAMES[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_load_state()
    return page


def _shot(page: playwright_api.Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_operator_works_a_call_and_the_prosecutor_sees_it(
    browser: playwright_api.Browser, server: str
) -> None:
    expect = playwright_api.expect
    login = browser.new_page(viewport={"width": 1280, "height": 900})
    login.goto(f"{server}/login")
    _shot(login, "01-login")
    login.close()

    page = _sign_in(browser, server, Role.OPERATOR)
    expect(page).to_have_url(f"{server}/queue")
    expect(page.locator("h1")).to_have_text("Перехваченные звонки")
    _shot(page, "02-queue")

    first = page.locator("ol.queue li").first
    callee = first.locator(".number").inner_text()
    first.locator("button.primary").click()
    expect(page.locator(".phone")).to_have_text(callee)
    expect(page.locator(".script")).to_contain_text("прокуратурой")
    _shot(page, "03-alert-claimed")

    page.locator("label.choice", has_text="Дозвонился и предупредил").click()
    page.fill("input[name=prevented]", "250000")
    page.fill("textarea[name=note]", "Пенсионерка, собиралась переводить на «безопасный счёт»")
    page.get_by_role("button", name="Сохранить результат").click()
    expect(page.locator(".flash")).to_have_text("Результат сохранён.")
    expect(page.locator(".next")).to_contain_text("Дозвонился и предупредил")

    page.fill("textarea[name=reason]", "Назвала счёт, куда просили перевести деньги")
    page.get_by_role("button", name="Передать прокурору").click()
    expect(page.locator(".flash")).to_have_text("Передано прокурору.")
    _shot(page, "04-alert-done")

    page.get_by_role("button", name="EN").click()
    expect(page.locator("h1").first).to_contain_text("Call #")
    page.get_by_role("button", name="KK").click()
    expect(page.locator(".next h2")).to_have_text("Қазір не істеу керек")
    _shot(page, "05-alert-kazakh")
    page.get_by_role("button", name="RU").click()

    page.goto(f"{server}/escalations")
    expect(page.locator("h1")).to_have_text("Нет доступа")
    assert page.evaluate("document.readyState") == "complete"
    _shot(page, "06-forbidden")
    page.close()

    prosecutor = _sign_in(browser, server, Role.PROSECUTOR)
    expect(prosecutor).to_have_url(f"{server}/escalations")
    expect(prosecutor.locator(".escalation").first).to_contain_text(
        "Назвала счёт, куда просили перевести деньги"
    )
    _shot(prosecutor, "07-prosecutor-escalations")
    prosecutor.goto(f"{server}/queue")
    expect(prosecutor.locator("h1")).to_have_text("Нет доступа")
    prosecutor.close()


def test_supervisor_opens_a_case_and_reads_findings(
    browser: playwright_api.Browser, server: str
) -> None:
    expect = playwright_api.expect
    page = _sign_in(browser, server, Role.SUPERVISOR)
    page.locator("ol.queue li a.small").first.click()
    page.fill("input[name=title]", "Волна «служба безопасности банка»")
    page.get_by_role("button", name="Открыть дело с этим звонком").click()
    expect(page.locator("h1")).to_contain_text("Дело №")
    page.fill("textarea[name=text]", "Тот же счёт, что и в деле прошлой недели")
    page.get_by_role("button", name="Добавить заметку").click()
    expect(page.locator(".notes")).to_contain_text("Тот же счёт")
    page.wait_for_function("window.qalqanGraphDrawn > 2")  # the case, its call, its links
    _shot(page, "08-case")
    page.locator("#case-graph").screenshot(path=str(ARTIFACTS / "08-case-graph.png"))
    page.goto(f"{server}/findings")
    expect(page.locator("h1")).to_contain_text("Фермы")
    _shot(page, "09-findings")
    page.locator("ul.list a").first.click()
    expect(page.locator("table.details")).to_be_visible()
    _shot(page, "11-finding")

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/dashboard")
    page.wait_for_function("window.qalqanChartsDrawn === true")
    expect(page.locator("#per-day svg")).to_have_count(1)
    expect(page.locator("#outcomes svg")).to_have_count(1)
    for chart in ("#by-route", "#by-caller-id", "#trend"):
        expect(page.locator(f"{chart} svg")).to_have_count(1)
    assert errors == []
    _shot(page, "10-dashboard")
    page.close()


def test_analyst_sees_farms_on_the_map_and_a_campaigns_hours(
    browser: playwright_api.Browser, server: str
) -> None:
    expect = playwright_api.expect
    errors: list[str] = []
    page = _sign_in(browser, server, Role.ANALYST)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/findings")
    expect(page.locator("#farm-map svg")).to_have_count(1)  # (polling a page function breaks CSP)
    assert page.evaluate("window.qalqanMapDrawn") is True
    expect(page.locator("#farm-map")).to_contain_text("F0001")
    expect(page.locator("#farm-map")).to_contain_text("Алматы")
    page.locator("#farm-map").scroll_into_view_if_needed()
    page.locator(".map-card").screenshot(path=str(ARTIFACTS / "12-farm-map.png"))
    page.locator("ul.list li", has_text="кампания").first.locator("a").click()  # the UTC+8 one
    expect(page.locator("#by-hour svg")).to_have_count(1)
    assert page.evaluate("window.qalqanCampaignDrawn") is True
    expect(page.locator(".campaign-hours .works")).to_contain_text("UTC+8")
    expect(page.locator(".campaign-hours .works")).to_contain_text("09–18")
    assert errors == []
    _shot(page, "13-campaign")
    page.close()


def test_an_azerbaijani_operators_farms_are_drawn_on_azerbaijan(
    browser: playwright_api.Browser, azerbaijan_server: str
) -> None:
    expect = playwright_api.expect
    errors: list[str] = []
    page = _sign_in(browser, azerbaijan_server, Role.ANALYST)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{azerbaijan_server}/findings")
    expect(page.locator("#farm-map svg")).to_have_count(1)
    assert page.evaluate("window.qalqanMapDrawn") is True
    expect(page.locator(".map-card h2")).to_contain_text("Азербайджан")
    drawn = page.evaluate(
        """() => {
          const chart = echarts.getInstanceByDom(document.getElementById("farm-map"));
          const option = chart.getOption();
          const farms = option.series.find(s => s.id === "farms").data;
          return {
            map: option.geo[0].map,
            regions: echarts.getMap("country").geoJSON.features.map(f => f.properties.name),
            farms: farms.map(f => f.region),
          };
        }"""
    )
    assert drawn["map"] == "country"
    assert {"Баку", "Гянджа", "Лачинский район"} <= set(drawn["regions"])
    assert not {"Алматы", "Астана"} & set(drawn["regions"])
    assert drawn["farms"] and None not in drawn["farms"]  # every farm inside Azerbaijan
    expect(page.locator("#farm-map")).to_contain_text("Баку")  # the city drawn for orientation
    expect(page.locator("#farm-map")).not_to_contain_text("Алматы")
    assert errors == []
    page.locator("#farm-map").scroll_into_view_if_needed()
    page.locator(".map-card").screenshot(path=str(ARTIFACTS / "12b-farm-map-azerbaijan.png"))
    page.close()


def test_supervisor_hands_a_call_over_and_closes_a_case(
    browser: playwright_api.Browser, server: str
) -> None:
    expect = playwright_api.expect
    operator = _sign_in(browser, server, Role.OPERATOR)
    first = operator.locator("ol.queue li").first
    callee = first.locator(".number").inner_text()
    first.locator("button.primary").click()
    expect(operator.locator(".phone")).to_have_text(callee)
    operator.close()

    page = _sign_in(browser, server, Role.SUPERVISOR)
    floor = page.locator("section.floor")
    row = floor.locator("tr", has_text=callee)
    expect(row).to_contain_text(NAMES[Role.OPERATOR])
    _shot(page, "14-supervisor-floor")
    row.locator("select[name=to]").select_option(label="bolat (в работе: 0)")
    row.get_by_role("button", name="Передать").click()
    expect(page.locator(".flash")).to_have_text("Звонок передан: bolat.")
    expect(page.locator("section.floor tr", has_text=callee)).to_contain_text("bolat")

    page.locator("section.floor tr", has_text=callee).locator("a").first.click()
    expect(page.locator(".next")).to_contain_text("bolat")
    if page.locator("input[name=title]").count():
        page.fill("input[name=title]", "Звонки с фермы в Алматы")
        page.get_by_role("button", name="Открыть дело с этим звонком").click()
    else:  # an earlier test put this call in a case already
        page.locator("a.button", has_text="В деле №").click()
    expect(page.locator("h1")).to_contain_text("Дело №")
    page.locator("select[name=reason]").select_option("victims_warned")
    page.fill("textarea[name=note]", "Все предупреждены, ферма передана полиции")
    page.get_by_role("button", name="Закрыть дело").click()
    expect(page.locator(".flash")).to_have_text("Дело закрыто.")
    expect(page.locator("p.closed")).to_contain_text("все, кого удалось, предупреждены")
    expect(page.locator("ol.timeline")).to_contain_text("Дело закрыто")
    _shot(page, "15-case-closed")
    page.close()


def test_admin_adds_an_account_and_sees_its_password_once(
    browser: playwright_api.Browser, server: str
) -> None:
    expect = playwright_api.expect
    page = _sign_in(browser, server, Role.ADMIN)
    expect(page).to_have_url(f"{server}/users")
    page.fill("form[action='/users/add'] input[name=username]", "gulnara")
    page.locator("form[action='/users/add'] select[name=role]").select_option("operator")
    page.get_by_role("button", name="Создать").click()
    expect(page.locator(".password")).to_have_count(1)
    password = page.locator(".password").inner_text()
    assert len(password) >= 10
    _shot(page, "16-users")
    page.goto(f"{server}/users")
    expect(page.locator(".password")).to_have_count(0)
    expect(page.locator("table.users")).to_contain_text("gulnara")
    page.close()


def test_a_farm_id_made_of_markup_is_shown_as_text_in_the_map_tooltip(
    browser: playwright_api.Browser, hostile_server: str
) -> None:
    """The tooltip is built from text nodes: a farm id never becomes an element, whatever the CSP."""
    page = _sign_in(browser, hostile_server, Role.ANALYST)
    page.goto(f"{hostile_server}/findings")
    page.wait_for_function("window.qalqanMapDrawn === true")
    page.evaluate(
        """() => {
          const chart = echarts.getInstanceByDom(document.getElementById("farm-map"));
          const farms = chart.getOption().series.findIndex(s => s.id === "farms");
          chart.dispatchAction({ type: "showTip", seriesIndex: farms, dataIndex: 0 });
        }"""
    )
    tooltip = page.wait_for_function(
        "() => [...document.querySelectorAll('#farm-map div')]"
        ".find(d => d.textContent.includes('onerror')) || null"
    ).as_element()
    assert tooltip is not None
    assert HOSTILE_FARM in tooltip.text_content()  # type: ignore[operator]
    made = page.evaluate(
        """() => ({
          images: document.querySelectorAll("#farm-map img, img[src='x']").length,
          scripts: [...document.querySelectorAll("script")].filter(
            s => s.type !== "application/json" && s.textContent.includes("pwned")).length,
          pwned: document.body.dataset.pwned || null,
        })"""
    )
    assert made == {"images": 0, "scripts": 0, "pwned": None}
    page.close()
