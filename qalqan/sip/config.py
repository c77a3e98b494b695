"""Settings of the SIP redirect server, as one typed, validated dataclass.

Every setting carries its help text (``field(metadata={"help": ...})``) so that
the operator's guide (``docs/integrations/kamailio/README.md``) and a future
``qalqan serve --help`` say the same thing, and a test checks the guide lists
them all. Settings are checked collect-or-raise: building a :class:`SipConfig`
with several mistakes raises one :class:`~qalqan.errors.ConfigError` naming
every one of them, so an operator fixes a file in one pass.

The URIs the switch is redirected to are templates: ``{number}`` is the
dialled number in E.164, ``{user}`` the user part of the Request-URI as it
arrived and ``{host}`` its host (and port).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, cast

from qalqan.domain.model import Action, Ingress, IngressClass
from qalqan.domain.numbers import is_region
from qalqan.errors import ConfigError
from qalqan.sip.message import SipParseError, parse_uri

__all__ = ["SipConfig", "SipTimers"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SipTimers:
    """RFC 3261 §17 timer bases, in seconds."""

    t1: float = field(
        default=0.5, metadata={"help": "RTT estimate T1: Timer G starts here, H and J are 64*T1."}
    )
    t2: float = field(default=4.0, metadata={"help": "Cap T2 on the doubling interval of Timer G."})
    t4: float = field(
        default=5.0, metadata={"help": "T4: how long Timer I absorbs ACK retransmissions on UDP."}
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SipConfig:
    """How the SIP redirect server listens and answers."""

    listen_host: str = field(
        default="127.0.0.1",
        metadata={"help": "Address to listen on (0.0.0.0 or :: for all interfaces)."},
    )
    udp_port: int | None = field(
        default=5060, metadata={"help": "UDP port; None turns UDP off, 0 picks a free port."}
    )
    tcp_port: int | None = field(
        default=5060, metadata={"help": "TCP port; None turns TCP off, 0 picks a free port."}
    )
    allow_contact: str = field(
        default="tel:{number}",
        metadata={
            "help": "Contact of the 302 for allowed calls: where the switch sends the call "
            "({number}, {user}, {host} are filled in)."
        },
    )
    warning_uri: str = field(
        default="sip:warning@announcements.invalid",
        metadata={
            "help": "Contact of the 302 for 'warn': the warning announcement, which then connects the call."
        },
    )
    divert_uri: str = field(
        default="sip:operators@anti-call-center.invalid",
        metadata={"help": "Contact of the 302 for 'divert': the anti-call-center's operators."},
    )
    target_param: str = field(
        default="target",
        metadata={
            "help": "URI parameter carrying the dialled number to the warning or divert URI (RFC 4458 'target')."
        },
    )
    block_status: int = field(
        default=603,
        metadata={"help": "Answer to a blocked call: 603 (Decline) or 608 (Rejected, RFC 8688)."},
    )
    default_action: Action = field(
        default=Action.ALLOW,
        metadata={
            "help": "Action answered when screening fails, misses its deadline or the node is over capacity."
        },
    )
    overload_status: int | None = field(
        default=None,
        metadata={
            "help": "Over capacity: None answers the default action, 503 answers 503 Service Unavailable."
        },
    )
    deadline_ms: float = field(
        default=50.0,
        metadata={
            "help": "Screening budget per call from arrival; past it the default action is answered."
        },
    )
    queue_size: int = field(
        default=1024,
        metadata={
            "help": "Requests waiting to be screened; past it new ones are answered at once without screening."
        },
    )
    source_ingress: Mapping[str, str] = field(
        default_factory=dict,
        metadata={
            "help": "Source address or network of the sending SBC → ingress, e.g. {'203.0.113.7': 'international:carrierA'}."
        },
    )
    trunk_groups: Mapping[str, str] = field(
        default_factory=dict,
        metadata={
            "help": "RFC 4904 trunk group ('TG1' or 'TG1@trunk-context') → ingress, e.g. {'TG1@ixc.example': 'international:carrierA'}."
        },
    )
    default_ingress: str = field(
        default="national",
        metadata={
            "help": "Ingress of a call that neither a trunk group nor a source address explains."
        },
    )
    region: str = field(
        default="auto",
        metadata={
            "help": "Numbering plan (ISO 3166 alpha-2) for reading national-format numbers; "
            "auto: the screening engine's home country (network.home_region), and national "
            "forms are left unread while it is not known."
        },
    )
    timers: SipTimers = field(
        default_factory=SipTimers, metadata={"help": "RFC 3261 timers T1, T2, T4."}
    )
    max_message_size: int = field(
        default=65535,
        metadata={"help": "Largest message accepted, in bytes (TCP framing and UDP)."},
    )
    max_transactions: int = field(
        default=200_000,
        metadata={
            "help": "Transactions remembered for retransmissions; past it the oldest are forgotten."
        },
    )
    reasons_max_chars: int = field(
        default=512,
        metadata={"help": "Longest X-Qalqan-Reasons header value; longer ones are cut."},
    )
    server_name: str = field(
        default="Qalqan", metadata={"help": "Value of the Server header on every response."}
    )
    fail_open_by_ingress: Mapping[str, Action] = field(
        default_factory=dict,
        metadata={
            "help": "Ingress class → action answered instead of default_action when screening fails "
            "open (over capacity, error, deadline), e.g. {'international': 'divert', 'voip': 'divert'}."
        },
    )
    tcp_max_connections: int = field(
        default=512,
        metadata={
            "help": "Open TCP connections at most; past it the oldest that has not yet sent a whole "
            "message is closed for the newcomer, else the one silent longest (past "
            "tcp_header_timeout_s), or the newcomer is refused."
        },
    )
    tcp_header_timeout_s: float = field(
        default=10.0,
        metadata={
            "help": "Seconds a TCP message may take from its first byte to its last (and a new "
            "connection to send its first message); slower connections are closed."
        },
    )
    tcp_idle_timeout_s: float = field(
        default=300.0,
        metadata={
            "help": "Seconds a TCP connection may stay silent between messages (CRLF keep-alives "
            "count) before it is closed."
        },
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "source_ingress", MappingProxyType(dict(self.source_ingress)))
        object.__setattr__(self, "trunk_groups", MappingProxyType(dict(self.trunk_groups)))
        object.__setattr__(self, "default_action", Action(self.default_action))
        object.__setattr__(
            self,
            "fail_open_by_ingress",
            MappingProxyType(
                {str(k): _as_action(v) for k, v in dict(self.fail_open_by_ingress).items()}
            ),
        )
        problems = self.problems()
        if problems:
            raise ConfigError("SIP settings: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every mistake in these settings, each naming its setting."""
        problems: list[str] = []
        for name in ("udp_port", "tcp_port"):
            port = getattr(self, name)
            if port is not None and not 0 <= port <= 65535:
                problems.append(f"{name} {port} is not 0..65535")
        if self.udp_port is None and self.tcp_port is None:
            problems.append("udp_port and tcp_port are both off: nothing to listen on")
        try:
            ipaddress.ip_address(self.listen_host)
        except ValueError:
            problems.append(f"listen_host '{self.listen_host}' is not an IP address")
        try:
            parse_uri(self.allow_contact.format(number="+77000000000", user="u", host="h.example"))
        except (KeyError, IndexError, ValueError) as error:
            problems.append(
                f"allow_contact: unknown placeholder {error} (use {{number}}, {{user}}, {{host}})"
            )
        except SipParseError as error:
            problems.append(f"allow_contact does not give a URI: {error.reason}")
        for name in ("warning_uri", "divert_uri"):
            try:
                uri = parse_uri(getattr(self, name))
                if uri.scheme not in ("sip", "sips", "tel"):
                    problems.append(f"{name} must be a sip:, sips: or tel: URI")
            except SipParseError as error:
                problems.append(f"{name} is not a URI: {error.reason}")
        if not self.target_param or any(c in self.target_param for c in ";=?@ \t"):
            problems.append(f"target_param '{self.target_param}' is not a URI parameter name")
        if self.block_status not in (603, 608):
            problems.append(f"block_status {self.block_status} is not 603 or 608")
        if self.overload_status not in (None, 503):
            problems.append(f"overload_status {self.overload_status} is not None or 503")
        if not self.deadline_ms > 0:
            problems.append(f"deadline_ms {self.deadline_ms} must be above 0")
        if self.queue_size < 1:
            problems.append(f"queue_size {self.queue_size} must be at least 1")
        for source, ingress in self.source_ingress.items():
            try:
                ipaddress.ip_network(source, strict=False)
            except ValueError:
                problems.append(f"source_ingress: '{source}' is not an address or network")
            problems.extend(_ingress_problem(f"source_ingress['{source}']", ingress))
        for group, ingress in self.trunk_groups.items():
            problems.extend(_ingress_problem(f"trunk_groups['{group}']", ingress))
        problems.extend(_ingress_problem("default_ingress", self.default_ingress))
        if self.region != "auto" and not is_region(self.region):
            problems.append(f"region '{self.region}' is not auto or an ISO 3166 alpha-2 code")
        timers = self.timers
        if not (timers.t1 > 0 and timers.t2 >= timers.t1 and timers.t4 > 0):
            problems.append("timers: need t1 > 0, t2 >= t1 and t4 > 0")
        if self.max_message_size < 1024:
            problems.append(f"max_message_size {self.max_message_size} is under 1024 bytes")
        if self.max_transactions < 1:
            problems.append(f"max_transactions {self.max_transactions} must be at least 1")
        if self.reasons_max_chars < 16:
            problems.append(f"reasons_max_chars {self.reasons_max_chars} is under 16")
        if any(c in self.server_name for c in "\r\n\0"):
            problems.append("server_name has a line break")
        classes = ", ".join(c.value for c in IngressClass)
        for kind, action in self.fail_open_by_ingress.items():
            if kind not in {c.value for c in IngressClass}:
                problems.append(
                    f"fail_open_by_ingress: '{kind}' is not an ingress class ({classes})"
                )
            if not isinstance(cast(object, action), Action):  # as read from a file
                problems.append(
                    f"fail_open_by_ingress['{kind}']: '{action}' is not one of "
                    + ", ".join(a.value for a in Action)
                )
        if self.tcp_max_connections < 1:
            problems.append(f"tcp_max_connections {self.tcp_max_connections} must be at least 1")
        for name in ("tcp_header_timeout_s", "tcp_idle_timeout_s"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} {getattr(self, name)} must be above 0")
        return problems

    def fail_open_action(self, kind: IngressClass) -> Action:
        """The action answered unscreened for a call from ``kind`` (over capacity, error, deadline)."""
        return self.fail_open_by_ingress.get(kind.value, self.default_action)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SipConfig:
        """Settings from a parsed YAML/JSON/environment mapping; unknown keys are errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"SIP settings: unknown setting(s) {', '.join(unknown)}")
        values = dict(data)
        if isinstance(values.get("timers"), Mapping):
            timer_names = {f.name for f in fields(SipTimers)}
            extra = sorted(set(values["timers"]) - timer_names)
            if extra:
                raise ConfigError(f"SIP settings: unknown timer(s) {', '.join(extra)}")
            values["timers"] = SipTimers(**values["timers"])
        if "default_action" in values:
            try:
                values["default_action"] = Action(values["default_action"])
            except ValueError:
                raise ConfigError(
                    f"SIP settings: default_action '{values['default_action']}' is not one of "
                    + ", ".join(a.value for a in Action)
                ) from None
        return cls(**values)


def _as_action(value: object) -> Action | object:
    """An :class:`Action` when ``value`` names one; otherwise ``value``, for problems() to name."""
    try:
        return Action(cast(str, value))
    except ValueError:
        return value


def _ingress_problem(where: str, text: str) -> list[str]:
    try:
        Ingress.parse(text)
    except ValueError:
        return [
            f"{where}: '{text}' is not CLASS or CLASS:ROUTE (mobile, fixed, national, international, voip)"
        ]
    return []
