"""The FTC robocall transcripts, and how the scheme classifier and the script clusters are judged.

The transcripts are 1,101 Whisper transcripts of real illegal robocalls the FTC
published (Project Point of No Entry); the folder's README records provenance
and licence. The folder is not part of Qalqan and is not copied into it: the
``directory`` argument, ``$QALQAN_FTC_ROBOCALLS_DIR``, or
``../shared/data/ftc-robocall-transcripts`` next to the repository root.

Every transcript is a scam, so the data measures detection (scam against
legitimate), never precision by itself: the legitimate side is
:data:`LEGITIMATE_CALLS`, genuine calls and messages written here and used by
no training, and the legitimate templates the judged model never saw.

Script clusters are judged against :func:`reference_groups`: transcripts whose
normalised texts are identical, or whose word sequences match at a
:class:`difflib.SequenceMatcher` ratio of 0.8 or more (an order-aware measure,
stricter and unlike the shingles' Jaccard the clusters use), joined into
connected groups.
"""

from __future__ import annotations

import csv
import difflib
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qalqan.content.clusters import script_text
from qalqan.content.schemes import SchemeClassifier, train_classifier
from qalqan.content.texts import FOLDS, generate_texts
from qalqan.errors import DataSetError

__all__ = [
    "ENV_VAR",
    "LEGITIMATE_CALLS",
    "FoldPredictions",
    "Transcript",
    "default_directory",
    "fold_model",
    "fold_predictions",
    "labels_of",
    "load_transcripts",
    "purity",
    "reference_groups",
]

ENV_VAR = "QALQAN_FTC_ROBOCALLS_DIR"
MAX_FILE_BYTES = 20 * 1024 * 1024
SAME_SCRIPT_RATIO = 0.8

#: Genuine calls and messages in English (automated calls, voicemails, texts), written for this
#: evaluation only: no model is trained on them.
LEGITIMATE_CALLS = (
    "Hello, this is Walgreens pharmacy calling to let you know your prescription is ready for pickup.",
    "This is a reminder from Lincoln Elementary School. School is closed tomorrow due to snow.",
    "Hi, this is Dr. Alvarez's office confirming your appointment on Tuesday at 3 pm. Press 1 to confirm.",
    "This is City Power and Light. Crews are working on an outage in your area, power should be back by 8 pm.",
    "Hi mom, just landed, I'll call you when I get to the hotel.",
    "Your package from Target was delivered to your front door at 2:14 pm.",
    "Hey, it's Sam from the garage, your car is ready, we're open until six.",
    "This is the county library. The book you reserved is now available at the front desk.",
    "Your verification code is 482913. It expires in 10 minutes.",
    "Hi, this is Jessica from Dr. Kim's dental office, we have an opening tomorrow morning if you'd like it.",
    "This message is from your child's school district: report cards will be mailed on Friday.",
    "Hello, this is the water department. We will be flushing hydrants on your street on Thursday.",
    "Your Uber is arriving in 3 minutes. Look for a gray Toyota Camry.",
    "Hi, it's your neighbor Tom, your dog got out again, I put him back in the yard.",
    "This is a courtesy call from Comcast confirming your technician visit tomorrow between 10 and 12.",
    "Reminder: your flight to Denver departs at 7:45 am from gate B12. Check in online now.",
    "Hey, do you want to grab dinner Friday? Let me know.",
    "Thank you for calling your insurance agent back, I have the quote ready whenever you are.",
    "This is the Red Cross. Thank you for your blood donation last week, your next eligible date is June 3.",
    "Chase: a payment of 45.20 dollars to Netflix was made with your card. No action is needed.",
    "Your table for four at Olive Garden is ready. Please come to the host stand.",
    "This is Pine Valley HOA. The pool opens for the season this Saturday at 10 am.",
    "Hi, this is Coach Miller, practice is moved to the indoor gym tonight because of rain.",
    "Your prescription refill has been approved by your doctor and will be ready after 4 pm.",
)


