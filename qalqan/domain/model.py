"""The typed vocabulary of Qalqan: calls, SIMs, devices, cells, money and verdicts.

Plain immutable data with no I/O. The exchange format (``qalqan.exchange``)
maps its tables onto these types; the screening engine, the analytics and the
case store all speak them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from qalqan.domain.messages import MESSAGES, render

__all__ = [
    "Account",
    "Action",
    "CallAttempt",
    "CallResult",
    "CallVerdict",
    "Cell",
    "Decision",
    "Device",
    "Event",
    "Ingress",
    "IngressClass",
    "Payment",
    "PaymentChannel",
    "Plan",
    "Reason",
    "RegistryEntry",
    "RegistryPolicy",
    "Report",
    "ReportCategory",
    "ReportChannel",
    "RoamingPeriod",
    "Sim",
    "SimVerdict",
    "Subscriber",
]


class Event(StrEnum):
    VOICE = "voice"
    SMS = "sms"


class CallResult(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    REJECTED = "rejected"
    """Refused by the network or by screening."""


class IngressClass(StrEnum):
    MOBILE = "mobile"
    """Originated by this operator's own subscriber over its radio network."""
    FIXED = "fixed"
    """This operator's own fixed line."""
    NATIONAL = "national"
    """Interconnect from another domestic operator."""
    INTERNATIONAL = "international"
    """The international gateway."""
    VOIP = "voip"
    """A VoIP/SIP trunk."""


class Plan(StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"
    CORPORATE = "corporate"
    M2M = "m2m"


class PaymentChannel(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    SIM_TOPUP = "sim_topup"
    EWALLET = "ewallet"
    CRYPTO = "crypto"
    CASH_OUT = "cash_out"


class ReportChannel(StrEnum):
    CALL = "call"
    SMS = "sms"
    VIDEO_CALL = "video_call"
    MESSENGER = "messenger"
    AD = "ad"
    WEB = "web"


class ReportCategory(StrEnum):
    BANK_SECURITY = "bank_security"
    POLICE = "police"
    INVESTMENT = "investment"
    EGOV = "egov"
    OPERATOR = "operator"
    RELATIVE = "relative"
    OTHER = "other"


class Action(StrEnum):
    """What the screening node tells the switch to do with a call."""

    ALLOW = "allow"
    WARN = "warn"
    """Play a warning to the callee, then connect."""
    DIVERT = "divert"
    """Send the call to the anti-call-center's operators."""
    BLOCK = "block"


class SimVerdict(StrEnum):
    SIMBOX = "simbox"
    SUSPECT = "suspect"
    CLEAR = "clear"


class CallVerdict(StrEnum):
    FRAUD = "fraud"
    SPOOFED = "spoofed"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True, kw_only=True)
class Ingress:
    """How a call entered the network: ``CLASS`` or ``CLASS:ROUTE`` (``international:carrierA``)."""

    kind: IngressClass
    route: str = ""

    @classmethod
    def parse(cls, text: str) -> Ingress:
        kind, _, route = text.partition(":")
        return cls(kind=IngressClass(kind), route=route)

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.route}" if self.route else self.kind.value

    @property
    def from_outside(self) -> bool:
        """True for calls handed over by another network (national, international, VoIP)."""
        return self.kind in (IngressClass.NATIONAL, IngressClass.INTERNATIONAL, IngressClass.VOIP)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAttempt:
    """A call as the screening node sees it at setup time, before it connects."""

    time: datetime
    caller: str | None
    """Caller ID as presented, E.164; None when withheld."""
    callee: str
    ingress: Ingress
    imsi: str | None = None
    imei: str | None = None
    cell: str | None = None
    identity: str | None = None
    """The SIP Identity header (RFC 8224 PASSporT), when the call carried one."""
    record_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Cell:
    cell_id: str
    site_id: str
    lat: float
    lon: float
    region: str
    radius_m: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscriber:
    """A SIM of this operator and what its registration says."""

    imsi: str
    msisdn: str
    activated: date
    plan: Plan
    birth_year: int | None = None
    region: str | None = None
    iccid: str | None = None
    owner_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Sim:
    """A SIM as behaviour shows it: its identity and the handsets it was seen in."""

    imsi: str
    msisdn: str | None = None
    imeis: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """A handset or a SIM-box channel, known by its IMEI."""

    imei: str
    imsis: frozenset[str] = frozenset()

    @property
    def tac(self) -> str:
        """Type Allocation Code: the first 8 digits name the make and model."""
        return self.imei[:8]


