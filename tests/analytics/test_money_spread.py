"""Which accounts spread money within a day of receiving it, against the definition itself.

A payment out spreads what came in when a transfer in arrived at most a day before it and
not after it. The trail reads that off each account's first and last transfer in of each
day; here payments at any minute of three days (and at exactly a day, a day and a
microsecond, the same instant and across midnight) are checked against every pair of
transfer in and payment out, on DuckDB.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from qalqan.analytics.money import CASH_OUT_CHANNELS, money_trail

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
ACCOUNTS = ("bank:KZ01", "bank:KZ02", "bank:KZ03")

_MOMENTS = st.one_of(
    st.integers(min_value=0, max_value=3 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    st.sampled_from(
        [
            timedelta(hours=23, minutes=59),
            timedelta(days=1),
            timedelta(days=1, microseconds=1),
            timedelta(days=2),
            timedelta(days=2, microseconds=-1),
        ]
    ),
)
_PAYMENTS = st.lists(
    st.tuples(
        st.sampled_from(ACCOUNTS),
        _MOMENTS,
        st.sampled_from(("in", *CASH_OUT_CHANNELS)),
    ),
    max_size=30,
)


def _spreading(payments: list[tuple[str, timedelta, str]]) -> dict[str, list[str]]:
    """The definition: the channels of each account's payments out with a transfer in at most
    a day before and not after; accounts of two channels or more."""
    used: dict[str, set[str]] = {}
    for account, out, channel in payments:
        if channel == "in":
            continue
        if any(a == account and c == "in" and out - timedelta(days=1) <= t <= out
               for a, t, c in payments):  # fmt: skip
            used.setdefault(account, set()).add(channel)
    return {a: sorted(c) for a, c in used.items() if len(c) >= 2}


def _trail(payments: list[tuple[str, timedelta, str]]) -> dict[str, list[str]]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE payments (payment_id VARCHAR, time TIMESTAMPTZ, payer VARCHAR,"
        " payee VARCHAR, amount DOUBLE, currency VARCHAR, channel VARCHAR)"
    )
    for n, (account, moment, channel) in enumerate(payments):
        payer, payee = ("bank:PAYER", account) if channel == "in" else (account, f"x:{n}")
        kind = "bank_transfer" if channel == "in" else channel
        con.execute(
            "INSERT INTO payments VALUES (?, ?, ?, ?, 1.0, 'KZT', ?)",
            [f"p{n}", DAY0 + moment, payer, payee, kind],
        )
    con.execute(
        "CREATE TABLE accounts (account VARCHAR, holder_msisdn VARCHAR, bank VARCHAR,"
        " kind VARCHAR, opened DATE)"
    )
    con.execute(
        "CREATE TABLE judged_calls (record_id VARCHAR, t TIMESTAMPTZ, a_number VARCHAR,"
        " b_number VARCHAR, verdict VARCHAR, farm_id VARCHAR)"
    )
    con.execute("CREATE TABLE call_campaigns (record_id VARCHAR, campaign_id VARCHAR)")
    con.execute("CREATE TABLE cdrs (record_id VARCHAR, duration_s BIGINT, result VARCHAR)")
    money_trail(con)
    found = con.execute(
        "SELECT account, list_sort(used) FROM money_collectors ORDER BY account"
    ).fetchall()
    con.close()
    return {account: list(used) for account, used in found}


def test_a_day_to_the_microsecond_and_the_same_instant() -> None:
    day = timedelta(days=1)
    at = timedelta(hours=23, minutes=30)
    payments = [
        ("bank:KZ01", at, "in"),
        ("bank:KZ01", at + day, "sim_topup"),  # exactly a day after: spreads
        ("bank:KZ01", at + day, "ewallet"),
        ("bank:KZ02", at, "in"),
        ("bank:KZ02", at + day + timedelta(microseconds=1), "sim_topup"),  # a day too late
        ("bank:KZ02", at + timedelta(minutes=1), "ewallet"),
        ("bank:KZ03", at, "in"),
        ("bank:KZ03", at, "crypto"),  # the same instant: spreads
        ("bank:KZ03", at - timedelta(microseconds=1), "cash_out"),  # before it came in
    ]
    assert _trail(payments) == _spreading(payments) == {"bank:KZ01": ["ewallet", "sim_topup"]}


@settings(max_examples=150, deadline=None)
@given(_PAYMENTS)
def test_any_payments_of_three_days(payments: list[tuple[str, timedelta, str]]) -> None:
    assert _trail(payments) == _spreading(payments)
