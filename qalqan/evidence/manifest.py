"""The package's manifest, its signature and its offline verification.

A package is a folder::

    manifest.json      every other file but the three below: path, SHA-256, size
    manifest.sig       the Ed25519 signature of manifest.json's bytes, with the signer's fingerprint
    timestamp.tsr      (optional) an RFC 3161 token over the SHA-256 of the signature
    tsa-chain.pem      (with the token) the TSA's certificates

:func:`verify_package` needs nothing but the folder and, to know *who* signed,
the signer's public key (the package's own ``signer.pub.pem`` proves only that
the package is intact since someone signed it). It reads what an outsider
wrote, so every cost is bounded before anything is parsed: the manifest's size
and number of files, the names (relative, no ``..``, no symlinks, nothing
outside the folder), the signature's and token's sizes. A problem with the
manifest itself refuses the package, saying why; a file changed, missing or
added is named in the report.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from qalqan.evidence.errors import KeyFolderError, PackageRefused, TimestampError
from qalqan.evidence.keys import fingerprint, load_public_pem
from qalqan.evidence.timestamp import (
    MAX_CHAIN_BYTES,
    MAX_RESPONSE_BYTES,
    check_timestamp,
    load_certificates,
)

__all__ = [
    "CHAIN",
    "ENVELOPE",
    "FORMAT",
    "MANIFEST",
    "MAX_FILES",
    "MAX_MANIFEST_BYTES",
    "SIGNATURE",
    "SIGNER",
    "TIMESTAMP",
    "Problem",
    "Verification",
    "check_name",
    "file_entry",
    "sign_manifest",
    "verify_package",
    "write_manifest",
]

FORMAT: Final = "qalqan-evidence/1"
MANIFEST: Final = "manifest.json"
SIGNATURE: Final = "manifest.sig"
SIGNER: Final = "signer.pub.pem"
"""The signer's public key, listed in the manifest like any data file."""
TIMESTAMP: Final = "timestamp.tsr"
CHAIN: Final = "tsa-chain.pem"
ENVELOPE: Final = frozenset({MANIFEST, SIGNATURE, TIMESTAMP, CHAIN})
"""The files the manifest cannot list: itself and what is made from it afterwards."""
MAX_MANIFEST_BYTES: Final = 8 * 1024 * 1024
MAX_SIGNATURE_BYTES: Final = 4096
MAX_FILES: Final = 10_000
MAX_PATH_CHARS: Final = 240
MAX_DEPTH: Final = 8
_SAFE_PART: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
_CHUNK: Final = 1024 * 1024


