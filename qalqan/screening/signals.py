"""The one protocol every rule and model of the screening engine follows, and their registry.

A *signal* looks at one call attempt, with what the engine knows before it,
and either says nothing or gives one :class:`~qalqan.domain.model.Reason`:
its id, a weight and what it saw, in the operator's words. Rules written by
hand and statistical models are the same thing to the engine::

    class Signal(Protocol):
        id: str
        def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None: ...

Positive weights are evidence of fraud (``0.9``: "this alone is enough to
block"); negative weights are evidence for the call (the caller is our
roaming subscriber, the number called through its registered route). The
engine combines them into one score (see :mod:`qalqan.screening.engine`).

Every signal class is registered with :func:`register` under its id, with
its settings (name, default, meaning, bounds) and the message keys it may
say. The registry is the single source of the configuration schema
(:mod:`qalqan.screening.config`), of the documentation check and of the
contract tests, which run over every registered signal automatically.

What a rule saw is said as a message of the catalog
(:mod:`qalqan.domain.messages`) with its facts — ``self.say(key, **facts)`` —
so that operators read it in Russian, Kazakh or English. Keys are the rule's
id, or ``<id>.<variant>`` when it says more than one thing; a rule declares
them all in :attr:`Rule.messages`, and :func:`register` refuses a key the
catalog lacks. The English sentence is formatted only when the rule fires.

Signals that need rolling state ask the :class:`Environment` for a named
aggregate (:meth:`Environment.aggregate`) together with a
:class:`FeatureSpec` saying how a recorded attempt updates it; the engine
then updates each aggregate exactly once per attempt, however many signals
read it.

:class:`Context` holds the facts of one attempt that several signals need —
the moment as seconds, the ingress class, our subscriber behind the caller ID
or the SIM, the site of the cell, whether the SIM is young — computed once per
attempt with one dict probe each.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final, Literal, Protocol, TypeVar, runtime_checkable

from qalqan.domain.messages import MESSAGES
from qalqan.domain.model import Action, CallAttempt, Event, IngressClass, Reason
from qalqan.screening.network import CellSites, ProtectedNumbers, SubscriberFacts, Subscribers
from qalqan.screening.numbering import NumberFacts, number_facts
from qalqan.screening.reputation import ReputationLists
from qalqan.screening.state import RecentKeys, RollingCount, RollingDistinct, StateStore

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "ABROAD",
    "ALL_INGRESS",
    "FROM_OUTSIDE",
    "MOBILE",
    "SIGNALS",
    "CallOutcome",
    "Context",
    "Environment",
    "FeatureSpec",
    "IdentityChecked",
    "IdentityVerifying",
    "Rule",
    "Setting",
    "SettingKind",
    "Settings",
    "Signal",
    "register",
]

ALL_INGRESS: Final = frozenset(IngressClass)
FROM_OUTSIDE: Final = frozenset(
    {IngressClass.NATIONAL, IngressClass.INTERNATIONAL, IngressClass.VOIP}
)
ABROAD: Final = frozenset({IngressClass.INTERNATIONAL, IngressClass.VOIP})
"""Ingress that may carry a call from another country (VoIP trunks included: they can)."""
MOBILE: Final = frozenset({IngressClass.MOBILE})

SettingKind = Literal["float", "int", "bool", "duration", "action", "text"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Setting:
    """One configurable value: its name in the YAML file, default, meaning and bounds."""

    name: str
    kind: SettingKind
    default: float | int | bool | str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


def weight_setting(default: float) -> Setting:
    return Setting(
        name="weight",
        kind="float",
        default=default,
        minimum=-1.0,
        maximum=1.0,
        help="Weight of the signal when it fires: evidence of fraud above 0, for the call below 0.",
    )


def enabled_setting(default: bool = True) -> Setting:
    return Setting(name="enabled", kind="bool", default=default, help="Whether the rule runs.")


class Settings:
    """The settings of one rule as configured (defaults filled in), with typed getters."""

    __slots__ = ("_values", "rule")

    def __init__(self, rule: str, values: Mapping[str, object]) -> None:
        self.rule = rule
        self._values = dict(values)

    def _get(self, name: str) -> object:
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"rule {self.rule} has no setting '{name}'") from None

    def number(self, name: str) -> float:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{self.rule}.{name} is not a number")
        return float(value)

    def integer(self, name: str) -> int:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{self.rule}.{name} is not a whole number")
        return value

    def flag(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            raise TypeError(f"{self.rule}.{name} is not true or false")
        return value

    def seconds(self, name: str) -> float:
        """A duration setting, already converted to seconds by the config parser."""
        return self.number(name)

    def text(self, name: str) -> str:
        return str(self._get(name))

    def as_dict(self) -> dict[str, object]:
        return dict(self._values)


class IdentityChecked(Protocol):
    """What a STIR/SHAKEN verifier says of an Identity header (``qalqan.screening.stir.IdentityCheck``)."""

    @property
    def valid(self) -> bool: ...

    @property
    def attestation(self) -> str | None: ...

    @property
    def reason(self) -> str: ...


class IdentityVerifying(Protocol):
    """A STIR/SHAKEN verifier (``qalqan.screening.stir.IdentityVerifier``), as the engine uses it."""

    def verify(
        self, identity_header: str, *, caller: str | None, callee: str, now: datetime
    ) -> IdentityChecked: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOutcome:
    """How a call (or SMS) ended, revealed when it ended: what the engine may learn after the fact.

    ``action`` is what the engine answered for the attempt. An outcome teaches
    the engine something only when the engine let the call through (``allow``)
    or never screened it (None: the operator's own records of calls made
    before the node ran, loaded at start). What happens to a call the engine
    intercepted is what the intercept did (an announcement "answers" a
    diverted call), not contact between the two numbers.
    """

    attempt: CallAttempt
    answered: bool
    """A voice call answered; for an SMS, delivered."""
    duration_s: float
    """Talk time; 0 when not answered (and for an SMS)."""
    action: Action | None = None
    """The engine's answer for the attempt; None for a call it never screened."""
    event: Event = Event.VOICE

    @property
    def allowed(self) -> bool:
        """The call went through as dialled: allowed by the engine, or never screened."""
        return self.action is None or self.action is Action.ALLOW

    @property
    def contact(self) -> bool:
        """Contact that really happened: an answered call or a delivered SMS, let through."""
        return self.answered and self.allowed

    @property
    def one_ring(self) -> bool:
        """A voice call not answered and with no talk time: the hallmark of a Wangiri call."""
        return self.event is Event.VOICE and not self.answered and self.duration_s <= 0


