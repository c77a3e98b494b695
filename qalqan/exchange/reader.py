"""Read exchange-v1 data sets: stream every table in chunks, check every row, keep the good ones.

    ds = DataSet.open(directory)                       # MissingTableError without cdrs
    report = ds.validate(quarantine_dir=directory / "quarantine")
    for batch in ds.read("cdrs", quarantine=directory / "quarantine"):
        ...                                            # accepted rows, canonical Arrow types
    cells = ds.read_all("cells")                       # small tables in one piece

A table is streamed, never held whole: a 100-million-row ``cdrs`` passes
through in chunks of about ``chunk_rows`` rows (:mod:`qalqan.exchange.sources`),
each checked column by column (:mod:`qalqan.exchange.checks`). A row that
breaks the contract is left out of the batches, written to the quarantine
with its file, line and reason (:mod:`qalqan.exchange.quarantine`), and
counted in the table's :class:`~qalqan.exchange.report.TableReport`; the rest
of the file is still read. Rows read always equal rows accepted plus rows
rejected. A bad value in an optional column (:attr:`Column.lenient
<qalqan.exchange.schema.Column.lenient>`: ``birth_year``, ``orig_country``, ...)
does not reject its row: the cell is left empty and counted as a warning.

Across a table, ids that must be unique are tracked by hash
(:mod:`qalqan.exchange.duplicates`): the first occurrence is kept, later ones
are rejected as repeats of its line. Across tables, a value that must be found
in another table (``cdrs.a_cell`` in ``cells.cell_id``) is checked when that
table is present; tables are read in :data:`~qalqan.exchange.schema.INPUT_TABLES`
order, which puts referenced tables first.

What reading may cost is bounded (:mod:`qalqan.exchange.limits`): a line
longer than the limit is rejected as a row of its own, quarantined cells are
cut to a bounded prefix, and past a limit of rejected rows, quarantine bytes
or gzip inflation the table stops with an
:class:`~qalqan.errors.UnreadableFileError` naming the file, the line and the
limit. Text never holds a control character other than tab and line breaks
(a NUL would stop PostgreSQL); such a cell rejects its row.

Two modes, as for any parser of operator data: :meth:`DataSet.validate` reads
everything and collects every problem, going on past a table it cannot read
(the linter); :meth:`DataSet.read` raises the first
:class:`~qalqan.errors.DataSetError` (the runtime).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, NoReturn, Self

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from qalqan.errors import (
    DataSetError,
    MissingColumnError,
    MissingTableError,
    RowError,
    UnreadableFileError,
)
from qalqan.exchange.checks import (
    ROW_RULES,
    Mask,
    Problem,
    check_column,
    control_characters,
    decode_text,
    describe_values,
    display,
    quoted,
)
from qalqan.exchange.duplicates import LookedUp, SeenIds, hash_ids
from qalqan.exchange.limits import (
    DEFAULT_LIMITS,
    MAX_RESERVED_IDS,
    QUARANTINE_CELL_CHARS,
    ReadLimits,
)
from qalqan.exchange.quarantine import QuarantineFile
from qalqan.exchange.report import FieldWarning, FileProblem, TableReport, ValidationReport
from qalqan.exchange.schema import INPUT_TABLES, OUTPUT_TABLES, TABLES, Column, Kind, Table
from qalqan.exchange.sources import (
    SUFFIXES,
    BrokenRow,
    ParquetFile,
    RawChunk,
    find_table,
    open_table_file,
)
from qalqan.exchange.types import TIME_TYPE, arrow_type, canonical_schema

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "DataSet",
    "FieldWarning",
    "FileProblem",
    "PartedTableReader",
    "Progress",
    "ReadLimits",
    "TableReader",
    "TableReport",
    "ValidationReport",
    "find_parts",
    "find_table",
    "read_file",
]

DEFAULT_CHUNK_ROWS: Final = 65_536

WORKERS: Final = min(4, os.cpu_count() or 1)
"""Threads that check the columns of a chunk side by side."""

Progress = Callable[[str, int, int, int], None]
"""Called after every chunk with (table, rows_done, bytes_done, bytes_total)."""

Keys = Mapping[tuple[str, str], pa.Array]
"""Accepted values of referenced columns, by (table, column): ``("cells", "cell_id")``."""

REFERENCED: Final[frozenset[tuple[str, str]]] = frozenset(
    column.references
    for table in TABLES.values()
    for column in table.columns
    if column.references is not None
)
"""Every (table, column) that some column of the contract must be found in."""


def _table_named(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(
            f"no table '{name}' in exchange v1 (tables: {', '.join(TABLES)})"
        ) from None


def _parquet_input(path: Path, column: Column | None, values: pa.Array) -> pa.Array:
    """A Parquet column as the checks take it: its canonical type if it has one, else text.

    Properly typed columns are taken as they are, after widening (int32 to
    int64) or moving to UTC microseconds; a timestamp without a time zone is
    read as UTC. Anything else is turned into text and checked as CSV text is,
    so an integer IMSI is fine and a float duration of 2.5 is rejected.
    """
    kind = None if column is None else column.kind
    kinds = pa.types
    if kinds.is_dictionary(values.type):
        values = values.dictionary_decode()
    if kinds.is_large_string(values.type) or kinds.is_string_view(values.type):
        values = pc.cast(values, pa.string())
    if column is None:
        return values  # an extra column, kept in its own type
    if kinds.is_timestamp(values.type) and kind is Kind.TIME:
        return pc.cast(values, TIME_TYPE, safe=False)
    if kinds.is_date(values.type) and kind is Kind.DATE:
        return pc.cast(values, pa.date32())
    if kinds.is_integer(values.type) and kind is Kind.INT:
        try:
            return pc.cast(values, pa.int64())
        except pa.ArrowInvalid:
            pass  # an unsigned value beyond int64: rejected as text below
    if kind is Kind.FLOAT and (
        kinds.is_integer(values.type)
        or kinds.is_floating(values.type)
        or kinds.is_decimal(values.type)
    ):
        return pc.cast(values, pa.float64())
    if values.type == pa.string():
        return pc.fill_null(values, "")  # checked as text, where "" is an empty cell
    if values.type == arrow_type(column):
        return values
    try:
        text = pc.cast(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise UnreadableFileError(
            path, f"column '{column.name}' holds {values.type}, which cannot be read as {kind}"
        ) from None
    return pc.fill_null(text, "")


def _describe_repeats(
    name: str, ids: pa.Array, first: npt.NDArray[np.int64]
) -> Callable[[npt.NDArray[np.intp]], pa.Array]:
    def describe(rows: npt.NDArray[np.intp]) -> pa.Array:
        lines = pa.array(first[rows]).cast(pa.string())
        shown = quoted(ids.take(pa.array(rows)))
        return pc.binary_join_element_wise(f"{name} ", shown, " repeats line ", lines, "")

    return describe


def _join_reasons(problems: list[Problem], rejected: npt.NDArray[np.intp]) -> pa.Array:
    """One reason string per rejected row: its problems in check order, joined by "; "."""
    slots = np.zeros(len(rejected) + 1, dtype=np.int64)
    owners: list[npt.NDArray[np.intp]] = []
    texts: list[pa.Array] = []
    for problem in problems:
        rows = np.flatnonzero(problem.rows)
        if not len(rows):
            continue
        owners.append(np.searchsorted(rejected, rows))
        texts.append(problem.describe(rows))
    owner = np.concatenate(owners)
    order = np.argsort(owner, kind="stable")
    np.add.at(slots, owner + 1, 1)
    reasons = pa.concat_arrays(texts).take(pa.array(order))
    lists = pa.ListArray.from_arrays(pa.array(np.cumsum(slots), pa.int32()), reasons)
    return pc.binary_join(lists, "; ")


@dataclass(frozen=True, slots=True)
class _ReadColumn:
    given: pa.Array
    """The cells as read, as text (CSV) or in the file's own type (Parquet), for the quarantine."""
    values: pa.Array
    """The cells in their canonical type, null where empty or broken."""
    problems: list[Problem]
    """What rejects rows."""
    warnings: list[Problem]
    """What left cells of an optional column empty (their rows are kept)."""


