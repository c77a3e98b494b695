"""A partner's feed file, read within bounds before anything trusts it.

A feed comes from outside, so every cost its sender can drive is bounded
before the JSON is parsed: the file's size (checked on disk, then on the bytes
read), the number of values in it, the nesting depth (counted over the text with its strings taken out, so
no parser recursion is ever reached) and the number of JSON objects in it. Then
the file must be UTF-8 JSON without NaN or Infinity, and either a STIX bundle or
a MISP event; anything else is refused with the file and the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from qalqan.intel.misp import from_misp
from qalqan.intel.model import Feed, FeedError
from qalqan.intel.stix import from_stix

__all__ = ["DEFAULT_FEED_LIMITS", "FeedLimits", "ReadFeed", "parse_feed", "read_feed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedLimits:
    """What one feed file may cost."""

    max_bytes: int = 64 * 1024 * 1024
    max_depth: int = 24
    """MISP events and STIX bundles nest about 6 deep; 24 leaves room and no more."""
    max_objects: int = 500_000
    """JSON objects (``{...}``) in the file, each indicator a few of them."""
    max_values: int = 5_000_000
    """Values of any kind (commas between them, outside strings): a list of bare numbers
    costs Python memory too."""


DEFAULT_FEED_LIMITS: Final = FeedLimits()
_STRING: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


@dataclass(frozen=True, slots=True)
class ReadFeed:
    """A feed as read, its format, and how many objects in it were no kind of indicator."""

    feed: Feed
    format: str
    skipped: int


def _structure(raw: bytes, file: str, limits: FeedLimits) -> None:
    """Refuse ``raw`` nesting deeper than the limit or holding too many objects."""
    bare = np.frombuffer(_STRING.sub(b'""', raw), dtype=np.uint8)
    opens = (bare == ord("{")) | (bare == ord("["))
    closes = (bare == ord("}")) | (bare == ord("]"))
    objects = int(np.count_nonzero(bare == ord("{")))
    if objects > limits.max_objects:
        raise FeedError(
            file, "", f"holds {objects:,} JSON objects, more than the limit {limits.max_objects:,}"
        )
    values = int(np.count_nonzero(bare == ord(","))) + 1
    if values > limits.max_values:
        raise FeedError(
            file, "", f"holds {values:,} JSON values, more than the limit {limits.max_values:,}"
        )
    depth = np.cumsum(opens.astype(np.int64) - closes.astype(np.int64))
    deepest = int(depth.max()) if depth.size else 0
    if deepest > limits.max_depth:
        raise FeedError(
            file, "", f"nests {deepest} levels deep, more than the limit {limits.max_depth}"
        )


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def parse_feed(
    raw: bytes, *, file: str, source: str | None = None, limits: FeedLimits = DEFAULT_FEED_LIMITS
) -> ReadFeed:
    """The feed of the bytes of a STIX bundle or a MISP event; raises :class:`FeedError`."""
    if len(raw) > limits.max_bytes:
        raise FeedError(file, "", f"is larger than the limit of {limits.max_bytes:,} bytes")
    _structure(raw, file, limits)
    try:
        data: Any = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise FeedError(file, f"byte {exc.start}", "is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise FeedError(
            file, f"line {exc.lineno} column {exc.colno}", f"not JSON: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise FeedError(file, "", str(exc)) from None
    if isinstance(data, dict) and data.get("type") == "bundle":
        feed, skipped = from_stix(data, file=file, source=source)
        return ReadFeed(feed, "stix", skipped)
    if isinstance(data, dict) and ("Event" in data or "Attribute" in data or "Object" in data):
        feed, skipped = from_misp(data, file=file, source=source)
        return ReadFeed(feed, "misp", skipped)
    raise FeedError(file, "", "is neither a STIX 2.1 bundle nor a MISP event")


def read_feed(
    path: Path, *, source: str | None = None, limits: FeedLimits = DEFAULT_FEED_LIMITS
) -> ReadFeed:
    """The feed of a file, refused before it is read when larger than the limit."""
    file = str(path)
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise FeedError(
                file, "", f"is larger than the limit of {limits.max_bytes:,} bytes ({size:,})"
            )
        with path.open("rb") as handle:
            raw = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise FeedError(file, "", exc.strerror or str(exc)) from None
    return parse_feed(raw, file=file, source=source, limits=limits)
