"""Hostile requests get a 4xx page with the console's security headers, never a 500, and a
request body is capped before it is read."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from qalqan.cases.models import AuditEntry
from qalqan.cases.roles import Role
from qalqan.console import create_app
from tests.console.conftest import Browser, Console, csrf_of
from tests.console.test_app import _first_in_queue

HOSTILE_IDS = ("1", "0", "2147483648", "99999999999999999999", "9" * 400)
HOSTILE_VALUES = (
    "abc",
    "NaN",
    "inf",
    "-Infinity",
    "-5",
    "1e400",
    "99999999999999999999",
    "1" * 5000,
    "\x00",
    "<script>alert(1)</script>",
)
FIELDS = (
    "alert_id", "outcome", "prevented", "suffered", "paid_to", "note", "reason", "title",
    "text", "to", "move", "vulnerable", "decision", "response", "username", "role", "what",
    "lang", "next", "password",
)  # fmt: skip


def _paths(app: Any) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if not isinstance(route, Route):
            continue
        for method in sorted(route.methods or {"GET"}):
            if method == "HEAD":
                continue
            found.append((method, route.path))
    return found


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[a-z_]+(:int)?\}", value, path)


@pytest.mark.parametrize("role", [None, Role.SUPERVISOR, Role.ADMIN])
def test_no_route_answers_500_to_hostile_parameters(console: Console, role: Role | None) -> None:
    _walk(console, role)


@pytest.mark.slow
@pytest.mark.parametrize("role", [Role.SUPERVISOR])
def test_no_route_answers_500_to_hostile_parameters_on_postgresql(
    pg_console: Console, role: Role
) -> None:
    """PostgreSQL refuses what SQLite lets by (NUL in text, int4 overflow, over-long strings)."""
    _walk(pg_console, role)


def _walk(console: Console, role: Role | None) -> None:
    if role is None:
        client = console.client()
        user = Browser(client=client, csrf=csrf_of(client.get("/login").text))
    else:
        user = console.signed_in(role)
    user.client = type(user.client)(
        user.client.app, raise_server_exceptions=False, cookies=user.client.cookies
    )  # type: ignore[call-arg]
    failures = []
    for method, path in _paths(user.client.app):
        if path == "/logout":
            continue
        for ident in HOSTILE_IDS:
            url = _fill(path, ident)
            # a real id with every hostile value; a hostile id with one
            for value in HOSTILE_VALUES if ident == "1" else HOSTILE_VALUES[:2]:
                if method == "GET":
                    answer = user.client.get(url, params={"alert_id": value, "error": value})
                else:
                    answer = user.client.post(
                        url, data={"csrf": user.csrf, **dict.fromkeys(FIELDS, value)}
                    )
                if answer.status_code >= 500:
                    failures.append((method, url[:60], value[:20], answer.status_code))
                if "/lang" in path or "/login" in path:
                    break
            if "{" not in path:
                break
    assert failures == []


@pytest.mark.parametrize("amount", ["NaN", "inf", "-Infinity", "-5", "1e400", "9" * 30, "sNaN"])
def test_a_hostile_amount_is_explained_not_crashed(console: Console, amount: str) -> None:
    operator = console.signed_in(Role.OPERATOR)
    operator.client = type(operator.client)(
        operator.client.app, raise_server_exceptions=False, cookies=operator.client.cookies
    )  # type: ignore[call-arg]
    alert_id = _first_in_queue(console)
    operator.post(f"/alerts/{alert_id}/claim")
    for field in ("prevented", "suffered"):
        page = operator.post(f"/alerts/{alert_id}/outcome", outcome="warned", **{field: amount})
        assert page.status_code == 200, (field, amount, page.status_code)
        assert "Сумма должна быть" in page.text


def test_an_outcome_on_another_operators_claim_is_a_conflict(console: Console) -> None:
    alert_id = _first_in_queue(console)
    first = console.signed_in(Role.OPERATOR)
    first.post(f"/alerts/{alert_id}/claim")
    second = console.signed_in(Role.OPERATOR, name="bolat")
    second.client = type(second.client)(
        second.client.app, raise_server_exceptions=False, cookies=second.client.cookies
    )  # type: ignore[call-arg]
    page = second.post(f"/alerts/{alert_id}/outcome", outcome="warned")
    assert page.status_code == 409
    assert "aigerim" in page.text


def test_error_pages_carry_the_security_headers(console: Console) -> None:
    app = create_app(console.url, secret_key="test-secret", store=console.store)

    async def boom(request: object) -> Response:
        raise RuntimeError("a bug")

    app.router.routes.append(Route("/boom", boom))
    client = type(console.client())(app, raise_server_exceptions=False)
    answers = {
        404: client.get("/no-such-page"),
        405: client.get("/logout"),
        403: client.post("/login", data={"username": "x"}),
        500: client.get("/boom"),
    }
    for status, page in answers.items():
        assert page.status_code == status, (status, page.status_code)
        assert "script-src 'self'" in page.headers.get("content-security-policy", ""), status
        assert page.headers.get("x-frame-options") == "DENY", status
        assert page.headers.get("x-content-type-options") == "nosniff", status
        assert "a bug" not in page.text


def _post_raw(
    app: Any, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[int, int]:
    """POST ``chunks`` to ``app`` as a server would; (status, bytes the app pulled)."""
    pulled = 0
    sent: list[Message] = []
    pending = list(chunks)

    async def receive() -> Message:
        nonlocal pulled
        if not pending:
            return {"type": "http.request", "body": b"", "more_body": False}
        chunk = pending.pop(0)
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"console"), *headers],
        "client": ("10.9.9.9", 5000), "server": ("console", 80),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], pulled


def test_a_huge_declared_body_is_refused_before_a_byte_is_read(console: Console) -> None:
    app = create_app(console.url, secret_key="test-secret", store=console.store)
    megabyte = b"x" * 1_048_576
    status, pulled = _post_raw(
        app,
        "/login",
        [megabyte] * 20,
        [
            (b"content-type", b"multipart/form-data; boundary=xyz"),
            (b"content-length", b"524288000"),
        ],
    )
    assert (status, pulled) == (413, 0)


def test_a_streamed_body_is_cut_at_the_cap(console: Console) -> None:
    app = create_app(console.url, secret_key="test-secret", store=console.store)
    chunk = b"username=" + b"a" * 65_536
    status, pulled = _post_raw(
        app,
        "/login",
        [chunk] * 32,
        [(b"content-type", b"application/x-www-form-urlencoded")],
    )
    assert status == 413
    assert pulled <= 3 * len(chunk)


def _audited(console: Console, action: str) -> list[AuditEntry]:
    with console.store.transaction() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_logout_csrf_and_workflow_refusals_are_audited(console: Console) -> None:
    operator = console.signed_in(Role.OPERATOR)
    alert_id = _first_in_queue(console)
    operator.client.post(f"/alerts/{alert_id}/claim", data={"csrf": "forged"})
    refused = _audited(console, "csrf_refused")
    assert len(refused) == 1 and refused[0].actor_name == "aigerim" and not refused[0].allowed
    console.client("10.6.6.6").post("/login", data={"username": "aigerim"})
    anonymous = _audited(console, "csrf_refused")[-1]
    assert anonymous.actor_id is None and "10.6.6.6" in anonymous.details
    operator.post(f"/alerts/{alert_id}/release")  # not claimed: a workflow refusal
    workflow = _audited(console, "release")
    assert workflow and not workflow[-1].allowed and workflow[-1].target == f"alert:{alert_id}"
    operator.post("/logout")
    assert [e.actor_name for e in _audited(console, "logout")] == ["aigerim"]


def test_the_login_page_still_works_after_the_cap(console: Console) -> None:
    client = console.client()
    token = csrf_of(client.get("/login").text)
    page = client.post(
        "/login", data={"csrf": token, "username": "aigerim", "password": "x" * 2000}
    )
    assert page.status_code == 401


def test_a_flood_of_anonymous_forms_without_the_token_cannot_fill_the_audit_log(
    console: Console,
) -> None:
    flood = console.client("10.6.6.6")
    for _ in range(60):
        assert flood.post("/login", data={"username": "aigerim"}).status_code == 403
    assert len(_audited(console, "csrf_refused")) == 20  # then the address is locked
    locks = _audited(console, "login_locked")
    assert [e.target for e in locks] == ["address:10.6.6.6"]
    assert _login_status(flood, "aigerim") == 429
    assert (
        console.signed_in(Role.OPERATOR, address="10.0.0.7").client.get("/queue").status_code == 200
    )


def _login_status(client: Any, name: str) -> int:
    from tests.cases.conftest import PASSWORD

    token = csrf_of(client.get("/login").text)
    status: int = client.post(
        "/login", data={"csrf": token, "username": name, "password": PASSWORD}
    ).status_code
    return status
