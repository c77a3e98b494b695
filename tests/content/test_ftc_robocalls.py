"""The FTC robocall transcripts (real scams, English): detection and script clusters.

Skipped when the folder is absent (``$QALQAN_FTC_ROBOCALLS_DIR``); the figures are
benchmarks/scam_texts.py's, quoted in docs/content.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from qalqan.content.clusters import script_groups
from research.robocalls import (
    ENV_VAR,
    default_directory,
    labels_of,
    load_transcripts,
    purity,
    reference_groups,
)
from tests.content.schemes_trained import shipped

#: Measured with the shipped recipe: 0.747 of the 1,073 English transcripts found as scams;
#: clusters against the reference groups: ARI 0.947, purity 0.960.
DETECTION_FLOOR = 0.7
ARI_FLOOR = 0.9
PURITY_FLOOR = 0.93

FOLDER = default_directory()
needs_ftc = pytest.mark.skipif(
    not (FOLDER / "metadata.csv").is_file(),
    reason=f"FTC robocall transcripts not found at {FOLDER} (set {ENV_VAR} to run this test)",
)


@needs_ftc
def test_most_real_robocall_scams_are_found() -> None:
    texts = [t.text for t in load_transcripts(FOLDER) if t.language == "en" and t.text.strip()]
    classifier = shipped()
    best = classifier.probabilities(texts).argmax(axis=1)
    found = np.mean([classifier.schemes[i] != "legitimate" for i in best])
    assert found >= DETECTION_FLOOR


@needs_ftc
def test_transcripts_cluster_into_their_reference_scripts() -> None:
    texts = [t.text for t in load_transcripts(FOLDER)]
    truth = labels_of(reference_groups(texts), len(texts))
    predicted = labels_of(script_groups(texts), len(texts))
    assert adjusted_rand_score(truth, predicted) >= ARI_FLOOR
    assert purity(truth, predicted) >= PURITY_FLOOR


def test_the_reference_joins_reworded_copies_and_keeps_scripts_apart() -> None:
    a = "your social security number has been suspended press one to speak with an officer now"
    b = "Your Social Security number has been SUSPENDED. Press 1 to speak with an officer today."
    c = "your car warranty is about to expire press one to speak with a warranty specialist"
    assert reference_groups([a, c, b, ""]) == [[0, 2], [1], [3]]


def test_purity_counts_the_largest_reference_group_of_each_cluster() -> None:
    truth = np.array([0, 0, 1, 1, 1, 2])
    assert purity(truth, np.array([0, 0, 0, 0, 0, 0])) == pytest.approx(3 / 6)
    assert purity(truth, truth) == 1.0
    assert purity(truth, np.array([0, 0, 1, 1, 2, 2])) == pytest.approx(5 / 6)
