"""Money that is not stolen but moves like it, and who holds every account.

The victims' payments and the mules' chain onward are drawn with the calls
(:mod:`qalqan.simulator.fraud`). What this module adds is drawn from streams
of its own, after every call is made, so that it changes no call record:

- legitimate look-alikes of a mule, each labelled with its kind in the truth:
  ``topup_kiosk`` (a kiosk paid by many customers, topping up each customer's
  SIM within minutes and cashing out its takings every evening), ``shop``
  (paid by many, paying its owner's e-wallet and cashing out daily),
  ``salary_spender`` (a person paid a salary who, within hours, tops up their
  own SIM and pays into their e-wallet), and ``family_topup`` (a person topping
  up a relative's SIM);
- the ``accounts`` table (exchange-v1.1): every account that ``payments``
  names, its holder's number when a person holds it, its bank and kind.
  Mules are held by drops with numbers of other operators, or nobody known;
  crypto addresses by nobody.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from qalqan.simulator.fraud import person_account
from qalqan.simulator.world import DAY, World

__all__ = ["AccountRow", "MoneyLookAlikes", "account_rows", "money_look_alikes"]

BANKS = {
    "KZ": ("Halyk Bank", "Kaspi Bank", "Jusan Bank", "ForteBank", "Bank CenterCredit"),
    "AZ": ("Kapital Bank", "PASHA Bank", "ABB", "Bank Respublika", "Yelo Bank"),
}
WALLETS = ("PayWallet", "QPay", "Wooppay")
EXCHANGES = ("", "Binance", "OKX")

#: A kiosk or a shop serves a neighbourhood: past this many subscribers its customers a day
#: stop growing with the operator (a bigger operator has more of them, not bigger ones), so
#: that the look-alikes' payments grow with the subscribers, not with their square.
NEIGHBOURHOOD = 100_000

Row = tuple[int, str, str, float, str, str]
"""(time, payer, payee, amount, currency, channel): a payment before it has an id."""


@dataclass(slots=True)
class AccountRow:
    account: str
    holder_msisdn: str
    """E.164 with ``+``, or empty when nobody known holds it."""
    bank: str
    kind: str
    opened_day: int | None
    """Days since 1970-01-01, or None when unknown."""


@dataclass(slots=True)
class MoneyLookAlikes:
    """Legitimate payments that look like a mule's, with their holders and truth labels."""

    payments: list[Row] = field(default_factory=list)
    holders: dict[str, str] = field(default_factory=dict)
    """Accounts that are not a subscriber's own: account -> holder's number (or empty)."""
    labels: list[tuple[str, str, str, str]] = field(default_factory=list)


def _business_account(rng: np.random.Generator, world: World) -> str:
    digits = "".join(str(d) for d in rng.integers(0, 10, size=18))
    return f"bank:{world.country.iban_country}{digits}"


