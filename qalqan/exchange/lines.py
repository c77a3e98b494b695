"""Cut lines Arrow cannot take out of a byte stream, keeping every other byte and every line's place.

Arrow's CSV reader parses a file in blocks and gives up on the whole file when
one row is longer than a block ("straddling object ... near line 2"): one
100 MB line would lose every row of the table. It gives up too on a row that
does not split into the header's columns when that row is not UTF-8 text (it
cannot hand the row's text over). :class:`LongLineCutter` sits between the
file and Arrow and empties such lines, keeping their line break, so that the
line is still there (blank) and every later row keeps its line number. What
was cut, where, and why is handed to the reader as :class:`CutLine` s, which it
rejects as rows of their own.

A line that is not UTF-8 but has no quotes and as many commas as the header
is left alone: Arrow splits it, and the reader rejects it naming the cell.

Lines are what an editor shows: they end with LF, CRLF or a lone CR, inside
quoted values as outside. A record is one line, or several when a quoted
value holds line breaks; the cutter follows CSV quoting as RFC 4180 and Arrow
do: a double quote opens a quoted value only at the start of a field, ``""``
inside one is a quote, and a quote anywhere else is an ordinary character.
The limit applies to records. A record that is longer (a quote that is never
closed makes the rest of the file one record, which would lose the whole
table) gives up its first line as a rejected row, and reading goes on at the
next line as if the quote had not been there: a broken export loses only
the rows it spoils.

The common case costs a few ``memchr`` calls per read: when every stretch of
``limit // 2`` bytes holds a line break and every line break is outside
quotes, no record can be longer than the limit and the bytes pass as they
are; otherwise the read is split record by record.
"""

from __future__ import annotations

import codecs
import io
from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np

from qalqan.exchange.limits import QUARANTINE_LINE_BYTES
from qalqan.exchange.pieces import PieceStream

__all__ = ["CutLine", "LongLineCutter"]

_LF: Final = 0x0A
_CR: Final = 0x0D
_QUOTE: Final = 0x22
_COMMA: Final = 0x2C

_EMPTIED: Final = b"\r\n"
"""What stands for an emptied line: a CRLF joins neither a CR before it nor an LF after it
into one line break, so the line count stays exact whatever breaks its neighbours have."""


@dataclass(frozen=True, slots=True)
class CutLine:
    """A line emptied in the stream: longer than the limit, or not UTF-8 text."""

    line: int
    """Its line number, counting from 1 at the start of the file."""
    length: int
    """Its bytes, without the line break."""
    head: bytes
    """Its first :data:`~qalqan.exchange.limits.QUARANTINE_LINE_BYTES` bytes."""
    not_utf8: int | None = None
    """For a line that is short enough but not UTF-8 text: where its first bad byte is (from 0)."""
    quote: int | None = None
    """For the first line of a record longer than the limit because of a quoted value that
    runs over several lines: where that value's opening quote is in the line (from 0)."""
    closed: bool = False
    """Whether that quote is closed at all (further on than the limit allows)."""
    lines: int = 1
    """Lines the row stands for: more than one for a quoted record not UTF-8, emptied whole."""


@dataclass(slots=True)
class _Cutting:
    line: int
    length: int
    head: bytes