def _leave_empty(given: pa.Array, values: pa.Array, problems: list[Problem]) -> _ReadColumn:
    """An optional column's problems as warnings: the cells that have one are left empty."""
    if not problems:
        return _ReadColumn(given, values, [], [])
    broken = np.zeros(len(values), dtype=np.bool_)
    for problem in problems:
        broken |= problem.rows
    emptied = pc.if_else(pa.array(broken), pa.scalar(None, values.type), values)
    return _ReadColumn(given, emptied, [], problems)


class _BatchStream:
    """Accepted rows as an iterator of record batches that closes as a context manager.

    A subclass sets ``schema`` and ``_batches`` (the generator) and defines ``close``.
    """

    schema: pa.Schema
    _batches: Generator[pa.RecordBatch]

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self

    def __next__(self) -> pa.RecordBatch:
        return next(self._batches)

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def read_all(self) -> pa.Table:
        """Every accepted row in one table: for small tables only (cells, subscribers, registry)."""
        return pa.Table.from_batches(list(self), schema=self.schema)


class TableReader(_BatchStream):
    """The accepted rows of one table file, as an iterator of Arrow record batches.

    Batches have the table's canonical schema (the contract's columns, then the
    file's extra columns) and at most ``chunk_rows`` rows. :attr:`report` fills
    in as the file is read and is complete once the iterator is exhausted.
    Close it (or use it as a context manager) to stop early.
    """

    def __init__(
        self,
        path: Path | str,
        table: Table,
        *,
        quarantine: Path | str | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        keys: Keys | None = None,
        unavailable: Mapping[str, str] | None = None,
        progress: Progress | None = None,
        report: TableReport | None = None,
        on_complete: Callable[[dict[str, pa.Array]], None] | None = None,
        limits: ReadLimits | None = None,
        seen: dict[str, SeenIds] | None = None,
        part: str | None = None,
    ) -> None:
        """``seen`` and ``part`` are for one part of a table in a folder of parts: the ids
        seen in the parts before, and the part's name for its quarantine
        (``QUARANTINE/<table>/<part>.csv``)."""
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.path = Path(path)
        self.table = table
        self.report = report if report is not None else TableReport(table=table.name)
        self.report.files.append(self.path)
        self._chunk_rows = chunk_rows
        self._progress = progress
        self._on_complete = on_complete
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self._source = open_table_file(self.path, chunk_rows=chunk_rows, limits=self.limits)
        names = self._source.names
        missing = [name for name in table.required_names if name not in names]
        if missing:
            raise MissingColumnError(self.path, table.name, missing)
        known = set(table.names)
        self.extra = [name for name in names if name not in known]
        if isinstance(self._source, ParquetFile):
            for name in names:
                kind = self._source.schema.field(name).type
                if name in known and pa.types.is_nested(kind):
                    raise UnreadableFileError(
                        self.path, f"column '{name}' holds {kind}, not single values"
                    )
        self._keys_found: dict[str, list[pa.Array]] = {
            c: [] for t, c in REFERENCED if t == table.name and c in names
        }
        self._references = self._plan_references(keys or {}, unavailable or {})
        seen = seen if seen is not None else {}
        self._seen = {
            c.name: seen.setdefault(c.name, SeenIds())
            for c in table.columns
            if c.unique and c.name in names
        }
        self._hasher = duckdb.connect() if self._seen else None  # DuckDB hashes the ids
        # Arrow's kernels let go of the GIL: checking columns side by side uses every core.
        self._workers = ThreadPoolExecutor(WORKERS, "qalqan-check") if WORKERS > 1 else None
        self._quarantine = (
            None
            if quarantine is None
            else QuarantineFile(Path(quarantine), table.name, names)
            if part is None
            else QuarantineFile(Path(quarantine) / table.name, part, names)
        )
        self.report.complete = False
        self.schema = canonical_schema(table, self._extra_schema())
        self._batches = self._generate()

    def _plan_references(self, keys: Keys, unavailable: Mapping[str, str]) -> dict[str, pa.Array]:
        plan = {}
        for column in self.table.columns:
            if column.references is None or column.name not in self._source.names:
                continue
            target_table, target_column = column.references
            if column.references in keys:
                plan[column.name] = keys[column.references]
                continue
            why = unavailable.get(target_table, f"the data set has no {target_table} table")
            self.report.skipped_checks.append(
                f"{column.name} is not checked against {target_table}.{target_column}: {why}"
            )
        return plan

    def _extra_schema(self) -> pa.Schema:
        """Extra columns: text from CSV; from Parquet in their own type (dictionaries decoded)."""
        if not isinstance(self._source, ParquetFile):
            return pa.schema([pa.field(name, pa.string()) for name in self.extra])
        fields = []
        for name in self.extra:
            kind = self._source.schema.field(name).type
            if pa.types.is_dictionary(kind):
                kind = kind.value_type
            if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
                kind = pa.string()
            fields.append(pa.field(name, kind))
        return pa.schema(fields)

    # -- iteration ------------------------------------------------------------------------

    def close(self) -> None:
        """Stop reading (the report then stays incomplete) and close the quarantine file."""
        self._batches.close()
        self._release()

    def _release(self) -> None:
        """Let go of the file, the quarantine, the worker threads and DuckDB (idempotent)."""
        if self._quarantine is not None:
            self._quarantine.close()
        if self._hasher is not None:
            self._hasher.close()
            self._hasher = None
        if self._workers is not None:
            self._workers.shutdown()
            self._workers = None

    def _generate(self) -> Generator[pa.RecordBatch]:
        self._reserve_ids()
        chunks = self._source.chunks()
        try:
            for chunk in chunks:
                accepted = self._check(chunk)
                if self._progress is not None:
                    self._progress(
                        self.table.name,
                        self.report.rows_read,
                        chunk.bytes_done,
                        self._source.bytes_total,
                    )
                for start in range(0, accepted.num_rows, self._chunk_rows):
                    yield accepted.slice(start, self._chunk_rows)
            self._finish()
        finally:
            chunks.close()
            self._release()

    def _reserve_ids(self) -> None:
        """Size the tables of seen ids for the whole file at once, rather than regrow them."""
        if self._seen:
            expected = min(self._source.expected_rows(), MAX_RESERVED_IDS)
            for seen in self._seen.values():
                seen.reserve(expected)

    def _finish(self) -> None:
        report = self.report
        report.blank_lines += self._source.blank_lines
        for problem in self._source.problems:
            report.problems.append(problem)
            if self._quarantine is not None:
                self._quarantine.write(self._quarantine_rows(problem))
        report.complete = True
        if self._on_complete is not None:
            found = {
                name: pc.unique(
                    pa.chunked_array(parts, self.schema.field(name).type).combine_chunks()
                )
                for name, parts in self._keys_found.items()
            }
            self._on_complete(found)

    # -- checking one chunk --------------------------------------------------------------

    def _read_column(self, name: str, array: pa.Array) -> _ReadColumn:
        """One column of a chunk: decoded, converted and checked (runs in the worker threads)."""
        column = self.table.column(name) if name in self.table.names else None
        problems: list[Problem] = []
        if isinstance(self._source, ParquetFile):
            given, cell = array, _parquet_input(self.path, column, array)
        else:
            cell, undecodable = decode_text(name, array)
            given = cell
            if undecodable is not None:
                problems.append(undecodable)
        control = control_characters(name, cell)
        if control is not None:
            problems.append(control)
        if column is None:  # an extra column: kept, with empty cells as nulls
            if cell.type == pa.string():
                cell = pc.if_else(pc.equal(cell, ""), None, cell)
            return _ReadColumn(given, cell, problems, [])
        checked = check_column(column, cell)
        problems += checked.problems
        if column.lenient:
            return _leave_empty(given, checked.values, problems)
        return _ReadColumn(given, checked.values, problems, [])

    def _check(self, chunk: RawChunk) -> pa.RecordBatch:
        raw = chunk.values
        n = raw.num_rows
        names = raw.schema.names
        columns = (
            self._workers.map(self._read_column, names, raw.columns)
            if self._workers is not None
            else map(self._read_column, names, raw.columns)
        )
        problems: list[Problem] = []
        warnings: dict[str, list[Problem]] = {}
        given: dict[str, pa.Array] = {}  # the cells as read, as text for the quarantine
        values: dict[str, pa.Array] = {}
        for name, read in zip(names, columns, strict=True):
            given[name], values[name] = read.given, read.values
            problems += read.problems
            if read.warnings:
                warnings[name] = read.warnings
        for column in self.table.columns:
            if column.name not in values:  # an optional column the file does not have
                values[column.name] = pa.nulls(n, arrow_type(column))
        problems += self._check_references(values)
        for rule in () if self.table.output else ROW_RULES.get(self.table.name, ()):
            problems += rule(values)
        rejected = np.zeros(n, dtype=np.bool_)
        for problem in problems:
            rejected |= problem.rows
        hashes: dict[str, npt.NDArray[np.uint64]] = {}
        looked_up: dict[str, LookedUp] = {}
        for name, seen in self._seen.items():
            assert self._hasher is not None
            hashes[name] = hash_ids(values[name], self._hasher)
            looked_up[name] = seen.look_up(hashes[name])
            repeats = self._check_repeats(
                name, looked_up[name], values[name], hashes[name], chunk.lines, rejected
            )
            if repeats is not None:
                problems.append(repeats)
                rejected |= repeats.rows
        accepted = ~rejected
        self._remember(values, hashes, looked_up, chunk.lines, accepted)
        self._reject(chunk, problems, rejected, given)
        if warnings:
            self._warn(chunk, warnings, accepted)
        batch = pa.RecordBatch.from_arrays(
            [values[name] for name in self.schema.names], schema=self.schema
        )
        return batch if accepted.all() else batch.filter(pa.array(accepted))

    def _check_references(self, values: Mapping[str, pa.Array]) -> list[Problem]:
        problems = []
        for name, known in self._references.items():
            column = values[name]
            target = self.table.column(name).references
            assert target is not None
            unknown = pc.and_(pc.invert(pc.is_in(column, value_set=known)), pc.is_valid(column))
            mask = np.asarray(unknown.to_numpy(zero_copy_only=False), dtype=np.bool_)
            if mask.any():
                kind = f"{name} is not in {target[0]}"
                problems.append(
                    Problem(
                        kind, mask, describe_values(column, f"{name} {{}} is not in {target[0]}")
                    )
                )
        return problems

    def _check_repeats(
        self,
        name: str,
        looked_up: LookedUp,
        ids: pa.Array,
        hashes: npt.NDArray[np.uint64],
        lines: npt.NDArray[np.int64],
        rejected: Mask,
    ) -> Problem | None:
        """Rows whose id was accepted before, in an earlier chunk or higher up in this one."""
        present = np.asarray(ids.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
        first = looked_up.first_lines.copy()
        first[~present] = 0
        # Within the chunk, the first row with an id that passes every other check is kept
        # (a "keeper"); later keepers with its id, and rejected rows below it, repeat it.
        new = present & (first == 0)
        keepers = np.flatnonzero(new & ~rejected)
        others = np.flatnonzero(new & rejected)
        kept = np.sort(hashes[keepers])
        clash = bool((kept[1:] == kept[:-1]).any())
        if len(kept) and len(others):
            at = np.minimum(np.searchsorted(kept, hashes[others]), len(kept) - 1)
            clash = clash or bool((kept[at] == hashes[others]).any())
        if clash:
            by_hash = keepers[np.argsort(hashes[keepers], kind="stable")]
            ordered = hashes[by_hash]
            leads = np.concatenate([[True], ordered[1:] != ordered[:-1]])
            leaders = by_hash[leads]
            group = np.cumsum(leads) - 1
            first[by_hash[~leads]] = lines[leaders[group[~leads]]]
            lead_hashes = ordered[leads]
            at = np.minimum(np.searchsorted(lead_hashes, hashes[others]), len(lead_hashes) - 1)
            below = (lead_hashes[at] == hashes[others]) & (leaders[at] < others)
            first[others[below]] = lines[leaders[at[below]]]
        repeats = first > 0
        if not repeats.any():
            return None
        return Problem(
            f"{name} repeats an earlier row", repeats, _describe_repeats(name, ids, first)
        )

    def _remember(
        self,
        values: Mapping[str, pa.Array],
        hashes: Mapping[str, npt.NDArray[np.uint64]],
        looked_up: Mapping[str, LookedUp],
        lines: npt.NDArray[np.int64],
        accepted: Mask,
    ) -> None:
        """Note the accepted ids (for repeats) and keys (for other tables' references)."""
        for name, seen in self._seen.items():
            present = np.asarray(values[name].is_valid().to_numpy(zero_copy_only=False))
            keep = accepted & present
            seen.add(hashes[name][keep], lines[keep], looked_up=looked_up[name].of(keep))
        for name, parts in self._keys_found.items():
            parts.append(pc.unique(values[name].filter(pa.array(accepted))))

    def _warn(self, chunk: RawChunk, warnings: Mapping[str, list[Problem]], kept: Mask) -> None:
        """Count the optional cells left empty in the rows kept; note the first few in full.

        A rejected row is not counted here: the quarantine has it as it was read.
        Only the first rows of each kind are described, so that a file of a
        million bad cells costs a count, not a million reasons.
        """
        report = self.report
        room = report.max_errors - len(report.warning_examples)
        examples: list[FieldWarning] = []
        for name, problems in warnings.items():
            emptied = np.zeros(len(kept), dtype=np.bool_)
            for problem in problems:
                rows = problem.rows & kept
                count = int(rows.sum())
                if not count:
                    continue
                emptied |= rows
                report.warnings[problem.kind] += count
                if room > 0:
                    first = np.flatnonzero(rows)[:room]
                    reasons = problem.describe(first).to_pylist()
                    examples += [
                        FieldWarning(
                            table=self.table.name,
                            file=self.path.name,
                            line=int(line),
                            column=name,
                            reason=str(reason),
                        )
                        for line, reason in zip(chunk.lines[first], reasons, strict=True)
                    ]
            if emptied.any():
                report.cells_emptied[name] += int(emptied.sum())
        examples.sort(key=lambda warning: warning.line)
        report.add_warnings(examples)

    def _reject(
        self,
        chunk: RawChunk,
        problems: list[Problem],
        rejected: Mask,
        given: Mapping[str, pa.Array],
    ) -> None:
        report = self.report
        n = chunk.values.num_rows
        rows = np.flatnonzero(rejected)
        report.rows_read += n + len(chunk.broken)
        report.rows_accepted += n - len(rows)
        report.rows_rejected += len(rows) + len(chunk.broken)
        if not len(rows) and not chunk.broken:
            return
        for problem in problems:
            report.reasons[problem.kind] += int(problem.rows.sum())
        for broken in chunk.broken:
            report.reasons[broken.kind] += 1
        lines = np.concatenate([chunk.lines[rows], [b.line for b in chunk.broken]]).astype(np.int64)
        reasons = pa.concat_arrays(
            [
                _join_reasons(problems, rows) if len(rows) else pa.array([], pa.string()),
                pa.array([b.reason for b in chunk.broken], pa.string()),
            ]
        )
        cells = self._given_cells(given, rows, chunk.broken)
        order = np.argsort(lines, kind="stable")
        lines, reasons = lines[order], reasons.take(pa.array(order))
        cells = [column.take(pa.array(order)) for column in cells]
        cells, reasons = _cut_long_cells(self._source.names, cells, reasons)
        file = self.path.name
        if len(report.errors) < report.max_errors:
            head = reasons.slice(0, report.max_errors - len(report.errors)).to_pylist()
            report.add_errors(
                [
                    RowError(table=self.table.name, file=file, line=int(line), reason=str(reason))
                    for line, reason in zip(lines, head, strict=False)
                ]
            )
        written = len(lines)
        if self._quarantine is not None:
            written = self._quarantine.write(
                pa.RecordBatch.from_arrays(
                    [pa.array([file] * len(lines), pa.string()), pa.array(lines), reasons, *cells],
                    schema=self._quarantine.schema,
                ),
                max_bytes=self.limits.max_quarantine_bytes,
            )
            if self._quarantine.bytes > self.limits.max_quarantine_bytes:
                self._stop(
                    int(lines[written - 1]),
                    f"the quarantine {self._quarantine.path} has grown past "
                    f"{self.limits.max_quarantine_bytes:,} bytes (max_quarantine_bytes)",
                )
        if report.rows_rejected > self.limits.max_rejected_rows:
            self._stop(
                int(lines[-1]),
                f"{report.rows_rejected:,} rows rejected, more than "
                f"{self.limits.max_rejected_rows:,} (max_rejected_rows)",
            )

    def _stop(self, line: int, why: str) -> NoReturn:
        """Give up on the table at ``line``: a limit of :class:`ReadLimits` is reached."""
        kept = (
            ""
            if self._quarantine is None
            else f"; the rows rejected so far are in {self._quarantine.path}"
        )
        raise UnreadableFileError(self.path, f"reading stopped at line {line:,}: {why}{kept}")

    def _given_cells(
        self, given: Mapping[str, pa.Array], rows: npt.NDArray[np.intp], broken: list[BrokenRow]
    ) -> list[pa.Array]:
        """The rejected rows' cells as text, in the file's column order; broken rows last.

        A broken row's fields fill the columns from the left; surplus fields are
        kept, joined by commas, in the last column.
        """
        names = self._source.names
        width = len(names)
        spread: list[list[str | None]] = [[] for _ in names]
        for row in broken:
            fields = [*row.fields[: width - 1], ",".join(row.fields[width - 1 :])]
            fields += [""] * (width - len(fields))
            for i, value in enumerate(fields):
                spread[i].append(value if value else None)
        index = pa.array(rows)
        return [
            pa.concat_arrays([display(given[name].take(index)), pa.array(spread[i], pa.string())])
            for i, name in enumerate(names)
        ]

    def _quarantine_rows(self, problem: FileProblem) -> pa.RecordBatch:
        assert self._quarantine is not None
        arrays = [
            pa.array([problem.file], pa.string()),
            pa.array([problem.line], pa.int64()),
            pa.array([problem.problem], pa.string()),
        ]
        arrays += [pa.nulls(1, pa.string()) for _ in self._source.names]
        return pa.RecordBatch.from_arrays(arrays, schema=self._quarantine.schema)


def _cut_long_cells(
    names: list[str], cells: list[pa.Array], reasons: pa.Array
) -> tuple[list[pa.Array], pa.Array]:
    """Cells cut to :data:`QUARANTINE_CELL_CHARS` characters for the quarantine, each cut noted.

    The note goes with the row's reasons: "a_imei is cut to its first 1,000 of
    5,000,000 characters here".
    """
    notes: list[list[str]] = [[] for _ in range(len(reasons))]
    cut = []
    for name, column in zip(names, cells, strict=True):
        lengths = pc.fill_null(pc.utf8_length(column), 0)
        long = np.flatnonzero(np.asarray(lengths) > QUARANTINE_CELL_CHARS)
        if not len(long):
            cut.append(column)
            continue
        for row, length in zip(long, np.asarray(lengths)[long], strict=True):
            notes[row].append(
                f"{name} is cut to its first {QUARANTINE_CELL_CHARS:,} of {length:,} characters here"
            )
        short = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(column, 0, QUARANTINE_CELL_CHARS), "…", ""
        )
        cut.append(pc.if_else(pc.greater(lengths, QUARANTINE_CELL_CHARS), short, column))
    if not any(notes):
        return cells, reasons
    said = reasons.to_pylist()
    noted = [
        "; ".join([reason, *note]) if note else reason
        for reason, note in zip(said, notes, strict=True)
    ]
    return cut, pa.array(noted, pa.string())


