"""The screening node: the engine, what it knows, its deadline and fail-open policy, its metrics.

Both faces of a node, the SIP redirect server (:mod:`qalqan.sip`) and the HTTP
API (:mod:`qalqan.api`), only translate: an INVITE or a JSON body into a
:class:`~qalqan.domain.model.CallAttempt`, :meth:`ScreeningNode.screen`, and
the :class:`~qalqan.domain.model.Decision` back into a SIP answer or JSON.
Everything between is here, once:

- **the engine and its lists**, built one way, :meth:`ScreeningNode.build`,
  from :class:`NodeSettings`, a rules file, the operator's data set (an
  exchange-v1 folder: subscribers, roaming, registry, cells; contact learned
  from its ``cdrs``), reputation lists (:func:`reputation_lists`) and the
  STIR/SHAKEN verifier (``QALQAN_STIR_*``);
- **one deadline and one fail-open policy**: a call gets ``deadline_ms``
  (default 50 ms) from its arrival at the node, queueing included; an engine
  that raises or answers later is replaced by the fail-open action for the
  call's ingress class (``fail_open_by_ingress``, else ``default_action``,
  default ``allow``), with a reason saying so. Why these defaults: 50 ms is far
  below what a caller notices in post-dial delay and below SIP's first
  retransmission (T1, 500 ms), yet a thousand times the engine's typical
  decision; and a fraud screen that fails must not cut subscribers off, so a
  call the node cannot judge goes through (``allow``) unless the operator
  chooses otherwise, for international routes say (``international=divert``).
  The rules file's own ``deadline.budget_us`` stays what it is, the engine's
  budget for running its rules (replay reproduces it);
- **the decision metrics**, the same Prometheus families on both faces'
  ``/metrics``: decisions by action, reasons by rule, fail-opens by cause,
  deadline misses (the node's budget, or the engine's own), time in the engine;
- **its share of a cluster** (``cluster=``, :mod:`qalqan.screening.cluster`):
  other nodes' state events applied before each decision, its own sent with
  :meth:`ScreeningNode.commit`, which the faces call before answers leave;
  until :meth:`ScreeningNode.start` has caught up, and while the store is lost
  under ``on_store_loss = fail_open``, calls are answered the fail-open action
  with the cause ``store``.

A node is run from one thread (the SIP event loop, the HTTP event loop), as
its engine is.

    >>> from qalqan.domain.model import Action, CallAttempt, Decision, Ingress
    >>> from datetime import UTC, datetime
    >>> node = ScreeningNode(lambda attempt: Decision(action=Action.WARN, score=0.5))
    >>> attempt = CallAttempt(time=datetime(2026, 1, 1, tzinfo=UTC), caller=None,
    ...                       callee="+77011234567", ingress=Ingress.parse("mobile"))
    >>> node.screen(attempt, face="sip").action.value
    'warn'
    >>> node.metrics.decisions.get(("warn",))
    1.0
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from qalqan import config
from qalqan.config import setting
from qalqan.domain.model import Action, CallAttempt, Decision, IngressClass, Reason
from qalqan.domain.numbers import region_of_engine
from qalqan.errors import ConfigError, QalqanError
from qalqan.metrics import Counter, Histogram
from qalqan.screening.cluster import (
    APPLY_PER_CALL,
    APPLY_PER_TICK,
    ClusterMetrics,
    ClusterSettings,
    SharedState,
)
from qalqan.screening.engine import DEADLINE_MISSED
from qalqan.screening.signals import CallOutcome
from qalqan.throttled_log import ThrottledLog

if TYPE_CHECKING:
    from qalqan.screening.engine import ScreeningEngine
    from qalqan.screening.history import ContactHistory
    from qalqan.screening.reputation import ReputationLists
    from qalqan.screening.stir import StirSettings

__all__ = [
    "FACE_SETTINGS",
    "FAIL_OPEN_KEYS",
    "Decide",
    "NodeMetrics",
    "NodeSettings",
    "Observe",
    "ScreeningNode",
    "actions_by_ingress",
    "as_action",
    "reputation_lists",
]

logger = logging.getLogger(__name__)

#: A screening engine as the node sees it: a call attempt in, a decision out.
Decide = Callable[[CallAttempt], Decision]
#: How the engine learns how a call ended (``ScreeningEngine.observe``).
Observe = Callable[[CallOutcome], None]

_INGRESS_CLASSES = frozenset(c.value for c in IngressClass)
_ACTION_KEYS: Mapping[Action, tuple[str]] = {action: (action.value,) for action in Action}

#: The message key of each fail-open reason, by face and cause (``refused``: the engine refused
#: the attempt with a Qalqan error, which the reason quotes).
FAIL_OPEN_KEYS: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("sip", "error"): "sip.fail_open.error",
        ("sip", "refused"): "sip.fail_open.error.refused",
        ("sip", "deadline"): "sip.fail_open.deadline",
        ("sip", "expired"): "sip.fail_open.expired",
        ("sip", "overload"): "sip.fail_open.overload",
        ("sip", "store"): "sip.fail_open.store",
        ("http", "error"): "http.fail_open.error",
        ("http", "refused"): "http.fail_open.error.refused",
        ("http", "deadline"): "http.fail_open.deadline",
        ("http", "expired"): "http.fail_open.expired",
        ("http", "overload"): "http.fail_open.overload",
        ("http", "store"): "http.fail_open.store",
    }
)

#: The settings of the faces (SIP and HTTP) that the node's settings replace, by the same names.
FACE_SETTINGS: tuple[str, ...] = ("deadline_ms", "default_action", "fail_open_by_ingress")


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeSettings:
    """The screening node's deadline and fail-open policy, read from ``QALQAN_NODE_*``."""

    deadline_ms: float = field(
        default=50.0,
        metadata=setting(
            "QALQAN_NODE_DEADLINE_MS",
            "Screening budget of one call, from its arrival at the node (queueing included); "
            "a later answer is replaced by the fail-open action.",
        ),
    )
    default_action: Action = field(
        default=Action.ALLOW,
        metadata=setting(
            "QALQAN_NODE_DEFAULT_ACTION",
            "Action answered when screening fails open (engine error, missed deadline, node over "
            "capacity): allow, warn, divert or block.",
        ),
    )
    fail_open_by_ingress: Mapping[str, Action] = field(
        default_factory=dict,
        metadata=setting(
            "QALQAN_NODE_FAIL_OPEN_BY_INGRESS",
            "Per ingress class, the action answered instead of the default when screening fails "
            "open, as CLASS=ACTION,... (e.g. international=divert,voip=divert).",
        ),
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "default_action", as_action(self.default_action))
        object.__setattr__(
            self,
            "fail_open_by_ingress",
            MappingProxyType(
                {str(k): as_action(v) for k, v in dict(self.fail_open_by_ingress).items()}
            ),
        )
        problems = self.problems()
        if problems:
            raise ConfigError("Screening node settings: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every mistake in these settings, each naming its environment variable."""
        env = {f.name: f.metadata["env"] for f in fields(self)}
        problems: list[str] = []
        if not self.deadline_ms > 0:
            problems.append(f"{env['deadline_ms']}={self.deadline_ms} must be above 0")
        actions = ", ".join(a.value for a in Action)
        if not isinstance(cast(object, self.default_action), Action):
            problems.append(
                f"{env['default_action']}: '{self.default_action}' is not one of {actions}"
            )
        classes = ", ".join(c.value for c in IngressClass)
        for kind, action in self.fail_open_by_ingress.items():
            if kind not in _INGRESS_CLASSES:
                problems.append(
                    f"{env['fail_open_by_ingress']}: '{kind}' is not an ingress class ({classes})"
                )
            if not isinstance(cast(object, action), Action):
                problems.append(
                    f"{env['fail_open_by_ingress']}: '{action}' is not one of {actions}"
                )
        return problems

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        face: object | None = None,
        **overrides: Any,
    ) -> NodeSettings:
        """Settings from the ``node`` table of the settings file and ``QALQAN_NODE_*``, over
        what a face's older settings say.

        ``face`` is the settings of the face serving the node (``SipConfig``,
        ``ApiSettings``): their ``deadline_ms``, ``default_action`` and
        ``fail_open_by_ingress``, which these settings replace, still count where
        they differ from their defaults and the node's own setting is not given
        (in the settings file's ``node`` table or its variable).
        ``overrides`` (None: not given) win over both. Every mistake is named in
        one :class:`ConfigError`.
        """
        found = config.resolve(cls, environ=environ, flags=overrides)
        settings: NodeSettings = found.settings
        if face is None:
            return settings
        defaults = type(face)()
        older: dict[str, Any] = {}
        for name in FACE_SETTINGS:
            if found.sources[name] != config.DEFAULT:  # the node's own setting was given
                continue
            value, default = getattr(face, name, None), getattr(defaults, name, None)
            if isinstance(value, Mapping) and isinstance(default, Mapping):
                value, default = dict(value), dict(default)
            if value != default:
                older[name] = value
        return dataclasses.replace(settings, **older) if older else settings

    def fail_open_action(self, kind: IngressClass) -> Action:
        """The action answered unscreened for a call from ``kind``."""
        return self.fail_open_by_ingress.get(kind.value, self.default_action)

    def replace(self, **changes: Any) -> NodeSettings:
        """A copy with ``changes`` applied (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def registry(cls) -> list[tuple[str, str, str, str]]:
        """``(field, environment variable, default as shown, help)`` of every setting."""
        return config.registry(cls)

    def shown(self) -> dict[str, str]:
        """Every setting as it may be printed."""
        return config.shown(self)


def as_action(value: object) -> Action | Any:
    """An :class:`Action` when ``value`` names one; otherwise ``value``, for problems() to name."""
    if isinstance(value, Action):
        return value
    try:
        return Action(str(value).strip().lower())
    except ValueError:
        return value


def actions_by_ingress(raw: str) -> dict[str, Any]:
    """``international=divert,voip=divert`` as a mapping; problems() checks the names."""
    found: dict[str, Any] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        kind, equals, action = part.partition("=")
        if not equals or not kind.strip() or not action.strip():
            raise ValueError(f"'{part.strip()}' is not CLASS=ACTION (e.g. international=divert)")
        found[kind.strip().lower()] = as_action(action)
    return found


def _parse(kind: Any, raw: str) -> Any:
    if kind == Mapping[str, Action]:
        return actions_by_ingress(raw)
    return config.parse_value(kind, raw)


class NodeMetrics:
    """The decision metrics of one node, the same families on every face's ``/metrics``.

    - ``qalqan_node_decisions_total{action}``: answers given, fail-opens included;
    - ``qalqan_node_decision_reasons_total{rule}``: reasons given, by rule id;
    - ``qalqan_node_fail_open_total{cause}``: answers the engine did not give
      (``error``, ``deadline``, ``expired`` in the queue, ``overload``);
    - ``qalqan_node_deadline_misses_total{budget}``: calls past the node's
      deadline (``node``) or the engine's own rules budget (``engine``);
    - ``qalqan_node_engine_seconds``: time in the engine per call attempt;
    - in a cluster, the cluster's families (:class:`~qalqan.screening.cluster.ClusterMetrics`).
    """

    def __init__(self) -> None:
        self.decisions = Counter(
            "qalqan_node_decisions_total", "Screening answers given, by action.", ("action",)
        )
        self.reasons = Counter(
            "qalqan_node_decision_reasons_total",
            "Reasons given with screening answers, by rule id.",
            ("rule",),
        )
        self.fail_open = Counter(
            "qalqan_node_fail_open_total",
            "Answers of the fail-open action because the engine failed or was late or the node "
            "was over capacity, by cause.",
            ("cause",),
        )
        self.deadline_misses = Counter(
            "qalqan_node_deadline_misses_total",
            "Calls past a time budget: the node's deadline (node) or the engine's rules budget "
            "(engine).",
            ("budget",),
        )
        self.engine_latency = Histogram(
            "qalqan_node_engine_seconds", "Time spent in the screening engine per call attempt."
        )
        self.cluster: ClusterMetrics | None = None
        """The cluster's families when the node shares its state, else None."""

    def families(self) -> tuple[Counter | Histogram, ...]:
        return (
            self.decisions,
            self.reasons,
            self.fail_open,
            self.deadline_misses,
            self.engine_latency,
        )

    def render_lines(self) -> list[str]:
        """The families as lines of the Prometheus text format."""
        lines: list[str] = []
        for family in self.families():
            lines.extend(family.render())
        if self.cluster is not None:
            lines.extend(self.cluster.render_lines())
        return lines

    def count(self, decision: Decision) -> bool:
        """Count one answer given: its action and the rule of each of its reasons.

        True unless a reason says the engine missed its own budget (no judgement).
        """
        by_action = self.decisions.values
        action = _ACTION_KEYS[decision.action]
        if action in by_action:  # the common case, without a call
            by_action[action] += 1.0
        else:
            self.decisions.inc(action)
        judged = True
        counted = self.reasons.values
        for reason in decision.reasons:
            key = (reason.rule,)
            if key in counted:  # the common case, without a call
                counted[key] += 1.0
            else:
                self.reasons.inc(key)
            if key[0] == DEADLINE_MISSED:
                judged = False
        return judged


