"""Reputation lists: numbers, number ranges, SIMs, handsets and farm cells known to be bad.

The real-time engine sees one call; the batch analytics sees weeks. What the
analytics finds — SIM-box SIMs and the handsets (IMEIs) of farms, the cells
farms work from, the number ranges of Wangiri bursts — comes back to the
engine as listings, and so do partners' lists (another operator's farm IMEIs,
a bank's list of numbers used against its customers). Every listing keeps its
source and reason, so a decision can say *who* said so and *why*:

    reputation.handset: IMEI 358759081234567 listed by qalqan analyze (farm F0001: carried 9 SIMs)

A listing may carry its own time span (``since``/``until``): the engine uses it
only for calls within the span, which is how replay feeds findings made at
hour H without letting them touch calls before H.

Two loaders:

- :meth:`ReputationLists.load_analysis` reads an output folder of ``qalqan
  analyze`` (``sims.csv``: SIMs judged ``simbox`` and their numbers;
  ``farms.csv``: farm IMEIs and, when present, cells; ``calls.csv``: the number
  ranges of Wangiri bursts, the ``range`` fact of their ``wangiri.*`` reasons). Numbers merely *presented* by spoofed calls are
  not listed: they belong to innocent people whose identity was borrowed.
- :meth:`ReputationLists.load_csv` reads a simple CSV,
  ``kind,value,source,reason`` with optional ``weight``, ``since``, ``until``;
  ``kind`` is one of ``number``, ``number_range`` (a prefix of E.164 numbers),
  ``imsi``, ``imei``, ``cell``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from qalqan.domain.messages import parse_reasons
from qalqan.domain.model import SimVerdict
from qalqan.domain.numbers import is_e164
from qalqan.errors import ConfigError, UnreadableFileError

__all__ = ["KINDS", "Listing", "ListingKind", "ReputationLists"]

ListingKind = Literal["number", "number_range", "imsi", "imei", "cell"]
KINDS: Final[tuple[ListingKind, ...]] = ("number", "number_range", "imsi", "imei", "cell")

_KIND_OF: Final[dict[str, ListingKind]] = {kind: kind for kind in KINDS}
_RANGE = re.compile(r"^\+[1-9][0-9]{2,13}$")
_FOREVER: Final = float("inf")


@dataclass(frozen=True, slots=True, kw_only=True)
class Listing:
    """One entry of a reputation list, with who said so and why."""

    kind: ListingKind
    value: str
    source: str
    reason: str
    weight: float | None = None
    """Overrides the rule's weight for this listing (0–1) when given."""
    since: float = -_FOREVER
    """Seconds since the epoch from which the listing applies."""
    until: float = _FOREVER

    def applies(self, t: float) -> bool:
        return self.since <= t <= self.until

    def describe(self) -> str:
        return f"listed by {self.source}" + (f" ({self.reason})" if self.reason else "")


