"""The money trail of an analysis in the case store, on SQLite and PostgreSQL.

:func:`write_money` adds to the test feed what ``qalqan analyze`` writes of the
money trail: victims of campaign C0001 paying two collecting mules, which top
up two SIM balances of farm F0001 and an e-wallet that buys crypto; one victim
of C0002 paying a third mule. The campaigns' figures are the sums of the rows
written, and the data set gets the payments behind every step.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from qalqan.cases import CaseStore, ingest_findings
from qalqan.cases.ingest import ingest_money
from qalqan.cases.models import (
    CampaignMoney,
    Entity,
    EntityLink,
    MoneyAccount,
    VictimPayment,
)
from tests.cases.feeds import FARM_SIMS, T0, Feed, victim_number, write_feed

COLLECTORS = {"C0001": ("bank:KZ0001MULE", "bank:KZ0002MULE"), "C0002": ("bank:KZ0003MULE",)}
SIM_BALANCES = tuple(f"msisdn:{msisdn}" for _, msisdn, _ in FARM_SIMS[:2])
EWALLET = "ewallet:EW-77-1"
CRYPTO = "crypto:bc1qmuleaddress0001"


@dataclass(frozen=True, slots=True)
class Paid:
    payment_id: str
    victim: str
    mule: str
    amount: float
    campaign_id: str
    minutes_after_call: int


def _reason(rule: str, key: str, **facts: object) -> str:
    return json.dumps(
        [{"rule": rule, "key": key, "facts": {k: str(v) for k, v in facts.items()}, "weight": 1.0}]
    )


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)


def victim_payments(extra: int = 0) -> list[Paid]:
    """Six victims' transfers into C0001's mules, one into C0002's, then ``extra`` more for
    C0001 from as many other victims."""
    paid = [
        Paid("p1", victim_number(0), COLLECTORS["C0001"][0], 250_000.0, "C0001", 35),
        Paid("p2", victim_number(1), COLLECTORS["C0001"][0], 95_000.0, "C0001", 12),
        Paid("p3", victim_number(2), COLLECTORS["C0001"][1], 700_000.0, "C0001", 50),
        Paid("p4", victim_number(2), COLLECTORS["C0001"][1], 120_000.0, "C0001", 900),
        Paid("p5", victim_number(3), COLLECTORS["C0001"][0], 48_500.5, "C0001", 20),
        Paid("p6", victim_number(4), COLLECTORS["C0001"][1], 310_000.0, "C0001", 41),
        Paid("p7", victim_number(5), COLLECTORS["C0002"][0], 480_000.0, "C0002", 8),
    ]
    paid += [
        Paid(f"x{i}", f"+7705{i:07d}", COLLECTORS["C0001"][i % 2], 1_000.0 + i % 97, "C0001", 30)
        for i in range(extra)
    ]
    return paid


FED = (  # (account, role, fed_by, amount paid it, farm)
    (SIM_BALANCES[0], "sim_balance", COLLECTORS["C0001"][0], 150_000.0, "F0001"),
    (SIM_BALANCES[1], "sim_balance", COLLECTORS["C0001"][1], 400_000.0, "F0001"),
    (EWALLET, "ewallet", COLLECTORS["C0001"][1], 600_000.0, None),
    (CRYPTO, "crypto", EWALLET, 590_000.0, None),
)


def write_money(feed: Feed, *, extra: int = 0, preventable_share: float = 0.75) -> list[Paid]:
    """The money trail beside the feed's analysis, and its payments in the data set."""
    out, paid = feed.findings, victim_payments(extra)
    _write(
        out / "victim_payments.csv",
        ["payment_id", "time", "payer", "victim", "mule", "amount", "currency", "campaign_id",
         "called_by", "call_record", "minutes_after_call", "reasons", "reason_facts"],
        [
            [p.payment_id, _utc(T0 + timedelta(hours=1, seconds=i)), f"bank:VIC{i}",
             p.victim, p.mule, p.amount, "KZT", p.campaign_id, p.campaign_id, "r0",
             p.minutes_after_call, f"paid {p.amount} to {p.mule}",
             _reason("money.victim_payment", "analysis.money.paid_mule", amount=p.amount,
                     mule=p.mule, campaign=p.campaign_id)]
            for i, p in enumerate(paid)
        ],
    )  # fmt: skip
    rows = []
    for campaign in ("C0001", "C0002"):
        mine = [p for p in paid if p.campaign_id == campaign]
        lost = round(sum(p.amount for p in mine), 2)
        rows.append(
            [campaign, len({p.victim for p in mine}), len({p.victim for p in mine}), len(mine),
             lost, "KZT", round(lost * preventable_share, 2), len(mine),
             _utc(T0 + timedelta(hours=1)), _utc(T0 + timedelta(hours=2)),
             len(COLLECTORS[campaign]), ";".join(COLLECTORS[campaign]), 2, 1, "F0001",
             f"{len(mine)} victims paid {lost} KZT", ""]
        )  # fmt: skip
    _write(
        out / "campaign_money.csv",
        ["campaign_id", "victims_paid", "victims_called", "transfers", "lost", "currency",
         "preventable", "calls_before_payment", "first_payment", "last_payment", "n_collectors",
         "collectors", "sim_balances", "ewallets", "farm_ids", "reasons", "reason_facts"],
        rows,
    )  # fmt: skip
    accounts: list[list[object]] = []
    for campaign, mules in COLLECTORS.items():
        for mule in mules:
            into = [p for p in paid if p.mule == mule]
            accounts.append(
                [mule, "collector", "mule", round(sum(p.amount for p in into), 2), len(into),
                 "collected", campaign, len(into), None,
                 _reason("money.collector", "analysis.money.collector", payers=len(into),
                         channels=2, used="sim_topup, ewallet")]
            )  # fmt: skip
    for account, role, fed_by, _, farm in FED:
        key = "analysis.money.farm_sim" if farm else "analysis.money.fed_by_collector"
        facts = {"source": fed_by, **({"farm": farm} if farm else {})}
        accounts.append(
            [account, role, "mule", None, None, f"fed by {fed_by}", "C0001", None, farm,
             _reason("money.fed_by_collector", key, **facts)]
        )  # fmt: skip
    _write(
        out / "accounts.csv",
        ["account", "role", "verdict", "amount_in", "payers", "reasons", "campaign_id", "victims",
         "farm_id", "reason_facts"],
        accounts,
    )  # fmt: skip
    payments = [  # each fed account paid twice by its feeder, and once by someone else
        [f"f{i}{half}", _utc(T0 + timedelta(hours=3)), fed_by, account, amount / 2, "KZT",
         "crypto" if role == "crypto" else "ewallet" if role == "ewallet" else "sim_topup"]
        for i, (account, role, fed_by, amount, _) in enumerate(FED) for half in "ab"
    ] + [[f"g{i}", _utc(T0 + timedelta(hours=3)), "bank:SALARY", account, 999.0, "KZT",
          "sim_topup"] for i, (account, *_) in enumerate(FED)]  # fmt: skip
    _write(
        feed.data / "payments.csv",
        ["payment_id", "time", "payer", "payee", "amount", "currency", "channel"],
        payments,
    )
    return paid


