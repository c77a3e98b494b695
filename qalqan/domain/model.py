"""The typed vocabulary of Qalqan: calls, SIMs, devices, cells, money and verdicts.

Plain immutable data with no I/O. The exchange format (``qalqan.exchange``)
maps its tables onto these types; the screening engine, the analytics and the
case store all speak them. :class:`Reason` is defined beside the message
catalog that renders it (:mod:`qalqan.domain.messages`) and is one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from qalqan.domain.messages import Reason

ATTESTATIONS = ("A", "B", "C")
"""STIR/SHAKEN attestation levels (ATIS-1000074): full, partial, gateway."""

__all__ = [
    "ATTESTATIONS",
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
    attest: str | None = None
    """STIR/SHAKEN attestation (``A``, ``B`` or ``C``) of an Identity header the operator's
    own network already verified (the CDR's ``identity_attest``, the SBC's
    ``P-Attestation-Indicator`` or ``verstat``); None when nothing upstream vouched."""

    def __post_init__(self) -> None:
        if self.attest is not None and self.attest not in ATTESTATIONS:
            raise ValueError(f"attestation '{self.attest}' is not A, B or C")


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
