"""Demo accounts, one per role, and a shift's work, so that a fresh ``make demo`` can be
clicked through at once with every page showing something.

Each run gives every demo account a new random password and hands the list
back for printing: nothing guessable is ever left in a store, and running it
twice simply replaces the passwords (set, not added again).

:func:`work_a_shift` then plays the first hours of a night shift through the
same service calls the console makes, as the demo users: operators call back
the most urgent intercepted calls and record what came of them, the ones who
had already paid are escalated, a prosecutor answers one escalation, an
analyst opens a case on the largest farm and links the calls it placed, and
one call is left in progress. Everything it does is in the audit log under
the demo users' names, as it would be had they clicked it.
"""

from __future__ import annotations

import csv
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from qalqan import cases
from qalqan.cases.errors import NotFoundError
from qalqan.cases.roles import SYSTEM, Actor, Role
from qalqan.cases.store import CaseStore
from qalqan.cases.users import actor_named, add_user, set_password, set_role, set_user_active
from qalqan.cases.views import Money

__all__ = ["DEMO_USERS", "DemoUser", "Shift", "create_demo_users", "work_a_shift"]

DEMO_USERS: tuple[tuple[str, Role], ...] = (
    ("aigerim", Role.OPERATOR),
    ("bolat", Role.OPERATOR),
    ("saule", Role.SUPERVISOR),
    ("prokuror", Role.PROSECUTOR),
    ("daniyar", Role.ANALYST),
    ("admin", Role.ADMIN),
)


@dataclass(frozen=True, slots=True)
class DemoUser:
    name: str
    role: Role
    password: str


def create_demo_users(store: CaseStore) -> list[DemoUser]:
    """Create (or reset) the demo accounts; their names, roles and fresh passwords."""
    made: list[DemoUser] = []
    with store.transaction() as session:
        for name, role in DEMO_USERS:
            password = secrets.token_urlsafe(9)
            if actor_named(session, name) is None:
                add_user(session, SYSTEM, name=name, role=role, password=password)
            else:
                set_password(session, SYSTEM, name, password)
                set_role(session, SYSTEM, name, role)
                set_user_active(session, SYSTEM, name, True)
            made.append(DemoUser(name=name, role=role, password=password))
    return made


@dataclass(slots=True)
class Shift:
    """What :func:`work_a_shift` did."""

    outcomes: Counter[str] = field(default_factory=Counter)
    escalated: int = 0
    answered: int = 0
    case_id: int | None = None
    case_calls: int = 0
    in_progress: int = 0


_OUTCOMES = (
    ("warned", 50),
    ("reached", 15),
    ("not_reachable", 15),
    ("already_paid", 10),
    ("false_alarm", 10),
)
_NOTES = {
    "warned": "Пенсионерка, собиралась переводить на «безопасный счёт». Объяснили, что это мошенники.",
    "reached": "Дозвонились: человек сам понял, что звонили мошенники, ничего не сообщил.",
    "not_reachable": "Не берёт трубку, перезвонить позже.",
    "already_paid": "Уже перевёл деньги по указанию «сотрудника банка». Назвал счёт получателя.",
    "false_alarm": "Звонил родственник из-за границы.",
}


def _actor(store: CaseStore, name: str) -> Actor:
    with store.transaction() as session:
        actor = actor_named(session, name)
    if actor is None:
        raise NotFoundError("user", name)
    return actor


def _mule_accounts(results: Path) -> list[str]:
    """Accounts the analysis found on the money trail (``accounts.csv``), to be named by victims."""
    path = results / "accounts.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["account"] for row in csv.DictReader(handle) if row.get("verdict") == "mule"]


def work_a_shift(store: CaseStore, results: Path, *, calls: int = 30, seed: int = 2026) -> Shift:
    """Play the start of a night shift through the service layer (see the module's doc)."""
    rng = random.Random(seed)
    aigerim, bolat = _actor(store, "aigerim"), _actor(store, "bolat")
    prokuror, daniyar = _actor(store, "prokuror"), _actor(store, "daniyar")
    mules = _mule_accounts(results) or ["ewallet:8800000001"]
    shift = Shift()
    with store.transaction() as session:
        waiting = cases.queue(session, aigerim, limit=calls + 1)
    escalations = []
    for i, item in enumerate(waiting[:calls]):
        operator = aigerim if i % 2 == 0 else bolat
        outcome = rng.choices([o for o, _ in _OUTCOMES], [w for _, w in _OUTCOMES])[0]
        kept = lost = None
        paid_to: tuple[str, ...] = ()
        if outcome == "warned":
            kept = Money(Decimal(rng.choice((150_000, 300_000, 480_000, 1_200_000))))
        elif outcome == "already_paid":
            lost = Money(Decimal(rng.choice((95_000, 250_000, 700_000))))
            paid_to = (rng.choice(mules),)
        with store.transaction() as session:
            cases.claim(session, operator, item.alert_id)
            cases.record_outcome(
                session,
                operator,
                item.alert_id,
                outcome,
                note=_NOTES[outcome],
                prevented=kept,
                suffered=lost,
                paid_to=paid_to,
            )
            if outcome == "already_paid":
                escalations.append(
                    cases.escalate(
                        session,
                        operator,
                        reason="Деньги уже переведены, назван счёт получателя — нужна блокировка",
                        alert_id=item.alert_id,
                    )
                )
        shift.outcomes[outcome] += 1
    shift.escalated = len(escalations)
    if escalations:
        with store.transaction() as session:
            cases.answer_escalation(
                session,
                prokuror,
                escalations[0].id,
                accept=True,
                response="Принято. Запрос в банк о блокировке счёта направлен.",
            )
        shift.answered = 1
    with store.transaction() as session:
        farms = cases.findings(session, daniyar, kind="sim_farm")
    if farms:
        farm = max(farms, key=lambda f: int(f.details.get("n_sims") or 0))
        with store.transaction() as session:
            opened = cases.open_case(
                session,
                daniyar,
                f"SIM-ферма {farm.source_ref}: звонки от имени банка",
                [farm.alert_id],
            )
            linked = [
                s.alert_id
                for s in cases.suggest_links(session, daniyar, case_id=opened.id, limit=200)
                if s.kind == "intercepted_call" and s.in_case is None
            ][:12]
            if linked:
                cases.add_to_case(session, daniyar, opened.id, linked)
            cases.add_note(
                session,
                daniyar,
                opened.id,
                "Ферма работает с одной площадки, SIM-карты из одной партии. "
                "Звонки идут пожилым абонентам.",
            )
            cases.escalate(
                session, daniyar, reason="Нужен выезд на площадку фермы", case_id=opened.id
            )
        shift.case_id, shift.case_calls = opened.id, len(linked)
        shift.escalated += 1
    if len(waiting) > calls:  # someone is on the phone right now
        with store.transaction() as session:
            cases.claim(session, aigerim, waiting[calls].alert_id)
        shift.in_progress = 1
    return shift
