"""GET /healthz and GET /metrics: readiness of the engine, and Prometheus text that parses."""

from __future__ import annotations

import threading
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from qalqan.api.app import Decide, ScreeningApi
from qalqan.api.config import ApiSettings
from qalqan.api.metrics import MAX_LABEL_VALUES, Counter
from qalqan.domain.model import Action, CallAttempt, Decision, Reason
from tests.api.conftest import FAULTY_CALLEE, Client, attempt_json, rule_decide


def test_healthz_says_alive_and_ready(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["ready"] is True
    assert body["version"] and body["uptime_s"] >= 0


def test_an_engine_factory_is_built_once_on_first_use() -> None:
    calls: list[int] = []

    def factory() -> Decide:
        calls.append(1)
        return rule_decide

    api = ScreeningApi(engine=factory, settings=ApiSettings())
    assert not api.ready
    client = Client(api)
    assert client.get("/healthz").status_code == 200
    assert client.post("/v1/screen", attempt_json()).status_code == 200
    assert calls == [1] and api.ready


def test_a_loading_engine_is_not_ready_until_loaded() -> None:
    release = threading.Event()

    def slow_factory() -> Decide:
        release.wait(5)
        return rule_decide

    api = ScreeningApi(engine=slow_factory, settings=ApiSettings())
    loader = threading.Thread(target=api.load_engine)
    loader.start()
    try:
        response = api.handle("GET", "/healthz")
        assert response.status == 503
        assert response.json()["error"]["message"] == "the screening engine is loading"
        metrics = api.handle("GET", "/metrics").body.decode()
        assert "qalqan_http_engine_ready 0" in metrics
    finally:
        release.set()
        loader.join()
    assert api.handle("GET", "/healthz").status == 200
    assert "qalqan_http_engine_ready 1" in api.handle("GET", "/metrics").body.decode()


def families(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample of a Prometheus page, by sample name and labels, parsed by prometheus_client."""
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


def test_metrics_count_decisions_reasons_latency_and_errors(client: Client) -> None:
    client.post("/v1/screen", attempt_json())
    client.post("/v1/screen", attempt_json(ingress="mobile"))
    client.post("/v1/screen/batch", [attempt_json(caller=None), attempt_json(callee="bad")])
    client.post("/v1/screen", attempt_json(callee=FAULTY_CALLEE))
    client.get("/nowhere")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = families(response.text)
    decisions = samples["qalqan_http_decisions_total"]
    assert decisions[(("action", "warn"),)] == 2
    assert decisions[(("action", "allow"),)] == 2
    reasons = samples["qalqan_http_decision_reasons_total"]
    assert reasons[(("rule", "spoofed_cli.domestic_from_abroad"),)] == 1
    assert reasons[(("rule", "caller.withheld"),)] == 1
    assert reasons[(("rule", "http.fail_open.error"),)] == 1
    assert samples["qalqan_http_fail_open_total"][(("cause", "error"),)] == 1
    assert samples["qalqan_http_engine_seconds_count"][()] == 4
    assert samples["qalqan_http_engine_seconds_bucket"][(("le", "+Inf"),)] == 4
    requests = samples["qalqan_http_requests_total"]
    assert requests[(("route", "/v1/screen"), ("status", "200"))] == 3
    assert requests[(("route", "unmatched"), ("status", "404"))] == 1
    errors = samples["qalqan_http_errors_total"]
    assert errors[(("code", "invalid_field"), ("status", "400"))] == 1
    assert errors[(("code", "not_found"), ("status", "404"))] == 1
    request_count = samples["qalqan_http_request_seconds_count"]
    assert request_count[(("route", "/v1/screen"),)] == 3
    assert samples["qalqan_http_engine_ready"][()] == 1


def test_histogram_buckets_are_cumulative(client: Client) -> None:
    for _ in range(5):
        client.post("/v1/screen", attempt_json())
    samples = families(client.get("/metrics").text)
    buckets = samples["qalqan_http_request_seconds_bucket"]
    screen = sorted(
        (float(dict(labels)["le"]), value)
        for labels, value in buckets.items()
        if dict(labels)["route"] == "/v1/screen"
    )
    counts = [value for _, value in screen]
    assert counts == sorted(counts) and counts[-1] == 5


def test_label_values_are_escaped_and_capped() -> None:
    weird = 'rule "with"\nnewline\\'

    def decide(attempt: CallAttempt) -> Decision:
        return Decision(
            action=Action.WARN, score=0.5, reasons=(Reason(rule=weird, weight=0.5, detail="d"),)
        )

    api = ScreeningApi(decide)
    Client(api).post("/v1/screen", attempt_json())
    samples = families(api.metrics.render())
    assert samples["qalqan_http_decision_reasons_total"][(("rule", weird),)] == 1
    counter = Counter("c_total", "help", ("rule",), cap=3)
    for index in range(MAX_LABEL_VALUES):
        counter.inc((f"r{index}",))
    assert len(counter.values) == 4 and counter.get(("other",)) == MAX_LABEL_VALUES - 3


def test_metrics_of_a_fresh_api_parse(client_for: Callable[..., Client]) -> None:
    text = client_for().get("/metrics").text
    assert families(text)["qalqan_http_engine_ready"][()] == 1
