"""Making an evidence package of one case: collect, write, describe, list, sign, time-stamp, audit.

    with store.transaction() as session:
        made = export_case(session, actor, case_id, out, key=folder.private_key())

The package is written into a folder that must not exist yet (or be empty),
file by file in this order: the data files (``data/*.csv``, ``data/case.json``),
the reports (``report/report.{ru,en}.{html,pdf}``), the CASE/UCO description of
them all, the signer's public key, then ``manifest.json`` listing every one of
those with its SHA-256 and size, ``manifest.sig`` over the manifest, and — when
a TSA is given — ``timestamp.tsr`` over the signature with ``tsa-chain.pem``.
Last, the export is written to the case store's audit log (who, when, which
case, the manifest's SHA-256, the signer), in the caller's transaction.

**Who may export.** A package holds every personal detail of the case, so it
is made only by the roles the permission table lets ``export_evidence``
(:data:`EXPORT_ROLES`: a prosecutor, a supervisor) or by ``SYSTEM`` (the command
line of whoever runs the machine); anyone else is refused with
:class:`~qalqan.cases.errors.PermissionDenied`, which the store writes to the
audit log as a refused attempt.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from qalqan import __version__
from qalqan.cases import audit
from qalqan.cases.clock import clock_of
from qalqan.cases.roles import SYSTEM, Actor, Permission, Role, authorize, may
from qalqan.evidence.collect import CaseEvidence, Table, collect_case
from qalqan.evidence.errors import EvidenceError
from qalqan.evidence.keys import fingerprint, public_pem
from qalqan.evidence.manifest import (
    CHAIN,
    SIGNER,
    TIMESTAMP,
    file_entry,
    sign_manifest,
    write_manifest,
)
from qalqan.evidence.report import LANGUAGES, ReportInfo, write_html, write_pdf
from qalqan.evidence.timestamp import certificates_pem, request_timestamp
from qalqan.evidence.uco import describe_package, write_description

__all__ = [
    "EXPORT_ACTION",
    "EXPORT_ROLES",
    "Exported",
    "authorize_export",
    "export_case",
    "may_export",
]

EXPORT_ROLES: Final = frozenset(r for r in Role if may(r, Permission.EXPORT_EVIDENCE))
"""The roles the permission table lets export (a prosecutor, a supervisor)."""
EXPORT_ACTION: Final = Permission.EXPORT_EVIDENCE.value
UCO_NAME: Final = "case-uco.jsonld"


@dataclass(frozen=True, slots=True, kw_only=True)
class Exported:
    """What was made."""

    root: Path
    case_id: int
    files: int
    manifest_sha256: str
    signer: str
    timestamp: str
    """The TSA's time, or empty."""


def may_export(role: Role) -> bool:
    """May this role make evidence packages? (For showing the console's button.)"""
    return may(role, Permission.EXPORT_EVIDENCE)


def authorize_export(session: Session, actor: Actor, case_id: int) -> Actor:
    """The actor as they are now, if they may read the case and export it; refused otherwise
    (the refusal is audited). ``SYSTEM``, the command line, may."""
    if actor == SYSTEM:
        return actor
    target = f"case:{case_id}"
    current = authorize(session, actor, Permission.VIEW_CASE, target)
    return authorize(session, current, Permission.EXPORT_EVIDENCE, target)


def _write_table(root: Path, table: Table) -> str:
    relative = f"data/{table.name}.csv"
    with (root / relative).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows(table.rows)
    return relative