@dataclass(frozen=True, slots=True, kw_only=True)
class RoamingPeriod:
    imsi: str
    start_time: datetime
    end_time: datetime
    country: str

    def covers(self, moment: datetime) -> bool:
        return self.start_time <= moment <= self.end_time


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """A place money sits: ``bank:ID``, ``msisdn:+7...``, ``ewallet:ID``, ``crypto:ADDRESS``."""

    kind: str
    ident: str

    KINDS = ("bank", "msisdn", "ewallet", "crypto")

    @classmethod
    def parse(cls, text: str) -> Account:
        kind, sep, ident = text.partition(":")
        if not sep or kind not in cls.KINDS or not ident:
            raise ValueError(f"'{text}' is not an account (bank:, msisdn:, ewallet: or crypto:)")
        return cls(kind=kind, ident=ident)

    def __str__(self) -> str:
        return f"{self.kind}:{self.ident}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Payment:
    payment_id: str
    time: datetime
    payer: Account
    payee: Account
    amount: float
    currency: str
    channel: PaymentChannel


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """A citizen's complaint about a call, a message or an ad."""

    report_id: str
    time: datetime
    reporter: str
    reported_number: str | None
    channel: ReportChannel
    category: ReportCategory
    text: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryPolicy:
    """``inbound_only`` or ``route:CLASS:ROUTE``."""

    inbound_only: bool
    route: Ingress | None = None

    @classmethod
    def parse(cls, text: str) -> RegistryPolicy:
        if text == "inbound_only":
            return cls(inbound_only=True)
        head, sep, rest = text.partition(":")
        if head == "route" and sep and rest:
            return cls(inbound_only=False, route=Ingress.parse(rest))
        raise ValueError(f"'{text}' is not a policy (inbound_only or route:CLASS:ROUTE)")

    def __str__(self) -> str:
        return "inbound_only" if self.inbound_only else f"route:{self.route}"

    def allows(self, ingress: Ingress) -> bool:
        """May a call presenting the protected number arrive this way?"""
        return not self.inbound_only and ingress == self.route


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryEntry:
    """A protected number: a trusted caller or a number that never calls out."""

    number: str
    owner: str
    policy: RegistryPolicy


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """One contribution to a verdict, in the operator's words — in each of the console's languages.

    Operators read reasons in Russian, Kazakh or English, so a reason is kept
    as a message ``key`` of :data:`qalqan.domain.messages.MESSAGES` and the
    ``facts`` that fill it; ``detail`` is its English rendering, which log
    lines, SIP headers and CSV cells carry. Build one with :meth:`said`, which
    renders ``detail`` from the same catalog, so the English and the other
    languages cannot drift apart. A reason with free text only (``key`` "")
    still works: it just has no translation.
    """

    rule: str
    """Stable id of the rule or model, e.g. ``spoofed_cli.domestic_from_abroad``."""
    weight: float
    detail: str
    """What was seen, in English: ``IMEI 86… carried 41 different SIMs in 24h``."""
    key: str = ""
    """The message key (``sim_farm.handset_many_sims``); "" for free text with no translation."""
    facts: tuple[tuple[str, str], ...] = ()
    """The values that fill the message, as ``(name, text)`` pairs: immutable, so reasons stay hashable."""

    @classmethod
    def said(cls, rule: str, weight: float, key: str, /, **facts: object) -> Reason:
        """The reason ``rule`` gives with message ``key``: ``detail`` is the English rendering.

        Facts are kept as strings — numbers formatted by the caller (``f"{share:.0%}"``) —
        so that every language shows the same value the English does.
        """
        return cls.from_facts(rule, weight, key, facts)

    @classmethod
    def from_facts(cls, rule: str, weight: float, key: str, facts: dict[str, object]) -> Reason:
        """:meth:`said`, for a caller holding the facts in a dict of its own, which this takes over.

        The dict's values become strings in place: rules call this with their
        own keyword arguments (:meth:`qalqan.screening.signals.Rule.say`), and
        one copy fewer matters when it runs every time a rule fires.
        """
        for name, value in facts.items():
            if value.__class__ is not str:
                facts[name] = str(value)
        return cls(
            rule=rule,
            weight=weight,
            detail=render(key, facts),
            key=key,
            facts=tuple(facts.items()),  # type: ignore[arg-type]
        )

    def facts_dict(self) -> dict[str, str]:
        """The facts by name, as :func:`~qalqan.domain.messages.render` takes them."""
        return dict(self.facts)

    def detail_in(self, lang: str) -> str:
        """What the operator reads in ``lang`` (``ru``, ``kk``, ``en``).

        The English ``detail`` when the reason has no key, or a key this
        version's catalog does not know (a file written by a newer Qalqan).
        """
        if not self.key:
            return self.detail
        try:
            return render(self.key, dict(self.facts), lang)
        except (KeyError, IndexError, ValueError):
            return self.detail

    def as_data(self) -> dict[str, object]:
        """This reason as JSON-ready data: what every output file and the case store keep.

        ``{"rule", "key", "facts", "weight"}``, and ``"text"`` (the English
        ``detail``) only for a reason without a message key, whose words have no
        template to be rendered from. :meth:`from_data` reads it back.

        >>> Reason.said("spoofed_cli.unallocated", 0.9, "spoofed_cli.unallocated", caller="+7999").as_data()
        {'rule': 'spoofed_cli.unallocated', 'key': 'spoofed_cli.unallocated', 'facts': {'caller': '+7999'}, 'weight': 0.9}
        """
        data: dict[str, object] = {
            "rule": self.rule,
            "key": self.key,
            "facts": dict(self.facts),
            "weight": self.weight,
        }
        if not self.key:
            data["text"] = self.detail
        return data

    @classmethod
    def from_data(cls, obj: object) -> Reason:
        """The reason :meth:`as_data` wrote; ``ValueError`` saying what is wrong for anything else.

        ``detail`` is rendered in English from ``key`` and ``facts`` (the
        ``text`` of a reason without a key). Data written before weights were
        kept has no ``weight``, and reads as weight 0.0; such data may also have
        an empty ``rule`` and, for a reason without a key, no ``text``. Data
        with a ``weight`` has both. Fields this version does not know are
        ignored, so that a newer writer can add some.
        """
        if not isinstance(obj, dict):
            raise ValueError(
                f"a reason is an object with rule, key and facts, not {_json_kind(obj)}"
            )
        rule, key, facts = obj.get("rule"), obj.get("key"), obj.get("facts")
        if not isinstance(rule, str) or not isinstance(key, str):
            raise ValueError("a reason's rule and key must be strings")
        if not isinstance(facts, dict) or not all(isinstance(v, str) for v in facts.values()):
            raise ValueError(f"reason {rule or key!r}: facts must be an object of strings")
        weighed = "weight" in obj
        weight = _weight(obj["weight"], rule) if weighed else 0.0
        if weighed and not rule:
            raise ValueError("a reason with a weight must name its rule")
        detail = _english(rule, key, facts) if key else _text(obj.get("text"), rule, weighed)
        return cls(rule=rule, weight=weight, detail=detail, key=key, facts=tuple(facts.items()))

    def __str__(self) -> str:
        return f"{self.rule} ({self.weight:+.2f}): {self.detail}"


