"""A readable stream made of pieces: what the gzip reader and the line cutter share.

Both produce their content a piece at a time (an inflated piece, a block of
whole lines) and hand it to Arrow's CSV reader through ``readinto``. Short
reads would be correct too, but every read is a call from Arrow's parsing
thread into Python, and each call must win the GIL back from the thread
checking rows; few large reads keep both threads busy. So ``readinto`` fills
the caller's buffer whole unless the content ends first.
"""

from __future__ import annotations

import io

__all__ = ["PieceStream"]


class PieceStream(io.RawIOBase):
    """Content handed on from pieces that :meth:`_next_piece` makes, one after another.

    A subclass makes the next piece (possibly empty) in :meth:`_next_piece` and
    sets ``_finished`` once there is nothing more to make; a piece stays valid
    until the next one is asked for.
    """

    def __init__(self) -> None:
        super().__init__()
        self._out: bytes | memoryview = b""
        self._out_pos = 0
        self._finished = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        """Fill ``buffer`` whole unless the content ends first."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            if self._out_pos >= len(self._out):
                if self._finished:
                    break
                self._out = self._next_piece()
                self._out_pos = 0
                continue
            n = min(len(view) - filled, len(self._out) - self._out_pos)
            view[filled : filled + n] = self._out[self._out_pos : self._out_pos + n]
            self._out_pos += n
            filled += n
        return filled

    def _next_piece(self) -> bytes | memoryview:
        raise NotImplementedError
