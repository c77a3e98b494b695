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


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        ("admin", "Admin"),  # case
        ("Admin", "ADMIN"),
        ("aigerim", "ＡＩＧＥＲＩＭ"),  # fullwidth: NFKC and casefold make it "aigerim"
        ("strasse", "STRASSE"),
        ("straße", "strasse"),  # casefold: ß is ss
        ("ace", "асе"),  # all Cyrillic а, с, е
        ("acep", "АСЕР"),  # upper-case Cyrillic, compared case-insensitively
        ("box", "вох"),  # Cyrillic в (upper case В reads as B), о, х
        ("hope", "НОРЕ"),  # Cyrillic capitals Н, О, Р, Е
        ("ezio", "εζιο"),  # Greek ε, ζ, ι, ο
        ("yxk", "ΥΧΚ"),  # Greek capitals
        ("sijd", "ѕіјԁ"),  # Cyrillic ѕ, і, ј, ԁ
        ("qw", "ԛԝ"),
        ("асе", "ace"),  # the other way round
    ],
)
def test_a_name_that_reads_as_an_existing_one_is_refused(
    sqlite_store: CaseStore, existing: str, new: str
) -> None:
    with sqlite_store.transaction() as session:
        users.add_user(session, SYSTEM, name=existing, role=Role.OPERATOR, password=PASSWORD)
    with pytest.raises(WorkflowError) as refused, sqlite_store.transaction() as session:
        users.add_user(session, SYSTEM, name=new, role=Role.OPERATOR, password=PASSWORD)
    assert refused.value.code in ("user_exists", "user_name_lookalike")
    assert refused.value.values["existing"] == existing


@pytest.mark.parametrize(
    ("existing", "new"), [("ace", "acer"), ("Ольга", "Олег"), ("anna", "анна"), ("admin", "admin2")]
)
def test_names_that_only_look_alike_in_part_are_accepted(
    sqlite_store: CaseStore, existing: str, new: str
) -> None:
    with sqlite_store.transaction() as session:
        users.add_user(session, SYSTEM, name=existing, role=Role.OPERATOR, password=PASSWORD)
        users.add_user(session, SYSTEM, name=new, role=Role.OPERATOR, password=PASSWORD)


@pytest.mark.parametrize("typed", ["aigerim", "Aigerim", "AIGERIM", "ＡＩＧＥＲＩＭ"])
def test_sign_in_finds_the_account_whatever_the_case_typed(
    sqlite_store: CaseStore, sqlite_people: People, typed: str
) -> None:
    with sqlite_store.transaction() as session:
        actor = users.login(session, typed, PASSWORD)
    assert actor.name == "aigerim" and actor.user_id == sqlite_people.operator.user_id


def test_sign_in_does_not_take_a_look_alike_for_the_account(
    sqlite_store: CaseStore, sqlite_people: People
) -> None:
    from qalqan.cases.errors import LoginError

    with pytest.raises(LoginError), sqlite_store.transaction() as session:
        users.login(session, "аigerim", PASSWORD)  # a Cyrillic а


def test_a_store_holding_two_names_that_differ_by_case_still_signs_each_in_exactly(
    sqlite_store: CaseStore,
) -> None:
    """Accounts made before names were compared case-insensitively keep working by their exact
    name; the folded name alone does not choose between them."""
    from sqlalchemy import update

    from qalqan.cases.errors import LoginError
    from qalqan.cases.models import User

    with sqlite_store.transaction() as session:
        users.add_user(session, SYSTEM, name="admin", role=Role.ADMIN, password=PASSWORD)
        users.add_user(session, SYSTEM, name="other", role=Role.OPERATOR, password=PASSWORD)
        session.execute(update(User).where(User.name == "other").values(name="Admin"))
    for name, role in (("admin", Role.ADMIN), ("Admin", Role.OPERATOR)):
        with sqlite_store.transaction() as session:
            assert users.login(session, name, PASSWORD).role == role
    with pytest.raises(LoginError), sqlite_store.transaction() as session:
        users.login(session, "ADMIN", PASSWORD)


NAME_CHARS = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")


@given(name=st.text(NAME_CHARS, min_size=1, max_size=20))
def test_a_names_fold_and_skeleton_are_its_own_for_case_changes(name: str) -> None:
    assert users.name_key(name.upper()) == users.name_key(name.lower()) == users.name_key(name)
    assert users.skeleton(name.swapcase()) == users.skeleton(name)
    assert users.skeleton(users.skeleton(name)) == users.skeleton(name)


def test_an_account_acts_by_its_exact_name_with_its_role_as_it_is_now(
    sqlite_store: CaseStore, sqlite_people: People
) -> None:
    with sqlite_store.transaction() as session:
        users.set_role(session, sqlite_people.admin, "daniyar", Role.SUPERVISOR)
    with sqlite_store.transaction() as session:
        daniyar = users.actor_named(session, "daniyar")
        assert users.actor_named(session, "Daniyar") is None  # exactly, not by the fold
        assert users.actor_named(session, "nobody") is None
    assert daniyar is not None
    assert (daniyar.name, daniyar.role) == ("daniyar", Role.SUPERVISOR)
    assert daniyar.user_id == sqlite_people.analyst.user_id
