"""Logging what an outsider can trigger at will, at most once in a while.

A failing ``accept``, a request uvicorn cannot parse, a message that trips a
bug: an attacker can cause each as often as they like, so none may become a
log line (let alone a traceback) per attempt. The counters count every one;
the log says each kind of complaint at most once per interval, with how many
like it it held back since.

- :class:`ThrottledLog` for the complaints Qalqan's own code makes (the SIP node);
- :class:`OncePerInterval`, a :class:`logging.Filter`, for a library's own
  log lines (uvicorn's, in the HTTP API).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

__all__ = ["OncePerInterval", "ThrottledLog"]


class _Throttle:
    """Whether a complaint may be said now: once per ``interval_s`` per key, the rest counted."""

    def __init__(self, interval_s: float, clock: Callable[[], float]) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self._muted: Counter[str] = Counter()

    def admit(self, key: str) -> int | None:
        """None to hold the complaint back; else how many like it were held back since the last."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._muted[key] += 1
            return None
        self._last[key] = now
        return self._muted.pop(key, 0)


class ThrottledLog:
    """A logger that says one thing at most once per ``interval_s``, with how often it was muted."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self._throttle = _Throttle(interval_s, clock)

    def log(
        self, level: int, key: str, message: str, *args: object, exc_info: bool = False
    ) -> bool:
        """Log ``message`` under ``key`` unless that key was logged within the interval."""
        muted = self._throttle.admit(key)
        if muted is None:
            return False
        if muted:
            message += " (and %d more like it since the last report)"
            args = (*args, muted)
        self.logger.log(level, message, *args, exc_info=exc_info)
        return True


class OncePerInterval(logging.Filter):
    """Lets the same message through at most once per ``interval_s``, saying how many it held back."""

    def __init__(self, interval_s: float = 10.0) -> None:
        super().__init__()
        self._throttle = _Throttle(interval_s, time.monotonic)

    def filter(self, record: logging.LogRecord) -> bool:
        muted = self._throttle.admit(str(record.msg))
        if muted is None:
            return False
        if muted:
            record.msg = f"{record.msg} (and {muted} more like it since the last report)"
        return True
