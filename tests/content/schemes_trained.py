"""Classifiers the content tests share, each trained once per test run (in memory, a few seconds)."""

from __future__ import annotations

from functools import cache

from qalqan.content.schemes import SchemeClassifier, train_classifier
from qalqan.content.texts import FOLDS, generate_texts

#: The fold the per-language floors are measured on; the classifier below never saw its templates.
JUDGED_FOLD = 1


@cache
def shipped() -> SchemeClassifier:
    """Trained as the shipped model is: every template."""
    return train_classifier()


@cache
def without_judged_fold() -> SchemeClassifier:
    """Trained as the shipped model is, but on the templates of the other folds only."""
    folds = tuple(f for f in range(FOLDS) if f != JUDGED_FOLD)
    return train_classifier(generate_texts(seed=7, per_template=12, folds=folds))
