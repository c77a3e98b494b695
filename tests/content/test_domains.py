"""Lookalike domains: a brand's own addresses are never flagged; its imitations are, by kind.

The recall test draws dnstwist's permutations of every protected domain (offline) and
the false-alarm test reads real unrelated domains from real_domains.txt; the parser's
properties say that every way of writing one host reads as that host.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import dnstwist  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.content.brands import shipped_registry
from qalqan.content.domains import (
    MAX_DOMAINS,
    MAX_INPUT_CHARS,
    MAX_LINKS,
    DomainError,
    DomainVerdict,
    Kind,
    TooManyDomainsError,
    check_domain,
    check_domains,
    links_in,
    parse_domain,
)

REAL = Path(__file__).with_name("real_domains.txt")
REGISTRY = shipped_registry()
OWN = sorted({domain for brand in REGISTRY.brands for domain in brand.domains})


def _real_unrelated() -> list[str]:
    lines = REAL.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


# --- what is flagged, and how ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "brand", "kind"),
    [
        ("kaspl.kz", "kaspi", Kind.HOMOGLYPH),
        ("xn--hlykbank-16g.kz", "halyk", Kind.HOMOGLYPH),  # a Cyrillic "а"
        ("hаlykbank.kz", "halyk", Kind.HOMOGLYPH),
        ("halykbank.kz.secure-login.top", "halyk", Kind.SUBDOMAIN),
        ("kaspi.verify-account.com", "kaspi", Kind.SUBDOMAIN),
        ("kaspi.com", "kaspi", Kind.OTHER_TLD),
        ("hal.ykbank.kz", "halyk", Kind.SPLIT),
        ("halykbannk.kz", "halyk", Kind.INSERTION),
        ("halykban.kz", "halyk", Kind.OMISSION),
        ("halykbamk.com", "halyk", Kind.SUBSTITUTION),
        ("halykbnak.kz", "halyk", Kind.TRANSPOSITION),
        ("kasspi.kz", "kaspi", Kind.INSERTION),
        ("halykbank-bonus.kz", "halyk", Kind.ADDED_WORDS),
        ("kaspibonus.netlify.app", "kaspi", Kind.ADDED_WORDS),
        ("kmg-invest.com", "kmg", Kind.ADDED_WORDS),
        ("kazmunaygas-invest.online", "kmg", Kind.ADDED_WORDS),
        ("tokayev-invest.com", "tokayev", Kind.ADDED_WORDS),
        ("egov-kz.online", "egov", Kind.ADDED_WORDS),
    ],
)
def test_an_imitation_is_flagged_with_its_brand_kind_and_reasons(
    address: str, brand: str, kind: Kind
) -> None:
    verdict = check_domain(address)
    assert verdict.lookalike and not verdict.own
    assert verdict.brand is not None and verdict.brand.id == brand
    assert kind in verdict.kinds, verdict.kinds
    assert verdict.score >= 0.5
    assert verdict.reasons and all(r.key.startswith("content.domain.") for r in verdict.reasons)
    for reason in verdict.reasons:
        assert verdict.host.unicode in reason.detail_in("ru") or verdict.host.ascii in reason.detail


def test_punycode_is_said_with_what_a_browser_shows() -> None:
    verdict = check_domain("xn--hlykbank-16g.kz")
    assert Kind.IDN in verdict.kinds
    shown = next(r for r in verdict.reasons if r.key == "content.domain.idn")
    assert shown.facts_dict()["shown"] == "hаlykbank.kz"


@pytest.mark.parametrize(
    "address", [*OWN, "online.halykbank.kz", "HTTPS://KASPI.KZ/shop", "kaspi.kz."]
)
def test_a_brands_own_addresses_are_never_flagged(address: str) -> None:
    verdict = check_domain(address)
    assert verdict.own and not verdict.lookalike and verdict.score == 0.0
    assert [r.key for r in verdict.reasons] == ["content.domain.own"]


@given(st.sampled_from(OWN), st.lists(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True), max_size=3))
def test_no_address_under_a_real_domain_is_ever_flagged(real: str, front: list[str]) -> None:
    verdict = check_domain(".".join([*front, real]))
    assert verdict.own and not verdict.lookalike


def test_no_real_unrelated_domain_is_flagged() -> None:
    real = _real_unrelated()
    assert len(real) >= 300
    flagged = [v.given for v in check_domains(real) if isinstance(v, DomainVerdict) and v.lookalike]
    assert flagged == []


def _permutations(per_kind: int) -> list[tuple[str, str, str]]:
    draw = random.Random(11)
    found = []
    for brand in REGISTRY.brands:
        for domain in brand.domains:
            if domain == "gov.kz":
                continue
            fuzzer = dnstwist.Fuzzer(
                domain, dictionary=["bonus", "invest"], tld_dictionary=["com", "ru"]
            )
            fuzzer.generate()
            by_kind: dict[str, list[str]] = {}
            for item in fuzzer.domains:
                name = item["domain"]
                if item["fuzzer"] != "*original" and not any(
                    name == own or name.endswith("." + own) for own in OWN
                ):
                    by_kind.setdefault(item["fuzzer"], []).append(name)
            for kind, names in sorted(by_kind.items()):
                for name in draw.sample(sorted(names), min(per_kind, len(names))):
                    found.append((kind, name, brand.id))
    return found


def test_dnstwist_permutations_of_the_protected_domains_are_found() -> None:
    """Recall by fuzzer on a small sample; benchmarks/lookalike_domains.py measures it whole."""
    sample = _permutations(per_kind=8)
    long_names = [
        (k, n, b) for k, n, b in sample if len(REGISTRY.brand(b).domains[0].split(".")[0]) >= 5
    ]
    found = [(k, n, b) for k, n, b in long_names if _flagged_as(n, b)]
    assert len(found) / len(long_names) >= 0.9, len(found) / len(long_names)
    for kind in (
        "homoglyph",
        "insertion",
        "omission",
        "transposition",
        "tld-swap",
        "subdomain",
        "dictionary",
    ):
        of_kind = [n for k, n, _ in long_names if k == kind]
        hits = [n for k, n, b in found if k == kind]
        assert len(hits) / len(of_kind) >= 0.8, (kind, sorted(set(of_kind) - set(hits))[:5])


def _flagged_as(address: str, brand: str) -> bool:
    verdict = check_domain(address)
    return verdict.lookalike and verdict.brand is not None and verdict.brand.id == brand


# --- the parser ----------------------------------------------------------------------------------

labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
names = st.lists(labels, min_size=1, max_size=4).map(lambda ls: ".".join([*ls, "kz"]))
unicode_labels = st.text(alphabet="абвгдеқңөұүһәіxyzhalykbn", min_size=1, max_size=15)


@given(names)
def test_upper_case_a_trailing_dot_a_url_or_a_port_read_as_the_same_host(name: str) -> None:
    host = parse_domain(name)
    assert host.ascii == name
    for written in (name.upper(), f"{name}.", f"https://{name}:8443/a/b?c=d#e",
                    f"http://user:pw@{name}/", f"{name}:443", f"//{name.title()}"):  # fmt: skip
        assert parse_domain(written) == host, written


@given(st.lists(unicode_labels, min_size=1, max_size=3))
def test_an_idn_and_its_punycode_read_as_the_same_host(parts: list[str]) -> None:
    name = ".".join([*parts, "kz"])
    host = parse_domain(name)
    assert host.ascii.isascii()
    assert parse_domain(host.ascii) == host
    assert parse_domain(name.upper()) == host
    assert host.unicode == name.lower()


@given(st.text(max_size=300))
def test_any_text_is_a_host_or_a_domain_error(text: str) -> None:
    try:
        host = parse_domain(text)
    except DomainError as exc:
        assert "is not a domain" in str(exc)
        return
    assert host.ascii.isascii() and len(host.ascii) <= 253


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("a" * 64 + ".kz", "longer than 63"),
        ("a" * (MAX_INPUT_CHARS + 1), f"longer than {MAX_INPUT_CHARS}"),
        (".".join(["a" * 60] * 5), "longer than 253"),
        ("halyk..kz", "empty label"),
        ("http://[::1]/", "IP address"),
        ("192.168.0.1", "IP address"),
        ("halyk.kz:abc", "not a port"),
        ("hal yk.kz", "characters a name cannot"),
        ("xn--99999999.kz", "punycode"),
        ("xn--a.kz", "punycode"),  # decodes to a control character
        ("", "empty"),
    ],
)
def test_what_is_not_a_domain_is_refused_with_the_reason(given: str, says: str) -> None:
    with pytest.raises(DomainError, match=says):
        check_domain(given)


def test_ten_thousand_domains_are_bounded_in_time_and_one_more_is_refused() -> None:
    draw = random.Random(3)
    addresses = [
        "".join(draw.choice("abcdefghijklmnopqrstuvwxyz-") for _ in range(draw.randint(3, 60))).strip("-") + ".com"
        for _ in range(MAX_DOMAINS - 3)
    ] + ["x" * 63 + ".kz", "a" * 70 + ".kz", "k" * 40 + "aspi.kz"]  # fmt: skip
    started = time.perf_counter()
    verdicts = check_domains(addresses)
    assert time.perf_counter() - started < 30.0
    assert len(verdicts) == MAX_DOMAINS
    assert isinstance(verdicts[-2], DomainError)
    with pytest.raises(TooManyDomainsError):
        check_domains(iter([*addresses, "one.more.kz"]))


# --- addresses written in a text -----------------------------------------------------------------


def test_the_addresses_written_in_a_text_are_found() -> None:
    text = "Бонус на kaspi-bonus.com/get, вход: https://Halykbank.kz. (т.е. kaspl.kz)"
    assert links_in(text) == ["kaspi-bonus.com/get", "https://Halykbank.kz", "kaspl.kz"]


@pytest.mark.parametrize(
    "hostile", ["a." * 25_000, "a" * 49_999 + ".", ("ab-" * 20 + ".") * 800, "x.kz " * 10_000]
)
def test_finding_addresses_costs_the_texts_length_and_no_more(hostile: str) -> None:
    started = time.perf_counter()
    found = links_in(hostile)
    assert time.perf_counter() - started < 1.0
    assert len(found) <= MAX_LINKS
