"""Check a chunk of a table against the contract, a whole column at a time.

A CDR file can hold a hundred million rows, so nothing here loops over rows
in Python: every check is one or a few Arrow or NumPy operations over a
column, and only the rows that fail have their reasons spelled out. Each
check returns the values in their canonical type (:mod:`qalqan.exchange.types`,
null where empty or broken) and a list of :class:`Problem` s.

A reason names the column, quotes the value and says what was expected, in
words an operator can act on::

    start_time '2026-13-01T00:00:00Z' is not a UTC time (ISO 8601 with Z, e.g. 2026-03-02T07:15:02Z)
    a_number '87011234567' is not an E.164 number (+ and 7 to 15 digits)

Syntax only: a well-formed number that no operator was ever allocated is not
rejected, because it is evidence (of a spoofed caller ID), not a broken row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from qalqan.domain.messages import parse_reasons
from qalqan.domain.numbers import E164_PATTERN
from qalqan.exchange.schema import ACCOUNT_PREFIXES, INGRESS_CLASSES, Column, Kind
from qalqan.exchange.types import TIME_TYPE, arrow_type
from qalqan.exchange.writer import to_csv_text_columns

__all__ = [
    "FEW_VALUES",
    "ROW_RULES",
    "CheckedColumn",
    "Mask",
    "Problem",
    "check_column",
    "control_characters",
    "decode_text",
    "describe_values",
    "display",
    "quoted",
]

Mask = npt.NDArray[np.bool_]
Rows = npt.NDArray[np.intp]

SHOWN_CHARACTERS: Final = 60
"""Longer values are shortened in reasons, so that one junk cell cannot flood a report."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One way some rows of a chunk break the contract."""

    kind: str
    """The problem without the row's particulars, counted in reports: ``missing b_number``."""
    rows: Mask
    """Which rows of the chunk have it."""
    describe: Callable[[Rows], pa.Array]
    """The reasons, one string per row, for the given (ascending) row positions."""


@dataclass(frozen=True, slots=True)
class CheckedColumn:
    values: pa.Array
    """The column in its canonical type; null where the cell is empty or broken."""
    problems: list[Problem]


def _mask(array: pa.Array | pa.ChunkedArray) -> Mask:
    """A boolean Arrow array as a NumPy mask; null counts as False."""
    if array.null_count:
        array = pc.fill_null(array, False)
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.bool_)


def display(values: pa.Array) -> pa.Array:
    """Values as an operator would write them: times as in CSV (ISO 8601 ``Z``), all as text."""
    if pa.types.is_string(values.type):
        return values
    if pa.types.is_timestamp(values.type):
        batch = pa.RecordBatch.from_arrays([values], names=["time"])
        return to_csv_text_columns(batch).column(0)
    return pc.cast(values, pa.string())


def quoted(values: pa.Array) -> pa.Array:
    """``'value'``, shortened with an ellipsis past :data:`SHOWN_CHARACTERS` characters."""
    text = pc.fill_null(display(values), "")
    long = pc.greater(pc.utf8_length(text), SHOWN_CHARACTERS)
    if _mask(long).any():
        short = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(text, 0, SHOWN_CHARACTERS), "…", ""
        )
        text = pc.if_else(long, short, text)
    return pc.binary_join_element_wise("'", text, "'", "")


def describe_values(
    values: pa.Array, template: str, *others: pa.Array
) -> Callable[[Rows], pa.Array]:
    """Reasons built from ``template`` with ``{}`` replaced by the quoted values of each row.

    ``template`` has one ``{}`` per array: ``values`` first, then ``others``.
    """
    pieces = template.split("{}")
    if len(pieces) != len(others) + 2:
        raise ValueError(f"template {template!r} needs {len(others) + 1} placeholders")

    def describe(rows: Rows) -> pa.Array:
        index = pa.array(rows)
        parts: list[pa.Array | str] = [pieces[0]]
        for array, piece in zip((values, *others), pieces[1:], strict=True):
            parts += [quoted(array.take(index)), piece]
        return pc.binary_join_element_wise(*parts, "")

    return describe


def _same_reason(reason: str) -> Callable[[Rows], pa.Array]:
    def describe(rows: Rows) -> pa.Array:
        return pa.array([reason] * len(rows), pa.string())

    return describe


