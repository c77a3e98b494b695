"""Where a table's rows come from: its file, streamed in chunks, every row with its exact line.

A table is one file in the data set's folder: ``NAME.csv``, ``NAME.csv.gz`` or
``NAME.parquet`` (:func:`find_table`). :func:`open_table_file` gives a source
whose :meth:`chunks` yield :class:`RawChunk` s: the rows exactly as the file
holds them (CSV cells as bytes, Parquet columns in their own types) and the
rows that could not even be split into the header's columns. Checking them
against the contract is the reader's job (:mod:`qalqan.exchange.reader`).

Line numbers are what an operator's text editor shows. In CSV, line 1 is the
header and a row's line is where it starts, so a quoted value spanning two
lines (a complaint text with a line break) moves every later row down by one.
A line ends with LF, CRLF or a lone CR, inside quotes as outside. In Parquet,
which has no lines, "line" is the row number counting from 1.

Reading runs in a background thread one or two chunks ahead of the caller, so
that Arrow parses the next chunk while the reader checks this one: on a
two-core machine that is most of the speed there is.
"""

from __future__ import annotations

import csv
import io
import queue
import re
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from qalqan.errors import UnreadableFileError
from qalqan.exchange.gzip_stream import SalvagingGzipReader
from qalqan.exchange.limits import DEFAULT_LIMITS, QUARANTINE_LINE_BYTES, ReadLimits
from qalqan.exchange.lines import CutLine, LongLineCutter
from qalqan.exchange.report import FileProblem

__all__ = [
    "SUFFIXES",
    "BrokenRow",
    "CsvFile",
    "ParquetFile",
    "RawChunk",
    "TableFile",
    "find_table",
    "open_table_file",
]

SUFFIXES = (".csv", ".csv.gz", ".parquet")
"""The file names a table may have, as ``NAME`` + suffix."""

CUT_OFF = "row is cut off where the gzip stream breaks off"

_SAMPLE = 1 << 20
"""Bytes read with the header to judge the number of rows in the file."""

_BLOCK_SIZE = 2 << 20
"""Bytes Arrow parses at a time (at least twice the line limit). Arrow reads up to 32 blocks
ahead, so this bounds the memory reading takes (and a single row may not be longer)."""

TOO_LONG = "line is too long"
NOT_UTF8 = "line is not UTF-8 text"
UNCLOSED = "quoted value is not closed within max_line_bytes"

_T = TypeVar("_T")


def find_table(directory: Path, name: str) -> Path | None:
    """The file holding table ``name`` in ``directory``, or None when there is none.

    Two files for one table (``cdrs.csv`` and ``cdrs.parquet``) are an error
    rather than a silent choice: they may well hold different data.
    """
    found = [directory / f"{name}{suffix}" for suffix in SUFFIXES]
    found = [path for path in found if path.is_file()]
    if len(found) > 1:
        names = " and ".join(path.name for path in found)
        raise UnreadableFileError(
            directory / name, f"table '{name}' is ambiguous: both {names} exist; keep one"
        )
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class BrokenRow:
    """A row that cannot be checked value by value: it does not split into the header's columns."""

    line: int
    fields: list[str]
    reason: str
    kind: str
    """The reason without the row's particulars, for counting."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RawChunk:
    values: pa.RecordBatch
    """Rows that split into the header's columns, in the file's column order; CSV cells as
    ``binary`` (``b""`` when empty), Parquet columns in their own types."""
    lines: npt.NDArray[np.int64]
    """The line of each row of ``values``."""
    broken: list[BrokenRow] = field(default_factory=list)
    bytes_done: int = 0
    """How far into the file reading has got (compressed bytes for gzip), for progress bars."""


class TableFile(Protocol):
    """One table's file, ready to stream."""

    path: Path
    names: list[str]
    """Column names in the file's order."""
    bytes_total: int
    problems: list[FileProblem]
    """Damage found while reading (filled as the chunks are read)."""
    blank_lines: int

    def chunks(self) -> Generator[RawChunk]: ...

    def expected_rows(self) -> int:
        """Rows the whole file probably holds (to size the lookups of ids up front)."""
        ...


