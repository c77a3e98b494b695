"""The API behind a real uvicorn server on a free port, and ``qalqan serve-http`` end to end."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from qalqan.api.app import Decide, ScreeningApi
from qalqan.api.config import ApiSettings
from qalqan.api.engine import engine_factory
from qalqan.api.errors import EngineUnavailableError
from qalqan.api.server import ApiServerThread, bind
from qalqan.cli.main import app as cli
from qalqan.errors import ConfigError
from tests.api.conftest import attempt_json, rule_decide

ROOT = Path(__file__).resolve().parents[2]
FAKE = "tests.api.fake_engine:TableEngine"


@pytest.fixture
def server() -> Iterator[ApiServerThread]:
    release = threading.Event()

    def slow_factory() -> Decide:
        release.wait(5)
        return rule_decide

    api = ScreeningApi(engine=slow_factory, settings=ApiSettings(max_body_bytes=4096))
    with ApiServerThread(api) as running:
        running.release = release  # type: ignore[attr-defined]
        yield running
    release.set()


def test_a_real_server_screens_over_keep_alive(server: ApiServerThread) -> None:
    with httpx.Client(base_url=server.url, timeout=5) as client:
        # The engine loads in a worker thread at startup: not ready until it is.
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "not_ready"
        server.release.set()  # type: ignore[attr-defined]
        deadline = time.monotonic() + 5
        while client.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, "the engine never became ready"
            time.sleep(0.01)
        single = client.post("/v1/screen", json=attempt_json(record_id="e2e-1"))
        assert single.status_code == 200
        assert single.json()["action"] == "warn" and single.json()["record_id"] == "e2e-1"
        batch = client.post("/v1/screen/batch", json=[attempt_json(), attempt_json(caller="?")])
        assert [r.get("action") for r in batch.json()["results"]] == ["warn", None]
        too_big = client.post(
            "/v1/screen", content=b" " * 5000, headers={"content-type": "application/json"}
        )
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "body_too_large"
        assert client.get("/v1/screen").status_code == 405
        metrics = client.get("/metrics").text
        assert 'qalqan_http_decisions_total{action="warn"} 2' in metrics
        assert "qalqan_http_engine_ready 1" in metrics


def test_binding_a_taken_port_is_a_clear_error() -> None:
    taken = bind("127.0.0.1", 0)
    try:
        with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1"):
            bind("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


# --- finding the engine -------------------------------------------------------------------


def test_a_missing_engine_is_reported_before_serving() -> None:
    with pytest.raises(EngineUnavailableError, match=r"there is no module qalqan\.screening\.gone"):
        engine_factory(engine="qalqan.screening.gone:ScreeningEngine")
    with pytest.raises(EngineUnavailableError, match="there is no module nowhere"):
        engine_factory(engine="nowhere:Engine")
    with pytest.raises(EngineUnavailableError, match="has no Missing"):
        engine_factory(engine="tests.api.fake_engine:Missing")
    with pytest.raises(EngineUnavailableError, match="has no decide method"):
        engine_factory(engine="tests.api.fake_engine:NoDecide")()
    with pytest.raises(EngineUnavailableError, match="no such file"):
        engine_factory(Path("/nonexistent/rules.json"), engine=FAKE)


def test_the_default_engine_missing_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    import qalqan.api.engine

    def missing(name: str) -> object:
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)

    fake_importlib = types.SimpleNamespace(import_module=missing)
    monkeypatch.setattr(qalqan.api.engine, "importlib", fake_importlib)
    result = CliRunner().invoke(cli, ["serve-http", "--port", "0"])
    assert result.exit_code == 2
    assert "the screening engine (qalqan.screening.engine) is not part of" in result.output
    assert "QALQAN_HTTP_ENGINE" in result.output


def test_the_engine_is_built_from_its_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"+77071234567": "block"}))
    screening = engine_factory(rules, engine=FAKE)()
    assert screening.observe is None  # the table engine learns nothing
    api = ScreeningApi(screening.decide)
    body = api.handle(
        "POST",
        "/v1/screen",
        headers={"content-type": "application/json"},
        body=json.dumps(attempt_json()).encode(),
    ).json()
    assert body["action"] == "block"


def test_an_engine_like_qalqans_gets_its_config_verifier_and_screen(
    tmp_path: Path, pki_files: tuple[Path, Path]
) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"+77071234567": "warn"}))
    anchors, certificates = pki_files
    environ = {
        "QALQAN_STIR_TRUST_ANCHORS": str(anchors),
        "QALQAN_STIR_CERTIFICATES": str(certificates),
    }
    decide = engine_factory(
        rules, engine="tests.api.fake_engine:ConfigEngine", environ=environ
    )().decide
    engine = decide.__self__  # type: ignore[attr-defined]
    assert decide.__name__ == "screen"
    assert type(engine.verifier).__name__ == "IdentityVerifier"
    api = ScreeningApi(decide)
    response = api.handle(
        "POST",
        "/v1/screen",
        headers={"content-type": "application/json"},
        body=json.dumps(attempt_json()).encode(),
    )
    assert response.json()["action"] == "warn" and engine.screened == 1
    unconfigured = engine_factory(engine="tests.api.fake_engine:ConfigEngine", environ={})().decide
    assert unconfigured.__self__.verifier is None  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="QALQAN_STIR_MAX_AGE_S"):
        engine_factory(
            engine="tests.api.fake_engine:ConfigEngine", environ={"QALQAN_STIR_MAX_AGE_S": "x"}
        )


def test_qalqans_own_engine_is_served_when_present(tmp_path: Path) -> None:
    pytest.importorskip("qalqan.screening.engine")
    screening = engine_factory(environ={})()
    assert screening.observe is not None  # Qalqan's engine learns how calls ended
    api = ScreeningApi(screening.decide, observe=screening.observe)
    response = api.handle(
        "POST",
        "/v1/screen",
        headers={"content-type": "application/json"},
        body=json.dumps(attempt_json(ingress="mobile")).encode(),
    )
    assert response.status == 200, response.body
    assert response.json()["action"] in {"allow", "warn", "divert", "block"}


@pytest.fixture
def pki_files(tmp_path: Path) -> tuple[Path, Path]:
    """A trust anchor file and an (empty) certificate folder for QALQAN_STIR_*."""
    from tests.screening.test_stir import make_pki, pem

    anchors = tmp_path / "roots.pem"
    anchors.write_bytes(pem(make_pki().root))
    certificates = tmp_path / "certs"
    certificates.mkdir()
    return anchors, certificates


def test_cli_get_answers_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QALQAN_HTTP_ENGINE", FAKE)
    result = CliRunner().invoke(cli, ["serve-http", "--get", "/healthz"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ready"] is True
    result = CliRunner().invoke(cli, ["serve-http", "--get", "/nowhere"])
    assert result.exit_code == 1 and '"not_found"' in result.output


def test_cli_reports_bad_settings_without_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QALQAN_HTTP_API_TOKEN", "tiny")
    monkeypatch.setenv("QALQAN_HTTP_PORT", "http")
    result = CliRunner().invoke(cli, ["serve-http"])
    assert result.exit_code == 2
    assert "QALQAN_HTTP_PORT='http'" in result.output and "QALQAN_HTTP_API_TOKEN" in result.output
    assert "tiny" not in result.output


def test_qalqan_serve_http_serves_until_stopped(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"+77071234567": "divert"}))
    token = "end-to-end-token-0123456789"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QALQAN_HTTP_ENGINE": FAKE,
        "QALQAN_HTTP_API_TOKEN": token,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from qalqan.cli.main import main; main()",
            "serve-http",
            "--port",
            "0",
            "--rules",
            str(rules),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        url = f"http://127.0.0.1:{match.group(1)}"
        with httpx.Client(base_url=url, timeout=5) as client:
            deadline = time.monotonic() + 10
            while client.get("/healthz").status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            response = client.post(
                "/v1/screen",
                json=attempt_json(record_id="cli-1"),
                headers={"authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            assert response.json()["action"] == "divert"
            assert client.post("/v1/screen", json=attempt_json()).status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert token not in stderr and token not in line
    assert "QALQAN_HTTP_API_TOKEN=Secret('**********')" in stderr


def test_serve_http_takes_reputation_lists_as_serve_does(tmp_path: Path) -> None:
    from qalqan.api.engine import node_factory

    listed = tmp_path / "lists.csv"
    listed.write_text("kind,value,source,reason\nnumber,+77011234567,a partner,test\n")
    node = node_factory(lists=[listed], environ={})()
    api = ScreeningApi(node=node)
    body = api.handle(
        "POST",
        "/v1/screen",
        headers={"content-type": "application/json"},
        body=json.dumps(attempt_json(ingress="mobile")).encode(),
    ).json()
    assert any(reason["rule"].startswith("reputation.") for reason in body["reasons"]), body
    missing = CliRunner().invoke(
        cli, ["serve-http", "--lists", str(tmp_path / "gone.csv"), "--get", "/healthz"]
    )
    assert missing.exit_code == 2 and "gone.csv" in missing.output
