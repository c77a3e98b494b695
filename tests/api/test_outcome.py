"""``POST /v1/outcome``: the switch reports how a screened call ended, and the engine learns contact.

With the real engine behind the API: a call the node allowed and that was
answered makes the two numbers contacts, so that the callee's relative calling
from abroad is no longer "first contact"; an outcome for an attempt the node
intercepted, never screened, or screened too long ago teaches nothing and the
answer says why; the operator's own records (``screened: false``) are believed
only from a client holding the API token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.api.app import ScreeningApi
from qalqan.api.config import ApiSettings
from qalqan.screening.config import parse_config
from qalqan.screening.engine import ScreeningEngine
from tests.api.conftest import NOW, Client, real_engine

TOKEN = "s3cret-token-of-the-switch"
RELATIVE = "+77015550101"
"""A domestic number not ours, who often calls our subscriber; now calling from abroad."""
SUBSCRIBER = "+77075550202"
FROM_ABROAD = {"caller": RELATIVE, "callee": SUBSCRIBER, "ingress": "international:carrierA"}
AT_HOME = {"caller": RELATIVE, "callee": SUBSCRIBER, "ingress": "national:ic1"}


class Ticking:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outcome_api(
    *, clock: Callable[[], float] | None = None, **options: Any
) -> tuple[ScreeningApi, ScreeningEngine]:
    # No engine budget and a long deadline: on a busy machine a first screen (numbering
    # metadata loading) may outlast them, and an answer by fail-open is rightly learnt nothing from.
    engine = real_engine()
    options.setdefault("deadline_ms", 2_000.0)
    api = ScreeningApi(
        engine.screen,
        observe=engine.observe,
        settings=ApiSettings(**options),
        clock=clock if clock is not None else time.perf_counter,
        wall_clock=lambda: NOW,
    )
    return api, engine


def post(api: ScreeningApi, path: str, payload: Any, *, token: str | None = None) -> Any:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    response = api.handle("POST", path, headers=headers, body=json.dumps(payload).encode())
    return response.status, response.json()


def answered(attempt: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**attempt, "answered": True, "duration_s": 95, **fields}


# --- learning from what the node let through ------------------------------------------------


def test_an_answered_call_the_node_allowed_makes_the_numbers_contacts() -> None:
    api, _ = outcome_api()
    assert post(api, "/v1/screen", FROM_ABROAD)[1]["action"] == "divert"  # first contact
    status, screened = post(api, "/v1/screen", {**AT_HOME, "record_id": "call-1"})
    assert (status, screened["action"]) == (200, "allow")
    status, body = post(api, "/v1/outcome", answered(AT_HOME, record_id="call-1"))
    assert status == 202 and body["learned"] is True, body
    assert body["record_id"] == "call-1" and body["action"] == "allow"
    # The same relative calling from abroad is now someone the subscriber talks to.
    assert post(api, "/v1/screen", FROM_ABROAD)[1]["action"] == "allow"


def test_an_outcome_without_record_id_matches_the_latest_attempt_between_the_numbers() -> None:
    api, _ = outcome_api()
    post(api, "/v1/screen", AT_HOME)
    status, body = post(api, "/v1/outcome", answered(AT_HOME))
    assert (status, body["learned"]) == (202, True), body
    assert post(api, "/v1/screen", FROM_ABROAD)[1]["action"] == "allow"


def test_a_delivered_sms_is_contact_too() -> None:
    api, _ = outcome_api()
    post(api, "/v1/screen", {**AT_HOME, "record_id": "sms-1"})
    outcome = {**AT_HOME, "record_id": "sms-1", "answered": True, "event": "sms"}
    assert post(api, "/v1/outcome", outcome)[1]["learned"] is True
    assert post(api, "/v1/screen", FROM_ABROAD)[1]["action"] == "allow"


# --- what teaches nothing --------------------------------------------------------------------


def test_an_intercepted_call_reported_answered_teaches_nothing() -> None:
    """The attacker's own diverted call, reported answered, must not make it a contact."""
    api, _ = outcome_api()
    assert post(api, "/v1/screen", {**FROM_ABROAD, "record_id": "spoof-1"})[1]["action"] == "divert"
    status, body = post(api, "/v1/outcome", answered(FROM_ABROAD, record_id="spoof-1"))
    assert status == 202
    assert (body["learned"], body["reason"], body["action"]) == (False, "intercepted", "divert")
    assert "divert" in body["message"]
    assert post(api, "/v1/screen", FROM_ABROAD)[1]["action"] == "divert"


