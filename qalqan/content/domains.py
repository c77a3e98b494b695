"""Lookalike domains: which protected brand an address imitates, how, and how surely.

Phishing sites copy a bank's address closely enough to pass a glance:
``halykbапk.kz`` with a Cyrillic "а" (sent as punycode ``xn--...``), ``kaspl.kz``,
``halykbank-bonus.kz``, ``kaspi.com``, ``halykbank.kz.secure-login.top``.
:func:`check_domain` answers for one address:

* whether it is one of a protected brand's real domains or an address under one
  (``online.halykbank.kz``): such an address is **never** flagged;
* else which brand it imitates, by which kinds of trick (:class:`Kind`), a score
  from 0 to 1 and the reasons, in the operator's language.

How a name is compared. An address is split into the part its owner registered
(``evil`` of ``halykbank.kz.evil.com``: the label left of the public suffix, see
:data:`SUFFIXES`) and the labels in front of it. Each brand has **keys**, the
names its addresses are made of (``halykbank``, ``homebank``; see
:class:`~qalqan.content.brands.Brand`). Labels and keys are compared on their
skeletons (:func:`qalqan.content.brands.skeleton`), so look-alike characters in
any script, digits for letters and ``rn`` for ``m`` compare equal:

========================  ======================================================  =====
kind                      the registered label ...                                score
========================  ======================================================  =====
``homoglyph``             is a key in look-alike characters (``kaspl``, IDN)       0.95
``subdomain``             is someone else's, with a real domain in front of it     0.90
``other-tld``             is a key, under another ending (``kaspi.com``)           0.85
``split``                 and the labels before it spell a key (``hal.ykbank.kz``) 0.85
``insertion`` ...         is a key with one slip: ``insertion``, ``omission``,     0.80
                          ``substitution``, ``transposition`` (two slips for a
                          key of nine letters or more: 0.60)
``added-words``           holds a key and other words (``kaspi-bonus``)            0.75
``idn``                   (beside another kind) is written in punycode             --
========================  ======================================================  =====

A short name is one slip away from too many honest sites, so: slips are looked
for in keys of five letters or more, and in keys of five or six only under the
real domain's own ending (``kasspi.kz``, not ``susan.com``); a key of fewer than
eight letters inside a longer label counts only beside :data:`BAIT_WORDS`
(``kaspibonus``, ``bccsupport``; not ``kaspiysk``); a real domain's label that
is a common word (``post``) is compared only under that domain's ending.

Input is bounded: an address longer than :data:`MAX_INPUT_CHARS`, a label longer
than 63 characters or a name longer than 253 is refused (:class:`DomainError`),
and :func:`check_domains` takes at most :data:`MAX_DOMAINS` at once.

>>> check_domain("https://Kaspl.kz:443/login").kinds
(<Kind.HOMOGLYPH: 'homoglyph'>,)
>>> check_domain("online.halykbank.kz").own, check_domain("online.halykbank.kz").lookalike
(True, False)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from itertools import combinations
from typing import Final

from qalqan.content.brands import Brand, Registry, shipped_registry, skeleton
from qalqan.domain.messages import Reason
from qalqan.errors import QalqanError

__all__ = [
    "BAIT_WORDS",
    "MAX_DOMAINS",
    "MAX_INPUT_CHARS",
    "MAX_LINKS",
    "SUFFIXES",
    "DomainError",
    "DomainVerdict",
    "Host",
    "Kind",
    "LookalikeIndex",
    "TooManyDomainsError",
    "check_domain",
    "check_domains",
    "links_in",
    "parse_domain",
]

MAX_INPUT_CHARS: Final = 2048
"""The longest address or URL read: longer is refused before any work."""
MAX_DOMAINS: Final = 10_000
"""Addresses :func:`check_domains` takes at once."""
FLAG_SCORE: Final = 0.5
"""A verdict at or above this score is a lookalike."""

SUFFIXES: Final = frozenset({
    # Second-level registries of the region and of the largest countries.
    "com.kz", "org.kz", "edu.kz", "gov.kz", "net.kz", "mil.kz", "co.kz",
    "com.ru", "org.ru", "net.ru", "msk.ru", "spb.ru", "com.az", "org.az", "net.az", "gov.az",
    "edu.az", "com.ua", "org.ua", "com.uz", "co.uk", "org.uk", "ac.uk", "gov.uk", "com.tr",
    "co.jp", "com.au", "com.br", "com.cn", "co.in", "co.kr", "com.sg", "com.hk",
    # Hosts where anyone gets a name of their own, as phishing pages often do.
    "github.io", "netlify.app", "vercel.app", "web.app", "firebaseapp.com", "pages.dev",
    "workers.dev", "herokuapp.com", "appspot.com", "blogspot.com", "wixsite.com",
    "weebly.com", "000webhostapp.com", "azurewebsites.net", "ngrok.io", "ngrok-free.app",
    "glitch.me", "tilda.ws", "duckdns.org", "onrender.com", "surge.sh",
})  # fmt: skip
"""Public suffixes of two labels that matter here; any last label is one too. A small
list, not the Public Suffix List: a name under a suffix it lacks is judged by the label
left of the suffix it does know."""


BAIT_WORDS: Final = (
    "bonus", "bonuses", "invest", "investment", "investor", "gift", "gifts", "promo", "prize",
    "cashback", "pay", "payment", "payout", "card", "cards", "login", "signin", "secure",
    "security", "verify", "verification", "support", "help", "service", "online", "app",
    "mobile", "official", "my", "id", "kz", "kaz", "qaz", "az", "bank", "credit", "loan",
    "gold", "plus", "pro", "club", "portal", "cabinet", "kabinet", "account", "wallet",
    "crypto", "trade", "trading", "profit", "income", "dohod", "vyplata", "vyplaty",
    "kompensaciya", "kompensatsiya", "nagrada", "podarok", "sms", "update", "new", "web",
)  # fmt: skip
"""Words that ride on a brand's name without a hyphen (``kaspibonus``, ``bccsupportkz``): a
name of three to seven letters counts as borrowed only beside these, as ``kaspiysk`` is a
town's name. A name of eight letters or more counts beside any word."""
_BAIT: Final = frozenset(skeleton(word) for word in BAIT_WORDS)


