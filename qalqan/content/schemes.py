"""Which fraud scheme a text tells, and the phrases of the text that decided it.

A call transcript, an SMS, a messenger post or an ad is read by a linear model
over character n-grams (2 to 5, within words) and word n-grams (1 and 2), both
TF-IDF, trained by the project from :mod:`qalqan.content.texts` (nothing is
downloaded). The model is trained once and cached (:func:`cached_classifier`),
like :mod:`qalqan.training`'s models.

Every verdict carries its reasons: each n-gram's contribution to the chosen
scheme (its TF-IDF weight times the scheme's coefficient, less the mean of all
schemes' coefficients) is spread over the characters it covers; the words with
the largest totals are joined into phrases, each a span ``[start, end)`` of the
text as given.

Costs are bounded: a text longer than :data:`MAX_TEXT_CHARS` is cut there and
the verdict says so.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qalqan.content.texts import SampleText, generate_texts
from qalqan.domain.messages import Reason
from qalqan.errors import QalqanError

if TYPE_CHECKING:  # scikit-learn is imported when a model is trained or fingerprinted, not
    # by every ``qalqan`` command that merely registers ``qalqan content``
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

__all__ = [
    "MAX_TEXT_CHARS",
    "SCHEME_TITLES",
    "Phrase",
    "SchemeClassifier",
    "SchemeVerdict",
    "TextInputError",
    "cached_classifier",
    "train_classifier",
]

#: A text is judged on its first this many characters; the verdict notes a cut.
MAX_TEXT_CHARS = 4000

#: What each scheme is, in the operator's words.
SCHEME_TITLES = {
    "bank_security": "fake bank security service",
    "police": "fake police or state security investigator",
    "investment": "fake investment with officials or state companies",
    "relative": "relative in trouble",
    "prize_refund": "prize, compensation or refund that costs a fee",
    "delivery": "fake delivery or courier",
    "egov": "fake government benefit or e-government service",
    "tech_support": "fake technical support",
    "operator": "fake mobile operator",
    "other_scam": "other scam",
    "legitimate": "not a scam",
}

#: How the shipped model is trained: the texts' seed and how many texts each template gives.
TRAINING_SEED = 7
TEXTS_PER_TEMPLATE = 12
RECIPE_VERSION = "1"

_WORD = re.compile(r"(?u)\b\w\w+\b")
_CHAR_NGRAMS = (2, 5)
_WORD_NGRAMS = (1, 2)
_MAX_PHRASES = 5
_MAX_PHRASE_WORDS = 12


class TextInputError(QalqanError):
    """Texts that cannot be judged as given: too many, or a file that cannot be read; names the
    file and line when there is one."""

    def __init__(self, reason: str, *, source: str | None = None, line: int | None = None) -> None:
        where = f"{source}:{line}: " if source and line else f"{source}: " if source else ""
        super().__init__(f"{where}{reason}")
        self.reason = reason
        self.source = source
        self.line = line


def normalise(text: str) -> str:
    """Lower case and every digit a ``0``, character for character (offsets stay those of ``text``).

    >>> normalise("Код 4821 из СМС")
    'код 0000 из смс'
    """
    out = []
    for c in text:
        low = c.lower()
        c = low if len(low) == 1 else c
        out.append("0" if c.isdigit() else c)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Phrase:
    """A span of the text that pushed the verdict towards its scheme, with its weight."""

    text: str
    start: int
    end: int
    weight: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemeVerdict:
    """The scheme a text tells, the model's probability of it, and why."""

    scheme: str
    score: float
    """The model's probability of ``scheme``."""
    scam_score: float
    """One less the probability that the text is legitimate."""
    phrases: tuple[Phrase, ...]
    notes: tuple[Reason, ...] = ()
    """What the operator should know besides: a text cut at the limit, a text without words."""

    @property
    def is_scam(self) -> bool:
        return self.scheme != "legitimate"

    @property
    def title(self) -> str:
        return SCHEME_TITLES[self.scheme]

    def reasons(self) -> tuple[Reason, ...]:
        """The scheme, each phrase that decided it (weighed by its contribution), then the notes."""
        said = [Reason.said("content.scheme", self.score, "content.scheme", scheme=self.scheme,
                            probability=f"{self.score:.2f}")]  # fmt: skip
        said += [
            Reason.said(
                "content.scheme",
                p.weight,
                "content.scheme.phrase",
                phrase=p.text,
                scheme=self.scheme,
            )
            for p in self.phrases
        ]
        return (*said, *self.notes)

    def summary(self) -> str:
        """One English line: the scheme, its probability and the phrases that decided it."""
        said = ", ".join(f"«{p.text}» ({p.weight:+.2f})" for p in self.phrases) or "no phrase"
        extra = "".join(f"; {note.detail}" for note in self.notes)
        return f"{self.scheme} ({self.title}, {self.score:.2f}): {said}{extra}"


