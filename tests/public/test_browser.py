"""The public pages in a real browser (Debian's Chromium, Playwright), in Russian and Kazakh.

What only a browser shows: the language follows the switch and the browser's
locale, the check form answers on a phone-sized screen without scrolling
sideways, and the report form's script solves the proof of work before the
form is sent (in plain JavaScript SHA-256, checked here against Python's).
Pages are saved under ``test-artifacts/public/``. The console's browser
harness is reused; skipped when Playwright or Chromium is missing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from qalqan.cases import CaseStore, upgrade
from qalqan.cases.reports import CitizenReport
from qalqan.domain.model import RegistryEntry, RegistryPolicy
from qalqan.public import create_app
from qalqan.screening.network import ProtectedNumbers
from tests.cases.conftest import FrozenClock
from tests.cases.feeds import BANK_HOTLINE, FARM_SIMS, T0
from tests.console.test_browser import _serving, chromium, playwright_api
from tests.public.conftest import face_over, fill

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "public"
PHONE = {"width": 390, "height": 844}
REGISTRY = ProtectedNumbers.from_entries(
    [
        RegistryEntry(
            number=BANK_HOTLINE, owner="Ұлттық Банк", policy=RegistryPolicy.parse("inbound_only")
        )
    ]
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaseStore]:
    folder = tmp_path_factory.mktemp("public")
    url = str(folder / "cases.db")
    upgrade(url)
    opened = CaseStore.open(url, clock=FrozenClock(T0 + timedelta(minutes=30)))
    try:
        yield fill(opened, folder)
    finally:
        opened.close()


@pytest.fixture(scope="module")
def server(store: CaseStore) -> Iterator[str]:
    face = face_over(store, registry=REGISTRY)
    with _serving(create_app(store=store, face=face)) as base:
        yield base


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[playwright_api.Browser]:
    with chromium(ARTIFACTS) as launched:
        yield launched


def _phone(browser: playwright_api.Browser, locale: str) -> playwright_api.Page:
    context = browser.new_context(
        viewport=PHONE, locale=locale, is_mobile=True, timezone_id="Asia/Almaty"
    )
    return context.new_page()


def _fits_the_screen(page: playwright_api.Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_the_check_in_russian_says_the_bank_never_calls_from_its_hotline(
    browser: playwright_api.Browser, server: str
) -> None:
    page = _phone(browser, "ru-RU")
    page.goto(f"{server}/")
    assert page.get_attribute("html", "lang") == "ru"
    page.fill("#number", "8 727 270 70 00")
    page.click("button[type=submit]")
    verdict = page.locator("#verdict")
    assert "danger" in (verdict.get_attribute("class") or "")
    assert "никогда не звонит" in verdict.inner_text()
    assert "Положите трубку" in verdict.inner_text()
    assert _fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "check_ru.png"), full_page=True)


def test_the_check_in_kazakh_from_the_browsers_locale_names_a_farms_number(
    browser: playwright_api.Browser, server: str
) -> None:
    page = _phone(browser, "kk-KZ")
    page.goto(f"{server}/")
    assert page.get_attribute("html", "lang") == "kk"
    page.fill("#number", FARM_SIMS[0][1])
    page.click("button[type=submit]")
    text = page.locator("#verdict").inner_text()
    assert "SIM-фермадағы" in text and "Қауіпті" in text
    assert FARM_SIMS[0][0] not in page.content()  # the SIM's IMSI is never shown
    assert _fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "check_kk.png"), full_page=True)


def test_the_language_switch_is_remembered(browser: playwright_api.Browser, server: str) -> None:
    page = _phone(browser, "ru-RU")
    page.goto(f"{server}/")
    page.click("text=KK")
    page.goto(f"{server}/check?number=87011234567")
    assert page.get_attribute("html", "lang") == "kk"


def test_the_report_form_in_kazakh_solves_its_proof_of_work_and_is_queued(
    browser: playwright_api.Browser, server: str
) -> None:
    page = _phone(browser, "kk-KZ")
    page.goto(f"{server}/report")
    assert page.get_attribute("html", "lang") == "kk"
    page.fill("#r-number", BANK_HOTLINE)
    page.select_option("#r-channel", "call")
    page.select_option("#r-category", "bank_security")
    page.fill("#r-text", "банк қауіпсіздік қызметі, кодты айтыңыз")
    page.click("button[type=submit]")
    page.wait_for_selector(".outcome", timeout=20_000)
    assert "операторларға жіберілді" in page.locator(".outcome").inner_text()
    assert _fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "report_kk.png"), full_page=True)


def test_the_report_form_in_russian_files_a_report_of_an_unknown_number_at_the_time_told(
    browser: playwright_api.Browser, server: str, store: CaseStore
) -> None:
    page = _phone(browser, "ru-RU")
    page.goto(f"{server}/report?lang=ru")
    page.fill("#r-number", "+7 707 555 44 33")
    page.select_option("#r-channel", "sms")
    page.select_option("#r-category", "police")
    page.fill("#r-text", "Вам звонит следователь, переведите деньги на безопасный счёт")
    page.fill("#r-time", "2026-03-02T10:30")
    page.click("button[type=submit]")
    page.wait_for_selector(".outcome", timeout=20_000)
    assert "Спасибо" in page.locator(".outcome").inner_text()
    page.screenshot(path=str(ARTIFACTS / "report_ru.png"), full_page=True)
    page.goto(f"{server}/check?number=%2B77075554433&lang=ru")
    assert "полиции: 1" in page.locator("#verdict").inner_text()
    with store.transaction() as s:
        told = s.execute(
            select(CitizenReport.occurred_at).where(CitizenReport.number == "+77075554433")
        ).scalar_one()
    assert told == datetime(2026, 3, 2, 5, 30, tzinfo=UTC)  # 10:30 in Almaty (UTC+5)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3.4:99", "Қалқан щит 🛡", "x" * 200])
def test_the_pages_sha256_is_pythons(
    browser: playwright_api.Browser, server: str, text: str
) -> None:
    page = browser.new_page()
    page.goto(f"{server}/report")
    assert (
        page.evaluate("t => window.qalqanSha256(t)", text)
        == hashlib.sha256(text.encode()).hexdigest()
    )
