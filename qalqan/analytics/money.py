"""The money trail: which accounts collect victims' money, for which campaign, and where it goes.

Stolen money arrives in a mule's bank account and leaves it within hours by
several channels at once — SIM balance top-ups, e-wallets, cash-out — to be
turned into crypto. An account that received a transfer and, within a day,
sent money out through two or more of those channels spreads money like a
collecting mule; so do a top-up kiosk, a shop and a person spending a salary.
What tells them apart is who paid: a mule's payers are the people a scam
campaign called shortly before. When the data set says who holds the
accounts (exchange-v1.1 ``accounts``, ``holder_msisdn``), a transfer is a
*victim's payment* when its payer's holder talked for :data:`CONVERSATION_S`
seconds or more on a call center campaign's flagged call in the
:data:`VICTIM_WINDOW_H` hours before it, and a spreading
account is a collecting mule when most of its payers paid so, or when at least
half of its SIM top-ups paid for the SIMs of a farm. Without holders the spread
alone decides, as it did before the table existed.

A collector belongs to the campaign of the farm whose SIMs took at least half
of its SIM top-ups (a farm's campaign holds most of its calls), and otherwise to the campaign most
of its victims talked to. A mule that pays for a farm's SIMs works for the
call center the farm dials for, while its victims' calls may have come over a
carrier several centers share and been grouped with another center's calls.

The accounts a collector fed (SIM balances, e-wallets) and the crypto
addresses those fed are the rest of the chain, each with its collector's
campaign; a SIM balance whose SIM made calls of a farm is tied to that farm.

:func:`money_trail` returns ``accounts.csv``'s rows and leaves two tables in
the engine, read by :func:`money_tables`: ``victim_payments`` (one row per
transfer into a collecting mule) and ``campaign_money`` (one row per campaign
whose mules collected). *Preventable* money is that paid after the campaign's
first flagged call to the payer: had that call been intercepted, the campaign
would have been cut off from the victim before the money moved. *Intercepted
before payment* are the campaign's calls the network refused (``result``
``rejected``, as screening records a blocked call) to people who had not paid it
yet, or never did: a campaign all of whose calls were refused has a row too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import duckdb
import pyarrow as pa

from qalqan.analytics.calls import reason_sql, said_sql
from qalqan.analytics.features import has_table, utc_days_sql

if TYPE_CHECKING:
    from qalqan.analytics.campaigns import Campaign

__all__ = [
    "CAMPAIGN_MONEY",
    "CASH_OUT_CHANNELS",
    "CONVERSATION_S",
    "VICTIM_PAYMENTS",
    "VICTIM_WINDOW_H",
    "CallTables",
    "money_tables",
    "money_trail",
]

CASH_OUT_CHANNELS = ("sim_topup", "ewallet", "crypto", "cash_out")
VICTIM_WINDOW_H: Final = 72
"""Hours before a transfer in which a campaign's flagged call to the payer makes it a victim's."""
CONVERSATION_S: Final = 120
"""A call that makes its callee's next transfer a victim's was a conversation this long at least:
scammers talk their victims into paying (a one-ring Wangiri call or a hang-up does not)."""
VICTIM_PAYMENTS: Final = "victim_payments"
"""The engine's table of every transfer into a collecting mule (``victim_payments.csv``)."""
CAMPAIGN_MONEY: Final = "campaign_money"
"""The engine's table of each campaign's money (``campaign_money.csv``)."""

_TRANSFERS = "money_transfers"
_COLLECTORS = "money_collectors"
_FED = "money_fed"