def _json_kind(value: object) -> str:
    """What a JSON value is, in a sentence: ``a number``, ``an array``."""
    kinds = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}
    kinds |= {int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


def _weight(value: object, rule: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"reason {rule!r}: weight must be a finite number, not {value!r}")
    return float(value)


def _english(rule: str, key: str, facts: dict[str, str]) -> str:
    if key not in MESSAGES:
        raise ValueError(f"reason {rule!r}: key {key!r} is not in the message catalog")
    try:
        return render(key, facts)
    except KeyError as missing:
        raise ValueError(
            f"reason {rule!r}: facts lack {missing}, which the message {key!r} needs"
        ) from None


def _text(value: object, rule: str, weighed: bool) -> str:
    """The words of a reason without a key; data without weights never kept them."""
    if value is None and not weighed:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"reason {rule!r} has no key, so it needs its words as a string 'text'")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The screening node's answer for one call attempt."""

    action: Action
    score: float
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    latency_us: float = 0.0
    record_id: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} is outside 0..1")

    @property
    def intercepted(self) -> bool:
        return self.action is not Action.ALLOW

    def reasons_text(self) -> str:
        """Reasons joined for a CSV cell or a SIP header: ``rule: detail | rule: detail``."""
        return " | ".join(f"{r.rule}: {r.detail}" for r in self.reasons)
