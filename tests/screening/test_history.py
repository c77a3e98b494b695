"""A node started with the operator's data learns contact from its records before the first call.

The real case: our subscriber's relative, whose number is another Kazakh
operator's, travels abroad and calls them as usual. The call arrives over an
international route presenting a domestic number: without earlier contact it
looks like a spoofed caller ID (``spoofed_cli.domestic_from_abroad``). The two
talked yesterday, and the operator's CDRs say so: a node started with
``--data`` learns that before it answers, and lets the call through. What the
records do not show as contact (an unanswered call, a call older than the
contact window) teaches nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from qalqan.api.engine import engine_factory
from qalqan.domain.model import Action, CallAttempt, Ingress
from qalqan.screening.config import load_config
from qalqan.screening.engine import ScreeningEngine
from qalqan.screening.history import ContactHistory, learn_contacts

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SUBSCRIBER = "+77011000001"
RELATIVE = "+77471234567"
"""Another operator's domestic mobile: no roaming data of ours can vouch for it."""
STRANGER = "+77471234000"
OLD_FRIEND = "+77471234111"
TEXTED = "+77471234222"
SCAMMER = "+77471234333"
"""A domestic number a call center presented from abroad yesterday; the victim answered."""
ABROAD = Ingress.parse("international:carrierA")


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_dataset(directory: Path) -> Path:
    """The operator's tables, by hand: one subscriber, and yesterday's CDRs (and older ones)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "subscribers.csv").write_text(
        f"imsi,msisdn,activated,plan\n401770000000001,{SUBSCRIBER},2020-05-01,postpaid\n",
        encoding="utf-8",
    )
    (directory / "cells.csv").write_text(
        "cell_id,site_id,lat,lon,region\nC001-1,S001,43.2,76.9,Almaty\n", encoding="utf-8"
    )
    (directory / "roaming.csv").write_text("imsi,start_time,end_time,country\n", encoding="utf-8")
    (directory / "registry.csv").write_text("number,owner,policy\n", encoding="utf-8")
    yesterday = NOW - timedelta(days=1)
    rows = [
        # The relative called our subscriber yesterday over a national interconnect; answered.
        ("r1", yesterday, 310, "voice", "answered", RELATIVE, SUBSCRIBER, "national:ic1"),
        # A stranger rang and nobody answered: no contact.
        ("r2", yesterday, 0, "voice", "no_answer", STRANGER, SUBSCRIBER, "national:ic1"),
        # An old friend talked to them, but 40 days ago: out of the 30-day window.
        ("r3", NOW - timedelta(days=40), 60, "voice", "answered", OLD_FRIEND, SUBSCRIBER,
         "national:ic1"),
        # Our subscriber texted someone: delivered SMS are contact, either way.
        ("r4", yesterday, 0, "sms", "answered", SUBSCRIBER, TEXTED, "mobile"),
        # A call dated after the node started is not history.
        ("r5", NOW + timedelta(hours=1), 30, "voice", "answered", STRANGER, SUBSCRIBER,
         "national:ic1"),
        # A first call from abroad under a domestic number, answered: a spoofed caller ID.
        ("r6", yesterday, 240, "voice", "answered", SCAMMER, SUBSCRIBER,
         "international:carrierA"),
    ]  # fmt: skip
    lines = [
        "record_id,start_time,duration_s,event,result,a_number,b_number,ingress,"
        "a_imsi,a_imei,a_cell,b_imsi,b_cell"
    ]
    for record_id, at, duration, event, result, a, b, ingress in rows:
        imsi, cell = ("401770000000001", "C001-1") if ingress == "mobile" else ("", "")
        lines.append(
            f"{record_id},{_stamp(at)},{duration},{event},{result},{a},{b},{ingress},"
            f"{imsi},,{cell},,"
        )
    (directory / "cdrs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def from_abroad(caller: str, callee: str = SUBSCRIBER) -> CallAttempt:
    return CallAttempt(
        time=NOW + timedelta(minutes=5), caller=caller, callee=callee, ingress=ABROAD
    )


def test_a_relative_calling_from_abroad_is_let_through_once_the_records_are_learned(
    tmp_path: Path,
) -> None:
    data = write_dataset(tmp_path / "data")
    engine = ScreeningEngine.from_dataset(data, load_config())
    before = engine.decide(from_abroad(RELATIVE))
    assert before.action is Action.DIVERT
    assert "spoofed_cli.domestic_from_abroad" in {r.rule for r in before.reasons}

    learned = learn_contacts(engine, data, now=NOW)

    assert engine.decide(from_abroad(RELATIVE)).action is Action.ALLOW
    assert engine.decide(from_abroad(TEXTED)).action is Action.ALLOW  # the SMS, the other way
    assert engine.decide(from_abroad(STRANGER)).action is Action.DIVERT  # rang, unanswered
    assert engine.decide(from_abroad(OLD_FRIEND)).action is Action.DIVERT  # 40 days ago
    assert (learned.contacts, learned.pairs) == (2, 2)
    assert learned.since == NOW - timedelta(days=30) and learned.until == NOW
    assert "2 pairs of numbers" in learned.summary()


def test_an_answered_call_under_an_impossible_caller_id_is_no_contact(tmp_path: Path) -> None:
    """As in ``qalqan analyze``: the victim answering a spoofed call does not vouch for a redial."""
    data = write_dataset(tmp_path / "data")
    engine = ScreeningEngine.from_dataset(data, load_config())
    learned = learn_contacts(engine, data, now=NOW)
    redial = engine.decide(from_abroad(SCAMMER))
    assert redial.action is Action.DIVERT
    assert "spoofed_cli.domestic_from_abroad" in {r.rule for r in redial.reasons}
    assert learned.skipped_spoofed == 1
    assert "1 with impossible caller IDs not taken as contact" in learned.summary()


def test_a_data_set_without_cdrs_teaches_nothing_and_says_so(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    (data / "cdrs.csv").write_text(
        "record_id,start_time,duration_s,event,result,a_number,b_number,ingress,"
        "a_imsi,a_imei,a_cell,b_imsi,b_cell\n",
        encoding="utf-8",
    )
    engine = ScreeningEngine.from_dataset(data, load_config())
    learned = learn_contacts(engine, data, now=NOW)
    assert (learned.contacts, learned.pairs) == (0, 0)
    assert engine.decide(from_abroad(RELATIVE)).action is Action.DIVERT


def test_the_http_nodes_engine_learns_the_records_at_start(tmp_path: Path) -> None:
    """``qalqan serve-http --data DIR`` builds its engine through engine_factory."""
    data = write_dataset(tmp_path / "data")
    told: list[ContactHistory] = []
    factory = engine_factory(data=data, on_history=told.append, now=lambda: NOW)
    screening = factory()
    assert screening.observe is not None
    assert screening.decide(from_abroad(RELATIVE)).action is Action.ALLOW
    assert len(told) == 1 and told[0].pairs == 2
