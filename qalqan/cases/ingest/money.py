"""The money trail of ``qalqan analyze`` in: what campaigns took, the mules' accounts, the payments.

    report = ingest_money(session, Path("analysis/"), data=Path("operator/"), source="day-1")

Three optional outputs of the analysis are read (a folder without them loads
nothing and says so by its report):

- ``campaign_money.csv`` → :class:`~qalqan.cases.models.CampaignMoney`, one
  row per campaign: victims who paid, ``lost``, ``preventable`` (paid after
  the campaign's first flagged call to the payer), with its reasons;
- ``accounts.csv`` → :class:`~qalqan.cases.models.MoneyAccount`: collecting
  mules, and the SIM balances, e-wallets and crypto addresses they fed, each
  with its campaign, the account that fed it (the ``source`` fact of its
  reason: the analysis passes it as data) and, for a SIM balance, its farm.
  Every account is also an ``account`` entity, linked to its campaign
  (``mule``), its farm (a SIM balance's ``farm_balance``, a collector's
  ``pays_farm``: the farm whose SIMs it topped up) and the account that paid
  it (``paid``), so that alerts and cases sharing it are suggested together;
- ``victim_payments.csv`` → :class:`~qalqan.cases.models.VictimPayment`.

With the data set (``data``), what each fed account received from the
account that fed it is added up from its ``payments``, read in chunks and
kept only for the trail's accounts: the flow's later steps carry amounts too.

Idempotent as every ingest: each row has its natural key (feed and campaign,
account or payment id) and goes in by ``INSERT … ON CONFLICT``; batches are
committed with their audit entry. The tables' reading is bounded by the
exchange reader's limits, and a row that breaks the columns' contract is
counted and quarantined with its file, line and reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func
from sqlalchemy.orm import Session

from qalqan.cases import audit
from qalqan.cases.ingest.alerts import batches, link_entities
from qalqan.cases.ingest.reasons import file_reasons, reasons_json
from qalqan.cases.ingest.report import DEFAULT_BATCH, IngestReport
from qalqan.cases.models import CampaignMoney, EntityKind, MoneyAccount, MoneyRole, VictimPayment
from qalqan.cases.roles import SYSTEM, Actor, Permission, authorize
from qalqan.cases.store import clock_of
from qalqan.cases.upsert import entity_ids, upsert
from qalqan.domain.model import Reason
from qalqan.exchange.reader import DataSet, read_file
from qalqan.exchange.schema import Column, Kind, Table, reason_facts_column
from qalqan.exchange.sources import find_table

__all__ = ["MONEY_TABLES", "ingest_money"]


def _text(name: str, doc: str = "", *, nullable: bool = True, required: bool = True) -> Column:
    return Column(name=name, kind=Kind.TEXT, nullable=nullable, required=required, doc=doc)


def _count(name: str, *, nullable: bool = False) -> Column:
    return Column(name=name, kind=Kind.INT, minimum=0, nullable=nullable, doc="")


def _amount(name: str, *, nullable: bool = False) -> Column:
    return Column(name=name, kind=Kind.FLOAT, minimum=0, nullable=nullable, doc="")


# What the case store reads of the analysis's money outputs (their other columns are kept
# as extras and left alone). The case store does not import the analytics: these are the
# columns it relies on, checked as the exchange reader checks every table.
_CAMPAIGN_MONEY: Final = Table(
    name="campaign_money",
    doc="Per campaign: victims who paid its mules, the money lost and preventable.",
    output=True,
    columns=(
        Column(name="campaign_id", kind=Kind.TEXT, unique=True, doc=""),
        _count("victims_paid"),
        _count("victims_called"),
        _count("transfers"),
        _amount("lost"),
        Column(name="currency", kind=Kind.CURRENCY, doc=""),
        _amount("preventable"),
        _count("calls_before_payment"),
        Column(name="first_payment", kind=Kind.TIME, nullable=True, doc=""),
        Column(name="last_payment", kind=Kind.TIME, nullable=True, doc=""),
        _text("reasons"),
        reason_facts_column(),
    ),
)
_ACCOUNTS: Final = Table(
    name="accounts",
    doc="Accounts on a mule's trail.",
    output=True,
    columns=(
        Column(name="account", kind=Kind.ACCOUNT, unique=True, doc=""),
        Column(name="role", kind=Kind.ENUM, values=tuple(r.value for r in MoneyRole), doc=""),
        _amount("amount_in", nullable=True),
        _count("payers", nullable=True),
        _text("reasons"),
        _text("campaign_id", required=False),
        Column(name="victims", kind=Kind.INT, minimum=0, nullable=True, required=False, doc=""),
        _text("farm_id", required=False),
        reason_facts_column(),
    ),
)
_VICTIM_PAYMENTS: Final = Table(
    name="victim_payments",
    doc="Every transfer into a collecting mule.",
    output=True,
    columns=(
        Column(name="payment_id", kind=Kind.TEXT, unique=True, doc=""),
        Column(name="time", kind=Kind.TIME, doc=""),
        Column(name="payer", kind=Kind.ACCOUNT, doc=""),
        Column(name="victim", kind=Kind.E164, nullable=True, doc=""),
        Column(name="mule", kind=Kind.ACCOUNT, doc=""),
        _amount("amount"),
        Column(name="currency", kind=Kind.CURRENCY, doc=""),
        _text("campaign_id"),
        _text("called_by"),
        _text("call_record"),
        Column(name="minutes_after_call", kind=Kind.INT, nullable=True, doc=""),
        _text("reasons"),
        reason_facts_column(),
    ),
)
MONEY_TABLES: Final = (_CAMPAIGN_MONEY, _ACCOUNTS, _VICTIM_PAYMENTS)
"""The analysis's money outputs, in the order they are loaded."""