#: Why each row is there: rule id, message key, and the key's facts as SQL over the row.
#: Each rule alone puts a row there, so its reason weighs 1.0.
_SAID = {
    "collector": (
        "money.collector",
        "analysis.money.collector",
        {
            "payers": "payers",
            "channels": "channels",
            "used": "array_to_string(list_sort(used), ', ')",
        },
    ),
    "collector_of_victims": (
        "money.collector",
        "analysis.money.collector.victims",
        {
            "payers": "payers",
            "victims": "victims",
            "campaign": "campaign_id",
            "hours": str(VICTIM_WINDOW_H),
            "channels": "channels",
            "used": "array_to_string(list_sort(used), ', ')",
        },
    ),
    "collector_of_farm": (
        "money.collector",
        "analysis.money.collector.farm",
        {
            "payers": "payers",
            "victims": "victims",
            "farm": "farm_id",
            "campaign": "campaign_id",
            "channels": "channels",
            "used": "array_to_string(list_sort(used), ', ')",
        },
    ),
    "fed": ("money.fed_by_collector", "analysis.money.fed_by_collector", {"source": "source"}),
    "farm_sim": (
        "money.farm_sim",
        "analysis.money.farm_sim",
        {"source": "source", "farm": "farm_id"},
    ),
    "onward": ("money.fed_by_wallet", "analysis.money.fed_by_wallet", {"source": "source"}),
    "paid_after_call": (
        "money.victim_payment",
        "analysis.money.victim_payment",
        {
            "amount": "amount",
            "mule": "mule",
            "minutes": "minutes_after_call",
            "campaign": "called_by",
            "record": "call_record",
        },
    ),
    "paid_mule": (
        "money.victim_payment",
        "analysis.money.paid_mule",
        {"amount": "amount", "mule": "mule", "campaign": "campaign_id"},
    ),
    "paid_collector": (
        "money.victim_payment",
        "analysis.money.paid_collector",
        {"amount": "amount", "mule": "mule"},
    ),
    "intercepted_only": (
        "money.campaign",
        "analysis.money.campaign.intercepted",
        {"intercepted": "intercepted"},
    ),
    "campaign": (
        "money.campaign",
        "analysis.money.campaign",
        {
            "victims": "victims_paid",
            "lost": "lost",
            "currency": "currency",
            "collectors": "n_collectors",
            "preventable": "preventable",
        },
    ),
}


def _said(role: str) -> str:
    """SQL for a row's ``reasons`` (English) and ``reason_facts`` (its reason as data)."""
    rule, key, facts = _SAID[role]
    text, facts_json = said_sql(key, facts)
    cell = reason_sql(f"'{rule}'", "1.0", f"'{key}'", facts_json)
    return f"{text} AS reasons, {cell} AS reason_facts"


