"""Lookalike domains: recall on dnstwist's permutations of the protected domains, by kind,
and false alarms on real unrelated domains.

    .venv/bin/python benchmarks/lookalike_domains.py [--per-kind 200] [--seed 7]

For every real domain of the shipped brands (qalqan/content/brands.yaml), dnstwist's
fuzzers make the addresses a squatter would register: look-alike characters, typing
slips, added words (dnstwist's dictionary fuzzer, with the words of DICTIONARY below,
which differ from the bait words Qalqan knows), other endings (TLDS), split names. At
most --per-kind of each fuzzer's addresses per domain are drawn (seeded). A permutation
is found when :func:`qalqan.content.domains.check_domain` flags it as a lookalike of the
brand it was made from. The false alarms are counted on tests/content/real_domains.txt.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from pathlib import Path

import dnstwist  # type: ignore[import-untyped]

from qalqan.content.brands import shipped_registry
from qalqan.content.domains import DomainError, check_domain

DICTIONARY = ["bonus", "invest", "login", "secure", "online", "kz", "pay", "gift", "verify",
              "support", "cabinet", "promo", "akcia", "vyplata", "qazaqstan", "2025"]  # fmt: skip
"""Words dnstwist adds; the last three are no bait word Qalqan knows."""
TLDS = ["com", "net", "org", "ru", "info", "top", "xyz", "site", "online", "kz", "az", "pro"]
REAL = Path(__file__).resolve().parents[1] / "tests" / "content" / "real_domains.txt"


def permutations(per_kind: int, seed: int) -> list[tuple[str, str, str, str]]:
    """(fuzzer, address, brand id, real domain) for a sample of every real domain's permutations."""
    registry = shipped_registry()
    own = {domain for brand in registry.brands for domain in brand.domains}
    draw = random.Random(seed)
    found: list[tuple[str, str, str, str]] = []
    for brand in registry.brands:
        for domain in brand.domains:
            if domain.count(".") < 1 or domain == "gov.kz":
                continue
            fuzzer = dnstwist.Fuzzer(domain, dictionary=DICTIONARY, tld_dictionary=TLDS)
            fuzzer.generate()
            by_kind: dict[str, list[str]] = {}
            for item in fuzzer.domains:
                name = item["domain"]
                if item["fuzzer"] == "*original" or name in own:
                    continue
                if any(name.endswith("." + real) for real in own):
                    continue
                by_kind.setdefault(item["fuzzer"], []).append(name)
            for kind, names in sorted(by_kind.items()):
                for name in draw.sample(sorted(names), min(per_kind, len(names))):
                    found.append((kind, name, brand.id, domain))
    return found


def _found(name: str, brand_id: str) -> bool:
    try:
        verdict = check_domain(name)
    except DomainError:
        return False
    return verdict.lookalike and verdict.brand is not None and verdict.brand.id == brand_id


def real_domains() -> list[str]:
    lines = REAL.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    sample = permutations(args.per_kind, args.seed)
    made = time.perf_counter() - started
    total: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    started = time.perf_counter()
    for kind, name, brand, _ in sample:
        total[kind] += 1
        try:
            verdict = check_domain(name)
        except DomainError:
            continue
        if verdict.lookalike and verdict.brand is not None and verdict.brand.id == brand:
            hit[kind] += 1
        elif verdict.lookalike:
            wrong[kind] += 1
    checked = time.perf_counter() - started
    print(f"{len(sample)} permutations drawn in {made:.1f} s, checked in {checked:.2f} s")
    print(f"{'dnstwist fuzzer':<16} {'drawn':>6} {'found':>6} {'recall':>7} {'other brand':>11}")
    for kind in sorted(total):
        share = hit[kind] / total[kind]
        print(f"{kind:<16} {total[kind]:>6} {hit[kind]:>6} {share:>7.1%} {wrong[kind]:>11}")
    print(f"{'all':<16} {sum(total.values()):>6} {sum(hit.values()):>6} "
          f"{sum(hit.values()) / sum(total.values()):>7.1%} {sum(wrong.values()):>11}")  # fmt: skip
    print(
        "by the length of the imitated name (names of four letters or fewer: exact or whole words only)"
    )
    for low, high in ((1, 4), (5, 6), (7, 8), (9, 99)):
        drawn = [(n, b) for _, n, b, real in sample if low <= len(real.split(".")[0]) <= high]
        found = sum(1 for n, b in drawn if _found(n, b))
        if drawn:
            print(f"  {low}-{high} letters: {found}/{len(drawn)} = {found / len(drawn):.1%}")
    real = real_domains()
    flagged = [name for name in real if check_domain(name).lookalike]
    print(f"false alarms: {len(flagged)} of {len(real)} real unrelated domains {flagged}")


if __name__ == "__main__":
    main()
