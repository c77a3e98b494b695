"""The JSON of the screening API: a call attempt in, a decision out.

A call attempt::

    {"time": "2026-03-02T07:15:02Z", "caller": "+77011234567", "callee": "+77071234567",
     "ingress": "international:carrierA", "imsi": "...", "imei": "...", "cell": "...",
     "identity": "<SIP Identity header>", "attest": "A", "record_id": "..."}

``callee`` and ``ingress`` are required; ``caller`` is null or absent when the
caller ID is withheld; ``time`` defaults to the moment the request arrived (and
a time too far from the node's clock is replaced by it: see
:class:`~qalqan.api.app.ScreeningApi`). Text holding a lone surrogate (a JSON
``\\ud800`` escape without its pair) is refused: it is not Unicode.
Numbers are normalised to E.164 (``8 701 123 45 67`` → ``+77011234567``) with
the numbering plan of the configured region. Validation stops at the first
problem and names its field, in the API's one error shape; unknown fields
are refused, because a misspelt optional field would otherwise be silently
ignored.

A decision::

    {"action": "warn", "score": 0.73,
     "reasons": [{"rule": "...", "weight": 0.4, "detail": "...",
                  "key": "...", "facts": {"...": "..."}}],
     "latency_us": 41.2, "record_id": "..."}

An outcome (``POST /v1/outcome``): the screened attempt's own fields (as
above; ``record_id`` when the screen had one) and how it ended::

    {"record_id": "...", "caller": "+77011234567", "callee": "+77071234567",
     "ingress": "national:ic1", "answered": true, "duration_s": 95, "event": "voice",
     "screened": true}

``answered`` is required (for an SMS: delivered); ``duration_s`` is the talk
time (0 by default, at most a week); ``event`` is ``voice`` (default) or
``sms``; ``screened: false`` marks one of the operator's own records of a
call this node never screened.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from qalqan.api.errors import BadRequestError
from qalqan.domain.model import ATTESTATIONS, CallAttempt, Decision, Event, Ingress, IngressClass
from qalqan.domain.numbers import normalise
from qalqan.errors import NumberError

__all__ = [
    "ATTEMPT_FIELDS",
    "OUTCOME_FIELDS",
    "ReportedOutcome",
    "decision_json",
    "parse_attempt",
    "parse_json",
    "parse_outcome",
]

#: Every field a call attempt may carry.
ATTEMPT_FIELDS = (
    "time",
    "caller",
    "callee",
    "ingress",
    "imsi",
    "imei",
    "cell",
    "identity",
    "attest",
    "record_id",
)
_KNOWN = frozenset(ATTEMPT_FIELDS)
#: Every field an outcome may carry: the attempt's, then how it ended.
OUTCOME_FIELDS = (*ATTEMPT_FIELDS, "answered", "duration_s", "event", "screened")
_HOW_IT_ENDED = frozenset(OUTCOME_FIELDS) - _KNOWN
MAX_DURATION_S: Final = 7 * 86_400
_INGRESS_CLASSES = ", ".join(k.value for k in IngressClass)
_MAX_TEXT = {"cell": 64, "identity": 8192, "record_id": 128, "ingress": 128}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _shown(value: str, limit: int = 40) -> str:
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(text)


def parse_json(body: bytes) -> Any:
    """The JSON value of a request body, or a 400 saying why it is not one."""
    if not body.strip():
        raise BadRequestError("the request body is empty; send JSON", code="invalid_json")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("the request body is not UTF-8 text", code="invalid_json") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequestError(
            f"the request body is not JSON: {error.msg} at line {error.lineno} column {error.colno}",
            code="invalid_json",
        ) from None
    except (ValueError, RecursionError):
        raise BadRequestError(
            "the request body is not JSON that can be read (too deep or too large a number)",
            code="invalid_json",
        ) from None


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{name} must be a string, not {_json_type(value)}", field=name)
    limit = _MAX_TEXT.get(name)
    if limit is not None and len(value) > limit:
        raise BadRequestError(f"{name} is {len(value)} characters long (limit {limit})", field=name)
    if not _is_unicode(value):
        raise BadRequestError(
            f"{name} is not Unicode text: it holds a lone surrogate (an unpaired \\ud800-\\udfff "
            "escape)",
            field=name,
        )
    return value


def _is_unicode(text: str) -> bool:
    """False when ``text`` holds a lone surrogate, which JSON escapes allow and UTF-8 cannot carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _required(item: dict[str, Any], name: str) -> str:
    value = _text(item, name)
    if value is None:
        raise BadRequestError(f"{name} is required", code="missing_field", field=name)
    return value


def _number(item: dict[str, Any], name: str, region: str | None) -> str | None:
    raw = _text(item, name)
    return None if raw is None else _normalised(raw, name, region)


def _normalised(raw: str, name: str, region: str | None) -> str:
    try:
        return normalise(raw, region=region)
    except NumberError as error:
        raise BadRequestError(
            f"{name} {_shown(raw)} is not a phone number: {error}", field=name
        ) from None


def _digits(item: dict[str, Any], name: str, low: int, high: int) -> str | None:
    raw = _text(item, name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and low <= len(raw) <= high):
        raise BadRequestError(f"{name} {_shown(raw)} is not {low} to {high} digits", field=name)
    return raw


def _time(item: dict[str, Any], arrived: datetime) -> datetime:
    raw = _text(item, "time")
    if raw is None:
        return arrived
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequestError(
            f"time {_shown(raw)} is not an ISO 8601 time like 2026-03-02T07:15:02Z",
            field="time",
        ) from None
    if moment.tzinfo is None:
        raise BadRequestError(f"time {_shown(raw)} needs a UTC offset (Z or +05:00)", field="time")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is in the year 0 in UTC
        raise BadRequestError(
            f"time {_shown(raw)} is out of range in UTC (years 1 to 9999)", field="time"
        ) from None


