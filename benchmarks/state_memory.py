"""How much memory the screening state takes for a national subscriber base: 1, 5 and 20 million.

    .venv/bin/python benchmarks/state_memory.py --subscribers 1000000
    .venv/bin/python benchmarks/state_memory.py --subscribers 20000000
    .venv/bin/python benchmarks/state_memory.py --subscribers 1000000 --store exact

Builds the state a screening node holds after a day of traffic (and 30 days of
contact) for ``--subscribers`` subscribers, at 5 call attempts a subscriber a day
(100 million a day at 20 million), by filling every rolling feature directly
with the keys and items the features would see (:data:`FEATURES` says how many
of each per subscriber: a few contacts each over 30 days, the callees of each
SIM, a SIM or two per handset and per owner, SIMs per site and batch, the
numbers called, routes and caller-ID ranges). Keys are what Python's ``hash``
makes of distinct numbers (random 64-bit values), plus a sample of real numbers
that are then looked up through the ordinary reads to check the fill.

Prints, per feature and in total, the bytes the state holds (traced by
:mod:`tracemalloc`, and the process's resident memory), the time to fill, what
reads and updates cost at that size, and how often an absent contact pair is
answered as seen (the fingerprints' collision rate). ``--store exact`` fills the
in-memory store through its ordinary updates, with real text numbers, to show
what the compact store saves (at a million subscribers: it needs some 10 GB
at five). Numbers printed are measurements, not pass/fail thresholds.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qalqan.screening.compact_state import CompactStateStore, collision_rate, raw_hashes
from qalqan.screening.state import InMemoryStateStore

DAY = 86_400.0
NOW = 1_780_000_000.0
"""The moment the state is looked at (seconds since the epoch)."""
SAMPLE = 2_000
"""Real numbers per feature, looked up after the fill."""


@dataclass(frozen=True, slots=True)
class Feature:
    """One rolling feature and what a subscriber puts into it, on average."""

    name: str
    shape: str
    """``recent``, ``count`` or ``distinct``."""
    window_s: float
    keys: float
    """Keys per subscriber."""
    entries: float
    """Per subscriber: keys seen (recent), events (count) or (key, item) pairs (distinct)."""


def _wangiri() -> list[Feature]:
    """Distinct callees, ended calls and one-ring calls per caller-ID block, five block sizes."""
    found = []
    for level, name in enumerate(("range", "thousand_block", "ten_thousand_block")):
        found.append(
            Feature(f"distinct_callees_by_{name}", "distinct", 600, 0.007 / 3**level, 0.007)
        )
        found.append(Feature(f"outcomes_by_{name}", "count", 600, 0.005 / 3**level, 0.005))
        found.append(Feature(f"one_ring_by_{name}", "count", 600, 0.001 / 3**level, 0.001))
    for name in ("hundred_thousand_block", "million_block"):
        found.append(Feature(f"distinct_callees_by_{name}", "distinct", 600, 0.0002, 0.007))
        found.append(Feature(f"outcomes_by_{name}", "count", 600, 0.0002, 0.005))
        found.append(Feature(f"one_ring_by_{name}", "count", 600, 0.0001, 0.001))
    return found


FEATURES: tuple[Feature, ...] = (
    # 30 days: a few contacts each (every pair is two subscribers' contact), our own numbers
    Feature("contact_pairs", "recent", 30 * DAY, 3.0, 3.0),
    Feature("numbers_on_our_radio", "recent", 30 * DAY, 0.9, 0.9),
    Feature("callees_by_route_and_caller", "distinct", 30 * DAY, 0.1, 0.3),
    # a day: 4 of the 5 attempts a subscriber makes go over our radio, from 3 in 4 SIMs
    Feature("distinct_imsi_by_imei", "distinct", DAY, 0.75, 0.77),
    Feature("distinct_callees_by_imsi", "distinct", DAY, 0.75, 2.6),
    Feature("active_sims_by_owner", "distinct", DAY, 0.6, 0.75),
    Feature("active_sims_by_batch", "distinct", DAY, 0.02, 0.75),
    Feature("calls_received_by_number", "count", DAY, 0.9, 4.0),
    # hours and minutes
    Feature("sims_by_site", "distinct", 2 * 3600, 0.001, 0.2),
    Feature("young_sims_by_site", "distinct", 2 * 3600, 0.001, 0.01),
    Feature("callees_by_caller_from_abroad", "distinct", 3600, 0.01, 0.012),
    Feature("calls_by_route", "count", 3600, 0.00001, 0.01),
    Feature("spoofed_by_route", "count", 3600, 0.00001, 0.0005),
    Feature("callees_by_source_and_block", "distinct", 600, 0.035, 0.035),
    *_wangiri(),
    Feature("wangiri_bursting_million_blocks", "recent", 600, 0.00001, 0.00001),
)


def _rss_mb() -> float:
    """Resident memory now, after handing freed heap back to the system (the fill's scratch)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _draw(feature: Feature, subscribers: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Keys (and items) as 64-bit hashes, with their times within the window, the sample first."""
    keys = max(1, round(feature.keys * subscribers))
    n = max(keys, round(feature.entries * subscribers))
    of_key = np.concatenate([np.arange(keys), rng.integers(0, keys, n - keys)])
    key_hashes = rng.integers(0, 2**64, keys, dtype=np.uint64)
    sample = min(SAMPLE, keys)
    key_hashes[:sample] = raw_hashes([f"+7701{i:07d}" for i in range(sample)])
    drawn = {
        "keys": key_hashes[of_key],
        "times": NOW - rng.random(n) * feature.window_s * 0.9,  # the last nine tenths
    }
    if feature.shape == "distinct":
        items = rng.integers(0, 2**64, n, dtype=np.uint64)
        items[:sample] = raw_hashes([f"+7702{i:07d}" for i in range(sample)])
        drawn["items"] = items
    return drawn


def _fill_compact(store: CompactStateStore, feature: Feature, drawn: dict[str, np.ndarray]) -> None:
    name, window, keys, times = feature.name, feature.window_s, drawn["keys"], drawn["times"]
    if feature.shape == "recent":
        store.fill_recent(name, window, keys, times)
    elif feature.shape == "count":
        store.fill_count(name, window, keys, times, np.ones(len(keys), dtype=np.int64))
    else:
        store.fill_distinct(name, window, keys, drawn["items"], times)


def _fill_exact(store: InMemoryStateStore, feature: Feature, drawn: dict[str, np.ndarray]) -> None:
    """Through the ordinary updates, with text numbers as keys and items, in time order."""
    order = np.argsort(drawn["times"])
    keys = [f"+7{k % 10**10:010d}" for k in drawn["keys"][order].tolist()]
    times = drawn["times"][order].tolist()
    if feature.shape == "recent":
        add = store.recent(feature.name, feature.window_s).add
        for key, t in zip(keys, times, strict=True):
            add(key, t)
    elif feature.shape == "count":
        count = store.count(feature.name, feature.window_s).add
        for key, t in zip(keys, times, strict=True):
            count(key, t)
    else:
        items = [f"+7{k % 10**10:010d}" for k in drawn["items"][order].tolist()]
        add_item = store.distinct(feature.name, feature.window_s).add
        for key, t, item in zip(keys, times, items, strict=True):
            add_item(key, t, item)


def _check(store: CompactStateStore, feature: Feature, subscribers: int) -> str:
    """The sample of real numbers through the ordinary reads, and what they cost."""
    sample = min(SAMPLE, max(1, round(feature.keys * subscribers)))
    numbers = [f"+7701{i:07d}" for i in range(sample)]
    started = time.perf_counter()
    if feature.shape == "recent":
        agg = store.recent(feature.name, feature.window_s)
        found = sum(agg.seen(k, NOW) for k in numbers)
    elif feature.shape == "count":
        total = store.count(feature.name, feature.window_s).total
        found = sum(total(k, NOW) > 0 for k in numbers)
    else:
        seen = store.distinct(feature.name, feature.window_s)
        found = sum(
            seen.contains(k, f"+7702{i:07d}", NOW) and seen.distinct(k, NOW) > 0
            for i, k in enumerate(numbers)
        )
    us = (time.perf_counter() - started) / sample * 1e6
    if found != sample:
        raise AssertionError(f"{feature.name}: {sample - found} of the sample not found")
    return f"sample of {sample:,} found, {us:.1f} µs a read"


def _contact_pairs_afterwards(store: CompactStateStore, subscribers: int) -> None:
    """How often an absent pair is seen, and what a read and an update cost, at full size."""
    pairs = store.recent("contact_pairs", 30 * DAY)
    n = 200_000
    absent = [(f"+7707{i:07d}", f"+7708{i:07d}") for i in range(n)]
    started = time.perf_counter()
    wrong = sum(pairs.seen(p, NOW) for p in absent)
    read_us = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for i, p in enumerate(absent):
        pairs.add(p, NOW + i * 0.001)
    add_us = (time.perf_counter() - started) / n * 1e6
    held = len(pairs)
    print(
        f"contact_pairs_30d at {held:,} pairs: {wrong} of {n:,} absent pairs answered as seen "
        f"(expected {collision_rate(held, max_keys=store.max_keys) * n:.2f}); "
        f"a read {read_us:.1f} µs, an update of a new pair {add_us:.1f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--store", choices=("compact", "exact"), default="compact")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    subscribers = args.subscribers
    rng = np.random.default_rng(args.seed)
    max_keys = max(2_000_000, 4 * subscribers)
    store = (
        CompactStateStore(max_keys=max_keys, secret=args.seed)
        if args.store == "compact"
        else InMemoryStateStore(max_keys=max_keys)
    )
    print(
        f"{args.store} state for {subscribers:,} subscribers, {5 * subscribers:,} attempts a day "
        f"(max_keys {max_keys:,})"
    )
    gc.collect()
    rss_before = _rss_mb()
    tracemalloc.start()
    total_bytes, total_s = 0, 0.0
    for feature in FEATURES:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        drawn = _draw(feature, subscribers, rng)
        started = time.perf_counter()
        if isinstance(store, CompactStateStore):
            _fill_compact(store, feature, drawn)
        else:
            _fill_exact(store, feature, drawn)
        elapsed = time.perf_counter() - started
        del drawn
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        total_bytes += held
        total_s += elapsed
        keys = store.sizes()
        name = next(k for k in keys if k.startswith(feature.name + "_"))
        print(
            f"  {name:48} {keys[name]:>12,} keys {held / 1e6:>9,.1f} MB "
            f"({held / max(1, keys[name]):5.1f} B a key) filled in {elapsed:6.1f} s",
            flush=True,
        )
    tracemalloc.stop()
    gc.collect()
    print(
        f"state memory at {subscribers:,} subscribers: {total_bytes / 1e9:.2f} GB traced "
        f"(resident set grew {(_rss_mb() - rss_before) / 1e3:.2f} GB), filled in {total_s:.0f} s"
    )
    if isinstance(store, CompactStateStore):
        for feature in FEATURES:  # tracing is off: reads at their own speed
            print(f"  {feature.name}: {_check(store, feature, subscribers)}")
        _contact_pairs_afterwards(store, subscribers)


if __name__ == "__main__":
    main()
