"""The cutter's quick test for line breaks inside quoted values, against a byte-by-byte reading.

Every block of every CSV file goes through it, so it works on packed bits; the
reference below walks the bytes one by one, as the rule is stated.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.exchange.lines import _breaks_outside_quotes


def _by_bytes(data: bytes) -> bool:
    """Every quote opens and closes by turns; every break is outside quotes; every opening
    quote is at the start, after a comma or a line break, or right after a closing one."""
    inside = False
    for at, byte in enumerate(data):
        if byte == ord('"'):
            if not inside and at > 0 and data[at - 1] not in b',\r\n"':
                return False
            inside = not inside
        elif byte in b"\r\n" and inside:
            return False
    return not inside


def _quick(data: bytes) -> bool:
    values = np.frombuffer(data, dtype=np.uint8)
    return _breaks_outside_quotes(values, values == 0x0A, values == 0x22, cr=b"\r" in data)


@settings(max_examples=3_000, deadline=None)
@given(st.lists(st.sampled_from([b"a", b",", b'"', b"\n", b"\r", b'","', b"ab"]), max_size=400))
def test_the_quick_test_agrees_with_reading_byte_by_byte(pieces: list[bytes]) -> None:
    data = b'"' + b"".join(pieces)  # the quick test is asked only about data with a quote
    assert _quick(data) == _by_bytes(data)


def test_a_quoted_break_past_the_first_words_is_found() -> None:
    row = b'"r1","2026-03-02T00:00:00Z",158,"voice"\n'
    assert _quick(row * 100)
    assert not _quick(row * 50 + b'"r2","two\nlines"\n' + row * 49)
    assert not _quick(row * 50 + b'r2,ab"c,"x"\n' + row * 49)  # a stray quote: look closer
    assert _quick(row * 50 + b'"say ""hi""",x\n' + row * 49)
