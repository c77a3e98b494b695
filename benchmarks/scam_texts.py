"""Scam schemes in texts and script clusters, evaluated honestly: the figures docs/content.md quotes.

Prints, in Markdown:

* per scheme precision and recall on held-out templates: the templates of each
  scheme and language fall into three folds; a model trained on two folds
  judges the third (whose templates, and their translations, it never saw),
  every fold in turn; overall and by language, with scam detection (any scam
  scheme against legitimate);
* detection on the FTC robocall transcripts (all scams, English and a few
  Chinese) by the shipped model and by each fold's model, with the legitimate
  side made of :data:`research.robocalls.LEGITIMATE_CALLS` (used by no
  training) and the legitimate templates the fold's model never saw;
* the schemes the shipped model gives the FTC transcripts;
* script clusters of the FTC transcripts against the reference groups
  (:func:`research.robocalls.reference_groups`): adjusted Rand index, purity and
  inverse purity, at several thresholds, and the time taken.

Usage::

    .venv/bin/python benchmarks/scam_texts.py [--data DIR]

About two minutes on one core (the reference groups compare every pair of
distinct transcripts). The FTC folder stays outside the repository.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import _research  # noqa: F401  (puts research/ on the import path)
import numpy as np
from sklearn.metrics import adjusted_rand_score, precision_recall_fscore_support, roc_auc_score

from qalqan.content.clusters import SAME_SCRIPT, script_groups, script_text
from qalqan.content.schemes import SchemeClassifier, train_classifier
from qalqan.content.texts import FOLDS, LANGUAGES, SCHEMES, generate_texts
from research.robocalls import (
    LEGITIMATE_CALLS,
    default_directory,
    fold_model,
    fold_predictions,
    labels_of,
    load_transcripts,
    purity,
    reference_groups,
)


def held_out_tables() -> None:
    judged = fold_predictions()
    print("## Held-out templates (three folds by template)\n")
    print("| scheme | precision | recall | texts |")
    print("|---|---|---|---|")
    precision, recall, _, support = precision_recall_fscore_support(
        judged.truth, judged.predicted, labels=list(SCHEMES), zero_division=0
    )
    for scheme, p, r, n in zip(SCHEMES, precision, recall, support, strict=True):
        print(f"| {scheme} | {p:.3f} | {r:.3f} | {n} |")
    print(
        "\n| language | scheme accuracy | macro precision | macro recall | scams found | legitimate kept |"
    )
    print("|---|---|---|---|---|---|")
    for language in (*LANGUAGES, "all"):
        mine = (
            judged.languages == language if language != "all" else np.ones(len(judged.truth), bool)
        )
        truth, predicted = judged.truth[mine], judged.predicted[mine]
        p, r, _, _ = precision_recall_fscore_support(
            truth, predicted, labels=list(SCHEMES), zero_division=0
        )
        scams = truth != "legitimate"
        print(
            f"| {language} | {np.mean(truth == predicted):.3f} | {np.mean(p):.3f} | {np.mean(r):.3f} "
            f"| {np.mean(predicted[scams] != 'legitimate'):.3f} | {np.mean(predicted[~scams] == 'legitimate'):.3f} |"
        )


def ftc_detection(texts: list[str]) -> None:
    print("\n## FTC robocall transcripts: detection (every transcript is a scam)\n")
    print(
        "| model | FTC found as scam | written legitimate calls kept | unseen legitimate templates kept |"
    )
    print("|---|---|---|---|")
    shipped = train_classifier()
    rows: list[tuple[str, SchemeClassifier, int | None]] = [
        ("shipped (every template)", shipped, None)
    ]
    rows += [
        (f"fold {k} held out", fold_model(tuple(f for f in range(FOLDS) if f != k)), k)
        for k in range(FOLDS)
    ]
    for name, model, fold in rows:
        found = np.mean([s != "legitimate" for s in _schemes(model, texts)])
        kept = np.mean([s == "legitimate" for s in _schemes(model, list(LEGITIMATE_CALLS))])
        unseen = "—"
        if fold is not None:
            legit = [
                t.text
                for t in generate_texts(seed=3, per_template=10, folds=(fold,))
                if t.scheme == "legitimate"
            ]
            unseen = f"{np.mean([s == 'legitimate' for s in _schemes(model, legit)]):.3f}"
        print(f"| {name} | {found:.3f} | {kept:.3f} ({len(LEGITIMATE_CALLS)}) | {unseen} |")
    ftc_scores = _scam_scores(shipped, texts)
    legit_scores = _scam_scores(shipped, list(LEGITIMATE_CALLS))
    print("\nThe shipped model with a scam-score threshold instead of the most likely scheme:\n")
    print("| scam score at least | FTC found as scam | written legitimate calls kept |")
    print("|---|---|---|")
    for threshold in (0.3, 0.4, 0.5, 0.6):
        print(
            f"| {threshold} | {np.mean(ftc_scores >= threshold):.3f} | {np.mean(legit_scores < threshold):.3f} |"
        )
    auc = roc_auc_score(
        [1] * len(texts) + [0] * len(LEGITIMATE_CALLS), np.concatenate([ftc_scores, legit_scores])
    )
    print(
        f"\nROC AUC of the scam score, FTC transcripts against the written legitimate calls: {auc:.3f}"
    )
    print("\nSchemes the shipped model gives the FTC transcripts:\n")
    counts = Counter(_schemes(shipped, texts))
    print(", ".join(f"{scheme} {n}" for scheme, n in counts.most_common()))
    missed = [t for t, s in zip(texts, _schemes(shipped, texts), strict=True) if s == "legitimate"]
    print(f"\nMissed (judged legitimate): {len(missed)} of {len(texts)}; the first five:\n")
    for text in missed[:5]:
        print(f"- {text[:160]!r}")


def _scam_scores(model: SchemeClassifier, texts: list[str]) -> np.ndarray:
    return np.asarray(1.0 - model.probabilities(texts)[:, model.schemes.index("legitimate")])


def _schemes(model: SchemeClassifier, texts: list[str]) -> list[str]:
    proba = model.probabilities(texts)
    return [model.schemes[i] for i in proba.argmax(axis=1)]


def ftc_clusters(texts: list[str]) -> None:
    print("\n## FTC robocall transcripts: script clusters\n")
    start = time.perf_counter()
    reference = reference_groups(texts)
    reference_s = time.perf_counter() - start
    truth = labels_of(reference, len(texts))
    sizes = sorted((len(g) for g in reference), reverse=True)
    print(f"Reference: {len(reference)} groups ({sum(1 for g in reference if len(g) > 1)} of two or more "
          f"transcripts; largest {sizes[:5]}), made in {reference_s:.1f} s.\n")  # fmt: skip
    print(
        "| threshold (Jaccard of 3-word shingles) | clusters | ARI | purity | inverse purity | seconds |"
    )
    print("|---|---|---|---|---|---|")
    for threshold in (0.3, 0.4, SAME_SCRIPT, 0.6, 0.7):
        start = time.perf_counter()
        groups = script_groups(texts, threshold=threshold)
        seconds = time.perf_counter() - start
        predicted = labels_of(groups, len(texts))
        mark = " (default)" if threshold == SAME_SCRIPT else ""
        print(
            f"| {threshold}{mark} | {len(groups)} | {adjusted_rand_score(truth, predicted):.3f} "
            f"| {purity(truth, predicted):.3f} | {purity(predicted, truth):.3f} | {seconds:.2f} |"
        )
    exact = labels_of(_exact_groups(texts), len(texts))
    print(
        f"| identical normalised texts only | {len(set(exact.tolist()))} | "
        f"{adjusted_rand_score(truth, exact):.3f} | {purity(truth, exact):.3f} | {purity(exact, truth):.3f} | — |"
    )


def _exact_groups(texts: list[str]) -> list[list[int]]:
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        groups.setdefault(script_text(text), []).append(i)
    return list(groups.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=str, default=None, help="the FTC transcripts' folder")
    args = parser.parse_args()
    held_out_tables()
    transcripts = load_transcripts(Path(args.data) if args.data else default_directory())
    english = [t.text for t in transcripts if t.language == "en" and t.text.strip()]
    print(f"\nFTC transcripts: {len(transcripts)} rows, {len(english)} English with words.")
    ftc_detection(english)
    ftc_clusters([t.text for t in transcripts])


if __name__ == "__main__":
    main()
