"""A prosecutor, in Debian's Chromium, generates a case's evidence package and downloads it;
the zip that lands verifies with the office's public key alone."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from qalqan.cases.investigations import open_case
from qalqan.cases.models import Alert, AuditEntry
from qalqan.cases.roles import Role
from qalqan.cases.store import CaseStore
from qalqan.console import create_app
from qalqan.evidence import KeyFolder, verify_package
from tests.console.conftest import ShiftClock, populated_store, store_campaign_hours
from tests.console.test_browser import (
    ARTIFACTS,
    _serving,
    _sign_in,
    chromium,
    playwright_api,
)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, KeyFolder, int, CaseStore]]:
    folder = tmp_path_factory.mktemp("evidence-console")
    keys = KeyFolder(folder / "keys")
    keys.generate()
    store, url, people = populated_store(folder, ShiftClock())
    store_campaign_hours(store)
    with store.transaction() as session:
        calls = session.scalars(
            select(Alert.id).where(Alert.kind == "intercepted_call").order_by(Alert.id).limit(4)
        ).all()
        case_id = open_case(session, people.supervisor, "Ферма F0001, Алматы", list(calls)).id
    kept = os.environ.get("QALQAN_KEYS")
    os.environ["QALQAN_KEYS"] = str(keys.path)
    try:
        with _serving(create_app(url, secret_key="browser-test", store=store)) as base:
            yield base, keys, case_id, store
    finally:
        if kept is None:
            os.environ.pop("QALQAN_KEYS", None)
        else:
            os.environ["QALQAN_KEYS"] = kept
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[playwright_api.Browser]:
    with chromium(ARTIFACTS) as launched:
        yield launched


def test_a_prosecutor_downloads_a_package_that_verifies(
    browser: playwright_api.Browser, served: tuple[str, KeyFolder, int, CaseStore], tmp_path: Path
) -> None:
    base, keys, case_id, store = served
    page = _sign_in(browser, base, Role.PROSECUTOR)
    page.goto(f"{base}/cases/{case_id}")
    button = page.get_by_role("button", name="Сформировать и скачать (zip)")
    playwright_api.expect(button).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "20-case-evidence-button.png"), full_page=True)
    with page.expect_download(timeout=120_000) as started:
        button.click()
    download = started.value
    assert download.suggested_filename == f"case-{case_id}-evidence.zip"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    page.close()
    with zipfile.ZipFile(saved) as archive:
        archive.extractall(tmp_path / "unzipped")
    result = verify_package(
        tmp_path / "unzipped" / f"case-{case_id}-evidence", public_key=keys.public_key()
    )
    assert result.intact, result.problems
    with store.transaction() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export_evidence")
        ).one()
    assert (entry.actor_name, entry.allowed) == ("prokuror", True)


def test_an_analyst_sees_no_button(
    browser: playwright_api.Browser, served: tuple[str, KeyFolder, int, CaseStore]
) -> None:
    base, _keys, case_id, _store = served
    page = _sign_in(browser, base, Role.ANALYST)
    page.goto(f"{base}/cases/{case_id}")
    playwright_api.expect(page.locator("h1").first).to_be_visible()
    assert page.locator("section.evidence").count() == 0
    page.close()
