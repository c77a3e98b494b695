"""Console sessions live in the store: logout, a password reset, a role change and disabling end
them at once, and neither clicks nor the language switch stretch a session past its shift.

And sign-in is throttled: wrong passwords lock a name (from one address, then from any) and an
address for a while, before any hashing is done.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from qalqan.cases import users
from qalqan.cases.models import AuditEntry, User
from qalqan.cases.roles import Role
from qalqan.console import create_app
from tests.cases.conftest import PASSWORD
from tests.console.conftest import Console, ShiftClock, csrf_of


def _login(client: object, name: str, password: str) -> httpx.Response:
    token = csrf_of(client.get("/login").text)  # type: ignore[attr-defined]
    answer: httpx.Response = client.post(  # type: ignore[attr-defined]
        "/login", data={"csrf": token, "username": name, "password": password}
    )
    return answer


def _saved_cookie_works(console: Console, cookie: str) -> bool:
    thief = console.client()
    thief.cookies.set("qalqan_console", cookie)
    return thief.get("/queue", follow_redirects=False).status_code == 200


def test_a_cookie_saved_before_logout_signs_nobody_in(console: Console) -> None:
    operator = console.signed_in(Role.OPERATOR)
    saved = operator.client.cookies["qalqan_console"]
    assert _saved_cookie_works(console, saved)
    operator.post("/logout")
    assert not _saved_cookie_works(console, saved)


@pytest.mark.parametrize(
    "change",
    [
        {"what": "password"},
        {"what": "role", "role": "analyst"},
        {"what": "disable"},
    ],
)
def test_an_admins_change_ends_the_accounts_sessions(
    console: Console, change: dict[str, str]
) -> None:
    operator = console.signed_in(Role.OPERATOR)
    saved = operator.client.cookies["qalqan_console"]
    admin = console.signed_in(Role.ADMIN)
    assert admin.post("/users/change", username="aigerim", **change).status_code == 200
    if change["what"] == "disable":
        admin.post("/users/change", username="aigerim", what="enable")
    assert not _saved_cookie_works(console, saved)
    assert operator.client.get("/queue").url.path == "/login"


def test_the_language_switch_does_not_stretch_a_session(
    console: Console, clock: ShiftClock
) -> None:
    operator = console.signed_in(Role.OPERATOR)
    for _ in range(13):  # a click and a language switch every hour, for 13 hours
        clock.ahead += timedelta(hours=1)
        if operator.client.get("/queue", follow_redirects=False).status_code != 200:
            break
        operator.post("/lang", lang="en", next="/queue")
    assert clock.ahead <= timedelta(hours=13)
    assert operator.client.get("/queue").url.path == "/login"  # the 12-hour shift is over


def test_an_idle_session_ends(console: Console, clock: ShiftClock) -> None:
    operator = console.signed_in(Role.OPERATOR)
    clock.ahead += timedelta(minutes=59)
    assert operator.client.get("/queue", follow_redirects=False).status_code == 200
    clock.ahead += timedelta(minutes=61)
    assert operator.client.get("/queue").url.path == "/login"


def test_a_hundred_wrong_passwords_then_the_right_one_is_refused(
    console: Console, clock: ShiftClock
) -> None:
    client = console.client("10.0.0.66")
    answers = [_login(client, "aigerim", f"guess number {i}").status_code for i in range(100)]
    assert answers[:5] == [401] * 5
    assert set(answers[5:]) == {429}
    right = _login(client, "aigerim", PASSWORD)
    assert right.status_code == 429
    assert "Too many" in right.text or "Слишком много" in right.text
    assert client.get("/queue").url.path == "/login"
    clock.ahead += timedelta(minutes=16)  # the lock is temporary
    assert _login(client, "aigerim", PASSWORD).url.path == "/queue"


def test_an_attacker_elsewhere_does_not_lock_the_operator_out(console: Console) -> None:
    attacker = console.client("10.0.0.66")
    for i in range(30):
        _login(attacker, "aigerim", f"guess number {i}")
    assert (
        console.signed_in(Role.OPERATOR, address="10.0.0.7").client.get("/queue").status_code == 200
    )


def test_a_good_login_resets_the_accounts_count(console: Console) -> None:
    client = console.client("10.0.0.7")
    for _ in range(3):
        for i in range(4):
            assert _login(client, "aigerim", f"typo {i}").status_code == 401
        assert _login(client, "aigerim", PASSWORD).url.path == "/queue"
        client.post("/logout", data={"csrf": csrf_of(client.get("/queue").text)})


def test_unknown_names_count_against_the_address(console: Console) -> None:
    client = console.client("10.0.0.66")
    for i in range(20):
        assert _login(client, f"nobody{i}", "whatever it is").status_code == 401
    assert _login(client, "aigerim", PASSWORD).status_code == 429  # this address is locked
    assert (
        console.signed_in(Role.OPERATOR, address="10.0.0.7").client.get("/queue").status_code == 200
    )


def test_a_lock_is_in_the_audit_log(console: Console) -> None:
    client = console.client("10.0.0.66")
    for i in range(6):
        _login(client, "aigerim", f"guess {i}")
    with console.store.transaction() as session:
        locks = session.scalars(select(AuditEntry).where(AuditEntry.action == "login_locked")).all()
    assert [e.target for e in locks] == ["user:aigerim"]
    assert "10.0.0.66" in locks[0].details


def test_an_unknown_name_costs_the_same_hash_as_a_known_one(console: Console) -> None:
    """The stand-in hash checked for an unknown name has the cost of the hasher real hashes use."""
    from argon2 import extract_parameters

    with console.store.transaction() as session:
        real = session.scalars(select(User.password_hash)).first()
    assert real is not None
    assert extract_parameters(users.dummy_hash()) == extract_parameters(real)


def test_hashing_work_is_bounded(console: Console) -> None:
    """A burst of sign-ins runs at most ``login_concurrent_hashes`` Argon2 checks at once;
    the rest are answered at once with 503 and a page that says to try again."""
    slow = PasswordHasher(time_cost=4, memory_cost=32 * 1024, parallelism=1)  # ~0.1 s each
    with console.store.transaction() as session:
        for user in session.scalars(select(User)):
            user.password_hash = slow.hash(PASSWORD)
    app = create_app(console.url, secret_key="test-secret", store=console.store)

    async def burst() -> list[int]:
        async def one(i: int) -> int:
            transport = httpx.ASGITransport(app=app, client=(f"10.1.0.{i}", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://console") as c:
                token = csrf_of((await c.get("/login")).text)
                answer = await c.post(
                    "/login", data={"csrf": token, "username": "aigerim", "password": "wrong one"}
                )
                return answer.status_code

        return list(await asyncio.gather(*(one(i) for i in range(8))))

    answers = asyncio.run(burst())
    assert answers.count(503) >= 4, answers
    assert set(answers) <= {401, 503}, answers


def test_an_admin_sees_who_is_signed_in_and_signs_them_out_everywhere(console: Console) -> None:
    operator = console.signed_in(Role.OPERATOR)
    console.signed_in(Role.OPERATOR)  # a second browser
    admin = console.signed_in(Role.ADMIN)
    page = admin.client.get("/users")
    row = re.search(r"<strong>aigerim</strong>.*?</tr>", page.text, re.DOTALL)
    assert row and re.search(r'<td class="sessions">2 ', row.group(0))
    assert admin.post("/users/change", username="aigerim", what="sign_out").status_code == 200
    assert operator.client.get("/queue").url.path == "/login"
    row = re.search(r"<strong>aigerim</strong>.*?</tr>", admin.client.get("/users").text, re.DOTALL)
    assert row and '<td class="sessions">0</td>' in row.group(0)
    with console.store.transaction() as session:
        ended = session.scalars(select(AuditEntry).where(AuditEntry.action == "end_sessions")).one()
    assert ended.target == "user:aigerim" and '"ended":2' in ended.details
