"""The case page's evidence button, in-process: who sees it, who may press it, what comes back."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from qalqan.cases.investigations import open_case
from qalqan.cases.models import Alert, AuditEntry
from qalqan.cases.roles import Role
from qalqan.evidence import KeyFolder, verify_package
from tests.console.conftest import Console


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KeyFolder]:
    folder = KeyFolder(tmp_path / "keys")
    folder.generate()
    monkeypatch.setenv("QALQAN_KEYS", str(folder.path))
    monkeypatch.delenv("QALQAN_KEYS_PASSPHRASE", raising=False)
    yield folder


def open_farm_case(console: Console) -> int:
    with console.store.transaction() as session:
        calls = session.scalars(
            select(Alert.id).where(Alert.kind == "intercepted_call").order_by(Alert.id).limit(3)
        ).all()
        return open_case(session, console.people.supervisor, "Ферма F0001", list(calls)).id


def test_a_prosecutor_downloads_a_package_that_verifies(
    console: Console, keys: KeyFolder, tmp_path: Path
) -> None:
    case_id = open_farm_case(console)
    prosecutor = console.signed_in(Role.PROSECUTOR)
    page = prosecutor.client.get(f"/cases/{case_id}")
    assert f'action="/cases/{case_id}/evidence"' in page.text
    answer = prosecutor.post(f"/cases/{case_id}/evidence")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    assert f"case-{case_id}-evidence.zip" in answer.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        archive.extractall(tmp_path / "downloaded")
    result = verify_package(
        tmp_path / "downloaded" / f"case-{case_id}-evidence", public_key=keys.public_key()
    )
    assert result.intact, result.problems
    with console.store.transaction() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export_evidence")
        ).one()
    assert (entry.actor_name, entry.target, entry.allowed) == ("prokuror", f"case:{case_id}", True)


@pytest.mark.parametrize("role", [Role.ANALYST])
def test_roles_that_may_not_export_see_no_button_and_are_refused(
    console: Console, keys: KeyFolder, role: Role
) -> None:
    case_id = open_farm_case(console)
    user = console.signed_in(role)
    page = user.client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert "/evidence" not in page.text
    refused = user.post(f"/cases/{case_id}/evidence")
    assert refused.status_code == 403
    with console.store.transaction() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry is not None and (entry.action, entry.allowed) == ("export_evidence", False)


def test_an_operator_cannot_reach_it_at_all(console: Console, keys: KeyFolder) -> None:
    case_id = open_farm_case(console)
    refused = console.signed_in(Role.OPERATOR).post(f"/cases/{case_id}/evidence")
    assert refused.status_code == 403


def test_without_a_key_the_page_says_so(
    console: Console, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QALQAN_KEYS", str(tmp_path / "no-keys-here"))
    case_id = open_farm_case(console)
    supervisor = console.signed_in(Role.SUPERVISOR)
    answer = supervisor.post(f"/cases/{case_id}/evidence")
    assert answer.status_code == 200  # back on the case page
    assert "qalqan keys generate" in answer.text


def test_a_post_without_the_csrf_token_is_refused(console: Console, keys: KeyFolder) -> None:
    case_id = open_farm_case(console)
    prosecutor = console.signed_in(Role.PROSECUTOR)
    assert prosecutor.client.post(f"/cases/{case_id}/evidence", data={}).status_code == 403