def test_an_outcome_for_an_attempt_never_screened_teaches_nothing() -> None:
    api, _ = outcome_api()
    status, body = post(api, "/v1/outcome", answered(AT_HOME, record_id="never"))
    assert (status, body["learned"], body["reason"]) == (202, False, "unknown_attempt")
    status, body = post(api, "/v1/outcome", answered(AT_HOME))
    assert (body["learned"], body["reason"]) == (False, "unknown_attempt")
    assert post(api, "/v1/screen", FROM_ABROAD)[1]["action"] == "divert"


def test_an_outcome_is_taken_once() -> None:
    api, _ = outcome_api()
    post(api, "/v1/screen", {**AT_HOME, "record_id": "call-1"})
    first = post(api, "/v1/outcome", answered(AT_HOME, record_id="call-1"))[1]
    again = post(api, "/v1/outcome", answered(AT_HOME, record_id="call-1"))[1]
    assert first["learned"] is True
    assert (again["learned"], again["reason"]) == (False, "unknown_attempt")


def test_an_outcome_naming_other_numbers_than_the_screened_attempt_teaches_nothing() -> None:
    api, _ = outcome_api()
    post(api, "/v1/screen", {**AT_HOME, "record_id": "call-1"})
    other = {**AT_HOME, "callee": "+77075559999"}
    status, body = post(api, "/v1/outcome", answered(other, record_id="call-1"))
    assert (status, body["learned"], body["reason"]) == (202, False, "mismatch")
    assert post(api, "/v1/screen", {**FROM_ABROAD, "callee": "+77075559999"})[1]["action"] == (
        "divert"
    )


def test_an_unanswered_call_teaches_no_contact() -> None:
    api, _ = outcome_api()
    post(api, "/v1/screen", {**AT_HOME, "record_id": "call-1"})
    body = post(api, "/v1/outcome", {**AT_HOME, "record_id": "call-1", "answered": False})[1]
    assert body["learned"] is True  # the engine heard it (one-ring counts), but no contact
    assert post(api, "/v1/screen", FROM_ABROAD)[1]["action"] == "divert"


def test_screened_attempts_are_held_for_a_window_and_a_number_of_entries() -> None:
    clock = Ticking()
    api, _ = outcome_api(clock=clock, outcome_window_s=600, outcome_max_attempts=2)
    post(api, "/v1/screen", {**AT_HOME, "record_id": "old"})
    clock.now += 601
    assert post(api, "/v1/outcome", answered(AT_HOME, record_id="old"))[1]["reason"] == (
        "unknown_attempt"
    )
    for n in range(3):
        post(api, "/v1/screen", {**AT_HOME, "record_id": f"call-{n}"})
    assert api.outcomes_held == 2
    assert post(api, "/v1/outcome", answered(AT_HOME, record_id="call-0"))[1]["learned"] is False
    assert post(api, "/v1/outcome", answered(AT_HOME, record_id="call-2"))[1]["learned"] is True


# --- the operator's own records --------------------------------------------------------------


def test_an_operator_record_is_believed_only_from_a_client_with_the_token() -> None:
    record = answered(AT_HOME, screened=False, time=(NOW - timedelta(days=1)).isoformat())
    api, _ = outcome_api()  # no token: anyone may call the API, so no one is trusted
    status, body = post(api, "/v1/outcome", record)
    assert (status, body["learned"], body["reason"]) == (202, False, "untrusted")
    assert post(api, "/v1/screen", FROM_ABROAD)[1]["action"] == "divert"

    api, _ = outcome_api(api_token=TOKEN)
    assert post(api, "/v1/outcome", record)[0] == 401
    status, body = post(api, "/v1/outcome", record, token=TOKEN)
    assert (status, body["learned"]) == (202, True), body
    assert post(api, "/v1/screen", FROM_ABROAD, token=TOKEN)[1]["action"] == "allow"


def test_an_operator_record_cannot_be_dated_ahead_of_the_node() -> None:
    api, _ = outcome_api(api_token=TOKEN)
    ahead = answered(AT_HOME, screened=False, time=(NOW + timedelta(days=400)).isoformat())
    status, body = post(api, "/v1/outcome", ahead, token=TOKEN)
    assert status == 400 and body["error"]["field"] == "time"


# --- the batch form, errors and metrics ------------------------------------------------------