def read_file(
    path: Path | str,
    table: Table | str,
    *,
    quarantine: Path | str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
    limits: ReadLimits | None = None,
) -> TableReader:
    """Read one table file outside a data set (an analysis output, a single export).

    References to other tables cannot be checked there and are noted as skipped.
    """
    spec = table if isinstance(table, Table) else _table_named(table)
    return TableReader(
        Path(path),
        spec,
        quarantine=quarantine,
        chunk_rows=chunk_rows,
        progress=progress,
        limits=limits,
    )


def find_parts(directory: Path, name: str) -> list[Path] | None:
    """The daily parts of table ``name`` kept as a folder (``cdrs/2026-03-02.csv``), in order.

    None when there is no such folder; a folder without parts, or two files for one
    part (``2026-03-02.csv`` and ``2026-03-02.parquet``), cannot be read.
    """
    folder = directory / name
    if not folder.is_dir():
        return None
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        suffix = next((x for x in SUFFIXES if path.name.endswith(x)), None)
        if suffix is None or not path.is_file():
            continue
        stem = path.name[: -len(suffix)]
        if stem in found:
            raise UnreadableFileError(
                path, f"part '{stem}' is ambiguous: both {found[stem].name} and {path.name} exist"
            )
        found[stem] = path
    if not found:
        raise UnreadableFileError(
            folder, f"table '{name}' is a folder with no part in it ({', '.join(SUFFIXES)})"
        )
    return [found[stem] for stem in sorted(found)]


