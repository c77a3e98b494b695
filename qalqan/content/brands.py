"""Protected brands and persons, and texts that borrow them to lure people.

Fraudsters sell fake investments in the name of the state oil company, of
officials and of banks ("KazMunayGas pays 600,000 tenge a month on a 90,000
deposit", a deepfaked president promising returns), and ask for card details in
the name of a bank. :func:`check_text` says when a text *names* a protected brand
or person *and* carries an investment or payment lure, with the phrases that
decided it as reasons in the operator's language.

Names are matched on a **skeleton**, the idea of Unicode TR39's confusable
skeletons: two spellings that look alike fold to the same string. The fold is a
small map written here (:data:`CONFUSABLES`), not TR39's whole table: it covers
the scripts Qalqan's texts are written in (Latin, Cyrillic with the Kazakh
letters, the Greek letters that pass for Latin ones) and the tricks seen in ads:

* look-alike letters of another script, mixed into a word ("Kаspi" with a
  Cyrillic "а", "НАLYК");
* Kazakh letters for their Russian neighbours ("Тоқаев" and "Токаев");
* digits and symbols for letters ("H4lyk", "Kasp1", "$amruk"), and letters that
  pass for each other in many fonts (``i``, ``l`` and ``1``; ``rn`` and ``m``);
* letters pulled apart by spaces, dots, hyphens or invisible characters
  ("K a s p i", "K.a.s.p.i", "Kas\u200bpi");
* accents, compatibility forms and the Latin letters of other alphabets, folded to
  the Latin letter their Unicode name builds on ("Ｋａｓｐｉ", "Kâspi", "ᴋaspi", "ħalyk").

>>> skeleton("Kаspі") == skeleton("KASPI") == skeleton("kasp1")
True
>>> verdict = shipped_registry().check_text("КазМунайГаз: инвестируйте 90 000 ₸ и получайте доход")
>>> verdict.impersonation, [m.brand.id for m in verdict.mentions], [lure.phrase for lure in verdict.lures]
(True, ['kmg'], ['инвестируйте', 'доход'])

The list of brands ships as ``brands.yaml`` beside this module; an operator's
file of the same shape replaces, adds or drops entries (:func:`load_registry`).
Errors in either are :class:`BrandsFileError`, every problem with its file and
line at once. A text longer than :data:`MAX_TEXT_CHARS` is refused
(:class:`TextTooLongError`): the cost an outsider can drive is bounded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Final

import yaml

from qalqan.domain.messages import Reason
from qalqan.errors import ConfigError, QalqanError

__all__ = [
    "CONFUSABLES",
    "MAX_TEXT_CHARS",
    "SHIPPED_BRANDS",
    "Brand",
    "BrandsFileError",
    "Lure",
    "LureKind",
    "LureMention",
    "Mention",
    "Registry",
    "TextTooLongError",
    "TextVerdict",
    "load_registry",
    "shipped_registry",
    "skeleton",
    "tokens",
]

SHIPPED_BRANDS: Final = Path(__file__).with_name("brands.yaml")
MAX_TEXT_CHARS: Final = 50_000
"""The longest text :meth:`Registry.check_text` reads: an ad, a message, a page's text."""
MAX_FILE_BYTES: Final = 1 << 20
MAX_BRANDS: Final = 5_000
MAX_NAMES: Final = 200
"""Names, domains, keys of one brand; phrases of one lure list."""
MAX_NAME_CHARS: Final = 200
MAX_REASONS: Final = 40
"""Reasons a verdict lists at most: each brand once, then the lure phrases as they come."""
_MAX_INFLECTION: Final = 4
"""Letters a word may add to a name of four or more letters: "Халык банка", "Kaspi-ге"."""
_MIN_JOINED: Final = 5
"""A one-word name of at least this many letters is also found spelled apart ("K a s p i")."""

# --- the skeleton -----------------------------------------------------------------------------