@dataclass(slots=True)
class ReputationLists:
    """Listings by kind, each a dict from the listed value; ranges also by prefix length."""

    numbers: dict[str, Listing] = field(default_factory=dict)
    ranges: dict[str, Listing] = field(default_factory=dict)
    imsis: dict[str, Listing] = field(default_factory=dict)
    imeis: dict[str, Listing] = field(default_factory=dict)
    cells: dict[str, Listing] = field(default_factory=dict)
    range_lengths: tuple[int, ...] = ()
    """Lengths of the listed prefixes, longest first."""

    def add(self, listing: Listing) -> bool:
        """Add a listing; an existing listing of the same value is kept (the first word stands).

        Returns whether the listing was new.
        """
        table = self._table(listing.kind)
        if listing.value in table:
            return False
        table[listing.value] = listing
        if listing.kind == "number_range" and len(listing.value) not in self.range_lengths:
            self.range_lengths = tuple(
                sorted({*self.range_lengths, len(listing.value)}, reverse=True)
            )
        return True

    def _table(self, kind: ListingKind) -> dict[str, Listing]:
        if kind == "number":
            return self.numbers
        if kind == "number_range":
            return self.ranges
        if kind == "imsi":
            return self.imsis
        if kind == "imei":
            return self.imeis
        return self.cells

    def __len__(self) -> int:
        return sum(len(t) for t in (self.numbers, self.ranges, self.imsis, self.imeis, self.cells))

    def counts(self) -> dict[str, int]:
        return {kind: len(self._table(kind)) for kind in KINDS}

    def number_listing(self, number: str, t: float) -> Listing | None:
        """The listing of this number, or of the longest listed range it lies in."""
        found = self.numbers.get(number)
        if found is not None and found.applies(t):
            return found
        for length in self.range_lengths:
            found = self.ranges.get(number[:length])
            if found is not None and found.applies(t):
                return found
        return None

    # --- loading ------------------------------------------------------------------------
    def load_csv(self, path: Path, *, default_source: str | None = None) -> int:
        """Add the listings of a CSV ``kind,value,source,reason[,weight,since,until]``; returns how many."""
        added = 0
        for listing in _read_listing_csv(path, default_source or path.name):
            added += self.add(listing)
        return added

    def load_analysis(self, out_dir: Path, *, source: str = "qalqan analyze") -> int:
        """Add the findings of a ``qalqan analyze`` output folder; returns how many listings."""
        if not out_dir.is_dir():
            raise UnreadableFileError(out_dir, "there is no such folder")
        added = 0
        sims = out_dir / "sims.csv"
        if sims.exists():
            added += self._load_sim_boxes(sims, source)
        farms = out_dir / "farms.csv"
        if farms.exists():
            added += self._load_farms(farms, source)
        calls = out_dir / "calls.csv"
        if calls.exists():
            added += self._load_wangiri_ranges(calls, source)
        return added

    def _load_sim_boxes(self, sims: Path, source: str) -> int:
        """The IMSI and number of every SIM ``sims.csv`` judges a SIM box."""
        added = 0
        for row in _rows(sims):
            if row.get("verdict") != SimVerdict.SIMBOX:
                continue
            farm = row.get("farm_id") or ""
            why = f"farm {farm}: SIM judged a SIM box" if farm else "SIM judged a SIM box"
            if row.get("imsi"):
                added += self.add(
                    Listing(kind="imsi", value=row["imsi"], source=source, reason=why)
                )
            if row.get("msisdn") and is_e164(row["msisdn"]):
                added += self.add(
                    Listing(kind="number", value=row["msisdn"], source=source, reason=why)
                )
        return added

    def _load_farms(self, farms: Path, source: str) -> int:
        """The handsets and cells of every farm of ``farms.csv``, except its ``shared_imeis``."""
        added = 0
        for row in _rows(farms):
            farm = row.get("farm_id") or "?"
            why = f"farm {farm} of {row.get('n_sims') or '?'} SIMs"
            # a handset that ordinary SIMs used too, elsewhere, is a real phone's IMEI that
            # a modem copied: listing it would stop the phone's owner
            shared = set((row.get("shared_imeis") or "").split(";"))
            for imei in filter(None, (row.get("imeis") or "").split(";")):
                if imei not in shared:
                    added += self.add(Listing(kind="imei", value=imei, source=source, reason=why))
            for cell in filter(None, (row.get("cells") or "").split(";")):
                added += self.add(Listing(kind="cell", value=cell, source=source, reason=why))
        return added

    def _load_wangiri_ranges(self, calls: Path, source: str) -> int:
        """The number range of every one-ring burst ``calls.csv`` tells of: the ``range`` fact
        (``+37125000xx``) of a ``wangiri.*`` reason in its ``reason_facts``."""
        added = 0
        for row in _rows(calls):
            try:
                reasons = parse_reasons(row.get("reason_facts"))
            except ValueError:
                continue
            for reason in reasons:
                block = (
                    reason.facts_dict().get("range", "")
                    if reason.rule.startswith("wangiri.")
                    else ""
                )
                prefix = block.rstrip("x")
                if prefix != block and _RANGE.match(prefix):
                    added += self.add(
                        Listing(
                            kind="number_range",
                            value=prefix,
                            source=source,
                            reason="one-ring (Wangiri) burst from this range",
                        )
                    )
        return added


def _rows(path: Path) -> Iterator[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            yield from csv.DictReader(handle)
    except OSError as exc:
        raise UnreadableFileError(path, exc.strerror or str(exc)) from None


def _time(text: str, path: Path, line: int, column: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ConfigError(f"{path}:{line}: {column} '{text}' is not an ISO 8601 time") from None


def _read_listing_csv(path: Path, default_source: str) -> Iterator[Listing]:
    rows = _rows(path)
    for line, row in enumerate(rows, start=2):
        if line == 2 and not {"kind", "value"} <= set(row):
            raise ConfigError(
                f"{path}: a list needs the columns kind,value[,source,reason,weight,since,until]"
            )
        kind_text = (row.get("kind") or "").strip()
        value = (row.get("value") or "").strip()
        kind = _KIND_OF.get(kind_text)
        if kind is None:
            raise ConfigError(f"{path}:{line}: kind '{kind_text}' is not one of {', '.join(KINDS)}")
        if kind == "number" and not is_e164(value):
            raise ConfigError(f"{path}:{line}: '{value}' is not an E.164 number")
        if kind == "number_range" and not _RANGE.match(value):
            raise ConfigError(
                f"{path}:{line}: '{value}' is not a number range (+ and 2 to 13 digits)"
            )
        if not value:
            raise ConfigError(f"{path}:{line}: empty value")
        weight_text = (row.get("weight") or "").strip()
        weight: float | None = None
        if weight_text:
            try:
                weight = float(weight_text)
            except ValueError:
                weight = -1.0
            if not 0.0 <= weight <= 1.0:
                raise ConfigError(
                    f"{path}:{line}: weight '{weight_text}' is not a number from 0 to 1"
                )
        since_text = (row.get("since") or "").strip()
        until_text = (row.get("until") or "").strip()
        yield Listing(
            kind=kind,
            value=value,
            source=(row.get("source") or "").strip() or default_source,
            reason=(row.get("reason") or "").strip(),
            weight=weight,
            since=_time(since_text, path, line, "since") if since_text else -_FOREVER,
            until=_time(until_text, path, line, "until") if until_text else _FOREVER,
        )