def _part_name(path: Path) -> str:
    """``2026-03-02`` for ``cdrs/2026-03-02.csv.gz``."""
    suffix = next(x for x in SUFFIXES if path.name.endswith(x))
    return path.name[: -len(suffix)]


class PartedTableReader(_BatchStream):
    """The accepted rows of a table kept as a folder of parts, part after part, as one table.

    Every part has the table's header and the same columns. Ids that must be unique
    are unique across the parts: a repeat in a later part is rejected like a repeat
    in the same file. Problems name the part's file and line; each part's rejected
    rows go to a quarantine of its own (``QUARANTINE/<table>/<part>.csv``).
    """

    def __init__(
        self, parts: list[Path], open_part: Callable[[Path, dict[str, SeenIds]], TableReader]
    ) -> None:
        self.parts = parts
        self._open = open_part
        self._seen: dict[str, SeenIds] = {}
        self._current = open_part(parts[0], self._seen)
        self.table = self._current.table
        self.report = self._current.report
        self.schema = self._current.schema
        self._batches = self._generate()

    def _generate(self) -> Generator[pa.RecordBatch]:
        for i, path in enumerate(self.parts):
            if i:
                self._current = self._open(path, self._seen)
                if self._current.schema != self.schema:
                    self._current.close()
                    raise UnreadableFileError(
                        path,
                        f"its columns are not those of {self.parts[0].name}: "
                        "every part of a table has the same header",
                    )
            with self._current as reader:
                yield from reader

    def close(self) -> None:
        """Stop reading (the report then stays incomplete)."""
        self._batches.close()
        self._current.close()


