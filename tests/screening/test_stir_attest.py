"""An attestation the operator's network verified upstream reaches the STIR/SHAKEN signal.

The SBC (or the CDR's ``identity_attest``) may say a call's Identity header was verified
with attestation A, B or C before the call reached Qalqan. The engine then weighs that
attestation as it would weigh a header it verified itself, with a reason saying it was
verified upstream; a header the engine can verify itself still wins, and replay passes the
CDR's column, so the decisions of a data set with attestation use it.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from qalqan.domain.model import CallAttempt
from qalqan.screening.replay import replay
from qalqan.simulator.operator import SimulationSummary
from tests.screening.conftest import (
    FOREIGN,
    HOME_SUBSCRIBER,
    YOUNG_ADULT,
    Operator,
    call,
    rules_of,
)


@dataclasses.dataclass
class _Check:
    valid: bool
    attestation: str | None
    reason: str


class _Verifier:
    def __init__(self, check: _Check) -> None:
        self.check = check

    def verify(
        self, identity_header: str, *, caller: str | None, callee: str, now: datetime
    ) -> _Check:
        return self.check


def _attested(attest: str | None, *, identity: str | None = None) -> CallAttempt:
    return dataclasses.replace(
        call(FOREIGN, YOUNG_ADULT, "international:x", identity=identity), attest=attest
    )


def test_upstream_full_attestation_lends_the_same_trust_as_a_verified_header() -> None:
    plain = Operator().screen(_attested(None))
    attested = Operator().screen(_attested("A"))
    reason = next(r for r in attested.reasons if r.rule == "stir_shaken.identity")
    assert reason.key == "stir_shaken.identity.upstream.full"
    assert reason.weight == pytest.approx(-0.3)
    assert reason.detail == "caller ID verified by the network with full attestation (A)"
    assert attested.score < plain.score or plain.score == 0.0


def test_upstream_gateway_attestation_adds_a_little_and_partial_says_nothing() -> None:
    gateway = Operator().screen(_attested("C"))
    reason = next(r for r in gateway.reasons if r.rule == "stir_shaken.identity")
    assert reason.key == "stir_shaken.identity.upstream.gateway"
    assert reason.weight == pytest.approx(0.15)
    assert "stir_shaken.identity" not in rules_of(Operator().screen(_attested("B")))
    assert "stir_shaken.identity" not in rules_of(Operator().screen(_attested(None)))


def test_a_header_the_engine_verifies_wins_over_what_upstream_said() -> None:
    op = Operator()
    op.engine.env.verifier = _Verifier(_Check(valid=False, attestation=None, reason="forged"))
    decision = op.screen(_attested("A", identity="eyJ..."))
    (reason,) = [r for r in decision.reasons if r.rule == "stir_shaken.identity"]
    assert reason.key == "stir_shaken.identity.failed"


def test_an_attestation_is_a_b_or_c() -> None:
    with pytest.raises(ValueError, match="not A, B or C"):
        dataclasses.replace(call(HOME_SUBSCRIBER), attest="D")


def _with_attest_column_emptied(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("truth"))
    path = target / "cdrs.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["identity_attest"] = ""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


def _upstream_keys(path: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for key in (
                "stir_shaken.identity.upstream.full",
                "stir_shaken.identity.upstream.gateway",
            ):
                if key in (row["reason_facts"] or ""):
                    found[key] += 1
    return found


def test_replay_passes_the_cdrs_attestation_to_the_engine(
    small_operator: SimulationSummary, tmp_path: Path
) -> None:
    data = small_operator.out_dir
    with (data / "cdrs.csv").open(newline="", encoding="utf-8") as handle:
        attests = Counter(row["identity_attest"] for row in csv.DictReader(handle))
    assert attests["A"] and attests["C"], "the simulator attests bank and VoIP calls"
    replay(data, tmp_path / "with.csv", analyze_every_s=None)
    found = _upstream_keys(tmp_path / "with.csv")
    assert found["stir_shaken.identity.upstream.full"] == attests["A"]
    assert found["stir_shaken.identity.upstream.gateway"] == attests["C"]
    bare = _with_attest_column_emptied(data, tmp_path / "bare")
    replay(bare, tmp_path / "without.csv", analyze_every_s=None)
    assert not _upstream_keys(tmp_path / "without.csv")
