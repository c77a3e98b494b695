"""What can go wrong with evidence packages, as one branch of Qalqan's exception tree.

    QalqanError                      (qalqan.errors)
     └── EvidenceError               an evidence package could not be made or read
          ├── KeyFolderError              no key, a key that cannot be read, a wrong passphrase
          ├── TimestampError              the time-stamping authority failed or answered wrongly
          └── PackageRefused              a package verify will not even read (too big,
                                          a name leaving the folder, a symlink, bad manifest)

A package that is read but does not verify is not an error: :func:`verify_package`
returns a report naming every file changed, missing or added.
"""

from __future__ import annotations

from qalqan.errors import QalqanError

__all__ = ["EvidenceError", "KeyFolderError", "PackageRefused", "TimestampError"]


class EvidenceError(QalqanError):
    """Base of the evidence packages' errors."""


class KeyFolderError(EvidenceError):
    """The signing key cannot be made, found or read."""


class TimestampError(EvidenceError):
    """The time-stamping authority could not be reached or gave no usable token."""


class PackageRefused(EvidenceError):  # noqa: N818 (a verdict, said as one)
    """A package verify refuses to read, with the file and the reason."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: refused: {reason}")
        self.where = where
        self.reason = reason
