"""What ``analyze`` finds to be Wangiri by rule, ``replay`` intercepted live: the two paths agree.

The invariant: every call that ``qalqan analyze`` judges a one-ring burst by the
rule ``wangiri.one_ring_burst`` is intercepted — warned, diverted or blocked —
when ``qalqan replay`` screens the same data set through a fresh engine in time
order.

"Once the evidence existed" made precise (:mod:`qalqan.detections.wangiri`): the
analysis flags a call only when, at its start, a block of its caller's range had
rung ``min_callees`` people (grown for the block size) in calls that *began
before it* within the window, and ``min_ended`` calls of that block that began
in the window's buckets had *ended at least 30 s before it* (the replay's
``outcome_delay_s``), ``min_one_ring_share`` of them unanswered with no talk
time; or when the range's burst had been found less than a window earlier and
the block still rang the crowd. The replayed engine has seen exactly those
attempts, and heard exactly those outcomes, by then.

The data sets are the Wangiri families: numbers spread so thinly over a range of
100,000 that no hundred-block rings a crowd, bursts split over six carriers and a
domestic transit, a fifth of the calls recorded busy or failed
(``wangiri-spread``); tens of numbers over four carriers (``wangiri-ranges``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from qalqan.simulator.config import load_scenario
from qalqan.simulator.operator import simulate
from tests.screening.both_ways import analyze_and_replay

pytestmark = pytest.mark.slow

INTERCEPTED = frozenset({"warn", "divert", "block"})
ONE_RING_BURST = "wangiri.one_ring_burst"


@dataclass(frozen=True)
class Judged:
    flagged: dict[str, str]
    """record id → the reason ``analyze`` gave, for calls it judged Wangiri by rule."""
    actions: dict[str, str]
    """record id → the action ``replay`` answered."""
    truth: dict[str, str]
    """record id → the simulated truth group of the call."""


def _judge(family: str, root: Path) -> Judged:
    data = root / "data"
    simulate(data, load_scenario(None, family=family, subscribers=2000, days=2, seed=13))
    settled, rows = analyze_and_replay(data, root)
    flagged = {r: detail for r, (rule, detail) in settled.items() if rule == ONE_RING_BURST}
    with (data / "truth" / "labels.csv").open(newline="", encoding="utf-8") as handle:
        truth = {row["id"]: row["group"] for row in csv.DictReader(handle) if row["kind"] == "call"}
    actions = {row["record_id"]: row["action"] for row in rows}
    return Judged(flagged=flagged, actions=actions, truth=truth)


@pytest.fixture(scope="module", params=["wangiri-spread", "wangiri-ranges"])
def judged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Judged:
    family: str = request.param
    return _judge(family, tmp_path_factory.mktemp(family))


def test_every_call_analyze_finds_wangiri_replay_intercepted(judged: Judged) -> None:
    assert len(judged.flagged) > 200  # the families' bursts are found
    missed = {r: why for r, why in judged.flagged.items() if judged.actions[r] not in INTERCEPTED}
    assert not missed, f"{len(missed)} of {len(judged.flagged)}: {list(missed.items())[:5]}"


def test_what_analyze_finds_wangiri_is_wangiri(judged: Judged) -> None:
    groups = {judged.truth.get(r, "") for r in judged.flagged}
    assert groups and all(g.startswith("wangiri-") for g in groups), groups


def test_a_retuned_rules_file_moves_analyze_and_replay_together(tmp_path: Path) -> None:
    """``qalqan analyze --rules`` and ``qalqan replay --rules`` judge by the same file.

    A stricter one-ring burst (more people rung, more calls ended) makes analyze flag
    fewer calls than the shipped settings, and replay given the same file still
    intercepts every one of them.
    """
    from qalqan.screening.config import load_config, parse_config

    data = tmp_path / "data"
    simulate(data, load_scenario(None, family="wangiri-ranges", subscribers=2000, days=2, seed=13))
    stricter_text = (
        "rules:\n  wangiri.one_ring_burst:\n    min_callees: 30\n    min_ended: 20\n"
        "    range_levels: 1\n"
    )
    (tmp_path / "stricter.yaml").write_text(stricter_text, encoding="utf-8")
    stricter = load_config(tmp_path / "stricter.yaml")
    assert stricter.rules["wangiri.one_ring_burst"].integer("min_callees") == 30
    flagged: dict[str, set[str]] = {}
    actions: dict[str, str] = {}
    for name, config in (("shipped", parse_config("")), ("stricter", stricter)):
        settled, rows = analyze_and_replay(data, tmp_path / name, config=config)
        flagged[name] = {r for r, (rule, _) in settled.items() if rule == ONE_RING_BURST}
        actions = {row["record_id"]: row["action"] for row in rows}
    assert 0 < len(flagged["stricter"]) < len(flagged["shipped"])
    missed = [r for r in flagged["stricter"] if actions[r] not in INTERCEPTED]
    assert not missed, f"{len(missed)} of {len(flagged['stricter'])}"
