"""A light batch detector that replay runs every simulated hour over the calls seen so far.

The real-time rules look at the last minutes or the last day of one key. The
batch analytics (``qalqan analyze``) looks at everything, and takes seconds to
minutes; running it every hour of a replay would cost hours. This detector
sits between: it keeps running totals as the replay streams (nothing is read
twice) and, at each hour boundary, turns them into reputation listings that
apply from that moment on — never to an earlier call:

- **SIM-box handsets** — an IMEI that carried ``min_sims_per_imei`` or more
  SIMs in one day at one site: the IMEI and every SIM it carried there are listed;
- **SIM-box SIMs** — a young SIM that called ``min_callees`` or more
  different people, hardly ever the same person twice, and was never called
  or texted by anyone but other young SIMs: the SIM, its number and its
  handsets are listed;
- **farms that fake their SIMs' lives** — evasive farms give every SIM a fresh
  handset, move, have their SIMs call and text each other so that none looks
  unused, and may even be called from outside. What they cannot fake is a life
  beyond the farm: a young SIM with fewer than ``min_life_contacts`` people
  outside the young SIMs it kept in touch with (two calls or SMS, either way)
  is *farm-like*. Farm-like SIMs that called or texted each other and called
  from a common site are joined (each tied to ``min_siblings`` others at
  least), and the group is judged as a whole: with
  ``min_cluster`` or more SIMs whose calls out of the group went to at least
  ``min_cluster`` people, ``min_stranger_share`` of them numbers it never had
  contact with, it is a farm: its SIMs and handsets are listed, and a new SIM
  that joins it (calls or texts its SIMs from its site) is listed at the next run;
- **farm stock** — once ``min_listed_siblings`` SIMs of one activation batch
  (same day, IMSIs in one thousand) or of one straw owner are listed, the
  rest of that batch or owner's SIMs are listed too, *before* they make their
  first call (the farm's unused stock);
- **farm sites** (``list_farm_sites``, off by default) — a site from which ``min_listed_at_site`` listed SIMs called
  within the last ``farm_site_hours`` is listed as the farm's place for as
  long again, renewed while the farm stays (it weighs on young SIMs only): a
  farm that moves through a city is followed, and the people living where it
  stood are left alone once it has gone;

A box's modems carry copied IMEIs, or IMEIs drawn from the ranges real phones use, so a
listed box's IMEI may also be a real phone's. An IMEI that a SIM no longer young and not
listed used at a site where the IMEI never carried ``min_sims_per_imei`` SIMs in a day (the
phone, in its owner's pocket in another town) is not listed, and a listing of it made by
this watch is taken back at the next run: listed, it would stop the phone's owner. A SIM
that used it at the box's site is one handset with the box, as in ``qalqan analyze``; a SIM
of the box that grew old in it is listed itself, and does not count.

Wangiri is not this watch's: the engine's ``wangiri.one_ring_burst`` finds a burst
live, by the one definition :mod:`qalqan.detections.wangiri` that ``qalqan analyze``
uses too, and keeps stopping it while the range rings its crowd.

"Young" is the screening configuration's ``network.young_sim_days`` (one
definition for the real-time rules, this watch and the batch analysis;
:data:`~qalqan.screening.config.YOUNG_SIM_DAYS` by default). Corporate and M2M SIMs are left alone,
as in the real-time rules. Memory is bounded by forgetting SIMs, handsets
and contacts not seen for ``forget_days``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final, TypeVar

from qalqan.config import from_env, part, setting
from qalqan.errors import ConfigError
from qalqan.screening.config import YOUNG_SIM_DAYS
from qalqan.screening.network import SubscriberFacts, Subscribers
from qalqan.screening.reputation import Listing, ReputationLists

__all__ = ["FarmWatch", "FarmWatchSettings"]

_DAY: Final = 86_400.0
_Item = TypeVar("_Item")
_BUSINESS_PLANS: Final = frozenset({"corporate", "m2m"})


def _about(name: str, help: str) -> dict[str, Any]:
    return setting(f"QALQAN_FARM_WATCH_{name.upper()}", help)


@part("farm_watch", prefix="QALQAN_FARM_WATCH_", title="farm watch settings")
@dataclass(frozen=True, slots=True, kw_only=True)
class FarmWatchSettings:
    """The thresholds of replay's hourly batch detector: the ``[farm_watch]`` table,
    ``QALQAN_FARM_WATCH_*``."""

    min_sims_per_imei: int = field(
        default=4,
        metadata=_about(
            "min_sims_per_imei",
            "SIMs one handset (IMEI) carried in one day at one site for it and those SIMs to be "
            "listed as a SIM box (not the handset when a SIM no longer young used it elsewhere).",
        ),
    )
    min_callees: int = field(
        default=12,
        metadata=_about(
            "min_callees",
            "Different people a young SIM called, never called or texted by anyone but other "
            "young SIMs, for it to be listed as a SIM-box SIM.",
        ),
    )
    max_calls_per_callee: float = field(
        default=1.3,
        metadata=_about(
            "max_calls_per_callee",
            "Most calls per person called for such a SIM (a SIM box hardly ever calls anyone "
            "twice).",
        ),
    )
    min_stranger_share: float = field(
        default=0.8,
        metadata=_about(
            "min_stranger_share",
            "Share of a farm-like group's calls out of the group that went to numbers it never "
            "had contact with, for the group to be listed as a farm.",
        ),
    )
    min_life_contacts: int = field(
        default=2,
        metadata=_about(
            "min_life_contacts",
            "People beyond the young SIMs a young SIM kept in touch with (two calls or SMS, "
            "either way); fewer, and it is farm-like.",
        ),
    )
    min_siblings: int = field(
        default=2,
        metadata=_about(
            "min_siblings",
            "Other farm-like SIMs a farm-like SIM called or texted, from a common site, to be "
            "joined to their group.",
        ),
    )
    min_listed_siblings: int = field(
        default=3,
        metadata=_about(
            "min_listed_siblings",
            "Listed SIMs of one activation batch or one straw owner after which the rest of "
            "them (the farm's unused stock) are listed too.",
        ),
    )
    min_listed_at_site: int = field(
        default=4,
        metadata=_about(
            "min_listed_at_site",
            "Listed SIMs that called from one site within farm_site_hours for the site to be "
            "listed (with list_farm_sites).",
        ),
    )
    young_sim_days: float = field(
        default=YOUNG_SIM_DAYS,
        metadata={
            "help": "How young a young SIM is, in days: the rules file's "
            "network.young_sim_days, which replay passes on (not a setting of its own)."
        },
    )
    min_cluster: int = field(
        default=4,
        metadata=_about(
            "min_cluster",
            "SIMs a farm-like group needs, and people its calls out of the group reached, to be "
            "judged a farm.",
        ),
    )
    farm_site_hours: float = field(
        default=2.0,
        metadata=_about(
            "farm_site_hours",
            "Hours a site looks back for listed SIMs, and stays listed for, renewed while the "
            "farm stays.",
        ),
    )
    list_farm_sites: bool = field(
        default=False,
        metadata=_about(
            "list_farm_sites",
            "List farm sites (weighing on young SIMs only). Off: on moving farms it caught 0.1 % "
            "more of the centers' calls than sim_farm.young_sims_at_site alone, and touched "
            "young SIMs of the people living where the farm stood (0.1-0.3 % of their calls).",
        ),
    )
    forget_days: float = field(
        default=7.0,
        metadata=_about(
            "forget_days",
            "Days after which SIMs, handsets and contacts not seen are forgotten (bounds memory).",
        ),
    )

    def __post_init__(self) -> None:
        problems = [
            f"{f.metadata['env']}={getattr(self, f.name)} must be above 0"
            for f in fields(self)
            if "env" in f.metadata
            and not isinstance(getattr(self, f.name), bool)
            and not getattr(self, f.name) > 0
        ]
        if not self.min_stranger_share <= 1:
            problems.append(
                f"QALQAN_FARM_WATCH_MIN_STRANGER_SHARE={self.min_stranger_share} is above 1"
            )
        if problems:
            raise ConfigError("farm watch settings: " + "; ".join(problems))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FarmWatchSettings:
        """Settings from the file ``QALQAN_CONFIG`` names (its ``[farm_watch]`` table), then
        ``QALQAN_FARM_WATCH_*`` variables; every mistake named in one ConfigError."""
        return from_env(cls, environ)


@dataclass(slots=True)
class _Sim:
    first_t: float
    last_t: float
    number: str | None = None
    """The number it presented."""
    calls: int = 0
    strangers: int = 0
    """Calls to numbers it never had contact with before."""
    callees: set[str] = field(default_factory=set)
    outside_calls: int = 0
    """Calls and SMS to numbers that are not young SIMs of ours (out of a farm's group)."""
    outside_strangers: int = 0
    outside_callees: set[str] = field(default_factory=set)
    imeis: set[str] = field(default_factory=set)
    sites: set[str] = field(default_factory=set)
    site: str | None = None
    """Where it last called from."""


class FarmWatch:
    """Running totals of the attempts seen so far, turned into listings at each :meth:`run`."""

    def __init__(
        self,
        subscribers: Subscribers,
        *,
        settings: FarmWatchSettings | None = None,
        source: str = "replay farm watch",
    ) -> None:
        self.subscribers = subscribers
        self.settings = settings or FarmWatchSettings()
        self.source = source
        self._sims: dict[str, _Sim] = {}
        self._heard_from_old: dict[str, float] = {}
        """When each number last received a call or SMS from anyone but our young SIMs."""
        self._contacts: dict[tuple[str, str], float] = {}
        self._lives: dict[str, dict[str, float]] = {}
        """A young SIM's number → people beyond the young SIMs it kept in touch with → when last."""
        self._imei_day: dict[tuple[str, int, str], set[str]] = defaultdict(set)
        """(IMEI, day, site) → the SIMs it carried there that day (site "" when unknown)."""
        self._old_users: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
        """IMEI → (site, IMSI) of a SIM no longer young that used it there → when last (a phone
        whose IMEI a box's modem may carry)."""
        self._busy: dict[tuple[str, int, str], set[str]] = {}
        """Of :attr:`_imei_day`, the handsets that carried ``min_sims_per_imei`` SIMs at a site in
        a day, as of the run (one pass over them a run)."""
        self._busy_sites: dict[str, set[str]] = {}
        """IMEI → the sites where it carried ``min_sims_per_imei`` SIMs in a day, as of the run."""
        self.taken_back = 0
        """Listings of handsets taken back because a phone's owner turned out to use them."""
        self._listed_at_site: dict[str, dict[str, float]] = defaultdict(dict)
        """Site → listed SIMs that called from it → when last."""
        self._dirty: set[str] = set()
        self._young_links: dict[tuple[str, str], float] = {}
        """(imsi, imsi) of young SIMs that called or texted each other → when last."""
        self._listed_sims: set[str] = set()
        self._batches: dict[str, list[str]] | None = None
        self._owners: dict[str, list[str]] | None = None
        self.runs = 0
        self.listed = 0

    # --- streaming ------------------------------------------------------------------------
    def add(
        self,
        *,
        t: float,
        caller: str | None,
        callee: str,
        imsi: str | None,
        imei: str | None,
        site: str | None,
    ) -> None:
        """One attempt, after it was decided."""
        sub = self.subscribers
        callee_sim = sub.by_msisdn.get(callee)
        caller_sim = sub.by_imsi.get(imsi) if imsi is not None else None
        young_s = self.settings.young_sim_days * _DAY
        caller_young = caller_sim is not None and _young(caller_sim, t, young_s)
        if not caller_young:
            self._heard_from_old[callee] = t
        callee_young = callee_sim is not None and _young(callee_sim, t, young_s)
        stranger = False
        if caller:
            pair = (caller, callee) if caller < callee else (callee, caller)
            stranger = pair not in self._contacts
            self._contacts[pair] = t
            if not stranger and caller_young != callee_young:
                self._kept_in_touch(
                    caller if caller_young else callee, callee if caller_young else caller, t
                )
        if imsi is None:
            return
        sim = self._sims.get(imsi)
        if sim is None:
            sim = self._sims[imsi] = _Sim(first_t=t, last_t=t)
        sim.last_t = t
        sim.number = caller
        sim.calls += 1
        sim.strangers += stranger
        sim.callees.add(callee)
        if not callee_young:
            sim.outside_calls += 1
            sim.outside_strangers += stranger
            sim.outside_callees.add(callee)
        if imei:
            sim.imeis.add(imei)
            self._imei_day[(imei, int(t // _DAY), site or "")].add(imsi)
            if caller_sim is not None and not caller_young:
                self._old_users[imei][(site or "", imsi)] = t
        if site:
            sim.sites.add(site)
            sim.site = site
            if imsi in self._listed_sims:
                self._listed_at_site[site][imsi] = t
        self._dirty.add(imsi)
        if caller_young and callee_young and callee_sim is not None and callee_sim.imsi != imsi:
            a, b = imsi, callee_sim.imsi
            self._young_links[(a, b) if a < b else (b, a)] = t

    def _kept_in_touch(self, young: str, other: str, t: float) -> None:
        """A second contact between a young SIM's number and someone else: part of a life."""
        known = self._lives.setdefault(young, {})
        if other in known or len(known) < 2 * self.settings.min_life_contacts:
            known[other] = t

    # --- the hourly run ----------------------------------------------------------------------
    def run(self, now: float, lists: ReputationLists) -> int:
        """Turn the totals so far into listings valid from ``now``; returns how many were added."""
        newly: list[str] = []
        """SIMs listed by this run, in the order listed."""
        self._take_back_phones(lists)
        added = self._list_busy_handsets(now, lists, newly)
        added += self._list_silent_sims(now, lists, newly)
        added += self._list_clusters(now, lists, newly)
        added += self._list_stock(newly, now, lists)
        if self.settings.list_farm_sites:
            added += self._list_sites(newly, now, lists)

        self._forget(now)
        self.runs += 1
        self.listed += added
        return added

    def _list_new_sim(
        self, imsi: str, why: str, now: float, lists: ReputationLists, newly: list[str]
    ) -> int:
        """List a SIM not listed yet (noting it in ``newly``); returns how many listings were new."""
        if imsi in self._listed_sims:
            return 0
        newly.append(imsi)
        return self._list_sim(imsi, why, now, lists)

    def _take_back_phones(self, lists: ReputationLists) -> None:
        """Note where each handset was busy, and take back this watch's listings of the handsets
        that are people's phones too (:meth:`_is_phone`)."""
        least = self.settings.min_sims_per_imei
        self._busy = {key: imsis for key, imsis in self._imei_day.items() if len(imsis) >= least}
        busy: dict[str, set[str]] = defaultdict(set)
        for imei, _, site in self._busy:
            busy[imei].add(site)
        self._busy_sites = busy
        for imei in sorted(imei for imei in lists.imeis if imei in self._old_users):
            listing = lists.imeis[imei]
            if listing.source == self.source and self._is_phone(imei):
                del lists.imeis[imei]
                self.taken_back += 1

    def _is_phone(self, imei: str) -> bool:
        """Whether a SIM no longer young, and not listed, used ``imei`` at a site where the
        handset never carried ``min_sims_per_imei`` SIMs in a day: a phone, in its owner's pocket,
        whose IMEI a box's modem carries too. A SIM of the box that grew old in it is listed, and
        one seen at the box's site is one handset with the box."""
        busy = self._busy_sites.get(imei, set())
        return any(
            site not in busy and imsi not in self._listed_sims
            for site, imsi in self._old_users.get(imei, {})
        )

    def _list_imeis(self, imeis: set[str], why: str, now: float, lists: ReputationLists) -> int:
        added = 0
        for imei in sorted(imeis):
            if self._is_phone(imei):
                continue
            added += lists.add(
                Listing(kind="imei", value=imei, source=self.source, reason=why, since=now)
            )
        return added

    def _list_busy_handsets(self, now: float, lists: ReputationLists, newly: list[str]) -> int:
        """Handsets that carried many SIMs at one site in a day (today or yesterday), and those
        SIMs (not the handset when it is also a phone's elsewhere: :meth:`_is_phone`)."""
        added = 0
        today = int(now // _DAY)
        for (imei, day, site), imsis in self._busy.items():
            if day < today - 1:
                continue
            at = f" at site {site}" if site else ""
            why = f"handset {imei} carried {len(imsis)} SIMs in one day{at}"
            added += self._list_imeis({imei}, why, now, lists)
            for imsi in sorted(imsis):
                added += self._list_new_sim(imsi, why, now, lists, newly)
        return added

    def _list_silent_sims(self, now: float, lists: ReputationLists, newly: list[str]) -> int:
        """Young SIMs that called many people and were called back by none, with their handsets."""
        s = self.settings
        added = 0
        for imsi in sorted(self._dirty):
            sim = self._sims[imsi]
            if imsi in self._listed_sims or len(sim.callees) < s.min_callees:
                continue
            sub = self.subscribers.by_imsi.get(imsi)
            if sub is None:
                # Not in `subscribers`: it may be young, or a company's line. Only a long
                # silence — a day of calling many people with nobody calling back — tells.
                if sim.last_t - sim.first_t < _DAY or len(sim.callees) < 2 * s.min_callees:
                    continue
            elif sub.plan in _BUSINESS_PLANS or not _young(
                sub, sim.first_t, s.young_sim_days * _DAY
            ):
                continue
            if sim.calls > s.max_calls_per_callee * len(sim.callees):
                continue
            if (sub.msisdn if sub is not None else sim.number) in self._heard_from_old:
                continue
            why = f"SIM box: called {len(sim.callees)} people, called back by none"
            added += self._list_new_sim(imsi, why, now, lists, newly)
            added += self._list_imeis(sim.imeis, why, now, lists)
        self._dirty.clear()
        return added

    def _list_clusters(self, now: float, lists: ReputationLists, newly: list[str]) -> int:
        """The young SIMs of each cluster that fakes lives among its siblings, with their handsets."""
        added = 0
        for members, sites in self._clusters(now):
            where = ", ".join(sorted(sites)[:3])
            why = (
                f"one of {len(members)} young SIMs at site {where} that call strangers, "
                "call and text each other, and keep in touch with nobody else"
            )
            for imsi in members:
                if imsi in self._listed_sims:
                    continue
                added += self._list_new_sim(imsi, why, now, lists, newly)
                added += self._list_imeis(self._sims[imsi].imeis, why, now, lists)
        return added

    def _list_sites(self, newly: list[str], now: float, lists: ReputationLists) -> int:
        """List the sites listed SIMs called from lately, for as long again as they look back."""
        s = self.settings
        for imsi in newly:
            sim = self._sims.get(imsi)
            if sim is not None and sim.site is not None:
                self._listed_at_site[sim.site][imsi] = sim.last_t
        span = s.farm_site_hours * 3600
        added = 0
        for site, seen in self._listed_at_site.items():
            recent = sum(1 for last in seen.values() if last >= now - span)
            if recent < s.min_listed_at_site:
                continue
            since = now
            listed = lists.cells.get(site)
            if listed is not None and listed.source == self.source:
                if listed.applies(now):
                    since = listed.since
                del lists.cells[site]  # the farm is (back) there: renew our own listing
            added += lists.add(
                Listing(
                    kind="cell",
                    value=site,
                    source=self.source,
                    reason=f"{recent} SIM-box SIMs called from this site in the last "
                    f"{s.farm_site_hours:g} h",
                    since=since,
                    until=now + span,
                )
            )
        return added

    def _clusters(self, now: float) -> list[tuple[list[str], set[str]]]:
        """Groups of young SIMs linked by calls between them and a common site, largest first.

        A SIM belongs when it is tied to ``min_siblings`` others: a farm's SIMs fake lives
        with several of their siblings, where a person who called one of them back (a
        young SIM too, now and then) is tied to that one only.
        """
        parent: dict[str, str] = {}

        def root(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]  # path halving
                x = parent[x]
            return x

        ties, degree = self._young_ties(now)
        least = self.settings.min_siblings
        for a, b in ties:
            if degree[a] < least or degree[b] < least:
                continue
            parent.setdefault(a, a)
            parent.setdefault(b, b)
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        groups: dict[str, list[str]] = defaultdict(list)
        for x in parent:
            groups[root(x)].append(x)
        out = []
        s = self.settings
        for members in groups.values():
            if len(members) < s.min_cluster:
                continue
            calls = sum(self._sims[m].outside_calls for m in members)
            strangers = sum(self._sims[m].outside_strangers for m in members)
            callees = set().union(*(self._sims[m].outside_callees for m in members))
            if len(callees) < s.min_cluster or strangers < s.min_stranger_share * calls:
                continue
            members.sort()
            counted: dict[str, int] = defaultdict(int)
            for imsi in members:
                for site in self._sims[imsi].sites:
                    counted[site] += 1
            sites = {site for site, n in counted.items() if n >= 2}
            out.append((members, sites))
        out.sort(key=lambda g: (-len(g[0]), g[0][0]))
        return out

    def _young_ties(self, now: float) -> tuple[list[tuple[str, str]], dict[str, int]]:
        """Recent calls between two farm-like young SIMs that share a site; each SIM's ties."""
        horizon = now - 2 * _DAY
        farm_like: dict[str, bool] = {}
        ties: list[tuple[str, str]] = []
        degree: dict[str, int] = defaultdict(int)
        for (a, b), last in self._young_links.items():
            if last < horizon:
                continue
            sim_a, sim_b = self._sims.get(a), self._sims.get(b)
            if sim_a is None or sim_b is None or sim_a.sites.isdisjoint(sim_b.sites):
                continue
            if not all(
                farm_like[x] if x in farm_like else farm_like.setdefault(x, self._farm_like(x))
                for x in (a, b)
            ):
                continue
            ties.append((a, b))
            degree[a] += 1
            degree[b] += 1
        return ties, degree

    def _farm_like(self, imsi: str) -> bool:
        """A young SIM of ours, not a business line, with no life beyond the young SIMs.

        Calls from outside do not count against it (farms get call-backs, and fake
        them); people it kept in touch with, beyond the young SIMs, do.
        """
        sub = self.subscribers.by_imsi.get(imsi)
        if sub is None or sub.plan in _BUSINESS_PLANS:
            return False
        return len(self._lives.get(sub.msisdn, ())) < self.settings.min_life_contacts

    def _list_sim(self, imsi: str, why: str, now: float, lists: ReputationLists) -> int:
        """List a SIM and its number; returns how many listings were new."""
        self._listed_sims.add(imsi)
        added = int(
            lists.add(Listing(kind="imsi", value=imsi, source=self.source, reason=why, since=now))
        )
        sub = self.subscribers.by_imsi.get(imsi)
        if sub is not None:
            added += lists.add(
                Listing(kind="number", value=sub.msisdn, source=self.source, reason=why, since=now)
            )
        return added

    def _list_stock(self, newly: list[str], now: float, lists: ReputationLists) -> int:
        """List the unused SIMs of batches and straw owners that already gave SIM-box SIMs."""
        if not newly:
            return 0
        s = self.settings
        batches, owners = self._stock_index()
        added = 0
        for index, name in ((batches, "activation batch"), (owners, "owner")):
            keys = set()
            for imsi in newly:
                sub = self.subscribers.by_imsi.get(imsi)
                if sub is None:
                    continue
                key = sub.activation_batch if index is batches else sub.owner_id
                if key is not None and key in index:
                    keys.add(key)
            for key in sorted(keys):
                members = index[key]
                listed = sum(1 for m in members if m in self._listed_sims)
                if listed < s.min_listed_siblings:
                    continue
                why = f"same {name} as {listed} SIM-box SIMs"
                for imsi in members:
                    if imsi not in self._listed_sims:
                        added += self._list_sim(imsi, why, now, lists)
        return added

    def _stock_index(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        if self._batches is None or self._owners is None:
            batches: dict[str, list[str]] = defaultdict(list)
            owners: dict[str, list[str]] = defaultdict(list)
            for sub in self.subscribers.by_imsi.values():
                if sub.plan in _BUSINESS_PLANS:
                    continue
                batch = sub.activation_batch
                if batch is not None:
                    batches[batch].append(sub.imsi)
                if sub.owner_id is not None:
                    owners[sub.owner_id].append(sub.imsi)
            self._batches = {k: sorted(v) for k, v in batches.items() if len(v) >= 3}
            self._owners = {k: sorted(v) for k, v in owners.items() if len(v) >= 3}
        return self._batches, self._owners

    def _forget(self, now: float) -> None:
        horizon = now - self.settings.forget_days * _DAY
        day = int(horizon // _DAY)
        for imsi in [k for k, sim in self._sims.items() if sim.last_t < horizon]:
            del self._sims[imsi]
        for key in [k for k in self._imei_day if k[1] < day]:
            del self._imei_day[key]
        _forget_nested(self._old_users, horizon)
        _forget_nested(self._listed_at_site, horizon)
        links = now - 2 * _DAY
        for pair in [p for p, last in self._young_links.items() if last < links]:
            del self._young_links[pair]
        for pair in [p for p, last in self._contacts.items() if last < horizon]:
            del self._contacts[pair]
        for number in [n for n, last in self._heard_from_old.items() if last < horizon]:
            del self._heard_from_old[number]
        _forget_nested(self._lives, horizon)


def _forget_nested(seen: dict[str, dict[_Item, float]], horizon: float) -> None:
    """Drop from ``seen`` (key → item → when last) every item last seen before ``horizon``, and
    every key left with none."""
    for key, items in list(seen.items()):
        for item in [i for i, last in items.items() if last < horizon]:
            del items[item]
        if not items:
            del seen[key]


def _young(sim: SubscriberFacts, t: float, horizon_s: float) -> bool:
    return sim.activated_s is not None and t - sim.activated_s <= horizon_s