class DataSet:
    """An operator's data set: a folder with one file per exchange-v1 table.

    Not safe to share between threads: reading one table may read the tables
    it refers to first.
    """

    def __init__(
        self, directory: Path, paths: Mapping[str, Path], *, limits: ReadLimits | None = None
    ) -> None:
        self.directory = directory
        self.paths: dict[str, Path] = dict(paths)
        """The file of every table present, by table name."""
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        """What reading each table may cost at most."""
        self._keys: dict[tuple[str, str], pa.Array] = {}
        self._unreadable: dict[str, str] = {}

    @classmethod
    def open(cls, directory: Path | str, *, limits: ReadLimits | None = None) -> DataSet:
        """Find the tables in ``directory``; raise when a required table has no file.

        A folder of Qalqan's outputs alone (``sims.csv``, ``decisions.csv``, ...,
        and no operator table) is a data set of its outputs: nothing is required.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise UnreadableFileError(directory, "there is no such folder")
        paths: dict[str, Path] = {}
        for name in (*INPUT_TABLES, "labels", *OUTPUT_TABLES):
            path = find_table(directory, name)
            if path is not None and (directory / name).is_dir():
                raise UnreadableFileError(
                    directory / name,
                    f"table '{name}' is ambiguous: both {path.name} and a folder of parts exist",
                )
            if path is None and name in INPUT_TABLES and find_parts(directory, name):
                path = directory / name
            if path is not None:
                paths[name] = path
        found = paths.keys() - {"accounts"}
        outputs_only = found <= OUTPUT_TABLES.keys() and bool(found)
        if outputs_only:
            # Among Qalqan's outputs, accounts.csv is the analysis's money trail, not the
            # operator's table of account holders.
            paths.pop("accounts", None)
        for table in INPUT_TABLES.values():
            if table.required and table.name not in paths and not outputs_only:
                raise MissingTableError(table.name, directory)
        return cls(directory, paths, limits=limits)

    def has(self, name: str) -> bool:
        _table_named(name)
        return name in self.paths

    def read(
        self,
        name: str,
        *,
        quarantine: Path | str | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        progress: Progress | None = None,
        report: TableReport | None = None,
        parts_from: str | None = None,
    ) -> TableReader | PartedTableReader:
        """Stream the accepted rows of table ``name``; rejected rows go to ``quarantine/NAME.csv``.

        ``parts_from`` reads only the parts named from it on (``2026-03-04``) of a table
        kept as a folder of parts; a table in one file is read whole.

        Raises :class:`~qalqan.errors.MissingTableError` for a table the data set
        does not have (see :meth:`has`, or :meth:`read_all`, which gives an empty
        table), and other :class:`~qalqan.errors.DataSetError` s when the file
        cannot be read.
        """
        table = _table_named(name)
        path = self.paths.get(name)
        if path is None:
            raise MissingTableError(name, self.directory, required=table.required)
        self._load_references(table)
        report = report if report is not None else TableReport(table=name)

        def open_file(
            file: Path, seen: dict[str, SeenIds] | None = None, part: str | None = None
        ) -> TableReader:
            return TableReader(
                file,
                table,
                quarantine=quarantine,
                chunk_rows=chunk_rows,
                keys=self._keys,
                unavailable=self._unreadable,
                progress=progress,
                report=report,
                on_complete=lambda found: self._store_keys(name, found, add=part is not None),
                limits=self.limits,
                seen=seen,
                part=part,
            )

        if not path.is_dir():
            return open_file(path)
        parts = find_parts(self.directory, name) or []
        if parts_from is not None:
            parts = [p for p in parts if _part_name(p) >= parts_from]
            if not parts:
                raise UnreadableFileError(path, f"table '{name}' has no part from {parts_from} on")
        return PartedTableReader(parts, lambda p, seen: open_file(p, seen, _part_name(p)))

    def read_all(self, name: str, *, quarantine: Path | str | None = None) -> pa.Table:
        """A whole table in memory (cells, subscribers, registry); empty when absent."""
        if name not in self.paths:
            return canonical_schema(_table_named(name)).empty_table()
        return self.read(name, quarantine=quarantine).read_all()

    def validate(
        self,
        *,
        quarantine_dir: Path | str | None = None,
        progress: Progress | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> ValidationReport:
        """Read every table present, collecting every problem rather than stopping.

        The operator's tables first (an absent one is listed as absent), then any
        of Qalqan's outputs in the folder.
        """
        report = ValidationReport(directory=self.directory)
        inputs = not self.paths.keys() <= OUTPUT_TABLES.keys()
        for name in (*INPUT_TABLES, *OUTPUT_TABLES):
            if name not in self.paths:
                if inputs and name in INPUT_TABLES:
                    report.absent.append(name)
                continue
            table_report = report.tables[name] = TableReport(table=name)
            try:
                with self.read(
                    name,
                    quarantine=quarantine_dir,
                    chunk_rows=chunk_rows,
                    progress=progress,
                    report=table_report,
                ) as reader:
                    for _ in reader:
                        pass
            except DataSetError as exc:
                table_report.failure = exc
                self._unreadable[name] = f"{self.paths[name].name} cannot be read"
        return report

    def _store_keys(self, table: str, found: Mapping[str, pa.Array], *, add: bool = False) -> None:
        """Keep a table's keys for the tables that refer to it; ``add`` joins a part's to the rest."""
        for column, values in found.items():
            before = self._keys.get((table, column))
            if add and before is not None:
                values = pc.unique(pa.concat_arrays([before, values]))
            self._keys[(table, column)] = values

    def _load_references(self, table: Table) -> None:
        """Read the tables that ``table`` refers to, for their keys, unless already known."""
        for column in table.columns:
            if column.references is None:
                continue
            target, _ = column.references
            if column.references in self._keys or target not in self.paths:
                continue
            if target in self._unreadable:
                continue
            with self.read(target) as reader:
                for _ in reader:
                    pass
