"""Account names cannot pass for another in the audit log; sessions end when an admin acts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qalqan.cases import users
from qalqan.cases.errors import SessionEndedError, WorkflowError
from qalqan.cases.roles import SYSTEM, Role
from qalqan.cases.sessions import resume_session, start_session
from qalqan.cases.store import CaseStore
from tests.cases.conftest import PASSWORD, FrozenClock, People


@pytest.mark.parametrize(
    "name",
    [
        "system",
        "System",
        "ＳＹＳＴＥＭ",  # fullwidth: NFKC makes it "system"
        "anonymous",
        "\u0430dmin",  # Cyrillic а, then Latin: reads as "admin"
        "aigеrim",  # Cyrillic е inside a Latin name
        "Айгерiм",  # Ukrainian/Kazakh і is Cyrillic, but this i is Latin
        "admin\u200b",  # zero-width space
        "ad\u0301min",  # a combining accent
        "bad\x00name",
        "tab\tname",
        "",
        "x" * 65,
    ],
)
def test_names_that_could_pass_for_another_are_refused(sqlite_store: CaseStore, name: str) -> None:
    with pytest.raises(WorkflowError), sqlite_store.transaction() as session:
        users.add_user(session, SYSTEM, name=name, role=Role.OPERATOR, password=PASSWORD)


@pytest.mark.parametrize(
    "name", ["aigerim", "Aigerim.K", "Айгерім", "Қанат", "saule_2", "Ольга Петрова", "admin2"]
)
def test_names_in_one_alphabet_are_accepted(sqlite_store: CaseStore, name: str) -> None:
    with sqlite_store.transaction() as session:
        view = users.add_user(session, SYSTEM, name=name, role=Role.OPERATOR, password=PASSWORD)
    assert view.name == name


LATIN = st.sampled_from("abcdefghijklmnopqrstuvwxyz")
CYRILLIC = st.sampled_from("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі")


@given(latin=st.text(LATIN, min_size=1, max_size=20), cyrillic=st.text(CYRILLIC, min_size=1, max_size=20), cut=st.integers(0, 40))  # fmt: skip
def test_any_mix_of_latin_and_cyrillic_letters_is_refused(
    latin: str, cyrillic: str, cut: int
) -> None:
    at = cut % (len(latin) + 1)
    with pytest.raises(WorkflowError, match="mixes scripts"):
        users.check_name(latin[:at] + cyrillic + latin[at:])
    assert users.check_name(latin) == latin
    assert users.check_name(cyrillic) == cyrillic


@pytest.mark.parametrize("change", ["password", "role", "disable"])
def test_an_admins_change_ends_the_accounts_sessions(
    store: CaseStore, people: People, clock: FrozenClock, change: str
) -> None:
    operator = people.operator
    with store.transaction() as session:
        token = start_session(session, operator, client="10.0.0.7", lifetime=timedelta(hours=12))
    with store.transaction() as session:
        if change == "password":
            users.set_password(session, people.admin, "aigerim", "another long password")
        elif change == "role":
            users.set_role(session, people.admin, "aigerim", Role.ANALYST)
        else:
            users.set_user_active(session, people.admin, "aigerim", False)
            users.set_user_active(session, people.admin, "aigerim", True)
    with pytest.raises(SessionEndedError) as ended, store.transaction() as session:
        resume_session(session, token, idle=timedelta(hours=1))
    assert ended.value.reason == {"disable": "disabled"}.get(change, change)


def test_a_session_ends_at_its_absolute_end_and_when_idle_and_the_end_is_kept(
    store: CaseStore, people: People, clock: FrozenClock
) -> None:
    from sqlalchemy import select

    from qalqan.cases.models import ConsoleSession

    with store.transaction() as session:
        short = start_session(
            session, people.operator, client="10.0.0.7", lifetime=timedelta(hours=1)
        )
        idle = start_session(
            session, people.operator, client="10.0.0.7", lifetime=timedelta(hours=12)
        )
    for _ in range(4):  # clicks every 12 minutes keep it alive, but not past its end
        clock.advance(minutes=12)
        with store.transaction() as session:
            resume_session(session, short, idle=timedelta(minutes=30))
    clock.advance(minutes=12)
    with pytest.raises(SessionEndedError) as ended, store.transaction() as session:
        resume_session(session, short, idle=timedelta(minutes=30))
    assert ended.value.reason == "expired"
    with pytest.raises(SessionEndedError) as ended, store.transaction() as session:
        resume_session(session, idle, idle=timedelta(minutes=30))
    assert ended.value.reason == "idle"
    with store.transaction() as session:
        reasons = sorted(session.scalars(select(ConsoleSession.end_reason)))
    assert reasons == ["expired", "idle"]