def _holders_known(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the data set says who holds any account (exchange-v1.1 ``accounts``)."""
    found = con.execute("SELECT count(*) FROM accounts WHERE holder_msisdn IS NOT NULL").fetchall()
    return bool(found and found[0][0])


_SCAM_CAMPAIGNS = "_money_scam_campaigns"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTables:
    """The engine's tables the money trail reads the flagged calls from."""

    judged: str = "judged_calls"
    """The judged calls (``record_id``, ``t``, ``a_number``, ``b_number``, ``farm_id``)."""
    campaigns: str = "call_campaigns"
    """Each fraud call's campaign (``record_id``, ``campaign_id``)."""
    durations: str | None = "cdrs"
    """The call records giving each call's ``duration_s``, or None when :attr:`judged` holds it
    (a daily run's window of kept fraud calls, whose records may be gone)."""

    def talked(self, alias: str = "j") -> tuple[str, str]:
        """SQL: a join giving the call ``alias`` its records' row ``d`` (or none), and the
        duration column to read."""
        if self.durations is None:
            return "", f"{alias}.duration_s"
        return f"JOIN {self.durations} d ON d.record_id = {alias}.record_id", "d.duration_s"


#: A run's own judged calls, their campaigns and records.
JUDGED = CallTables()


def _transfers(con: duckdb.DuckDBPyConnection, scams_only: bool, calls: CallTables) -> None:
    """Every bank transfer, with the campaign whose flagged call its payer's holder last talked on
    within the window before it (``called_by``; empty when none).

    The latest call before each transfer is found by one walk over each holder's calls and
    transfers in time order, not by pairing every call with every transfer: a number called a
    thousand times that paid a thousand times costs two thousand rows, not a million. Only the
    holders who were called walk: another holder's transfers follow no call whatever their order.
    """
    scams = (
        f"AND c.campaign_id IN (SELECT campaign_id FROM {_SCAM_CAMPAIGNS})" if scams_only else ""
    )
    records, duration = calls.talked()
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_TRANSFERS} AS
        WITH transfers AS (
            SELECT t.payment_id, t.time, t.payer, t.payee, t.amount, t.currency, h.holder_msisdn
            FROM payments t LEFT JOIN accounts h ON h.account = t.payer
            WHERE t.channel = 'bank_transfer'
        ),
        talks AS (
            SELECT holder, t, record_id, campaign_id FROM (
                SELECT j.b_number AS holder, j.t, j.record_id, c.campaign_id,
                       row_number() OVER (PARTITION BY j.b_number, j.t ORDER BY j.record_id) AS nth
                FROM {calls.judged} j
                JOIN {calls.campaigns} c ON c.record_id = j.record_id
                {records}
                WHERE {duration} >= {CONVERSATION_S}
                  AND j.b_number IN (SELECT holder_msisdn FROM transfers) {scams}
            ) AS numbered WHERE nth = 1
        ),
        walk AS (
            SELECT payment_id, holder, t,
                   max(CASE WHEN paid = 0 THEN t END) OVER (
                       PARTITION BY holder ORDER BY t, paid
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS call_time
            FROM (
                SELECT holder_msisdn AS holder, time AS t, 1 AS paid, payment_id
                FROM transfers WHERE holder_msisdn IN (SELECT holder FROM talks)
                UNION ALL
                SELECT holder, t, 0 AS paid, CAST(NULL AS VARCHAR) AS payment_id FROM talks
            ) AS events
        ),
        called AS (
            SELECT w.payment_id, k.campaign_id, k.record_id, k.t
            FROM walk w JOIN talks k ON k.holder = w.holder AND k.t = w.call_time
            WHERE w.payment_id IS NOT NULL
              AND w.call_time >= w.t - INTERVAL {VICTIM_WINDOW_H} HOUR
        )
        SELECT t.payment_id, t.time, t.payer, t.payee, t.amount, t.currency, t.holder_msisdn,
               c.campaign_id AS called_by, c.record_id AS call_record, c.t AS call_time
        FROM transfers t LEFT JOIN called c ON c.payment_id = t.payment_id
        """
    )


def _collectors(con: duckdb.DuckDBPyConnection, holders_known: bool, calls: CallTables) -> None:
    """Accounts that spread what they received within a day by two or more channels, and (when
    holders are known) were paid by victims most of the time or paid for a farm's SIMs; with
    their campaign.

    A payment out spread money received within the day before it when a transfer came in at
    most a day before it and not after it. The transfers in are kept as the first and the last
    of each account's calendar days (UTC), so that each payment out looks at two rows: the
    first transfer of its own day (came it before?) and the last of the day before (within a
    day?). No walk in time order, no pairing: linear in the payments however many an account
    makes, and an account with millions of them is not one long sort.
    """
    channels = ", ".join(f"'{c}'" for c in CASH_OUT_CHANNELS)
    victims_paid = "2 * i.victims > i.payers" if holders_known else "true"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_COLLECTORS} AS
        WITH received AS (
            SELECT payee AS account, {utc_days_sql("time")} AS day, min(time) AS first,
                   max(time) AS last
            FROM {_TRANSFERS} GROUP BY 1, 2
        ),
        paid_out AS (
            SELECT payer AS account, time AS t, {utc_days_sql("time")} AS day, channel
            FROM payments
            WHERE channel IN ({channels}) AND payer IN (SELECT account FROM received)
        ),
        spread AS (
            SELECT o.account, count(DISTINCT o.channel) AS channels,
                   list(DISTINCT o.channel) AS used
            FROM paid_out o
            LEFT JOIN received same_day ON same_day.account = o.account AND same_day.day = o.day
            LEFT JOIN received day_before
                   ON day_before.account = o.account AND day_before.day = o.day - 1
            WHERE same_day.first <= o.t OR day_before.last >= o.t - INTERVAL 1 DAY
            GROUP BY o.account
        ),
        -- only these can be collectors: what is counted per account below is counted of them
        spreading AS (SELECT account FROM spread WHERE channels >= 2),
        inflow AS (
            SELECT payee AS account, count(DISTINCT payer) AS payers,
                   -- to the cent: a sum of floats moves in its last bits with the order the
                   -- engine's threads add in, and the same payments must give the same figure
                   round(sum(amount), 2) AS amount_in,
                   count(DISTINCT CASE WHEN called_by IS NOT NULL THEN payer END) AS victims
            FROM {_TRANSFERS} WHERE payee IN (SELECT account FROM spreading) GROUP BY payee
        ),
        votes AS (
            SELECT payee AS account, called_by AS campaign_id,
                   row_number() OVER (PARTITION BY payee
                                      ORDER BY count(DISTINCT payer) DESC, called_by) AS rank
            FROM {_TRANSFERS}
            WHERE called_by IS NOT NULL AND payee IN (SELECT account FROM spreading)
            GROUP BY payee, called_by
        ),
        farm_sims AS (
            SELECT 'msisdn:' || a_number AS sim, min(farm_id) AS farm_id
            FROM {calls.judged} WHERE farm_id IS NOT NULL AND a_number IS NOT NULL
            GROUP BY a_number
        ),
        farm_campaigns AS (
            SELECT j.farm_id, c.campaign_id,
                   row_number() OVER (PARTITION BY j.farm_id
                                      ORDER BY count(*) DESC, c.campaign_id) AS rank
            FROM {calls.judged} j JOIN {calls.campaigns} c ON c.record_id = j.record_id
            WHERE j.farm_id IS NOT NULL GROUP BY j.farm_id, c.campaign_id
        ),
        topups AS (
            SELECT payer AS account, payee AS sim FROM payments
            WHERE channel = 'sim_topup' AND payer IN (SELECT account FROM spreading)
        ),
        all_topups AS (SELECT account, count(*) AS all_topups FROM topups GROUP BY account),
        funded AS (
            SELECT t.account, f.farm_id, fc.campaign_id,
                   row_number() OVER (PARTITION BY t.account
                                      ORDER BY count(*) DESC, f.farm_id) AS rank
            FROM topups t
            JOIN farm_sims f ON f.sim = t.sim
            JOIN farm_campaigns fc ON fc.farm_id = f.farm_id AND fc.rank = 1
            JOIN all_topups a ON a.account = t.account
            GROUP BY t.account, f.farm_id, fc.campaign_id, a.all_topups
            HAVING 2 * count(*) >= a.all_topups
        )
        SELECT s.account, s.channels, s.used, i.payers, i.amount_in, i.victims,
               coalesce(f.campaign_id, v.campaign_id) AS campaign_id, f.farm_id
        FROM spread s JOIN inflow i ON i.account = s.account
        LEFT JOIN votes v ON v.account = s.account AND v.rank = 1
        LEFT JOIN funded f ON f.account = s.account AND f.rank = 1
        WHERE s.channels >= 2 AND ({victims_paid} OR f.farm_id IS NOT NULL)
        """
    )


