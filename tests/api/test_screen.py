"""POST /v1/screen and /v1/screen/batch, in-process over ASGI: decisions, validation, fail-open."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.api.app import Screening, ScreeningApi
from qalqan.api.config import ApiSettings
from qalqan.domain.model import Action, CallAttempt, Decision
from tests.api.conftest import (
    FAULTY_CALLEE,
    NOW,
    REFUSED_CALLEE,
    Client,
    attempt_json,
    make_api,
    rule_decide,
)


def test_a_call_attempt_gets_a_decision_with_reasons(client: Client) -> None:
    response = client.post("/v1/screen", attempt_json(caller=None, record_id="r-1"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["action"] == "warn"
    assert body["score"] == 0.33
    assert body["reasons"] == [
        {
            "rule": "caller.withheld",
            "weight": 0.33,
            "detail": "the caller ID is withheld",
            "key": "",
            "facts": {},
        }
    ]
    assert body["record_id"] == "r-1"
    assert body["latency_us"] >= 0
    assert set(body) == {"action", "score", "reasons", "latency_us", "record_id"}


def test_the_engine_sees_normalised_numbers_and_typed_fields() -> None:
    seen: list[CallAttempt] = []

    def spy(attempt: CallAttempt) -> Decision:
        seen.append(attempt)
        return rule_decide(attempt)

    client = Client(make_api(spy, region="KZ"))
    response = client.post(
        "/v1/screen",
        attempt_json(
            time="2026-03-02T12:15:02+05:00",
            caller="8 (701) 123-45-67",
            callee="0077071234567",
            imsi="401011234567890",
            imei="86123456789012",
            cell="KZ-ALA-0042",
            identity="eyJ...;info=<https://cr.example/sp.pem>",
            attest="B",
        ),
    )
    assert response.status_code == 200, response.text
    attempt = seen[0]
    assert attempt.attest == "B"
    assert attempt.caller == "+77011234567" and attempt.callee == "+77071234567"
    assert attempt.time == NOW
    assert str(attempt.ingress) == "international:carrierA"
    assert attempt.imsi == "401011234567890" and attempt.imei == "86123456789012"
    assert attempt.cell == "KZ-ALA-0042"
    assert attempt.identity is not None and attempt.identity.startswith("eyJ")
    assert response.json()["action"] == "warn"


def test_time_defaults_to_the_arrival_of_the_request() -> None:
    seen: list[CallAttempt] = []

    def spy(attempt: CallAttempt) -> Decision:
        seen.append(attempt)
        return rule_decide(attempt)

    response = Client(make_api(spy)).post("/v1/screen", attempt_json(time=...))
    assert response.status_code == 200
    assert seen[0].time == NOW


@pytest.mark.parametrize(
    ("fields", "status", "code", "field", "message"),
    [
        ({"caller": "12ab"}, 400, "invalid_field", "caller", "caller '12ab' is not a phone number"),
        ({"caller": 77011234567}, 400, "invalid_field", "caller", "must be a string, not a number"),
        ({"callee": ...}, 400, "missing_field", "callee", "callee is required"),
        ({"callee": None}, 400, "missing_field", "callee", "callee is required"),
        ({"callee": "+0123"}, 400, "invalid_field", "callee", "not a phone number"),
        ({"ingress": ...}, 400, "missing_field", "ingress", "ingress is required"),
        ({"ingress": "satellite"}, 400, "invalid_field", "ingress", "classes: mobile, fixed"),
        ({"time": "yesterday"}, 400, "invalid_field", "time", "not an ISO 8601 time"),
        ({"time": "2026-03-02T07:15:02"}, 400, "invalid_field", "time", "needs a UTC offset"),
        ({"imsi": "40101abc"}, 400, "invalid_field", "imsi", "is not 6 to 15 digits"),
        ({"imei": "123"}, 400, "invalid_field", "imei", "is not 14 to 16 digits"),
        ({"cell": ""}, 400, "invalid_field", "cell", "cell is empty"),
        ({"cell": "x" * 65}, 400, "invalid_field", "cell", "65 characters long (limit 64)"),
        ({"record_id": ["a"]}, 400, "invalid_field", "record_id", "not an array"),
        ({"identity": {}}, 400, "invalid_field", "identity", "not an object"),
        ({"attest": "a"}, 400, "invalid_field", "attest", "'a' is not A, B or C"),
        ({"attest": "AB"}, 400, "invalid_field", "attest", "is not A, B or C"),
        ({"attest": 1}, 400, "invalid_field", "attest", "must be a string, not a number"),
        ({"calee": "+77071234567"}, 400, "unknown_field", "calee", "is not a field"),
    ],
)
def test_a_bad_field_is_named(
    client: Client, fields: dict[str, Any], status: int, code: str, field: str, message: str
) -> None:
    response = client.post("/v1/screen", attempt_json(**fields))
    assert response.status_code == status
    error = response.json()["error"]
    assert error["status"] == status and error["code"] == code and error["field"] == field
    assert message in error["message"], error["message"]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b"", "invalid_json", "the request body is empty"),
        (b"{", "invalid_json", "not JSON: Expecting property name"),
        (b"\xff\xfe", "invalid_json", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid_json", "too deep"),
        (b"[]", "invalid_body", "must be a JSON object, not an array"),
        (b'"text"', "invalid_body", "not a string"),
    ],
)
def test_a_body_that_is_not_an_attempt_is_refused(
    client: Client, body: bytes, code: str, message: str
) -> None:
    response = client.post("/v1/screen", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and message in error["message"], error
    assert "field" not in error


def test_a_batch_gets_one_result_per_attempt_in_order(client: Client) -> None:
    batch = [
        attempt_json(record_id="1"),
        attempt_json(caller="bogus", record_id="2"),
        attempt_json(ingress="mobile", record_id="3"),
        "not an object",
        attempt_json(caller=None, imei="86123456789012", record_id="5"),
    ]
    response = client.post("/v1/screen/batch", batch)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5 and body["errors"] == 2
    results = body["results"]
    assert [r.get("action") for r in results] == ["warn", None, "allow", None, "warn"]
    assert results[1] == {
        "error": {
            "status": 400,
            "code": "invalid_field",
            "message": results[1]["error"]["message"],
            "field": "caller",
        }
    }
    assert results[3]["error"]["code"] == "invalid_body"
    assert [r.get("record_id") for r in results] == ["1", None, "3", None, "5"]
    assert results[4]["score"] == 0.66


def test_a_batch_must_be_an_array_of_bounded_size(client_for: Callable[..., Client]) -> None:
    client = client_for(max_batch=3)
    response = client.post("/v1/screen/batch", {"attempts": []})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_body"
    response = client.post("/v1/screen/batch", [attempt_json()] * 4)
    assert response.status_code == 413
    assert response.json()["error"] == {
        "status": 413,
        "code": "batch_too_large",
        "message": "a batch holds at most 3 call attempts, not 4",
    }
    assert client.post("/v1/screen/batch", []).json() == {"results": [], "count": 0, "errors": 0}


# --- the engine failing or late ---------------------------------------------------------------


def test_an_engine_fault_fails_open_with_a_reason(client: Client) -> None:
    response = client.post("/v1/screen", attempt_json(callee=FAULTY_CALLEE, record_id="f"))
    assert response.status_code == 200
    body = response.json()
    assert body["action"] == "allow" and body["score"] == 0.0 and body["record_id"] == "f"
    assert body["reasons"][0]["rule"] == "http.fail_open.error"
    assert "RuntimeError" in body["reasons"][0]["detail"]


def test_the_default_action_is_configurable(client_for: Callable[..., Client]) -> None:
    client = client_for(default_action=Action.DIVERT)
    body = client.post("/v1/screen", attempt_json(callee=FAULTY_CALLEE)).json()
    assert body["action"] == "divert"
    assert "answered 'divert' unscreened" in body["reasons"][0]["detail"]


def test_a_late_engine_is_replaced_by_the_default_action() -> None:
    ticks = iter(float(i) for i in range(1000))
    api = ScreeningApi(
        rule_decide,
        settings=ApiSettings(deadline_ms=20.0),
        clock=lambda: next(ticks) * 0.03,  # every reading of the clock is 30 ms later
    )
    body = api.handle(
        "POST",
        "/v1/screen",
        headers={"content-type": "application/json"},
        body=json.dumps(attempt_json()).encode(),
    ).json()
    assert body["action"] == "allow"
    assert body["reasons"][0]["rule"] == "http.fail_open.deadline"
    assert "past the 20 ms deadline" in body["reasons"][0]["detail"]
    assert api.metrics.fail_open.get(("deadline",)) == 1


def test_with_fail_open_off_engine_failures_are_http_errors(
    client_for: Callable[..., Client],
) -> None:
    client = client_for(fail_open=False)
    response = client.post("/v1/screen", attempt_json(callee=FAULTY_CALLEE))
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "status": 500,
            "code": "engine_error",
            "message": "the screening engine failed (RuntimeError)",
        }
    }
    response = client.post("/v1/screen", attempt_json(callee=REFUSED_CALLEE))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unscreenable"
    assert "cannot place this number" in error["message"]
    batch = client.post("/v1/screen/batch", [attempt_json(callee=REFUSED_CALLEE), attempt_json()])
    results = batch.json()["results"]
    assert results[0]["error"]["status"] == 422 and results[1]["action"] == "warn"


def test_an_engine_that_returns_nonsense_fails_open() -> None:
    api = make_api(lambda attempt: "allow")  # type: ignore[arg-type, return-value]
    body = api.handle(
        "POST",
        "/v1/screen",
        headers={"content-type": "application/json"},
        body=json.dumps(attempt_json()).encode(),
    ).json()
    assert body["reasons"][0]["rule"] == "http.fail_open.error"


def test_an_engine_latency_is_kept_when_the_engine_measures_it() -> None:
    api = make_api(lambda attempt: Decision(action=Action.ALLOW, score=0.1, latency_us=12.5))
    body = api.handle(
        "POST",
        "/v1/screen",
        headers={"content-type": "application/json"},
        body=json.dumps(attempt_json()).encode(),
    ).json()
    assert body["latency_us"] == 12.5


# --- properties -------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
FIELD_VALUES = st.one_of(
    JSON,
    st.text(alphabet="+0123456789 ()-", max_size=20),
    st.sampled_from(["mobile", "international:carrierA", "voip:x", "2026-03-02T07:15:02Z"]),
)
ATTEMPTS = st.dictionaries(
    st.sampled_from(
        ["time", "caller", "callee", "ingress", "imsi", "imei", "cell", "identity", "record_id"]
    ),
    FIELD_VALUES,
)


@settings(max_examples=300, deadline=None)
@given(payload=st.one_of(JSON, ATTEMPTS))
def test_any_json_gets_a_decision_or_a_client_error_never_a_fault(payload: Any) -> None:
    api = make_api()
    response = api.handle(
        "POST",
        "/v1/screen",
        headers={"content-type": "application/json"},
        body=json.dumps(payload).encode(),
    )
    body = response.json()
    if response.status == 200:
        assert body["action"] in {"allow", "warn", "block"}
    else:
        assert response.status == 400, body
        assert set(body) == {"error"} and body["error"]["status"] == 400


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_any_bytes_get_a_client_error_never_a_fault(body: bytes) -> None:
    response = make_api().handle(
        "POST", "/v1/screen/batch", headers={"content-type": "application/json"}, body=body
    )
    assert response.status in (200, 400), response.body


def test_screening_in_process_is_fast() -> None:
    """Not a benchmark (see benchmarks/http_throughput.py): a guard against a gross slowdown."""
    api = make_api()
    body = json.dumps(attempt_json()).encode()
    headers = {"content-type": "application/json"}
    started = time.perf_counter()
    for _ in range(2000):
        api.handle("POST", "/v1/screen", headers=headers, body=body)
    per_request = (time.perf_counter() - started) / 2000
    assert per_request < 0.002, f"{per_request * 1e6:.0f} µs per request in-process"


def test_national_forms_follow_the_engines_country_and_are_refused_while_it_is_unknown() -> None:
    """``QALQAN_HTTP_REGION=auto`` (the default) reads national forms by the engine's country.

    An Azerbaijani operator's ``050 123 45 67`` is +994 50 123 45 67, never a Kazakh number;
    an engine that does not know its country yet makes the API refuse national forms with a
    reason, and E.164 numbers are read all the same.
    """
    from qalqan.screening.config import parse_config
    from qalqan.screening.engine import ScreeningEngine

    seen: list[CallAttempt] = []

    class Seeing(ScreeningEngine):
        def screen(self, attempt: CallAttempt) -> Decision:
            seen.append(attempt)
            return super().screen(attempt)

    def engine_of(home: str) -> Screening:
        engine = Seeing(parse_config(f"network:\n  home_region: {home}\n"))
        return Screening(decide=engine.screen)

    azerbaijani = Client(ScreeningApi(engine=lambda: engine_of("AZ"), wall_clock=lambda: NOW))
    ok = azerbaijani.post(
        "/v1/screen", attempt_json(caller="050 123 45 67", callee="+994551234567")
    )
    assert ok.status_code == 200, ok.text
    assert seen[-1].caller == "+994501234567"

    unknown = Client(ScreeningApi(engine=lambda: engine_of("auto"), wall_clock=lambda: NOW))
    refused = unknown.post("/v1/screen", attempt_json(caller="8 701 123 45 67"))
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "caller"
    assert "country is not known" in refused.json()["error"]["message"]
    e164 = unknown.post("/v1/screen", attempt_json(caller="+77011234567", callee="+77071234567"))
    assert e164.status_code == 200, e164.text