class LongLineCutter(PieceStream):
    """``inner`` with every line longer than ``limit`` bytes emptied; :attr:`cut` says which.

    At most ``limit`` bytes (the unfinished last line) are held back at a time.
    """

    def __init__(
        self,
        inner: io.RawIOBase,
        *,
        limit: int,
        fields: int,
        read_size: int = 1 << 21,
    ) -> None:
        super().__init__()
        if limit < 2:
            raise ValueError("limit must be at least 2 bytes")
        self._inner = inner
        self._limit = limit
        self._commas = fields - 1
        self._window = limit // 2
        self._read_size = read_size
        self._carry = b""  # the unfinished last line (or a CR that may start a CRLF)
        self._cutting: _Cutting | None = None
        self._lines_before = 0  # line breaks handed on before the carry
        self._buffer = bytearray(read_size + limit + 2)  # the carry, then what is read
        self._matches = np.empty(len(self._buffer), dtype=np.bool_)  # reused: no page faults
        self._quotes = np.empty(len(self._buffer), dtype=np.bool_)
        self.cut: deque[CutLine] = deque()
        """Lines cut so far and not yet taken by the reader (appended as the stream is read)."""
        self.blank_runs: deque[tuple[int, int]] = deque()
        """Runs of blank lines left out of the stream, not yet taken by the reader: for each, the
        line that follows it as numbered in the stream handed on, and how many lines it held."""
        self._left_out = 0  # blank lines left out so far

    def close(self) -> None:
        self._inner.close()
        super().close()

    # -- one read at a time -----------------------------------------------------------

    def _next_piece(self) -> bytes | memoryview:
        piece, self._finished = self._refill()
        return piece

    def _refill(self) -> tuple[bytes | memoryview, bool]:
        """Read on; the bytes to hand on (valid until the next refill), and whether that was all."""
        buffer, carried = self._buffer, len(self._carry)
        buffer[:carried] = self._carry
        got = self._inner.readinto(memoryview(buffer)[carried : carried + self._read_size]) or 0
        size = carried + got
        if got and self._cutting is None:
            whole = self._whole_lines(size)
            if whole is not None:
                return whole, False
        self._carry = b""
        return self._pass(bytes(buffer[:size]), eof=not got), not got

    def _whole_lines(self, size: int) -> bytes | memoryview | None:
        """The common case, without a copy: the buffer's whole lines when none needs cutting
        (copied only to leave out runs of blank lines).

        None when some record may be too long or not UTF-8 (:meth:`_pass` then
        goes through the bytes record by record).
        """
        buffer = self._buffer
        end = size - 1 if buffer[size - 1] == _CR else size  # a CR may begin a CRLF
        last = max(buffer.rfind(b"\n", 0, end), buffer.rfind(b"\r", 0, end))
        if last < 0 or end - last - 1 > self._limit:
            return None
        whole = memoryview(buffer)[: last + 1]
        values = np.frombuffer(buffer, dtype=np.uint8, count=last + 1)
        if values.max() >= 0x80 and not _is_utf8(whole):
            return None
        if self._any_long(buffer, last + 1):
            return None
        matches = self._matches[: last + 1]
        lf = np.equal(values, _LF, out=matches)
        has_cr = buffer.find(b"\r", 0, last + 1) >= 0
        if buffer.find(b'"', 0, last + 1) >= 0 and not _breaks_outside_quotes(
            values, lf, np.equal(values, _QUOTE, out=self._quotes[: last + 1]), cr=has_cr
        ):
            return None  # a quoted value holds a line break: records are cut out one by one
        breaks = int(np.count_nonzero(lf))
        cr = lf  # not looked at unless there is a CR
        if has_cr:
            cr = values == _CR
            breaks += int(np.count_nonzero(cr)) - int(
                np.count_nonzero(cr[:-1] & (values[1:] == _LF))
            )
        lines_before = self._lines_before
        self._lines_before += breaks
        self._carry = bytes(buffer[last + 1 : size])
        # a blank line is a line break right after another: LF LF, LF CR or CR CR
        blank = bool(np.any(lf[1:] & lf[:-1]))
        if not blank and has_cr:
            blank = bool(np.any(cr[1:] & (cr[:-1] | lf[:-1])))
        if blank:
            return self._leave_out_blank_runs(whole, values, lines_before)
        return whole

    def _leave_out_blank_runs(
        self, whole: memoryview, values: np.ndarray, lines_before: int
    ) -> bytes | memoryview:
        """``whole`` (whole lines, every break outside quotes) without its runs of blank lines.

        Arrow would make a row of empty cells of every blank line, for the reader
        to drop again: a file of newlines cost about 80 bytes a line. A run of
        two or more is left out here, and noted in :attr:`blank_runs` so that the
        lines after it keep their numbers; a single blank line passes.
        """
        lf = values == _LF
        cr = values == _CR
        crlf = np.append(cr[:-1] & lf[1:], False)
        ends = np.flatnonzero(lf | (cr & ~crlf))
        break_at = ends - np.append(False, crlf)[ends]
        starts = np.concatenate([[0], ends[:-1] + 1])
        blank = (break_at == starts).astype(np.int8)
        edges = np.diff(np.concatenate([[0], blank, [0]]))
        first, stop = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        long = stop - first >= 2
        first, stop = first[long], stop[long]
        if not len(first):
            return whole
        pieces = []
        kept = 0
        for i, j in zip(first.tolist(), stop.tolist(), strict=True):
            pieces.append(whole[kept : int(starts[i])])
            kept = int(ends[j - 1]) + 1
            run = j - i
            # the line after the run, as the stream handed on numbers it
            self.blank_runs.append((lines_before + j + 1 - self._left_out - run, run))
            self._left_out += run
        pieces.append(whole[kept:])
        return b"".join(pieces)

    def _pass(self, block: bytes, *, eof: bool) -> bytes:
        """The bytes of ``block`` (after the carry) that can be handed on now."""
        data = self._carry + block if self._carry else block
        self._carry = b""
        # A CR at the very end may be the first half of a CRLF: wait for the next byte.
        end = len(data) - 1 if (not eof and data.endswith(b"\r")) else len(data)
        out: list[bytes] = []
        start = 0
        if self._cutting is not None:
            start = self._go_on_cutting(data, end, out, eof=eof)
            if self._cutting is not None:
                self._carry = data[end:]
                return b""
        while True:
            plan = _plan(data, start, end, limit=self._limit)
            if plan.spoiled is not None:  # a record too long, or not UTF-8, over several lines
                spoiled = plan.spoiled
                if spoiled.start > start:
                    out.append(self._complete_lines(data[start : spoiled.start]))
                start = self._cut_record(data, spoiled, out)
                continue
            if plan.last >= start:
                out.append(self._complete_lines(data[start : plan.last + 1]))
                start = plan.last + 1
            rest = end - start
            if plan.open_quote is not None and (rest > self._limit or eof):
                first = _first_line(data, start, end)
                if first is not None or eof:
                    # A quote left open past the limit (or to the end of the file): only the
                    # line it opens on is given up; the next line is read as a record anew.
                    stop = end if first is None else first[1]
                    at = end if first is None else first[0]
                    self.cut.append(
                        CutLine(
                            self._lines_before + 1,
                            at - start,
                            data[start : min(at, start + QUARANTINE_LINE_BYTES)],
                            quote=plan.open_quote - start,
                        )
                    )
                    if first is not None:
                        out.append(_EMPTIED)
                        self._lines_before += 1
                    start = stop
                    continue
            if rest > self._limit:
                self._cutting = _Cutting(
                    self._lines_before + 1, rest, data[start : start + QUARANTINE_LINE_BYTES]
                )
                self._carry = data[end:]
            else:
                self._carry = data[start:]
            break
        if eof:
            self._end(out)
        return b"".join(out)

    def _cut_record(self, data: bytes, spoiled: _Spoiled, out: list[bytes]) -> int:
        """Empty a spoiled record over several lines; where reading goes on.

        A record that is not UTF-8 text is emptied whole, line by line (its quotes
        are closed, so its lines belong together). A record longer than the limit
        gives up only its first line: its quote may have been closed by some
        quote far further on, and the lines between are rows of their own.
        """
        start = spoiled.start
        if spoiled.not_utf8 is not None:
            self.cut.append(
                CutLine(
                    self._lines_before + 1,
                    spoiled.stop - start,
                    data[start : min(spoiled.stop, start + QUARANTINE_LINE_BYTES)],
                    spoiled.not_utf8,
                    lines=spoiled.lines,
                )
            )
            out.append(_EMPTIED * spoiled.lines)
            self._lines_before += spoiled.lines
            return spoiled.end + 1
        self.cut.append(
            CutLine(
                self._lines_before + 1,
                spoiled.stop - start,
                data[start : min(spoiled.first_break, start + QUARANTINE_LINE_BYTES)],
                quote=spoiled.quote,
                closed=True,
            )
        )
        out.append(_EMPTIED)
        self._lines_before += 1
        return spoiled.first_stop

    def _go_on_cutting(self, data: bytes, end: int, out: list[bytes], *, eof: bool) -> int:
        """Skip the rest of the line being cut; where the next line starts (or ``end``)."""
        cutting = self._cutting
        assert cutting is not None
        ends = [at for at in (data.find(b"\n", 0, end), data.find(b"\r", 0, end)) if at >= 0]
        if not ends:
            cutting.length += end
            if eof:
                self._note(cutting, b"")
            return end
        at = min(ends)
        cutting.length += at
        stop = at + 2 if data[at : at + 2] == b"\r\n" else at + 1
        self._note(cutting, data[at:stop])
        out.append(_EMPTIED)
        return stop

    def _note(self, cutting: _Cutting, line_break: bytes) -> None:
        self.cut.append(CutLine(cutting.line, cutting.length, cutting.head))
        self._cutting = None
        if line_break:
            self._lines_before += 1

    def _end(self, out: list[bytes]) -> None:
        """At the end of the stream: the last line, which has no line break, is complete."""
        rest, self._carry = self._carry, b""
        if self._cutting is not None:
            self._note(self._cutting, b"")
        elif rest and _is_utf8(rest):
            out.append(rest)
        elif rest:  # not UTF-8: judged as a whole record, with a break of its own
            self._complete_records(rest + b"\n", out)

    def _complete_records(self, data: bytes, out: list[bytes]) -> None:
        """Hand on ``data`` (whole records, each with its break), every spoiled one emptied."""
        start = 0
        while start < len(data):
            spoiled = _plan(data, start, len(data), limit=self._limit).spoiled
            if spoiled is None:
                out.append(self._complete_lines(data[start:]))
                return
            if spoiled.start > start:
                out.append(self._complete_lines(data[start : spoiled.start]))
            start = self._cut_record(data, spoiled, out)

    def _complete_lines(self, data: bytes) -> bytes:
        """``data`` (whole lines, each with its break) with every line Arrow cannot take emptied."""
        utf8 = _is_utf8(data)
        if utf8 and not self._any_long(data, len(data)):
            self._lines_before += _line_breaks(data)
            return data
        values = np.frombuffer(data, dtype=np.uint8)
        lf = values == _LF
        cr = values == _CR
        crlf = cr[:-1] & lf[1:]
        ends = np.flatnonzero(lf | (cr & ~np.append(crlf, False)))  # each line's last byte
        break_at = ends - np.append(False, crlf)[ends]  # where each line's break begins
        starts = np.concatenate([[0], ends[:-1] + 1])
        lengths = break_at - starts
        cut: dict[int, int | None] = dict.fromkeys(np.flatnonzero(lengths > self._limit).tolist())
        if not utf8:
            cut |= self._not_utf8(data, values, starts, break_at, ends, cut)
        pieces: list[bytes] = []
        kept = 0
        for i in sorted(cut):
            start, stop = int(starts[i]), int(break_at[i])
            pieces += [data[kept:start], _EMPTIED]
            self.cut.append(
                CutLine(
                    self._lines_before + i + 1,
                    stop - start,
                    data[start : min(stop, start + QUARANTINE_LINE_BYTES)],
                    cut[i],
                )
            )
            kept = int(ends[i]) + 1
        pieces.append(data[kept:])
        self._lines_before += len(ends)
        return b"".join(pieces)

    def _not_utf8(
        self,
        data: bytes,
        values: np.ndarray,
        starts: np.ndarray,
        break_at: np.ndarray,
        ends: np.ndarray,
        cut: dict[int, int | None],
    ) -> dict[int, int | None]:
        """Lines (not cut already) that are not UTF-8 and that Arrow might not split, by index,
        each with its first bad byte."""
        found: dict[int, int | None] = {}
        wide = np.flatnonzero(values >= 0x80)
        for i in np.unique(np.searchsorted(ends, wide)).tolist():
            if i in cut:
                continue
            line = data[int(starts[i]) : int(break_at[i])]
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                if b'"' in line or line.count(b",") != self._commas:
                    found[i] = exc.start
        return found

    def _any_long(self, data: bytes | bytearray, size: int) -> bool:
        """Whether ``data`` may hold a line longer than the limit (never False when it does).

        A stretch of more than ``limit`` bytes without a line break covers a
        whole aligned window of ``limit // 2`` bytes; if every window holds a
        break, there is no such stretch.
        """
        w = self._window
        for at in range(0, size - w + 1, w):
            if data.find(b"\n", at, at + w) < 0 and data.find(b"\r", at, at + w) < 0:
                return True
        return False