class Context:
    """Facts of one attempt that several signals share, computed once.

    ``allowed`` says whether the engine let the attempt through on its own
    judgement (an ``allow`` reached by running every rule, not a missed
    deadline's default); for an outcome, whether the call went through
    (:attr:`CallOutcome.allowed`). Rolling features that speak *for* later
    calls learn only from allowed attempts (see :mod:`qalqan.screening.features`).
    """

    __slots__ = (
        "_caller_info",
        "abroad",
        "allowed",
        "attempt",
        "callee",
        "callee_block",
        "callee_sub",
        "caller",
        "caller_range",
        "caller_sub",
        "cell",
        "env",
        "fired",
        "imei",
        "imsi",
        "kind",
        "outcome",
        "outside",
        "route",
        "sim",
        "sim_age_days",
        "site",
        "t",
        "young",
    )

    def __init__(self, attempt: CallAttempt, env: Environment) -> None:
        self.attempt = attempt
        self.env = env
        self.t = attempt.time.timestamp()
        ingress = attempt.ingress
        kind = self.kind = ingress.kind
        self.route = f"{kind.value}:{ingress.route}" if ingress.route else kind.value
        self.outside = kind in FROM_OUTSIDE
        self.abroad = kind in ABROAD
        caller = self.caller = attempt.caller or None
        callee = self.callee = attempt.callee
        by_msisdn = env.subscribers.by_msisdn
        self.caller_range = caller[:-2] if caller else None
        self.callee_block = callee[:-2]
        self.caller_sub = by_msisdn.get(caller) if caller else None
        self.callee_sub = by_msisdn.get(callee)
        self.imsi = attempt.imsi or None
        self.imei = attempt.imei or None
        cell = self.cell = attempt.cell or None
        self.site = env.cells.site_of.get(cell, cell) if cell else None
        sim = self.sim = env.subscribers.by_imsi.get(self.imsi) if self.imsi else None
        self.sim_age_days: float | None = None
        self.young = False
        if sim is not None and sim.activated_s is not None:
            age = self.sim_age_days = (self.t - sim.activated_s) / 86_400
            self.young = age <= env.young_sim_days
        self.fired: frozenset[str] = frozenset()
        self.allowed = False
        self.outcome: CallOutcome | None = None
        self._caller_info: NumberFacts | None = None

    def caller_info(self) -> NumberFacts | None:
        """Numbering-plan facts of the caller ID (cached per number); None when withheld."""
        if self.caller is None:
            return None
        if self._caller_info is None:
            self._caller_info = self.env.number_info(self.caller)
        return self._caller_info

    def caller_domestic(self) -> bool:
        info = self.caller_info()
        return info is not None and info.region is not None and info.region == self.env.home_region

    def pair(self) -> tuple[str, str] | None:
        """Caller and callee as an unordered pair: the key of their shared history."""
        caller = self.caller
        if caller is None:
            return None
        callee = self.callee
        return (caller, callee) if caller < callee else (callee, caller)


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureSpec:
    """How a recorded attempt (or a revealed outcome) updates one rolling aggregate.

    ``key`` (and ``item`` for distinct counts) read the :class:`Context`; None
    means "this attempt does not count". ``stage`` says when: ``attempt`` as
    soon as the attempt is recorded, ``outcome`` when its outcome is revealed.
    """

    name: str
    shape: Literal["count", "distinct", "recent"]
    key: Callable[[Context], Hashable | None]
    item: Callable[[Context], Hashable | None] | None = None
    stage: Literal["attempt", "outcome"] = "attempt"
    ingress: frozenset[IngressClass] = ALL_INGRESS
    """The ingress classes whose attempts can update it (the others are not even asked)."""
    doc: str = ""