class Kind(StrEnum):
    """How an address imitates a brand."""

    HOMOGLYPH = "homoglyph"
    SUBDOMAIN = "subdomain"
    OTHER_TLD = "other-tld"
    SPLIT = "split"
    INSERTION = "insertion"
    OMISSION = "omission"
    SUBSTITUTION = "substitution"
    TRANSPOSITION = "transposition"
    ADDED_WORDS = "added-words"
    IDN = "idn"


TYPOS: Final = (Kind.INSERTION, Kind.OMISSION, Kind.SUBSTITUTION, Kind.TRANSPOSITION)


class DomainError(QalqanError, ValueError):
    """An address that cannot be read as a domain name; the message says why."""

    def __init__(self, given: str, reason: str) -> None:
        shown = given if len(given) <= 80 else f"{given[:77]}..."
        super().__init__(f"{shown!r} is not a domain: {reason}")
        self.given = given
        self.reason = reason


class TooManyDomainsError(QalqanError, ValueError):
    def __init__(self) -> None:
        super().__init__(f"more than {MAX_DOMAINS} domains at once")


@dataclass(frozen=True, slots=True, kw_only=True)
class Host:
    """A domain name, as sent (ASCII, punycode) and as shown (Unicode)."""

    ascii: str
    unicode: str
    suffix: str
    """The public suffix (``kz``, ``com.kz``, ``netlify.app``)."""
    names: tuple[str, ...]
    """The labels left of the suffix, as shown (Unicode); the last is the registered one."""

    @property
    def registered(self) -> str:
        """The registered domain (``evil.com`` of ``halykbank.kz.evil.com``), in ASCII."""
        labels = self.ascii.split(".")
        return ".".join(labels[-(self.suffix.count(".") + 2) :])


_SCHEME: Final = re.compile(r"^[a-z][a-z0-9+.-]{0,15}://", re.IGNORECASE)
_ASCII_LABEL: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?")
_DOTS: Final = str.maketrans({"。": ".", "．": ".", "｡": "."})


