"""One exception tree for the whole of Qalqan.

    QalqanError
     ├── DataSetError            a data set cannot be read at all (exit code 2)
     │    ├── MissingTableError       a required table has no file
     │    ├── UnreadableFileError     a file cannot be opened, decoded or parsed
     │    └── MissingColumnError      a table lacks a column the contract requires
     ├── RowError                one row breaks the contract (collected, not raised, by the reader)
     ├── ConfigError             a setting, scenario or rules file is wrong
     ├── NumberError             a phone number cannot be normalised to E.164
     ├── SipError                (qalqan.sip.message) SIP framing and parsing: SipParseError
     ├── ApiError                (qalqan.api.errors) HTTP errors in one JSON shape
     └── CaseStoreError          (qalqan.cases.errors) the case store: PermissionDenied, ...

Errors carry their context (table, file, line) and print as one line an
operator can act on. The CLI turns them into messages and exit codes; nothing
below the CLI prints. The data-set errors pickle whole (a process that stages
tables beside the analysis hands them back as they were raised).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ConfigError",
    "DataSetError",
    "MissingColumnError",
    "MissingTableError",
    "NumberError",
    "QalqanError",
    "RowError",
    "UnreadableFileError",
]


class QalqanError(Exception):
    """Base of every error Qalqan raises on purpose."""


class DataSetError(QalqanError):
    """The data set as a whole cannot be read."""


class MissingTableError(DataSetError):
    def __init__(self, table: str, directory: Path, *, required: bool = True) -> None:
        what = "required table" if required else "table"
        super().__init__(
            f"{directory}: {what} '{table}' is missing "
            f"(expected {table}.csv, {table}.csv.gz or {table}.parquet)"
        )
        self.table = table
        self.directory = directory
        self.required = required

    def __reduce__(self) -> tuple[Any, ...]:
        # an exception pickles by its args, here the message alone
        return (_missing_table, (self.table, self.directory, self.required))


def _missing_table(table: str, directory: Path, required: bool) -> MissingTableError:
    return MissingTableError(table, directory, required=required)


class UnreadableFileError(DataSetError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: cannot be read: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (UnreadableFileError, (self.path, self.reason))


class MissingColumnError(DataSetError):
    def __init__(self, path: Path, table: str, columns: list[str]) -> None:
        names = ", ".join(columns)
        plural = "s" if len(columns) > 1 else ""
        super().__init__(f"{path}: table '{table}' lacks required column{plural} {names}")
        self.path = path
        self.table = table
        self.columns = columns

    def __reduce__(self) -> tuple[Any, ...]:
        return (MissingColumnError, (self.path, self.table, self.columns))


@dataclass(frozen=True, slots=True)
class RowError(QalqanError):
    """One rejected row: where it is and why, in words an operator understands."""

    table: str
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.table}: {self.reason}"

    def __reduce__(self) -> tuple[type[RowError], tuple[str, str, int, str]]:
        # an exception pickles by its args, which a dataclass leaves empty
        return (RowError, (self.table, self.file, self.line, self.reason))


class ConfigError(QalqanError):
    """A setting, scenario or rules file is wrong; the message says where."""


class NumberError(QalqanError, ValueError):
    """A phone number cannot be read as a number of the numbering plan."""