_KAZAKH: Final = {"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "h"}
"""Kazakh letters folded to the Russian letters they stand beside in ads."""

CONFUSABLES: Final[Mapping[str, str]] = {
    # Cyrillic letters that pass for Latin ones, in either case (the fold is case-free).
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "l", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ь": "b", "ӏ": "l", "п": "n", "ԍ": "g", "ѵ": "v", "ѡ": "w",
    "ҫ": "c", "ҏ": "p", "ҳ": "x", "ӽ": "x", "ӿ": "x", "ԑ": "e", "ɛ": "e",
    # Greek letters that pass for Latin ones.
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "l", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
    # Latin letters of other alphabets, and i/l, which many fonts draw alike.
    "ı": "l", "i": "l", "ł": "l", "ɑ": "a", "ɡ": "g", "ȷ": "j", "ø": "o", "đ": "d",
    # Digits and symbols written for letters (leetspeak).
    "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
    "@": "a", "$": "s", "|": "l",
}  # fmt: skip
"""One character (case-folded, accents removed) → the Latin letter it passes for."""

_LEET_SYMBOLS: Final = frozenset("@$|")
"""Symbols that are letters only inside a word ("H@lyk"), separators elsewhere ("a@b")."""
_PAIRS: Final = (("rn", "m"), ("vv", "w"))
"""Two letters drawn like one."""


def _latin_base(char: str) -> str:
    """The Latin letter a Latin character's Unicode name builds on: ħ (LATIN SMALL LETTER H
    WITH STROKE) → h, ᴋ (LATIN LETTER SMALL CAPITAL K) → k; "" for any other character."""
    words = unicodedata.name(char, "").split()
    if len(words) < 3 or words[0] != "LATIN" or "LETTER" not in words:
        return ""
    rest = [w for w in words[words.index("LETTER") + 1 :] if w not in {"SMALL", "CAPITAL"}]
    return rest[0].lower() if rest and len(rest[0]) == 1 and rest[0].isalpha() else ""


@lru_cache(maxsize=1 << 16)
def _fold(char: str) -> str:
    """One character's skeleton: letters and digits only, "" for anything else."""
    folded = unicodedata.normalize("NFKC", char).casefold()
    folded = "".join(
        c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c)
    )
    out = []
    for c in folded:
        c = _KAZAKH.get(c, c)
        c = CONFUSABLES.get(c, c)
        if not c.isascii():
            c = _latin_base(c) or c
            c = CONFUSABLES.get(c, c)
        if c.isalnum():
            out.append(c)
    return "".join(out)


def _pairs(text: str) -> str:
    for pair, single in _PAIRS:
        text = text.replace(pair, single)
    return text


def skeleton(text: str) -> str:
    """``text`` folded so that look-alike spellings are equal; separators and spaces dropped.

    >>> skeleton("H.a.l.y.k  Bаnk")  # dots, spaces, a Cyrillic "а"
    'halykbank'
    >>> skeleton("Тоқаев") == skeleton("ТОКАЕВ")
    True
    """
    return _pairs("".join(_fold(c) for c in text))


@dataclass(frozen=True, slots=True)
class Token:
    """A word of a text: where it stands and its skeleton."""

    start: int
    end: int
    skeleton: str
    tricks: bool
    """Mixed scripts, digits or symbols among its letters, or invisible characters inside."""


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if char.isalpha() else ""


def _is_word_char(text: str, at: int) -> bool:
    char = text[at]
    if char in _LEET_SYMBOLS:
        before = at > 0 and _fold(text[at - 1]).isalnum()
        after = at + 1 < len(text) and _fold(text[at + 1]).isalnum()
        return before and after
    return _fold(char) != "" or unicodedata.category(char) == "Mn"


def tokens(text: str) -> list[Token]:
    """The words of ``text``, split on everything that is not a letter or digit.

    Invisible characters (zero-width spaces, soft hyphens) do not split a word.

    >>> [t.skeleton for t in tokens("Kas\u200bpi, H@lyk!")]
    ['kaspl', 'halyk']
    """
    found: list[Token] = []
    start = -1
    for at, char in enumerate(text):
        if _is_word_char(text, at):
            if start < 0:
                start = at
        elif start >= 0 and unicodedata.category(char) == "Cf":
            continue
        elif start >= 0:
            found.append(_token(text, start, at))
            start = -1
    if start >= 0:
        found.append(_token(text, start, len(text)))
    return found


