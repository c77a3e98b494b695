"""What reading one table may cost at most, whatever its file holds.

A data set comes from outside, and a hostile or broken file must not turn
into unbounded work, memory or disk. :class:`ReadLimits` bounds each of them;
past a bound the reader either rejects the one row that broke it (a line
longer than :attr:`~ReadLimits.max_line_bytes`) or stops reading the table
with :class:`~qalqan.errors.UnreadableFileError`, naming the file, the line
reached and the limit, so that the command exits with code 2:

- more than :attr:`~ReadLimits.max_rejected_rows` rejected rows, or a
  quarantine file past :attr:`~ReadLimits.max_quarantine_bytes`: a file that
  is mostly junk is not worth copying into the quarantine;
- gzip content more than :attr:`~ReadLimits.max_gzip_ratio` times its
  compressed size, or past :attr:`~ReadLimits.max_gzip_bytes` in all: a
  decompression bomb.

Quarantined cells keep at most :data:`QUARANTINE_CELL_CHARS` characters, so a
rejected row costs the quarantine a bounded number of bytes, and nothing sized
from what a file merely claims (an estimate of its rows) is allocated beyond
:data:`MAX_RESERVED_IDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "DEFAULT_LIMITS",
    "GZIP_RATIO_FLOOR",
    "MAX_LINE_BYTES",
    "MAX_RESERVED_IDS",
    "QUARANTINE_CELL_CHARS",
    "QUARANTINE_LINE_BYTES",
    "ReadLimits",
]

QUARANTINE_CELL_CHARS: Final = 1_000
"""Characters of one cell kept in the quarantine; the reason notes the cell's whole length."""

QUARANTINE_LINE_BYTES: Final = 1_000
"""Bytes of an over-long line kept in the quarantine (split into its fields, as far as they go)."""

MAX_RESERVED_IDS: Final = 1 << 26
"""Ids the lookup of repeats makes room for up front at most (2 GiB); past it the table grows
as ids actually arrive. The estimate counts only lines as wide as the header, so a file that
only looks big (4 GB of newlines) reserves nothing for them."""

MAX_LINE_BYTES: Final = 64 << 20
"""The highest :attr:`ReadLimits.max_line_bytes`: Arrow parses blocks of twice the line limit,
and reads several blocks ahead."""

GZIP_RATIO_FLOOR: Final = 4 << 20
"""Content bytes before :attr:`ReadLimits.max_gzip_ratio` applies: a small file that
compresses extremely well (a column of one repeated value) is no bomb."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadLimits:
    """Bounds on reading one table file; the defaults suit a 100-million-row ``cdrs``."""

    max_rejected_rows: int = 1_000_000
    """Rejected rows per table before reading stops (exit code 2)."""
    max_quarantine_bytes: int = 1 << 30
    """Bytes of one table's quarantine file before reading stops (exit code 2)."""
    max_line_bytes: int = 1 << 20
    """Bytes of one line; a longer line is rejected as a row of its own, and the rest read."""
    max_gzip_ratio: int = 200
    """Content bytes per compressed byte of a ``.csv.gz`` before reading stops (exit code 2)."""
    max_gzip_bytes: int = 256 << 30
    """Content bytes of a ``.csv.gz`` in all before reading stops (exit code 2)."""

    def __post_init__(self) -> None:
        for name in ReadLimits.__slots__:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_line_bytes > MAX_LINE_BYTES:
            raise ValueError(f"max_line_bytes may be at most {MAX_LINE_BYTES:,}")


DEFAULT_LIMITS: Final = ReadLimits()
"""The limits a reader applies when it is given none."""