def _ascii(raw: pa.Array) -> bool:
    """Whether a binary column holds only ASCII bytes (nulls aside)."""
    if not pa.types.is_binary(raw.type) or not len(raw):
        return False
    _, offsets, data = raw.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(raw) + 1, offset=raw.offset * 4)
    start, end = int(bounds[0]), int(bounds[-1])
    if data is None or end == start:
        return True
    values = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
    return bool(values.max() < 0x80)


def decode_text(name: str, raw: pa.Array) -> tuple[pa.Array, Problem | None]:
    """Bytes of a CSV cell as UTF-8 text; cells that are not UTF-8 become a problem of their own.

    Arrow validates a whole column at once and cannot say which cell failed, so
    only a chunk that fails is looked at cell by cell. A column of ASCII bytes
    alone (one reduction tells) is UTF-8 as it stands, and is taken as text
    without a copy or a validation.
    """
    if _ascii(raw):
        return raw.view(pa.string()), None
    try:
        return pc.cast(raw, pa.string()), None
    except pa.ArrowInvalid:
        pass
    cells = raw.to_pylist()
    bad = np.zeros(len(cells), dtype=np.bool_)
    text: list[str] = []
    for i, cell in enumerate(cells):
        try:
            text.append(cell.decode("utf-8"))
        except UnicodeDecodeError:
            bad[i] = True
            text.append(cell.decode("utf-8", "replace"))
    decoded = pa.array(text, pa.string())
    problem = Problem(
        f"{name} is not UTF-8 text",
        bad,
        describe_values(decoded, f"{name} {{}} is not UTF-8 text"),
    )
    return decoded, problem


_CONTROL: Final = np.zeros(256, dtype=np.bool_)
_CONTROL[:0x20] = True
_CONTROL[[0x09, 0x0A, 0x0D]] = False  # tab (a CSV cell may hold one) and line breaks (quoted)


def control_characters(name: str, cells: pa.Array) -> Problem | None:
    """Cells holding a C0 control character other than tab, LF and CR: NUL above all.

    No text field of the contract has a use for them, and a NUL stops
    PostgreSQL from storing the text at all. One pass over the column's bytes
    finds none in an ordinary column; only a column that has some is looked
    at cell by cell.
    """
    if not (pa.types.is_binary(cells.type) or pa.types.is_string(cells.type)):
        return None
    data = cells.buffers()[2]
    if data is None or len(cells) == 0:
        return None
    bounds = np.frombuffer(
        cells.buffers()[1], dtype=np.int32, count=len(cells) + 1, offset=cells.offset * 4
    )
    start = int(bounds[0])
    values = np.frombuffer(data, dtype=np.uint8, count=int(bounds[-1]) - start, offset=start)
    # A reduction, with no temporary array: the common case costs one pass.
    if not len(values) or values.min() >= 0x20:
        return None
    at = np.flatnonzero(_CONTROL[values]) + start
    if not len(at):
        return None
    owners = np.searchsorted(bounds, at, side="right") - 1
    rows, first = np.unique(owners, return_index=True)
    mask = np.zeros(len(cells), dtype=np.bool_)
    mask[rows] = True
    byte = np.asarray(values[at[first] - start], dtype=np.int64)
    offset = at[first] - bounds[rows]
    found = dict(zip(rows.tolist(), zip(byte.tolist(), offset.tolist(), strict=True), strict=True))

    def describe(described: Rows) -> pa.Array:
        reasons = []
        for row in described.tolist():
            code, position = found[row]
            what = "NUL" if code == 0 else "a control character"
            reasons.append(
                f"{name} holds {what} (U+{code:04X}) at byte {position + 1}, "
                "which text may not contain"
            )
        return pa.array(reasons, pa.string())

    return Problem(f"{name} holds a control character", mask, describe)


# --- text formats --------------------------------------------------------------------------

_CLASSES = "|".join(INGRESS_CLASSES)
_CLASS_LIST = ", ".join(INGRESS_CLASSES)

_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$"
_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_INT_PATTERN = r"^-?\d{1,18}(\.0*)?$"  # 18 digits always fit in int64
_EXACT_FRACTION = r"\.0*$"
"""What an exact float adds to a whole number (``1989.0``, ``1989.00``, ``1989.``): cut before the cast."""
_FLOAT_PATTERN = r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?$"

