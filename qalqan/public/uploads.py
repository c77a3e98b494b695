"""A screenshot attached to a report: bounded, its type read from its bytes, re-encoded.

The browser's ``Content-Type`` and the file's name are not believed: the type is
sniffed from the magic bytes (PNG, JPEG, WebP only). The image's declared size
is read from its header before any pixel is decoded, so a small file claiming a
huge picture (a decompression bomb) is refused cheaply. An accepted image is
decoded, scaled down to at most ``MAX_SIDE`` pixels a side, and saved again as PNG
(at most ``MAX_STORED_BYTES``): what the phone wrote besides the pixels (EXIF with the
place and the device, comments) is not kept.
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image, UnidentifiedImageError

from qalqan.cases.reports import Attachment
from qalqan.errors import QalqanError

__all__ = ["MAX_PIXELS", "MAX_UPLOAD_BYTES", "UploadError", "read_screenshot", "sniff"]

MAX_UPLOAD_BYTES: Final = 2 * 1024 * 1024
MAX_PIXELS: Final = 4096 * 4096
MAX_SIDE: Final = 2560
"""A kept image's longer side: a larger one is scaled down (a phone's screenshot fits)."""
MAX_STORED_BYTES: Final = 4 * 1024 * 1024
"""A kept PNG's size: a small JPEG of noise can grow tenfold as PNG, so it is bounded too."""
_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG"),
)


class UploadError(QalqanError):
    """An attachment refused, and why."""


def sniff(data: bytes) -> str | None:
    """The image type of ``data`` by its first bytes, or None when it is none of the accepted."""
    for magic, media_type, _ in _MAGIC:
        if data.startswith(magic):
            return media_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def read_screenshot(data: bytes) -> Attachment:
    """The screenshot re-encoded as PNG without its metadata; UploadError saying why not."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    media_type = sniff(data)
    if media_type is None:
        raise UploadError("the file is not a PNG, JPEG or WebP image")
    formats = [media_type.removeprefix("image/").upper()]
    try:
        with Image.open(io.BytesIO(data), formats=formats) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UploadError(f"the image is over {MAX_PIXELS:,} pixels")
            image.load()
            clean = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            clean.thumbnail((MAX_SIDE, MAX_SIDE))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise UploadError("the image cannot be read") from e
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=False)
    if out.tell() > MAX_STORED_BYTES:
        raise UploadError("the image is too detailed to keep (over 4 MB as PNG)")
    return Attachment(data=out.getvalue(), media_type="image/png")
