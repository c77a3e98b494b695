"""The exchange format v1 as data: every table, its columns and their rules.

This module is the machine-readable twin of ``docs/exchange-format.md`` (the
public contract). The reader, the validator, the writer and the simulator all
take their column names, types and allowed values from here, so the code and
the contract cannot drift apart. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from qalqan.domain.model import (
    Action,
    CallResult,
    CallVerdict,
    Event,
    IngressClass,
    PaymentChannel,
    Plan,
    ReportCategory,
    ReportChannel,
    SimVerdict,
)

__all__ = [
    "ACCOUNTS",
    "ACCOUNT_KINDS",
    "ACCOUNT_PREFIXES",
    "INPUT_TABLES",
    "OUTPUT_TABLES",
    "TABLES",
    "Column",
    "Kind",
    "Table",
    "reason_facts_column",
]


class Kind(StrEnum):
    """How a cell is read and checked."""

    TEXT = "text"
    """Any string; checked only for presence when not nullable."""
    TIME = "time"
    """UTC instant: ISO 8601 with ``Z`` in CSV, timestamp (UTC) in Parquet."""
    DATE = "date"
    """Calendar date ``YYYY-MM-DD``."""
    INT = "int"
    FLOAT = "float"
    E164 = "e164"
    """Phone number in E.164 with a leading ``+``."""
    ENUM = "enum"
    INGRESS = "ingress"
    """``CLASS`` or ``CLASS:ROUTE`` with CLASS one of the ingress classes."""
    POLICY = "policy"
    """``inbound_only`` or ``route:CLASS:ROUTE``."""
    ACCOUNT = "account"
    """``bank:ID``, ``msisdn:+E164``, ``ewallet:ID`` or ``crypto:ADDRESS``."""
    COUNTRY = "country"
    """ISO 3166 alpha-2, two capital letters."""
    CURRENCY = "currency"
    """ISO 4217, three capital letters."""
    REASONS = "reasons"
    """A ``reason_facts`` cell: a JSON array of reasons, version 1 or 2 (``docs/exchange-format.md``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    name: str
    kind: Kind
    doc: str
    required: bool = True
    """The column must be present in the file (optional columns may be absent)."""
    nullable: bool = False
    """An empty cell is allowed (it means unknown / not applicable)."""
    values: tuple[str, ...] = ()
    """Allowed values of an ENUM column."""
    unique: bool = False
    minimum: float | None = None
    maximum: float | None = None
    references: tuple[str, str] | None = None
    """(table, column) that a non-empty value must be found in, when that table is present."""

    @property
    def lenient(self) -> bool:
        """A bad value leaves the cell empty, with a warning, instead of rejecting the row.

        True for the columns the contract calls optional (``required=False``): a
        file may leave such a column out altogether, so a row whose cell is left
        empty says no less than a file without the column, and the rest of the
        row (an owner, an activation date) is kept. Every other column is
        strict, nullable ones included: there an empty cell has a meaning of its
        own (an empty ``a_number`` is a withheld caller ID), which a broken
        value must not take on.
        """
        return not self.required


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    required: bool = False
    """The data set cannot be read without this table."""
    output: bool = False
    """Written by Qalqan's analysis rather than provided by the operator."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table '{self.name}' has no column '{name}'")


def _values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


INGRESS_CLASSES = _values(IngressClass)

_MOBILE_ONLY = "; only when ingress is mobile"

CDRS = Table(
    name="cdrs",
    doc="One row per call or SMS attempt seen by the network.",
    required=True,
    columns=(
        Column(name="record_id", kind=Kind.TEXT, unique=True, doc="unique within the data set"),
        Column(name="start_time", kind=Kind.TIME, doc="setup time of the attempt"),
        Column(
            name="duration_s",
            kind=Kind.INT,
            minimum=0,
            doc="talk time in seconds; 0 when not answered and for SMS",
        ),
        Column(name="event", kind=Kind.ENUM, values=_values(Event), doc="voice or sms"),
        Column(name="result", kind=Kind.ENUM, values=_values(CallResult), doc="outcome"),
        Column(
            name="a_number",
            kind=Kind.E164,
            nullable=True,
            doc="calling line identity as presented; empty when withheld",
        ),
        Column(name="b_number", kind=Kind.E164, doc="called party"),
        Column(name="ingress", kind=Kind.INGRESS, doc="CLASS or CLASS:ROUTE"),
        Column(
            name="a_imsi",
            kind=Kind.TEXT,
            nullable=True,
            doc="IMSI of the originator" + _MOBILE_ONLY,
        ),
        Column(
            name="a_imei",
            kind=Kind.TEXT,
            nullable=True,
            doc="IMEI of the originator" + _MOBILE_ONLY,
        ),
        Column(
            name="a_cell",
            kind=Kind.TEXT,
            nullable=True,
            references=("cells", "cell_id"),
            doc="serving cell of the originator" + _MOBILE_ONLY,
        ),
        Column(
            name="b_imsi",
            kind=Kind.TEXT,
            nullable=True,
            doc="IMSI of the called SIM when the callee is this operator's subscriber",
        ),
        Column(
            name="b_cell",
            kind=Kind.TEXT,
            nullable=True,
            references=("cells", "cell_id"),
            doc="serving cell of the callee, when known",
        ),
        Column(
            name="identity_attest",
            kind=Kind.ENUM,
            values=("A", "B", "C"),
            required=False,
            nullable=True,
            doc="STIR/SHAKEN attestation of a verified Identity header",
        ),
        Column(
            name="orig_country",
            kind=Kind.COUNTRY,
            required=False,
            nullable=True,
            doc="country of the foreign switch that handed the call over",
        ),
    ),
)

CELLS = Table(
    name="cells",
    doc="The operator's radio cells.",
    columns=(
        Column(name="cell_id", kind=Kind.TEXT, unique=True, doc="cell identity"),
        Column(name="site_id", kind=Kind.TEXT, doc="the site (mast) the cell belongs to"),
        Column(name="lat", kind=Kind.FLOAT, minimum=-90, maximum=90, doc="WGS84 latitude"),
        Column(name="lon", kind=Kind.FLOAT, minimum=-180, maximum=180, doc="WGS84 longitude"),
        Column(name="region", kind=Kind.TEXT, nullable=True, doc="administrative region"),
        Column(
            name="radius_m",
            kind=Kind.FLOAT,
            minimum=0,
            required=False,
            nullable=True,
            doc="approximate coverage radius in metres",
        ),
    ),
)

SUBSCRIBERS = Table(
    name="subscribers",
    doc="The operator's SIMs.",
    columns=(
        Column(name="imsi", kind=Kind.TEXT, unique=True, doc="IMSI of the SIM"),
        Column(name="msisdn", kind=Kind.E164, doc="the SIM's number"),
        Column(name="activated", kind=Kind.DATE, doc="activation date"),
        Column(name="plan", kind=Kind.ENUM, values=_values(Plan), doc="tariff class"),
        Column(
            name="birth_year",
            kind=Kind.INT,
            minimum=1900,
            maximum=2100,
            required=False,
            nullable=True,
            doc="birth year of the registered owner",
        ),
        Column(name="region", kind=Kind.TEXT, required=False, nullable=True, doc="home region"),
        Column(name="iccid", kind=Kind.TEXT, required=False, nullable=True, doc="SIM card serial"),
        Column(
            name="owner_id",
            kind=Kind.TEXT,
            required=False,
            nullable=True,
            doc="opaque id of the owner's identity document; equal for SIMs of the same person",
        ),
    ),
)

ROAMING = Table(
    name="roaming",
    doc="Periods when a subscriber was registered abroad.",
    columns=(
        Column(name="imsi", kind=Kind.TEXT, doc="IMSI of the roaming SIM"),
        Column(name="start_time", kind=Kind.TIME, doc="registration abroad began"),
        Column(name="end_time", kind=Kind.TIME, doc="registration abroad ended"),
        Column(name="country", kind=Kind.COUNTRY, doc="visited country"),
    ),
)

PAYMENTS = Table(
    name="payments",
    doc="Money movements known to the operator or its partners.",
    columns=(
        Column(name="payment_id", kind=Kind.TEXT, unique=True, doc="unique id"),
        Column(name="time", kind=Kind.TIME, doc="when the money moved"),
        Column(name="payer", kind=Kind.ACCOUNT, doc="account the money left"),
        Column(name="payee", kind=Kind.ACCOUNT, doc="account the money reached"),
        Column(name="amount", kind=Kind.FLOAT, minimum=0, doc="amount in currency units"),
        Column(name="currency", kind=Kind.CURRENCY, doc="ISO 4217 code"),
        Column(name="channel", kind=Kind.ENUM, values=_values(PaymentChannel), doc="how"),
    ),
)

#: What an ``accounts`` row's account is (exchange-v1.1).
ACCOUNT_KINDS = ("card", "bank_account", "ewallet", "sim_balance", "crypto")

#: The account prefix each kind of account is written with, as in ``payments``.
ACCOUNT_PREFIXES = {
    "card": "bank:",
    "bank_account": "bank:",
    "ewallet": "ewallet:",
    "sim_balance": "msisdn:",
    "crypto": "crypto:",
}

ACCOUNTS = Table(
    name="accounts",
    doc="Who holds the accounts that payments name (exchange-v1.1; optional).",
    columns=(
        Column(name="account", kind=Kind.ACCOUNT, unique=True, doc="as payments write it"),
        Column(
            name="holder_msisdn",
            kind=Kind.E164,
            nullable=True,
            doc="the phone number the holder registered with the bank or wallet; empty when unknown",
        ),
        Column(
            name="bank",
            kind=Kind.TEXT,
            nullable=True,
            doc="the bank, wallet provider, operator or exchange that keeps the account",
        ),
        Column(
            name="kind",
            kind=Kind.ENUM,
            values=ACCOUNT_KINDS,
            doc="card, bank_account, ewallet, sim_balance or crypto (matches the prefix)",
        ),
        Column(
            name="opened",
            kind=Kind.DATE,
            required=False,
            nullable=True,
            doc="the day the account was opened, when known",
        ),
    ),
)

REPORTS = Table(
    name="reports",
    doc="Complaints from citizens.",
    columns=(
        Column(name="report_id", kind=Kind.TEXT, unique=True, doc="unique id"),
        Column(name="time", kind=Kind.TIME, doc="when the complaint was made"),
        Column(name="reporter", kind=Kind.E164, doc="the complainant's number"),
        Column(
            name="reported_number",
            kind=Kind.E164,
            nullable=True,
            doc="the number complained of, when known",
        ),
        Column(name="channel", kind=Kind.ENUM, values=_values(ReportChannel), doc="how contacted"),
        Column(name="category", kind=Kind.ENUM, values=_values(ReportCategory), doc="scam type"),
        Column(
            name="text", kind=Kind.TEXT, nullable=True, doc="the complaint in the citizen's words"
        ),
    ),
)

REGISTRY = Table(
    name="registry",
    doc="Protected numbers: trusted callers and numbers that never call out.",
    columns=(
        Column(name="number", kind=Kind.E164, doc="the protected number"),
        Column(name="owner", kind=Kind.TEXT, doc="bank, police unit, state body, ..."),
        Column(name="policy", kind=Kind.POLICY, doc="inbound_only or route:CLASS:ROUTE"),
        Column(
            name="category",
            kind=Kind.ENUM,
            values=_values(ReportCategory),
            required=False,
            nullable=True,
            doc="the kind of body the number belongs to, as the scam types name them "
            "(bank_security, police, egov, ...): what a caller posing as it pretends to be",
        ),
    ),
)

LABELS = Table(
    name="labels",
    doc="Ground truth of simulators and evaluations; never part of a data set to analyse.",
    columns=(
        Column(name="kind", kind=Kind.ENUM, values=("sim", "device", "call", "account"), doc=""),
        Column(name="id", kind=Kind.TEXT, doc="IMSI, IMEI, record_id or account"),
        Column(name="label", kind=Kind.TEXT, doc="simbox / legit, fraud / legit, mule"),
        Column(name="group", kind=Kind.TEXT, nullable=True, doc="farm, call center or look-alike"),
    ),
)


def reason_facts_column(split: str = "") -> Column:
    """The Qalqan column after an output's exchange-v1 ones: each reason as data."""
    where = f" (split at '{split}')" if split else " (one reason a row)"
    return Column(
        name="reason_facts",
        kind=Kind.REASONS,
        nullable=True,
        required=False,
        doc=f"Qalqan extension: the reasons as data (rule, message key, facts, weight), a JSON "
        f"array in the order of `reasons`{where}, so that they can be shown in the reader's "
        "language.",
    )


SIMS = Table(
    name="sims",
    doc="Per-SIM verdicts of the analysis. Every SIM that made a call appears.",
    output=True,
    columns=(
        Column(name="imsi", kind=Kind.TEXT, unique=True, doc=""),
        Column(name="msisdn", kind=Kind.E164, nullable=True, doc=""),
        Column(name="score", kind=Kind.FLOAT, minimum=0, maximum=1, doc=""),
        Column(name="verdict", kind=Kind.ENUM, values=_values(SimVerdict), doc=""),
        Column(name="farm_id", kind=Kind.TEXT, nullable=True, doc=""),
        Column(name="reasons", kind=Kind.TEXT, nullable=True, doc=""),
        reason_facts_column(" | "),
    ),
)

FARMS = Table(
    name="farms",
    doc="SIM boxes and SIM farms found, with the estimated place of the equipment.",
    output=True,
    columns=(
        Column(name="farm_id", kind=Kind.TEXT, unique=True, doc=""),
        Column(name="n_sims", kind=Kind.INT, minimum=0, doc=""),
        Column(name="imeis", kind=Kind.TEXT, nullable=True, doc="';'-separated"),
        Column(name="lat", kind=Kind.FLOAT, minimum=-90, maximum=90, nullable=True, doc=""),
        Column(name="lon", kind=Kind.FLOAT, minimum=-180, maximum=180, nullable=True, doc=""),
        Column(name="first_seen", kind=Kind.TIME, doc=""),
        Column(name="last_seen", kind=Kind.TIME, doc=""),
        reason_facts_column("; "),
    ),
)

CALLS = Table(
    name="calls",
    doc="Judgement of every call from outside and every call of a SIM judged a SIM box.",
    output=True,
    columns=(
        Column(name="record_id", kind=Kind.TEXT, unique=True, doc=""),
        Column(name="verdict", kind=Kind.ENUM, values=_values(CallVerdict), doc=""),
        Column(name="campaign_id", kind=Kind.TEXT, nullable=True, doc=""),
        Column(name="reasons", kind=Kind.TEXT, nullable=True, doc=""),
        reason_facts_column(),
    ),
)

CAMPAIGNS = Table(
    name="campaigns",
    doc="Fraud campaigns: the call centers behind the calls.",
    output=True,
    columns=(
        Column(name="campaign_id", kind=Kind.TEXT, unique=True, doc=""),
        Column(name="n_calls", kind=Kind.INT, minimum=0, doc=""),
        Column(name="n_victims", kind=Kind.INT, minimum=0, doc=""),
        Column(
            name="utc_offset_h", kind=Kind.FLOAT, minimum=-12, maximum=14, nullable=True, doc=""
        ),
        Column(name="farm_ids", kind=Kind.TEXT, nullable=True, doc="';'-separated"),
        Column(name="routes", kind=Kind.TEXT, nullable=True, doc="';'-separated"),
        reason_facts_column("; "),
    ),
)

DECISIONS = Table(
    name="decisions",
    doc="The screening replay: one row per call attempt, in the order replayed.",
    output=True,
    columns=(
        Column(name="record_id", kind=Kind.TEXT, doc=""),
        Column(name="action", kind=Kind.ENUM, values=_values(Action), doc=""),
        Column(name="score", kind=Kind.FLOAT, minimum=0, maximum=1, doc=""),
        Column(name="reasons", kind=Kind.TEXT, nullable=True, doc=""),
        Column(name="latency_us", kind=Kind.FLOAT, minimum=0, doc=""),
        reason_facts_column(" | "),
    ),
)

INPUT_TABLES: dict[str, Table] = {
    t.name: t for t in (CELLS, SUBSCRIBERS, ROAMING, REGISTRY, PAYMENTS, ACCOUNTS, REPORTS, CDRS)
}
"""Operator tables in the order they are read: references point to earlier tables."""

OUTPUT_TABLES: dict[str, Table] = {t.name: t for t in (SIMS, FARMS, CALLS, CAMPAIGNS, DECISIONS)}

TABLES: dict[str, Table] = {**INPUT_TABLES, "labels": LABELS, **OUTPUT_TABLES}
