"""A package received as a zip (as the console sends it), opened for :func:`verify_package`.

The zip comes from outside, so it is opened with every cost bounded before a
byte is written: at most :data:`MAX_ENTRIES` entries; every name a plain
relative path under at most one top folder (no ``..``, no absolute path, no
backslash); no symbolic links; at most ``max_bytes`` in all once unpacked and
no entry unpacking to more than :data:`MAX_RATIO` times its compressed size
(a zip bomb stops at its first entry); the bytes actually unpacked are counted,
not the sizes the zip claims.
"""

from __future__ import annotations

import stat
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from qalqan.evidence.errors import PackageRefused
from qalqan.evidence.manifest import (
    ENVELOPE,
    MAX_FILES,
    Problem,
    Verification,
    check_name,
    verify_package,
)

__all__ = ["MAX_ENTRIES", "MAX_RATIO", "MAX_UNPACKED_BYTES", "unpack_package", "verify_archive"]

MAX_ENTRIES: Final = MAX_FILES + len(ENVELOPE) + 64
MAX_UNPACKED_BYTES: Final = 4 * 1024**3
MAX_RATIO: Final = 200
_CHUNK: Final = 1024 * 1024


def _relative(name: str, top: str) -> str:
    inner = name[len(top) + 1 :] if top and name.startswith(top + "/") else name
    if inner in ENVELOPE:
        return inner
    try:
        check_name(inner)
    except PackageRefused as refused:
        raise PackageRefused(name, refused.reason) from None
    return inner


def _top_folder(names: list[str]) -> str:
    """The one folder every entry is under, or "" when the package's files are at the top."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        return tops.pop()
    return ""


def _copy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Unpack one entry, counting the bytes; returns what is left of the budget."""
    limit = min(budget, info.file_size, max(info.compress_size * MAX_RATIO, _CHUNK))
    written = 0
    with archive.open(info) as source, target.open("wb") as sink:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                why = (
                    "unpacks past the size allowed"
                    if written > budget
                    else f"unpacks to more than its stated size or {MAX_RATIO} times its compressed size"
                )
                raise PackageRefused(info.filename, why)
            sink.write(chunk)
    return budget - written


def unpack_package(zip_path: Path, into: Path, *, max_bytes: int = MAX_UNPACKED_BYTES) -> Path:
    """Unpack the zip into the empty folder ``into``; returns the package's folder in it."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageRefused(str(zip_path), f"not a zip ({exc})") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise PackageRefused(str(zip_path), f"more than {MAX_ENTRIES:,} entries")
        files = [e for e in entries if not e.is_dir()]
        top = _top_folder([e.filename for e in files])
        root = into / (top or "package")
        budget = max_bytes
        for info in files:
            if stat.S_ISLNK(info.external_attr >> 16):
                raise PackageRefused(info.filename, "is a symbolic link")
            relative = _relative(info.filename, top)
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                raise PackageRefused(info.filename, "is in the zip twice")
            budget = _copy(archive, info, target, budget)
    return root


def verify_archive(
    zip_path: Path,
    *,
    public_key: Ed25519PublicKey | None = None,
    tsa_certificates: tuple[x509.Certificate, ...] | None = None,
    max_bytes: int = MAX_UNPACKED_BYTES,
) -> Verification:
    """:func:`verify_package` of a zipped package, unpacked into a temporary folder first."""
    with tempfile.TemporaryDirectory(prefix="qalqan-verify-") as folder:
        try:
            root = unpack_package(zip_path, Path(folder), max_bytes=max_bytes)
        except PackageRefused as refused:
            return Verification(
                root=zip_path, problems=(Problem(refused.where, "refused", refused.reason),)
            )
        found = verify_package(root, public_key=public_key, tsa_certificates=tsa_certificates)
    return replace(found, root=zip_path)
