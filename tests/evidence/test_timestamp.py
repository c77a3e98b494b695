"""RFC 3161 time stamps over the package's signature, from a local TSA made with openssl."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qalqan.evidence.errors import TimestampError
from qalqan.evidence.export import export_case
from qalqan.evidence.keys import KeyFolder
from qalqan.evidence.manifest import CHAIN, TIMESTAMP, verify_package
from qalqan.evidence.timestamp import load_certificates, request_timestamp
from tests.evidence.conftest import CaseWorld, LocalTsa, make_tsa_pki


@pytest.fixture(scope="module")
def stamped(
    world: CaseWorld, keys: KeyFolder, tsa: LocalTsa, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("stamped") / "case"
    chain = load_certificates(tsa.chain_pem.read_bytes(), "chain.pem")
    with world.store.transaction() as session:
        made = export_case(
            session, world.people.prosecutor, world.case_id, out, key=keys.private_key(),
            tsa_url=tsa.url, tsa_chain=chain,
        )  # fmt: skip
    assert made.timestamp
    return out


def test_a_stamped_package_verifies_with_its_chain_and_with_the_ca_given(
    stamped: Path, keys: KeyFolder, tsa: LocalTsa
) -> None:
    assert (stamped / TIMESTAMP).is_file() and (stamped / CHAIN).is_file()
    own = verify_package(stamped, public_key=keys.public_key())
    assert own.intact, own.problems
    assert own.timestamp.startswith("20")
    ca = load_certificates(tsa.ca_pem.read_bytes(), "ca.pem")
    given = verify_package(stamped, public_key=keys.public_key(), tsa_certificates=ca)
    assert given.intact, given.problems


@pytest.mark.parametrize("name", [TIMESTAMP, CHAIN])
@pytest.mark.parametrize("where", [0, 0.3, 0.6, -1])
def test_a_tampered_token_or_chain_fails(
    stamped: Path, keys: KeyFolder, tmp_path: Path, name: str, where: float
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(stamped, copy)
    data = bytearray((copy / name).read_bytes())
    at = len(data) - 1 if where == -1 else int(len(data) * where)
    data[at] ^= 0xFF
    (copy / name).write_bytes(bytes(data))
    result = verify_package(copy, public_key=keys.public_key())
    assert not result.intact
    assert name in {p.path for p in result.problems}


def test_a_token_of_another_signature_fails(
    stamped: Path, keys: KeyFolder, tsa: LocalTsa, tmp_path: Path
) -> None:
    """A genuine token from the same TSA, but over some other signature: its imprint is wrong."""
    copy = tmp_path / "copy"
    shutil.copytree(stamped, copy)
    other = request_timestamp(tsa.url, b"another package's signature")
    (copy / TIMESTAMP).write_bytes(other.response)
    result = verify_package(copy, public_key=keys.public_key())
    assert [(p.path, p.what) for p in result.problems] == [(TIMESTAMP, "timestamp")]
    assert "Mismatch" in result.problems[0].detail


def test_a_token_checked_against_another_authority_fails(
    stamped: Path, keys: KeyFolder, tmp_path: Path
) -> None:
    make_tsa_pki(tmp_path / "other", name="Other TSA")
    other = load_certificates((tmp_path / "other" / "chain.pem").read_bytes(), "other")
    result = verify_package(stamped, public_key=keys.public_key(), tsa_certificates=other)
    assert [(p.path, p.what) for p in result.problems] == [(TIMESTAMP, "timestamp")]


def test_a_token_without_its_chain_fails(stamped: Path, keys: KeyFolder, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(stamped, copy)
    (copy / CHAIN).unlink()
    result = verify_package(copy, public_key=keys.public_key())
    assert [(p.path, p.what) for p in result.problems] == [(TIMESTAMP, "timestamp")]


def test_an_unreachable_tsa_is_said_plainly() -> None:
    with pytest.raises(TimestampError, match="did not answer"):
        request_timestamp("http://127.0.0.1:9/tsa", b"x" * 64, timeout=2)
    with pytest.raises(TimestampError, match="http"):
        request_timestamp("file:///etc/passwd", b"x" * 64)


@pytest.mark.parametrize("trust", ["chain", "ca"])
def test_what_the_token_proves_cannot_change_unseen(
    stamped: Path, tsa: LocalTsa, trust: str
) -> None:
    """Every byte of what the token attests — the imprint of the signature, the time — and of
    the TSA's signature over it, flipped in turn, makes it fail. (Bytes the signature does not
    cover and that change nothing it proves, like a version number, are the verifier's to
    tolerate.)"""
    import base64
    import hashlib
    import json

    from qalqan.evidence.timestamp import check_timestamp

    token = (stamped / TIMESTAMP).read_bytes()
    signature = base64.b64decode(json.loads((stamped / "manifest.sig").read_text())["signature"])
    trusted = load_certificates(
        (tsa.chain_pem if trust == "chain" else tsa.ca_pem).read_bytes(), trust
    )
    stamp = check_timestamp(token, signature, trusted, TIMESTAMP)
    imprint = token.index(hashlib.sha256(signature).digest())
    when = token.index(stamp.time.strftime("%Y%m%d%H%M%S").encode())
    positions = [
        *range(imprint, imprint + 32),
        *range(when, when + 15),
        *range(len(token) - 64, len(token)),
    ]
    unseen = []
    for at in positions:
        changed = bytearray(token)
        changed[at] ^= 0x01
        try:
            check_timestamp(bytes(changed), signature, trusted, TIMESTAMP)
        except TimestampError:
            continue
        unseen.append(at)
    assert unseen == [], unseen


def test_an_export_whose_tsa_fails_leaves_no_package_and_no_audit_entry(
    world: CaseWorld, keys: KeyFolder, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from qalqan.cases.models import AuditEntry

    with world.store.transaction() as session:
        before = session.scalar(select(func.count()).where(AuditEntry.action == "export_evidence"))
    with pytest.raises(TimestampError), world.store.transaction() as session:
        export_case(
            session, world.people.prosecutor, world.case_id, tmp_path / "half",
            key=keys.private_key(), tsa_url="http://127.0.0.1:9/tsa",
        )  # fmt: skip
    assert not (tmp_path / "half").exists()
    with world.store.transaction() as session:
        after = session.scalar(select(func.count()).where(AuditEntry.action == "export_evidence"))
    assert after == before


@pytest.mark.parametrize("name", [TIMESTAMP, CHAIN])
def test_a_huge_token_or_chain_is_not_read_whole(
    stamped: Path, keys: KeyFolder, tmp_path: Path, name: str
) -> None:
    import time

    copy = tmp_path / "copy"
    shutil.copytree(stamped, copy)
    with (copy / name).open("ab") as f:
        f.truncate(20 * 1024**3)  # sparse 20 GB
    started = time.perf_counter()
    result = verify_package(copy, public_key=keys.public_key())
    assert time.perf_counter() - started < 5
    assert [(p.path, p.what) for p in result.problems] == [(name, "timestamp")]
    assert "larger than" in result.problems[0].detail
