"""The screening engine: one call attempt in, ``allow``/``warn``/``divert``/``block`` out, with reasons.

    engine = ScreeningEngine(load_config(), subscribers=subs, protected=registry, lists=lists)
    decision = engine.screen(attempt)      # decide, then remember the attempt
    engine.observe(CallOutcome(attempt=attempt, answered=False, duration_s=0,
                               action=decision.action))  # when it ends

The engine is synchronous, does no I/O and is deterministic given its state
and the attempt's time: the same attempts in the same order give the same
decisions (only ``latency_us`` differs — and, when a decision overruns the time
budget, the deadline's default action). It knows only what happened before
the attempt: :meth:`decide` reads the rolling state and changes nothing;
:meth:`record` adds the attempt to the state afterwards; :meth:`observe` adds
how a call ended, once it has. :meth:`screen` is decide-then-record, which is
what the SIP and HTTP faces call for every INVITE.

**Scoring.** Each enabled signal (:mod:`qalqan.screening.rules`) that fires
gives a :class:`~qalqan.domain.model.Reason` with a weight. Evidence of fraud
(weights above 0) combines like independent witnesses — ``1 − Π(1 − w)`` —
and evidence for the call (weights below 0) then scales the result by
``Π(1 + w)``. The score maps to an action through the configured thresholds;
a vulnerable callee (an elderly subscriber who wants protection) gets lower
thresholds. Two guards override the arithmetic:

- a signal marked *supporting only* (STIR/SHAKEN) never sets the action alone;
- a call presenting our subscriber's number while that SIM is registered
  abroad is never blocked (``roaming.max_action``).

**Deadline.** Past the configured budget the rules still to run are skipped
and the configured default action is answered, with a reason saying so.

The hot path is plain Python over dicts: signals applicable to each ingress
class are chosen once, facts shared by signals are computed once per attempt
(:class:`~qalqan.screening.signals.Context`), numbering-plan facts are cached.
A long-running node should call :func:`gc.freeze` once the engine is loaded
(and now and then as its state grows): the state is acyclic, and the cyclic
collector's full passes over it are what otherwise costs milliseconds.

**Time.** The engine's clock is the time of the attempts it is given, and its
rolling windows move with it: within one engine, times must move forward with
the traffic and stay near the node's own clock. A little disorder only delays
forgetting; an attempt dated years ahead would make every key stale at once,
and one far in the past is forgotten at once. The faces see to it: the SIP node
dates each INVITE itself, the HTTP API believes a client's time only within
``client_time_skew_s`` of its clock, replay feeds the data's times in order.

**What it learns from.** Features that speak *for* a later call (earlier
contact, a number established on a route, a number seen on our radio, calls a
SIM received) learn only from attempts the engine allowed and from outcomes
of calls it allowed or never screened; never from an attempt it intercepted,
so redialling cannot make a call look better (:mod:`qalqan.screening.features`).

One engine is not thread-safe: call it from one thread (the SIP event loop,
one HTTP worker) or behind a lock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter_ns
from typing import Final

from qalqan.domain.model import Action, CallAttempt, Decision, IngressClass, Reason
from qalqan.screening.compact_state import CompactStateStore
from qalqan.screening.config import ScreeningConfig, load_config
from qalqan.screening.network import CellSites, ProtectedNumbers, Subscribers, guess_home_region
from qalqan.screening.numbering import warm_up
from qalqan.screening.reputation import ReputationLists
from qalqan.screening.signals import (
    SIGNALS,
    CallOutcome,
    Context,
    Environment,
    IdentityVerifying,
    Signal,
)
from qalqan.screening.state import (
    InMemoryStateStore,
    RecentKeys,
    RollingCount,
    RollingDistinct,
    StateStore,
)

__all__ = ["DEADLINE_MISSED", "ScreeningEngine", "allowed", "fired", "judged"]

DEADLINE_MISSED: Final = "deadline.missed"
"""The rule of the reason saying the engine missed its deadline and answered its default."""
"""The rule of the reason a missed deadline gives: its default action is no judgement."""
_RANK: Final = {Action.ALLOW: 0, Action.WARN: 1, Action.DIVERT: 2, Action.BLOCK: 3}
_KeyOf = Callable[[Context], Hashable | None]


@dataclass(frozen=True, slots=True)
class _Updates:
    """How one stage (attempt recorded, outcome revealed) updates the rolling state."""

    counts: tuple[tuple[Callable[[Hashable, float], None], _KeyOf], ...]
    distincts: tuple[tuple[Callable[[Hashable, float, Hashable], None], _KeyOf, _KeyOf], ...]
    recents: tuple[tuple[Callable[[Hashable, float], None], _KeyOf], ...]

    def __bool__(self) -> bool:
        return bool(self.counts or self.distincts or self.recents)

    def apply(self, context: Context) -> None:
        t = context.t
        for add, key_of in self.counts:
            key = key_of(context)
            if key is not None:
                add(key, t)
        for add_item, key_of, item_of in self.distincts:
            key = key_of(context)
            if key is not None:
                item = item_of(context)
                if item is not None:
                    add_item(key, t, item)
        for add, key_of in self.recents:
            key = key_of(context)
            if key is not None:
                add(key, t)


def judged(decision: Decision) -> bool:
    """Whether the engine judged the attempt, rather than answer its missed deadline's default."""
    return all(reason.rule != DEADLINE_MISSED for reason in decision.reasons)


