"""Texts that tell one script: near-duplicates grouped into campaigns, with the scheme they tell.

A fraud call center reads the same script to everyone, so its victims'
complaints, and its robocalls' transcripts, say nearly the same words. Each text
is normalised (lower case, digits as ``0``, punctuation gone) and cut into
shingles of three words; texts are compared by the Jaccard similarity of their
shingles, and two texts at or above :data:`SAME_SCRIPT` are tied. Clusters are
the connected parts of the ties.

Comparing every pair would cost n²; MinHash signatures (64 hashes) in 16 bands
of 4 give the pairs worth comparing (a pair at Jaccard 0.5 shares a band with
probability 0.64, at 0.7 with 0.98), and a band shared by many texts compares
each only with its first :data:`BUCKET_COMPARISONS`. Identical normalised texts
are one text. At most :data:`MAX_TEXTS` texts are taken, each cut at
:data:`~qalqan.content.schemes.MAX_TEXT_CHARS` characters.

:func:`cluster_reports` gives each cluster the scheme most of its texts tell and
the phrases that decided it, for the campaigns of the analytics.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from qalqan.content.schemes import MAX_TEXT_CHARS, Phrase, SchemeClassifier, TextInputError

__all__ = [
    "BUCKET_COMPARISONS",
    "MAX_TEXTS",
    "REPORT_CATEGORIES",
    "SAME_SCRIPT",
    "SCHEME_BATCH",
    "TextCluster",
    "cluster_reports",
    "script_groups",
    "script_text",
    "shingles",
    "text_schemes",
]

#: Jaccard similarity of two texts' shingles at which they tell the same script.
SAME_SCRIPT = 0.5
#: At most this many texts are clustered at once.
MAX_TEXTS = 200_000
#: In a band shared by many texts, each is compared with at most this many of them.
BUCKET_COMPARISONS = 32

#: The exchange format's ``reports.category`` for each scheme (legitimate: none; the rest ``other``).
REPORT_CATEGORIES = {
    "bank_security": "bank_security",
    "police": "police",
    "investment": "investment",
    "egov": "egov",
    "operator": "operator",
    "relative": "relative",
    "prize_refund": "other",
    "delivery": "other",
    "tech_support": "other",
    "other_scam": "other",
}

_HASHES = 64
_BANDS = 16
_SHINGLE_WORDS = 3
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def script_text(text: str) -> str:
    """A text as its script: lower case, digits as ``0``, words only.

    >>> script_text("Press 1 NOW, to speak!")
    'press 0 now to speak'
    """
    cut = text[:MAX_TEXT_CHARS].lower()
    return " ".join(re.sub(r"\d", "0", w) for w in re.findall(r"\w+", cut))


def shingles(script: str) -> frozenset[str]:
    """Runs of three words; a text of fewer words is one shingle (none when it has none)."""
    words = script.split()
    if len(words) <= _SHINGLE_WORDS:
        return frozenset([script]) if words else frozenset()
    return frozenset(
        " ".join(words[i : i + _SHINGLE_WORDS]) for i in range(len(words) - _SHINGLE_WORDS + 1)
    )


def _signature(
    shingle_set: frozenset[str], salts: np.ndarray, multipliers: np.ndarray
) -> np.ndarray:
    values = np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")
            for s in shingle_set
        ),
        dtype=np.uint64,
        count=len(shingle_set),
    )
    with np.errstate(over="ignore"):
        mixed = ((values[None, :] ^ salts[:, None]) * multipliers[:, None]) & _MASK
    return np.asarray(mixed.min(axis=1))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


class _Parts:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _candidate_pairs(sets: Sequence[frozenset[str]]) -> set[tuple[int, int]]:
    rng = np.random.default_rng(20240917)
    salts = rng.integers(0, 2**63, size=_HASHES, dtype=np.uint64)
    multipliers = rng.integers(0, 2**63, size=_HASHES, dtype=np.uint64) * np.uint64(2) + np.uint64(
        1
    )
    rows = _HASHES // _BANDS
    buckets: dict[tuple[int, bytes], list[int]] = {}
    for index, shingle_set in enumerate(sets):
        if not shingle_set:
            continue
        signature = _signature(shingle_set, salts, multipliers)
        for band in range(_BANDS):
            key = (band, signature[band * rows : (band + 1) * rows].tobytes())
            buckets.setdefault(key, []).append(index)
    pairs: set[tuple[int, int]] = set()
    for members in buckets.values():
        for position, b in enumerate(members[1:], start=1):
            for a in members[max(0, position - BUCKET_COMPARISONS) : position]:
                pairs.add((a, b))
    return pairs


def script_groups(texts: Sequence[str], *, threshold: float = SAME_SCRIPT) -> list[list[int]]:
    """Indexes of ``texts`` grouped by script, each group in order, groups by their first index."""
    if len(texts) > MAX_TEXTS:
        raise TextInputError(f"{len(texts)} texts to cluster, more than the {MAX_TEXTS} allowed")
    scripts = [script_text(t) for t in texts]
    unique: dict[str, int] = {}
    for script in scripts:
        unique.setdefault(script, len(unique))
    sets = [shingles(s) for s in unique]
    parts = _Parts(len(sets))
    for a, b in _candidate_pairs(sets):
        if _jaccard(sets[a], sets[b]) >= threshold:
            parts.join(a, b)
    groups: dict[int, list[int]] = {}
    for index, script in enumerate(scripts):
        groups.setdefault(parts.find(unique[script]), []).append(index)
    return sorted(groups.values(), key=lambda g: g[0])


@dataclass(frozen=True, slots=True, kw_only=True)
class TextCluster:
    """Reports that tell one script, the scheme most of them tell, and the phrases of its example."""

    cluster_id: str
    ids: tuple[str, ...]
    scheme: str
    score: float
    """The share of the cluster's texts whose verdict is ``scheme``."""
    example: str
    """The cluster's most frequent text (the first of them) telling ``scheme``."""
    phrases: tuple[Phrase, ...]

    @property
    def report_category(self) -> str | None:
        """The category the exchange format's ``reports`` table gives this scheme (none: legitimate)."""
        return REPORT_CATEGORIES.get(self.scheme)

    def summary(self) -> str:
        """One English line: how many texts, the scheme, the share telling it, its phrases."""
        said = ", ".join(f"«{p.text}»" for p in self.phrases) or "no phrase"
        return f"{len(self.ids)} texts tell one script: {self.scheme} ({self.score:.0%} of them): {said}"


