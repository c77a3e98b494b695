"""What the operator tells the engine about its own network: subscribers, roaming, registry, cells.

These are reference facts rather than rolling state: who our subscribers are
(so that our own numbers arriving from abroad can be checked against their
roaming), when each SIM was activated and by whose identity document (young
SIMs and straw owners are what SIM farms are made of), how old the registered
owner is (elderly subscribers who opted in are warned more readily), which
numbers are protected by the registry, and which site each cell belongs to.

Roaming is the one part that changes while the engine runs: periods are
loaded from the ``roaming`` table and can be opened and closed as the
operator's HLR reports registrations abroad (:meth:`Subscribers.start_roaming`,
:meth:`Subscribers.end_roaming`). The engine asks only "is this SIM abroad at
the moment of the call", never when it will come back.

Everything is held in plain dicts keyed by strings, built once at start-up,
so that a lookup on the hot path is one hash probe.
"""

from __future__ import annotations

import bisect
import csv
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from qalqan.domain.model import RegistryEntry, RegistryPolicy
from qalqan.domain.numbers import describe, is_e164
from qalqan.errors import ConfigError, UnreadableFileError

if TYPE_CHECKING:
    import pyarrow as pa

    from qalqan.exchange.reader import DataSet

__all__ = [
    "CellSites",
    "Network",
    "ProtectedNumbers",
    "SubscriberFacts",
    "Subscribers",
    "guess_home_region",
    "load_network",
]

_EPOCH = date(1970, 1, 1)


def _day_start(day: date) -> float:
    return float((day - _EPOCH).days * 86_400)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriberFacts:
    """One SIM of this operator as the engine needs it."""

    imsi: str
    msisdn: str
    activated_s: float | None = None
    """Start of the activation day, seconds since the epoch (UTC)."""
    plan: str | None = None
    birth_year: int | None = None
    owner_id: str | None = None
    activation_batch: str | None = field(init=False, default=None)
    """SIMs activated the same day with IMSIs in the same thousand: a box bought at once."""

    def __post_init__(self) -> None:
        if self.activated_s is not None and len(self.imsi) >= 6:
            batch = f"{int(self.activated_s // 86_400)}:{self.imsi[:-3]}"
            object.__setattr__(self, "activation_batch", batch)


@dataclass(slots=True)
class Subscribers:
    """The operator's SIMs by number and by IMSI, their roaming, and who asked for protection."""

    by_msisdn: dict[str, SubscriberFacts] = field(default_factory=dict)
    by_imsi: dict[str, SubscriberFacts] = field(default_factory=dict)
    roaming: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)
    """IMSI → periods abroad (start, end, country), sorted by start; end is +inf while open."""
    protection_opt_in: set[str] = field(default_factory=set)
    """Numbers whose owners asked to be protected, whatever their age."""
    protection_opt_out: set[str] = field(default_factory=set)
    """Numbers whose owners declined protection."""
    roaming_known: bool = True
    """False when the operator gave no roaming data at all: "not roaming" then proves nothing."""

    def add(self, facts: SubscriberFacts) -> None:
        self.by_msisdn[facts.msisdn] = facts
        self.by_imsi[facts.imsi] = facts

    def __len__(self) -> int:
        return len(self.by_imsi)

    # --- roaming ------------------------------------------------------------------------
    def add_roaming(self, imsi: str, start_s: float, end_s: float, country: str) -> None:
        self.roaming_known = True
        periods = self.roaming.setdefault(imsi, [])
        bisect.insort(periods, (start_s, end_s, country))

    def start_roaming(self, imsi: str, country: str, at: datetime) -> None:
        """The HLR reports the SIM registered abroad from ``at`` on (until :meth:`end_roaming`)."""
        self.add_roaming(imsi, at.timestamp(), float("inf"), country)

    def end_roaming(self, imsi: str, at: datetime) -> None:
        """The SIM is back home from ``at``: close its open periods."""
        t = at.timestamp()
        periods = self.roaming.get(imsi, [])
        self.roaming[imsi] = [(s, min(e, t) if s <= t else e, c) for s, e, c in periods]

    def roaming_country(self, imsi: str, t: float, grace_s: float = 0.0) -> str | None:
        """The country the SIM is registered in at moment ``t``, or None when at home.

        ``grace_s`` widens every period on both sides: registrations reach the
        operator's data a little late, and a clock may be a little off.
        """
        periods = self.roaming.get(imsi)
        if not periods:
            return None
        for start, end, country in periods:
            if start - grace_s <= t <= end + grace_s:
                return country
        return None

    # --- protection of vulnerable subscribers --------------------------------------------
    def load_protection_list(self, path: Path) -> None:
        """Numbers that opted in (one a line, or a CSV with ``msisdn`` and optional ``protect``)."""
        for number, protect in _read_protection(path):
            (self.protection_opt_in if protect else self.protection_opt_out).add(number)

    # --- loading ------------------------------------------------------------------------
    @classmethod
    def from_tables(cls, subscribers: pa.Table, roaming: pa.Table | None = None) -> Subscribers:
        """From the exchange-v1 ``subscribers`` and ``roaming`` tables (canonical Arrow types)."""
        out = cls(roaming_known=roaming is not None)
        names = set(subscribers.column_names)

        def column(name: str) -> list[object]:
            return (
                subscribers.column(name).to_pylist()
                if name in names
                else [None] * subscribers.num_rows
            )

        for imsi, msisdn, activated, plan, birth_year, owner in zip(
            column("imsi"),
            column("msisdn"),
            column("activated"),
            column("plan"),
            column("birth_year"),
            column("owner_id"),
            strict=True,
        ):
            if not isinstance(imsi, str) or not isinstance(msisdn, str):
                continue
            out.add(
                SubscriberFacts(
                    imsi=imsi,
                    msisdn=msisdn,
                    activated_s=_day_start(activated) if isinstance(activated, date) else None,
                    plan=plan if isinstance(plan, str) else None,
                    birth_year=birth_year if isinstance(birth_year, int) else None,
                    owner_id=owner if isinstance(owner, str) else None,
                )
            )
        if roaming is not None and roaming.num_rows:
            for imsi, start, end, country in zip(
                roaming.column("imsi").to_pylist(),
                roaming.column("start_time").to_pylist(),
                roaming.column("end_time").to_pylist(),
                roaming.column("country").to_pylist(),
                strict=True,
            ):
                if isinstance(start, datetime) and isinstance(end, datetime) and imsi:
                    out.add_roaming(str(imsi), start.timestamp(), end.timestamp(), str(country))
        return out


