"""Console sessions kept in the store, so that the server can end them.

A browser that signs in gets a random token (in its signed cookie); the store
keeps only the token's SHA-256 in a :class:`~qalqan.cases.models.ConsoleSession`
row. Every request looks the row up (:func:`resume_session`), so:

- a session ends for good at logout, and when an admin resets the account's
  password, changes its role or disables it (:func:`end_sessions_of`, called by
  :mod:`qalqan.cases.users`): a cookie saved before then signs nobody in;
- it lasts at most ``lifetime`` from sign-in (``expires_at``, which nothing
  moves) and ends after ``idle`` without a request that counts as activity;
- the actor is read from the account as it is now (its role, whether it is
  active), never from the cookie.

Ending a session never deletes its row: who was signed in from where, and
until when, stays readable.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qalqan.cases import audit
from qalqan.cases.errors import SessionEndedError
from qalqan.cases.models import ConsoleSession, User
from qalqan.cases.roles import Actor, Role
from qalqan.cases.store import clock_of

__all__ = ["end_session", "end_sessions_of", "resume_session", "start_session"]

TOUCH_EVERY: Final = timedelta(seconds=60)
"""``last_seen_at`` is written at most this often, not at every click (idle is judged to a minute)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(session: Session, actor: Actor, *, client: str, lifetime: timedelta) -> str:
    """Open a session for a signed-in ``actor``; return the token for its cookie (shown once)."""
    if actor.user_id is None:
        raise ValueError("only an account signs in to the console")
    now = clock_of(session)
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_digest(token),
            user_id=actor.user_id,
            client=client[:64],
            started_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def resume_session(session: Session, token: str, *, idle: timedelta, active: bool = True) -> Actor:
    """Who a cookie's token signs in, as the account is now; :class:`SessionEndedError` otherwise.

    A session found past its end is marked ended (and committed) before the error.

    ``active`` false (a page refreshing itself) does not count as activity: it
    neither ends an idle session's idleness nor moves ``last_seen_at``.
    """
    now = clock_of(session)
    found = session.execute(
        select(ConsoleSession, User)
        .join(User, User.id == ConsoleSession.user_id)
        .where(ConsoleSession.token_hash == _digest(token))
    ).one_or_none()
    if found is None:
        raise SessionEndedError("unknown")
    row, user = found
    if row.ended_at is not None:
        raise SessionEndedError(row.end_reason or "ended")
    reason = (
        "expired" if now >= row.expires_at
        else "idle" if now - row.last_seen_at >= idle
        else "disabled" if not user.active
        else ""
    )  # fmt: skip
    if reason:
        row.ended_at, row.end_reason = now, reason
        session.commit()  # the end stays on record whatever the caller does next
        raise SessionEndedError(reason)
    if active and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return Actor(name=user.name, role=Role(user.role), user_id=user.id)


def end_session(session: Session, token: str, *, client: str = "") -> Actor | None:
    """Sign out: end the token's session and record it; the actor it was, if it was live."""
    now = clock_of(session)
    found = session.execute(
        select(ConsoleSession, User)
        .join(User, User.id == ConsoleSession.user_id)
        .where(ConsoleSession.token_hash == _digest(token), ConsoleSession.ended_at.is_(None))
    ).one_or_none()
    if found is None:
        return None
    row, user = found
    row.ended_at, row.end_reason = now, "logout"
    actor = Actor(name=user.name, role=Role(user.role), user_id=user.id)
    audit.append(session, actor, "logout", f"user:{user.name}", at=now, details={"client": client})
    return actor


def end_sessions_of(session: Session, user_id: int, reason: str) -> int:
    """End every live session of an account (``reason``: password, role, disabled); how many."""
    result = session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=clock_of(session), end_reason=reason[:20])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
