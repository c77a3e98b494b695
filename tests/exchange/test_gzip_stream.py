"""The salvaging gzip reader: all that can be decompressed is handed on, and damage is named."""

from __future__ import annotations

import gzip
import io

import pytest

from qalqan.exchange.gzip_stream import SalvagingGzipReader

CONTENT = "".join(f"{i},привет, мир {i}\n" for i in range(5000)).encode()
PACKED = gzip.compress(CONTENT, mtime=0)


def read(data: bytes) -> tuple[bytes, SalvagingGzipReader]:
    stream = SalvagingGzipReader(io.BytesIO(data), read_size=4096)
    return stream.read(), stream


def test_intact_file_reads_whole() -> None:
    out, stream = read(PACKED)
    assert out == CONTENT
    assert stream.problem is None
    assert stream.lines_complete == 5000


def test_members_and_zero_padding_read_as_gzip_reads_them() -> None:
    data = gzip.compress(CONTENT[:1000]) + gzip.compress(CONTENT[1000:]) + b"\0" * 512
    out, stream = read(data)
    assert out == CONTENT == gzip.decompress(data)
    assert stream.problem is None


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_file_gives_everything_before_the_cut(keep: float) -> None:
    out, stream = read(PACKED[: int(len(PACKED) * keep)])
    assert CONTENT.startswith(out)
    assert len(out) > 0
    assert stream.lines_complete == out.count(b"\n")
    assert stream.problem == (
        f"gzip stream ends early: file is truncated after line {stream.lines_complete}"
    )
    out.decode("utf-8")  # half a Cyrillic letter at the cut is dropped, never handed on
    assert stream.ends_mid_line == (not out.endswith(b"\n"))


def test_cut_inside_the_trailer_loses_no_content() -> None:
    out, stream = read(PACKED[:-3])
    assert out == CONTENT
    assert stream.problem is not None


def test_bad_checksum_is_reported_after_the_content() -> None:
    damaged = bytearray(PACKED)
    damaged[-6] ^= 0xFF  # inside the CRC32 of the trailer
    out, stream = read(bytes(damaged))
    assert out == CONTENT
    assert stream.problem is not None
    assert stream.problem.startswith("corrupt gzip data: nothing after line 5000 can be read")


def test_corrupt_block_keeps_what_came_before() -> None:
    damaged = bytearray(PACKED)
    damaged[len(PACKED) // 2] ^= 0xFF
    out, stream = read(bytes(damaged))
    assert stream.problem is not None
    assert stream.problem.startswith("corrupt gzip data")
    assert len(out) > len(CONTENT) // 3
    assert out[: len(CONTENT) // 3] == CONTENT[: len(CONTENT) // 3]


def test_not_gzip_at_all() -> None:
    out, stream = read(b"record_id,start_time\n")
    assert out == b""
    assert stream.problem is not None
    assert "incorrect header check" in stream.problem
