"""One JSON error shape across every endpoint and every status the API can refuse with."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from qalqan.api.app import ScreeningApi
from qalqan.api.config import ApiSettings
from tests.api.conftest import FAULTY_CALLEE, REFUSED_CALLEE, Client, attempt_json, make_api

TOKEN = "s3cret-token-for-tests"


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """The shape: ``{"error": {"status", "code", "message"[, "field"]}}`` and nothing else."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    expected_keys = {"status", "code", "message"} | ({"field"} if field else set())
    assert set(error) == expected_keys, error
    assert error["status"] == status and error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if field:
        assert error["field"] == field
    return dict(error)


def test_400_names_the_field(client: Client) -> None:
    assert_error(
        client.post("/v1/screen", attempt_json(caller="x")), 400, "invalid_field", "caller"
    )


def test_401_without_the_token(client_for: Callable[..., Client]) -> None:
    client = client_for(api_token=TOKEN)
    response = client.post("/v1/screen", attempt_json())
    error = assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in error["message"]
    wrong = client.post("/v1/screen", attempt_json(), headers={"authorization": "Bearer nope"})
    assert_error(wrong, 401, "unauthorized")
    right = client.post("/v1/screen", attempt_json(), headers={"authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
    assert client.get("/healthz").status_code == 200  # probes need no token


def test_404_lists_the_endpoints(client: Client) -> None:
    error = assert_error(client.get("/v1/scren"), 404, "not_found")
    assert "POST /v1/screen" in error["message"] and "GET /metrics" in error["message"]
    assert_error(client.post("/", {"a": 1}), 404, "not_found")


def test_405_says_what_is_allowed(client: Client) -> None:
    response = client.get("/v1/screen")
    error = assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    assert "use POST" in error["message"]
    response = client.request("DELETE", "/metrics")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, HEAD"


def test_413_for_a_body_over_the_limit(client_for: Callable[..., Client]) -> None:
    client = client_for(max_body_bytes=2048)
    big = json.dumps(attempt_json(cell="x" * 4000)).encode()
    error = assert_error(
        client.post("/v1/screen", content=big, headers={"content-type": "application/json"}),
        413,
        "body_too_large",
    )
    assert "limit is 2048" in error["message"]


def test_413_for_a_streamed_body_without_a_length(client_for: Callable[..., Client]) -> None:
    client = client_for(max_body_bytes=2048)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 500

    response = client.post(
        "/v1/screen/batch", content=chunks(), headers={"content-type": "application/json"}
    )
    error = assert_error(response, 413, "body_too_large")
    assert "over the limit of 2048 bytes" in error["message"]


def test_413_for_too_many_attempts(client_for: Callable[..., Client]) -> None:
    assert_error(
        client_for(max_batch=2).post("/v1/screen/batch", [attempt_json()] * 3),
        413,
        "batch_too_large",
    )


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_415_for_anything_but_json(client: Client, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.request(
        "POST", "/v1/screen", content=json.dumps(attempt_json()).encode(), headers=headers
    )
    assert_error(response, 415, "unsupported_media_type")


def test_json_with_a_charset_is_json(client: Client) -> None:
    response = client.post(
        "/v1/screen",
        content=json.dumps(attempt_json()).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_422_when_the_engine_refuses_the_attempt(client_for: Callable[..., Client]) -> None:
    client = client_for(fail_open=False)
    assert_error(
        client.post("/v1/screen", attempt_json(callee=REFUSED_CALLEE)), 422, "unscreenable"
    )


def test_500_when_the_engine_fails_without_fail_open(client_for: Callable[..., Client]) -> None:
    client = client_for(fail_open=False)
    assert_error(client.post("/v1/screen", attempt_json(callee=FAULTY_CALLEE)), 500, "engine_error")


def test_500_for_a_fault_in_the_api_itself(
    api: ScreeningApi, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> str:
        raise KeyError("oops")

    monkeypatch.setattr(api.metrics, "render", broken)
    error = assert_error(client.get("/metrics"), 500, "internal_error")
    assert "oops" not in error["message"]  # internals stay in the log
    assert api.metrics.errors.get(("internal_error", "500")) == 1


def test_503_while_the_engine_cannot_load() -> None:
    def factory() -> Any:
        raise RuntimeError("rules file is corrupt")

    client = Client(ScreeningApi(engine=factory, settings=ApiSettings()))
    error = assert_error(client.get("/healthz"), 503, "not_ready")
    assert "failed to load (RuntimeError: rules file is corrupt)" in error["message"]
    assert_error(client.post("/v1/screen", attempt_json()), 503, "not_ready")
    assert_error(client.post("/v1/screen/batch", [attempt_json()]), 503, "not_ready")


def test_head_answers_like_get_without_a_body(client: Client) -> None:
    response = client.request("HEAD", "/healthz")
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) > 0


def test_the_shape_is_the_same_in_process(api: ScreeningApi) -> None:
    response = api.handle("PUT", "/v1/screen/batch")
    assert response.status == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert (b"allow", b"POST") in response.headers
    response = api.handle("POST", "/v1/screen", body=b"{}")
    assert response.status == 415


def test_errors_are_counted_by_code(api: ScreeningApi, client: Client) -> None:
    client.get("/nowhere")
    client.get("/nowhere")
    client.post("/v1/screen", attempt_json(caller="x"))
    client.post("/v1/screen/batch", [attempt_json(callee="x")])
    assert api.metrics.errors.get(("not_found", "404")) == 2
    assert api.metrics.errors.get(("invalid_field", "400")) == 2
    assert api.metrics.requests.get(("unmatched", "404")) == 2
    assert api.metrics.requests.get(("/v1/screen/batch", "200")) == 1


def test_make_api_needs_one_engine() -> None:
    with pytest.raises(TypeError, match="exactly one"):
        ScreeningApi()
    with pytest.raises(TypeError, match="exactly one"):
        make_api().__class__(lambda a: None, engine=lambda: None)  # type: ignore[arg-type, return-value]