@dataclass(frozen=True, slots=True)
class _Spoiled:
    """A complete record over several lines that the cutter must empty (offsets in the data)."""

    start: int
    stop: int
    """Where its last line break begins."""
    end: int
    """Its last byte (the end of its last line break)."""
    first_break: int
    """Where its first line's break begins."""
    first_stop: int
    """Where its second line starts."""
    lines: int
    quote: int
    """Where the quote that holds its first line break opens, counted from its start."""
    not_utf8: int | None
    """Where its first byte that is not UTF-8 is, counted from its start (None: it is too long)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    last: int
    """The last byte of the last complete record (``start - 1`` when there is none)."""
    open_quote: int | None
    """Where the quote that is still open at the end opens (None: none is)."""
    spoiled: _Spoiled | None
    """The first complete record over several lines that must be emptied."""


def _plan(data: bytes, start: int, end: int, *, limit: int) -> _Plan:
    """How ``data[start:end]`` splits into records; ``start`` is where a record starts."""
    first_quote = data.find(b'"', start, end)
    if first_quote < 0:
        last = max(data.rfind(b"\n", start, end), data.rfind(b"\r", start, end))
        return _Plan(max(last, start - 1), None, None)
    piece = data[start:end]
    values = np.frombuffer(piece, dtype=np.uint8)
    quotes = _quotes_in_effect(piece, values)
    lf = values == _LF
    cr = values == _CR
    crlf = np.append(cr[:-1] & lf[1:], False)
    ends = np.flatnonzero(lf | (cr & ~crlf))  # each line's last byte
    inside = (np.searchsorted(quotes, ends) % 2).astype(np.bool_)
    open_quote = start + int(quotes[-1]) if len(quotes) % 2 else None
    record_ends = np.flatnonzero(~inside)  # indexes into ends
    last = start + int(ends[record_ends[-1]]) if len(record_ends) else start - 1
    spoiled = None
    if inside.any() and len(record_ends):
        firsts = np.concatenate([[0], record_ends[:-1] + 1])  # each record's first line
        several = np.flatnonzero(record_ends > firsts)
        if len(several):
            spoiled = _first_spoiled(
                piece, values, quotes, ends, crlf, firsts[several], record_ends[several], limit
            )
    if spoiled is not None:
        spoiled = _Spoiled(
            start + spoiled.start,
            start + spoiled.stop,
            start + spoiled.end,
            start + spoiled.first_break,
            start + spoiled.first_stop,
            spoiled.lines,
            spoiled.quote,
            spoiled.not_utf8,
        )
    return _Plan(last, open_quote, spoiled)


def _first_spoiled(
    piece: bytes,
    values: np.ndarray,
    quotes: np.ndarray,
    ends: np.ndarray,
    crlf: np.ndarray,
    firsts: np.ndarray,
    lasts: np.ndarray,
    limit: int,
) -> _Spoiled | None:
    """The first of the records over several lines (lines ``firsts`` to ``lasts``) to empty."""
    starts = np.where(firsts > 0, ends[np.maximum(firsts - 1, 0)] + 1, 0)
    stops = np.where(crlf[np.maximum(ends[lasts] - 1, 0)], ends[lasts] - 1, ends[lasts])
    too_long = np.flatnonzero(stops - starts > limit)
    candidates = too_long.tolist()
    if values.max() >= 0x80:
        for i in range(len(firsts)):
            if _is_utf8(piece[int(starts[i]) : int(stops[i])]):
                continue
            candidates.append(i)
            break
    if not candidates:
        return None
    i = min(candidates)
    start, stop = int(starts[i]), int(stops[i])
    first_end = int(ends[firsts[i]])
    first_break = first_end - 1 if crlf[first_end - 1] else first_end
    quote = int(quotes[np.searchsorted(quotes, first_end) - 1]) - start
    bad = None
    if i not in too_long:
        try:
            piece[start:stop].decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = exc.start
    return _Spoiled(
        start,
        stop,
        int(ends[lasts[i]]),
        first_break,
        first_end + 1,
        int(lasts[i] - firsts[i]) + 1,
        quote,
        bad,
    )


def _quotes_in_effect(data: bytes, values: np.ndarray) -> np.ndarray:
    """Where the quotes that open or close a quoted value are in ``data`` (a record starts at 0).

    Taken in pairs, every quote is in effect when each one that would open a
    value is at the start of a field (after a comma or a line break) or
    follows the quote that closed one (``""``); otherwise they are followed
    one by one, and a quote inside an unquoted value is an ordinary character.
    """
    quotes = np.flatnonzero(values == _QUOTE)
    openers = quotes[0::2]
    before = values[np.maximum(openers - 1, 0)]
    fine = (openers == 0) | (before == _COMMA) | (before == _LF) | (before == _CR)
    if len(openers) > 1:
        fine[1:] |= openers[1:] - 1 == quotes[1::2][: len(openers) - 1]
    if fine.all():
        return quotes
    kept: list[int] = []
    inside = False
    closed_at = -2
    for at in quotes.tolist():
        if inside or at == closed_at + 1 or at == 0 or data[at - 1] in b",\r\n":
            kept.append(at)
            if inside:
                closed_at = at
            inside = not inside
    return np.array(kept, dtype=np.int64)


def _breaks_outside_quotes(
    values: np.ndarray, lf: np.ndarray, quote: np.ndarray, *, cr: bool
) -> bool:
    """Whether every line break of ``values`` (a record starts at 0) is outside quotes, when
    every quote is in effect (False when some may not be: the caller then looks closer).

    ``lf`` and ``quote`` mark the LFs and the quotes of ``values``. Taken in order,
    the quotes open and close values by turns: a byte is inside quotes when an odd
    number of quotes come up to it. Every quote is in effect when each one that
    opens (the first, third, ...) is at the start, after a comma or a line break,
    or right after the quote that closed the value before (``""``). The marks are
    packed 64 bytes to a word and the quotes counted up to each byte by shifts,
    a few operations per word rather than a position per quote: this runs on
    every block of every file.
    """
    quotes = _words(quote)
    odd = quotes.copy()  # bit k: an odd number of quotes up to byte k, within its word
    for shift in _PREFIX_SHIFTS:
        odd ^= odd << shift
    parity = odd >> _TOP_BIT
    if np.bitwise_xor.reduce(parity):
        return False  # a quote is left open
    before = np.zeros_like(parity)  # the parity of the words before each word
    np.bitwise_xor.accumulate(parity[:-1], out=before[1:])
    odd ^= before * _ALL_BITS
    breaks = _words(lf | (values == _CR)) if cr else _words(lf)
    if np.any(odd & breaks):
        return False  # some break follows an odd number of quotes
    delimiters = breaks | _words(values == _COMMA)  # no CR in values unless cr
    openers = quotes & odd
    fine = _one_byte_on(delimiters, start=True) | _one_byte_on(quotes, start=False)
    return not np.any(openers & ~fine)


_PREFIX_SHIFTS: Final = tuple(np.uint64(1 << i) for i in range(6))
_TOP_BIT: Final = np.uint64(63)
_ALL_BITS: Final = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def _words(mask: np.ndarray) -> np.ndarray:
    """A boolean mask packed into 64-bit words: bit k of word w is byte ``64 * w + k``."""
    packed = np.packbits(mask, bitorder="little")
    if len(packed) % 8:
        packed = np.concatenate([packed, np.zeros(8 - len(packed) % 8, dtype=np.uint8)])
    return packed.view("<u8")


def _one_byte_on(words: np.ndarray, *, start: bool) -> np.ndarray:
    """Packed marks moved one byte on: bit k then says what bit k - 1 said (``start`` for byte 0)."""
    carry = np.empty_like(words)
    carry[0] = np.uint64(start)
    carry[1:] = words[:-1] >> _TOP_BIT
    moved: np.ndarray = (words << np.uint64(1)) | carry
    return moved


def _first_line(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """Where the first line of ``data[start:end]`` has its break, and where the next starts."""
    ends = [at for at in (data.find(b"\n", start, end), data.find(b"\r", start, end)) if at >= 0]
    if not ends:
        return None
    at = min(ends)
    return at, at + 2 if data[at : at + 2] == b"\r\n" else at + 1


def _is_utf8(data: bytes | memoryview) -> bool:
    if isinstance(data, bytes) and data.isascii():
        return True
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError:
        return False
    return True


def _line_breaks(data: bytes) -> int:
    """Line breaks in ``data``: LF, CRLF or a lone CR."""
    lf = data.count(b"\n")
    if data.find(b"\r") < 0:
        return lf
    return lf + data.count(b"\r") - data.count(b"\r\n")