Aggregate = RollingCount | RollingDistinct | RecentKeys


@dataclass(slots=True)
class _Update:
    spec: FeatureSpec
    aggregate: Aggregate


@dataclass(slots=True, kw_only=True)
class Environment:
    """Everything a signal may consult: reference facts, reputation lists, rolling state."""

    state: StateStore
    subscribers: Subscribers
    protected: ProtectedNumbers
    cells: CellSites
    lists: ReputationLists
    home_region: str | None
    young_sim_days: float
    roaming_grace_s: float = 0.0
    verifier: IdentityVerifying | None = None
    updates: dict[str, _Update] = field(default_factory=dict)
    _numbers: dict[str, NumberFacts] = field(default_factory=dict)
    number_cache_size: int = 1 << 18
    _region_votes: dict[str, int] = field(default_factory=dict)
    home_region_votes: int = 200
    """Callers over our radio network to look at when the home country is not known."""

    def roaming_country(self, sub: SubscriberFacts, t: float) -> str | None:
        """Where our subscriber's SIM is registered abroad at ``t`` (with the configured grace)."""
        return self.subscribers.roaming_country(sub.imsi, t, self.roaming_grace_s)

    def vote_home_region(self, number: str) -> None:
        """Learn the home country from our own subscribers' numbers when nobody said it."""
        info = self.number_info(number)
        if info is None or info.region is None:
            return
        votes = self._region_votes
        votes[info.region] = votes.get(info.region, 0) + 1
        if sum(votes.values()) >= self.home_region_votes:
            self.home_region = max(sorted(votes), key=lambda r: votes[r])

    def aggregate(self, spec: FeatureSpec, window_s: float) -> Aggregate:
        """The rolling aggregate ``spec`` over ``window_s``, created once and updated once per attempt."""
        if spec.shape == "count":
            aggregate: Aggregate = self.state.count(spec.name, window_s)
        elif spec.shape == "distinct":
            aggregate = self.state.distinct(spec.name, window_s)
        else:
            aggregate = self.state.recent(spec.name, window_s)
        known = self.updates.get(aggregate.name)
        if known is not None and known.spec != spec:
            raise ValueError(f"two different definitions of the feature '{aggregate.name}'")
        self.updates[aggregate.name] = _Update(spec=spec, aggregate=aggregate)
        return aggregate

    def count(self, spec: FeatureSpec, window_s: float) -> RollingCount:
        found = self.aggregate(spec, window_s)
        assert isinstance(found, RollingCount)
        return found

    def distinct(self, spec: FeatureSpec, window_s: float) -> RollingDistinct:
        found = self.aggregate(spec, window_s)
        assert isinstance(found, RollingDistinct)
        return found

    def recent(self, spec: FeatureSpec, window_s: float) -> RecentKeys:
        found = self.aggregate(spec, window_s)
        assert isinstance(found, RecentKeys)
        return found

    def number_info(self, number: str) -> NumberFacts | None:
        """Numbering-plan facts, cached: a new number costs ~15 µs (:mod:`qalqan.screening.numbering`)."""
        info = self._numbers.get(number)
        if info is None:
            info = number_facts(number)
            if info is None:
                return None
            if len(self._numbers) >= self.number_cache_size:
                self._numbers.clear()
            self._numbers[number] = info
        return info


