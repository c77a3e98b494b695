"""Replay reads each row of ``cdrs`` as the call it records: a ``CallAttempt`` and how it ended."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from qalqan.domain.model import CallAttempt, Event, Ingress, IngressClass
from qalqan.exchange.reader import DataSet
from qalqan.screening.replay import recorded_calls, sorted_cdrs
from qalqan.screening.signals import CallOutcome
from qalqan.simulator.operator import SimulationSummary

START_US = 1_767_225_600_123_456  # 2026-01-01 00:00:00.123456 UTC


def _batch(**overrides: list[object]) -> pa.RecordBatch:
    row: dict[str, list[object]] = {
        "record_id": ["r1"],
        "start_us": [START_US],
        "duration_s": [42],
        "event": ["voice"],
        "result": ["answered"],
        "a_number": ["+77011234567"],
        "b_number": ["+77017654321"],
        "ingress": ["international:carrierA"],
        "a_imsi": ["401011234567890"],
        "a_imei": ["35209900176148"],
        "a_cell": ["C1"],
    }
    row.update(overrides)
    return pa.RecordBatch.from_pydict(row)


def test_a_row_is_the_attempt_it_began_as_and_how_it_ended() -> None:
    (call,) = recorded_calls(_batch())
    assert call == CallOutcome(
        attempt=CallAttempt(
            time=datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC),
            caller="+77011234567",
            callee="+77017654321",
            ingress=Ingress(kind=IngressClass.INTERNATIONAL, route="carrierA"),
            imsi="401011234567890",
            imei="35209900176148",
            cell="C1",
            record_id="r1",
        ),
        answered=True,
        duration_s=42.0,
        action=None,
        event=Event.VOICE,
    )
    assert call.attempt.time.timestamp() == START_US / 1_000_000


def test_an_sms_has_no_talk_time_and_a_withheld_caller_stays_none() -> None:
    (call,) = recorded_calls(
        _batch(event=["sms"], result=["no_answer"], duration_s=[7], a_number=[None])
    )
    assert call.event is Event.SMS
    assert not call.answered
    assert call.duration_s == 0.0
    assert call.attempt.caller is None


def test_one_ingress_is_parsed_once_for_every_batch() -> None:
    ingresses: dict[str, Ingress] = {}
    (first,) = recorded_calls(_batch(), ingresses)
    (second,) = recorded_calls(_batch(record_id=["r2"]), ingresses)
    assert first.attempt.ingress is second.attempt.ingress
    assert list(ingresses) == ["international:carrierA"]


def test_every_accepted_row_is_read_once_in_time_order(
    small_operator: SimulationSummary, tmp_path: Path
) -> None:
    dataset = DataSet.open(small_operator.out_dir)
    calls = [
        call
        for batch in sorted_cdrs(dataset, tmp_path, quarantine=None, batch_rows=997)
        for call in recorded_calls(batch)
    ]
    assert len(calls) == small_operator.rows["cdrs"]
    assert len({c.attempt.record_id for c in calls}) == len(calls)
    times = [c.attempt.time for c in calls]
    assert times == sorted(times)
    assert all(c.action is None for c in calls)