_PATTERNS: Final[dict[Kind, tuple[str, str]]] = {
    Kind.E164: (E164_PATTERN, "is not an E.164 number (+ and 7 to 15 digits)"),
    Kind.INGRESS: (
        rf"^({_CLASSES})(:.+)?$",
        f"is not CLASS or CLASS:ROUTE with CLASS one of {_CLASS_LIST}",
    ),
    Kind.POLICY: (
        rf"^(inbound_only|route:({_CLASSES})(:.+)?)$",
        f"is not inbound_only or route:CLASS:ROUTE with CLASS one of {_CLASS_LIST}",
    ),
    Kind.ACCOUNT: (
        r"^(bank:\S+|msisdn:\+[1-9][0-9]{6,14}|ewallet:\S+|crypto:\S+)$",
        "is not an account (bank:ID, msisdn:+E164, ewallet:ID or crypto:ADDRESS)",
    ),
    Kind.COUNTRY: (r"^[A-Z]{2}$", "is not a country code (ISO 3166 alpha-2, e.g. KZ)"),
    Kind.CURRENCY: (r"^[A-Z]{3}$", "is not a currency code (ISO 4217, e.g. KZT)"),
}

FEW_VALUES: Final = frozenset({Kind.ENUM, Kind.INGRESS, Kind.POLICY, Kind.COUNTRY, Kind.CURRENCY})
"""Kinds whose columns hold a handful of distinct values (routes, countries) in any size of file."""

_EXPECTED: Final[dict[Kind, str]] = {
    Kind.TIME: "is not a UTC time (ISO 8601 with Z, e.g. 2026-03-02T07:15:02Z)",
    Kind.DATE: "is not a date (YYYY-MM-DD, e.g. 2026-03-02)",
    Kind.INT: "is not a whole number",
    Kind.FLOAT: "is not a number",
}

_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_DATE_MARKS = ((4, "-"), (7, "-"))
_TIME_MARKS = (*_DATE_MARKS, (10, "T"), (13, ":"), (16, ":"))
_WHOLE_SECONDS = len("2026-03-02T07:15:02Z")
_NANOSECONDS = len("2026-03-02T07:15:02.123456789Z")
_MICROSECONDS = len("2026-03-02T07:15:02.123456Z")

Grid = npt.NDArray[np.uint8]
"""The bytes of n cells of equal width, as an (n, width) matrix."""


def _grid(text: pa.Array) -> Grid | None:
    """The cells as a byte matrix, without copying; None unless every cell is equally long."""
    _, offsets, data = text.buffers()
    n = len(text)
    if n == 0 or data is None:
        return None
    bounds = np.frombuffer(offsets, dtype=np.int32, count=n + 1, offset=text.offset * 4)
    width = int(bounds[1] - bounds[0])
    if width == 0 or not (np.diff(bounds) == width).all():
        return None
    grid: Grid = np.frombuffer(data, dtype=np.uint8, count=n * width, offset=int(bounds[0]))
    return grid.reshape(n, width)


def _marked(grid: Grid, marks: tuple[tuple[int, str], ...]) -> Mask:
    ok = np.ones(len(grid), dtype=np.bool_)
    for column, mark in marks:
        ok &= grid[:, column] == ord(mark)
    return ok


def _shape_of_times(text: pa.Array) -> Mask:
    """Which cells look like ``YYYY-MM-DDTHH:MM:SS[.fff]Z``, for Arrow's cast to read.

    Machine-written exports print every time in the same width; then checking
    the six marks at their places is enough, as the cast insists on digits in
    between. Cells of mixed widths go through the full regex.
    """
    grid = _grid(text)
    if grid is None or not (
        grid.shape[1] == _WHOLE_SECONDS or _WHOLE_SECONDS + 2 <= grid.shape[1] <= _NANOSECONDS
    ):
        return _mask(pc.match_substring_regex(text, _TIME_PATTERN))
    width = grid.shape[1]
    marks = (*_TIME_MARKS, (width - 1, "Z"))
    return _marked(grid, marks if width == _WHOLE_SECONDS else (*marks, (19, ".")))


def _shape_of_dates(text: pa.Array) -> Mask:
    grid = _grid(text)
    if grid is None or grid.shape[1] != len("2026-03-02"):
        return _mask(pc.match_substring_regex(text, _DATE_PATTERN))
    return _marked(grid, _DATE_MARKS)


def _head(text: pa.Array, width: int) -> npt.NDArray[np.int64]:
    """The first ``width`` characters of ASCII cells at least that long, as a digit matrix."""
    head = _grid(pc.utf8_slice_codeunits(text, 0, width))
    if head is None:
        return np.zeros((len(text), width), dtype=np.int64)
    return head.astype(np.int64) - ord("0")