def _write_case(root: Path, evidence: CaseEvidence) -> str:
    relative = "data/case.json"
    body = {
        "case_id": evidence.case_id,
        "title": evidence.title,
        "status": evidence.status,
        "opened_at": evidence.opened_at.isoformat(),
        "opened_by": evidence.opened_by,
        "closed_at": evidence.closed_at.isoformat() if evidence.closed_at else None,
        "close_reason": evidence.close_reason,
        "findings": list(evidence.findings),
        "tables": {
            t.name: {"file": f"data/{t.name}.csv", "rows": len(t.rows)} for t in evidence.tables()
        },
        "left_out": list(evidence.remarks),
    }
    (root / relative).write_text(
        json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    return relative


def _fresh_folder(out: Path) -> None:
    if out.is_symlink() or (out.exists() and (not out.is_dir() or any(out.iterdir()))):
        raise EvidenceError(f"{out}: not an empty folder; a package is written into a new one")
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "report").mkdir(exist_ok=True)


def _write_files(out: Path, evidence: CaseEvidence, info: ReportInfo) -> list[str]:
    written = [_write_table(out, t) for t in evidence.tables()] + [_write_case(out, evidence)]
    for language in LANGUAGES:
        write_html(out / f"report/report.{language}.html", evidence, info, language)
        write_pdf(out / f"report/report.{language}.pdf", evidence, info, language)
        written += [f"report/report.{language}.html", f"report/report.{language}.pdf"]
    return written


def _write_package(
    out: Path,
    evidence: CaseEvidence,
    actor: Actor,
    key: Ed25519PrivateKey,
    now: datetime,
    tsa_url: str | None,
    tsa_chain: tuple[x509.Certificate, ...],
) -> tuple[bytes, str, int]:
    """Write, describe, list, sign and time-stamp; the manifest's bytes, the TSA's time and
    the number of files the manifest lists."""
    signer = fingerprint(key.public_key())
    written = _write_files(
        out, evidence, ReportInfo(made_at=now, made_by=actor.name, signer=signer)
    )
    digests = [(p, file_entry(out, p)["sha256"]) for p in written]
    write_description(
        out / UCO_NAME,
        describe_package(
            out, evidence, digests, made_at=now, made_by=actor.name, tool_version=__version__
        ),
    )
    (out / SIGNER).write_bytes(public_pem(key.public_key()))
    header = {"case": evidence.case_id, "made_at": now.isoformat(), "made_by": actor.name,
              "signer": signer, "tool": f"qalqan {__version__}"}  # fmt: skip
    manifest = write_manifest(out, header, [*written, UCO_NAME, SIGNER])
    signature = sign_manifest(out, manifest, key)
    when = ""
    if tsa_url is not None:
        stamp = request_timestamp(tsa_url, signature)
        (out / TIMESTAMP).write_bytes(stamp.response)
        (out / CHAIN).write_bytes(certificates_pem(tsa_chain or stamp.certificates))
        when = stamp.time.isoformat()
    return manifest, when, len(written) + 2


def export_case(
    session: Session,
    actor: Actor,
    case_id: int,
    out: Path,
    *,
    key: Ed25519PrivateKey,
    analysis: Path | None = None,
    tsa_url: str | None = None,
    tsa_chain: tuple[x509.Certificate, ...] = (),
) -> Exported:
    """Write case ``case_id``'s package into ``out`` and audit it (see the module's docstring)."""
    actor = authorize_export(session, actor, case_id)
    evidence = collect_case(session, case_id, analysis=analysis)
    now = clock_of(session)
    signer = fingerprint(key.public_key())
    _fresh_folder(out)
    try:
        manifest, when, files = _write_package(out, evidence, actor, key, now, tsa_url, tsa_chain)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # no half-made package left behind
        raise
    manifest_sha256 = hashlib.sha256(manifest).hexdigest()
    audit.append(
        session, actor, EXPORT_ACTION, f"case:{case_id}", at=now,
        details={"manifest_sha256": manifest_sha256, "files": files,
                 "signer": signer, "timestamp": when, "calls": len(evidence.calls.rows)},
    )  # fmt: skip
    return Exported(
        root=out, case_id=case_id, files=files, manifest_sha256=manifest_sha256,
        signer=signer, timestamp=when,
    )  # fmt: skip
