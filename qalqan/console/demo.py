"""Demo accounts, one per role, so that a fresh ``make demo`` can be clicked through at once.

Each run gives every demo account a new random password and hands the list
back for printing: nothing guessable is ever left in a store, and running it
twice simply replaces the passwords (set, not added again).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from qalqan.cases.models import User
from qalqan.cases.roles import SYSTEM, Role
from qalqan.cases.store import CaseStore
from qalqan.cases.users import add_user, set_password, set_role, set_user_active

__all__ = ["DEMO_USERS", "DemoUser", "create_demo_users"]

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
            if session.scalar(select(User.id).where(User.name == name)) is None:
                add_user(session, SYSTEM, name=name, role=role, password=password)
            else:
                set_password(session, SYSTEM, name, password)
                set_role(session, SYSTEM, name, role)
                set_user_active(session, SYSTEM, name, True)
            made.append(DemoUser(name=name, role=role, password=password))
    return made
