"""Settings of the HTTP screening API: one typed registry, read from ``QALQAN_HTTP_*``.

Every setting is a field of :class:`ApiSettings` with its environment
variable and help text in the field's metadata, so that ``docs/api.md``,
``qalqan serve-http --help`` and the error messages say the same thing (a test
checks the docs list every one). Reading the environment is collect-or-raise:
several mistakes give one :class:`~qalqan.errors.ConfigError` naming each
variable. Secrets (the API token) are held in :class:`Secret`, which never
prints its value: not in ``repr``, not in logs, not in error messages. The
idiom is :mod:`qalqan.config`'s, shared with the console's settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from qalqan import config
from qalqan.config import Secret
from qalqan.config import setting as _about
from qalqan.domain.model import Action, IngressClass
from qalqan.domain.numbers import is_region
from qalqan.errors import ConfigError
from qalqan.screening.node import actions_by_ingress, as_action

__all__ = ["ApiSettings", "Secret"]

_INGRESS_CLASSES = frozenset(c.value for c in IngressClass)


# (setting, the test its value must pass, what is said when it does not)
_BOUNDS: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("max_body_bytes", lambda v: v >= 1024, "is under 1024"),
    ("max_batch", lambda v: v >= 1, "must be at least 1"),
    ("deadline_ms", lambda v: v > 0, "must be above 0"),
    ("client_time_skew_s", lambda v: v >= 0, "must be 0 or more"),
    ("outcome_window_s", lambda v: v > 0, "must be above 0"),
    ("outcome_max_attempts", lambda v: v >= 1, "must be at least 1"),
    ("keep_alive_s", lambda v: v >= 1, "must be at least 1"),
    ("header_timeout_s", lambda v: v > 0, "must be above 0"),
    ("max_header_bytes", lambda v: v >= 1024, "is under 1024"),
    ("max_connections", lambda v: v >= 1, "must be at least 1"),
)


def _parse(kind: Any, raw: str) -> Any:
    if kind == Mapping[str, Action]:
        return actions_by_ingress(raw)
    return config.parse_value(kind, raw)


@config.part("http", prefix="QALQAN_HTTP_", title="HTTP API settings", parse=_parse)
@dataclass(frozen=True, slots=True, kw_only=True)
class ApiSettings:
    """How the HTTP screening API listens, validates and answers."""

    host: str = field(
        default="127.0.0.1",
        metadata=_about("QALQAN_HTTP_HOST", "Address to listen on (0.0.0.0 for all)."),
    )
    port: int = field(
        default=8080,
        metadata=_about("QALQAN_HTTP_PORT", "TCP port to listen on (0 picks a free one)."),
    )
    engine: str = field(
        default="qalqan.screening.engine:ScreeningEngine",
        metadata=_about(
            "QALQAN_HTTP_ENGINE",
            "The screening engine class to serve, as module:Class (with screen or decide).",
        ),
    )
    rules: Path | None = field(
        default=None,
        metadata=_about(
            "QALQAN_HTTP_RULES", "Rules file handed to the screening engine; none: its defaults."
        ),
    )
    region: str = field(
        default="auto",
        metadata=_about(
            "QALQAN_HTTP_REGION",
            "Numbering plan (ISO 3166 alpha-2) for numbers sent in national format; auto: "
            "the screening engine's home country (network.home_region), and national forms "
            "are refused while it is not known.",
        ),
    )
    max_body_bytes: int = field(
        default=1_048_576,
        metadata=_about(
            "QALQAN_HTTP_MAX_BODY_BYTES",
            "Largest request body accepted, in bytes; larger ones get 413.",
        ),
    )
    max_batch: int = field(
        default=1000,
        metadata=_about(
            "QALQAN_HTTP_MAX_BATCH",
            "Most items in one POST /v1/screen/batch or /v1/outcome/batch; more get 413.",
        ),
    )
    deadline_ms: float = field(
        default=50.0,
        metadata=_about(
            "QALQAN_HTTP_DEADLINE_MS",
            "Screening budget per call attempt; a later answer is replaced by the default action. "
            "Superseded by node.deadline_ms: counts only where that is not given.",
        ),
    )
    fail_open: bool = field(
        default=True,
        metadata=_about(
            "QALQAN_HTTP_FAIL_OPEN",
            "When the engine fails or is late, answer the default action (true) or an HTTP error (false).",
        ),
    )
    default_action: Action = field(
        default=Action.ALLOW,
        metadata=_about(
            "QALQAN_HTTP_DEFAULT_ACTION",
            "Action answered when screening fails open: allow, warn, divert or block. "
            "Superseded by node.default_action: counts only where that is not given.",
        ),
    )
    fail_open_by_ingress: Mapping[str, Action] = field(
        default_factory=dict,
        metadata=_about(
            "QALQAN_HTTP_FAIL_OPEN_BY_INGRESS",
            "Per ingress class, the action answered instead of the default when screening fails "
            "open, as CLASS=ACTION,... (e.g. international=divert,voip=divert); classes not "
            "named get the default action. "
            "Superseded by node.fail_open_by_ingress: counts only where that is not given.",
        ),
    )
    client_time_skew_s: float = field(
        default=5.0,
        metadata=_about(
            "QALQAN_HTTP_CLIENT_TIME_SKEW_S",
            "Most seconds a client's time may differ from the node's clock; further, the attempt "
            "is judged at the node's time and the decision says so.",
        ),
    )
    outcome_window_s: float = field(
        default=7200.0,
        metadata=_about(
            "QALQAN_HTTP_OUTCOME_WINDOW_S",
            "Seconds a screened attempt is held for POST /v1/outcome to report how it ended; "
            "an outcome reported later teaches the engine nothing.",
        ),
    )
    outcome_max_attempts: int = field(
        default=100_000,
        metadata=_about(
            "QALQAN_HTTP_OUTCOME_MAX_ATTEMPTS",
            "Most screened attempts held for POST /v1/outcome; past it the oldest is let go.",
        ),
    )
    api_token: Secret | None = field(
        default=None,
        metadata=_about(
            "QALQAN_HTTP_API_TOKEN",
            "Bearer token required on /v1/* (at least 16 characters); none: no token needed.",
            secret=True,
        ),
    )
    access_log: bool = field(
        default=False,
        metadata=_about("QALQAN_HTTP_ACCESS_LOG", "Log every request (costs throughput)."),
    )
    keep_alive_s: int = field(
        default=5,
        metadata=_about(
            "QALQAN_HTTP_KEEP_ALIVE_S", "Seconds an idle keep-alive connection stays open."
        ),
    )
    header_timeout_s: float = field(
        default=10.0,
        metadata=_about(
            "QALQAN_HTTP_HEADER_TIMEOUT_S",
            "Seconds a request may take to arrive, headers and body (and a new connection to "
            "send its first request); slower ones get 408 and are closed.",
        ),
    )
    max_header_bytes: int = field(
        default=65_536,
        metadata=_about(
            "QALQAN_HTTP_MAX_HEADER_BYTES",
            "Largest request line and header block, in bytes; larger ones get 431 and are closed.",
        ),
    )
    max_connections: int = field(
        default=512,
        metadata=_about(
            "QALQAN_HTTP_MAX_CONNECTIONS",
            "Open connections at most (and never more than the file-descriptor limit allows); "
            "past it the oldest connection yet to send a whole request is closed for the "
            "newcomer, else the newcomer gets 503.",
        ),
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "default_action", Action(self.default_action))
        object.__setattr__(
            self,
            "fail_open_by_ingress",
            MappingProxyType(
                {str(k): as_action(v) for k, v in dict(self.fail_open_by_ingress).items()}
            ),
        )
        token: object = self.api_token
        if isinstance(token, str):  # a plain string is accepted and wrapped
            object.__setattr__(self, "api_token", Secret(token))
        problems = self.problems()
        if problems:
            raise ConfigError("HTTP API settings: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every mistake in these settings, each naming its environment variable."""
        env = {f.name: f.metadata["env"] for f in fields(self)}
        problems: list[str] = []
        module, colon, name = self.engine.partition(":")
        if not (colon and module.strip() and name.strip()):
            problems.append(f"{env['engine']}={self.engine!r} is not module:Class")
        if not self.host.strip():
            problems.append(f"{env['host']} is empty")
        if not 0 <= self.port <= 65535:
            problems.append(f"{env['port']}={self.port} is not 0..65535")
        if self.region != "auto" and not is_region(self.region):
            problems.append(
                f"{env['region']}={self.region!r} is not auto or an ISO 3166 code like KZ or AZ"
            )
        problems += [
            f"{env[name]}={getattr(self, name)} {says}"
            for name, holds, says in _BOUNDS
            if not holds(getattr(self, name))
        ]
        problems += self._fail_open_problems(env["fail_open_by_ingress"])
        if self.api_token is not None and len(self.api_token) < 16:
            problems.append(f"{env['api_token']} is too short (at least 16 characters)")
        return problems

    def _fail_open_problems(self, variable: str) -> list[str]:
        classes = ", ".join(c.value for c in IngressClass)
        problems: list[str] = []
        for kind, action in self.fail_open_by_ingress.items():
            if kind not in _INGRESS_CLASSES:
                problems.append(f"{variable}: '{kind}' is not an ingress class ({classes})")
            if not isinstance(cast(object, action), Action):
                problems.append(
                    f"{variable}: '{action}' is not one of " + ", ".join(a.value for a in Action)
                )
        return problems

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ApiSettings:
        """Settings from the file ``QALQAN_CONFIG`` names (its ``[http]`` table), then
        ``QALQAN_HTTP_*`` variables, then ``overrides`` (None means not given).

        Every unreadable value is named in one :class:`ConfigError`; so are
        unknown ``QALQAN_HTTP_*`` variables, which are usually typos.
        """
        return config.from_env(cls, environ, overrides)

    def replace(self, **changes: Any) -> ApiSettings:
        """A copy with ``changes`` applied (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def registry(cls) -> list[tuple[str, str, str, str]]:
        """``(field, environment variable, default as shown, help)`` of every setting."""
        return config.registry(cls)

    def shown(self) -> dict[str, str]:
        """Every setting as it may be printed: secrets as stars."""
        return config.shown(self)