def parse_domain(given: str) -> Host:
    """The domain named by ``given``: a name, or a URL (scheme, user, port and path dropped).

    Upper case, a trailing dot, Unicode (IDN) and punycode all read as the same host.

    >>> parse_domain("HTTPS://user@Halykbank.KZ.:8443/path?q=1").ascii
    'halykbank.kz'
    >>> parse_domain("xn--hlykbank-16g.kz").unicode  # a Cyrillic "а"
    'hаlykbank.kz'
    """
    if len(given) > MAX_INPUT_CHARS:
        raise DomainError(given, f"longer than {MAX_INPUT_CHARS} characters")
    text = _SCHEME.sub("", given.strip()).removeprefix("//")
    text = re.split(r"[/?#\\]", text, maxsplit=1)[0]
    text = text.rpartition("@")[2]
    if text.startswith("["):
        raise DomainError(given, "an IP address, not a name")
    if ":" in text:
        text, _, port = text.partition(":")
        if not port.isdigit():
            raise DomainError(given, f"'{port}' after ':' is not a port")
    text = text.translate(_DOTS)
    text = text.removesuffix(".")
    if not text:
        raise DomainError(given, "empty")
    ascii_labels: list[str] = []
    shown: list[str] = []
    for label in text.split("."):
        as_ascii, as_shown = _label(given, label)
        ascii_labels.append(as_ascii)
        shown.append(as_shown)
    host = ".".join(ascii_labels)
    if len(host) > 253:
        raise DomainError(given, "longer than 253 characters")
    if all(label.isdigit() for label in ascii_labels):
        raise DomainError(given, "an IP address, not a name")
    two = ".".join(ascii_labels[-2:])
    suffix = two if len(ascii_labels) > 2 and two in SUFFIXES else ascii_labels[-1]
    count = suffix.count(".") + 1
    return Host(ascii=host, unicode=".".join(shown), suffix=suffix, names=tuple(shown[:-count]))


def _label(given: str, label: str) -> tuple[str, str]:
    """A label in ASCII (punycode for Unicode) and as shown."""
    if not label:
        raise DomainError(given, "an empty label (two dots in a row)")
    if len(label) > 63:
        raise DomainError(given, "a label longer than 63 characters")
    if label.isascii():
        label = label.lower()
        if not _ASCII_LABEL.fullmatch(label):
            raise DomainError(given, f"label '{label}' holds characters a name cannot")
        if not label.startswith("xn--"):
            return label, label
        try:
            shown = label[4:].encode("ascii").decode("punycode")
        except UnicodeError:
            raise DomainError(given, f"'{label}' is not valid punycode") from None
        if not shown or shown.isascii() or any(not (c.isalnum() or c in "-_") for c in shown):
            raise DomainError(given, f"'{label}' is not valid punycode")
        return label, shown.lower()
    shown = unicodedata.normalize("NFKC", label).casefold()
    if any(not (c.isalnum() or c in "-_") for c in shown):
        raise DomainError(given, f"label '{label}' holds characters a name cannot")
    encoded = "xn--" + shown.encode("punycode").decode("ascii")
    if len(encoded) > 63:
        raise DomainError(given, "a label longer than 63 characters in punycode")
    return encoded, shown


# --- comparing names ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Key:
    brand: Brand
    name: str
    """The key as written (``halykbank``)."""
    real: str
    """The real domain shown in reasons (``halykbank.kz``)."""
    skeleton: str
    local: bool = False
    """A real domain's label that is a common word (``post`` of post.kz, ``telecom``):
    compared only under the real domain's own ending, since post.ch is not Kazpost's."""

    @property
    def slips(self) -> int:
        """Typing slips looked for: none below five letters, two from nine."""
        size = len(self.skeleton)
        return 0 if size < 5 else 1 if size < 9 else 2

    @property
    def suffix(self) -> str:
        """The real domain's ending: slips in a key of five or six letters count only there."""
        return self.real.split(".", 1)[1] if "." in self.real else ""


def _deletes(word: str, most: int) -> set[str]:
    found = {word}
    for count in range(1, min(most, len(word) - 1) + 1):
        for cut in combinations(range(len(word)), count):
            found.add("".join(c for i, c in enumerate(word) if i not in cut))
    return found


def _slips(a: str, b: str, most: int) -> tuple[int, Kind | None]:
    """Edits from ``b`` (the key) to ``a`` (optimal string alignment), and the first edit's kind."""
    if abs(len(a) - len(b)) > most:
        return most + 1, None
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    distance = rows[len(a)][len(b)]
    if distance > most:
        return distance, None
    if len(a) > len(b):
        return distance, Kind.INSERTION
    if len(a) < len(b):
        return distance, Kind.OMISSION
    swapped = any(a[i] == b[i + 1] and a[i + 1] == b[i] and a[i] != b[i] for i in range(len(a) - 1))
    return distance, Kind.TRANSPOSITION if swapped else Kind.SUBSTITUTION


