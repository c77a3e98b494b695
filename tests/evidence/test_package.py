"""Evidence packages: what they hold, and that verify catches any change to any of their files."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from qalqan.cases.errors import PermissionDenied
from qalqan.cases.models import AuditEntry
from qalqan.cases.roles import Actor
from qalqan.evidence.collect import office_hours
from qalqan.evidence.export import EXPORT_ACTION, Exported, export_case
from qalqan.evidence.keys import KeyFolder
from qalqan.evidence.manifest import MANIFEST, verify_package
from tests.evidence.conftest import MULE, CaseWorld

PACKAGE_FILES = (
    "case-uco.jsonld",
    "data/actions.csv",
    "data/audit.csv",
    "data/calls.csv",
    "data/campaigns.csv",
    "data/case.json",
    "data/entities.csv",
    "data/escalations.csv",
    "data/farm_tracks.csv",
    "data/farms.csv",
    "data/money.csv",
    "data/notes.csv",
    "manifest.json",
    "manifest.sig",
    "report/report.en.html",
    "report/report.en.pdf",
    "report/report.ru.html",
    "report/report.ru.pdf",
    "signer.pub.pem",
)
"""Every file of a package without a time stamp: a file added to packages is added here."""


def _export(world: CaseWorld, keys: KeyFolder, out: Path, actor: Actor | None = None) -> Exported:
    with world.store.transaction() as session:
        return export_case(
            session, actor or world.people.prosecutor, world.case_id, out,
            key=keys.private_key(), analysis=world.analysis,
        )  # fmt: skip


@pytest.fixture(scope="module")
def package(world: CaseWorld, keys: KeyFolder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package") / "case-1"
    _export(world, keys, out)
    return out


@pytest.fixture
def copy(package: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the package a test may break."""
    target = tmp_path / "copy"
    shutil.copytree(package, target)
    yield target


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_package_holds_every_file_and_verifies(package: Path, keys: KeyFolder) -> None:
    assert _files(package) == list(PACKAGE_FILES)
    result = verify_package(package, public_key=keys.public_key())
    assert result.intact, result.problems
    assert result.files == len(PACKAGE_FILES) - 2  # all but the manifest and its signature
    assert result.signer_given


def test_the_data_tell_the_case(package: Path, world: CaseWorld) -> None:
    calls = _rows(package / "data/calls.csv")
    assert [c["record_ids"] for c in calls] == ["r0", "r2", "r4"]
    assert {c["caller_imei"] for c in calls} == {
        "350000000000011",
        "350000000000029",
        "350000000000037",
    }
    assert all(c["caller_sim"].startswith("40177") and c["caller_cell"] for c in calls)
    farm = _rows(package / "data/farms.csv")[0]
    assert (farm["farm_id"], farm["lat"], farm["lon"]) == ("F0001", "43.25", "76.95")
    track = _rows(package / "data/farm_tracks.csv")
    assert [(t["farm_id"], t["stay"]) for t in track] == [("F0001", "1"), ("F0001", "2")]
    campaign = _rows(package / "data/campaigns.csv")[0]
    assert (campaign["campaign_id"], campaign["utc_offset_h"]) == ("C0001", "8.0")
    money = _rows(package / "data/money.csv")
    accounts = {(m["account"], m["source"]) for m in money}
    assert (MULE, "case store") in accounts and (MULE, "accounts.csv") in accounts
    assert ("ewallet:77001234567", "accounts.csv") in accounts  # its reasons name C0001
    assert ("crypto:bc1qcampaign", "accounts.csv") in accounts  # its campaign_id is C0001
    assert (MULE, "victim_payments.csv") in accounts  # a victim's transfer after a C0001 call
    assert ("msisdn:+77010000001", "accounts.csv") in accounts  # a SIM balance of farm F0001
    assert "crypto:bc1qunrelated" not in {
        m["account"] for m in money
    }  # C0002, and C00011 is not C0001
    assert "bank:KZ99OTHER" not in {m["account"] for m in money}
    assert campaign["office_hours_local"] == "09-13, 14-18"  # UTC+8, busy 01-05 and 06-10 UTC
    audit = _rows(package / "data/audit.csv")
    assert {"open_case", "link_to_case", "claim_alert", "record_outcome", "add_case_note"} <= {
        a["action"] for a in audit
    }
    entities = {(e["kind"], e["value"]) for e in _rows(package / "data/entities.csv")}
    assert ("account", MULE) in entities and ("imei", "350000000000011") in entities