def _fed(con: duckdb.DuckDBPyConnection, calls: CallTables) -> None:
    """SIM balances and e-wallets a collector paid (the first collector by account, and its
    campaign), each SIM balance with the farm whose calls its SIM made."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_FED} AS
        WITH fed AS (
            SELECT p.payee AS account, p.channel, c.account AS source, c.campaign_id,
                   row_number() OVER (PARTITION BY p.payee ORDER BY c.account) AS first
            FROM payments p JOIN {_COLLECTORS} c ON p.payer = c.account
            WHERE p.channel IN ('sim_topup', 'ewallet')
              AND p.payee NOT IN (SELECT account FROM {_COLLECTORS})
        ),
        farm_sims AS (
            SELECT 'msisdn:' || a_number AS account, min(farm_id) AS farm_id
            FROM {calls.judged} WHERE farm_id IS NOT NULL AND a_number IS NOT NULL
            GROUP BY a_number
        )
        SELECT f.account, f.channel, f.source, f.campaign_id, s.farm_id
        FROM fed f LEFT JOIN farm_sims s ON s.account = f.account
        WHERE f.first = 1
        """
    )


def _accounts_sql(holders_known: bool) -> str:
    collector = "collector_of_victims" if holders_known else "collector"
    return f"""
        WITH onward AS (
            SELECT p.payee AS account, f.account AS source, f.campaign_id,
                   row_number() OVER (PARTITION BY p.payee ORDER BY f.account) AS first
            FROM payments p JOIN {_FED} f ON p.payer = f.account
            WHERE p.channel = 'crypto'
              AND p.payee NOT IN (SELECT account FROM {_COLLECTORS})
              AND p.payee NOT IN (SELECT account FROM {_FED})
        )
        SELECT account, 'collector' AS role, 'mule' AS verdict, amount_in, payers,
               {_said(collector)}, campaign_id, victims, farm_id
        FROM {_COLLECTORS} WHERE farm_id IS NULL
        UNION ALL
        SELECT account, 'collector', 'mule', amount_in, payers, {_said("collector_of_farm")},
               campaign_id, victims, farm_id
        FROM {_COLLECTORS} WHERE farm_id IS NOT NULL
        UNION ALL
        SELECT account, 'sim_balance', 'mule', NULL, NULL, {_said("farm_sim")}, campaign_id, NULL,
               farm_id
        FROM {_FED} WHERE channel = 'sim_topup' AND farm_id IS NOT NULL
        UNION ALL
        SELECT account, CASE WHEN channel = 'sim_topup' THEN 'sim_balance' ELSE 'ewallet' END,
               'mule', NULL, NULL, {_said("fed")}, campaign_id, NULL, NULL
        FROM {_FED} WHERE channel = 'ewallet' OR farm_id IS NULL
        UNION ALL
        SELECT account, 'crypto', 'mule', NULL, NULL, {_said("onward")}, campaign_id, NULL, NULL
        FROM onward WHERE first = 1
    """