@dataclass(frozen=True, slots=True)
class Transcript:
    file_name: str
    language: str
    text: str


def default_directory() -> Path:
    """``$QALQAN_FTC_ROBOCALLS_DIR`` if set, else ``../shared/data/ftc-robocall-transcripts``."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "ftc-robocall-transcripts"


def load_transcripts(directory: Path | None = None) -> list[Transcript]:
    """Every row of ``metadata.csv``; a missing or malformed file is a :class:`DataSetError`."""
    path = (directory or default_directory()) / "metadata.csv"
    if not path.is_file():
        raise DataSetError(f"{path}: not found (set {ENV_VAR} to the transcripts' folder)")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DataSetError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"file_name", "language", "transcript"} - set(reader.fieldnames or [])
        if missing:
            raise DataSetError(f"{path}: columns missing: {', '.join(sorted(missing))}")
        return [Transcript(r["file_name"], r["language"], r["transcript"] or "") for r in reader]


def reference_groups(texts: Sequence[str], *, ratio: float = SAME_SCRIPT_RATIO) -> list[list[int]]:
    """Indexes grouped by the reference criterion (module docstring), groups by their first index."""
    scripts = [script_text(t) for t in texts]
    unique = list(dict.fromkeys(scripts))
    words = [s.split() for s in unique]
    parent = list(range(len(unique)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a in range(len(unique)):
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(words[a])
        for b in range(a + 1, len(unique)):
            if not words[a] or not words[b]:
                continue
            matcher.set_seq1(words[b])
            if (
                matcher.real_quick_ratio() >= ratio
                and matcher.quick_ratio() >= ratio
                and matcher.ratio() >= ratio
            ):
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
    index = {s: find(i) for i, s in enumerate(unique)}
    groups: dict[int, list[int]] = {}
    for i, s in enumerate(scripts):
        groups.setdefault(index[s], []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def labels_of(groups: Sequence[Sequence[int]], n: int) -> np.ndarray:
    labels = np.zeros(n, dtype=np.int64)
    for k, group in enumerate(groups):
        labels[list(group)] = k
    return labels


def purity(truth: np.ndarray, predicted: np.ndarray) -> float:
    """The share of items in the reference group most common in their predicted cluster."""
    total = 0
    for cluster in np.unique(predicted):
        total += Counter(truth[predicted == cluster].tolist()).most_common(1)[0][1]
    return total / len(truth)


@dataclass(frozen=True, slots=True)
class FoldPredictions:
    """Every template's texts judged by a model that never saw the template (nor its translations)."""

    truth: np.ndarray
    predicted: np.ndarray
    languages: np.ndarray
    scam_scores: np.ndarray


def fold_predictions(
    *, seed: int = 3, per_template: int = 10, train_per_template: int = 12
) -> FoldPredictions:
    """Train on all folds but one, judge that one; every fold in turn."""
    truth, predicted, languages, scores = [], [], [], []
    for fold in range(FOLDS):
        others = tuple(f for f in range(FOLDS) if f != fold)
        model = fold_model(others, per_template=train_per_template)
        judged = generate_texts(seed=seed, per_template=per_template, folds=(fold,))
        proba = model.probabilities([t.text for t in judged])
        predicted += [model.schemes[i] for i in proba.argmax(axis=1)]
        scores += (1.0 - proba[:, model.schemes.index("legitimate")]).tolist()
        truth += [t.scheme for t in judged]
        languages += [t.language for t in judged]
    return FoldPredictions(
        np.array(truth), np.array(predicted), np.array(languages), np.array(scores)
    )


def fold_model(folds: tuple[int, ...], *, per_template: int = 12) -> SchemeClassifier:
    """A classifier trained as the shipped one is, on the templates of ``folds`` only."""
    return train_classifier(generate_texts(seed=7, per_template=per_template, folds=folds))
