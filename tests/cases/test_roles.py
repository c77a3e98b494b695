"""Every role against every action: allowed exactly when the permission table says so.

Each action is exercised through the real service function, on a fresh
subject (a call nobody claimed, a case still open), so an allowed role's
call succeeds and a refused one raises PermissionDenied — and the refusal
lands in the audit log.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from qalqan.cases import audit, intercepts, investigations, users
from qalqan.cases.errors import PermissionDenied
from qalqan.cases.ingest import ingest_decisions, ingest_findings
from qalqan.cases.models import Alert, AuditEntry, Escalation
from qalqan.cases.roles import PERMISSIONS, SYSTEM, Actor, Permission, Role, authorize, may
from qalqan.cases.store import CaseStore, upgrade
from qalqan.evidence.export import authorize_export
from tests.cases.conftest import PASSWORD, FrozenClock, People, make_people
from tests.cases.feeds import T0, Feed, write_feed


@dataclass
class World:
    store: CaseStore
    people: People
    feed: Feed
    calls: Iterator[int]
    """Intercepted calls nobody touched yet, one per use."""
    finding: int
    clock: FrozenClock
    counter: Iterator[int] = field(default_factory=itertools.count)

    def fresh_call(self) -> int:
        return next(self.calls)

    def hand_claim(self, alert_id: int, holder: Actor) -> None:
        """Give a claim directly in the database, whatever the holder's role may do."""
        now = self.clock()
        with self.store.transaction() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id)
                .values(
                    status="claimed",
                    claimed_by=holder.user_id,
                    claimed_at=now,
                    claim_expires_at=now + timedelta(minutes=15),
                )
            )

    def fresh_case(self) -> int:
        with self.store.transaction() as session:
            return investigations.open_case(session, self.people.analyst, "case").id

    def fresh_escalation(self) -> int:
        with self.store.transaction() as session:
            return investigations.escalate(
                session, self.people.operator, alert_id=self.fresh_call(), reason="lost money"
            ).id


