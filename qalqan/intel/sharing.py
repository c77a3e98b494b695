"""Export and import as whole steps, for the command line and for tests alike.

:func:`export_analysis` turns a ``qalqan analyze`` folder into the text of a
MISP event or a STIX bundle; :func:`import_feed` reads a partner's file and
merges what screening uses into a reputation list, writing the rest (accounts,
places) beside it when asked. Neither prints; the CLI does.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from qalqan.intel.analysis import feed_of_analysis
from qalqan.intel.feed_file import DEFAULT_FEED_LIMITS, FeedLimits, ReadFeed, read_feed
from qalqan.intel.listing import Merged, merge_into_list
from qalqan.intel.misp import TLP_LEVELS, to_misp
from qalqan.intel.model import SCREENING_KINDS, Feed
from qalqan.intel.stix import to_stix

__all__ = ["FORMATS", "Imported", "export_analysis", "feed_text", "import_feed"]

Format = Literal["misp", "stix"]
FORMATS: tuple[Format, ...] = ("misp", "stix")


def feed_text(feed: Feed, *, format: Format, tlp: str = "amber") -> str:
    """The JSON text of ``feed`` as a MISP event or a STIX 2.1 bundle."""
    if tlp not in TLP_LEVELS:
        raise ValueError(f"TLP '{tlp}' is not one of {', '.join(TLP_LEVELS)}")
    if format == "misp":
        return json.dumps({"Event": json.loads(to_misp(feed, tlp=tlp).to_json())}, indent=1) + "\n"
    return json.dumps(to_stix(feed, tlp=tlp), indent=1) + "\n"


def export_analysis(
    out_dir: Path, *, format: Format, tlp: str = "amber", source: str = "qalqan analyze"
) -> tuple[Feed, str]:
    """The feed of a ``qalqan analyze`` folder and its text in ``format``."""
    feed = feed_of_analysis(out_dir, source=source)
    return feed, feed_text(feed, format=format, tlp=tlp)


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import read and what it did to the list."""

    read: ReadFeed
    merged: Merged
    others_written: int


def _write_others(path: Path, feed: Feed) -> int:
    rows = [i for i in feed.indicators if i.kind not in SCREENING_KINDS]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kind", "value", "source", "reason", "campaign"])
        writer.writerows([i.kind, i.value, i.source, i.reason, i.campaign] for i in rows)
    return len(rows)


def import_feed(
    path: Path,
    *,
    into: Path,
    source: str | None = None,
    confidence: float | None = None,
    expires_days: float | None = None,
    others: Path | None = None,
    limits: FeedLimits = DEFAULT_FEED_LIMITS,
    now: datetime | None = None,
) -> Imported:
    """Read a partner's MISP event or STIX bundle and merge it into the list ``into``.

    ``confidence`` (0–100) weighs the listings whose indicator says none;
    ``expires_days`` ends those whose indicator gives no end of its own.
    """
    if confidence is not None and not 0 <= confidence <= 100:
        raise ValueError(f"confidence {confidence:g} is not from 0 to 100")
    if expires_days is not None and not 0 < expires_days <= 3650:
        raise ValueError(f"expiry of {expires_days:g} days is not from 0 to 3650 days")
    read = read_feed(path, source=source, limits=limits)
    until = None
    if expires_days is not None:
        until = (now or datetime.now(UTC)).replace(microsecond=0) + timedelta(days=expires_days)
    merged = merge_into_list(
        into,
        read.feed.indicators,
        confidence=None if confidence is None else confidence / 100,
        until=until,
    )
    written = _write_others(others, read.feed) if others is not None else 0
    return Imported(read, merged, written)
