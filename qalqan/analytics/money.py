"""The money trail: which accounts collect victims' money and pass it on.

Stolen money arrives in a mule's bank account and leaves it within hours by
several channels at once — SIM balance top-ups, e-wallets, cash-out — to be
turned into crypto. People's own accounts rarely do that. An account that
received a transfer and, within a day, sent money out through two or more of
those channels is a collecting mule; the accounts it fed (SIM balances,
e-wallets) and the crypto addresses those fed are the rest of the chain.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from qalqan.analytics.calls import reason_sql, said_sql

__all__ = ["CASH_OUT_CHANNELS", "money_trail"]

CASH_OUT_CHANNELS = ("sim_topup", "ewallet", "crypto", "cash_out")


#: Why each role is on the trail: rule id, message key, and the key's facts as SQL over the
#: role's rows. Each rule alone puts an account on the trail, so its reason weighs 1.0.
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
    "fed": ("money.fed_by_collector", "analysis.money.fed_by_collector", {"source": "source"}),
    "onward": ("money.fed_by_wallet", "analysis.money.fed_by_wallet", {"source": "source"}),
}


def _said(role: str) -> str:
    """SQL for a role's ``reasons`` (English) and ``reason_facts`` (its reason as data)."""
    rule, key, facts = _SAID[role]
    text, facts_json = said_sql(key, facts)
    cell = reason_sql(f"'{rule}'", "1.0", f"'{key}'", facts_json)
    return f"{text} AS reasons, {cell} AS reason_facts"


def money_trail(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """``account, role, verdict, amount_in, payers, reasons, reason_facts`` for every account on
    a mule's trail."""
    channels = ", ".join(f"'{c}'" for c in CASH_OUT_CHANNELS)
    return con.sql(
        f"""
        WITH received AS (
            SELECT payee AS account, time, amount, payer FROM payments WHERE channel = 'bank_transfer'
        ),
        spread AS (
            SELECT r.account, count(DISTINCT p.channel) AS channels, list(DISTINCT p.channel) AS used,
                   count(DISTINCT r.payer) AS payers, sum(DISTINCT r.amount) AS amount_in
            FROM received r JOIN payments p
              ON p.payer = r.account AND p.channel IN ({channels})
             AND p.time BETWEEN r.time AND r.time + INTERVAL 1 DAY
            GROUP BY r.account
        ),
        collectors AS (SELECT * FROM spread WHERE channels >= 2),
        fed AS (
            SELECT DISTINCT p.payee AS account, p.channel, c.account AS source
            FROM payments p JOIN collectors c ON p.payer = c.account
            WHERE p.channel IN ('sim_topup', 'ewallet') AND p.payee <> c.account
        ),
        onward AS (
            SELECT DISTINCT p.payee AS account, f.account AS source
            FROM payments p JOIN fed f ON p.payer = f.account WHERE p.channel = 'crypto'
        )
        SELECT account, 'collector' AS role, 'mule' AS verdict, amount_in, payers,
               {_said("collector")}
        FROM collectors
        UNION ALL
        SELECT account, CASE WHEN channel = 'sim_topup' THEN 'sim_balance' ELSE 'ewallet' END, 'mule',
               NULL, NULL, {_said("fed")}
        FROM (SELECT account, channel, min(source) AS source FROM fed GROUP BY account, channel)
        UNION ALL
        SELECT account, 'crypto', 'mule', NULL, NULL, {_said("onward")}
        FROM (SELECT account, min(source) AS source FROM onward GROUP BY account)
        ORDER BY role, account
        """
    ).to_arrow_table()