def test_the_reports_are_in_both_languages_and_escape_what_they_quote(package: Path) -> None:
    ru = (package / "report/report.ru.html").read_text(encoding="utf-8")
    en = (package / "report/report.en.html").read_text(encoding="utf-8")
    assert "Перехваченные звонки" in ru and "Intercepted calls" in en
    assert "&lt;b&gt;не&lt;/b&gt;" in ru and "<b>не</b>" not in ru
    for language in ("ru", "en"):
        assert (package / f"report/report.{language}.pdf").read_bytes().startswith(b"%PDF-")


@pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)
def test_the_pdf_report_says_cyrillic(package: Path) -> None:
    text = subprocess.run(
        ["pdftotext", str(package / "report/report.ru.pdf"), "-"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "Пакет доказательств" in text
    assert "Алматы: SIM-ферма F0001" in text


def test_case_validate_passes_offline(package: Path) -> None:
    validate = Path(sys.executable).with_name("case_validate")
    command = [str(validate), str(package / "case-uco.jsonld")]
    if shutil.which("unshare") and os.geteuid() == 0:  # no network at all, to prove it needs none
        command = ["unshare", "-n", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Conforms: True" in done.stdout


def test_the_description_lists_every_data_file_with_its_hash(package: Path) -> None:
    document = json.loads((package / "case-uco.jsonld").read_text(encoding="utf-8"))
    manifest = json.loads((package / MANIFEST).read_text(encoding="utf-8"))
    digests = {f["path"]: f["sha256"].upper() for f in manifest["files"]}
    described = {}
    for node in document["@graph"]:
        if node["@type"] == "observable:File":
            facets = {f["@type"]: f for f in node["core:hasFacet"]}
            path = facets["observable:FileFacet"]["observable:filePath"]
            described[path] = facets["observable:ContentDataFacet"]["observable:hash"][0][
                "types:hashValue"
            ]["@value"]
    assert described == {
        p: d for p, d in digests.items() if p not in ("case-uco.jsonld", "signer.pub.pem")
    }


@pytest.mark.parametrize("name", [f for f in PACKAGE_FILES])
@pytest.mark.parametrize("where", [0, 0.5, -1])
def test_flipping_any_byte_of_any_file_fails_verify_naming_it(
    copy: Path, keys: KeyFolder, name: str, where: float
) -> None:
    path = copy / name
    data = bytearray(path.read_bytes())
    at = len(data) - 1 if where == -1 else int(len(data) * where)
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    result = verify_package(copy, public_key=keys.public_key())
    assert not result.intact
    named = {p.path for p in result.problems}
    assert name in named, result.problems


def test_a_removed_file_is_named_missing(copy: Path, keys: KeyFolder) -> None:
    (copy / "data/money.csv").unlink()
    result = verify_package(copy, public_key=keys.public_key())
    assert [(p.path, p.what) for p in result.problems] == [("data/money.csv", "missing")]


@pytest.mark.parametrize("added", ["extra.txt", "data/more.csv", "report/deep/er/x.html"])
def test_an_added_file_is_named_added(copy: Path, keys: KeyFolder, added: str) -> None:
    (copy / added).parent.mkdir(parents=True, exist_ok=True)
    (copy / added).write_text("planted")
    result = verify_package(copy, public_key=keys.public_key())
    assert [(p.path, p.what) for p in result.problems] == [(added, "added")]


def test_a_package_verifies_with_only_itself_and_the_public_key(
    package: Path, keys: KeyFolder, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "received" / "package"
    shutil.copytree(package, elsewhere)
    (tmp_path / "partner.pem").write_bytes(keys.public_path.read_bytes())
    from qalqan.evidence.keys import load_public_pem

    key = load_public_pem((tmp_path / "partner.pem").read_bytes(), "partner.pem")
    assert verify_package(elsewhere, public_key=key).intact


def test_another_key_does_not_verify(package: Path, tmp_path: Path) -> None:
    other = KeyFolder(tmp_path / "other")
    other.generate()
    result = verify_package(package, public_key=other.public_key())
    assert {p.path for p in result.problems} == {"signer.pub.pem", "manifest.sig"}


def test_a_package_resigned_by_someone_else_fails_against_the_real_key(
    copy: Path, keys: KeyFolder, tmp_path: Path
) -> None:
    """Someone changes a file, rewrites the manifest and signs with their own key (and puts it in
    the package): intact by its own key, refused against the key the partner holds."""
    from qalqan.evidence.keys import public_pem
    from qalqan.evidence.manifest import sign_manifest, write_manifest

    forger = KeyFolder(tmp_path / "forger")
    forger.generate()
    (copy / "data/money.csv").write_text("account\n")
    (copy / "signer.pub.pem").write_bytes(public_pem(forger.public_key()))
    body = json.loads((copy / MANIFEST).read_text())
    header = {k: v for k, v in body.items() if k not in ("format", "files")}
    manifest = write_manifest(copy, header, [f["path"] for f in body["files"]])
    sign_manifest(copy, manifest, forger.private_key())
    assert verify_package(copy).intact  # the package's own key: intact, but says nothing of who
    result = verify_package(copy, public_key=keys.public_key())
    assert {p.path for p in result.problems} >= {"signer.pub.pem", "manifest.sig"}


def test_export_is_audited_with_the_manifest_hash(
    world: CaseWorld, keys: KeyFolder, tmp_path: Path
) -> None:
    made = _export(world, keys, tmp_path / "again", actor=world.people.supervisor)
    with world.store.transaction() as session:
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == EXPORT_ACTION)
            .order_by(AuditEntry.seq.desc())
        ).first()
    assert entry is not None
    assert (entry.actor_name, entry.target, entry.allowed) == (
        "saule",
        f"case:{world.case_id}",
        True,
    )
    import hashlib

    manifest = (tmp_path / "again" / MANIFEST).read_bytes()
    assert json.loads(entry.details)["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert made.manifest_sha256 == hashlib.sha256(manifest).hexdigest()


@pytest.mark.parametrize("who", ["operator", "analyst", "admin"])
def test_roles_that_may_not_export_are_refused_and_the_refusal_audited(
    world: CaseWorld, keys: KeyFolder, tmp_path: Path, who: str
) -> None:
    actor: Actor = getattr(world.people, who)
    with pytest.raises(PermissionDenied):
        _export(world, keys, tmp_path / "refused", actor=actor)
    assert not (tmp_path / "refused").exists()
    with world.store.transaction() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry is not None
    assert (entry.actor_name, entry.allowed) == (actor.name, False)


def test_export_refuses_a_folder_in_use(world: CaseWorld, keys: KeyFolder, tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("")
    from qalqan.evidence.errors import EvidenceError

    with pytest.raises(EvidenceError, match="not an empty folder"):
        _export(world, keys, tmp_path / "used")


@given(
    hours=st.lists(st.integers(min_value=0, max_value=10_000), min_size=24, max_size=24),
    offset=st.one_of(st.none(), st.floats(min_value=-12, max_value=14, allow_nan=False)),
)
def test_office_hours_are_the_busy_local_hours_as_spans(
    hours: list[int], offset: float | None
) -> None:
    said = office_hours(hours, offset)
    spans = [tuple(int(h) for h in s.split("-")) for s in said.split(", ")] if said else []
    covered = {h % 24 for a, b in spans for h in range(a, b)}
    total = sum(hours)
    busy = {(h + round(offset or 0)) % 24 for h, n in enumerate(hours) if total and n * 20 >= total}
    assert covered == busy
    assert all(0 <= a < b <= 24 for a, b in spans)
