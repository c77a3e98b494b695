"""The SIP node's decisions log: replay's columns, one line per INVITE, never past its size cap."""

from __future__ import annotations

import csv
from pathlib import Path

from qalqan.domain.model import Action, Decision, Reason
from qalqan.sip.decisions_log import COLUMNS, DecisionsLog
from qalqan.sip.redirect import RedirectService
from qalqan.sip.transaction import Peer
from tests.sip.conftest import invite, table_decide, test_config


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


def test_each_invite_answered_is_one_line_and_a_retransmission_none(tmp_path: Path) -> None:
    path = tmp_path / "decisions.csv"
    service = RedirectService(
        config=test_config(decisions_log=path), decide=table_decide, clock=lambda: 0.0
    )
    peer = Peer("udp", "192.0.2.10", 5060)
    blocked = invite(uri="tel:+77015550004", call_id="c-block", branch="z9hG4bK-b")
    service.handle_datagram(blocked, peer=peer, now=0.0, arrived=0.0)
    service.handle_datagram(blocked, peer=peer, now=0.1, arrived=0.1)  # retransmitted
    service.handle_datagram(invite(call_id="c-allow"), peer=peer, now=0.2, arrived=0.2)
    rows = _rows(path)
    assert [(r["record_id"], r["action"]) for r in rows] == [
        ("c-block", "block"),
        ("c-allow", "allow"),
    ]
    assert rows[0]["reasons"] and "test.table" in rows[0]["reasons"]


def test_the_log_is_moved_aside_past_its_cap_and_never_grows_without_end(tmp_path: Path) -> None:
    path = tmp_path / "decisions.csv"
    log = DecisionsLog(path, max_bytes=4096)
    decision = Decision(
        action=Action.WARN,
        score=0.5,
        reasons=(Reason(rule="test.table", weight=0.5, detail="x" * 200),),
    )
    for n in range(200):
        log.write(f"call-{n}" + '\r\n",' * 3, decision)
    log.close()
    assert log.rotations > 0
    assert path.stat().st_size <= 4096
    assert path.with_name("decisions.csv.1").stat().st_size <= 4096
    rows = _rows(path)
    assert rows[-1]["record_id"].startswith("call-199")
    assert all(r["action"] == "warn" for r in rows)


def test_an_existing_log_is_added_to_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "decisions.csv"
    decision = Decision(action=Action.ALLOW, score=0.0)
    first = DecisionsLog(path, max_bytes=1 << 20)
    first.write("a", decision)
    first.close()
    again = DecisionsLog(path, max_bytes=1 << 20)
    again.write("b", decision)
    again.close()
    assert [r["record_id"] for r in _rows(path)] == ["a", "b"]