def _number(digits: npt.NDArray[np.int64], start: int, width: int) -> npt.NDArray[np.int64]:
    value = np.zeros(len(digits), dtype=np.int64)
    for i in range(start, start + width):
        value = value * 10 + digits[:, i]
    return value


def _real_date(digits: npt.NDArray[np.int64]) -> Mask:
    """Whether ``YYYY-MM-DD`` digit rows name a day of the proleptic Gregorian calendar."""
    year, month, day = _number(digits, 0, 4), _number(digits, 5, 2), _number(digits, 8, 2)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    longest = _DAYS_IN_MONTH[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
    real: Mask = (month >= 1) & (month <= 12) & (day >= 1) & (day <= longest)
    return real


def _real_time(digits: npt.NDArray[np.int64]) -> Mask:
    """Whether ``YYYY-MM-DDTHH:MM:SS`` digit rows name a real instant."""
    hour, minute, second = _number(digits, 11, 2), _number(digits, 14, 2), _number(digits, 17, 2)
    real: Mask = _real_date(digits) & (hour < 24) & (minute < 60) & (second < 60)
    return real


def _cast_where(text: pa.Array, ok: Mask, to: pa.DataType) -> pa.Array:
    """``text`` cast to ``to`` where ``ok``, null elsewhere; raises if a cell cannot be cast."""
    return pc.cast(text if ok.all() else pc.if_else(pa.array(ok), text, None), to)


def _parse_time(text: pa.Array) -> tuple[pa.Array, Mask]:
    """UTC times from text: ISO 8601 with ``Z``, optional fraction of a second.

    Arrow's cast is strict (it rejects 2026-02-30 and 24:00:00) and fast, but
    all or nothing, and stops at microseconds. Only when it fails does the
    chunk take the slow road: the full regex for the shape, the digits for
    which days are real, nanoseconds cut down to microseconds, then the cast
    of what is left.
    """
    shaped = _shape_of_times(text)
    try:
        return _cast_where(text, shaped, TIME_TYPE), shaped
    except pa.ArrowInvalid:
        pass
    matches = _mask(pc.match_substring_regex(text, _TIME_PATTERN))
    placeholder = pc.if_else(pa.array(matches), text, "0000-01-01T00:00:00Z")
    real = matches & _real_time(_head(placeholder, 19))
    too_fine = pc.greater(pc.utf8_length(placeholder), _MICROSECONDS)
    if _mask(too_fine).any():
        micro = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(placeholder, 0, _MICROSECONDS - 1), "Z", ""
        )
        placeholder = pc.if_else(too_fine, micro, placeholder)
    return _cast_where(placeholder, real, TIME_TYPE), real


def _parse_date(text: pa.Array) -> tuple[pa.Array, Mask]:
    """Calendar dates ``YYYY-MM-DD``, by the same two roads as times."""
    shaped = _shape_of_dates(text)
    try:
        return _cast_where(text, shaped, pa.date32()), shaped
    except pa.ArrowInvalid:
        pass
    matches = _mask(pc.match_substring_regex(text, _DATE_PATTERN))
    placeholder = pc.if_else(pa.array(matches), text, "2000-01-01")
    real = matches & _real_date(_head(placeholder, 10))
    return _cast_where(placeholder, real, pa.date32()), real


def _parse_whole_numbers(text: pa.Array, empty: Mask) -> tuple[pa.Array, Mask]:
    """Whole numbers: ``-?`` and 1 to 18 ASCII digits (always within int64), or an exact float.

    An exact float is the same digits with a decimal point and only zeros after
    it (``1989.0``, ``1989.00``, ``1989.``), as pandas writes an integer column
    that has empty cells and spreadsheets write a number formatted with
    decimals: the text proves the value whole, so it is read as that integer.
    ``1989.5`` is not a whole number; nor is an exponent (``1.989e3``), which
    spreadsheets print for a value they have rounded to fit.

    Plain digits are told by a cheap character-class kernel; only a chunk with
    anything else in it (a minus sign, a decimal point, a typo) pays for the
    regex, and only one with a decimal point for cutting the zeros off, both
    over the whole column at once.
    """
    plain = _mask(pc.ascii_is_decimal(text)) & (_mask(pc.less_equal(pc.binary_length(text), 18)))
    if (plain | empty).all():
        return _parse_number(text, plain, pa.int64())
    matches = _mask(pc.match_substring_regex(text, _INT_PATTERN))
    if (matches & ~plain).any():
        text = pc.replace_substring_regex(text, _EXACT_FRACTION, "")
    return _parse_number(text, matches, pa.int64())


