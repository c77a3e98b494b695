"""Console sessions live in the store: logout, a password reset, a role change and disabling end
them at once, and neither clicks nor the language switch stretch a session past its shift.

And sign-in is throttled: wrong passwords lock a name (from one address, then from any) and an
address for a while, before any hashing is done.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from qalqan.cases import users
from qalqan.cases.models import AuditEntry, User
from qalqan.cases.roles import Role
from qalqan.console import create_app
from qalqan.console.settings import ConsoleSettings
from qalqan.console.throttle import HashingQueue
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


def test_a_name_typed_in_another_case_or_width_counts_against_the_same_account(
    console: Console,
) -> None:
    """Sign-in finds ``aigerim`` however the name is typed, so its failures are counted as one."""
    client = console.client("10.0.0.66")
    typed = ["aigerim", "ａｉｇｅｒｉｍ", "AIGERIM", "Ａｉｇｅｒｉｍ", "aigerim"]
    assert [_login(client, name, "a wrong guess").status_code for name in typed] == [401] * 5
    assert _login(client, "ａｉｇｅｒｉｍ", PASSWORD).status_code == 429


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


def _sign_in_together(
    console: Console,
    names: list[str],
    password: str,
    settings: ConsoleSettings | None = None,
    hasher: PasswordHasher | None = None,
) -> list[tuple[int, float]]:
    """Every account's hash made by ``hasher``, then one sign-in per name, all at once, each from
    its own address: each one's status and how long it took, in seconds."""
    hasher = hasher or PasswordHasher(time_cost=4, memory_cost=32 * 1024, parallelism=1)
    with console.store.transaction() as session:
        for user in session.scalars(select(User)):
            user.password_hash = hasher.hash(PASSWORD)
    app = create_app(console.url, secret_key="test-secret", store=console.store, settings=settings)

    async def burst() -> list[tuple[int, float]]:
        async def one(i: int, name: str) -> tuple[int, float]:
            transport = httpx.ASGITransport(app=app, client=(f"10.1.0.{i}", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://console") as c:
                token = csrf_of((await c.get("/login")).text)
                started = time.perf_counter()
                answer = await c.post(
                    "/login", data={"csrf": token, "username": name, "password": password}
                )
                return answer.status_code, time.perf_counter() - started

        return list(await asyncio.gather(*(one(i, name) for i, name in enumerate(names))))

    return asyncio.run(burst())


def test_hashing_work_is_bounded(console: Console) -> None:
    """A burst of sign-ins runs at most ``login_concurrent_hashes`` Argon2 checks at once, and
    at most ``login_queue`` more wait for one; the rest are answered at once with 503 and a
    page that says to try again."""
    settings = ConsoleSettings(login_queue=2)
    answers = [status for status, _ in _sign_in_together(
        console, ["aigerim"] * 8, "wrong one", settings
    )]  # fmt: skip
    assert answers.count(503) >= 4, answers
    assert set(answers) <= {401, 503}, answers


def test_operators_signing_in_together_at_shift_start_all_get_in(console: Console) -> None:
    """Ten sign-ins at the same instant with the default single password check at a time: each
    waits its turn (a few hashes' time) instead of being sent away."""
    names = ["aigerim", "bolat", "saule", "prokuror", "daniyar", "admin"] * 2
    light = PasswordHasher(time_cost=2, memory_cost=16 * 1024, parallelism=1)
    answers = _sign_in_together(console, names[:10], PASSWORD, hasher=light)
    assert [status for status, _ in answers] == [303] * 10, answers


def test_a_sign_in_waits_for_a_password_check_at_most_its_time_and_past_the_queue_not_at_all(
    console: Console,
) -> None:
    """With checks of ~0.1 s, one at a time, and a wait of 0.15 s: the first is checked, one or
    two wait their turn, the rest are refused when their time is up; past a queue of 3 a sign-in
    is refused at once."""
    settings = ConsoleSettings(login_queue=3, login_queue_seconds=0.15)
    answers = _sign_in_together(console, ["aigerim"] * 8, "wrong one", settings)
    refused = sorted(took for status, took in answers if status == 503)
    assert len(refused) >= 4, answers
    assert refused[0] < 0.1, answers  # past the queue: without waiting for any check
    assert refused[-1] < 1.0, answers  # in the queue: no longer than its time, and a little


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


def test_the_hashing_queue_hands_a_freed_slot_to_the_longest_waiting_and_never_over_its_bounds() -> (
    None
):
    async def scenario() -> None:
        slots = HashingQueue(slots=1, queue=2, wait=0.2)
        assert await slots.acquire()  # a free slot
        first = asyncio.create_task(slots.acquire())
        second = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)
        assert slots.waiting == 2 and slots.busy == 1
        started = time.perf_counter()
        assert not await slots.acquire()  # past the queue: refused at once
        assert time.perf_counter() - started < 0.05
        slots.release()  # to the first that waits
        assert await first and slots.busy == 1 and slots.waiting == 1
        assert not await second  # its time ran out, the slot still held
        assert time.perf_counter() - started >= 0.2 and slots.waiting == 0
        gone = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)
        gone.cancel()  # the browser went away while waiting
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert slots.waiting == 0
        slots.release()
        assert slots.busy == 0 and await slots.acquire()  # free again, at once

    asyncio.run(scenario())
