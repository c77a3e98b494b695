"""Evidence packages: a case, signed and sealed, for prosecutors and partner police abroad.

A package is a folder (or its zip) that holds everything Qalqan knows about one
case — its calls, SIMs, IMEIs, cells, the farms' estimated location and track,
the campaigns' UTC offset and office hours, the money chain, the audit trail —
as CSV and JSON, a report in Russian and English (HTML and PDF), a CASE/UCO
JSON-LD description, and a manifest of every file's SHA-256, signed with the
exporter's Ed25519 key and optionally time-stamped by an RFC 3161 authority.
A partner checks it offline with the package and the public key alone.

- :mod:`qalqan.evidence.keys` — the signing key folder;
- :mod:`qalqan.evidence.collect` — what the case store says about a case;
- :mod:`qalqan.evidence.export` — writing, signing, time-stamping, auditing a package;
- :mod:`qalqan.evidence.manifest` — the manifest, its signature, :func:`verify_package`;
- :mod:`qalqan.evidence.report`, :mod:`qalqan.evidence.uco`, :mod:`qalqan.evidence.timestamp`.
"""

from __future__ import annotations

from qalqan.evidence.errors import EvidenceError, KeyFolderError, PackageRefused, TimestampError
from qalqan.evidence.export import EXPORT_ROLES, Exported, export_case, may_export
from qalqan.evidence.keys import KeyFolder, fingerprint
from qalqan.evidence.manifest import Problem, Verification, verify_package

__all__ = [
    "EXPORT_ROLES",
    "EvidenceError",
    "Exported",
    "KeyFolder",
    "KeyFolderError",
    "PackageRefused",
    "Problem",
    "TimestampError",
    "Verification",
    "export_case",
    "fingerprint",
    "may_export",
    "verify_package",
]