def _parse_number(text: pa.Array, matches: Mask, to: pa.DataType) -> tuple[pa.Array, Mask]:
    values = _cast_where(text, matches, to)
    if pa.types.is_floating(to):  # 1e999 matches the pattern but is no number
        finite = _mask(pc.is_finite(values))
        if not finite[matches].all():
            matches = matches & finite
            values = pc.if_else(pa.array(matches), values, None)
    return values, matches


def _matches(text: pa.Array, pattern: str, *, few_values: bool) -> Mask:
    """Which cells match ``pattern``; a column of few distinct values is matched value by value."""
    if not few_values:
        return _mask(pc.match_substring_regex(text, pattern))
    encoded = pc.dictionary_encode(text)
    return _mask(pc.take(pc.match_substring_regex(encoded.dictionary, pattern), encoded.indices))


def _cell_bytes(text: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """A string column's cells read off its buffers: where each cell starts and ends (from 0,
    one more than the cells) and the bytes they hold, without a copy; None when it cannot be
    read so (a null, no cells, another type), and a pattern must decide cell by cell."""
    if text.null_count or not len(text) or not pa.types.is_string(text.type):
        return None
    _, offsets, data = text.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(text) + 1, offset=text.offset * 4)
    start, end = int(bounds[0]), int(bounds[-1])
    if data is None or end == start:
        return bounds - start, np.zeros(0, dtype=np.uint8)
    return bounds - start, np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)


def _e164(text: pa.Array) -> Mask:
    """Which cells are E.164 numbers (``E164_PATTERN``): from their bytes when that is quick.

    The regex costs a call per cell, and there are two numbers a call. When
    every cell that is not empty starts with + and the column holds no other
    byte that is not a digit, the pattern comes down to each cell's length (8 to
    16) and its second byte (not 0), read off the bytes at once. Otherwise (a
    number without its +, a typo) the regex decides, over the whole chunk.
    """
    return _by_bytes(text, Kind.E164, _e164_bytes)


def _by_bytes(
    text: pa.Array, kind: Kind, decide: Callable[[pa.Array, np.ndarray, np.ndarray], Mask | None]
) -> Mask:
    """Which cells match ``kind``'s pattern: ``decide(text, bounds, values)`` on the cells'
    bytes (:func:`_cell_bytes`) where it can tell, else the regex over the whole chunk."""
    read = _cell_bytes(text)
    if read is not None:
        bounds, values = read
        if not len(values):  # every cell empty
            return np.zeros(len(text), dtype=np.bool_)
        ok = decide(text, bounds, values)
        if ok is not None:
            return ok
    return _matches(text, _PATTERNS[kind][0], few_values=False)


def _e164_bytes(text: pa.Array, bounds: np.ndarray, values: np.ndarray) -> Mask | None:
    lengths = np.diff(bounds)
    first = bounds[:-1]
    filled = first[lengths > 0]
    not_digits = np.count_nonzero(values - np.uint8(ord("0")) > 9)
    if not_digits != len(filled) or not (values[filled] == ord("+")).all():
        return None
    ok: Mask = (lengths >= 8) & (lengths <= 16)  # + and 7 to 15 digits
    rows = np.flatnonzero(ok)
    ok[rows] = values[first[rows] + 1] - np.uint8(ord("1")) < 9
    return ok


_ACCOUNT_TAILS: Final = ("bank:", "ewallet:", "crypto:")
"""The prefixes of accounts whose rest is any text without white space (``\\S+``)."""
_MSISDN: Final = "msisdn:"


def _account(text: pa.Array) -> Mask:
    """Which cells are accounts (the ``Kind.ACCOUNT`` pattern): by prefix when that is quick.

    The pattern's regex costs a call per cell, and there are two accounts a
    payment. When the column holds no byte at or below the space (no white
    space, which ``\\S`` excludes), the pattern comes down to a prefix test per
    kind: ``bank:``, ``ewallet:`` and ``crypto:`` with anything after them, and
    ``msisdn:`` with an E.164 number after it (:func:`_e164`, over those cells
    alone). Otherwise the regex decides, over the whole chunk.
    """
    return _by_bytes(text, Kind.ACCOUNT, _account_bytes)