def _counts(store: CaseStore) -> tuple[int, int, int, int]:
    with store.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(CampaignMoney)) or 0,
            session.scalar(select(func.count()).select_from(MoneyAccount)) or 0,
            session.scalar(select(func.count()).select_from(VictimPayment)) or 0,
            session.scalar(select(func.count()).select_from(EntityLink)) or 0,
        )


def test_the_money_trail_loads_with_the_findings_and_again_without_duplicates(
    store: CaseStore, tmp_path: Path
) -> None:
    feed = write_feed(tmp_path / "feed")
    paid = write_money(feed)
    for _ in range(2):
        with store.transaction() as session:
            ingest_findings(session, feed.findings, feed.data, source="day-1")
    assert _counts(store)[:3] == (2, len(COLLECTORS["C0001"]) + 1 + len(FED), len(paid))
    with store.transaction() as session:
        c1 = session.get(CampaignMoney, ("day-1", "C0001"))
        assert c1 is not None
        assert c1.lost == sum(Decimal(str(p.amount)) for p in paid if p.campaign_id == "C0001")
        assert c1.currency == "KZT" and c1.first_payment is not None
        assert c1.first_payment.tzinfo is not None
        balance = session.get(MoneyAccount, ("day-1", SIM_BALANCES[1]))
        assert balance is not None
        assert (balance.role, balance.farm_id, balance.fed_by) == (
            "sim_balance",
            "F0001",
            COLLECTORS["C0001"][1],
        )
        # what its collector paid it (both halves), not the salary from elsewhere
        assert balance.amount_in == Decimal("400000.00")
        crypto = session.get(MoneyAccount, ("day-1", CRYPTO))
        assert crypto is not None and crypto.fed_by == EWALLET
        assert crypto.amount_in == Decimal("590000.00")
        p3 = session.get(VictimPayment, ("day-1", "p3"))
        assert p3 is not None and p3.victim == victim_number(2) and p3.amount == Decimal(700_000)
        assert json.loads(p3.reasons)[0]["key"] == "analysis.money.paid_mule"
        # the accounts are entities tied to their campaign, farm and payer
        links = _links(session)
    assert ("day-1/C0001", SIM_BALANCES[0], "mule") in links
    assert ("day-1/F0001", SIM_BALANCES[0], "farm_balance") in links
    assert (EWALLET, CRYPTO, "paid") in links