class ScreeningEngine:
    """Decides what to do with call attempts, from the rolling state and what the operator knows."""

    def __init__(
        self,
        config: ScreeningConfig | None = None,
        *,
        state: StateStore | None = None,
        lists: ReputationLists | None = None,
        subscribers: Subscribers | None = None,
        protected: ProtectedNumbers | None = None,
        cells: CellSites | None = None,
        verifier: IdentityVerifying | None = None,
    ) -> None:
        self.config = config = config if config is not None else load_config()
        warm_up()  # no caller ID may cost a pattern compilation on the hot path
        if state is None:
            held = CompactStateStore if config.state_store == "compact" else InMemoryStateStore
            state = held(max_keys=config.max_keys, max_items=config.max_items)
        self.state = state
        self.lists = lists if lists is not None else ReputationLists()
        self.subscribers = subscribers if subscribers is not None else Subscribers()
        self.protected = protected if protected is not None else ProtectedNumbers()
        self.cells = cells if cells is not None else CellSites()
        home = config.home_region or guess_home_region(self.subscribers)
        self.env = Environment(
            state=self.state,
            subscribers=self.subscribers,
            protected=self.protected,
            cells=self.cells,
            lists=self.lists,
            home_region=home,
            young_sim_days=config.young_sim_days,
            roaming_grace_s=config.roaming_grace_s,
            verifier=verifier,
        )
        self.signals: tuple[Signal, ...] = tuple(
            SIGNALS[rule](config.rules[rule], self.env) for rule in config.enabled()
        )
        self._by_ingress: dict[IngressClass, tuple[Signal, ...]] = {
            kind: tuple(s for s in self.signals if kind in s.applies_to) for kind in IngressClass
        }
        self._on_attempt = {kind: self._updates("attempt", kind) for kind in IngressClass}
        self._on_outcome = {kind: self._updates("outcome", kind) for kind in IngressClass}
        self._outcome_kinds = frozenset(k for k, u in self._on_outcome.items() if u)
        self._budget_ns = (
            int(config.deadline_us * 1000) if math.isfinite(config.deadline_us) else 1 << 62
        )
        self._thresholds = config.thresholds
        self._vulnerable = config.vulnerable_thresholds
        self._roaming_cap = config.roaming_max_action

    @classmethod
    def from_dataset(
        cls,
        data_dir: Path,
        config: ScreeningConfig | None = None,
        *,
        lists: ReputationLists | None = None,
        verifier: IdentityVerifying | None = None,
        protection_list: Path | None = None,
    ) -> ScreeningEngine:
        """An engine knowing the subscribers, roaming, registry and cells of an exchange-v1 folder.

        ``cdrs`` is not read: the engine learns traffic only as it screens it.
        """
        from qalqan.exchange.reader import DataSet
        from qalqan.screening.network import load_network

        network = load_network(DataSet.open(data_dir))
        if protection_list is not None:
            network.subscribers.load_protection_list(protection_list)
        return cls(
            config,
            lists=lists,
            subscribers=network.subscribers,
            protected=network.protected,
            cells=network.cells,
            verifier=verifier,
        )

    def _updates(self, stage: str, kind: IngressClass) -> _Updates:
        counts: list[tuple[Callable[[Hashable, float], None], _KeyOf]] = []
        distincts: list[tuple[Callable[[Hashable, float, Hashable], None], _KeyOf, _KeyOf]] = []
        recents: list[tuple[Callable[[Hashable, float], None], _KeyOf]] = []
        for update in self.env.updates.values():
            spec, aggregate = update.spec, update.aggregate
            if spec.stage != stage or kind not in spec.ingress:
                continue
            if isinstance(aggregate, RollingDistinct):
                assert spec.item is not None, (
                    f"{aggregate.name} counts distinct items but has no item"
                )
                distincts.append((aggregate.add, spec.key, spec.item))
            elif isinstance(aggregate, RollingCount):
                counts.append((aggregate.add, spec.key))
            elif isinstance(aggregate, RecentKeys):
                recents.append((aggregate.add, spec.key))
        return _Updates(tuple(counts), tuple(distincts), tuple(recents))

    # --- the public face --------------------------------------------------------------------
    def decide(self, attempt: CallAttempt) -> Decision:
        """Judge one attempt from what is known before it; changes no state."""
        started = perf_counter_ns()
        return self._decide(Context(attempt, self.env), started)

    def record(self, attempt: CallAttempt, decision: Decision | None = None) -> None:
        """Remember an attempt (after deciding it): it now counts for the attempts after it.

        ``decision`` lets the route's wave of proven-spoofed caller IDs be counted,
        and says whether the engine let the attempt through: without it, the
        attempt counts only where it raises suspicion (it was merely seen).
        """
        if decision is None:
            self._remember(Context(attempt, self.env))
            return
        allowed = decision.action is Action.ALLOW and judged(decision)
        self.remember(attempt, fired=_fired(decision.reasons), allowed=allowed)

    def remember(self, attempt: CallAttempt, *, fired: frozenset[str], allowed: bool) -> None:
        """Remember an attempt another engine judged: the rules that fired on it with a positive
        weight, and whether it let the attempt through on its own judgement.

        The state changes exactly as that engine's :meth:`screen` changed its own, so that
        engines sharing their attempts (:mod:`qalqan.screening.cluster`) hold the same state.
        """
        context = Context(attempt, self.env)
        context.fired = fired
        context.allowed = allowed
        self._remember(context)

    @property
    def home_region(self) -> str | None:
        """The operator's country (ISO 3166 alpha-2): configured, guessed from the
        subscribers, or voted by the traffic; None until it is known."""
        return self.env.home_region

    def screen(self, attempt: CallAttempt) -> Decision:
        """Decide, then record: what the SIP and HTTP faces call for every call attempt.

        What it records is what :meth:`remember` records given the decision's
        :func:`fired` rules and whether it :func:`allowed` the attempt.
        """
        started = perf_counter_ns()
        context = Context(attempt, self.env)
        decision = self._decide(context, started)
        if decision.reasons:
            context.fired = _fired(decision.reasons)
        self._remember(context)
        return decision

    def _remember(self, context: Context) -> None:
        self._on_attempt[context.kind].apply(context)
        if (
            self.env.home_region is None
            and context.kind is IngressClass.MOBILE
            and context.caller is not None
        ):
            self.env.vote_home_region(context.caller)

    def observe(self, outcome: CallOutcome) -> None:
        """Learn how a call ended (answered, talk time), once it has ended.

        Give the engine's ``action`` for the attempt in the outcome: only calls it
        allowed, and calls it never screened (the operator's own records, loaded at
        start), teach it contact; the outcome of an intercepted call teaches nothing.
        """
        if outcome.attempt.ingress.kind not in self._outcome_kinds:
            return
        context = Context(outcome.attempt, self.env)
        context.outcome = outcome
        context.allowed = outcome.allowed
        self._on_outcome[context.kind].apply(context)

    def feature_sizes(self) -> dict[str, int]:
        """Keys held by every rolling feature (for health pages and benchmarks)."""
        return self.state.sizes()

    # --- the decision -------------------------------------------------------------------------
    def _decide(self, context: Context, started: int) -> Decision:
        attempt = context.attempt
        deadline = started + self._budget_ns
        reasons: list[Reason] = []
        doubt = 1.0  # Π(1 − w) over evidence of fraud
        trust = 1.0  # Π(1 + w) over evidence for the call
        decisive = False
        for signal in self._by_ingress[context.kind]:
            reason = signal.evaluate(attempt, context)
            if reason is not None:
                reasons.append(reason)
                weight = reason.weight
                if weight > 0:
                    doubt *= 1.0 - min(weight, 1.0)
                    if not signal.supporting_only:
                        decisive = True
                elif weight < 0:
                    trust *= 1.0 + max(weight, -1.0)
            if perf_counter_ns() > deadline:
                return self._missed_deadline(attempt, reasons, started)
        score = (1.0 - doubt) * trust
        if not reasons:
            context.allowed = True
            return Decision(
                action=Action.ALLOW,
                score=0.0,
                latency_us=(perf_counter_ns() - started) / 1000,
                record_id=attempt.record_id,
            )
        thresholds = self._thresholds
        if score > 0 and self.config.vulnerable_enabled:
            why = self._vulnerable_callee(context)
            if why is not None:
                thresholds = self._vulnerable
                if score >= thresholds.warn:
                    reasons.append(why)
        if not decisive:
            score = min(score, max(0.0, thresholds.warn - 0.001))
        action = thresholds.action(score)
        if action is not Action.ALLOW and context.outside:
            action = self._roaming_guard(context, action, reasons)
        reasons.sort(key=lambda r: -abs(r.weight))
        context.allowed = action is Action.ALLOW
        return Decision(
            action=action,
            score=round(min(max(score, 0.0), 1.0), 4),
            reasons=tuple(reasons),
            latency_us=(perf_counter_ns() - started) / 1000,
            record_id=attempt.record_id,
        )

    def _vulnerable_callee(self, context: Context) -> Reason | None:
        """Why the callee is to be warned more readily, or None when they are not."""
        callee = context.callee
        subscribers = self.subscribers
        if callee in subscribers.protection_opt_in:
            return Reason.said(
                "vulnerable_callee", 0.0, "vulnerable_callee.opted_in", callee=callee
            )
        sub = context.callee_sub
        if sub is None or sub.birth_year is None or not self.config.protect_by_default:
            return None
        age = context.attempt.time.year - sub.birth_year
        if age < self.config.vulnerable_min_age or callee in subscribers.protection_opt_out:
            return None
        return Reason.said(
            "vulnerable_callee", 0.0, "vulnerable_callee.by_age", callee=callee, age=age
        )

    def _roaming_guard(self, context: Context, action: Action, reasons: list[Reason]) -> Action:
        """Never block (beyond ``roaming.max_action``) our roaming subscriber's call home."""
        sub = context.caller_sub
        if sub is None:
            return action
        country = self.env.roaming_country(sub, context.t)
        cap = self._roaming_cap
        if country is None or _RANK[action] <= _RANK[cap]:
            return action
        reasons.append(
            Reason.said(
                "roaming.guard",
                0.0,
                "roaming.guard",
                subscriber=sub.msisdn,
                country=country,
                action=action.value,
                cap=cap.value,
            )
        )
        return cap

    def _missed_deadline(
        self, attempt: CallAttempt, reasons: Sequence[Reason], started: int
    ) -> Decision:
        elapsed_us = (perf_counter_ns() - started) / 1000
        action = self.config.on_deadline_miss
        missed = Reason.said(  # the key written out: the catalog's tests read keys from the source
            "deadline.missed",
            0.0,
            "deadline.missed",
            elapsed_us=f"{elapsed_us:.0f}",
            budget_us=f"{self.config.deadline_us:g}",
            action=action.value,
        )
        return Decision(
            action=action,
            score=0.0,
            reasons=(missed, *reasons),
            latency_us=elapsed_us,
            record_id=attempt.record_id,
        )


def _fired(reasons: Sequence[Reason]) -> frozenset[str]:
    return frozenset(r.rule for r in reasons if r.weight > 0)


def fired(decision: Decision) -> frozenset[str]:
    """The rules that fired on an attempt with a positive weight: what the state learns from."""
    return _fired(decision.reasons)


def allowed(decision: Decision) -> bool:
    """Whether the engine let the attempt through on its own judgement (not a missed deadline)."""
    return decision.action is Action.ALLOW and judged(decision)