def _build(url: str, folder: Path) -> World:
    clock = FrozenClock(T0 + timedelta(minutes=30))
    upgrade(url)
    store = CaseStore.open(url, clock=clock)
    people = make_people(store)
    feed = write_feed(folder, calls=200)
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
        ingest_findings(session, feed.findings, feed.data)
        calls = session.scalars(
            select(Alert.id).where(Alert.kind == "intercepted_call").order_by(Alert.id)
        ).all()
        finding = session.scalars(select(Alert.id).where(Alert.kind == "sim_farm")).one()
    return World(
        store=store, people=people, feed=feed, calls=iter(calls), finding=finding, clock=clock
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("roles")
    if request.param == "sqlite":
        built = _build(str(folder / "cases.db"), folder / "feed")
        yield built
        built.store.close()
        return
    from sqlalchemy import create_engine

    from tests.cases.conftest import _with_search_path

    database: str = request.getfixturevalue("postgres_database")
    schema = f"roles_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    built = _build(_with_search_path(database, schema), folder / "feed")
    yield built
    built.store.close()
    with admin.connect() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


Exercise = Callable[[World, Actor], object]


def _in(world: World, work: Callable[..., object], *args: object, **kwargs: object) -> object:
    with world.store.transaction() as session:
        return work(session, *args, **kwargs)


def _release_own(w: World, a: Actor) -> object:
    alert = w.fresh_call()
    w.hand_claim(alert, a)
    return _in(w, intercepts.release, a, alert)


def _reassign(w: World, a: Actor) -> object:
    alert = w.fresh_call()
    w.hand_claim(alert, w.people.operator2)
    return _in(w, intercepts.release, a, alert)


def _outcome(w: World, a: Actor) -> object:
    alert = w.fresh_call()
    w.hand_claim(alert, a)
    return _in(w, intercepts.record_outcome, a, alert, "warned")


EXERCISES: dict[Permission, Exercise] = {
    Permission.VIEW_QUEUE: lambda w, a: _in(w, intercepts.queue, a),
    Permission.VIEW_ALERT: lambda w, a: _in(w, intercepts.alert_view, a, w.fresh_call()),
    Permission.VIEW_FINDINGS: lambda w, a: _in(w, investigations.findings, a),
    Permission.CLAIM_ALERT: lambda w, a: _in(w, intercepts.claim, a, w.fresh_call()),
    Permission.RELEASE_ALERT: _release_own,
    Permission.REASSIGN_ALERT: _reassign,
    Permission.READ_SCRIPT: lambda w, a: _in(
        w, intercepts.callback_script, a, w.fresh_call(), "ru"
    ),
    Permission.RECORD_OUTCOME: _outcome,
    Permission.MARK_VULNERABLE: lambda w, a: _in(w, intercepts.mark_vulnerable, a, w.fresh_call()),
    Permission.ESCALATE: lambda w, a: _in(
        w, investigations.escalate, a, alert_id=w.fresh_call(), reason="victim paid"
    ),
    Permission.VIEW_ESCALATIONS: lambda w, a: _in(w, investigations.escalations, a),
    Permission.ANSWER_ESCALATION: lambda w, a: _in(
        w, investigations.answer_escalation, a, w.fresh_escalation(), accept=True, response="taken"
    ),
    Permission.VIEW_SLA: lambda w, a: _in(w, intercepts.sla_report, a),
    Permission.OPEN_CASE: lambda w, a: _in(w, investigations.open_case, a, "new case"),
    Permission.LINK_TO_CASE: lambda w, a: _in(
        w, investigations.add_to_case, a, w.fresh_case(), [w.fresh_call(), w.finding]
    ),
    Permission.SUGGEST_LINKS: lambda w, a: _in(
        w, investigations.suggest_links, a, alert_id=w.fresh_call()
    ),
    Permission.VIEW_CASE: lambda w, a: _in(w, investigations.case_view, a, w.fresh_case()),
    Permission.ADD_CASE_NOTE: lambda w, a: _in(
        w, investigations.add_note, a, w.fresh_case(), "seen"
    ),
    Permission.CLOSE_CASE: lambda w, a: _in(
        w, investigations.close_case, a, w.fresh_case(), "victims_warned"
    ),
    Permission.INGEST: lambda w, a: _in(w, ingest_decisions, w.feed.decisions, actor=a),
    Permission.MANAGE_USERS: lambda w, a: _in(
        w, users.add_user, a, name=f"user{next(w.counter)}", role=Role.OPERATOR, password=PASSWORD
    ),
    Permission.VERIFY_AUDIT: lambda w, a: _in(w, audit.check_audit, a),
    Permission.EXPORT_EVIDENCE: lambda w, a: _in(w, authorize_export, a, w.fresh_case()),
}


def test_every_permission_is_exercised() -> None:
    assert set(EXERCISES) == set(Permission)


@pytest.mark.parametrize("permission", list(Permission), ids=str)
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_role_matrix(world: World, role: Role, permission: Permission) -> None:
    actor = world.people.by_role()[role]
    exercise = EXERCISES[permission]
    if may(role, permission):
        exercise(world, actor)
        return
    with pytest.raises(PermissionDenied) as refused:
        exercise(world, actor)
    assert refused.value.role == role.value
    with world.store.transaction() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
    assert (last.actor_name, last.allowed) == (actor.name, False)


def test_the_table_gives_each_role_what_its_work_needs() -> None:
    assert PERMISSIONS[Role.ADMIN] == {
        Permission.INGEST,
        Permission.MANAGE_USERS,
        Permission.VERIFY_AUDIT,
    }
    assert Permission.VIEW_ALERT not in PERMISSIONS[Role.ADMIN]  # no personal data for admins
    assert PERMISSIONS[Role.OPERATOR] < PERMISSIONS[Role.SUPERVISOR]
    assert Permission.ANSWER_ESCALATION in PERMISSIONS[Role.PROSECUTOR]
    # a package holds every personal detail of a case: those who take it to court, and the shift's lead
    assert {r for r in Role if Permission.EXPORT_EVIDENCE in PERMISSIONS[r]} == {
        Role.PROSECUTOR,
        Role.SUPERVISOR,
    }
    assert {r.value for r in Role} == {"operator", "supervisor", "prosecutor", "analyst", "admin"}


def test_a_disabled_account_or_changed_role_counts_at_once(
    sqlite_store: CaseStore, sqlite_people: People
) -> None:
    store, people = sqlite_store, sqlite_people
    with store.transaction() as session:
        users.set_role(session, SYSTEM, "bolat", Role.SUPERVISOR)
    with (
        store.transaction() as session
    ):  # the old Actor still says operator; the store knows better
        assert authorize(session, people.operator2, Permission.VIEW_SLA).role is Role.SUPERVISOR
        users.set_user_active(session, SYSTEM, "aigerim", False)
    with pytest.raises(PermissionDenied, match="disabled"), store.transaction() as session:
        intercepts.queue(session, people.operator)
    forged = Actor(name="system", role=Role.ADMIN, user_id=None)
    assert forged == SYSTEM  # the command line's actor is the only one without an account
    with pytest.raises(PermissionDenied), store.transaction() as session:
        intercepts.queue(session, Actor(name="nobody", role=Role.SUPERVISOR))


def test_login_checks_the_password_and_records_every_attempt(
    sqlite_store: CaseStore, sqlite_people: People
) -> None:
    from qalqan.cases.errors import LoginError

    store = sqlite_store
    with store.transaction() as session:
        me = users.login(session, "aigerim", PASSWORD)
    assert me == sqlite_people.operator
    for name, password in (("aigerim", "wrong password!"), ("nobody", PASSWORD)):
        with (
            pytest.raises(LoginError, match="wrong user name or password"),
            store.transaction() as s,
        ):
            users.login(s, name, password)
    with store.transaction() as session:
        users.set_user_active(session, SYSTEM, "aigerim", False)
    with pytest.raises(LoginError), store.transaction() as session:
        users.login(session, "aigerim", PASSWORD)
    with store.transaction() as session:
        logins = session.execute(
            select(AuditEntry.actor_name, AuditEntry.allowed).where(AuditEntry.action == "login")
        ).all()
    assert [tuple(r) for r in logins] == [
        ("aigerim", True),
        ("aigerim", False),
        ("nobody", False),
        ("aigerim", False),
    ]
    with store.transaction() as session:
        stored = session.scalar(text("SELECT password_hash FROM users WHERE name = 'bolat'"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_escalation_answered_by_a_prosecutor(
    sqlite_store: CaseStore, sqlite_people: People, tmp_path: Path
) -> None:
    store, people = sqlite_store, sqlite_people
    feed = write_feed(tmp_path / "f", calls=2)
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
        alert = session.scalars(select(Alert.id).limit(1)).one()
        raised = investigations.escalate(
            session, people.operator, alert_id=alert, reason="paid 1m KZT"
        )
    with store.transaction() as session:
        seen = investigations.escalations(session, people.prosecutor)
        assert [e.id for e in seen] == [raised.id]
        answered = investigations.answer_escalation(
            session, people.prosecutor, raised.id, accept=False, response="need the bank statement"
        )
    assert (answered.status, answered.responded_by) == ("returned", "prokuror")
    with store.transaction() as session:
        assert investigations.escalations(session, people.prosecutor) == []
        assert session.get(Escalation, raised.id).response == "need the bank statement"  # type: ignore[union-attr]
