"""A partner's imported indicators change what the screening engine decides, and say who said so."""

from __future__ import annotations

from pathlib import Path

import pytest

from qalqan.domain.model import Action, CallAttempt
from qalqan.intel.model import Feed, Indicator
from qalqan.intel.sharing import feed_text, import_feed
from qalqan.screening.reputation import ReputationLists
from tests.intel.conftest import with_luhn
from tests.screening.conftest import Operator, call, rules_of

ORDINARY = [f"+770120{i:02d}{i:03d}" for i in range(50)]
"""The hand-made operator's ordinary subscribers (tests/screening/conftest.py)."""
ORDINARY_IMSI = [f"4017700001{i:05d}" for i in range(50)]
FARM_IMEI = with_luhn("86472104123456")
WANGIRI_NUMBER = "+37125000042"


def _partner_feed(confidence: int | None) -> Feed:
    return Feed(
        source="Dala Bank",
        indicators=(
            Indicator(
                kind="imei", value=FARM_IMEI, reason="SIM box seen in Almaty",
                source="Dala Bank", confidence=confidence,
            ),
            Indicator(
                kind="number_range", value="+371250000xx", reason="Wangiri",
                source="Dala Bank", confidence=confidence,
            ),
        ),
    )  # fmt: skip


def _engine_with(list_path: Path | None) -> Operator:
    lists = ReputationLists()
    if list_path is not None:
        lists.load_csv(list_path)
    return Operator(lists=lists)


def _farm_call() -> CallAttempt:
    return call(ORDINARY[0], ORDINARY[1], "mobile", imsi=ORDINARY_IMSI[0], imei=FARM_IMEI)


@pytest.mark.parametrize("format", ["misp", "stix"])
def test_an_imported_handset_and_range_change_the_decision(tmp_path: Path, format: str) -> None:
    feed_file = tmp_path / f"partner.{format}.json"
    feed_file.write_text(feed_text(_partner_feed(None), format=format), encoding="utf-8")
    listed = tmp_path / "partner.csv"
    import_feed(feed_file, into=listed)

    before, after = _engine_with(None), _engine_with(listed)
    farm_before = before.screen(_farm_call())
    farm_after = after.screen(_farm_call())
    assert farm_before.action is Action.ALLOW and not farm_before.reasons
    assert farm_after.action is Action.BLOCK
    (reason,) = farm_after.reasons
    assert reason.rule == "reputation.handset"
    assert "Dala Bank" in reason.detail and "SIM box seen in Almaty" in reason.detail

    wangiri_before = before.screen(call(WANGIRI_NUMBER, ORDINARY[2], "international:x"))
    wangiri_after = after.screen(call(WANGIRI_NUMBER, ORDINARY[2], "international:x"))
    assert "reputation.caller_number" not in rules_of(wangiri_before)
    assert wangiri_after.action.value in ("warn", "divert", "block")
    assert wangiri_after.action is not wangiri_before.action
    assert any(
        r.rule == "reputation.caller_number" and "Dala Bank" in r.detail
        for r in wangiri_after.reasons
    )


def test_the_partners_confidence_weighs_the_listing(tmp_path: Path) -> None:
    actions = {}
    for confidence in (45, 95):
        feed_file = tmp_path / f"partner{confidence}.json"
        feed_file.write_text(feed_text(_partner_feed(confidence), format="stix"), encoding="utf-8")
        listed = tmp_path / f"partner{confidence}.csv"
        import_feed(feed_file, into=listed)
        actions[confidence] = _engine_with(listed).screen(_farm_call()).action
    assert actions == {45: Action.WARN, 95: Action.BLOCK}


def test_an_expired_listing_no_longer_decides(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tests.screening.conftest import T0

    feed_file = tmp_path / "partner.json"
    feed_file.write_text(feed_text(_partner_feed(None), format="misp"), encoding="utf-8")
    listed = tmp_path / "partner.csv"
    import_feed(feed_file, into=listed, expires_days=1, now=datetime(2026, 2, 1, tzinfo=UTC))
    assert datetime(2026, 2, 2, tzinfo=UTC) < T0
    decision = _engine_with(listed).screen(_farm_call())
    assert decision.action is Action.ALLOW