class LookalikeIndex:
    """The protected brands' keys and real domains, indexed to compare addresses with."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.real: dict[str, Brand] = {}
        keys: dict[str, _Key] = {}
        for brand in registry.brands:
            for domain in brand.domains:
                self.real.setdefault(domain, brand)
            labels = tuple(_registered_label(d) for d in brand.domains)
            names = [(name, False) for name in brand.keys or labels]
            names += [(name, True) for name in labels if brand.keys and name not in brand.keys]
            for name, local in names:
                if len(skeleton(name)) < 2:
                    continue
                real = next((d for d in brand.domains if name in d), brand.domains[0])
                key = _Key(brand, name, real, skeleton(name), local)
                keys.setdefault(key.skeleton, key)
        self.keys: Mapping[str, _Key] = keys
        self._longest = max((len(k) for k in keys), default=0)
        self._near: dict[str, set[str]] = {}
        for key in keys.values():
            for variant in _deletes(key.skeleton, key.slips):
                self._near.setdefault(variant, set()).add(key.skeleton)

    def own(self, host: Host) -> tuple[Brand, str] | None:
        """The brand whose real domain ``host`` is or lies under, with that domain."""
        labels = host.ascii.split(".")
        for start in range(len(labels)):
            domain = ".".join(labels[start:])
            if domain in self.real:
                return self.real[domain], domain
        return None

    def near(self, name: str) -> Iterator[tuple[_Key, int, Kind | None]]:
        """Keys within their slips of ``name`` (a skeleton): key, edits, the edit's kind."""
        seen: set[str] = set()
        size = len(name)
        most = 2 if 7 <= size <= self._longest + 2 else 1 if 4 <= size <= 9 else 0
        for variant in sorted(_deletes(name, most)):  # sorted: ties go the same way every run
            for candidate in sorted(self._near.get(variant, ())):
                if candidate in seen:
                    continue
                seen.add(candidate)
                key = self.keys[candidate]
                distance, kind = _slips(name, candidate, key.slips)
                if distance <= key.slips:
                    yield key, distance, kind


def _registered_label(domain: str) -> str:
    labels = domain.split(".")
    two = ".".join(labels[-2:])
    count = 2 if len(labels) > 2 and two in SUFFIXES else 1
    return labels[-count - 1] if len(labels) > count else ""


@cache
def _shipped_index() -> LookalikeIndex:
    return LookalikeIndex(shipped_registry())