_INGRESSES: dict[str, Ingress] = {}
_MAX_INGRESSES: Final = 4096
"""Ingresses parsed, by text: a node sees a few routes, each parsed once and shared by every
attempt (and every attempt held for its outcome); cleared if clients send thousands."""


def _ingress(text: str) -> Ingress:
    known = _INGRESSES.get(text)
    if known is not None:
        return known
    try:
        ingress = Ingress.parse(text)
    except ValueError:
        raise BadRequestError(
            f"ingress {_shown(text)} is not CLASS or CLASS:ROUTE (classes: {_INGRESS_CLASSES})",
            field="ingress",
        ) from None
    if len(_INGRESSES) >= _MAX_INGRESSES:
        _INGRESSES.clear()
    _INGRESSES[text] = ingress
    return ingress


def parse_attempt(item: Any, *, region: str | None, arrived: datetime) -> CallAttempt:
    """A :class:`CallAttempt` from one JSON object, or a 400 naming the field at fault."""
    if not isinstance(item, dict):
        raise BadRequestError(
            f"a call attempt must be a JSON object, not {_json_type(item)}", code="invalid_body"
        )
    for name in item:
        if name not in _KNOWN:
            raise BadRequestError(
                f"{_shown(str(name))} is not a field of a call attempt "
                f"(fields: {', '.join(ATTEMPT_FIELDS)})",
                code="unknown_field",
                field=str(name),
            )
    time = _time(item, arrived)
    caller = _number(item, "caller", region)
    callee = _normalised(_required(item, "callee"), "callee", region)
    ingress = _ingress(_required(item, "ingress"))
    cell = _text(item, "cell")
    if cell is not None and not cell:
        raise BadRequestError("cell is empty", field="cell")
    record_id = _text(item, "record_id")
    if record_id is not None and not record_id:
        raise BadRequestError("record_id is empty", field="record_id")
    attest = _text(item, "attest")
    if attest is not None and attest not in ATTESTATIONS:
        raise BadRequestError(
            f"attest {_shown(attest)} is not A, B or C (the attestation the network verified)",
            field="attest",
        )
    return CallAttempt(
        time=time,
        caller=caller,
        callee=callee,
        ingress=ingress,
        imsi=_digits(item, "imsi", 6, 15),
        imei=_digits(item, "imei", 14, 16),
        cell=cell,
        identity=_text(item, "identity") or None,
        attest=attest,
        record_id=record_id,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportedOutcome:
    """How a call ended, as a client reported it: the attempt's identity and the ending."""

    attempt: CallAttempt
    answered: bool
    duration_s: float
    event: Event
    screened: bool
    """False: one of the operator's own records, of a call this node never screened."""


def _flag(item: dict[str, Any], name: str, default: bool | None = None) -> bool:
    value = item.get(name, default)
    if value is None:
        raise BadRequestError(f"{name} is required", code="missing_field", field=name)
    if not isinstance(value, bool):
        raise BadRequestError(f"{name} must be true or false, not {_json_type(value)}", field=name)
    return value


def _duration(item: dict[str, Any]) -> float:
    value = item.get("duration_s", 0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequestError(
            f"duration_s must be a number of seconds, not {_json_type(value)}", field="duration_s"
        )
    if not (math.isfinite(value) and 0 <= value <= MAX_DURATION_S):
        raise BadRequestError(
            f"duration_s {value!r} is not 0 to {MAX_DURATION_S} seconds", field="duration_s"
        )
    return float(value)


def _event(item: dict[str, Any]) -> Event:
    raw = _text(item, "event")
    if raw is None:
        return Event.VOICE
    try:
        return Event(raw)
    except ValueError:
        raise BadRequestError(f"event {_shown(raw)} is not voice or sms", field="event") from None


def parse_outcome(item: Any, *, region: str | None, arrived: datetime) -> ReportedOutcome:
    """A :class:`ReportedOutcome` from one JSON object, or a 400 naming the field at fault."""
    if not isinstance(item, dict):
        raise BadRequestError(
            f"an outcome must be a JSON object, not {_json_type(item)}", code="invalid_body"
        )
    for name in item:
        if name not in _KNOWN and name not in _HOW_IT_ENDED:
            raise BadRequestError(
                f"{_shown(str(name))} is not a field of an outcome "
                f"(fields: {', '.join(OUTCOME_FIELDS)})",
                code="unknown_field",
                field=str(name),
            )
    answered = _flag(item, "answered")
    duration_s = _duration(item)
    event = _event(item)
    screened = _flag(item, "screened", default=True)
    identity = {k: v for k, v in item.items() if k in _KNOWN}
    return ReportedOutcome(
        attempt=parse_attempt(identity, region=region, arrived=arrived),
        answered=answered,
        duration_s=duration_s,
        event=event,
        screened=screened,
    )


def decision_json(decision: Decision, *, record_id: str | None) -> dict[str, Any]:
    """A :class:`Decision` as the API answers it.

    Each reason is its data (rule, weight, message key, facts: what a client needs to say
    it in its own language with the message catalog) and ``detail``, its English rendering.
    A reason of free text has key ``""`` and no facts.
    """
    return {
        "action": decision.action.value,
        "score": decision.score,
        "reasons": [
            {
                "rule": r.rule,
                "weight": r.weight,
                "detail": r.detail,
                "key": r.key,
                "facts": dict(r.facts),
            }
            for r in decision.reasons
        ],
        "latency_us": round(decision.latency_us, 1),
        "record_id": decision.record_id if decision.record_id is not None else record_id,
    }
