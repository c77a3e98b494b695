"""A partner's indicators merged into a reputation list the screening engine loads.

The list is the CSV of :meth:`~qalqan.screening.reputation.ReputationLists.load_csv`
(``kind,value,source,reason,weight,since,until``). Merging keeps every row the
list had, in its order, and adds the indicators whose kind screening uses
(numbers, ranges, IMSIs, IMEIs, cells) and which the list does not hold yet: the
first word stands, as when the engine loads several lists. A listing's weight is
the partner's confidence (0–100 read as 0–1), and its ``until`` the partner's
own expiry or, failing that, the expiry given at import. The existing list is
read with the engine's own loader, so a list this module writes is one the
engine loads, and a broken list is refused before it is rewritten.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from qalqan.intel.model import SCREENING_KINDS, Indicator
from qalqan.screening.reputation import Listing, ListingKind, ReputationLists

__all__ = ["LIST_COLUMNS", "Merged", "listing_of", "merge_into_list"]

LIST_COLUMNS = ("kind", "value", "source", "reason", "weight", "since", "until")


@dataclass(slots=True)
class Merged:
    """What a merge did: listings added, already listed, and indicators of other kinds by kind."""

    added: int = 0
    already_listed: int = 0
    not_for_screening: dict[str, int] = field(default_factory=dict)


def listing_of(
    indicator: Indicator, *, confidence: float | None = None, until: datetime | None = None
) -> Listing:
    """The listing of an indicator of a kind screening uses; ``confidence`` (0–1) and ``until``
    apply when the indicator does not carry its own."""
    weight = confidence if indicator.confidence is None else indicator.confidence / 100
    ends = indicator.until or until
    value = indicator.value.rstrip("x") if indicator.kind == "number_range" else indicator.value
    kind: ListingKind = indicator.kind  # type: ignore[assignment]  # one of SCREENING_KINDS
    return Listing(
        kind=kind,
        value=value,
        source=indicator.source,
        reason=indicator.reason,
        weight=weight,
        until=math.inf if ends is None else ends.timestamp(),
    )


def _time(seconds: float) -> str:
    if math.isinf(seconds):
        return ""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _row(listing: Listing) -> list[str]:
    weight = "" if listing.weight is None else f"{listing.weight:g}"
    return [
        listing.kind,
        listing.value,
        listing.source,
        listing.reason,
        weight,
        _time(listing.since),
        _time(listing.until),
    ]


def _existing(path: Path) -> list[Listing]:
    if not path.exists():
        return []
    lists = ReputationLists()
    lists.load_csv(path)
    return [
        listing
        for table in (lists.numbers, lists.ranges, lists.imsis, lists.imeis, lists.cells)
        for listing in table.values()
    ]


def merge_into_list(
    path: Path,
    indicators: Iterable[Indicator],
    *,
    confidence: float | None = None,
    until: datetime | None = None,
) -> Merged:
    """Add the indicators screening uses to the list at ``path`` (made when absent)."""
    listings = _existing(path)
    held = {(listing.kind, listing.value) for listing in listings}
    merged = Merged()
    for indicator in indicators:
        if indicator.kind not in SCREENING_KINDS:
            merged.not_for_screening[indicator.kind] = (
                merged.not_for_screening.get(indicator.kind, 0) + 1
            )
            continue
        listing = listing_of(indicator, confidence=confidence, until=until)
        if (listing.kind, listing.value) in held:
            merged.already_listed += 1
            continue
        held.add((listing.kind, listing.value))
        listings.append(listing)
        merged.added += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", delete=False, newline="", encoding="utf-8"
    ) as handle:
        writer = csv.writer(handle)
        writer.writerow(LIST_COLUMNS)
        writer.writerows(_row(listing) for listing in listings)
    os.replace(handle.name, path)
    return merged