def open_table_file(path: Path, *, chunk_rows: int, limits: ReadLimits | None = None) -> TableFile:
    """The source for ``path`` by its suffix; reads the header (CSV) or the schema (Parquet)."""
    if path.name.endswith(".parquet"):
        return ParquetFile(path, chunk_rows=chunk_rows)
    return CsvFile(path, chunk_rows=chunk_rows, limits=limits)


def _read_ahead(produce: Callable[[], Generator[_T]], *, depth: int = 2) -> Iterator[_T]:
    """Run ``produce`` in a thread, at most ``depth`` items ahead of the caller.

    Exceptions in the thread are raised in the caller; when the caller stops
    early, the thread is told to stop and is joined.
    """
    items: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, payload: object) -> bool:
        while not stop.is_set():
            try:
                items.put((kind, payload), timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def work() -> None:
        generator = produce()
        try:
            for item in generator:
                if not put("item", item):
                    return
            put("end", None)
        except BaseException as exc:  # handed to the caller, who raises it
            put("error", exc)
        finally:
            generator.close()

    thread = threading.Thread(target=work, name="qalqan-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, payload = items.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(payload, BaseException)
                raise payload
            yield cast(_T, payload)
    finally:
        stop.set()
        thread.join()


class _MeteredFile(io.RawIOBase):
    """A plain file that counts the bytes read from it, for the progress bar."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed in close()
        self.bytes_in = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        n = self._file.readinto(buffer)
        self.bytes_in += n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def _first_record_end(data: bytes) -> int | None:
    """Where the header record ends in ``data``: the first CR or LF outside quotes."""
    for end in re.finditer(rb"[\r\n]", data):
        if data.count(b'"', 0, end.start()) % 2 == 0:
            return end.start()
    return None


def _split_fields(text: str) -> list[str]:
    """The fields of one CSV record as Python's csv module splits them (quotes removed)."""
    fields: list[str] = []
    for record in csv.reader(io.StringIO(text, newline="")):
        fields.extend(record)
    return fields


def _bounds(column: pa.Array) -> npt.NDArray[np.int32]:
    """Where each value of a binary column starts and ends in its data buffer (no copy)."""
    offsets = column.buffers()[1]
    return np.frombuffer(offsets, dtype=np.int32, count=len(column) + 1, offset=column.offset * 4)


def _has_line_breaks(column: pa.Array) -> bool:
    """Whether any value of a binary column holds a CR or LF, looked up straight in its buffer."""
    data = column.buffers()[2]
    if data is None or len(column) == 0:
        return False
    bounds = _bounds(column)
    start, end = int(bounds[0]), int(bounds[-1])
    values = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
    # One reduction clears an ordinary column: no byte at or below CR, LF among them.
    if not len(values) or values.min() > 0x0D:
        return False
    return bool(np.any((values == 0x0A) | (values == 0x0D)))


def _line_breaks_in(values: pa.Array) -> npt.NDArray[np.int64]:
    """Line breaks in each value, as an editor counts them: LF, CRLF or a lone CR."""
    count = [
        np.asarray(pc.count_substring(values, pattern), dtype=np.int64)
        for pattern in ("\n", "\r", "\r\n")
    ]
    breaks: npt.NDArray[np.int64] = count[0] + count[1] - count[2]
    return breaks


def _line_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _value_lengths(column: pa.Array) -> npt.NDArray[np.int32]:
    return np.diff(_bounds(column))


@dataclass(slots=True)
class _Invalid:
    """A row Arrow could not split into the header's columns, as its handler saw it."""

    record: int
    """Arrow's record number: 1 is the header, a blank line counts as a record."""
    text: str
    fields: int


class _LineCounter:
    """Turns Arrow's record numbers into the physical lines an editor shows.

    Arrow numbers the rows it cannot split (record 1 is the header) but not the
    rows it returns, and it counts records, not lines. The rows of each batch
    fill the record numbers its broken rows leave free, in order; every
    record's line is its record number plus the line breaks inside the values
    of all earlier records.
    """

    def __init__(self, header_breaks: int) -> None:
        self.next_record = 2
        self.breaks_before = header_breaks
        self.pending: list[_Invalid] = []

    def place(
        self, batch: pa.RecordBatch, invalid: list[_Invalid]
    ) -> tuple[npt.NDArray[np.int64], list[tuple[int, _Invalid]]]:
        """Lines of the rows of ``batch`` and of the broken rows that come before its last row."""
        n = batch.num_rows
        self.pending.extend(invalid)
        records = np.array([row.record for row in self.pending], dtype=np.int64)
        # valid rows before each broken one; monotone, as both come in file order
        valid_before = records - self.next_record - np.arange(len(records), dtype=np.int64)
        k = int(np.searchsorted(valid_before, n, side="right"))
        index = np.arange(n, dtype=np.int64)
        valid_records = self.next_record + index + np.searchsorted(valid_before[:k], index, "right")
        span = n + k
        breaks = np.zeros(span, dtype=np.int64)
        multiline = [column for column in batch.columns if _has_line_breaks(column)]
        if multiline:
            per_row = sum(_line_breaks_in(column) for column in multiline)
            breaks[valid_records - self.next_record] = per_row
        for row, record in zip(self.pending[:k], records[:k], strict=True):
            breaks[record - self.next_record] = _line_breaks(row.text)
        covered = np.zeros(span, dtype=np.bool_)
        covered[valid_records - self.next_record] = True
        covered[records[:k] - self.next_record] = True
        if not covered.all():
            raise RuntimeError("CSV records could not be numbered: Arrow skipped a record")
        before = self.breaks_before + np.cumsum(breaks) - breaks
        lines = valid_records + before[valid_records - self.next_record]
        broken = [
            (int(record + before[record - self.next_record]), row)
            for row, record in zip(self.pending[:k], records[:k], strict=True)
        ]
        self.next_record += span
        self.breaks_before += int(breaks.sum())
        del self.pending[:k]
        return lines, broken


class CsvFile:
    """A CSV or CSV.gz table file; every cell is read as text and judged by the reader."""

    def __init__(
        self, path: Path, *, chunk_rows: int = 65_536, limits: ReadLimits | None = None
    ) -> None:
        self.path = path
        self.bytes_total = path.stat().st_size
        self.problems: list[FileProblem] = []
        self.blank_lines = 0
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self._chunk_rows = chunk_rows
        self._stream: _MeteredFile | SalvagingGzipReader | None = None
        self._cutter: LongLineCutter | None = None
        self._left_out = 0  # blank lines the cutter left out before the rows placed so far
        self.names, self._header_breaks = self._read_header()

    def _open(self) -> _MeteredFile | SalvagingGzipReader:
        if self.path.name.endswith(".gz"):
            return SalvagingGzipReader(
                open(self.path, "rb"),
                max_ratio=self.limits.max_gzip_ratio,
                max_bytes=self.limits.max_gzip_bytes,
            )
        return _MeteredFile(self.path)

    def _read_header(self) -> tuple[list[str], int]:
        """Column names, read before Arrow starts: Arrow needs every column's type up front.

        The first mebibyte or so is read along with the header: its line count
        tells how many rows the whole file probably holds (:meth:`expected_rows`).
        """
        with self._open() as stream:
            head = stream.read(_SAMPLE) or b""
            # A header longer than the sample is read on in doubling steps, up to the limit.
            limit = self.limits.max_line_bytes
            while (end := _first_record_end(head)) is None and len(head) <= limit:
                piece = stream.read(len(head))
                if not piece:
                    break
                head += piece
            if (end if end is not None else len(head)) > self.limits.max_line_bytes:
                raise UnreadableFileError(
                    self.path,
                    f"the header row is longer than {self.limits.max_line_bytes:,} bytes "
                    "(max_line_bytes)",
                )
            problem = stream.problem if isinstance(stream, SalvagingGzipReader) else None
            if isinstance(stream, SalvagingGzipReader) and stream.refused is not None:
                raise UnreadableFileError(self.path, stream.refused)
            content = self.bytes_total
            if isinstance(stream, SalvagingGzipReader) and stream.bytes_consumed:
                content = content * stream.bytes_out // stream.bytes_consumed
        sample = head
        if end is not None:
            head = head[:end]
        if not head.strip():
            raise UnreadableFileError(
                self.path, problem or "the file is empty: it has no header row"
            )
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UnreadableFileError(self.path, "the header row is not UTF-8 text") from None
        names = _split_fields(text)
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise UnreadableFileError(
                self.path, f"the header names column {', '.join(repeated)} more than once"
            )
        rows = max(_full_width_lines(sample, len(names)) - 1, 1)
        self._expected_rows = rows * content // max(len(sample), 1)
        return names, _line_breaks(text)

    def _bytes_in(self) -> int:
        return self._stream.bytes_in if self._stream is not None else 0

    def _batches(self) -> Generator[tuple[pa.RecordBatch, int, list[_Invalid], bool]]:
        """Arrow's batches, how far into the file each took the reading, the broken rows
        reported so far, and whether it is the last."""
        found: deque[_Invalid] = deque()

        def on_broken_row(row: pcsv.InvalidRow) -> str:
            if row.number is None:
                raise RuntimeError("Arrow did not number a broken CSV row")
            found.append(_Invalid(record=row.number, text=row.text, fields=row.actual_columns))
            return "skip"

        def take_found() -> list[_Invalid]:
            taken = []
            while found:
                taken.append(found.popleft())
            return taken

        limit = self.limits.max_line_bytes
        with (
            self._open() as stream,
            LongLineCutter(stream, limit=limit, fields=len(self.names)) as cutter,
        ):
            self._stream, self._cutter = stream, cutter
            reader = pcsv.open_csv(
                cutter,
                # Single-threaded parsing is what makes Arrow number broken rows; the
                # parallelism comes from reading ahead in a thread instead.
                read_options=pcsv.ReadOptions(
                    use_threads=False, block_size=max(_BLOCK_SIZE, 2 * limit)
                ),
                parse_options=pcsv.ParseOptions(
                    newlines_in_values=True,
                    ignore_empty_lines=False,  # blank lines keep their place in the count
                    invalid_row_handler=on_broken_row,
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types=dict.fromkeys(self.names, pa.binary()),
                    strings_can_be_null=False,
                ),
            )
            if reader.schema.names != self.names:
                raise UnreadableFileError(
                    self.path, "the header row could not be read consistently"
                )
            # One chunk is held back, so that the last can be told from the rest.
            chunks = self._gather(reader)
            previous = next(chunks, None)
            if previous is None:
                previous = pa.RecordBatch.from_pylist([], schema=reader.schema), 0
            for current in chunks:
                yield *previous, take_found(), False
                previous = current
            yield previous[0], self._bytes_in(), take_found(), True

    def _gather(self, reader: pcsv.CSVStreamingReader) -> Generator[tuple[pa.RecordBatch, int]]:
        """Arrow's small blocks gathered into chunks of about ``chunk_rows`` rows."""
        gathered: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            gathered.append(batch)
            rows += batch.num_rows
            if rows >= self._chunk_rows:
                yield pa.concat_batches(gathered), self._bytes_in()
                gathered, rows = [], 0
        if gathered:
            yield pa.concat_batches(gathered), self._bytes_in()

    def expected_rows(self) -> int:
        """Judged by the lines as wide as the header in the first mebibyte (a gzip file's size
        by its compression): blank lines and short junk do not count."""
        return self._expected_rows

    def _refused(self) -> str | None:
        stream = self._stream
        return stream.refused if isinstance(stream, SalvagingGzipReader) else None

    def _take_cut(self, up_to: int | None) -> list[CutLine]:
        """Lines cut out of the stream, up to line ``up_to`` (None: all), in file order."""
        cut = self._cutter.cut if self._cutter is not None else None
        taken: list[CutLine] = []
        while cut and (up_to is None or cut[0].line <= up_to):
            taken.append(cut.popleft())
        return taken

    def chunks(self) -> Generator[RawChunk]:
        counter = _LineCounter(self._header_breaks)
        last_line = 1
        try:
            for batch, bytes_done, invalid, last in _read_ahead(self._batches):
                if (refused := self._refused()) is not None:
                    raise UnreadableFileError(self.path, refused)
                lines, placed = counter.place(batch, invalid)
                lines, placed = self._true_lines(lines, placed, last=last)
                broken = [
                    BrokenRow(
                        line=line,
                        fields=_split_fields(row.text),
                        reason=_field_count_reason(row.fields, len(self.names)),
                        kind="row has the wrong number of fields",
                    )
                    for line, row in placed
                ]
                reached = max([last_line, *lines[-1:].tolist(), *(b.line for b in broken)])
                cut = self._take_cut(None if last else reached)
                if cut:
                    broken = sorted([*broken, *map(self._cut_row, cut)], key=lambda b: b.line)
                if last:
                    batch, lines, broken = self._end(batch, lines, broken)
                emptied = {c.line + k for c in cut for k in range(c.lines)}
                batch, lines = self._drop_blank_lines(batch, lines, emptied)
                if len(lines):
                    last_line = int(lines[-1])
                if broken:
                    last_line = max(last_line, broken[-1].line)
                yield RawChunk(values=batch, lines=lines, broken=broken, bytes_done=bytes_done)
        except (pa.ArrowException, OSError) as exc:
            raise UnreadableFileError(self.path, f"{exc} (near line {last_line + 1})") from exc

    def _true_lines(
        self, lines: npt.NDArray[np.int64], placed: list[tuple[int, _Invalid]], *, last: bool
    ) -> tuple[npt.NDArray[np.int64], list[tuple[int, _Invalid]]]:
        """Lines as the file numbers them: Arrow's count misses the blank lines left out."""
        runs = self._cutter.blank_runs if self._cutter is not None else None
        top = max([*lines[-1:].tolist(), *(line for line, _ in placed)], default=0)
        taken = []
        while runs and (last or runs[0][0] <= top):
            taken.append(runs.popleft())
        if not taken:
            if not self._left_out:
                return lines, placed
            shift = self._left_out
            return lines + shift, [(line + shift, row) for line, row in placed]
        at = np.array([after for after, _ in taken], dtype=np.int64)
        shifts = self._left_out + np.concatenate(
            [[0], np.cumsum([n for _, n in taken], dtype=np.int64)]
        )
        shifted = lines + shifts[np.searchsorted(at, lines, side="right")]
        moved = [
            (line + int(shifts[np.searchsorted(at, line, side="right")]), row)
            for line, row in placed
        ]
        self.blank_lines += int(shifts[-1]) - self._left_out
        self._left_out = int(shifts[-1])
        return shifted, moved

    def _end(
        self, batch: pa.RecordBatch, lines: npt.NDArray[np.int64], broken: list[BrokenRow]
    ) -> tuple[pa.RecordBatch, npt.NDArray[np.int64], list[BrokenRow]]:
        """At the end of the file: note damage, and reject a last row cut off by it."""
        stream = self._stream
        if not isinstance(stream, SalvagingGzipReader) or stream.problem is None:
            return batch, lines, broken
        self.problems.append(FileProblem(self.path.name, stream.lines_complete, stream.problem))
        if not stream.ends_mid_line:
            return batch, lines, broken
        last_valid = int(lines[-1]) if len(lines) else 0
        if broken and broken[-1].line > last_valid:
            row = broken[-1]
            broken[-1] = BrokenRow(row.line, row.fields, f"{row.reason}; {CUT_OFF}", kind=row.kind)
        elif len(lines):
            values = [column[-1].as_py().decode("utf-8", "replace") for column in batch.columns]
            broken.append(BrokenRow(last_valid, values, CUT_OFF, kind=CUT_OFF))
            batch, lines = batch.slice(0, batch.num_rows - 1), lines[:-1]
        return batch, lines, broken

    def _drop_blank_lines(
        self, batch: pa.RecordBatch, lines: npt.NDArray[np.int64], cut: set[int]
    ) -> tuple[pa.RecordBatch, npt.NDArray[np.int64]]:
        """Skip lines without a single value: Arrow reads a blank line as a row of empty cells.

        Lines emptied because they were too long (``cut``) are rows rejected
        already, not blank lines.
        """
        if batch.num_rows == 0:
            return batch, lines
        filled = sum(_value_lengths(column).astype(np.int64) for column in batch.columns)
        blank = np.asarray(filled) == 0
        if not blank.any():
            return batch, lines
        emptied = np.isin(lines[blank], list(cut)) if cut else np.zeros(0, dtype=np.bool_)
        self.blank_lines += int(blank.sum()) - int(emptied.sum())
        return batch.filter(pa.array(~blank)), lines[~blank]

    def _cut_row(self, cut: CutLine) -> BrokenRow:
        """A line the stream left out, as a rejected row: too long, or not UTF-8 text."""
        fields = _split_fields(cut.head.decode("utf-8", "replace"))
        if cut.not_utf8 is not None:
            byte = cut.head[cut.not_utf8] if cut.not_utf8 < len(cut.head) else None
            what = "" if byte is None else f"byte 0x{byte:02X} "
            return BrokenRow(
                line=cut.line,
                fields=fields,
                reason=f"{NOT_UTF8} ({what}at byte {cut.not_utf8 + 1})",
                kind=NOT_UTF8,
            )
        limit = self.limits.max_line_bytes
        if cut.quote is not None:
            closed = f"closed only past {limit:,} bytes" if cut.closed else "not closed"
            return BrokenRow(
                line=cut.line,
                fields=fields,
                reason=(
                    f"the quote at byte {cut.quote + 1} opens a value that is {closed} "
                    f"(max_line_bytes {limit:,}); this line is left out and the next is read "
                    "as a row of its own"
                ),
                kind=UNCLOSED,
            )
        return BrokenRow(
            line=cut.line,
            fields=fields,
            reason=(
                f"line is {cut.length:,} bytes long, more than {limit:,} (max_line_bytes); "
                f"the quarantine keeps its first {min(cut.length, QUARANTINE_LINE_BYTES):,} bytes"
            ),
            kind=TOO_LONG,
        )


def _full_width_lines(sample: bytes, fields: int) -> int:
    """Lines of ``sample`` with at least as many commas as a row of ``fields`` columns has."""
    values = np.frombuffer(sample, dtype=np.uint8)
    breaks = np.flatnonzero((values == 0x0A) | (values == 0x0D))
    commas = np.cumsum(values == 0x2C)[breaks] if len(breaks) else np.zeros(0, np.int64)
    per_line = np.diff(commas, prepend=0)
    return int((per_line >= fields - 1).sum())


def _field_count_reason(fields: int, expected: int) -> str:
    plural = "" if fields == 1 else "s"
    return f"row has {fields} field{plural}, the header has {expected}"


class ParquetFile:
    """A Parquet table file; columns come in their own types and the reader converts them."""

    def __init__(self, path: Path, *, chunk_rows: int = 65_536) -> None:
        self.path = path
        self.bytes_total = path.stat().st_size
        self.problems: list[FileProblem] = []
        self.blank_lines = 0
        self._chunk_rows = chunk_rows
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise UnreadableFileError(path, f"not a readable Parquet file ({exc})") from None
        self.schema: pa.Schema = self._file.schema_arrow
        self.names = list(self.schema.names)
        repeated = sorted({name for name in self.names if self.names.count(name) > 1})
        if repeated:
            raise UnreadableFileError(path, f"column {', '.join(repeated)} appears more than once")

    def _batches(self) -> Generator[pa.RecordBatch]:
        yield from self._file.iter_batches(batch_size=self._chunk_rows)

    def expected_rows(self) -> int:
        """Parquet says how many rows it holds."""
        rows: int = self._file.metadata.num_rows
        return rows

    def chunks(self) -> Generator[RawChunk]:
        total = max(self._file.metadata.num_rows, 1)
        done = 0
        try:
            for batch in _read_ahead(self._batches):
                lines = np.arange(done + 1, done + batch.num_rows + 1, dtype=np.int64)
                done += batch.num_rows
                yield RawChunk(
                    values=batch, lines=lines, bytes_done=self.bytes_total * done // total
                )
        except (pa.ArrowException, OSError) as exc:
            raise UnreadableFileError(self.path, f"{exc} (after row {done})") from exc