def _sha256(path: Path, limit: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        left = limit
        while left > 0 and (chunk := f.read(min(_CHUNK, left))):
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def file_entry(root: Path, relative: str) -> dict[str, Any]:
    """A manifest line for one written file."""
    path = root / relative
    size = path.stat().st_size
    return {"path": relative, "sha256": _sha256(path, size), "size": size}


def write_manifest(root: Path, header: dict[str, Any], paths: Sequence[str]) -> bytes:
    """Write manifest.json listing ``paths`` (sorted), return its bytes."""
    for p in paths:
        check_name(p)
    entries = [file_entry(root, p) for p in sorted(paths)]
    body = {"format": FORMAT, **header, "files": entries}
    data = (json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()
    (root / MANIFEST).write_bytes(data)
    return data


def sign_manifest(root: Path, manifest: bytes, key: Ed25519PrivateKey) -> bytes:
    """Write manifest.sig; return the raw signature (what a time stamp is asked for)."""
    signature = key.sign(manifest)
    envelope = {
        "algorithm": "Ed25519",
        "signed": MANIFEST,
        "signer": fingerprint(key.public_key()),
        "signature": base64.b64encode(signature).decode(),
    }
    (root / SIGNATURE).write_bytes((json.dumps(envelope, sort_keys=True) + "\n").encode())
    return signature


# -- verification -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a package: the file, and what."""

    path: str
    what: str
    """``changed``, ``missing``, ``added``, ``signature``, ``timestamp``, ``signer``, ``refused``."""
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.what}: {self.detail}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Verification:
    """What verifying a package found; intact only with no problem at all."""

    root: Path
    files: int = 0
    signer: str = ""
    """The fingerprint of the key the signature was checked with."""
    signer_given: bool = False
    """True when the key was given from outside the package (a real check of who signed)."""
    timestamp: str = ""
    """The TSA's time, when a token verified."""
    problems: tuple[Problem, ...] = field(default=())

    @property
    def intact(self) -> bool:
        return not self.problems


def check_name(name: str) -> PurePosixPath:
    """A manifest name: relative, forward slashes, plain parts; refused otherwise."""
    if not isinstance(name, str) or not name or len(name) > MAX_PATH_CHARS:
        raise PackageRefused(MANIFEST, f"file name {str(name)[:80]!r} is empty or too long")
    path = PurePosixPath(name)
    parts = name.split("/")
    if path.is_absolute() or ".." in parts or "\\" in name or len(parts) > MAX_DEPTH:
        raise PackageRefused(MANIFEST, f"file name {name!r} leaves the package folder")
    if not all(_SAFE_PART.match(p) for p in parts):
        raise PackageRefused(MANIFEST, f"file name {name!r} has a part that is not a plain name")
    if name in ENVELOPE:
        raise PackageRefused(MANIFEST, f"file name {name!r} is one the manifest cannot list")
    return path


def _entries(body: object) -> dict[str, tuple[str, int]]:
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise PackageRefused(MANIFEST, f"not a manifest of {FORMAT}")
    files = body.get("files")
    if not isinstance(files, list) or len(files) > MAX_FILES:
        raise PackageRefused(MANIFEST, f"'files' is not a list of at most {MAX_FILES:,} entries")
    entries: dict[str, tuple[str, int]] = {}
    for i, entry in enumerate(files, start=1):
        if not isinstance(entry, dict):
            raise PackageRefused(MANIFEST, f"file entry {i} is not an object")
        name, digest, size = entry.get("path"), entry.get("sha256"), entry.get("size")
        check_name(name)  # type: ignore[arg-type]
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise PackageRefused(MANIFEST, f"file entry {i} ({name}): sha256 is not 64 hex digits")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise PackageRefused(MANIFEST, f"file entry {i} ({name}): size is not a whole number")
        if name in entries:
            raise PackageRefused(MANIFEST, f"file entry {i}: {name} is listed twice")
        entries[str(name)] = (digest, size)
    return entries


def _read_manifest(root: Path) -> tuple[bytes, dict[str, tuple[str, int]]]:
    path = root / MANIFEST
    info = _lstat(root, MANIFEST)
    if info is None:
        raise PackageRefused(MANIFEST, "missing: not an evidence package")
    if info.st_size > MAX_MANIFEST_BYTES:
        raise PackageRefused(MANIFEST, f"{info.st_size:,} bytes, more than {MAX_MANIFEST_BYTES:,}")
    data = path.read_bytes()[: MAX_MANIFEST_BYTES + 1]
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PackageRefused(MANIFEST, f"not JSON ({exc})") from None
    return data, _entries(body)


def _lstat(root: Path, name: str) -> os.stat_result | None:
    """The file's own status; refuses a symlink on the way or at the end."""
    current = root
    for part in name.split("/"):
        current = current / part
        try:
            info = current.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(info.st_mode):
            raise PackageRefused(name, "is or passes through a symbolic link")
    return info


def _walk(root: Path) -> Iterator[str]:
    """Every file under ``root`` (relative, forward slashes); refuses symlinks and
    more than :data:`MAX_FILES` entries."""
    seen = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            seen += 1
            if seen > MAX_FILES + len(ENVELOPE):
                raise PackageRefused(str(root), f"more than {MAX_FILES:,} files")
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise PackageRefused(relative, "is a symbolic link")
            if not stat.S_ISDIR(mode):
                yield relative


def _check_files(root: Path, entries: dict[str, tuple[str, int]]) -> list[Problem]:
    problems = []
    for name, (digest, size) in sorted(entries.items()):
        info = _lstat(root, name)
        if info is None:
            problems.append(Problem(name, "missing", "listed in the manifest, not in the package"))
        elif not stat.S_ISREG(info.st_mode):
            problems.append(Problem(name, "changed", "not a regular file"))
        elif info.st_size != size:
            problems.append(
                Problem(name, "changed", f"{info.st_size:,} bytes, the manifest says {size:,}")
            )
        elif _sha256(root / name, size) != digest:
            problems.append(Problem(name, "changed", "its SHA-256 is not the manifest's"))
    for name in sorted(set(_walk(root)) - set(entries) - ENVELOPE):
        problems.append(Problem(name, "added", "in the package, not in the manifest"))
    return problems


def _signature(root: Path) -> tuple[str, bytes]:
    info = _lstat(root, SIGNATURE)
    if info is None:
        raise PackageRefused(SIGNATURE, "missing: the package is not signed")
    if info.st_size > MAX_SIGNATURE_BYTES:
        raise PackageRefused(SIGNATURE, f"{info.st_size:,} bytes is too large for a signature")
    try:
        body = json.loads((root / SIGNATURE).read_bytes().decode("utf-8"))
        if body["algorithm"] != "Ed25519" or body["signed"] != MANIFEST:
            raise ValueError("not an Ed25519 signature of manifest.json")
        raw = base64.b64decode(body["signature"], validate=True)
        signer = str(body["signer"])
    except (
        UnicodeDecodeError,
        ValueError,
        KeyError,
        TypeError,
        binascii.Error,
        RecursionError,
    ) as exc:
        raise PackageRefused(SIGNATURE, f"malformed ({exc})") from None
    return signer, raw


def _signer_key(
    root: Path, given: Ed25519PublicKey | None
) -> tuple[Ed25519PublicKey, list[Problem]]:
    info = _lstat(root, SIGNER)
    if info is None or info.st_size > MAX_SIGNATURE_BYTES:
        if given is None:
            raise PackageRefused(SIGNER, "missing or too large, and no public key was given")
        return given, [Problem(SIGNER, "signer", "missing or too large")]
    try:
        own = load_public_pem((root / SIGNER).read_bytes(), SIGNER)
    except KeyFolderError as exc:
        if given is None:
            raise PackageRefused(SIGNER, str(exc)) from None
        return given, [Problem(SIGNER, "signer", str(exc))]
    if given is not None and fingerprint(own) != fingerprint(given):
        return given, [
            Problem(
                SIGNER, "signer", f"{fingerprint(own)}, not the key given ({fingerprint(given)})"
            )
        ]
    return given or own, []


def _read_at_most(path: Path, limit: int) -> bytes:
    """The file's bytes, or one byte past ``limit`` (which the reader then refuses as too large)."""
    with path.open("rb") as f:
        return f.read(limit + 1)


def _check_timestamp(
    root: Path, signature: bytes, trusted: tuple[x509.Certificate, ...] | None
) -> tuple[str, list[Problem]]:
    token, chain = _lstat(root, TIMESTAMP), _lstat(root, CHAIN)
    if token is None:
        return "", (
            [] if chain is None else [Problem(CHAIN, "added", "a TSA chain without a token")]
        )
    try:
        if trusted is None:
            if chain is None:
                return "", [
                    Problem(TIMESTAMP, "timestamp", f"no {CHAIN} and no TSA certificate given")
                ]
            trusted = load_certificates(
                _read_at_most(root / CHAIN, MAX_CHAIN_BYTES), CHAIN, exact=True
            )
        token_bytes = _read_at_most(root / TIMESTAMP, MAX_RESPONSE_BYTES)
        stamp = check_timestamp(token_bytes, signature, trusted, TIMESTAMP)
    except TimestampError as exc:
        where = CHAIN if str(exc).startswith(CHAIN) else TIMESTAMP
        return "", [Problem(where, "timestamp", str(exc).removeprefix(f"{where}: "))]
    return stamp.time.isoformat(), []


def verify_package(
    root: Path,
    *,
    public_key: Ed25519PublicKey | None = None,
    tsa_certificates: tuple[x509.Certificate, ...] | None = None,
) -> Verification:
    """Check a package offline: every file against the manifest, nothing missing or added,
    the signature, and the time stamp when there is one. Refusals come back as a problem."""
    if not root.is_dir() or root.is_symlink():
        return Verification(root=root, problems=(Problem(str(root), "refused", "not a folder"),))
    try:
        manifest, entries = _read_manifest(root)
        problems = _check_files(root, entries)
        signer, raw = _signature(root)
        key, signer_problems = _signer_key(root, public_key)
    except PackageRefused as refused:
        return Verification(
            root=root, problems=(Problem(refused.where, "refused", refused.reason),)
        )
    problems += signer_problems
    if signer != fingerprint(key):
        problems.append(
            Problem(SIGNATURE, "signature", f"made by {signer}, not {fingerprint(key)}")
        )
    try:
        key.verify(raw, manifest)
    except InvalidSignature:
        problems.append(Problem(SIGNATURE, "signature", "does not match manifest.json and the key"))
    when, stamp_problems = _check_timestamp(root, raw, tsa_certificates)
    return Verification(
        root=root,
        files=len(entries),
        signer=fingerprint(key),
        signer_given=public_key is not None,
        timestamp=when,
        problems=tuple(problems + stamp_problems),
    )
