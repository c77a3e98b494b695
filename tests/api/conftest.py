"""Shared pieces of the API tests: a deterministic ``decide``, the app, and an in-process client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from qalqan.api.app import Decide, ScreeningApi
from qalqan.api.config import ApiSettings
from qalqan.domain.model import Action, CallAttempt, Decision, IngressClass, Reason
from qalqan.errors import NumberError
from qalqan.screening.config import parse_config
from qalqan.screening.engine import ScreeningEngine

NOW = datetime(2026, 3, 2, 7, 15, 2, tzinfo=UTC)

#: Callees that make the test engine misbehave.
FAULTY_CALLEE = "+77070000500"
REFUSED_CALLEE = "+77070000422"


def rule_decide(attempt: CallAttempt) -> Decision:
    """A small, deterministic stand-in for the screening engine."""
    if attempt.callee == FAULTY_CALLEE:
        raise RuntimeError("the engine broke")
    if attempt.callee == REFUSED_CALLEE:
        raise NumberError("the engine cannot place this number")
    reasons: list[Reason] = []
    if attempt.caller is None:
        reasons.append(
            Reason(rule="caller.withheld", weight=0.33, detail="the caller ID is withheld")
        )
    if (
        attempt.ingress.kind is IngressClass.INTERNATIONAL
        and attempt.caller is not None
        and attempt.caller.startswith("+77")
    ):
        reasons.append(
            Reason(
                rule="spoofed_cli.domestic_from_abroad",
                weight=0.4,
                detail=f"domestic number {attempt.caller} arrived from {attempt.ingress}",
            )
        )
    if attempt.imei is not None and attempt.imei.startswith("86"):
        reasons.append(Reason(rule="sim_farm.imei", weight=0.33, detail="IMEI of a known farm"))
    score = min(1.0, 0.0 + sum(r.weight for r in reasons))
    action = Action.ALLOW if score < 0.3 else Action.WARN if score < 0.8 else Action.BLOCK
    return Decision(action=action, score=round(score, 2), reasons=tuple(reasons))


def attempt_json(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "time": "2026-03-02T07:15:02Z",
        "caller": "+77011234567",
        "callee": "+77071234567",
        "ingress": "international:carrierA",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


class Client:
    """A synchronous face on ``httpx.AsyncClient`` over ``ASGITransport``: no port, no server."""

    def __init__(self, app: ScreeningApi) -> None:
        self.app = app

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://qalqan.test") as c:
                return await c.request(method, url, **options)

        return asyncio.run(go())

    def post(self, url: str, payload: Any = None, **options: Any) -> httpx.Response:
        if payload is not None:
            options.setdefault("content", json.dumps(payload).encode())
            headers = {"content-type": "application/json", **options.pop("headers", {})}
            options["headers"] = headers
        return self.request("POST", url, **options)

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)


def real_engine() -> ScreeningEngine:
    """Qalqan's engine for a Kazakh operator, with no time budget of its own: on a busy machine
    a screen past it answers the deadline's action, which is not what these tests judge."""
    return ScreeningEngine(
        parse_config("network:\n  home_region: KZ\ndeadline:\n  budget_us: 1000000000\n")
    )


def make_api(decide: Decide = rule_decide, **settings: Any) -> ScreeningApi:
    return ScreeningApi(decide, settings=ApiSettings(**settings), wall_clock=lambda: NOW)


@pytest.fixture
def api() -> ScreeningApi:
    return make_api()


@pytest.fixture
def client(api: ScreeningApi) -> Client:
    return Client(api)


@pytest.fixture
def client_for() -> Callable[..., Client]:
    def build(decide: Decide = rule_decide, **settings: Any) -> Client:
        return Client(make_api(decide, **settings))

    return build
