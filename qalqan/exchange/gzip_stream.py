"""Read a gzip file as far as it goes: keep everything before a cut or a corrupt block.

Operators move CDR exports around as ``cdrs.csv.gz``, and a copy interrupted
half-way leaves a truncated file. Python's :mod:`gzip` raises ``EOFError`` at
the cut and whatever it had decompressed in that read is lost with it, so one
missing kilobyte at the end could cost a whole 100-million-row export.

:class:`SalvagingGzipReader` instead hands on every byte it can decompress,
notes what went wrong in :attr:`~SalvagingGzipReader.problem` and then reports
end of file. The CSV reader behind it sees a file that simply ends early: the
rows before the cut load, and the partial last row is rejected like any other
broken row. Multi-member files (``cat a.gz b.gz``) and zero padding after the
last member are read as :mod:`gzip` reads them.

A bomb (a few megabytes that inflate to terabytes of newlines) is refused
rather than read: past ``max_ratio`` content bytes per compressed byte (once
:data:`~qalqan.exchange.limits.GZIP_RATIO_FLOOR` bytes have come out), or past
``max_bytes`` in all, the stream ends and :attr:`~SalvagingGzipReader.refused`
says why. No single step inflates more than :data:`_PIECE` bytes, so memory
stays bounded on the way there.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO, Literal

from qalqan.exchange.limits import GZIP_RATIO_FLOOR
from qalqan.exchange.pieces import PieceStream

__all__ = ["SalvagingGzipReader"]

_GZIP = 31  # zlib window bits meaning "expect a gzip header and trailer"

_PIECE = 1 << 20
"""Content bytes inflated at most per step."""


def _incomplete_utf8_tail(data: bytes) -> int:
    """How many bytes at the end of ``data`` start a UTF-8 character that is not finished yet.

    They are held back until the next piece arrives. If the stream breaks off
    instead, they are dropped: half a character is noise, and Arrow's CSV reader
    cannot even report a broken row that is not valid UTF-8.
    """
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return 0  # ASCII: everything before it is complete
        if byte >= 0xC0:  # the lead byte of a multi-byte character
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return back if back < needed else 0
    return 0


class SalvagingGzipReader(PieceStream):
    """A readable binary stream of the decompressed content of a gzip file, damaged or not."""

    def __init__(
        self,
        raw: BinaryIO,
        *,
        read_size: int = 1 << 18,
        max_ratio: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        super().__init__()
        self._raw = raw
        self._read_size = read_size
        self._max_ratio = max_ratio
        self._max_bytes = max_bytes
        self._inflater: zlib._Decompress | None = None  # None between members
        self._pending = b""  # compressed bytes not yet given to the inflater
        self._draining = False  # the inflater may hold content beyond the last piece
        self._held = b""  # an unfinished UTF-8 character at the end of the output so far
        self.problem: str | None = None
        """Why the content ends before the file does, in words for the operator; None if intact."""
        self.refused: str | None = None
        """Why reading stopped at a limit (a decompression bomb): the file must not be used."""
        self.lines_complete = 0
        """Newlines handed on so far: the number of complete lines of the content."""
        self.ends_mid_line = False
        """The content handed on so far ends inside a line (a cut row, when it breaks off)."""
        self.bytes_in = 0
        """Compressed bytes read from the file so far (for progress bars)."""
        self.bytes_out = 0
        """Content bytes handed on so far."""

    def close(self) -> None:
        self._raw.close()
        super().close()

    def _next_piece(self) -> bytes:
        """Decompress the next piece of content (possibly empty); set ``_finished`` at the end."""
        if not self._pending and not self._draining:
            self._pending = self._raw.read(self._read_size)
            self.bytes_in += len(self._pending)
            if not self._pending:
                return self._end_of_file()
        if self._inflater is None:
            self._pending = self._pending.lstrip(b"\0")  # padding after the last member
            if not self._pending:
                return b""
            self._inflater = zlib.decompressobj(wbits=_GZIP)
        data, self._pending = self._pending, b""
        before = self._inflater.copy()  # zlib loses a call's whole output when it fails
        try:
            out = self._inflater.decompress(data, _PIECE)
        except zlib.error as exc:
            self._inflater = before
            return self._salvage(data, exc)
        if self._inflater.eof:  # end of one member; another may follow
            self._pending = self._inflater.unused_data
            self._inflater = None
        else:
            self._pending = self._inflater.unconsumed_tail
        self._draining = self._inflater is not None and len(out) == _PIECE
        return self._bounded(self._hand_on(out))

    @property
    def bytes_consumed(self) -> int:
        """Compressed bytes inflated so far (read ahead, but not yet inflated, excluded)."""
        return self.bytes_in - len(self._pending)

    def _bounded(self, out: bytes) -> bytes:
        """``out``, unless the content has grown past a limit: then end the stream, refused."""
        consumed = max(self.bytes_consumed, 1)
        if self._max_bytes is not None and self.bytes_out > self._max_bytes:
            why = f"past {self._max_bytes:,} bytes (max_gzip_bytes)"
        elif (
            self._max_ratio is not None
            and self.bytes_out > GZIP_RATIO_FLOOR
            and self.bytes_out > self._max_ratio * consumed
        ):
            why = (
                f"past {self._max_ratio} times its compressed size ({self.bytes_out:,} bytes "
                f"from {consumed:,}; max_gzip_ratio)"
            )
        else:
            return out
        self.refused = (
            f"the gzip content grows {why} by line {self.lines_complete + 1:,}: "
            "refused as a decompression bomb"
        )
        self._finished = True
        return b""

    def _salvage(self, data: bytes, exc: zlib.error) -> bytes:
        """Re-feed ``data`` in halving pieces to keep everything before the corrupt byte."""
        assert self._inflater is not None
        good: list[bytes] = []
        pos = 0
        step = max(1, len(data) // 2)
        while pos < len(data):
            snapshot = self._inflater.copy()
            try:
                good.append(self._inflater.decompress(data[pos : pos + step]))
            except zlib.error:
                self._inflater = snapshot
                if step == 1:
                    break
                step //= 2
                continue
            pos += step
            if self._inflater.eof:  # the damage lies in a later member: go on from there
                self._pending = self._inflater.unused_data + data[pos:]
                self._inflater = None
                return self._hand_on(b"".join(good))
        else:
            return self._hand_on(b"".join(good))  # (not expected: the pieces all went through)
        out = self._hand_on(b"".join(good), end="broken")
        self.problem = (
            f"corrupt gzip data: nothing after line {self.lines_complete} can be read ({exc})"
        )
        self._finished = True
        return out

    def _end_of_file(self) -> bytes:
        self._finished = True
        if self._inflater is None:
            return self._hand_on(b"", end="clean")
        out = self._hand_on(self._inflater.flush(), end="broken")
        self.problem = f"gzip stream ends early: file is truncated after line {self.lines_complete}"
        return out

    def _hand_on(self, out: bytes, *, end: Literal["clean", "broken"] | None = None) -> bytes:
        """Prepend the held-back bytes, hold back a new unfinished character, count newlines.

        ``end`` says the content ends here: cleanly (hand on everything, a bad
        character is then the CSV reader's to reject) or broken off (drop half a
        character).
        """
        out = self._held + out
        self._held = b""
        keep = 0 if end == "clean" else _incomplete_utf8_tail(out)
        if keep:
            out, held = out[:-keep], out[-keep:]
            if end is None:
                self._held = held
            else:
                self.ends_mid_line = True
        if out:
            self.ends_mid_line = out[-1] != 0x0A or (keep > 0 and end is not None)
            self.lines_complete += out.count(b"\n")
            self.bytes_out += len(out)
        return out
