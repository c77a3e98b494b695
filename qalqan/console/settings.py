"""Settings of the operators' console: one typed registry, read from ``QALQAN_CONSOLE_*``.

Each setting is a field of :class:`ConsoleSettings` with its environment
variable and help text in the field's metadata, read and listed by
:mod:`qalqan.config` as the HTTP API's settings are; ``docs/console.md`` lists
every one with its default, and a test checks that it does. The session key is
a :class:`~qalqan.config.Secret`: it never prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta

from qalqan import config
from qalqan.config import Secret
from qalqan.config import setting as _about
from qalqan.errors import ConfigError

__all__ = ["ConsoleSettings"]


_POSITIVE = (
    "session_hours", "idle_minutes", "login_window_minutes", "login_lockout_minutes",
    "login_failures_per_name", "login_failures_per_account", "login_failures_per_address",
    "login_concurrent_hashes", "login_queue_seconds",
)  # fmt: skip


@config.part("console", prefix="QALQAN_CONSOLE_", title="console settings")
@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleSettings:
    """How long sessions last, how sign-in is throttled, and how large a request may be."""

    secret: Secret | None = field(
        default=None,
        metadata=_about(
            "QALQAN_CONSOLE_SECRET",
            "Key that signs the session cookie. Unset: a random one per start, so everyone "
            "signs in again after a restart. Set it for a shift. Never printed.",
            secret=True,
        ),
    )
    session_hours: float = field(
        default=12.0,
        metadata=_about(
            "QALQAN_CONSOLE_SESSION_HOURS",
            "A session's absolute lifetime from sign-in (one shift); no click or language "
            "switch extends it.",
        ),
    )
    idle_minutes: float = field(
        default=60.0,
        metadata=_about(
            "QALQAN_CONSOLE_IDLE_MINUTES",
            "A session ends after this long without a click (the queue refreshing itself does "
            "not count).",
        ),
    )
    login_window_minutes: float = field(
        default=15.0,
        metadata=_about(
            "QALQAN_CONSOLE_LOGIN_WINDOW_MINUTES",
            "Failed sign-ins are counted over this window.",
        ),
    )
    login_failures_per_name: int = field(
        default=5,
        metadata=_about(
            "QALQAN_CONSOLE_LOGIN_FAILURES_PER_NAME",
            "Failed sign-ins for one name from one address, within the window, before that "
            "name is locked for that address.",
        ),
    )
    login_failures_per_account: int = field(
        default=50,
        metadata=_about(
            "QALQAN_CONSOLE_LOGIN_FAILURES_PER_ACCOUNT",
            "Failed sign-ins for one name from all addresses together, within the window, "
            "before that name is locked everywhere.",
        ),
    )
    login_failures_per_address: int = field(
        default=20,
        metadata=_about(
            "QALQAN_CONSOLE_LOGIN_FAILURES_PER_ADDRESS",
            "Failed sign-ins from one address (any names, unknown ones included), within the "
            "window, before that address is locked.",
        ),
    )
    login_lockout_minutes: float = field(
        default=15.0,
        metadata=_about(
            "QALQAN_CONSOLE_LOGIN_LOCKOUT_MINUTES",
            "How long a lock lasts; then the count starts again. Locks are never permanent.",
        ),
    )
    login_concurrent_hashes: int = field(
        default=1,
        metadata=_about(
            "QALQAN_CONSOLE_LOGIN_CONCURRENT_HASHES",
            "Password checks (Argon2) run at once; a sign-in beyond them waits in the "
            "queue below, or is answered 503 without hashing.",
        ),
    )
    login_queue: int = field(
        default=16,
        metadata=_about(
            "QALQAN_CONSOLE_LOGIN_QUEUE",
            "Sign-ins that may wait, first come first checked, for a password check when all "
            "are busy (operators signing in together at shift start); past them a sign-in is "
            "answered 503 at once. 0: none waits.",
        ),
    )
    login_queue_seconds: float = field(
        default=5.0,
        metadata=_about(
            "QALQAN_CONSOLE_LOGIN_QUEUE_SECONDS",
            "Longest a sign-in waits in that queue; then it is answered 503.",
        ),
    )
    max_body_bytes: int = field(
        default=65_536,
        metadata=_about(
            "QALQAN_CONSOLE_MAX_BODY_BYTES",
            "Largest request body accepted, in bytes; a larger one gets 413 before it is read.",
        ),
    )

    country: str = field(
        default="auto",
        metadata=_about(
            "QALQAN_CONSOLE_COUNTRY",
            "The operator's country, ISO 3166 alpha-2 (KZ, AZ, UZ, KG, ...): the map the "
            "findings page draws and which caller IDs the dashboard counts as domestic. "
            "`auto`: the country most of the subscribers' numbers in the case store belong to.",
        ),
    )

    currency: str = field(
        default="auto",
        metadata=_about(
            "QALQAN_CONSOLE_CURRENCY",
            "ISO 4217 code of the amounts operators enter as losses prevented or suffered (KZT, "
            "AZN, UZS, KGS, ...). `auto`: the currency of the operator's country (above); "
            "where that is not known, set it, or amounts are refused.",
        ),
    )

    def __post_init__(self) -> None:
        currency = self.currency.strip()
        object.__setattr__(
            self, "currency", "auto" if currency.lower() == "auto" else currency.upper()
        )
        object.__setattr__(self, "country", self.country.strip())
        if self.country.lower() == "auto":
            object.__setattr__(self, "country", "auto")
        else:
            object.__setattr__(self, "country", self.country.upper())
        key: object = self.secret
        if isinstance(key, str):  # a plain string is accepted and wrapped
            object.__setattr__(self, "secret", Secret(key))
        problems = self.problems()
        if problems:
            raise ConfigError("console settings: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every mistake in these settings, each naming its environment variable."""
        env = {f.name: f.metadata["env"] for f in fields(self)}
        problems = [
            f"{env[name]}={getattr(self, name)} must be above 0"
            for name in _POSITIVE
            if not getattr(self, name) > 0
        ]
        if self.login_queue < 0:
            problems.append(f"{env['login_queue']}={self.login_queue} is below 0")
        if self.max_body_bytes < 4096:
            problems.append(f"{env['max_body_bytes']}={self.max_body_bytes} is under 4096")
        if self.country != "auto" and not (
            len(self.country) == 2 and self.country.isascii() and self.country.isalpha()
        ):
            problems.append(
                f"{env['country']}={self.country!r} is not 'auto' or a country code like AZ"
            )
        if self.currency != "auto" and not (
            len(self.currency) == 3 and self.currency.isascii() and self.currency.isalpha()
        ):
            problems.append(
                f"{env['currency']}={self.currency!r} is not 'auto' or a currency code like AZN"
            )
        if self.secret is not None and len(self.secret) < 16:
            problems.append(f"{env['secret']} is too short (at least 16 characters)")
        return problems

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.session_hours)

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.idle_minutes)

    @property
    def login_window(self) -> timedelta:
        return timedelta(minutes=self.login_window_minutes)

    @property
    def login_lockout(self) -> timedelta:
        return timedelta(minutes=self.login_lockout_minutes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConsoleSettings:
        """Settings from the file ``QALQAN_CONFIG`` names (its ``[console]`` table), then
        ``QALQAN_CONSOLE_*`` variables; every mistake named in one ConfigError."""
        return config.from_env(cls, environ)

    @classmethod
    def registry(cls) -> list[tuple[str, str, str, str]]:
        """``(field, environment variable, default as shown, help)`` of every setting."""
        return config.registry(cls)