def _plain(char: str) -> str:
    """``char`` in compatibility form without accents: Ｋ → K, â → a, ᴋ stays ᴋ."""
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", char))
    return "".join(c for c in folded if not unicodedata.combining(c))


def _token(text: str, start: int, end: int) -> Token:
    raw = text[start:end]
    scripts = {_script(c) for c in raw if c.isalpha()} - {"", "COMBINING"}
    letters = any(c.isalpha() for c in raw)
    tricks = (
        len(scripts) > 1
        or any(_latin_base(c) and not _plain(c).isascii() for c in raw)
        or (letters and any(c.isdigit() or c in _LEET_SYMBOLS for c in raw))
        or any(unicodedata.category(c) == "Cf" for c in raw)
    )
    return Token(start, end, _pairs("".join(_fold(c) for c in raw)), tricks)


# --- the registry -------------------------------------------------------------------------------


class LureKind(StrEnum):
    INVESTMENT = "investment"
    PAYMENT = "payment"


@dataclass(frozen=True, slots=True, kw_only=True)
class Brand:
    """A protected brand or person: the names people write and the real domains."""

    id: str
    name: str
    kind: str
    """bank, state company, regulator, agency, ministry, official, ..."""
    names: tuple[str, ...]
    domains: tuple[str, ...]
    """Real domains: they and every address under them belong to the brand."""
    keys: tuple[str, ...] = ()
    """Names lookalike domains are compared with; by default the real domains' labels."""
    not_names: tuple[str, ...] = ()
    """Words that start like a name but are not it ("Каспийский" is not Kaspi inflected)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Lure:
    kind: LureKind
    language: str
    phrase: str
    words: tuple[str, ...] = field(compare=False, default=())
    """The phrase's words' skeletons: a text's words must start with them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Mention:
    """A protected brand named in a text, as it was written there."""

    brand: Brand
    phrase: str
    start: int
    end: int
    disguised: bool
    """Written with look-alike letters, digits, symbols or spacing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LureMention:
    lure: Lure
    phrase: str
    start: int
    end: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TextVerdict:
    """Whether a text impersonates a protected brand to lure, and why."""

    impersonation: bool
    """A protected brand or person named together with an investment or payment lure."""
    score: float
    mentions: tuple[Mention, ...]
    lures: tuple[LureMention, ...]
    reasons: tuple[Reason, ...]

    def as_data(self) -> dict[str, object]:
        return {
            "impersonation": self.impersonation,
            "score": self.score,
            "brands": sorted({m.brand.id for m in self.mentions}),
            "mentions": [
                {"brand": m.brand.id, "phrase": m.phrase, "start": m.start, "end": m.end,
                 "disguised": m.disguised}
                for m in self.mentions
            ],
            "lures": [
                {"kind": lure.lure.kind.value, "language": lure.lure.language,
                 "phrase": lure.phrase, "start": lure.start, "end": lure.end}
                for lure in self.lures
            ],
            "reasons": [reason.as_data() for reason in self.reasons],
        }  # fmt: skip


class BrandsFileError(ConfigError):
    """A brands file cannot be used; every problem found, each with its file and line."""

    def __init__(self, path: Path | str, problems: Sequence[tuple[int, str]]) -> None:
        self.path = Path(path)
        self.problems = tuple(problems)
        listed = "; ".join(f"{self.path}:{line}: {what}" for line, what in self.problems)
        super().__init__(listed)


class TextTooLongError(QalqanError, ValueError):
    def __init__(self, length: int) -> None:
        super().__init__(
            f"a text of {length} characters is longer than the {MAX_TEXT_CHARS} checked at once"
        )
        self.length = length


class Registry:
    """The protected brands and the lure phrases, indexed for :meth:`check_text`."""

    def __init__(self, *, brands: Iterable[Brand], lures: Iterable[Lure], source: str) -> None:
        self.brands: tuple[Brand, ...] = tuple(brands)
        self.lures: tuple[Lure, ...] = tuple(
            Lure(kind=lure.kind, language=lure.language, phrase=lure.phrase,
                 words=tuple(t.skeleton for t in tokens(lure.phrase)))
            for lure in lures
        )  # fmt: skip
        self.source = source
        self._names: dict[str, list[tuple[Brand, bool]]] = {}
        for brand in self.brands:
            for name in brand.names:
                words = tokens(name)
                key = "".join(t.skeleton for t in words)
                if len(key) >= 2:
                    self._names.setdefault(key, []).append((brand, len(words) > 1))
        self._not_names = {
            brand.id: tuple(skeleton(word) for word in brand.not_names) for brand in self.brands
        }
        self._longest = max((len(key) for key in self._names), default=0)
        self._prefixes = {key[:n] for key in self._names for n in range(1, len(key) + 1)}
        self._lures: dict[str, list[Lure]] = {}
        for lure in self.lures:
            if lure.words and lure.words[0]:
                self._lures.setdefault(lure.words[0][:2], []).append(lure)

    def brand(self, brand_id: str) -> Brand:
        for brand in self.brands:
            if brand.id == brand_id:
                return brand
        raise KeyError(brand_id)

    def check_text(self, text: str) -> TextVerdict:
        """Whether ``text`` names a protected brand together with a lure; the phrases that decide."""
        if len(text) > MAX_TEXT_CHARS:
            raise TextTooLongError(len(text))
        words = tokens(text)
        mentions = tuple(self._mentions(text, words))
        lures = tuple(self._lure_mentions(text, words))
        return _verdict(mentions, lures)

    def _mentions(self, text: str, words: list[Token]) -> Iterator[Mention]:
        at = 0
        while at < len(words):
            found = self._name_at(words, at)
            if found is None:
                at += 1
                continue
            brand, last, spaced = found
            span = words[at : last + 1]
            disguised = spaced or any(t.tricks for t in span)
            start, end = span[0].start, span[-1].end
            yield Mention(brand=brand, phrase=text[start:end], start=start, end=end,
                          disguised=disguised)  # fmt: skip
            at = last + 1

    def _name_at(self, words: list[Token], at: int) -> tuple[Brand, int, bool] | None:
        """The longest protected name starting at word ``at``: brand, last word, spelled apart."""
        best: tuple[Brand, int, bool] | None = None
        joined = ""
        for last in range(at, len(words)):
            joined += words[last].skeleton
            if not any(
                joined[: len(joined) - cut] in self._prefixes
                for cut in range(min(_MAX_INFLECTION, len(joined) - 1) + 1)
            ):
                break
            several = last > at
            for cut in range(min(_MAX_INFLECTION, len(words[last].skeleton) - 1) + 1):
                stem = joined[: len(joined) - cut]
                if cut and len(stem) < 4:
                    break
                for brand, many_words in self._names.get(stem, ()):
                    if several and not many_words and len(stem) < _MIN_JOINED:
                        continue
                    if cut and any(joined.startswith(word) for word in self._not_names[brand.id]):
                        continue
                    best = (brand, last, several and not many_words)
                    break
                if best is not None and best[1] == last:
                    break
        return best

    def _lure_mentions(self, text: str, words: list[Token]) -> Iterator[LureMention]:
        at = 0
        while at < len(words):
            matched: tuple[Lure, int] | None = None
            for lure in self._lures.get(words[at].skeleton[:2], ()):
                last = at + len(lure.words) - 1
                if (
                    last < len(words)
                    and all(
                        words[at + k].skeleton.startswith(word) for k, word in enumerate(lure.words)
                    )
                    and (matched is None or last > matched[1])
                ):
                    matched = (lure, last)
            if matched is None:
                at += 1
                continue
            lure, last = matched
            start, end = words[at].start, words[last].end
            yield LureMention(lure=lure, phrase=text[start:end], start=start, end=end)
            at = last + 1


def _verdict(mentions: tuple[Mention, ...], lures: tuple[LureMention, ...]) -> TextVerdict:
    """The verdict, with one reason per brand (named, or disguised) and per lure phrase."""
    reasons: dict[tuple[str, str], Reason] = {}
    for mention in mentions:
        brand, phrase = mention.brand.name, mention.phrase
        if mention.disguised and ("disguised", brand) not in reasons:
            reasons[("disguised", brand)] = Reason.said(
                "content.brand.disguised",
                0.2,
                "content.brand.disguised",
                brand=brand,
                phrase=phrase,
            )
        elif not mention.disguised and ("named", brand) not in reasons:
            reasons[("named", brand)] = Reason.said(
                "content.brand.named", 0.2, "content.brand.named", brand=brand, phrase=phrase
            )
    for lure in lures:
        seen = (lure.lure.kind.value, lure.phrase.casefold())
        if seen in reasons:
            continue
        if lure.lure.kind is LureKind.INVESTMENT:
            reasons[seen] = Reason.said("content.brand.lure_investment", 0.25,
                                        "content.brand.lure_investment", phrase=lure.phrase)  # fmt: skip
        else:
            reasons[seen] = Reason.said("content.brand.lure_payment", 0.25,
                                        "content.brand.lure_payment", phrase=lure.phrase)  # fmt: skip
    impersonation = bool(mentions) and bool(lures)
    score = 0.0
    if mentions:
        kinds = {lure.lure.kind for lure in lures}
        score = 0.2 + (0.4 if impersonation else 0.0) + 0.15 * max(len(kinds) - 1, 0)
        score += 0.2 if any(m.disguised for m in mentions) else 0.0
    return TextVerdict(impersonation=impersonation, score=round(min(score, 1.0), 2),
                       mentions=mentions, lures=lures,
                       reasons=tuple(reasons.values())[:MAX_REASONS])  # fmt: skip


# --- the brands file ----------------------------------------------------------------------------

_ID: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_DOMAIN: Final = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line each mapping starts on."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.lines: dict[int, int] = {}


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    loader.lines[id(mapping)] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class _Problems:
    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def __call__(self, line: int, what: str) -> None:
        self.found.append((line, what))


def _read(path: Path) -> tuple[object, dict[int, int]]:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise BrandsFileError(path, [(0, f"cannot be read: {exc.strerror or exc}")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise BrandsFileError(path, [(0, f"larger than {MAX_FILE_BYTES} bytes")])
    try:
        loader = _LineLoader(data.decode("utf-8"))
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
    except UnicodeDecodeError as exc:
        raise BrandsFileError(path, [(0, f"not UTF-8 text ({exc.reason})")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise BrandsFileError(path, [(line, f"not YAML: {problem}")]) from None
    return document, loader.lines


def _strings(
    value: object, line: int, what: str, problems: _Problems, *, required: bool = False
) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not all(isinstance(v, str) and v.strip() for v in value)
        or (required and not value)
    ):
        problems(line, f"{what} must be a list of non-empty strings")
        return ()
    if len(value) > MAX_NAMES or any(len(v) > MAX_NAME_CHARS for v in value):
        problems(line, f"{what}: at most {MAX_NAMES} entries of {MAX_NAME_CHARS} characters")
        return ()
    return tuple(v.strip() for v in value)


def _brand(entry: object, line: int, problems: _Problems) -> Brand | None:
    if not isinstance(entry, dict):
        problems(line, "a brand must be a mapping with id, name, kind, names and domains")
        return None
    before = len(problems.found)
    unknown = set(entry) - {"id", "name", "kind", "names", "domains", "keys", "not_names"}
    if unknown:
        problems(line, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    brand_id = entry.get("id")
    if not isinstance(brand_id, str) or not _ID.fullmatch(brand_id):
        problems(line, f"id {brand_id!r} must be lower-case letters, digits, '-' or '_'")
        brand_id = "?"
    name, kind = entry.get("name"), entry.get("kind")
    if not isinstance(name, str) or not name.strip():
        problems(line, f"brand {brand_id}: name must be a non-empty string")
    if not isinstance(kind, str) or not kind.strip():
        problems(line, f"brand {brand_id}: kind must be a non-empty string")
    names = _strings(entry.get("names"), line, f"brand {brand_id}: names", problems, required=True)
    domains = _strings(
        entry.get("domains"), line, f"brand {brand_id}: domains", problems, required=True
    )
    for domain in domains:
        if not _DOMAIN.fullmatch(domain):
            problems(line, f"brand {brand_id}: {domain!r} is not a lower-case ASCII domain")
    keys = _strings(entry.get("keys", []), line, f"brand {brand_id}: keys", problems)
    not_names = _strings(entry.get("not_names", []), line, f"brand {brand_id}: not_names", problems)
    for key in keys:
        if len(skeleton(key)) < 2:
            problems(line, f"brand {brand_id}: key {key!r} has fewer than two letters")
    if len(problems.found) > before:
        return None
    return Brand(id=str(brand_id), name=str(name).strip(), kind=str(kind).strip(), names=names,
                 domains=domains, keys=keys, not_names=not_names)  # fmt: skip


def _lures(
    value: object, line: int, lines: Mapping[int, int], problems: _Problems
) -> dict[tuple[LureKind, str], tuple[str, ...]]:
    if not isinstance(value, dict):
        problems(line, "lures must map a kind (investment, payment) to languages' phrase lists")
        return {}
    found: dict[tuple[LureKind, str], tuple[str, ...]] = {}
    for kind_name, languages in value.items():
        try:
            kind = LureKind(kind_name)
        except ValueError:
            problems(line, f"lures: {kind_name!r} is not a kind ({', '.join(LureKind)})")
            continue
        if not isinstance(languages, dict):
            problems(line, f"lures: {kind} must map languages to phrase lists")
            continue
        where = lines.get(id(languages), line)
        for language, phrases in languages.items():
            found[(kind, str(language))] = _strings(
                phrases, where, f"lures: {kind}: {language}", problems
            )
    return found


def _parse(
    path: Path,
) -> tuple[list[Brand], dict[tuple[LureKind, str], tuple[str, ...]], list[str]]:
    document, lines = _read(path)
    problems = _Problems()
    if not isinstance(document, dict):
        raise BrandsFileError(path, [(1, "a brands file is a mapping with version and brands")])
    top = lines.get(id(document), 1)
    unknown = set(document) - {"version", "brands", "lures", "drop"}
    if unknown:
        problems(top, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    if document.get("version", 1) != 1:
        problems(top, f"version {document.get('version')!r} is not 1")
    entries = document.get("brands", [])
    brands: list[Brand] = []
    if not isinstance(entries, list):
        problems(top, "brands must be a list")
    elif len(entries) > MAX_BRANDS:
        problems(top, f"more than {MAX_BRANDS} brands")
    else:
        seen: set[str] = set()
        for entry in entries:
            line = lines.get(id(entry), top)
            brand = _brand(entry, line, problems)
            if brand is not None and brand.id in seen:
                problems(line, f"brand {brand.id} is listed twice")
            elif brand is not None:
                seen.add(brand.id)
                brands.append(brand)
    lures = _lures(document["lures"], top, lines, problems) if "lures" in document else {}
    drop = _strings(document.get("drop", []), top, "drop", problems)
    if problems.found:
        raise BrandsFileError(path, problems.found)
    return brands, lures, list(drop)


def load_registry(path: Path | None = None) -> Registry:
    """The shipped brands, with an operator's file (``path``) laid over them.

    The operator's entries replace shipped ones with the same id and add the rest;
    ids under ``drop`` are removed; a lure list given for a kind and language
    replaces the shipped one.
    """
    brands, lures, _ = _parse(SHIPPED_BRANDS)
    source = str(SHIPPED_BRANDS)
    if path is not None:
        own, own_lures, drop = _parse(path)
        replaced = {brand.id for brand in own} | set(drop)
        brands = [brand for brand in brands if brand.id not in replaced] + own
        lures = {**lures, **own_lures}
        source = f"{SHIPPED_BRANDS} + {path}"
    return Registry(
        brands=brands,
        lures=(Lure(kind=kind, language=language, phrase=phrase)
               for (kind, language), phrases in lures.items() for phrase in phrases),
        source=source,
    )  # fmt: skip


@cache
def shipped_registry() -> Registry:
    """The brands and lures shipped with Qalqan (read once)."""
    return load_registry()