@runtime_checkable
class Signal(Protocol):
    """A rule or a model: one call attempt in, one reason or nothing out."""

    @property
    def id(self) -> str:
        """Stable id, ``family.what``: the rule of every reason it gives."""
        ...

    @property
    def applies_to(self) -> frozenset[IngressClass]:
        """The ingress classes it judges; the engine does not ask it about others."""
        ...

    @property
    def supporting_only(self) -> bool:
        """True when it may add to other evidence but must never decide alone."""
        ...

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None: ...


class Rule:
    """Base of the shipped signals: the id, settings and defaults as class attributes.

    Subclasses set :attr:`id`, :attr:`applies_to`, :attr:`settings` (the
    rule-specific ones; ``enabled`` and ``weight`` are added from
    :attr:`enabled_by_default` and :attr:`default_weight`), :attr:`messages`,
    write a docstring saying what the rule catches and why, and implement
    :meth:`evaluate`, which gives its reason with :meth:`say`.
    """

    id: ClassVar[str] = ""
    applies_to: ClassVar[frozenset[IngressClass]] = ALL_INGRESS
    supporting_only: ClassVar[bool] = False
    default_weight: ClassVar[float] = 0.5
    enabled_by_default: ClassVar[bool] = True
    settings: ClassVar[tuple[Setting, ...]] = ()
    messages: ClassVar[tuple[str, ...]] = ()
    """Every message key the rule may say: ``id`` or ``id.<variant>``, each in the catalog."""

    def __init__(self, settings: Settings, env: Environment) -> None:
        self.weight = settings.number("weight")
        self.env = env

    @classmethod
    def all_settings(cls) -> tuple[Setting, ...]:
        return (
            enabled_setting(cls.enabled_by_default),
            weight_setting(cls.default_weight),
            *cls.settings,
        )

    def say(self, key: str, /, *, weight: float | None = None, **facts: object) -> Reason:
        """This rule's reason: message ``key`` with ``facts``, at ``weight`` (the configured one by default)."""
        assert key in self.messages, f"{self.id} says '{key}', which it does not declare"
        return Reason.from_facts(self.id, self.weight if weight is None else weight, key, facts)

    def evaluate(self, attempt: CallAttempt, context: Context) -> Reason | None:
        raise NotImplementedError


_R = TypeVar("_R", bound=type[Rule])

SIGNALS: dict[str, type[Rule]] = {}
"""Every registered signal class by id, in registration order (the order they run in)."""


def register(cls: _R) -> _R:
    """Class decorator: add a signal to :data:`SIGNALS` under its id."""
    if not cls.id or cls.id in SIGNALS:
        raise ValueError(f"signal id '{cls.id}' is empty or registered twice")
    if not (cls.__doc__ or "").strip():
        raise ValueError(f"signal {cls.id} has no docstring")
    names = [s.name for s in cls.all_settings()]
    if len(set(names)) != len(names):
        raise ValueError(f"signal {cls.id} declares a setting twice")
    if not cls.messages:
        raise ValueError(f"signal {cls.id} declares no message keys")
    for key in cls.messages:
        if key != cls.id and not key.startswith(f"{cls.id}."):
            raise ValueError(f"signal {cls.id}: message key '{key}' is not named after the rule")
        if key not in MESSAGES:
            raise ValueError(f"signal {cls.id}: message key '{key}' is not in the catalog")
    SIGNALS[cls.id] = cls
    return cls
