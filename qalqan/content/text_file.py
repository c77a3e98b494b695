"""A CSV file of texts to judge, read within bounds.

The file must be UTF-8 with a header naming the text column. A file larger than
:data:`MAX_FILE_BYTES`, with more than :data:`MAX_ROWS` rows or a field longer
than :data:`MAX_FIELD_CHARS` is refused with the file, the line and the reason,
before anything is judged.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from qalqan.content.schemes import TextInputError

__all__ = ["MAX_FIELD_CHARS", "MAX_FILE_BYTES", "MAX_ROWS", "TextRow", "read_texts"]

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ROWS = 20_000
MAX_FIELD_CHARS = 1_000_000


@dataclass(frozen=True, slots=True)
class TextRow:
    """One row's text, its line in the file and its id (the id column's value, or the line)."""

    line: int
    row_id: str
    text: str


def _decoded(path: Path, *, max_bytes: int) -> str:
    with path.open("rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise TextInputError(f"larger than {max_bytes:,} bytes", source=str(path))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TextInputError(
            f"not UTF-8 text (byte {exc.start})", source=str(path), line=line
        ) from None


def read_texts(
    path: Path, *, column: str, id_column: str | None = None, max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_FILE_BYTES,
) -> list[TextRow]:  # fmt: skip
    """The ``column`` of every row of the CSV file ``path``; refused past the limits."""
    text = _decoded(path, max_bytes=max_bytes)
    previous = csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        header = reader.fieldnames or []
        for wanted in (column, id_column):
            if wanted is not None and wanted not in header:
                raise TextInputError(f"no column {wanted!r} (columns: {', '.join(header) or 'none'})",
                                     source=str(path), line=1)  # fmt: skip
        rows: list[TextRow] = []
        for row in reader:
            if len(rows) == max_rows:
                raise TextInputError(f"more than {max_rows:,} rows: split the file", source=str(path),
                                     line=reader.line_num)  # fmt: skip
            line = reader.line_num
            row_id = row.get(id_column) if id_column else None
            rows.append(TextRow(line=line, row_id=row_id or str(line), text=row.get(column) or ""))
        return rows
    except csv.Error as exc:
        raise TextInputError(
            f"not a readable CSV file: {exc}", source=str(path), line=reader.line_num
        ) from None
    finally:
        csv.field_size_limit(previous)
