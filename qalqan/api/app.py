"""The HTTP screening API: one object, run in-process or served over ASGI.

:class:`ScreeningApi` wraps an injected ``decide`` (a call attempt in, a
decision out: the screening engine, or anything shaped like it) and answers:

- ``POST /v1/screen``: one call attempt → one decision;
- ``POST /v1/screen/batch``: a JSON array of attempts → ``{"results": [...]}``,
  a decision or an error (in the one error shape) for each, in order;
- ``POST /v1/outcome``: how a screened call ended (answered, talk time, voice
  or SMS), reported by the switch → 202 with ``learned`` and, when nothing was
  learned, the reason; ``POST /v1/outcome/batch``: a JSON array of them;
- ``GET /healthz``: alive and the engine loaded (200), or 503 ``not_ready`` (while the
  engine loads, and while a node of a cluster catches up); in a cluster, whether
  the cluster's store is up;
- ``GET /metrics``: Prometheus text (:mod:`qalqan.api.metrics`).

Why no web framework: the hot path is one small JSON body in, one out, and
a framework's routing, middleware and request objects would cost more than
the engine itself. The router here is a dict; the ASGI adapter reads the body
(bounded), calls the same synchronous :meth:`ScreeningApi.handle` that tests
and ``--get``-style callers use in-process, and writes the response. Every
refusal, from a bad field to an unknown path or a fault, leaves as the one
JSON error shape of :mod:`qalqan.api.errors`.

Screening is the :class:`~qalqan.screening.node.ScreeningNode`'s: the API
only turns JSON into a call attempt and the node's decision back into JSON.
The node runs synchronously on the event loop (the engine is meant to be an
in-memory, microsecond affair, and its time is measured); as on the SIP face,
an engine that raises or answers past the node's deadline is replaced by the
node's fail-open action — per ingress class (divert for international routes,
say) — with a reason saying so, or, with ``QALQAN_HTTP_FAIL_OPEN`` off,
answered with 422 (the engine refused the attempt with a Qalqan error) or 500.

**The client does not move the engine's clock.** An attempt's ``time`` is
believed only within ``client_time_skew_s`` of the node's own clock; further
off, the attempt is judged at the node's time and the decision carries a
reason of weight 0, ``http.client_time_ignored``, saying so.

**What the engine learns from.** An outcome teaches the engine (its
``observe``) only for an attempt this node screened and *allowed* on its own
judgement within ``outcome_window_s`` (at most ``outcome_max_attempts`` are
held, each taken once), matched by ``record_id`` or else by caller, callee and
ingress, and dated at the time the attempt was judged, never a time the
client gives. An outcome for an attempt the node intercepted, answered by
fail-open, never screened or has let go teaches nothing, and the answer says
which. The operator's own records (``screened: false``) are believed only when
the API has a token (and so every caller has shown it); without one anyone
could teach the engine contact.

The node may be given ready (``node=``, or a bare engine as ``decide=``, which
is then put in a node with the deadline and fail-open policy of the API's
settings) or as a factory (``engine=``), built at ASGI startup in a worker
thread, so that ``/healthz`` answers ``not_ready`` while rules load;
in-process, the first request builds it. A node of a cluster
(:mod:`qalqan.screening.cluster`) is then started, on the same worker thread:
it catches up before it screens. Before any answer of ``/v1/screen``,
``/v1/screen/batch`` and ``/v1/outcome`` leaves, the node commits (its state
events are in the cluster's log), so that no decision the client has heard of
is missing from the log.

    >>> from qalqan.domain.model import Action, Decision
    >>> api = ScreeningApi(lambda attempt: Decision(action=Action.ALLOW, score=0.0))
    >>> response = api.handle("POST", "/v1/screen", body=b'{"callee": "+77071234567", "ingress": "mobile"}',
    ...                       headers={"content-type": "application/json"})
    >>> response.status, response.json()["action"]
    (200, 'allow')
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from qalqan import __version__
from qalqan.api.config import ApiSettings
from qalqan.api.errors import (
    ApiError,
    BadRequestError,
    InternalError,
    MethodNotAllowedError,
    NotFoundError,
    NotReadyError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnscreenableError,
    UnsupportedMediaTypeError,
)
from qalqan.api.metrics import ApiMetrics
from qalqan.api.schema import (
    ReportedOutcome,
    decision_json,
    parse_attempt,
    parse_json,
    parse_outcome,
)
from qalqan.domain.model import Action, CallAttempt, Decision, Reason
from qalqan.errors import QalqanError
from qalqan.screening.node import Decide, NodeSettings, Observe, ScreeningNode
from qalqan.screening.signals import CallOutcome

__all__ = ["Decide", "Observe", "Response", "Screening", "ScreeningApi"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Screening:
    """A screening engine as an engine factory may give it: decide, and learn how calls ended."""

    decide: Decide
    observe: Observe | None = None


@dataclass(frozen=True, slots=True)
class _Held:
    """A screened attempt held for its outcome: when, what, and what the node answered."""

    at: float
    attempt: CallAttempt
    action: Action
    judged: bool
    """The engine judged it (not fail-open, not its own missed deadline)."""


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_JSON = b"application/json"
_PROMETHEUS = b"text/plain; version=0.0.4; charset=utf-8"
_SERVER_HEADER = (b"x-qalqan-version", __version__.encode())
_KEEP_UP_S = 0.05
"""Seconds between two chances for a node of a cluster to apply the others' events unasked."""


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response as the API builds it, before any server sees it."""

    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()
    content_type: bytes = _JSON

    def json(self) -> Any:
        return json.loads(self.body)

    def header_list(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"content-type", self.content_type),
            (b"content-length", str(len(self.body)).encode()),
            _SERVER_HEADER,
            *self.headers,
        ]


def _dumps(value: Any) -> bytes:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate echoed from the request: escape it instead
        return json.dumps(value, separators=(",", ":")).encode()


def _error_response(error: ApiError) -> Response:
    return Response(error.status, _dumps(error.body()), tuple(error.headers()))


@dataclass(frozen=True, slots=True)
class _Endpoint:
    route: str
    methods: tuple[str, ...]
    needs_body: bool
    protected: bool


_ENDPOINTS = {
    "/v1/screen": _Endpoint("/v1/screen", ("POST",), needs_body=True, protected=True),
    "/v1/screen/batch": _Endpoint("/v1/screen/batch", ("POST",), needs_body=True, protected=True),
    "/v1/outcome": _Endpoint("/v1/outcome", ("POST",), needs_body=True, protected=True),
    "/v1/outcome/batch": _Endpoint("/v1/outcome/batch", ("POST",), needs_body=True, protected=True),
    "/healthz": _Endpoint("/healthz", ("GET", "HEAD"), needs_body=False, protected=False),
    "/metrics": _Endpoint("/metrics", ("GET", "HEAD"), needs_body=False, protected=False),
}
_ENDPOINT_LIST = ", ".join(f"{e.methods[0]} {path}" for path, e in _ENDPOINTS.items())


class ScreeningApi:
    """The HTTP screening API around a screening node; also an ASGI application.

    Give ``node``; or ``decide`` (a bare engine, with ``observe`` when it learns
    outcomes); or ``engine`` (a factory returning a node, ``decide`` or a
    :class:`Screening`, built once, lazily). ``clock`` measures durations and
    how long screened attempts are held; ``wall_clock`` dates attempts that
    carry no ``time``.
    """

    def __init__(
        self,
        decide: Decide | None = None,
        *,
        observe: Observe | None = None,
        node: ScreeningNode | None = None,
        engine: Callable[[], ScreeningNode | Decide | Screening] | None = None,
        settings: ApiSettings | None = None,
        metrics: ApiMetrics | None = None,
        clock: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if sum(given is not None for given in (decide, node, engine)) != 1:
            raise TypeError("give exactly one of node=, decide= or engine=")
        self.settings = settings or ApiSettings()
        self.metrics = metrics or ApiMetrics()
        self.clock = clock
        self.wall_clock = wall_clock
        self._node: ScreeningNode | None = None
        if node is not None:
            self._adopt(node)
        elif decide is not None:
            self._adopt(Screening(decide=decide, observe=observe))
        self._held: OrderedDict[Hashable, _Held] = OrderedDict()
        self._engine_factory = engine
        self._engine_problem: str | None = None
        self._loading = False
        self._started = clock()
        self._deadline_s = self.settings.deadline_ms / 1000.0
        self.metrics.gauge(
            "qalqan_http_engine_ready",
            "1 when the screening engine is loaded and answering.",
            lambda: 1.0 if self.ready else 0.0,
        )
        self.metrics.gauge(
            "qalqan_http_uptime_seconds",
            "Seconds since the API started.",
            lambda: self.clock() - self._started,
        )
        self.metrics.gauge(
            "qalqan_http_outcome_attempts_held",
            "Screened attempts held for POST /v1/outcome to report how they ended.",
            lambda: float(self.outcomes_held),
        )

    # --- the engine ----------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True once the node is there to screen with (and, in a cluster, has caught up)."""
        return self._node is not None and self._node.ready

    @property
    def node(self) -> ScreeningNode | None:
        """The screening node, None while it is not built."""
        return self._node

    def _adopt(self, built: ScreeningNode | Decide | Screening) -> None:
        """Serve ``built``; a bare engine gets a node with the API settings' deadline policy."""
        if isinstance(built, ScreeningNode):
            self.metrics.node = built.metrics
            self._node = built
            return
        screening = built if isinstance(built, Screening) else Screening(decide=built)
        settings = self.settings
        self._node = ScreeningNode(
            screening.decide,
            observe=screening.observe,
            settings=NodeSettings(
                deadline_ms=settings.deadline_ms,
                default_action=settings.default_action,
                fail_open_by_ingress=settings.fail_open_by_ingress,
            ),
            metrics=self.metrics.node,
            clock=self.clock,
        )

    def load_engine(self) -> bool:
        """Build the node from its factory now (once); False when that failed."""
        if self._node is not None:
            return True
        if self._engine_factory is None or self._loading:
            return False
        self._loading = True
        return self._build_engine()

    def _build_engine(self) -> bool:
        factory = self._engine_factory
        try:
            if factory is None:
                raise RuntimeError("no engine factory was given")
            self._adopt(factory())
            if self._node is not None:
                self._node.start()  # a node of a cluster catches up: /healthz says so meanwhile
            self._engine_problem = None
        except Exception as error:
            self._engine_problem = f"{type(error).__name__}: {error}"
            logger.error("the screening engine failed to load: %s", self._engine_problem)
        finally:
            self._loading = False
        return self._node is not None

    @property
    def region(self) -> str | None:
        """The numbering plan national-format numbers are read by; None while unknown.

        ``QALQAN_HTTP_REGION`` when set to a country; with ``auto``, the screening
        engine's home country, which it may learn only from the traffic.
        """
        if self.settings.region != "auto":
            return self.settings.region
        return None if self._node is None else self._node.region

    def _engine(self) -> ScreeningNode:
        if self._node is None and not self._loading and self._engine_problem is None:
            self.load_engine()
        if self._node is not None and self._node.ready:
            return self._node
        raise NotReadyError(self._not_ready_message())

    def _not_ready_message(self) -> str:
        if self._engine_problem is not None:
            return f"the screening engine failed to load ({self._engine_problem})"
        if self._node is not None:
            return "the screening node is catching up with its cluster"
        return "the screening engine is loading"

    def _commit(self) -> None:
        """Wait until the cluster's log holds every decision made so far (nothing alone)."""
        if self._node is not None:
            self._node.commit()

    # --- screening -----------------------------------------------------------------------

    def screen(self, payload: Any) -> dict[str, Any]:
        """Judge one call attempt given as parsed JSON; raises :class:`ApiError`."""
        node = self._engine()
        return self._screen_one(node, payload, self.wall_clock())

    def _screen_one(self, node: ScreeningNode, payload: Any, arrived: datetime) -> dict[str, Any]:
        attempt = parse_attempt(payload, region=self.region, arrived=arrived)
        attempt, note = self._node_time(attempt, arrived)
        decision, judged = self._judge(node, attempt)
        if node.observe is not None:
            self._hold(attempt, decision, judged=judged)
        if note is not None:
            decision = replace(decision, reasons=(*decision.reasons, note))
        return decision_json(decision, record_id=attempt.record_id)

    def _node_time(
        self, attempt: CallAttempt, arrived: datetime
    ) -> tuple[CallAttempt, Reason | None]:
        """The attempt dated at the node's clock when the client's time is too far from it.

        The engine's rolling state moves with the attempts' times: a client free to
        date an attempt years ahead would make every key stale at once (and its own
        entries outlive their window). Past ``client_time_skew_s`` the node's own
        clock is used, and a reason of weight 0 says so.
        """
        skew = abs((attempt.time - arrived).total_seconds())
        if skew <= self.settings.client_time_skew_s:
            return attempt, None
        note = Reason.said(
            "http.client_time_ignored",
            0.0,
            "http.client_time_ignored",
            client_time=attempt.time.isoformat(),
            skew_s=f"{self.settings.client_time_skew_s:g}",
            node_time=arrived.isoformat(),
        )
        return replace(attempt, time=arrived), note

    def screen_batch(self, payload: Any) -> dict[str, Any]:
        """Judge a JSON array of call attempts; each result is a decision or an error, in order.

        One item's fault never costs the others their answers: a bad item gets its
        own error (in the one error shape), even a fault of the API itself (500).
        """
        node = self._engine()
        results, errors = self._each(
            payload, "call attempts", lambda item, arrived: self._screen_one(node, item, arrived)
        )
        return {"results": results, "count": len(results), "errors": errors}

    def _each(
        self, payload: Any, what: str, one: Callable[[Any, datetime], dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], int]:
        """Answer every item of a batch in order: ``one``'s answer, or the item's own error.

        The results, and how many of them are errors.
        """
        if not isinstance(payload, list):
            raise BadRequestError(f"a batch must be a JSON array of {what}", code="invalid_body")
        if len(payload) > self.settings.max_batch:
            raise PayloadTooLargeError(
                f"a batch holds at most {self.settings.max_batch} {what}, not {len(payload)}",
                code="batch_too_large",
            )
        arrived = self.wall_clock()
        results: list[dict[str, Any]] = []
        errors = 0
        for item in payload:
            try:
                results.append(one(item, arrived))
            except ApiError as error:
                errors += 1
                self._count_error(error)
                results.append(error.body())
            except Exception:
                logger.exception("internal error in the HTTP API on one item of a batch")
                fault = InternalError("an internal error occurred; it has been logged")
                errors += 1
                self._count_error(fault)
                results.append(fault.body())
        return results, errors

    def _judge(self, node: ScreeningNode, attempt: CallAttempt) -> tuple[Decision, bool]:
        """The node's decision, and whether the engine judged it (not fail-open's answer).

        With ``fail_open`` off, an engine's error is answered with an HTTP error
        and a late answer is kept.
        """
        try:
            return node.judge(attempt, face="http", strict=not self.settings.fail_open)
        except QalqanError as error:
            raise UnscreenableError(
                f"the screening engine refused this call attempt: {error}"
            ) from error
        except Exception as error:
            raise InternalError(
                f"the screening engine failed ({type(error).__name__})", code="engine_error"
            ) from error

    def _count_error(self, error: ApiError) -> None:
        self.metrics.errors.inc((error.code, str(error.status)))

    # --- outcomes ------------------------------------------------------------------------

    @property
    def outcomes_held(self) -> int:
        """Screened attempts held for their outcome now."""
        return len(self._held)

    def _hold(self, attempt: CallAttempt, decision: Decision, *, judged: bool) -> None:
        """Hold a screened attempt for its outcome; let go of the stale and the surplus, oldest first."""
        held = self._held
        key = _held_key(attempt)
        held.pop(key, None)
        now = self.clock()
        # Only what an outcome needs: an Identity header of 8 KB is not held for hours.
        slim = CallAttempt(
            time=attempt.time,
            caller=attempt.caller,
            callee=attempt.callee,
            ingress=attempt.ingress,
            record_id=attempt.record_id,
        )
        held[key] = _Held(now, slim, decision.action, judged)
        self._let_go(now)

    def _let_go(self, now: float) -> None:
        held = self._held
        horizon = now - self.settings.outcome_window_s
        limit = self.settings.outcome_max_attempts
        while held:  # each entry leaves once: O(entries let go)
            oldest = next(iter(held.values()))
            if oldest.at > horizon and len(held) <= limit:
                break
            held.popitem(last=False)

    def outcome(self, payload: Any) -> dict[str, Any]:
        """Learn how one screened call ended, given as parsed JSON; raises :class:`ApiError`."""
        self._engine()
        return self._outcome_one(payload, self.wall_clock())

    def outcome_batch(self, payload: Any) -> dict[str, Any]:
        """Learn a JSON array of outcomes; each result is an answer or an error, in order."""
        self._engine()
        results, errors = self._each(payload, "outcomes", self._outcome_one)
        learned = sum(result.get("learned") is True for result in results)
        return {"results": results, "count": len(results), "learned": learned, "errors": errors}

    def _outcome_one(self, payload: Any, arrived: datetime) -> dict[str, Any]:
        reported = parse_outcome(payload, region=self.region, arrived=arrived)
        attempt = reported.attempt
        observe = self._engine().observe
        if observe is None:
            return self._not_learned(
                "not_learning", "this screening engine does not learn from outcomes", attempt
            )
        if not reported.screened:
            return self._operator_record(observe, reported, arrived)
        self._let_go(self.clock())
        key = _held_key(attempt)
        held = self._held.get(key)
        if held is None:
            return self._not_learned(
                "unknown_attempt",
                "no attempt screened here in the last "
                f"{self.settings.outcome_window_s:g} s matches it (or its outcome was already "
                "reported); give the record_id the screen had",
                attempt,
            )
        screened = held.attempt
        if (screened.caller, screened.callee, screened.ingress) != (
            attempt.caller,
            attempt.callee,
            attempt.ingress,
        ):
            return self._not_learned(
                "mismatch",
                "the attempt screened with this record_id had other numbers or another ingress",
                attempt,
            )
        del self._held[key]
        if not held.judged:
            return self._not_learned(
                "unscreened",
                f"the node answered {held.action.value} without the engine's judgement "
                "(fail-open or a missed deadline)",
                attempt,
                held.action,
            )
        if held.action is not Action.ALLOW:
            return self._not_learned(
                "intercepted",
                f"the node answered {held.action.value}: what happened to an intercepted call "
                "is not contact between the numbers",
                attempt,
                held.action,
            )
        observe(_call_outcome(reported, screened, held.action))
        return self._learned(attempt, held.action)

    def _operator_record(
        self, observe: Observe, reported: ReportedOutcome, arrived: datetime
    ) -> dict[str, Any]:
        """One of the operator's own records: believed only when every client shows the token."""
        attempt = reported.attempt
        if self.settings.api_token is None:
            return self._not_learned(
                "untrusted",
                "the operator's own records (screened: false) are taken only when the API "
                "requires a token (QALQAN_HTTP_API_TOKEN)",
                attempt,
            )
        if attempt.time > arrived + timedelta(seconds=self.settings.client_time_skew_s):
            raise BadRequestError(
                f"time {attempt.time.isoformat()} is ahead of the node's clock "
                f"({arrived.isoformat()}); a record is of a call that has ended",
                field="time",
            )
        observe(_call_outcome(reported, attempt, None))
        return self._learned(attempt, None)

    def _learned(self, attempt: CallAttempt, action: Action | None) -> dict[str, Any]:
        self.metrics.outcomes.inc(("learned",))
        return {
            "learned": True,
            "reason": None,
            "message": "the engine learned how this call ended",
            "record_id": attempt.record_id,
            "action": None if action is None else action.value,
        }

    def _not_learned(
        self, reason: str, message: str, attempt: CallAttempt, action: Action | None = None
    ) -> dict[str, Any]:
        self.metrics.outcomes.inc((reason,))
        return {
            "learned": False,
            "reason": reason,
            "message": f"nothing learned: {message}",
            "record_id": attempt.record_id,
            "action": None if action is None else action.value,
        }

    # --- health and metrics --------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Liveness and readiness; raises :class:`NotReadyError` while the engine is not loaded."""
        if not self.ready:
            self._engine()
        found: dict[str, Any] = {
            "status": "ok",
            "ready": True,
            "version": __version__,
            "uptime_s": round(self.clock() - self._started, 3),
        }
        node = self._node
        if node is not None and node.store_up is not None:
            found["cluster_store_up"] = node.store_up
        return found

    # --- requests ------------------------------------------------------------------------

    def _endpoint(self, method: str, path: str) -> _Endpoint:
        endpoint = _ENDPOINTS.get(path)
        if endpoint is None:
            raise NotFoundError(f"no endpoint at {path[:200]} (the API has {_ENDPOINT_LIST})")
        if method not in endpoint.methods:
            raise MethodNotAllowedError(
                f"{method[:20]} is not allowed on {path}; use {' or '.join(endpoint.methods)}",
                allow=endpoint.methods,
            )
        return endpoint

    def _admit(self, endpoint: _Endpoint, headers: Mapping[str, str]) -> None:
        """Check what can be checked before the body is read: token, media type, length."""
        token = self.settings.api_token
        if endpoint.protected and token is not None:
            scheme, _, given = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.matches(given.strip()):
                raise UnauthorizedError("send the API token as Authorization: Bearer TOKEN")
        if not endpoint.needs_body:
            return
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            shown = f"'{media[:60]}'" if media else "no Content-Type"
            raise UnsupportedMediaTypeError(
                f"send JSON with Content-Type: application/json, not {shown}"
            )
        length = headers.get("content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                raise BadRequestError(
                    "Content-Length is not a number", code="invalid_body"
                ) from None
            self._check_size(size)

    def _check_size(self, size: int) -> None:
        if size > self.settings.max_body_bytes:
            raise PayloadTooLargeError(
                f"the request body is {size} bytes; the limit is {self.settings.max_body_bytes}"
            )

    def _dispatch(self, endpoint: _Endpoint, body: bytes) -> Response:
        route = endpoint.route
        if route == "/v1/screen":
            screened = self.screen(parse_json(body))
            self._commit()
            return Response(200, _dumps(screened))
        if route == "/v1/screen/batch":
            batch = self.screen_batch(parse_json(body))
            self._commit()
            return Response(200, _dumps(batch))
        if route == "/v1/outcome":
            learned = self.outcome(parse_json(body))
            self._commit()
            return Response(202, _dumps(learned))
        if route == "/v1/outcome/batch":
            outcomes = self.outcome_batch(parse_json(body))
            self._commit()
            return Response(200, _dumps(outcomes))
        if route == "/healthz":
            return Response(200, _dumps(self.health()))
        return Response(200, self.metrics.render().encode(), content_type=_PROMETHEUS)

    def handle(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        """Answer one request in-process: no server, no port (tests, tools, ``--get``)."""
        started = self.clock()
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        endpoint: _Endpoint | None = None
        try:
            endpoint = self._endpoint(method, path)
            self._admit(endpoint, lowered)
            self._check_size(len(body))
            response = self._dispatch(endpoint, body)
        except ApiError as error:
            response = self._refuse(error)
        except Exception:
            response = self._fault()
        self._count_request(endpoint, response.status, started)
        if method == "HEAD":
            return Response(response.status, b"", response.headers, response.content_type)
        return response

    def _refuse(self, error: ApiError) -> Response:
        self._count_error(error)
        return _error_response(error)

    def _fault(self) -> Response:
        logger.exception("internal error in the HTTP API")
        return self._refuse(InternalError("an internal error occurred; it has been logged"))

    def _count_request(self, endpoint: _Endpoint | None, status: int, started: float) -> None:
        route = endpoint.route if endpoint is not None else "unmatched"
        self.metrics.requests.inc((route, str(status)))
        self.metrics.request_latency.observe(self.clock() - started, (route,))

    # --- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # websocket: not spoken here
            await send({"type": "websocket.close", "code": 1003})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = self.clock()
        method: str = scope["method"]
        path: str = scope["path"]
        endpoint: _Endpoint | None = None
        try:
            endpoint = self._endpoint(method, path)
            headers = _headers(scope["headers"])
            self._admit(endpoint, headers)
            body = await self._read_body(receive) if endpoint.needs_body else b""
            response = self._dispatch(endpoint, body)
        except ApiError as error:
            response = self._refuse(error)
        except Exception:
            response = self._fault()
        self._count_request(endpoint, response.status, started)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": response.header_list(),
            }
        )
        await send(
            {"type": "http.response.body", "body": b"" if method == "HEAD" else response.body}
        )

    async def _read_body(self, receive: Receive) -> bytes:
        limit = self.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise BadRequestError("the client went away mid-request", code="invalid_body")
            chunk: bytes = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLargeError(
                        f"the request body is over the limit of {limit} bytes"
                    )
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _keep_up(self) -> None:
        """Between requests, let a node of a cluster apply the others' events (see
        :meth:`~qalqan.screening.node.ScreeningNode.keep_up`)."""
        while True:
            await asyncio.sleep(_KEEP_UP_S)
            node = self._node
            if node is not None and node.shared is not None:
                try:
                    node.keep_up()
                except Exception:
                    logger.exception("the screening node failed to keep up with its cluster")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        loader: asyncio.Task[bool] | None = None
        ticker = asyncio.create_task(self._keep_up())
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._node is None:
                    # Load in a worker thread: the server answers /healthz (not ready) meanwhile.
                    self._loading = True
                    loader = asyncio.create_task(asyncio.to_thread(self._build_engine))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                ticker.cancel()
                if loader is not None and not loader.done():
                    loader.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _held_key(attempt: CallAttempt) -> Hashable:
    """Where a screened attempt is held: by its record_id, else by its numbers and ingress."""
    if attempt.record_id is not None:
        return attempt.record_id
    return (attempt.caller, attempt.callee, attempt.ingress)


def _call_outcome(
    reported: ReportedOutcome, attempt: CallAttempt, action: Action | None
) -> CallOutcome:
    """What the engine observes: the attempt as judged (its time too), and how it ended."""
    return CallOutcome(
        attempt=attempt,
        answered=reported.answered,
        duration_s=reported.duration_s,
        action=action,
        event=reported.event,
    )


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request headers the API reads, by lower-case name (ASGI gives them lower-cased)."""
    wanted = (b"content-type", b"content-length", b"authorization")
    return {
        name.decode("latin-1"): value.decode("latin-1") for name, value in raw if name in wanted
    }