def _links(session: Session) -> set[tuple[str, str, str]]:
    a, b = aliased(Entity), aliased(Entity)
    rows = session.execute(
        select(a.value, b.value, EntityLink.relation)
        .join(a, a.id == EntityLink.from_id)
        .join(b, b.id == EntityLink.to_id)
    ).all()
    return {(x, y, relation) for x, y, relation in rows}


def test_without_the_data_set_a_fed_account_keeps_the_amount_an_earlier_ingest_found(
    sqlite_store: CaseStore, tmp_path: Path
) -> None:
    feed = write_feed(tmp_path / "feed")
    write_money(feed)
    with sqlite_store.transaction() as session:
        ingest_money(session, feed.findings, source="s")
    with sqlite_store.transaction() as session:
        balance = session.get(MoneyAccount, ("s", SIM_BALANCES[0]))
        assert balance is not None and balance.amount_in is None
    with sqlite_store.transaction() as session:
        ingest_money(session, feed.findings, feed.data, source="s")
        ingest_money(session, feed.findings, source="s")
    with sqlite_store.transaction() as session:
        balance = session.get(MoneyAccount, ("s", SIM_BALANCES[0]))
        assert balance is not None and balance.amount_in == Decimal("150000.00")


def test_a_folder_without_a_money_trail_loads_none(sqlite_store: CaseStore, tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "feed")
    with sqlite_store.transaction() as session:
        report = ingest_money(session, feed.findings, source="s")
    assert report.rows_read == 0
    assert _counts(sqlite_store)[:3] == (0, 0, 0)


def test_rows_that_break_the_contract_are_quarantined_with_their_reason(
    sqlite_store: CaseStore, tmp_path: Path
) -> None:
    feed = write_feed(tmp_path / "feed")
    paid = write_money(feed)
    path = feed.findings / "victim_payments.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",250000.0,", ",-5,")  # a negative amount
    lines[2] = lines[2].replace("bank:KZ0001MULE", "somewhere")  # not an account
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    quarantine = tmp_path / "quarantine"
    with sqlite_store.transaction() as session:
        report = ingest_money(session, feed.findings, source="s", quarantine=quarantine)
    assert report.rows_rejected == 2
    assert _counts(sqlite_store)[2] == len(paid) - 2
    kept = (quarantine / "victim_payments.csv").read_text(encoding="utf-8")
    assert "amount" in kept and "account" in kept