def _victim_payments(con: duckdb.DuckDBPyConnection) -> None:
    """Every transfer into a collecting mule: who paid, how much, when, after which call."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {VICTIM_PAYMENTS} AS
        WITH paid AS (
            SELECT t.payment_id, t.time, t.payer, t.holder_msisdn AS victim, t.payee AS mule,
                   t.amount, t.currency, c.campaign_id, t.called_by, t.call_record,
                   CAST(floor(epoch(t.time) / 60) - floor(epoch(t.call_time) / 60) AS BIGINT)
                       AS minutes_after_call
            FROM {_TRANSFERS} t JOIN {_COLLECTORS} c ON c.account = t.payee
        )
        SELECT payment_id, time, payer, victim, mule, amount, currency, campaign_id, called_by,
               call_record, minutes_after_call, {_said("paid_after_call")}
        FROM paid WHERE called_by IS NOT NULL
        UNION ALL
        SELECT payment_id, time, payer, victim, mule, amount, currency, campaign_id, called_by,
               call_record, minutes_after_call, {_said("paid_mule")}
        FROM paid WHERE called_by IS NULL AND campaign_id IS NOT NULL
        UNION ALL
        SELECT payment_id, time, payer, victim, mule, amount, currency, campaign_id, called_by,
               call_record, minutes_after_call, {_said("paid_collector")}
        FROM paid WHERE called_by IS NULL AND campaign_id IS NULL
        """
    )


def _campaign_money(con: duckdb.DuckDBPyConnection, calls: CallTables) -> None:
    """Per campaign: victims who paid its mules, what they lost and when, the chain onward, and
    how much was paid after the campaign's first flagged call to the payer (preventable)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {CAMPAIGN_MONEY} AS
        WITH paid AS (SELECT * FROM {VICTIM_PAYMENTS} WHERE campaign_id IS NOT NULL),
        first_call AS (
            SELECT c.campaign_id, j.b_number AS victim, min(j.t) AS first_t
            FROM {calls.judged} j JOIN {calls.campaigns} c ON c.record_id = j.record_id
            WHERE j.b_number IN (SELECT victim FROM paid)
            GROUP BY c.campaign_id, j.b_number
        ),
        first_paid AS (
            SELECT campaign_id, victim, min(time) AS first_time
            FROM paid WHERE victim IS NOT NULL GROUP BY campaign_id, victim
        ),
        before AS (
            SELECT f.campaign_id, count(DISTINCT j.record_id) AS calls_before_payment
            FROM first_paid f
            JOIN {calls.judged} j ON j.b_number = f.victim AND j.t < f.first_time
            JOIN {calls.campaigns} c ON c.record_id = j.record_id AND c.campaign_id = f.campaign_id
            GROUP BY f.campaign_id
        ),
        totals AS (
            SELECT p.campaign_id, count(DISTINCT p.payer) AS victims_paid,
                   count(DISTINCT CASE WHEN p.called_by = p.campaign_id THEN p.payer END)
                       AS victims_called,
                   count(*) AS transfers, round(sum(p.amount), 2) AS lost, min(p.currency) AS currency,
                   round(sum(CASE WHEN f.first_t < p.time THEN p.amount ELSE 0 END), 2)
                       AS preventable,
                   min(p.time) AS first_payment, max(p.time) AS last_payment,
                   count(DISTINCT p.mule) AS n_collectors,
                   array_to_string(list_sort(list(DISTINCT p.mule)), ';') AS collectors
            FROM paid p
            LEFT JOIN first_call f ON f.campaign_id = p.campaign_id AND f.victim = p.victim
            GROUP BY p.campaign_id
        ),
        chain AS (
            SELECT campaign_id,
                   count(DISTINCT CASE WHEN channel = 'sim_topup' THEN account END) AS sim_balances,
                   count(DISTINCT CASE WHEN channel = 'ewallet' THEN account END) AS ewallets,
                   array_to_string(list_sort(list(DISTINCT farm_id)), ';') AS farm_ids
            FROM {_FED} WHERE campaign_id IS NOT NULL GROUP BY campaign_id
        ),
        intercepted AS (
            SELECT c.campaign_id, count(*) AS intercepted
            FROM {calls.campaigns} c
            JOIN cdrs d ON d.record_id = c.record_id AND d.result = 'rejected'
            JOIN {calls.judged} j ON j.record_id = c.record_id
            LEFT JOIN first_paid f ON f.campaign_id = c.campaign_id AND f.victim = j.b_number
            WHERE f.first_time IS NULL OR j.t < f.first_time
            GROUP BY c.campaign_id
        ),
        with_money AS (
            SELECT t.campaign_id, t.victims_paid, t.victims_called, t.transfers, t.lost,
                   t.currency, t.preventable,
                   coalesce(b.calls_before_payment, 0) AS calls_before_payment,
                   coalesce(x.intercepted, 0) AS intercepted_before_payment,
                   t.first_payment, t.last_payment, t.n_collectors, t.collectors,
                   coalesce(c.sim_balances, 0) AS sim_balances,
                   coalesce(c.ewallets, 0) AS ewallets, coalesce(c.farm_ids, '') AS farm_ids,
                   {_said("campaign")}
            FROM totals t
            LEFT JOIN before b ON b.campaign_id = t.campaign_id
            LEFT JOIN chain c ON c.campaign_id = t.campaign_id
            LEFT JOIN intercepted x ON x.campaign_id = t.campaign_id
        )
        SELECT * FROM with_money
        UNION ALL
        SELECT campaign_id, 0, 0, 0, 0.0, NULL, 0.0, 0, intercepted, NULL, NULL, 0, NULL, 0, 0,
               '', {_said("intercepted_only")}
        FROM intercepted WHERE campaign_id NOT IN (SELECT campaign_id FROM totals)
        """
    )