def test_a_batch_of_outcomes_answers_per_item_in_order() -> None:
    api, _ = outcome_api()
    post(api, "/v1/screen", {**AT_HOME, "record_id": "call-1"})
    items = [
        answered(AT_HOME, record_id="call-1"),
        {**AT_HOME, "answered": "yes"},
        answered(AT_HOME, record_id="nope"),
        [],
    ]
    status, body = post(api, "/v1/outcome/batch", items)
    assert status == 200 and body["count"] == 4 and body["errors"] == 2 and body["learned"] == 1
    results = body["results"]
    assert results[0]["learned"] is True
    assert results[1]["error"]["field"] == "answered"
    assert results[2]["reason"] == "unknown_attempt"
    assert results[3]["error"]["code"] == "invalid_body"


def test_a_batch_of_outcomes_is_bounded() -> None:
    api, _ = outcome_api(max_batch=2)
    status, body = post(api, "/v1/outcome/batch", [answered(AT_HOME)] * 3)
    assert status == 413 and body["error"]["code"] == "batch_too_large"


def test_bad_outcome_fields_are_400s_naming_the_field() -> None:
    api, _ = outcome_api()
    for fields, field in (
        ({"answered": 1}, "answered"),
        ({"duration_s": -1}, "duration_s"),
        ({"duration_s": float("inf")}, "duration_s"),
        ({"duration_s": "long"}, "duration_s"),
        ({"event": "fax"}, "event"),
        ({"screened": "no"}, "screened"),
        ({"colour": "red"}, "colour"),
    ):
        status, body = post(api, "/v1/outcome", answered(AT_HOME, **fields))
        assert status == 400 and body["error"]["field"] == field, (fields, body)
    status, body = post(api, "/v1/outcome", dict(AT_HOME))
    assert status == 400 and body["error"] == {
        "status": 400,
        "code": "missing_field",
        "message": "answered is required",
        "field": "answered",
    }


def test_outcomes_are_counted_in_the_metrics() -> None:
    api, _ = outcome_api()
    post(api, "/v1/screen", {**AT_HOME, "record_id": "call-1"})
    post(api, "/v1/outcome", answered(AT_HOME, record_id="call-1"))
    post(api, "/v1/outcome", answered(AT_HOME, record_id="call-9"))
    page = api.handle("GET", "/metrics").body.decode()
    assert 'qalqan_http_outcomes_total{result="learned"} 1' in page
    assert 'qalqan_http_outcomes_total{result="unknown_attempt"} 1' in page
    assert "qalqan_http_outcome_attempts_held 0" in page


def test_an_engine_that_does_not_learn_says_so() -> None:
    engine = ScreeningEngine(parse_config("network:\n  home_region: KZ\n"))
    api = ScreeningApi(engine.screen, settings=ApiSettings(), wall_clock=lambda: NOW)
    post(api, "/v1/screen", {**AT_HOME, "record_id": "call-1"})
    status, body = post(api, "/v1/outcome", answered(AT_HOME, record_id="call-1"))
    assert (status, body["learned"], body["reason"]) == (202, False, "not_learning")


def test_over_asgi_an_outcome_is_a_202() -> None:
    api, _ = outcome_api()
    client = Client(api)
    client.post("/v1/screen", {**AT_HOME, "record_id": "call-1"})
    response = client.post("/v1/outcome", answered(AT_HOME, record_id="call-1"))
    assert response.status_code == 202 and response.json()["learned"] is True


# --- never a fault ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELD_VALUES = st.one_of(
    JSON_VALUES,
    st.sampled_from(["+77015550101", "87075550202", "international:x", "national", "sms", "voice"]),
    st.sampled_from(["2026-03-02T07:15:02Z", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59Z"]),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1),
)
OUTCOMES = st.dictionaries(
    st.sampled_from(
        [
            "caller",
            "callee",
            "ingress",
            "time",
            "record_id",
            "answered",
            "duration_s",
            "event",
            "screened",
            "imsi",
            "other",
        ]
    ),
    FIELD_VALUES,
    max_size=9,
)


@settings(max_examples=300, deadline=None)
@given(payload=st.one_of(OUTCOMES, st.lists(OUTCOMES, max_size=4), JSON_VALUES))
def test_any_outcome_gets_an_answer_never_a_fault(payload: Any) -> None:
    api, _ = outcome_api(api_token=TOKEN)
    post(api, "/v1/screen", {**AT_HOME, "record_id": "call-1"}, token=TOKEN)
    for path in ("/v1/outcome", "/v1/outcome/batch"):
        status, body = post(api, path, payload, token=TOKEN)
        assert status in (200, 202, 400, 413), body
        for item in body.get("results", []):
            assert item.get("error", {}).get("status", 400) == 400, item
