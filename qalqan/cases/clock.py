"""The case store's clock, as it travels with each session.

A :class:`~qalqan.cases.store.CaseStore` puts its clock in every session it
opens; service functions and the audit log read it with :func:`clock_of`, so
they keep short signatures and tests can freeze time. It sits below the store
and the audit log, which both read it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from sqlalchemy.orm import Session

__all__ = ["CLOCK_KEY", "Clock", "clock_of", "utc_now"]

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC."""

CLOCK_KEY: Final = "qalqan.clock"
"""Where a session keeps its store's clock (``session.info``)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def clock_of(session: Session) -> datetime:
    """The current time as the session's store sees it (frozen in tests)."""
    clock: Clock = session.info.get(CLOCK_KEY, utc_now)
    moment = clock()
    if moment.tzinfo is None:
        raise ValueError("the case store's clock must return timezone-aware times")
    return moment.astimezone(UTC)
