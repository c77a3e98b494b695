"""What reading a data set found: rows read, accepted and rejected per table, and why.

The reader fills one :class:`TableReport` per table while it streams; the
validator gathers them into a :class:`ValidationReport`, whose ``exit_code``
is what ``qalqan validate`` returns. Rejected rows are counted by the kind of
problem ("start_time is not a UTC time") so that an operator sees at a glance
which of the exporter's habits to fix; the first few are kept in full as
:class:`~qalqan.errors.RowError` with their file and line.

A bad value in an optional column does not reject its row: the cell is left
empty and counted as a warning (by kind of problem and by column), the first
few kept as :class:`FieldWarning` with their file and line. Warnings do not
change the exit code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from qalqan.errors import DataSetError, RowError

__all__ = ["FieldWarning", "FileProblem", "TableReport", "ValidationReport"]


@dataclass(frozen=True, slots=True)
class FileProblem:
    """Damage to a file as a whole (a truncated gzip stream), as opposed to one bad row.

    ``line`` is the last line that could be read in full.
    """

    file: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.problem}"


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldWarning:
    """A cell of an optional column left empty because its value broke the contract; the row
    was kept."""

    table: str
    file: str
    line: int
    column: str
    reason: str
    """What was wrong with the value: ``birth_year '1989.5' is not a whole number``."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason} (left empty; the row is kept)"


@dataclass(slots=True, kw_only=True)
class TableReport:
    """The outcome of reading one table; counts always satisfy read = accepted + rejected."""

    table: str
    files: list[Path] = field(default_factory=list)
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    blank_lines: int = 0
    """Lines without any value (empty, or only commas): skipped, and not counted as rows."""
    reasons: Counter[str] = field(default_factory=Counter)
    """Rows rejected, by kind of problem (a row with two problems counts under both)."""
    errors: list[RowError] = field(default_factory=list)
    """The first ``max_errors`` rejected rows, in file order."""
    max_errors: int = 20
    warnings: Counter[str] = field(default_factory=Counter)
    """Cells of optional columns left empty in accepted rows, by kind of problem."""
    cells_emptied: Counter[str] = field(default_factory=Counter)
    """Cells of optional columns left empty in accepted rows, by column."""
    warning_examples: list[FieldWarning] = field(default_factory=list)
    """The first ``max_errors`` warnings, in file order."""
    problems: list[FileProblem] = field(default_factory=list)
    skipped_checks: list[str] = field(default_factory=list)
    """Checks that could not run, e.g. references to a table the data set does not have."""
    failure: DataSetError | None = None
    """Why the table could not be read at all (validation goes on with the other tables)."""
    complete: bool = False
    """True once the whole file has been read."""

    @property
    def ok(self) -> bool:
        """Nothing rejected, no damage, and the table was read to the end."""
        return (
            self.failure is None and self.complete and not self.rows_rejected and not self.problems
        )

    def add_errors(self, errors: list[RowError]) -> None:
        room = self.max_errors - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])

    def add_warnings(self, warnings: list[FieldWarning]) -> None:
        room = self.max_errors - len(self.warning_examples)
        if room > 0:
            self.warning_examples.extend(warnings[:room])


@dataclass(slots=True, kw_only=True)
class ValidationReport:
    """Reports of every input table present in a data set, in reading order."""

    directory: Path
    tables: dict[str, TableReport] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    """Optional tables the data set does not have (not an error)."""

    @property
    def exit_code(self) -> int:
        """0 when every row of every table is valid (cells of optional columns left empty are
        warnings, not failures), 1 when rows were rejected or a file is damaged, 2 when a
        table could not be read at all."""
        reports = self.tables.values()
        if any(r.failure is not None for r in reports):
            return 2
        return 0 if all(r.ok for r in reports) else 1

    @property
    def rows_read(self) -> int:
        return sum(r.rows_read for r in self.tables.values())

    @property
    def rows_accepted(self) -> int:
        return sum(r.rows_accepted for r in self.tables.values())

    @property
    def rows_rejected(self) -> int:
        return sum(r.rows_rejected for r in self.tables.values())

    @property
    def cells_emptied(self) -> int:
        """Cells of optional columns left empty (with a warning) in rows that were kept."""
        return sum(r.cells_emptied.total() for r in self.tables.values())