def _read_protection(path: Path) -> Iterator[tuple[str, bool]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UnreadableFileError(path, exc.strerror or str(exc)) from None
    lines = text.splitlines()
    if lines and "msisdn" in lines[0].split(","):
        for line_no, row in enumerate(csv.DictReader(lines), start=2):
            number = (row.get("msisdn") or "").strip()
            if not is_e164(number):
                raise ConfigError(f"{path}:{line_no}: '{number}' is not an E.164 number")
            protect = (row.get("protect") or "yes").strip().lower() not in ("no", "false", "0")
            yield number, protect
        return
    for line_no, line in enumerate(lines, start=1):
        number = line.split("#", 1)[0].strip()
        if not number:
            continue
        if not is_e164(number):
            raise ConfigError(f"{path}:{line_no}: '{number}' is not an E.164 number")
        yield number, True


@dataclass(slots=True)
class ProtectedNumbers:
    """The registry: numbers that never call out, or call only through their registered route."""

    by_number: dict[str, tuple[str, bool, frozenset[str]]] = field(default_factory=dict)
    """number → (owner, inbound_only, allowed ingress strings)."""

    def add(self, entry: RegistryEntry) -> None:
        owner, inbound_only, routes = self.by_number.get(
            entry.number, (entry.owner, False, frozenset())
        )
        if entry.policy.inbound_only:
            inbound_only = True
        elif entry.policy.route is not None:
            routes = routes | {str(entry.policy.route)}
        self.by_number[entry.number] = (owner, inbound_only, routes)

    def __len__(self) -> int:
        return len(self.by_number)

    @classmethod
    def from_entries(cls, entries: Iterable[RegistryEntry]) -> ProtectedNumbers:
        out = cls()
        for entry in entries:
            out.add(entry)
        return out

    @classmethod
    def from_table(cls, registry: pa.Table) -> ProtectedNumbers:
        out = cls()
        for number, owner, policy in zip(
            registry.column("number").to_pylist(),
            registry.column("owner").to_pylist(),
            registry.column("policy").to_pylist(),
            strict=True,
        ):
            if number and policy:
                out.add(
                    RegistryEntry(
                        number=str(number),
                        owner=str(owner or ""),
                        policy=RegistryPolicy.parse(str(policy)),
                    )
                )
        return out


@dataclass(slots=True)
class CellSites:
    """Which site (mast) each cell belongs to: a farm shows up on all three sectors of one site."""

    site_of: dict[str, str] = field(default_factory=dict)

    def site(self, cell: str) -> str:
        return self.site_of.get(cell, cell)

    @classmethod
    def from_table(cls, cells: pa.Table) -> CellSites:
        return cls(
            site_of={
                str(c): str(s)
                for c, s in zip(
                    cells.column("cell_id").to_pylist(),
                    cells.column("site_id").to_pylist(),
                    strict=True,
                )
                if c and s
            }
        )


def guess_home_region(subscribers: Subscribers, *, sample: int = 2000) -> str | None:
    """The operator's country: the region most of its subscribers' numbers belong to."""
    regions: Counter[str] = Counter()
    for i, number in enumerate(subscribers.by_msisdn):
        if i >= sample:
            break
        region = describe(number).region
        if region:
            regions[region] += 1
    return regions.most_common(1)[0][0] if regions else None


@dataclass(slots=True)
class Network:
    subscribers: Subscribers
    protected: ProtectedNumbers
    cells: CellSites


def load_network(dataset: DataSet, *, quarantine: Path | None = None) -> Network:
    """Subscribers, roaming, registry and cells of a data set (absent tables read as empty)."""
    subscribers = Subscribers.from_tables(
        dataset.read_all("subscribers", quarantine=quarantine),
        dataset.read_all("roaming", quarantine=quarantine) if dataset.has("roaming") else None,
    )
    protected = ProtectedNumbers.from_table(dataset.read_all("registry", quarantine=quarantine))
    cells = CellSites.from_table(dataset.read_all("cells", quarantine=quarantine))
    return Network(subscribers=subscribers, protected=protected, cells=cells)