def _account_bytes(text: pa.Array, bounds: np.ndarray, values: np.ndarray) -> Mask | None:
    if values.min() <= ord(" "):  # white space (or another control byte): the regex decides
        return None
    lengths = np.diff(bounds)
    ok = np.zeros(len(text), dtype=np.bool_)
    for prefix in _ACCOUNT_TAILS:
        ok |= _mask(pc.starts_with(text, prefix)) & (lengths > len(prefix))
    numbers = np.flatnonzero(_mask(pc.starts_with(text, _MSISDN)))
    if len(numbers):
        tails = pc.utf8_slice_codeunits(text.take(pa.array(numbers)), len(_MSISDN))
        ok[numbers] = _e164(tails)
    return ok


_FROM_BYTES: Final[dict[Kind, Callable[[pa.Array], Mask]]] = {
    Kind.E164: _e164,
    Kind.ACCOUNT: _account,
}
"""Kinds whose pattern is told from the cells' bytes when they allow it, the regex otherwise."""


def _format_problem(column: Column, text: pa.Array, bad: Mask) -> Problem:
    name = column.name
    if column.kind is Kind.ENUM:
        expected = f"is not one of {', '.join(column.values)}"
    else:
        expected = _EXPECTED.get(column.kind) or _PATTERNS[column.kind][1]
    return Problem(f"{name} {expected}", bad, describe_values(text, f"{name} {{}} {expected}"))


def _check_range(column: Column, values: pa.Array) -> list[Problem]:
    problems = []
    name = column.name
    if column.minimum is not None:
        low = _mask(pc.less(values, pa.scalar(column.minimum)))
        if low.any():
            limit = f"{column.minimum:g}"
            problems.append(
                Problem(
                    f"{name} is below the minimum {limit}",
                    low,
                    describe_values(values, f"{name} {{}} is below the minimum {limit}"),
                )
            )
    if column.maximum is not None:
        high = _mask(pc.greater(values, pa.scalar(column.maximum)))
        if high.any():
            limit = f"{column.maximum:g}"
            problems.append(
                Problem(
                    f"{name} is above the maximum {limit}",
                    high,
                    describe_values(values, f"{name} {{}} is above the maximum {limit}"),
                )
            )
    return problems


def _empty(text: pa.Array) -> Mask:
    """Which cells are empty (``""``); a null is not. Read off the offsets: no string is compared."""
    if text.null_count or not pa.types.is_string(text.type) or not len(text):
        return _mask(pc.equal(text, ""))
    bounds = np.frombuffer(
        text.buffers()[1], dtype=np.int32, count=len(text) + 1, offset=text.offset * 4
    )
    empty: Mask = bounds[1:] == bounds[:-1]
    return empty


def _missing(column: Column, empty: Mask) -> list[Problem]:
    if column.nullable or not empty.any():
        return []
    reason = f"missing {column.name}"
    return [Problem(reason, empty, _same_reason(reason))]


def _check_text(column: Column, text: pa.Array) -> CheckedColumn:
    """A column read as text, with ``""`` for an empty cell."""
    empty = _empty(text)
    problems = _missing(column, empty)
    kind = column.kind
    values: pa.Array
    if kind is Kind.TEXT:
        ok = ~empty
        values = text
    elif kind is Kind.ENUM:
        ok = _mask(pc.is_in(text, value_set=pa.array(column.values, pa.string())))
        values = text
    elif kind in _FROM_BYTES:
        ok = _FROM_BYTES[kind](text)
        values = text
    elif kind in _PATTERNS:
        ok = _matches(text, _PATTERNS[kind][0], few_values=kind in FEW_VALUES)
        values = text
    elif kind is Kind.TIME:
        values, ok = _parse_time(text)
    elif kind is Kind.DATE:
        values, ok = _parse_date(text)
    elif kind is Kind.INT:
        values, ok = _parse_whole_numbers(text, empty)
    elif kind is Kind.FLOAT:
        matches = _mask(pc.match_substring_regex(text, _FLOAT_PATTERN))
        values, ok = _parse_number(text, matches, pa.float64())
    else:  # pragma: no cover - every Kind is handled above
        raise AssertionError(f"no check for kind {kind}")
    bad = ~ok & ~empty
    if bad.any():
        problems.append(_format_problem(column, text, bad))
    if kind in (Kind.INT, Kind.FLOAT):
        problems += _check_range(column, values)
    if values.type == pa.string() and empty.any():
        values = pc.if_else(pa.array(empty), pa.scalar(None, pa.string()), values)
    return CheckedColumn(values, problems)


