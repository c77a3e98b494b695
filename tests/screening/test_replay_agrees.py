"""What ``analyze`` finds spoofed by rule, ``replay`` intercepted live: the two paths agree.

The invariant: every call that ``qalqan analyze`` judges spoofed by one of the
five ``spoofed_cli`` rules (:mod:`qalqan.detections.spoofing`) is intercepted —
warned, diverted or blocked — when ``qalqan replay`` screens the same data
set through a fresh engine in time order.

"Once the evidence existed" made precise: a batch rule reads only the
reference tables (subscribers, roaming, registry, the numbering plan) and
call records that began no later than the judged call; the replay's engine has
the same reference tables from its start and sees every earlier attempt before
it. So there is no warm-up to allow for: from the first call of the data set
on, what the batch held against a call existed when the engine judged it.

The data sets are the scenario families that break the detectors, further
bent the way operators' real exports are: roaming registrations that reach
the data half an hour after the SIM's first call home from abroad (the
engine's ``roaming.grace`` forgives it), and a subscribers export that lost
every tenth row (those SIMs still call over our radio).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from qalqan.detections.spoofing import SPOOFING_RULES
from qalqan.simulator.config import load_scenario
from qalqan.simulator.operator import simulate
from tests.screening.both_ways import analyze_and_replay

pytestmark = pytest.mark.slow

SPOOFING = frozenset(rule.id for rule in SPOOFING_RULES)
"""The five rules; the test judges every ``spoofed_cli`` rule ``analyze`` reports, whatever its id."""
LATE_REGISTRATION = timedelta(minutes=30)


@dataclass(frozen=True)
class Judged:
    """One data set judged both ways."""

    flagged: dict[str, str]
    """record id → the spoofed_cli rule ``analyze`` flagged it by."""
    actions: dict[str, str]
    """record id → the action ``replay`` answered."""
    reasons: dict[str, str]


def _late_roaming_registrations(data: Path) -> int:
    """Move each roaming period's start to half an hour after its SIM's first call home from abroad."""
    con = duckdb.connect()
    rows = con.execute(
        f"""
        SELECT r.imsi, r.start_time, r.end_time, r.country, min(c.start_time) AS first_call
        FROM read_csv('{data / "roaming.csv"}', all_varchar = true) r
        LEFT JOIN read_csv('{data / "subscribers.csv"}', all_varchar = true) s USING (imsi)
        LEFT JOIN read_csv('{data / "cdrs.csv"}', all_varchar = true) c
          ON c.a_number = s.msisdn AND split_part(c.ingress, ':', 1) IN ('international', 'voip')
         AND c.start_time BETWEEN r.start_time AND r.end_time
        GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()
    con.close()
    moved = 0
    with (data / "roaming.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["imsi", "start_time", "end_time", "country"])
        for imsi, start, end, country, first_call in rows:
            if first_call is not None:
                late = datetime.fromisoformat(first_call) + LATE_REGISTRATION
                if late < datetime.fromisoformat(end):
                    start = late.strftime("%Y-%m-%dT%H:%M:%SZ")
                    moved += 1
            writer.writerow([imsi, start, end, country])
    return moved


def _lose_every_tenth_subscriber(data: Path) -> None:
    path = data / "subscribers.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([rows[0], *(r for i, r in enumerate(rows[1:]) if i % 10)])


def _judge(family: str, root: Path) -> Judged:
    data = root / "data"
    scenario = load_scenario(None, family=family, subscribers=3000, days=3, seed=11)
    simulate(data, scenario)
    assert _late_roaming_registrations(data) > 0
    _lose_every_tenth_subscriber(data)
    settled, rows = analyze_and_replay(data, root)
    flagged = {r: rule for r, (rule, _) in settled.items()}
    return Judged(
        flagged={r: rule for r, rule in flagged.items() if rule.startswith("spoofed_cli.")},
        actions={row["record_id"]: row["action"] for row in rows},
        reasons={row["record_id"]: row["reasons"] for row in rows},
    )


@pytest.fixture(scope="module", params=["look-alikes", "another-country"])
def judged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Judged:
    family = str(request.param)
    return _judge(family, tmp_path_factory.mktemp(family))


def test_every_call_analyze_flags_as_spoofed_replay_intercepts(judged: Judged) -> None:
    missed = {r: rule for r, rule in judged.flagged.items() if judged.actions[r] == "allow"}
    by_rule = Counter(missed.values())
    examples = [(r, rule, judged.reasons[r]) for r, rule in list(missed.items())[:5]]
    assert not missed, f"allowed live, flagged afterwards: {dict(by_rule)}; e.g. {examples}"


def test_the_agreement_is_not_empty(judged: Judged) -> None:
    """Each kind of spoofing the families play is flagged, so the agreement says something."""
    found = Counter(judged.flagged.values())
    assert set(found) <= SPOOFING
    for rule in (
        "spoofed_cli.registry_inbound_only",
        "spoofed_cli.own_subscriber_at_home",
        "spoofed_cli.domestic_from_abroad",
    ):
        assert found[rule] >= 5, found
