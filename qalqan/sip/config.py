"""Settings of the SIP redirect server, as one typed, validated dataclass.

Every setting carries its environment variable (``QALQAN_SIP_*``) and help
text in the field's metadata (:func:`qalqan.config.setting`), so that the
operator's guide (``docs/integrations/kamailio/README.md``),
``docs/configuration.md`` and ``qalqan config show`` say the same thing, and a
test checks the guides list them all. They are read from the SIP YAML file
(``qalqan serve --sip-config``) or the ``sip`` table of the settings file, then
the environment (:meth:`SipConfig.read`). Settings are checked
collect-or-raise: building a :class:`SipConfig` with several mistakes raises
one :class:`~qalqan.errors.ConfigError` naming every one of them, so an
operator fixes a file in one pass.

The URIs the switch is redirected to are templates: ``{number}`` is the
dialled number in E.164, ``{user}`` the user part of the Request-URI as it
arrived and ``{host}`` its host (and port).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, cast

from qalqan import config
from qalqan.config import setting as _about
from qalqan.domain.model import Action, Ingress, IngressClass
from qalqan.domain.numbers import is_region
from qalqan.errors import ConfigError
from qalqan.sip.message import SipParseError, parse_uri

__all__ = ["SipConfig", "SipTimers"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SipTimers:
    """RFC 3261 §17 timer bases, in seconds."""

    ITEM: ClassVar[str] = "timer"

    t1: float = field(
        default=0.5, metadata={"help": "RTT estimate T1: Timer G starts here, H and J are 64*T1."}
    )
    t2: float = field(default=4.0, metadata={"help": "Cap T2 on the doubling interval of Timer G."})
    t4: float = field(
        default=5.0, metadata={"help": "T4: how long Timer I absorbs ACK retransmissions on UDP."}
    )


@config.part("sip", prefix="QALQAN_SIP_", title="SIP settings")
@dataclass(frozen=True, slots=True, kw_only=True)
class SipConfig:
    """How the SIP redirect server listens and answers."""

    listen_host: str = field(
        default="127.0.0.1",
        metadata=_about(
            "QALQAN_SIP_LISTEN_HOST",
            "Address to listen on (0.0.0.0 or :: for all interfaces).",
        ),
    )
    udp_port: int | None = field(
        default=5060,
        metadata=_about(
            "QALQAN_SIP_UDP_PORT",
            "UDP port; None (off in the environment) turns UDP off, 0 picks a free port.",
        ),
    )
    tcp_port: int | None = field(
        default=5060,
        metadata=_about(
            "QALQAN_SIP_TCP_PORT",
            "TCP port; None (off in the environment) turns TCP off, 0 picks a free port.",
        ),
    )
    allow_contact: str = field(
        default="tel:{number}",
        metadata=_about(
            "QALQAN_SIP_ALLOW_CONTACT",
            "Contact of the 302 for allowed calls: where the switch sends the call "
            "({number}, {user}, {host} are filled in).",
        ),
    )
    warning_uri: str = field(
        default="sip:warning@announcements.invalid",
        metadata=_about(
            "QALQAN_SIP_WARNING_URI",
            "Contact of the 302 for 'warn': the warning announcement, which then connects the call.",
        ),
    )
    divert_uri: str = field(
        default="sip:operators@anti-call-center.invalid",
        metadata=_about(
            "QALQAN_SIP_DIVERT_URI",
            "Contact of the 302 for 'divert': the anti-call-center's operators.",
        ),
    )
    target_param: str = field(
        default="target",
        metadata=_about(
            "QALQAN_SIP_TARGET_PARAM",
            "URI parameter carrying the dialled number to the warning or divert URI (RFC 4458 'target').",
        ),
    )
    block_status: int = field(
        default=603,
        metadata=_about(
            "QALQAN_SIP_BLOCK_STATUS",
            "Answer to a blocked call: 603 (Decline) or 608 (Rejected, RFC 8688).",
        ),
    )
    default_action: Action = field(
        default=Action.ALLOW,
        metadata=_about(
            "QALQAN_SIP_DEFAULT_ACTION",
            "Action answered when screening fails, misses its deadline or the node is over capacity. "
            "Superseded by node.default_action: counts only where that is not given.",
        ),
    )
    overload_status: int | None = field(
        default=None,
        metadata=_about(
            "QALQAN_SIP_OVERLOAD_STATUS",
            "Over capacity: None answers the default action, 503 answers 503 Service Unavailable.",
        ),
    )
    deadline_ms: float = field(
        default=50.0,
        metadata=_about(
            "QALQAN_SIP_DEADLINE_MS",
            "Screening budget per call from arrival; past it the default action is answered. "
            "Superseded by node.deadline_ms: counts only where that is not given.",
        ),
    )
    queue_size: int = field(
        default=1024,
        metadata=_about(
            "QALQAN_SIP_QUEUE_SIZE",
            "Requests waiting to be screened; past it new ones are answered at once without screening.",
        ),
    )
    workers: int = field(
        default=1,
        metadata=_about(
            "QALQAN_SIP_WORKERS",
            "Worker processes of qalqan serve, each with its own event loop and screening node, "
            "sharing the UDP and TCP ports (SO_REUSEPORT); more than 1 needs the cluster's shared "
            "state (cluster.url) or --allow-split-state.",
        ),
    )
    source_ingress: Mapping[str, str] = field(
        default_factory=dict,
        metadata=_about(
            "QALQAN_SIP_SOURCE_INGRESS",
            "Source address or network of the sending SBC → ingress, e.g. {'203.0.113.7': 'international:carrierA'}.",
        ),
    )
    trunk_groups: Mapping[str, str] = field(
        default_factory=dict,
        metadata=_about(
            "QALQAN_SIP_TRUNK_GROUPS",
            "RFC 4904 trunk group ('TG1' or 'TG1@trunk-context') → ingress, e.g. {'TG1@ixc.example': 'international:carrierA'}.",
        ),
    )
    default_ingress: str = field(
        default="national",
        metadata=_about(
            "QALQAN_SIP_DEFAULT_INGRESS",
            "Ingress of a call that neither a trunk group nor a source address explains.",
        ),
    )
    region: str = field(
        default="auto",
        metadata=_about(
            "QALQAN_SIP_REGION",
            "Numbering plan (ISO 3166 alpha-2) for reading national-format numbers; "
            "auto: the screening engine's home country (network.home_region), and national "
            "forms are left unread while it is not known.",
        ),
    )
    client_time_skew_s: float = field(
        default=0.0,
        metadata=_about(
            "QALQAN_SIP_CLIENT_TIME_SKEW_S",
            "Most seconds an INVITE's Date header may differ from the node's clock to be taken as "
            "the call's time; further, or 0 (the default), the node dates the call itself. inf "
            "believes every Date: for replaying recorded calls only.",
        ),
    )
    imsi_header: str = field(
        default="P-Qalqan-IMSI",
        metadata=_about(
            "QALQAN_SIP_IMSI_HEADER",
            "Header the SBC writes the calling SIM's IMSI into (no standard INVITE header "
            "carries it); read for calls of the mobile ingress only.",
        ),
    )
    decisions_log: Path | None = field(
        default=None,
        metadata=_about(
            "QALQAN_SIP_DECISIONS_LOG",
            "CSV file the node adds each screened INVITE's decision to, in the columns of "
            "replay's decisions.csv (record_id is the Call-ID); None: no log.",
        ),
    )
    decisions_log_max_bytes: int = field(
        default=256 * 1024 * 1024,
        metadata=_about(
            "QALQAN_SIP_DECISIONS_LOG_MAX_BYTES",
            "Largest decisions log; past it the file is moved to FILE.1 (replacing the one "
            "before) and a new one begun.",
        ),
    )
    metrics_host: str = field(
        default="127.0.0.1",
        metadata=_about(
            "QALQAN_SIP_METRICS_HOST",
            "Address of the node's metrics listener (GET /metrics, /healthz over HTTP).",
        ),
    )
    metrics_port: int | None = field(
        default=None,
        metadata=_about(
            "QALQAN_SIP_METRICS_PORT",
            "Port of the node's metrics listener; None (off in the environment): no listener, "
            "0 picks a free port.",
        ),
    )
    timers: SipTimers = field(
        default_factory=SipTimers,
        metadata=_about(
            "QALQAN_SIP_TIMERS",
            "RFC 3261 timers T1, T2, T4, in seconds (t1=0.5,t2=4.0,t4=5.0 in the environment).",
        ),
    )
    max_message_size: int = field(
        default=65535,
        metadata=_about(
            "QALQAN_SIP_MAX_MESSAGE_SIZE",
            "Largest message accepted, in bytes (TCP framing and UDP).",
        ),
    )
    max_transactions: int = field(
        default=200_000,
        metadata=_about(
            "QALQAN_SIP_MAX_TRANSACTIONS",
            "Transactions remembered for retransmissions; past it the oldest are forgotten.",
        ),
    )
    reasons_max_chars: int = field(
        default=512,
        metadata=_about(
            "QALQAN_SIP_REASONS_MAX_CHARS",
            "Longest X-Qalqan-Reasons header value; longer ones are cut.",
        ),
    )
    server_name: str = field(
        default="Qalqan",
        metadata=_about(
            "QALQAN_SIP_SERVER_NAME",
            "Value of the Server header on every response.",
        ),
    )
    fail_open_by_ingress: Mapping[str, Action] = field(
        default_factory=dict,
        metadata=_about(
            "QALQAN_SIP_FAIL_OPEN_BY_INGRESS",
            "Ingress class → action answered instead of default_action when screening fails "
            "open (over capacity, error, deadline), e.g. {'international': 'divert', 'voip': 'divert'}. "
            "Superseded by node.fail_open_by_ingress: counts only where that is not given.",
        ),
    )
    tcp_max_connections: int = field(
        default=512,
        metadata=_about(
            "QALQAN_SIP_TCP_MAX_CONNECTIONS",
            "Open TCP connections at most; past it the oldest that has not yet sent a whole "
            "message is closed for the newcomer, else the one silent longest (past "
            "tcp_header_timeout_s), or the newcomer is refused.",
        ),
    )
    tcp_header_timeout_s: float = field(
        default=10.0,
        metadata=_about(
            "QALQAN_SIP_TCP_HEADER_TIMEOUT_S",
            "Seconds a TCP message may take from its first byte to its last (and a new "
            "connection to send its first message); slower connections are closed.",
        ),
    )
    tcp_idle_timeout_s: float = field(
        default=300.0,
        metadata=_about(
            "QALQAN_SIP_TCP_IDLE_TIMEOUT_S",
            "Seconds a TCP connection may stay silent between messages (CRLF keep-alives "
            "count) before it is closed.",
        ),
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
        return [
            *self._listening_problems(),
            *self._answer_problems(),
            *self._ingress_problems(),
            *self._limit_problems(),
        ]

    def _listening_problems(self) -> list[str]:
        problems = [
            f"{name} {port} is not 0..65535"
            for name, port in (("udp_port", self.udp_port), ("tcp_port", self.tcp_port))
            if port is not None and not 0 <= port <= 65535
        ]
        if self.udp_port is None and self.tcp_port is None:
            problems.append("udp_port and tcp_port are both off: nothing to listen on")
        try:
            ipaddress.ip_address(self.listen_host)
        except ValueError:
            problems.append(f"listen_host '{self.listen_host}' is not an IP address")
        timers = self.timers
        if not (timers.t1 > 0 and timers.t2 >= timers.t1 and timers.t4 > 0):
            problems.append("timers: need t1 > 0, t2 >= t1 and t4 > 0")
        return problems

    def _answer_problems(self) -> list[str]:
        problems: list[str] = []
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
        if any(c in self.server_name for c in "\r\n\0"):
            problems.append("server_name has a line break")
        if not _HEADER_NAME.fullmatch(self.imsi_header):
            problems.append(f"imsi_header '{self.imsi_header}' is not a header name")
        return problems

    def _ingress_problems(self) -> list[str]:
        problems: list[str] = []
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
        return problems

    def _limit_problems(self) -> list[str]:
        return [
            f"{name} {getattr(self, name)} {says}"
            for name, holds, says in _BOUNDS
            if not holds(getattr(self, name))
        ]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SipConfig:
        """Settings from a parsed YAML/JSON mapping alone (no file, no environment); unknown
        keys are errors."""
        return config.load(cls, environ={}, file=config.SettingsFile.of(None, {"sip": data}))

    @classmethod
    def read(
        cls,
        file: Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **flags: Any,
    ) -> SipConfig:
        """Settings from ``file`` (the SIP YAML, its settings at the top level) or else the
        ``[sip]`` table of the file ``QALQAN_CONFIG`` names, then ``QALQAN_SIP_*`` variables,
        then ``flags`` (None means not given)."""
        source = config.SettingsFile.read(file, section="sip") if file is not None else None
        return config.load(cls, environ=environ, file=source, flags=flags)


# (setting, the test its value must pass, what is said when it does not)
_BOUNDS: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("deadline_ms", lambda v: v > 0, "must be above 0"),
    ("queue_size", lambda v: v >= 1, "must be at least 1"),
    ("workers", lambda v: 1 <= v <= 64, "is not 1..64"),
    ("max_message_size", lambda v: v >= 1024, "is under 1024 bytes"),
    ("max_transactions", lambda v: v >= 1, "must be at least 1"),
    ("reasons_max_chars", lambda v: v >= 16, "is under 16"),
    ("tcp_max_connections", lambda v: v >= 1, "must be at least 1"),
    ("tcp_header_timeout_s", lambda v: v > 0, "must be above 0"),
    ("tcp_idle_timeout_s", lambda v: v > 0, "must be above 0"),
    ("client_time_skew_s", lambda v: v >= 0, "must be 0 or more"),
    ("decisions_log_max_bytes", lambda v: v >= 4096, "is under 4096 bytes"),
)
_HEADER_NAME = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]{1,64}")


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
