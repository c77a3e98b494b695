"""Sending a MISP event to a MISP instance: the one module of the package that connects.

MISP's REST API takes a new event as ``POST /events/add`` with the user's
automation key in the ``Authorization`` header and the event as JSON
(``{"Event": {...}}``). This is that request and nothing more, over HTTPS with
the system's certificate checks (plain HTTP is refused unless asked for, for a
test server on this machine), within a time limit, and the key never appears in
an error. It was tested against a small local HTTP server that checks the
request, not against a real MISP.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pymisp import MISPEvent

from qalqan.errors import QalqanError

__all__ = ["PushError", "Pushed", "push_event"]

MAX_ANSWER_BYTES = 1024 * 1024
"""The most of a MISP instance's answer read."""


class PushError(QalqanError):
    """A MISP instance could not be reached or refused the event; the message says which."""


@dataclass(frozen=True, slots=True)
class Pushed:
    """What the MISP instance answered: its HTTP status and the id it gave the event."""

    status: int
    event_id: str


def _request(url: str, event: MISPEvent, key: str) -> urllib.request.Request:
    body = json.dumps({"Event": json.loads(event.to_json())}).encode("utf-8")
    return urllib.request.Request(
        url.rstrip("/") + "/events/add",
        data=body,
        method="POST",
        headers={
            "Authorization": key,
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": "qalqan-intel",
        },
    )


def _event_id(answer: bytes) -> str:
    try:
        parsed: Any = json.loads(answer.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ""
    event = parsed.get("Event") if isinstance(parsed, dict) else None
    return str(event.get("id", "")) if isinstance(event, dict) else ""


def push_event(
    url: str, event: MISPEvent, *, key: str, timeout_s: float = 30.0, allow_http: bool = False
) -> Pushed:
    """Send ``event`` to the MISP instance at ``url``; raises :class:`PushError`."""
    scheme = urlsplit(url).scheme
    if scheme != "https" and not (allow_http and scheme == "http"):
        raise PushError(
            f"{url}: a MISP instance is reached over https:// (the key travels with it)"
        )
    if not key:
        raise PushError("the MISP key is empty")
    try:
        with urllib.request.urlopen(
            _request(url, event, key), timeout=timeout_s
        ) as answer:  # the scheme is checked above
            return Pushed(answer.status, _event_id(answer.read(MAX_ANSWER_BYTES)))
    except urllib.error.HTTPError as exc:
        said = exc.read(500).decode("utf-8", "replace").strip()
        raise PushError(f"{url}: MISP refused the event: HTTP {exc.code} {said}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        why = getattr(exc, "reason", exc)
        raise PushError(f"{url}: cannot reach the MISP instance: {why}") from None