def _char_occurrences(text: str) -> Iterator[tuple[str, int, int]]:
    """Every within-word character n-gram with the span of ``text`` it covers (as scikit-learn's
    ``char_wb`` analyser makes them: each word padded with one space either side)."""
    low, high = _CHAR_NGRAMS
    for word in re.finditer(r"\S+", text):
        padded = f" {word.group()} "
        for n in range(low, high + 1):
            offset = 0
            while True:
                start = word.start() + max(offset - 1, 0)
                end = word.start() + min(offset - 1 + n, len(padded) - 2)
                yield padded[offset : offset + n], start, end
                if offset + n >= len(padded):
                    break
                offset += 1
            if offset == 0:  # a word shorter than n counts once
                break


def _word_occurrences(text: str) -> Iterator[tuple[str, int, int]]:
    tokens = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    low, high = _WORD_NGRAMS
    for n in range(low, high + 1):
        for i in range(len(tokens) - n + 1):
            yield " ".join(t for t, _, _ in tokens[i : i + n]), tokens[i][1], tokens[i + n - 1][2]


class SchemeClassifier:
    """The vectorisers and the linear model; :meth:`classify` gives a verdict with its phrases."""

    def __init__(
        self, *, chars: TfidfVectorizer, words: TfidfVectorizer, model: LogisticRegression
    ) -> None:
        self.chars = chars
        self.words = words
        self.model = model
        self.schemes: tuple[str, ...] = tuple(str(c) for c in model.classes_)

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        import scipy.sparse as sp

        return sp.hstack([self.chars.transform(texts), self.words.transform(texts)]).tocsr()

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's probability of each scheme (columns in :attr:`schemes`' order)."""
        cut = [normalise(t[:MAX_TEXT_CHARS]) for t in texts]
        return np.asarray(self.model.predict_proba(self._features(cut)))

    def classify_many(self, texts: Sequence[str]) -> list[SchemeVerdict]:
        return [self.classify(t) for t in texts]

    def classify(self, text: str) -> SchemeVerdict:
        """The scheme ``text`` tells, its probability and the phrases that decided it."""
        notes = []
        if len(text) > MAX_TEXT_CHARS:
            notes.append(Reason.said("content.scheme", 0.0, "content.scheme.cut", judged=str(MAX_TEXT_CHARS),
                                     length=str(len(text))))  # fmt: skip
            text = text[:MAX_TEXT_CHARS]
        norm = normalise(text)
        features = self._features([norm])
        proba = np.asarray(self.model.predict_proba(features))[0]
        best = int(np.argmax(proba))
        legit = self.schemes.index("legitimate") if "legitimate" in self.schemes else None
        if not _WORD.search(norm):
            notes.append(Reason.said("content.scheme", 0.0, "content.scheme.no_words"))
        phrases = self._phrases(text, norm, features, best) if _WORD.search(norm) else ()
        return SchemeVerdict(
            scheme=self.schemes[best],
            score=float(proba[best]),
            scam_score=1.0 - float(proba[legit]) if legit is not None else 1.0,
            phrases=phrases,
            notes=tuple(notes),
        )

    def _weights(self, best: int) -> np.ndarray:
        coef = np.asarray(self.model.coef_)
        return np.asarray(coef[best] - coef.mean(axis=0))

    def _char_scores(self, norm: str, features: sp.csr_matrix, best: int) -> np.ndarray:
        """Each character's share of the contributions towards scheme ``best``."""
        weights = self._weights(best)
        row = features.getrow(0)
        values = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
        scores = np.zeros(len(norm))
        offsets = (
            (self.chars.vocabulary_, 0, _char_occurrences),
            (self.words.vocabulary_, len(self.chars.vocabulary_), _word_occurrences),
        )
        for vocabulary, base, occurrences in offsets:
            found: dict[int, list[tuple[int, int]]] = {}
            for gram, start, end in occurrences(norm):
                index = vocabulary.get(gram)
                if index is not None and base + index in values and end > start:
                    found.setdefault(base + index, []).append((start, end))
            for column, spans in found.items():
                share = values[column] * weights[column] / len(spans)
                for start, end in spans:
                    scores[start:end] += share / (end - start)
        return scores

    def _phrases(
        self, text: str, norm: str, features: sp.csr_matrix, best: int
    ) -> tuple[Phrase, ...]:
        scores = self._char_scores(norm, features, best)
        words = [
            (m.start(), m.end(), float(scores[m.start() : m.end()].sum()))
            for m in re.finditer(r"\w+", norm)
        ]
        if not words:
            return ()
        top = max(w[2] for w in words)
        if top <= 0:
            return ()
        chosen = sorted(range(len(words)), key=lambda i: -words[i][2])[:_MAX_PHRASE_WORDS]
        keep = sorted(i for i in chosen if words[i][2] >= 0.25 * top)
        runs: list[list[int]] = []
        for i in keep:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        phrases = [
            Phrase(text[words[r[0]][0] : words[r[-1]][1]], words[r[0]][0], words[r[-1]][1],
                   round(sum(words[i][2] for i in r), 3))
            for r in runs
        ]  # fmt: skip
        return tuple(sorted(phrases, key=lambda p: -p.weight)[:_MAX_PHRASES])


