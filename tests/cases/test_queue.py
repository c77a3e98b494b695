"""The queue's order, claims and their races, service levels, outcomes."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from qalqan.cases.errors import AlreadyClaimedError, NotFoundError, PermissionDenied, WorkflowError
from qalqan.cases.ingest import ingest_decisions, ingest_findings
from qalqan.cases.intercepts import (
    alert_view,
    claim,
    claims,
    mark_vulnerable,
    my_claims,
    queue,
    reassign,
    record_outcome,
    release,
    sla_report,
    workers,
)
from qalqan.cases.models import Alert, PotentialVictim
from qalqan.cases.store import CaseStore
from qalqan.cases.views import Money, Worker
from tests.cases.conftest import FrozenClock, People
from tests.cases.feeds import T0, Feed, write_feed


@pytest.fixture
def feed(tmp_path: Path) -> Feed:
    return write_feed(tmp_path / "feed", calls=12)


def _ids(store: CaseStore) -> dict[str, int]:
    with store.transaction() as session:
        return {ref: i for ref, i in session.execute(select(Alert.source_ref, Alert.id))}


def _load(store: CaseStore, feed: Feed) -> dict[str, int]:
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
    return _ids(store)


def test_queue_puts_vulnerable_then_in_progress_then_repeat_targets_first(
    store: CaseStore, people: People, tmp_path: Path, clock: FrozenClock
) -> None:
    # 20 calls to 10 victims: every victim called twice (repeat targets); even victims born 1948
    feed = write_feed(tmp_path / "q", calls=20)
    clock.now = T0 + timedelta(minutes=25)
    ids = _load(store, feed)
    with store.transaction() as session:  # two victims called once only: not repeat targets
        session.execute(update(PotentialVictim).values(times_targeted=2))
        session.execute(
            update(PotentialVictim)
            .where(PotentialVictim.msisdn.in_(["+77020000003", "+77020000004"]))
            .values(times_targeted=1)
        )
    with store.transaction() as session:
        items = queue(session, people.operator, limit=100)
    assert len(items) == 20
    # calls in the last 10 minutes (placed from T0+15 on) are "in progress"
    for item in items:
        assert item.in_progress == (item.occurred_at >= clock.now - timedelta(minutes=10))
    tiers = [(i.vulnerable, i.in_progress, i.repeat_target) for i in items]
    assert tiers == sorted(tiers, reverse=True), tiers
    assert items[0].why_first[0] == "vulnerable callee"
    assert items[-1].why_first == () or not items[-1].vulnerable
    plain = [i for i in items if not i.vulnerable and not i.in_progress and not i.repeat_target]
    assert plain and all(i.callee in ("+77020000003",) for i in plain)
    # within one tier: more severe first, then the longest waiting
    first_tier = [i for i in items if (i.vulnerable, i.in_progress, i.repeat_target) == tiers[0]]
    keys = [
        (-{"critical": 4, "high": 3}[i.severity], i.received_at, i.alert_id) for i in first_tier
    ]
    assert keys == sorted(keys)
    assert ids  # alerts exist under their record ids


def test_claimed_calls_leave_the_queue_and_come_back_when_the_claim_lapses(
    store: CaseStore, people: People, feed: Feed, clock: FrozenClock
) -> None:
    _load(store, feed)
    with store.transaction() as session:
        top = queue(session, people.operator, limit=1)[0]
        claim(session, people.operator, top.alert_id)
    with store.transaction() as session:
        assert top.alert_id not in [i.alert_id for i in queue(session, people.operator2)]
        assert [i.alert_id for i in my_claims(session, people.operator)] == [top.alert_id]
    with pytest.raises(AlreadyClaimedError, match="aigerim"), store.transaction() as session:
        claim(session, people.operator2, top.alert_id)
    clock.advance(minutes=16)  # past the 15-minute claim
    with store.transaction() as session:
        assert top.alert_id in [i.alert_id for i in queue(session, people.operator2, limit=100)]
        claim(session, people.operator2, top.alert_id)
    with pytest.raises(AlreadyClaimedError, match="bolat"), store.transaction() as session:
        record_outcome(session, people.operator, top.alert_id, "warned")


def test_claim_renewal_release_and_reassignment(
    store: CaseStore, people: People, feed: Feed, clock: FrozenClock
) -> None:
    ids = _load(store, feed)
    alert = ids["r0"]
    with store.transaction() as session:
        first = claim(session, people.operator, alert)
    clock.advance(minutes=10)
    with store.transaction() as session:
        claim(session, people.operator, alert)  # renewed, not refused
        view = alert_view(session, people.operator, alert)
    assert view.claim_expires_at == clock.now + timedelta(minutes=15)
    assert first.sla.claim_overdue is False
    with pytest.raises(PermissionDenied), store.transaction() as session:
        release(session, people.operator2, alert)  # not theirs, and operators cannot reassign
    with store.transaction() as session:
        release(session, people.supervisor, alert, note="aigerim went home")
    with store.transaction() as session:
        claim(session, people.operator2, alert)
        release(session, people.operator2, alert)
    with pytest.raises(WorkflowError, match="not claimed"), store.transaction() as session:
        release(session, people.operator2, alert)
    with pytest.raises(NotFoundError), store.transaction() as session:
        claim(session, people.operator, 999_999)


def test_a_supervisor_sees_the_floor_and_hands_a_call_to_another_operator(
    store: CaseStore, people: People, feed: Feed, clock: FrozenClock
) -> None:
    ids = _load(store, feed)
    held, waiting = ids["r0"], ids["r1"]
    with store.transaction() as session:
        claim(session, people.operator, held)
        floor = claims(session, people.supervisor)
        hands = {w.name: w.holding for w in workers(session, people.supervisor)}
    assert [(i.alert_id, i.claimed_by) for i in floor] == [(held, "aigerim")]
    assert hands["aigerim"] == 1 and hands["bolat"] == 0
    assert "prosecutor" not in {w.role for w in workers_of(store, people)}  # works no calls
    clock.advance(minutes=3)
    with store.transaction() as session:
        moved = reassign(
            session, people.supervisor, held, people.operator2.user_id or 0, note="speaks Kazakh"
        )
        handed = reassign(session, people.supervisor, waiting, people.operator.user_id or 0)
    assert moved.claimed_by == "bolat" and handed.claimed_by == "aigerim"
    with store.transaction() as session:
        view = alert_view(session, people.operator2, held)
        record_outcome(session, people.operator2, held, "warned")  # now bolat's to work
    assert view.claimed_by == "bolat"
    assert view.claim_expires_at == clock.now + timedelta(minutes=15)
    said = [a.note for a in view.actions if a.kind == "reassigned"]
    assert said == ["aigerim → bolat: speaks Kazakh"]
    with pytest.raises(AlreadyClaimedError), store.transaction() as session:
        claim(session, people.operator2, waiting)  # aigerim holds it now
    with pytest.raises(PermissionDenied), store.transaction() as session:
        reassign(session, people.operator, waiting, people.operator2.user_id or 0)
    with pytest.raises(WorkflowError, match="does not work calls"), store.transaction() as session:
        reassign(session, people.supervisor, waiting, people.prosecutor.user_id or 0)
    with pytest.raises(WorkflowError, match="already worked"), store.transaction() as session:
        reassign(session, people.supervisor, held, people.operator.user_id or 0)
    with pytest.raises(NotFoundError), store.transaction() as session:
        reassign(session, people.supervisor, waiting, 999_999)


def workers_of(store: CaseStore, people: People) -> list[Worker]:
    with store.transaction() as session:
        return workers(session, people.supervisor)


def _race(store: CaseStore, people: People, alert_id: int) -> list[str]:
    """Two operators click "claim" on the same call at the same moment."""
    barrier = threading.Barrier(2)
    results: list[str] = []
    lock = threading.Lock()

    def work(actor_name: str) -> None:
        actor = people.operator if actor_name == "aigerim" else people.operator2
        barrier.wait()
        try:
            with store.transaction() as session:
                claim(session, actor, alert_id)
            outcome = f"won:{actor_name}"
        except AlreadyClaimedError:
            outcome = "refused"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("aigerim", "bolat")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_operators_never_claim_the_same_call(
    store: CaseStore, people: People, tmp_path: Path
) -> None:
    feed = write_feed(tmp_path / "race", calls=16)
    ids = _load(store, feed)
    winners = []
    for alert_id in ids.values():
        results = _race(store, people, alert_id)
        assert sorted(r.split(":")[0] for r in results) == ["refused", "won"], results
        winners.append(next(r for r in results if r.startswith("won")))
    with store.transaction() as session:
        holders = session.execute(select(Alert.claimed_by).where(Alert.status == "claimed")).all()
    assert len(holders) == len(ids)


def test_a_claim_waits_for_a_competing_transaction_on_postgresql(
    postgres_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    """Two open sessions: the second claim blocks on the first, then is refused when it commits."""
    from qalqan.cases.store import upgrade
    from tests.cases.conftest import make_people

    upgrade(postgres_url)
    store = CaseStore.open(postgres_url, clock=clock)
    try:
        people = make_people(store)
        alert_id = _load(store, write_feed(tmp_path / "f", calls=2))["r0"]
        first = store.session()
        claim(first, people.operator, alert_id)  # holds the row, not committed yet
        outcome: list[str] = []

        def second() -> None:
            try:
                with store.transaction() as session:
                    claim(session, people.operator2, alert_id)
                outcome.append("won")
            except AlreadyClaimedError as exc:
                outcome.append(str(exc))

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the second claim should wait for the first transaction"
        first.commit()
        first.close()
        thread.join(timeout=30)
        assert outcome == [f"alert {alert_id} is being worked by aigerim until 08:45:00 UTC"]
    finally:
        store.close()


def test_sla_timers_and_report(
    store: CaseStore, people: People, feed: Feed, clock: FrozenClock
) -> None:
    ids = _load(store, feed)  # received at T0+30
    clock.advance(minutes=3)
    with store.transaction() as session:
        claimed = claim(session, people.operator, ids["r0"])
    assert claimed.sla.time_to_claim == timedelta(minutes=3)
    assert not claimed.sla.claim_overdue
    clock.advance(minutes=4)  # 7 minutes after arrival: the others are late to claim
    with store.transaction() as session:
        record_outcome(session, people.operator, ids["r0"], "warned")
        others = queue(session, people.operator, limit=100)
        report = sla_report(session, people.supervisor)
    assert all(i.sla.claim_overdue and not i.sla.contact_overdue for i in others)
    assert report.received == feed.intercepted
    assert report.waiting == feed.intercepted - 1
    assert len(report.overdue_claim) == feed.intercepted - 1
    assert report.overdue_contact == ()
    assert report.median_time_to_claim == timedelta(minutes=3)
    assert report.median_time_to_contact == timedelta(minutes=7)
    assert report.claimed_within_sla == 1.0
    clock.advance(minutes=10)  # 17 minutes: nobody else reached in time
    with store.transaction() as session:
        report = sla_report(session, people.supervisor)
        view = alert_view(session, people.operator, ids["r1"])
    assert len(report.overdue_contact) == feed.intercepted - 1
    assert view.sla is not None and view.sla.contact_overdue


def test_outcomes_losses_and_mule_accounts(
    sqlite_store: CaseStore, sqlite_people: People, feed: Feed
) -> None:
    store, people = sqlite_store, sqlite_people
    ids = _load(store, feed)
    with pytest.raises(WorkflowError, match="claim"), store.transaction() as session:
        record_outcome(session, people.operator, ids["r0"], "warned")
    with store.transaction() as session:
        claim(session, people.operator, ids["r0"])
        after = record_outcome(session, people.operator, ids["r0"], "not_reachable")
    assert (after.status, after.attempts) == ("open", 1)
    with store.transaction() as session:
        claim(session, people.operator, ids["r0"])
    with pytest.raises(WorkflowError, match="not an account"), store.transaction() as session:
        record_outcome(session, people.operator, ids["r0"], "already_paid", paid_to=["KZ123"])
    with pytest.raises(WorkflowError, match="not an outcome"), store.transaction() as session:
        record_outcome(session, people.operator, ids["r0"], "maybe")
    with store.transaction() as session:
        done = record_outcome(
            session,
            people.operator,
            ids["r0"],
            "already_paid",
            category="police",
            suffered=Money(Decimal("150000"), "kzt"),
            prevented=Money(Decimal("50000.5")),
            paid_to=["bank:KZ86125KZT5004100100"],
            note="sent 150,000 to a 'safe account', kept the rest",
        )
    assert (done.status, done.outcome, done.category, done.attempts) == (
        "done",
        "already_paid",
        "police",
        2,
    )
    assert {(loss.kind, str(loss.money), loss.account) for loss in done.losses} == {
        ("suffered", "150,000.00 KZT", "bank:KZ86125KZT5004100100"),
        ("prevented", "50,000.50 KZT", None),
    }
    assert ("account", "mule_account") in {(e.kind, e.relation) for e in done.entities}
    assert [a.kind for a in done.actions] == ["claimed", "outcome", "claimed", "outcome"]
    with pytest.raises(WorkflowError, match="already worked"), store.transaction() as session:
        claim(session, people.operator2, ids["r0"])


def test_marking_a_callee_vulnerable_moves_their_calls_up(
    sqlite_store: CaseStore, sqlite_people: People, feed: Feed
) -> None:
    store, people = sqlite_store, sqlite_people
    ids = _load(store, feed)
    with store.transaction() as session:
        last = queue(session, people.operator, limit=100)[-1]
        assert not last.vulnerable
        victim = mark_vulnerable(session, people.operator, last.alert_id, note="lives alone")
        assert victim.vulnerable
    with store.transaction() as session:
        items = queue(session, people.operator, limit=100)
    moved = next(i for i in items if i.alert_id == last.alert_id)
    assert moved.vulnerable and items.index(moved) < len(items) - 1
    assert ids


def test_findings_are_not_worked_from_the_queue(
    sqlite_store: CaseStore, sqlite_people: People, feed: Feed
) -> None:
    with sqlite_store.transaction() as session:
        ingest_findings(session, feed.findings, feed.data)
        farm = session.scalars(select(Alert.id).where(Alert.kind == "sim_farm")).one()
    with (
        pytest.raises(WorkflowError, match="not an intercepted call"),
        sqlite_store.transaction() as s,
    ):
        record_outcome(s, sqlite_people.operator, farm, "warned")
