"""The money trail per campaign, on small hand-made tables whose every row the test states.

A victim talks on a campaign's call and pays a mule 40 minutes later; the mule tops up a
SIM of a farm, pays an e-wallet that buys crypto, and cashes out. Beside it, money that
moves like a mule's but is not stolen: a top-up kiosk paid by many (one of them called by
the campaign), and a person paid a salary who spends it at once after a one-ring call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from qalqan.analytics.campaigns import Campaign
from qalqan.analytics.money import CAMPAIGN_MONEY, VICTIM_PAYMENTS, money_tables, money_trail
from qalqan.domain.messages import parse_reasons, render

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
VICTIM, LATE_VICTIM = "+77011110001", "+77011110002"
MULE, WALLET, COIN = "bank:KZ01MULE", "ewallet:0000000001", "crypto:Tcoin"
FARM_SIM = "+77001234567"
KIOSK, SPENDER = "bank:KZ02KIOSK", "bank:KZ03SPENDER"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


PAYMENTS = [
    # the victim pays 40 minutes after a 15-minute call of C1, and the money spreads
    ("p01", at(55), "bank:KZ10VICTIM", MULE, 300_000.0, "bank_transfer"),
    ("p02", at(90), MULE, f"msisdn:{FARM_SIM}", 20_000.0, "sim_topup"),
    ("p03", at(95), MULE, "msisdn:+77009999999", 20_000.0, "sim_topup"),
    ("p04", at(120), MULE, WALLET, 200_000.0, "ewallet"),
    ("p05", at(300), WALLET, COIN, 400.0, "crypto"),
    ("p06", at(400), MULE, "bank:CASHDESK", 30_000.0, "cash_out"),
    # a second victim pays the same mule a day later, talked to by C1 only two days before
    ("p07", at(60 * 49), "bank:KZ11LATE", MULE, 100_000.0, "bank_transfer"),
    ("p08", at(60 * 50), MULE, WALLET, 60_000.0, "ewallet"),
    ("p09", at(60 * 51), MULE, f"msisdn:{FARM_SIM}", 5_000.0, "sim_topup"),
    # a kiosk: four customers pay it, it tops up their SIMs and cashes out
    *[
        (f"p1{i}", at(100 + i), f"bank:KZ2{i}CUSTOMER", KIOSK, 2_000.0, "bank_transfer")
        for i in range(4)
    ],
    *[
        (f"p2{i}", at(102 + i), KIOSK, f"msisdn:+7701222000{i}", 2_000.0, "sim_topup")
        for i in range(4)
    ],
    ("p30", at(600), KIOSK, "bank:CASHDESK", 8_000.0, "cash_out"),
    # a salary, spent at once by someone who took a one-ring call of C2 just before
    ("p40", at(200), "bank:KZ40EMPLOYER", SPENDER, 250_000.0, "bank_transfer"),
    ("p41", at(200), "bank:KZ41FRIEND", SPENDER, 5_000.0, "bank_transfer"),
    ("p42", at(230), SPENDER, "msisdn:+77013330000", 3_000.0, "sim_topup"),
    ("p43", at(260), SPENDER, "ewallet:0000000002", 50_000.0, "ewallet"),
]
HOLDERS = [
    ("bank:KZ10VICTIM", VICTIM),
    ("bank:KZ11LATE", LATE_VICTIM),
    *[(f"bank:KZ2{i}CUSTOMER", f"+7701222000{i}") for i in range(4)],
    (KIOSK, "+77012229999"),
    ("bank:KZ41FRIEND", "+77014440000"),
    (SPENDER, "+77013330000"),
]
CALLS = [
    # record, minutes from T0, callee, campaign, seconds talked, calling number, farm
    ("r1", 0, VICTIM, "C1", 900, "+74951234567", None),
    ("r2", 2, VICTIM, "C1", 20, "+74951234567", None),
    ("r3", 60 * 47, LATE_VICTIM, "C1", 600, FARM_SIM, "F1"),
    ("r4", 90, "+77012220001", "C1", 300, "+74951234567", None),  # a kiosk customer
    ("r5", 190, "+77014440000", "C2", 0, "+2224500000", None),  # one ring
    ("r6", 60 * 40, LATE_VICTIM, "C1", 400, FARM_SIM, "F1"),
    ("r8", 60 * 30, "+77017770000", "C3", 0, "+74957654321", None),  # refused by screening
]


def tables(con: duckdb.DuckDBPyConnection, *, holders: bool = True) -> None:
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE payments (payment_id VARCHAR, time TIMESTAMPTZ, payer VARCHAR,"
        " payee VARCHAR, amount DOUBLE, currency VARCHAR, channel VARCHAR)"
    )
    for p in PAYMENTS:
        con.execute("INSERT INTO payments VALUES (?, ?, ?, ?, ?, 'KZT', ?)", list(p))
    con.execute(
        "CREATE TABLE accounts (account VARCHAR, holder_msisdn VARCHAR, bank VARCHAR,"
        " kind VARCHAR, opened DATE)"
    )
    for account, holder in HOLDERS if holders else []:
        con.execute("INSERT INTO accounts VALUES (?, ?, 'Halyk', 'card', NULL)", [account, holder])
    con.execute(
        "CREATE TABLE judged_calls (record_id VARCHAR, t TIMESTAMPTZ, a_number VARCHAR,"
        " b_number VARCHAR, verdict VARCHAR, farm_id VARCHAR)"
    )
    con.execute("CREATE TABLE call_campaigns (record_id VARCHAR, campaign_id VARCHAR)")
    con.execute("CREATE TABLE cdrs (record_id VARCHAR, duration_s BIGINT, result VARCHAR)")
    for record, minutes, callee, campaign, talked, caller, farm in CALLS:
        con.execute(
            "INSERT INTO judged_calls VALUES (?, ?, ?, ?, 'fraud', ?)",
            [record, at(minutes), caller, callee, farm],
        )
        con.execute("INSERT INTO call_campaigns VALUES (?, ?)", [record, campaign])
        result = "answered" if talked else "rejected" if campaign == "C3" else "no_answer"
        con.execute("INSERT INTO cdrs VALUES (?, ?, ?)", [record, talked, result])


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def rows(table: pa.Table, key: str) -> dict[str, dict[str, object]]:
    return {r[key]: r for r in table.to_pylist()}


def says_why(table: pa.Table) -> None:
    """Every row has one reason, as data that renders as its English text."""
    for text, cell in zip(
        table.column("reasons").to_pylist(), table.column("reason_facts").to_pylist(), strict=True
    ):
        [reason] = parse_reasons(cell)
        assert render(reason.key, reason.facts_dict()) == text
        assert json.loads(cell)[0]["weight"] == 1.0


def test_the_mule_of_the_campaign_and_its_chain(con: duckdb.DuckDBPyConnection) -> None:
    tables(con)
    trail = money_trail(con)
    says_why(trail)
    found = rows(trail, "account")
    assert set(found) == {
        MULE,
        WALLET,
        COIN,
        f"msisdn:{FARM_SIM}",
        "msisdn:+77009999999",
    }, "the kiosk and the salary spent at once are not mules"
    mule = found[MULE]
    assert (mule["role"], mule["campaign_id"], mule["payers"], mule["victims"]) == (
        "collector",
        "C1",
        2,
        2,
    )
    assert mule["amount_in"] == 400_000.0 and mule["farm_id"] == "F1"
    assert "paid for SIMs of farm F1, which calls for campaign C1" in str(mule["reasons"])
    farm_sim = found[f"msisdn:{FARM_SIM}"]
    assert (farm_sim["role"], farm_sim["farm_id"], farm_sim["campaign_id"]) == (
        "sim_balance",
        "F1",
        "C1",
    )
    assert "the SIM made calls of farm F1" in str(farm_sim["reasons"])
    assert found["msisdn:+77009999999"]["farm_id"] is None
    assert (found[WALLET]["role"], found[COIN]["role"]) == ("ewallet", "crypto")
    assert {r["campaign_id"] for r in found.values()} == {"C1"}


def test_what_a_mule_took_in_is_counted_in_cents_whatever_the_order_of_adding(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Ten transfers of 0.10 add up to 0.9999999999999999 as floats, and to another last bit
    in another order (the engine's threads add in any order): the figure is in cents."""
    tables(con)
    con.execute(
        "INSERT INTO payments SELECT 'c' || i, ?::TIMESTAMPTZ + i * INTERVAL 1 SECOND,"
        " 'bank:KZ10VICTIM', ?, 0.1, 'KZT', 'bank_transfer' FROM range(10) AS r(i)",
        [at(56), MULE],
    )
    assert rows(money_trail(con), "account")[MULE]["amount_in"] == 400_001.0