def train_classifier(samples: Sequence[SampleText] | None = None) -> SchemeClassifier:
    """Fit on ``samples``, or on the training templates' texts of the shipped recipe."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if samples is None:
        samples = generate_texts(seed=TRAINING_SEED, per_template=TEXTS_PER_TEMPLATE)
    texts = [normalise(s.text[:MAX_TEXT_CHARS]) for s in samples]
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=_CHAR_NGRAMS, preprocessor=_identity,
                            sublinear_tf=True, min_df=2, dtype=np.float32)  # fmt: skip
    words = TfidfVectorizer(analyzer="word", ngram_range=_WORD_NGRAMS, preprocessor=_identity,
                            token_pattern=_WORD.pattern, sublinear_tf=True, dtype=np.float32)  # fmt: skip
    features = sp.hstack([chars.fit_transform(texts), words.fit_transform(texts)]).tocsr()
    model = LogisticRegression(C=20.0, max_iter=3000)
    model.fit(features, [s.scheme for s in samples])
    return SchemeClassifier(chars=chars, words=words, model=model)


def _identity(text: str) -> str:
    return text


def _fingerprint() -> str:
    """Changes with the versions, the recipe and the code that shapes the model."""
    import sklearn

    digest = hashlib.sha256(
        f"{sklearn.__version__}|{RECIPE_VERSION}|{TRAINING_SEED}|{TEXTS_PER_TEMPLATE}".encode()
    )
    here = Path(__file__).resolve().parent
    for name in ("texts.py", "schemes.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def cached_classifier(folder: Path | None = None) -> SchemeClassifier:
    """The cached classifier in ``folder`` (none: ``~/.cache/qalqan/models``); trained and cached
    first when missing, or when the file there is not a classifier."""
    folder = folder or Path.home() / ".cache" / "qalqan" / "models"
    path = folder / f"qalqan-schemes-{_fingerprint()}.pkl"
    try:
        with path.open("rb") as handle:
            loaded = pickle.load(handle)
        if isinstance(loaded, SchemeClassifier):
            return loaded
    except (
        FileNotFoundError,
        EOFError,
        pickle.UnpicklingError,
        AttributeError,
        ImportError,
        ValueError,
        TypeError,
        IndexError,
    ):
        pass
    classifier = train_classifier()
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with partial.open("wb") as handle:
        pickle.dump(classifier, handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)
    return classifier