def _kiosks_and_shops(world: World, rng: np.random.Generator, found: MoneyLookAlikes) -> None:
    """Kiosks and shops paid by their customers every day, topping up SIMs or cashing out."""
    n = world.scenario.subscribers
    days = world.scenario.days
    currency = world.country.currency
    pop = world.pop
    for kind, count, customers in (
        ("topup_kiosk", max(2, n // 2500), 0.004),
        ("shop", max(2, n // 2000), 0.006),
    ):
        for _ in range(count):
            account = _business_account(rng, world)
            owner = int(rng.integers(0, n))
            found.holders[account] = f"+{pop.msisdn[owner]}"
            found.labels.append(("account", account, "legit", kind))
            wallet = "ewallet:" + "".join(str(d) for d in rng.integers(0, 10, size=10))
            found.holders[wallet] = found.holders[account]
            for day in range(days):
                start = world.day_start(day)
                paid = 0.0
                served = int(rng.poisson(min(n, NEIGHBOURHOOD) * customers))
                for sub in rng.integers(0, n, size=max(3, served)):
                    t = start + int(rng.integers(8 * 3600, 20 * 3600))
                    amount = float(rng.integers(1, 10) * (1000 if kind == "topup_kiosk" else 5000))
                    payer = person_account(world, int(sub))
                    found.payments.append((t, payer, account, amount, currency, "bank_transfer"))
                    paid += amount
                    if kind == "topup_kiosk":
                        to = f"msisdn:+{pop.msisdn[sub]}"
                        found.payments.append(
                            (
                                t + int(rng.integers(30, 600)),
                                account,
                                to,
                                amount,
                                currency,
                                "sim_topup",
                            )
                        )
                close = start + 21 * 3600
                if kind == "shop":
                    found.payments.append(
                        (
                            close,
                            account,
                            wallet,
                            float(np.round(paid * 0.3, -2)),
                            currency,
                            "ewallet",
                        )
                    )
                found.payments.append(
                    (close + 1800, account, "bank:CASHDESK", float(np.round(paid * 0.5, -2)), currency, "cash_out")
                )  # fmt: skip


def money_look_alikes(world: World, rng: np.random.Generator) -> MoneyLookAlikes:
    """Kiosks, shops, salaries spent at once and relatives' top-ups, over the whole period."""
    found = MoneyLookAlikes()
    n = world.scenario.subscribers
    days = world.scenario.days
    if n == 0:
        return found
    _kiosks_and_shops(world, rng, found)
    currency = world.country.currency
    pop = world.pop
    employers = [_business_account(rng, world) for _ in range(max(2, n // 3000))]
    for employer in employers:
        found.holders[employer] = ""
    for _ in range(int(n * 0.002 * days)):
        sub = int(rng.integers(0, n))
        t = world.t0 + int(rng.integers(0, days * DAY - 6 * 3600))
        salary = float(rng.integers(150, 600) * 1000)
        account = person_account(world, sub)
        found.labels.append(("account", account, "legit", "salary_spender"))
        found.payments.append(
            (t, str(rng.choice(employers)), account, salary, currency, "bank_transfer")
        )
        t += int(rng.integers(600, 4 * 3600))
        found.payments.append(
            (
                t,
                account,
                f"msisdn:+{pop.msisdn[sub]}",
                float(rng.integers(1, 10) * 1000),
                currency,
                "sim_topup",
            )
        )
        wallet = f"ewallet:{sub % 10**10:010d}"
        found.holders[wallet] = f"+{pop.msisdn[sub]}"
        t += int(rng.integers(60, 4 * 3600))
        found.payments.append(
            (t, account, wallet, float(np.round(salary * 0.2, -2)), currency, "ewallet")
        )
    for _ in range(int(n * 0.003 * days)):
        sub, relative = (int(x) for x in rng.integers(0, n, size=2))
        t = world.t0 + int(rng.integers(0, days * DAY))
        account = person_account(world, sub)
        to = f"msisdn:+{pop.msisdn[relative]}"
        found.payments.append(
            (t, account, to, float(rng.integers(1, 6) * 1000), currency, "sim_topup")
        )
        found.labels.append(("account", account, "legit", "family_topup"))
    first: dict[str, tuple[str, str, str, str]] = {}
    for label in found.labels:
        first.setdefault(label[1], label)
    found.labels = list(first.values())
    return found


def _stable(text: str, salt: str) -> int:
    """A number stable for ``text`` (the same account keeps its bank and kind in every data set)."""
    return int.from_bytes(hashlib.blake2b(f"{salt}:{text}".encode(), digest_size=8).digest(), "big")


def account_rows(
    world: World, accounts: list[str], holders: dict[str, str], rng: np.random.Generator
) -> list[AccountRow]:
    """An ``accounts`` row for each of ``accounts``, in their order.

    A subscriber's own account is held by the subscriber's number; ``holders`` names the
    holders of the look-alikes' accounts; a SIM's balance is held by its own number. A mule's
    bank account or e-wallet is held by a drop (a number of another operator, opened weeks
    before) or by nobody known; crypto addresses by nobody.
    """
    pop = world.pop
    country = world.country
    banks = BANKS.get(country.iban_country, BANKS["KZ"])
    start_day = int(np.datetime64(world.scenario.start, "D").astype(np.int64))
    others = [p for ps in country.other_operators.values() for p in ps] or list(
        country.home_prefixes
    )
    rows: list[AccountRow] = []
    for account in accounts:
        h = _stable(account, str(world.scenario.seed))
        prefix = account.split(":", 1)[0]
        sub = world.account_holders.get(account)
        if prefix == "msisdn":
            number = account.removeprefix("msisdn:")
            rows.append(AccountRow(account, number, "mobile operator", "sim_balance", None))
        elif prefix == "crypto":
            rows.append(AccountRow(account, "", EXCHANGES[h % len(EXCHANGES)], "crypto", None))
        elif sub is not None:
            kind = "card" if h % 10 < 7 else "bank_account"
            if prefix == "ewallet":
                kind = "ewallet"
            opened = start_day - 200 - int(h % 3000)
            rows.append(
                AccountRow(account, f"+{pop.msisdn[sub]}", banks[h % len(banks)], kind, opened)
            )
        elif account in holders:
            kind = "ewallet" if prefix == "ewallet" else "bank_account"
            bank = WALLETS[h % len(WALLETS)] if kind == "ewallet" else banks[h % len(banks)]
            rows.append(
                AccountRow(account, holders[account], bank, kind, start_day - 400 - int(h % 2000))
            )
        elif account == "bank:CASHDESK":
            rows.append(AccountRow(account, "", "cash desk", "bank_account", None))
        else:  # a mule's: held by a drop or by nobody known
            drop = ""
            if rng.random() < 0.7:
                line = int(rng.integers(1_000_000, 10_000_000))
                drop = f"+{int(country.mobile(int(rng.choice(others)), line))}"
            kind = (
                "ewallet"
                if prefix == "ewallet"
                else ("card" if rng.random() < 0.5 else "bank_account")
            )
            bank = WALLETS[h % len(WALLETS)] if kind == "ewallet" else banks[h % len(banks)]
            rows.append(AccountRow(account, drop, bank, kind, start_day - int(rng.integers(5, 60))))
    return rows