def _check_typed(column: Column, values: pa.Array) -> CheckedColumn:
    """A column that arrived in its canonical type (from Parquet); null is an empty cell."""
    problems = _missing(column, _mask(values.is_null()))
    if column.kind is Kind.FLOAT:
        broken = _mask(pc.invert(pc.is_finite(values)))
        if broken.any():
            problems.append(_format_problem(column, values, broken))
            values = pc.if_else(pa.array(broken), pa.scalar(None, pa.float64()), values)
    if column.kind in (Kind.INT, Kind.FLOAT):
        problems += _check_range(column, values)
    return CheckedColumn(values, problems)


def _check_reasons(column: Column, text: pa.Array) -> CheckedColumn:
    """A ``reason_facts`` column: every distinct cell read as reasons, each wrong one saying why.

    The one check that reads cells in Python (a JSON array is no pattern), once
    per distinct value: a file's reasons repeat.
    """
    empty = _empty(text)
    problems = _missing(column, empty)
    encoded = pc.dictionary_encode(text)
    wrong: dict[int, str] = {}
    for i, cell in enumerate(encoded.dictionary.to_pylist()):
        try:
            parse_reasons(cell)
        except ValueError as error:
            wrong[i] = str(error)  # names the column: "reason_facts item 0: ..."
    if wrong:
        indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
        bad = np.isin(indices, list(wrong))

        def describe(rows: Rows) -> pa.Array:
            return pa.array([wrong[int(indices[row])] for row in rows], pa.string())

        problems.append(Problem(f"{column.name} is not reasons data", bad, describe))
    values = pc.if_else(pa.array(empty), pa.scalar(None, pa.string()), text)
    return CheckedColumn(values, problems)


def check_column(column: Column, values: pa.Array) -> CheckedColumn:
    """Check one column of a chunk: ``values`` are text (``""`` for empty) or already typed.

    Typed input must already be in the column's canonical Arrow type; the
    reader converts Parquet's own types (other time units, time zones, narrower
    integers) before calling this.
    """
    if column.kind is Kind.REASONS and values.type == pa.string():
        return _check_reasons(column, values)
    if values.type == pa.string():
        return _check_text(column, values)
    if values.type != arrow_type(column):
        raise TypeError(f"column '{column.name}' holds {values.type}, not {arrow_type(column)}")
    return _check_typed(column, values)


# --- rules that span columns ---------------------------------------------------------------


def _period_ends_after_start(values: Mapping[str, pa.Array]) -> list[Problem]:
    start, end = values["start_time"], values["end_time"]
    before = _mask(pc.less(end, start))
    if not before.any():
        return []
    return [
        Problem(
            "end_time is before start_time",
            before,
            describe_values(end, "end_time {} is before start_time {}", start),
        )
    ]


_KIND_PREFIXES = ", ".join(f"{kind}: {prefix}" for kind, prefix in ACCOUNT_PREFIXES.items())


def _account_is_of_its_kind(values: Mapping[str, pa.Array]) -> list[Problem]:
    """An ``accounts`` row's kind says which prefix its account has (a card is ``bank:``)."""
    account, kind = values["account"], values["kind"]
    wrong = np.zeros(len(account), dtype=np.bool_)
    for name, prefix in ACCOUNT_PREFIXES.items():
        of_kind = _mask(pc.equal(kind, name))
        if of_kind.any():
            wrong |= of_kind & _mask(pc.invert(pc.starts_with(account, prefix)))
    if not wrong.any():
        return []
    template = "account {} is not written as its kind {} is (" + _KIND_PREFIXES + ")"
    return [Problem("account is not of its kind", wrong, describe_values(account, template, kind))]


ROW_RULES: Final[dict[str, tuple[Callable[[Mapping[str, pa.Array]], list[Problem]], ...]]] = {
    "roaming": (_period_ends_after_start,),
    "accounts": (_account_is_of_its_kind,),
}
"""Checks across the columns of a row, by operator table (not Qalqan's outputs, such as the
analysis's own ``accounts.csv``); they see the typed values of the chunk."""