# --- the verdict --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainVerdict:
    """What one address is: a brand's own, a lookalike of one, or neither; and why."""

    given: str
    host: Host
    brand: Brand | None
    own: bool
    lookalike: bool
    kinds: tuple[Kind, ...]
    score: float
    reasons: tuple[Reason, ...]

    def as_data(self) -> dict[str, object]:
        return {
            "domain": self.given,
            "ascii": self.host.ascii,
            "shown": self.host.unicode,
            "brand": self.brand.id if self.brand else None,
            "own": self.own,
            "lookalike": self.lookalike,
            "kinds": [kind.value for kind in self.kinds],
            "score": self.score,
            "reasons": [reason.as_data() for reason in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class _Finding:
    key: _Key
    kind: Kind
    score: float
    reason: Reason


def check_domain(given: str, index: LookalikeIndex | None = None) -> DomainVerdict:
    """Whether ``given`` (a domain or URL) is a protected brand's own address or imitates one.

    Raises :class:`DomainError` when ``given`` is not a domain name.
    """
    index = index or _shipped_index()
    host = parse_domain(given)
    own = index.own(host)
    if own is not None:
        brand, real = own
        reason = Reason.said("content.domain.own", 0.0, "content.domain.own",
                             domain=host.unicode, brand=brand.name, real=real)  # fmt: skip
        return DomainVerdict(given=given, host=host, brand=brand, own=True, lookalike=False,
                             kinds=(), score=0.0, reasons=(reason,))  # fmt: skip
    findings = list(_findings(host, index))
    if not findings:
        return DomainVerdict(given=given, host=host, brand=None, own=False, lookalike=False,
                             kinds=(), score=0.0, reasons=())  # fmt: skip
    best = max(findings, key=lambda f: f.score)
    mine = sorted((f for f in findings if f.key.brand == best.key.brand), key=lambda f: -f.score)
    kinds = tuple(dict.fromkeys(f.kind for f in mine))
    reasons = tuple(dict.fromkeys(f.reason for f in mine))
    if host.ascii != host.unicode:
        kinds += (Kind.IDN,)
        reasons += (Reason.said("content.domain.idn", 0.0, "content.domain.idn",
                                domain=host.ascii, shown=host.unicode),)  # fmt: skip
    return DomainVerdict(given=given, host=host, brand=best.key.brand, own=False,
                         lookalike=best.score >= FLAG_SCORE, kinds=kinds, score=best.score,
                         reasons=reasons)  # fmt: skip


def check_domains(
    given: Iterable[str], index: LookalikeIndex | None = None
) -> list[DomainVerdict | DomainError]:
    """:func:`check_domain` for each address, an unreadable one as its :class:`DomainError`.

    At most :data:`MAX_DOMAINS` (:class:`TooManyDomainsError` past them, before any work).
    """
    addresses = []
    for address in given:
        addresses.append(address)
        if len(addresses) > MAX_DOMAINS:
            raise TooManyDomainsError()
    index = index or _shipped_index()
    found: list[DomainVerdict | DomainError] = []
    for address in addresses:
        try:
            found.append(check_domain(address, index))
        except DomainError as exc:
            found.append(exc)
    return found


MAX_LINKS: Final = 100
"""Addresses :func:`links_in` takes from one text."""
_CHUNKS: Final = re.compile(r"[\s,;«»\"'()<>\[\]{}|]+")
_LINK_LABEL: Final = re.compile(r"[^\W_][\w-]{0,62}")


def links_in(text: str) -> list[str]:
    """The addresses written in ``text`` (URLs, or names with a dot), the first :data:`MAX_LINKS`.

    Read in one pass (split at spaces and quotes, then each piece's labels checked), so a
    hostile text costs its length and no more.

    >>> links_in("Бонус на kaspi-bonus.com/get и https://Halykbank.kz.")
    ['kaspi-bonus.com/get', 'https://Halykbank.kz']
    """
    found: list[str] = []
    for chunk in _CHUNKS.split(text):
        chunk = chunk.strip(".:!?")
        if "." not in chunk or len(chunk) > MAX_INPUT_CHARS:
            continue
        host = _SCHEME.sub("", chunk)
        host = re.split(r"[/?#:]", host, maxsplit=1)[0].rpartition("@")[2]
        labels = host.split(".")
        if (
            len(labels) >= 2
            and all(_LINK_LABEL.fullmatch(label) for label in labels)
            and labels[-1].isalpha()
            and len(labels[-1]) >= 2
        ):
            found.append(chunk)
            if len(found) == MAX_LINKS:
                break
    return found


def _findings(host: Host, index: LookalikeIndex) -> Iterator[_Finding]:
    for finding in _borrowed(host, index):
        if not finding.key.local or host.suffix == finding.key.suffix:
            yield finding


def _borrowed(host: Host, index: LookalikeIndex) -> Iterator[_Finding]:
    """Every way ``host`` borrows a key, whatever the key's ending."""
    if not host.names:
        return
    label = host.names[-1]
    yield from _registered(host, label, index)
    yield from _in_front(host, index)
    joined = skeleton("".join(host.names))
    key = index.keys.get(joined)
    if len(host.names) > 1 and key is not None and skeleton(label) != joined:
        reason = Reason.said(
            _rule(Kind.SPLIT),
            0.85,
            "content.domain.split",
            **_about(key, host),
            registered=host.registered,
        )
        yield _Finding(key, Kind.SPLIT, 0.85, reason)


def _registered(host: Host, label: str, index: LookalikeIndex) -> Iterator[_Finding]:
    """What the registered label (``label``) borrows of a key."""
    whole = skeleton(label)
    key = index.keys.get(whole)
    if key is not None:
        if label.replace("-", "") == key.name.replace("-", "").lower():
            reason = Reason.said(
                _rule(Kind.OTHER_TLD), 0.85, "content.domain.other_tld", **_about(key, host)
            )
            yield _Finding(key, Kind.OTHER_TLD, 0.85, reason)
        else:
            reason = Reason.said(
                _rule(Kind.HOMOGLYPH),
                0.95,
                "content.domain.homoglyph",
                **_about(key, host),
                shown=host.unicode,
            )
            yield _Finding(key, Kind.HOMOGLYPH, 0.95, reason)
        return
    for key, distance, kind in index.near(whole):
        if kind is not None and (len(key.skeleton) >= 7 or host.suffix == key.suffix):
            score = 0.8 if distance == 1 else 0.6
            reason = Reason.said(
                _rule(kind),
                score,
                "content.domain.typo",
                **_about(key, host),
                edits=str(distance),
                how=kind.value,
            )
            yield _Finding(key, kind, score, reason)
    yield from _added_words(host, label, index)


def _added_words(host: Host, label: str, index: LookalikeIndex) -> Iterator[_Finding]:
    """A key beside other words: a hyphenated part, or inside the label (keys of five+)."""
    written = [part for part in label.split("-") if part]
    parts = [skeleton(part) for part in written]
    whole = "".join(parts)
    for number, part in enumerate(parts):
        others = "-".join(p for i, p in enumerate(written) if i != number)
        key = index.keys.get(part)
        if key is not None and others:
            reason = Reason.said(
                _rule(Kind.ADDED_WORDS),
                0.75,
                "content.domain.added_words",
                **_about(key, host),
                words=f"'{others}'",
            )
            yield _Finding(key, Kind.ADDED_WORDS, 0.75, reason)
            continue
        for key, distance, kind in index.near(part):
            if kind is not None and others and distance == 1 and len(key.skeleton) >= 7:
                reason = Reason.said(
                    _rule(Kind.ADDED_WORDS),
                    0.65,
                    "content.domain.added_words",
                    **_about(key, host),
                    words=f"'{others}'",
                )
                yield _Finding(key, Kind.ADDED_WORDS, 0.65, reason)
    for key in index.keys.values():
        if len(key.skeleton) < 3 or key.skeleton not in whole or key.skeleton == whole:
            continue
        added = whole.replace(key.skeleton, " ", 1).split()
        if len(key.skeleton) >= 8 or all(_bait_only(word) for word in added):
            reason = Reason.said(
                _rule(Kind.ADDED_WORDS),
                0.75,
                "content.domain.added_words",
                **_about(key, host),
                words=f"'{_rest(label, whole, key.skeleton)}'",
            )
            yield _Finding(key, Kind.ADDED_WORDS, 0.75, reason)


def _bait_only(text: str) -> bool:
    """Whether ``text`` (a skeleton) is bait words run together: ``bonusonline``."""
    if len(text) > 40:
        return False
    ends = {0}
    for end in range(1, len(text) + 1):
        if any(
            start in ends and text[start:end] in _BAIT for start in range(max(0, end - 14), end)
        ):
            ends.add(end)
    return len(text) in ends


def _rest(label: str, whole: str, key: str) -> str:
    """What ``label`` adds around ``key`` (``bonus`` of ``kaspibonus``), as written."""
    plain = label.replace("-", "")
    if len(plain) != len(whole):
        return label
    at = whole.index(key)
    return "-".join(part for part in (plain[:at], plain[at + len(key) :]) if part)


def _in_front(host: Host, index: LookalikeIndex) -> Iterator[_Finding]:
    """A real domain, or a key, among the labels in front of someone else's registered name."""
    front = host.names[:-1]
    for start in range(len(front)):
        for end in range(start + 1, len(front) + 1):
            written = ".".join(front[start:end])
            if written in index.real:
                key = _key_of(index, index.real[written])
                if key is not None:
                    reason = Reason.said(
                        _rule(Kind.SUBDOMAIN),
                        0.9,
                        "content.domain.subdomain",
                        **_about(key, host),
                        registered=host.registered,
                    )
                    yield _Finding(key, Kind.SUBDOMAIN, 0.9, reason)
    for label in front:
        for part in label.split("-"):
            key = index.keys.get(skeleton(part))
            if key is not None and len(key.skeleton) >= 4:
                reason = Reason.said(
                    _rule(Kind.SUBDOMAIN),
                    0.7,
                    "content.domain.subdomain",
                    **_about(key, host),
                    registered=host.registered,
                )
                yield _Finding(key, Kind.SUBDOMAIN, 0.7, reason)


def _key_of(index: LookalikeIndex, brand: Brand) -> _Key | None:
    return next((key for key in index.keys.values() if key.brand == brand), None)


def _rule(kind: Kind) -> str:
    return f"content.domain.{kind.value}"


def _about(key: _Key, host: Host) -> dict[str, str]:
    """The facts every lookalike reason gives: the address, the brand, its real domain."""
    return {"domain": host.unicode, "brand": key.brand.name, "real": key.real}