_CENTS: Final = Decimal("0.01")


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(_CENTS)


def _reasons(row: dict[str, Any], table: str) -> list[Reason]:
    return file_reasons(row.get("reason_facts"), row.get("reasons"), table=table)


def _fed_by(reasons: Sequence[Reason]) -> str | None:
    """The account that paid this one, as its reason's ``source`` fact names it."""
    for reason in reasons:
        source = dict(reason.facts).get("source")
        if source:
            return str(source)
    return None


@dataclass(slots=True)
class _Loading:
    """One ingest of the money trail: where it writes, for whom, and its audit entries."""

    session: Session
    out_dir: Path
    source: str
    actor: Actor
    report: IngestReport
    quarantine: Path | None
    batch_size: int

    def tables(self, spec: Table) -> Iterator[Sequence[dict[str, Any]]]:
        """The rows of one output, a batch at a time (nothing when the file is absent)."""
        path = find_table(self.out_dir, spec.name)
        if path is None:
            return
        with read_file(path, spec, quarantine=self.quarantine) as reader:
            for batch in reader:
                rows = pa.Table.from_batches([batch]).to_pylist()
                self.report.rows_read += len(rows)
                yield from batches(rows, self.batch_size)
        self.report.note_rejected(reader.report, self.quarantine)

    def acknowledge(self, what: str, items: int) -> None:
        self.report.batches += 1
        audit.append(
            self.session,
            self.actor,
            "ingest_money",
            f"folder:{self.out_dir.name}",
            at=clock_of(self.session),
            details={
                "source": self.source,
                "batch": self.report.batches,
                "what": what,
                "items": items,
            },
        )
        self.session.commit()  # acknowledged from here on


def _campaign_rows(loading: _Loading) -> None:
    for part in loading.tables(_CAMPAIGN_MONEY):
        rows = [
            {
                "source": loading.source,
                "campaign_id": r["campaign_id"],
                "victims_paid": r["victims_paid"],
                "victims_called": r["victims_called"],
                "transfers": r["transfers"],
                "lost": _money(r["lost"]),
                "preventable": _money(r["preventable"]),
                "currency": r["currency"],
                "calls_before_payment": r["calls_before_payment"],
                "first_payment": r.get("first_payment"),
                "last_payment": r.get("last_payment"),
                "reasons": reasons_json(_reasons(r, "campaign_money")),
            }
            for r in part
        ]
        keys = ("source", "campaign_id")
        upsert(loading.session, CampaignMoney, rows, keys=keys, update=_every(rows, keys))
        loading.acknowledge("campaign_money", len(rows))