def test_a_mule_belongs_to_the_campaign_of_the_farm_it_pays_for_else_to_its_victims_callers(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Both victims talked on calls grouped into C2, but two of the mule's three top-ups pay for
    SIMs of farm F1, whose calls are C1's: it is C1's. Had it paid for no farm's SIM, or for
    fewer than half its top-ups, it would be C2's."""
    tables(con)
    con.execute("UPDATE call_campaigns SET campaign_id = 'C2' WHERE record_id IN ('r1', 'r3')")
    con.execute(
        "INSERT INTO judged_calls VALUES ('r7', ?, ?, '+77015550000', 'fraud', 'F1')",
        [at(5), FARM_SIM],
    )
    con.execute("INSERT INTO call_campaigns VALUES ('r7', 'C1')")
    con.execute("INSERT INTO cdrs VALUES ('r7', 30, 'answered')")
    mule = rows(money_trail(con), "account")[MULE]
    assert (mule["campaign_id"], mule["farm_id"], mule["victims"]) == ("C1", "F1", 2)
    for n in (1, 2):
        con.execute(
            "INSERT INTO payments VALUES (?, ?, ?, ?, 1000.0, 'KZT', 'sim_topup')",
            [f"p9{n}", at(100 + n), MULE, f"msisdn:+7701666000{n}"],
        )
    mule = rows(money_trail(con), "account")[MULE]
    assert (mule["campaign_id"], mule["farm_id"]) == ("C2", None), "2 of 5 top-ups"
    con.execute("DELETE FROM payments WHERE payment_id IN ('p02', 'p09')")
    mule = rows(money_trail(con), "account")[MULE]
    assert (mule["campaign_id"], mule["farm_id"]) == ("C2", None)
    assert "2 of them after talking on a call of campaign C2" in str(mule["reasons"])


def test_victims_payments_and_what_the_campaign_took(con: duckdb.DuckDBPyConnection) -> None:
    tables(con)
    money_trail(con)
    made = money_tables(con)
    paid = rows(made[VICTIM_PAYMENTS], "payment_id")
    says_why(made[VICTIM_PAYMENTS])
    assert set(paid) == {"p01", "p07"}
    first = paid["p01"]
    assert (first["victim"], first["call_record"], first["minutes_after_call"]) == (
        VICTIM,
        "r1",
        55,
    ), "the 20-second call at 10:02 was no conversation; the 15-minute one at 10:00 was"
    assert (paid["p07"]["call_record"], paid["p07"]["called_by"]) == ("r3", "C1")
    campaign, refused = made[CAMPAIGN_MONEY].to_pylist()
    says_why(made[CAMPAIGN_MONEY])
    assert (refused["campaign_id"], refused["intercepted_before_payment"]) == ("C3", 1)
    assert (refused["lost"], refused["currency"], refused["victims_paid"]) == (0.0, None, 0)
    assert campaign["campaign_id"] == "C1"
    assert campaign["intercepted_before_payment"] == 0
    assert (campaign["victims_paid"], campaign["victims_called"], campaign["transfers"]) == (
        2,
        2,
        2,
    )
    assert campaign["lost"] == 400_000.0 and campaign["currency"] == "KZT"
    assert campaign["preventable"] == 400_000.0
    # before the first payment: r1 and r2 to the first victim, r6 and r3 to the second
    assert campaign["calls_before_payment"] == 4
    assert (campaign["sim_balances"], campaign["ewallets"], campaign["farm_ids"]) == (2, 1, "F1")
    assert campaign["collectors"] == MULE


def test_money_paid_before_the_campaign_called_is_lost_but_not_preventable(
    con: duckdb.DuckDBPyConnection,
) -> None:
    tables(con)
    con.execute("UPDATE judged_calls SET t = t + INTERVAL 3 DAY WHERE record_id IN ('r3', 'r6')")
    # and a call of C1 to the second victim refused after they paid: too late to count
    con.execute(
        "INSERT INTO judged_calls VALUES ('r9', ?, '+74951234567', ?, 'fraud', NULL)",
        [at(60 * 50), LATE_VICTIM],
    )
    con.execute("INSERT INTO call_campaigns VALUES ('r9', 'C1')")
    con.execute("INSERT INTO cdrs VALUES ('r9', 0, 'rejected')")
    money_trail(con)
    campaign, _ = money_tables(con)[CAMPAIGN_MONEY].to_pylist()
    assert campaign["lost"] == 400_000.0
    assert campaign["intercepted_before_payment"] == 0
    assert campaign["preventable"] == 300_000.0
    # one refused a minute after the first call to the first victim, before they paid: counts
    con.execute(
        "INSERT INTO judged_calls VALUES ('r10', ?, '+74951234567', ?, 'fraud', NULL)",
        [at(1), VICTIM],
    )
    con.execute("INSERT INTO call_campaigns VALUES ('r10', 'C1')")
    con.execute("INSERT INTO cdrs VALUES ('r10', 0, 'rejected')")
    money_trail(con)
    campaign, _ = money_tables(con)[CAMPAIGN_MONEY].to_pylist()
    assert campaign["intercepted_before_payment"] == 1
    assert campaign["victims_called"] == 1


def test_one_victim_among_two_payers_is_no_majority_and_only_call_centers_make_victims(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The friend who paid the salary spender talked on a call of C1 for ten minutes first."""
    tables(con)
    con.execute("UPDATE cdrs SET duration_s = 600 WHERE record_id = 'r5'")
    con.execute("UPDATE call_campaigns SET campaign_id = 'C1' WHERE record_id = 'r5'")
    assert SPENDER not in rows(money_trail(con), "account"), "one of two payers"
    con.execute("DELETE FROM payments WHERE payment_id = 'p40'")  # no salary: the friend alone
    assert rows(money_trail(con), "account")[SPENDER]["campaign_id"] == "C1"
    c1 = Campaign(
        campaign_id="C1", n_calls=5, n_victims=4, utc_offset_h=None, farm_ids=["F1"], routes=[],
        sources=[], peak_lines=0, first_seen=None, last_seen=None, kind="bypass",
    )  # fmt: skip
    found = rows(money_trail(con, [c1]), "account")
    assert SPENDER not in found, "a bypass box's callee talks to people they know"
    assert found[MULE]["victims"] == 0 and found[MULE]["farm_id"] == "F1", (
        "the mule still pays for the farm's SIMs"
    )


def test_without_holders_the_spread_alone_decides_as_before(
    con: duckdb.DuckDBPyConnection,
) -> None:
    tables(con, holders=False)
    trail = money_trail(con)
    says_why(trail)
    collectors = {r["account"] for r in trail.to_pylist() if r["role"] == "collector"}
    assert collectors == {MULE, KIOSK, SPENDER}
    campaigns = {r["account"]: r["campaign_id"] for r in trail.to_pylist()}
    assert (campaigns[KIOSK], campaigns[SPENDER]) == (None, None)
    assert campaigns[MULE] == "C1", "it pays for the SIMs of C1's farm"
    campaign, _ = money_tables(con)[CAMPAIGN_MONEY].to_pylist()
    assert (campaign["lost"], campaign["victims_called"]) == (400_000.0, 0)


def test_an_account_flooded_with_payments_costs_linear_time(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """30,000 transfers in and 30,000 payments out of one account, and 30,000 calls to one
    holder who paid 30,000 times: pairing each with each would be 900 million pairs twice."""
    tables(con)
    n = 30_000
    con.execute(
        f"""
        INSERT INTO payments
        SELECT 'in' || i, TIMESTAMPTZ '2026-03-05 00:00:00+00' + i * INTERVAL 1 SECOND,
               'bank:KZ10VICTIM', 'bank:KZ99FLOOD', 1.0, 'KZT', 'bank_transfer'
        FROM range({n}) AS r(i)
        UNION ALL
        SELECT 'out' || i, TIMESTAMPTZ '2026-03-05 00:00:00+00' + i * INTERVAL 1 SECOND,
               'bank:KZ99FLOOD', CASE WHEN i % 2 = 0 THEN 'ewallet:1' ELSE 'bank:CASHDESK' END,
               1.0, 'KZT', CASE WHEN i % 2 = 0 THEN 'ewallet' ELSE 'cash_out' END
        FROM range({n}) AS r(i)
        """
    )
    con.execute(
        f"""
        INSERT INTO judged_calls
        SELECT 'f' || i, TIMESTAMPTZ '2026-03-04 23:00:00+00' + i * INTERVAL 1 SECOND,
               '+74951234567', '{VICTIM}', 'fraud', NULL FROM range({n}) AS r(i);
        INSERT INTO call_campaigns SELECT 'f' || i, 'C1' FROM range({n}) AS r(i);
        INSERT INTO cdrs SELECT 'f' || i, 600, 'answered' FROM range({n}) AS r(i);
        """
    )
    started = time.perf_counter()
    trail = rows(money_trail(con), "account")
    assert time.perf_counter() - started < 20
    assert trail["bank:KZ99FLOOD"]["victims"] == 1
    assert trail["bank:KZ99FLOOD"]["campaign_id"] == "C1"