#: Texts whose schemes are read at once.
SCHEME_BATCH = 512


def text_schemes(classifier: SchemeClassifier, texts: Sequence[str]) -> dict[str, str]:
    """Each text's scheme: the one :meth:`SchemeClassifier.classify` gives it, read in batches."""
    scheme_of: dict[str, str] = {}
    for start in range(0, len(texts), SCHEME_BATCH):
        batch = texts[start : start + SCHEME_BATCH]
        best = np.argmax(classifier.probabilities(batch), axis=1)
        scheme_of.update(
            (text, classifier.schemes[int(i)]) for text, i in zip(batch, best, strict=True)
        )
    return scheme_of


def cluster_reports(
    reports: Iterable[tuple[str, str]],
    *,
    classifier: SchemeClassifier,
    threshold: float = SAME_SCRIPT,
    explained_from: int = 1,
    known_schemes: Mapping[str, str] | None = None,
) -> list[TextCluster]:
    """``(id, text)`` pairs grouped by script, largest cluster first, each with its scheme.

    Each distinct text's scheme is read once, in batches of :data:`SCHEME_BATCH`; the phrases
    that decided are worked out for each cluster's example alone (the dearer part, some 20 ms
    a 3,000-character text), and only for clusters of ``explained_from`` texts or more: the
    others' are empty. ``known_schemes`` holds the schemes a caller has read already
    (:func:`text_schemes`); only the texts it lacks are read.
    """
    pairs = []
    for pair in reports:
        pairs.append(pair)
        if len(pairs) > MAX_TEXTS:
            raise TextInputError(f"more than the {MAX_TEXTS} texts allowed to cluster at once")
    texts = [text for _, text in pairs]
    scheme_of = dict(known_schemes or {})
    scheme_of.update(
        text_schemes(classifier, [t for t in dict.fromkeys(texts) if t not in scheme_of])
    )
    clusters = []
    for group in script_groups(texts, threshold=threshold):
        counts = Counter(texts[i] for i in group)
        schemes = Counter({scheme_of[t]: 0 for t in counts})
        for text, n in counts.items():
            schemes[scheme_of[text]] += n
        scheme, n_scheme = schemes.most_common(1)[0]
        example = next(t for t, _ in counts.most_common() if scheme_of[t] == scheme)
        clusters.append(
            TextCluster(
                cluster_id="",
                ids=tuple(pairs[i][0] for i in group),
                scheme=scheme,
                score=n_scheme / len(group),
                example=example,
                phrases=classifier.classify(example).phrases
                if len(group) >= explained_from
                else (),
            )
        )
    clusters.sort(key=lambda c: (-len(c.ids), c.ids[0]))
    return [
        TextCluster(cluster_id=f"T{n + 1:05d}", ids=c.ids, scheme=c.scheme, score=c.score,
                    example=c.example, phrases=c.phrases)
        for n, c in enumerate(clusters)
    ]  # fmt: skip
