"""The signing key of evidence packages: an Ed25519 pair in a key folder.

    folder = KeyFolder.default()                 # $QALQAN_KEYS, else ~/.config/qalqan/keys
    folder.generate(passphrase=b"...")           # signing.key (mode 0600) + signing.pub.pem
    key = folder.private_key(passphrase=b"...")
    public_pem(key.public_key()), fingerprint(key.public_key())

The private key never leaves the folder: it is written with mode 0600 in a
folder of mode 0700, as PKCS#8 PEM, encrypted when a passphrase is given
(the CLI reads it from the environment variable the operator names, never from
the command line). The public key is what a partner needs: exported as PEM
with its **fingerprint**, ``SHA256:`` and the hex SHA-256 of the raw 32-byte
public key, which a prosecutor can read out over the phone to confirm.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from qalqan.evidence.errors import KeyFolderError

__all__ = [
    "KEYS_ENV",
    "PRIVATE_NAME",
    "PUBLIC_NAME",
    "KeyFolder",
    "fingerprint",
    "load_public_pem",
    "public_pem",
]

KEYS_ENV: Final = "QALQAN_KEYS"
"""Environment variable naming the key folder (``--keys`` wins over it)."""
PRIVATE_NAME: Final = "signing.key"
PUBLIC_NAME: Final = "signing.pub.pem"
MAX_KEY_BYTES: Final = 64 * 1024
"""A key file larger than this is not a key: refused before it is parsed."""


def public_pem(key: Ed25519PublicKey) -> bytes:
    """The public key as SubjectPublicKeyInfo PEM."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:`` and the hex SHA-256 of the raw public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def _read_small(path: Path, what: str) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise KeyFolderError(f"{path}: no {what} there") from None
    if size > MAX_KEY_BYTES:
        raise KeyFolderError(f"{path}: {size:,} bytes is too large for a {what}")
    return path.read_bytes()


def load_public_pem(data: bytes, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM, or :class:`KeyFolderError` naming ``where``."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFolderError(f"{where}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFolderError(f"{where}: not an Ed25519 public key")
    return key


@dataclass(frozen=True, slots=True)
class KeyFolder:
    """The folder holding one signing key pair."""

    path: Path

    @classmethod
    def default(cls, given: Path | None = None) -> KeyFolder:
        """``given``, else ``$QALQAN_KEYS``, else ``$XDG_CONFIG_HOME/qalqan/keys``
        (``~/.config/qalqan/keys``)."""
        if given is not None:
            return cls(given)
        if os.environ.get(KEYS_ENV):
            return cls(Path(os.environ[KEYS_ENV]))
        config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return cls(Path(config) / "qalqan" / "keys")

    @property
    def private_path(self) -> Path:
        return self.path / PRIVATE_NAME

    @property
    def public_path(self) -> Path:
        return self.path / PUBLIC_NAME

    def exists(self) -> bool:
        return self.private_path.exists()

    def generate(
        self, *, passphrase: bytes | None = None, replace: bool = False
    ) -> Ed25519PublicKey:
        """Make a new pair; refuses to overwrite one unless ``replace``. Returns the public key."""
        if self.exists() and not replace:
            raise KeyFolderError(
                f"{self.private_path}: a signing key is already there (give --replace to make a "
                "new one; packages signed with the old key then verify only with the old public key)"
            )
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        key = Ed25519PrivateKey.generate()
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        temporary = self.private_path.with_suffix(".tmp")
        temporary.unlink(missing_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.replace(temporary, self.private_path)
        self.public_path.write_bytes(public_pem(key.public_key()))
        return key.public_key()

    def private_key(self, *, passphrase: bytes | None = None) -> Ed25519PrivateKey:
        """The signing key; refuses a key file others may read."""
        data = _read_small(self.private_path, "signing key")
        mode = self.private_path.stat().st_mode & 0o777
        if mode & 0o077:
            raise KeyFolderError(
                f"{self.private_path}: mode {mode:04o} lets others read the signing key "
                "(chmod 600 it)"
            )
        try:
            key = serialization.load_pem_private_key(data, password=passphrase or None)
        except TypeError:
            raise KeyFolderError(
                f"{self.private_path}: the key is encrypted and no passphrase was given"
                if not passphrase
                else f"{self.private_path}: the key is not encrypted, yet a passphrase was given"
            ) from None
        except (ValueError, UnsupportedAlgorithm):
            raise KeyFolderError(
                f"{self.private_path}: wrong passphrase, or not a PEM private key"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFolderError(f"{self.private_path}: not an Ed25519 key")
        return key

    def public_key(self) -> Ed25519PublicKey:
        """The public half, read from its PEM (no passphrase needed)."""
        return load_public_pem(_read_small(self.public_path, "public key"), str(self.public_path))