def money_trail(
    con: duckdb.DuckDBPyConnection,
    campaigns: Sequence[Campaign] | None = None,
    *,
    calls: CallTables = JUDGED,
) -> pa.Table:
    """``accounts.csv``'s rows: ``account, role, verdict, amount_in, payers, reasons``, then
    ``campaign_id, victims, farm_id`` and ``reason_facts``, for every account on a mule's trail.

    Reads ``payments``, ``accounts``, ``cdrs`` and the ``calls`` (by default ``judged_calls``
    and ``call_campaigns``; a daily run gives its window's kept and new fraud calls, so that a
    victim called on a kept day who pays on a new one is seen; the refused calls counted as
    intercepted are those ``cdrs`` holds);
    leaves :data:`VICTIM_PAYMENTS` and :data:`CAMPAIGN_MONEY` in the engine
    (:func:`money_tables`). Given the ``campaigns``, only a call center's calls make victims
    (not a bypass box's, whose callees talk to the people they know, nor Wangiri's).
    """
    holders_known = _holders_known(con)
    if campaigns is None:
        _transfers(con, scams_only=False, calls=calls)
    else:
        ids = [c.campaign_id for c in campaigns if c.kind == "call_center"]
        con.register(_SCAM_CAMPAIGNS, pa.table({"campaign_id": pa.array(ids, pa.string())}))
        try:
            _transfers(con, scams_only=True, calls=calls)
        finally:
            con.unregister(_SCAM_CAMPAIGNS)
    _collectors(con, holders_known, calls)
    _fed(con, calls)
    _victim_payments(con)
    _campaign_money(con, calls)
    return con.sql(
        f"""
        SELECT account, role, verdict, amount_in, payers, reasons, campaign_id, victims, farm_id,
               reason_facts
        FROM ({_accounts_sql(holders_known)}) AS trail ORDER BY role, account
        """
    ).to_arrow_table()


def money_tables(con: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
    """``victim_payments`` and ``campaign_money`` as :func:`money_trail` left them (none before)."""
    order = {VICTIM_PAYMENTS: "time, payment_id", CAMPAIGN_MONEY: "campaign_id"}
    return {
        name: con.sql(f"SELECT * FROM {name} ORDER BY {by}").to_arrow_table()
        for name, by in order.items()
        if has_table(con, name)
    }