def _every(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """Every column but the key takes what the analysis says now."""
    return {column: "excluded" for column in rows[0] if column not in keys}


def _fed_amounts(data: Path, fed: dict[str, str], loading: _Loading) -> dict[str, Decimal]:
    """What each fed account received from the account that fed it, by the data set's payments."""
    totals: dict[str, Decimal] = {}
    wanted = pa.array(sorted(fed), pa.string())
    data_set = DataSet.open(data)
    if not data_set.has("payments"):
        return totals
    with data_set.read("payments", quarantine=loading.quarantine) as reader:
        for batch in reader:
            part = batch.filter(pc.is_in(batch.column("payee"), value_set=wanted))
            for payer, payee, amount in zip(
                part.column("payer").to_pylist(),
                part.column("payee").to_pylist(),
                part.column("amount").to_pylist(),
                strict=True,
            ):
                if fed.get(payee) == payer and amount is not None:
                    totals[payee] = totals.get(payee, Decimal(0)) + Decimal(str(amount))
    loading.report.note_rejected(reader.report, loading.quarantine)
    return {account: amount.quantize(_CENTS) for account, amount in totals.items()}


def _account_rows(loading: _Loading, data: Path | None) -> None:
    """``accounts.csv`` in: the accounts, then their entities and links."""
    written: list[dict[str, Any]] = []
    for part in loading.tables(_ACCOUNTS):
        rows = []
        for r in part:
            reasons = _reasons(r, "accounts")
            collector = r["role"] == MoneyRole.COLLECTOR.value
            rows.append(
                {
                    "source": loading.source,
                    "account": r["account"],
                    "role": r["role"],
                    "campaign_id": r.get("campaign_id"),
                    "fed_by": None if collector else _fed_by(reasons),
                    "amount_in": _money(r["amount_in"]) if collector else None,
                    "payers": r["payers"],
                    "victims": r.get("victims"),
                    "farm_id": r.get("farm_id"),
                    "reasons": reasons_json(reasons),
                }
            )
        keys = ("source", "account")
        update = _every(rows, keys)
        # a fed account's amount comes from the data set's payments: kept when it is not given
        update["amount_in"] = lambda table, new: func.coalesce(new.amount_in, table.c.amount_in)
        upsert(loading.session, MoneyAccount, rows, keys=keys, update=update)
        _link_accounts(loading, rows)
        loading.acknowledge("accounts", len(rows))
        written += [{"account": r["account"], "fed_by": r["fed_by"]} for r in rows if r["fed_by"]]
    if data is not None and written:
        fed = {r["account"]: r["fed_by"] for r in written}
        amounts = _fed_amounts(data, fed, loading)
        for chunk in batches(sorted(amounts.items()), loading.batch_size):
            for account, paid in chunk:
                row = loading.session.get(MoneyAccount, (loading.source, account))
                if row is not None:
                    row.amount_in = paid
            loading.acknowledge("accounts_paid", len(chunk))


def _link_accounts(loading: _Loading, rows: Sequence[dict[str, Any]]) -> None:
    """Each account as an entity, tied to its campaign, its farm and the account that paid it."""
    account, campaign, farm = (
        EntityKind.ACCOUNT.value,
        EntityKind.CAMPAIGN.value,
        EntityKind.FARM.value,
    )
    links: list[tuple[tuple[str, str], tuple[str, str], str]] = []
    for r in rows:
        this = (account, r["account"])
        if r["campaign_id"]:
            links.append(((campaign, f"{loading.source}/{r['campaign_id']}"), this, "mule"))
        if r["farm_id"]:  # a SIM balance's farm, or the farm a collector paid for
            balance = r["role"] == MoneyRole.SIM_BALANCE.value
            relation = "farm_balance" if balance else "pays_farm"
            links.append(((farm, f"{loading.source}/{r['farm_id']}"), this, relation))
        if r["fed_by"]:
            links.append(((account, r["fed_by"]), this, "paid"))
    pairs = [(account, r["account"]) for r in rows] + [p for a, b, _ in links for p in (a, b)]
    ids = entity_ids(loading.session, pairs)
    link_entities(loading.session, [(ids[a], ids[b], rel) for a, b, rel in links])


def _payment_rows(loading: _Loading) -> None:
    for part in loading.tables(_VICTIM_PAYMENTS):
        rows = [
            {
                "source": loading.source,
                "payment_id": r["payment_id"],
                "paid_at": r["time"],
                "payer": r["payer"],
                "victim": r["victim"],
                "mule": r["mule"],
                "amount": _money(r["amount"]),
                "currency": r["currency"],
                "campaign_id": r["campaign_id"],
                "called_by": r["called_by"],
                "call_record": r["call_record"],
                "minutes_after_call": r["minutes_after_call"],
                "reasons": reasons_json(_reasons(r, "victim_payments")),
            }
            for r in part
        ]
        keys = ("source", "payment_id")
        upsert(loading.session, VictimPayment, rows, keys=keys, update=_every(rows, keys))
        loading.acknowledge("victim_payments", len(rows))


def ingest_money(
    session: Session,
    out_dir: Path,
    data: Path | None = None,
    *,
    source: str = "default",
    actor: Actor = SYSTEM,
    batch_size: int = DEFAULT_BATCH,
    quarantine: Path | None = None,
    report: IngestReport | None = None,
) -> IngestReport:
    """Load the money trail of a ``qalqan analyze`` output folder (see the module's doc).

    Each output is optional; ``report`` (the findings' own, when called from
    :func:`~qalqan.cases.ingest.ingest_findings`) counts the rows read and
    rejected. Permission: ``ingest``.
    """
    actor = authorize(session, actor, Permission.INGEST, f"folder:{out_dir.name}")
    loading = _Loading(
        session=session,
        out_dir=out_dir,
        source=source,
        actor=actor,
        report=report if report is not None else IngestReport(),
        quarantine=quarantine,
        batch_size=max(1, batch_size),
    )
    _campaign_rows(loading)
    _account_rows(loading, data)
    _payment_rows(loading)
    return loading.report