class ScreeningNode:
    """The engine behind every face: ``screen(attempt)`` under one deadline, with metrics.

    ``decide`` is the engine (Qalqan's ``ScreeningEngine.screen``: decide, then
    remember the attempt), ``observe`` how it learns how calls ended (None: it
    does not). :meth:`build` makes both from the settings and the operator's data,
    and keeps the engine as :attr:`engine`, whose lists, subscribers and roaming
    an operator's process updates while the node runs
    (``node.engine.lists.load_csv(path)``, ``node.engine.subscribers.start_roaming(...)``).
    """

    def __init__(
        self,
        decide: Decide,
        *,
        observe: Observe | None = None,
        settings: NodeSettings | None = None,
        metrics: NodeMetrics | None = None,
        clock: Callable[[], float] = time.perf_counter,
        engine: ScreeningEngine | None = None,
        shared: SharedState | None = None,
    ) -> None:
        self.decide = decide
        self.engine = engine
        """Qalqan's engine when the node was built around one (:meth:`build`), else None."""
        self.shared = shared
        """The node's share of a cluster (:meth:`build` with ``cluster``), else None."""
        self.observe = observe
        self.settings = settings if settings is not None else NodeSettings()
        self.metrics = metrics if metrics is not None else NodeMetrics()
        self.clock = clock
        self._deadline_s = self.settings.deadline_ms / 1000.0
        self._complaints = ThrottledLog(logger)
        if shared is not None:
            self.metrics.cluster = shared.metrics

    @classmethod
    def build(
        cls,
        settings: NodeSettings | None = None,
        *,
        rules: Path | None = None,
        data: Path | None = None,
        lists: Iterable[Path] = (),
        stir: StirSettings | None = None,
        environ: Mapping[str, str] | None = None,
        on_history: Callable[[ContactHistory], None] | None = None,
        now: datetime | None = None,
        cluster: ClusterSettings | None = None,
    ) -> ScreeningNode:
        """A node around Qalqan's engine: the one way a served node is built.

        ``rules`` is the rules file (None: the shipped rules); ``data`` an
        exchange-v1 folder of the operator's reference tables, whose ``cdrs``
        teach the engine contact at start (up to ``now``; ``on_history`` is told
        what was learned); ``lists`` reputation lists (:func:`reputation_lists`);
        ``stir`` the STIR/SHAKEN settings (None: read from ``environ``,
        ``QALQAN_STIR_*``); ``cluster`` the cluster to share the state with (None, or
        no ``url``: none), which :meth:`start` then joins. Raises :class:`ConfigError`
        for a missing file.
        """
        from qalqan.screening.config import load_config
        from qalqan.screening.engine import ScreeningEngine
        from qalqan.screening.stir import StirSettings

        if rules is not None and not Path(rules).is_file():
            raise ConfigError(f"rules file {rules}: there is no such file")
        if data is not None and not Path(data).is_dir():
            raise ConfigError(f"reference tables {data}: there is no such folder")
        verifier = (stir if stir is not None else StirSettings.from_env(environ)).verifier()
        known = reputation_lists(lists)
        rules_config = load_config(rules)
        if data is None:
            engine = ScreeningEngine(rules_config, lists=known, verifier=verifier)
        else:
            from qalqan.screening.history import learn_contacts

            engine = ScreeningEngine.from_dataset(
                data, rules_config, lists=known, verifier=verifier
            )
            # A node rarely sees a call end: contact comes from the operator's records.
            learned = learn_contacts(engine, data, now=now)
            if on_history is not None:
                on_history(learned)
        if cluster is None or not cluster.enabled:
            return cls(engine.screen, observe=engine.observe, settings=settings, engine=engine)
        shared = SharedState(engine, cluster)
        return cls(
            engine.screen, observe=shared.observe, settings=settings, engine=engine, shared=shared
        )

    # --- the cluster -------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether the node answers with its judgement: always alone; in a cluster, once it
        has caught up (:meth:`start`)."""
        return self.shared is None or self.shared.ready

    @property
    def store_up(self) -> bool | None:
        """Whether the cluster's store answers; None for a node alone."""
        return None if self.shared is None else self.shared.store_up

    def start(self) -> None:
        """Catch up with the cluster and follow it (nothing for a node alone); raises
        :class:`~qalqan.screening.cluster.ClusterError` when the store cannot be reached."""
        if self.shared is not None:
            self.shared.start()

    def stop(self) -> None:
        """Stop following the cluster (nothing for a node alone)."""
        if self.shared is not None:
            self.shared.stop()

    def keep_up(self) -> None:
        """Between calls: apply the other nodes' events, take a snapshot when one is due, and
        publish what was kept while the store was down once it is back (nothing for a node
        alone). A face's timer calls it, so that a node without traffic does not fall behind."""
        shared = self.shared
        if shared is None or not shared.ready:
            return
        shared.apply_pending(APPLY_PER_TICK)
        if shared.pending and shared.store_up:
            shared.commit()

    def commit(self) -> bool:
        """Wait until the store holds the events of every decision made so far (group commit).

        A face calls it once per batch of requests, before the answers leave. True when they
        are all in the store (always, for a node alone); False when the store is deemed lost
        (the events are kept for a later commit, up to ``max_pending``).
        """
        return True if self.shared is None else self.shared.commit()

    @property
    def region(self) -> str | None:
        """The engine's home country (ISO 3166 alpha-2), None while it is not known."""
        return region_of_engine(self.decide)

    # --- screening ---------------------------------------------------------------------------

    def screen(self, attempt: CallAttempt, *, face: str, arrived: float | None = None) -> Decision:
        """Judge one attempt under the deadline; fail open as configured.

        ``face`` names the face asking (``sip``, ``http``): fail-open reasons
        carry it (``sip.fail_open.deadline``). ``arrived`` is when the call
        reached the node, on :attr:`clock`; None: now.
        """
        return self._judge(attempt, face, arrived, False)[0]

    def judge(
        self,
        attempt: CallAttempt,
        *,
        face: str,
        arrived: float | None = None,
        strict: bool = False,
    ) -> tuple[Decision, bool]:
        """:meth:`screen`, and whether the engine judged the attempt.

        The flag is False when the answer is fail-open's or the engine's own missed
        budget's: such an answer is no judgement, and its outcome teaches nothing.
        ``strict``: an engine's error is raised (after being counted) and a late
        answer is kept, for a face that reports them rather than fail open.
        """
        return self._judge(attempt, face, arrived, strict)

    def _judge(
        self, attempt: CallAttempt, face: str, arrived: float | None, strict: bool
    ) -> tuple[Decision, bool]:
        clock = self.clock
        started = clock()
        waited = 0.0 if arrived is None else started - arrived
        if waited > self._deadline_s:
            self.metrics.deadline_misses.inc(("node",))
            waited_ms = f"{waited * 1000:.0f}"
            return self.fail_open("expired", attempt, face=face, waited_ms=waited_ms), False
        shared = self.shared
        if shared is not None and not shared.judging:
            return self.fail_open("store", attempt, face=face), False
        try:
            if shared is not None:
                shared.apply_pending(APPLY_PER_CALL)
            decision = self.decide(attempt)
            if not isinstance(decision, Decision):
                raise TypeError(f"decide returned {type(decision).__name__}, not a Decision")
            if shared is not None:
                shared.recorded(attempt, decision)
        except Exception as error:
            elapsed = clock() - started
            self.metrics.engine_latency.observe(elapsed)
            return self._failed(error, attempt, face=face, elapsed=elapsed, strict=strict), False
        elapsed = clock() - started
        metrics = self.metrics
        metrics.engine_latency.observe(elapsed)
        if waited + elapsed > self._deadline_s:
            metrics.deadline_misses.inc(("node",))
            if not strict:
                return self.fail_open(
                    "deadline",
                    attempt,
                    face=face,
                    elapsed=elapsed,
                    elapsed_ms=f"{elapsed * 1000:.0f}",
                    deadline_ms=f"{self.settings.deadline_ms:g}",
                ), False
        judged = metrics.count(decision)
        if not judged:
            metrics.deadline_misses.inc(("engine",))
        if not decision.latency_us:
            decision = replace(decision, latency_us=elapsed * 1e6)
        return decision, judged

    def _failed(
        self, error: Exception, attempt: CallAttempt, *, face: str, elapsed: float, strict: bool
    ) -> Decision:
        """The engine raised: fail open, saying why, or (``strict``) raise it again."""
        if isinstance(error, QalqanError):  # the engine refused this attempt, and said why
            if strict:
                raise error
            return self.fail_open(
                "error", attempt, face=face, elapsed=elapsed, refused=True, error=str(error)
            )
        self._complaints.log(
            logging.WARNING,
            type(error).__name__,
            "screening failed for call %s: %r",
            attempt.record_id,
            error,
        )
        if strict:
            raise error
        return self.fail_open(
            "error", attempt, face=face, elapsed=elapsed, error_type=type(error).__name__
        )

    def fail_open(
        self,
        cause: str,
        attempt: CallAttempt,
        *,
        face: str,
        elapsed: float = 0.0,
        refused: bool = False,
        **facts: object,
    ) -> Decision:
        """The answer for a call the engine did not judge: the fail-open action, with its reason.

        ``cause`` is ``error``, ``deadline``, ``expired``, ``overload`` or ``store``
        (the cluster's store is lost, or the node is still catching up); the
        reason's rule is ``{face}.fail_open.{cause}``, its message key that of
        :data:`FAIL_OPEN_KEYS` (``refused``: the engine refused the attempt with
        a Qalqan error).
        """
        self.metrics.fail_open.inc((cause,))
        action = self.settings.fail_open_action(attempt.ingress.kind)
        decision = Decision(
            action=action,
            score=0.0,
            reasons=(
                Reason.said(
                    f"{face}.fail_open.{cause}",
                    0.0,
                    FAIL_OPEN_KEYS[face, "refused" if refused else cause],
                    action=action.value,
                    ingress=attempt.ingress.kind.value,
                    **facts,
                ),
            ),
            latency_us=elapsed * 1e6,
            record_id=attempt.record_id,
        )
        self.metrics.count(decision)
        return decision

    def count(self, decision: Decision) -> None:
        """Count an answer a face gave without the engine (a call it could not screen)."""
        self.metrics.count(decision)


def reputation_lists(paths: Iterable[Path]) -> ReputationLists:
    """Reputation lists from ``qalqan analyze`` output folders and CSV files, in order."""
    from qalqan.errors import UnreadableFileError
    from qalqan.screening.reputation import ReputationLists

    lists = ReputationLists()
    for path in paths:
        if path.is_dir():
            lists.load_analysis(path)
        elif path.is_file():
            lists.load_csv(path)
        else:
            raise UnreadableFileError(path, "there is no such file or folder")
    return lists


config.part("node", prefix="QALQAN_NODE_", title="Screening node settings", parse=_parse)(
    NodeSettings
)
