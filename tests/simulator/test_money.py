"""The simulator's money: victims who pay after a campaign's call, the mules' chain onward,
money that only looks stolen, and who holds every account (exchange-v1.1 ``accounts``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pytest

from qalqan.simulator import money as simulated_money
from qalqan.simulator import operator
from qalqan.simulator.config import Scenario
from qalqan.simulator.money import MoneyLookAlikes
from qalqan.simulator.operator import SimulationSummary, simulate
from qalqan.simulator.population import build_population
from qalqan.simulator.world import World


@pytest.fixture(scope="module")
def money(operator_data: SimulationSummary) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    root = operator_data.out_dir
    for name in ("payments", "accounts", "cdrs", "subscribers"):
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_csv('{root / (name + '.csv')}', "
            "header=true, all_varchar=true)"
        )
    for name in ("labels", "losses", "farms"):
        con.execute(
            f"CREATE VIEW truth_{name} AS SELECT * FROM read_csv('{root / 'truth' / (name + '.csv')}', "
            "header=true, all_varchar=true)"
        )
    return con


def test_each_loss_is_a_victims_transfer_to_a_mule_of_the_campaign_that_talked_to_them(
    money: duckdb.DuckDBPyConnection,
) -> None:
    losses = (
        money.sql(
            """
        SELECT l.*, p.payer, p.payee, p.channel, CAST(p.amount AS DOUBLE) AS paid,
               a.holder_msisdn, m."group" AS mule_of,
               (SELECT max(c.start_time) FROM cdrs c JOIN truth_labels k
                  ON k.kind = 'call' AND k.id = c.record_id AND k."group" = l.campaign
                WHERE c.b_number = l.victim AND CAST(c.duration_s AS INT) >= 240
                  AND c.start_time < l.time) AS talked
        FROM truth_losses l
        JOIN payments p USING (payment_id)
        JOIN accounts a ON a.account = p.payer
        JOIN truth_labels m ON m.kind = 'account' AND m.id = p.payee
        """
        )
        .to_arrow_table()
        .to_pylist()
    )
    assert losses, "some victims paid"
    count = money.execute("SELECT count(*) FROM truth_losses").fetchall()[0]
    assert count == (len(losses),)
    for loss in losses:
        assert (loss["payer"], loss["payee"], loss["channel"]) == (
            loss["account"],
            loss["mule"],
            "bank_transfer",
        )
        assert loss["paid"] == float(loss["amount"])
        assert loss["holder_msisdn"] == loss["victim"], "the victim holds the paying account"
        assert loss["mule_of"] == loss["campaign"]
        assert loss["talked"] is not None, "a conversation with the campaign came first"


def test_mules_top_up_the_sims_their_centers_farms_call_from(
    money: duckdb.DuckDBPyConnection,
) -> None:
    topped = (
        money.sql(
            """
        SELECT p.payee, m."group" AS center, s.imsi, f."group" AS farm, tf.center AS farm_center
        FROM payments p
        JOIN truth_labels m ON m.kind = 'account' AND m.id = p.payer AND m.label = 'mule'
        JOIN subscribers s ON 'msisdn:' || s.msisdn = p.payee
        LEFT JOIN truth_labels f ON f.kind = 'sim' AND f.id = s.imsi
        LEFT JOIN truth_farms tf ON tf.farm_id = f."group"
        WHERE p.channel = 'sim_topup'
        """
        )
        .to_arrow_table()
        .to_pylist()
    )
    with_farms = set(money.execute("SELECT center FROM truth_farms WHERE center <> ''").fetchall())
    assert topped
    farm_sims = [t for t in topped if (t["center"],) in with_farms]
    assert farm_sims, "some center works with a farm"
    for t in farm_sims:
        assert t["farm_center"] == t["center"], t
        called = money.execute(
            f"SELECT count(*) FROM cdrs WHERE a_imsi = '{t['imsi']}'"
        ).fetchall()[0]
        assert called and called[0] > 0, "a SIM the farm has used"


def test_every_account_paid_has_its_holder_bank_and_kind(
    money: duckdb.DuckDBPyConnection,
) -> None:
    missing = money.execute(
        """
        SELECT a FROM (SELECT payer AS a FROM payments UNION SELECT payee FROM payments)
        WHERE a NOT IN (SELECT account FROM accounts)
        """
    ).fetchall()
    assert missing == []
    kinds = dict(money.execute("SELECT kind, count(*) FROM accounts GROUP BY kind").fetchall())
    assert set(kinds) == {"card", "bank_account", "ewallet", "sim_balance", "crypto"}
    own = money.execute(
        """
        SELECT count(*) FROM accounts a JOIN subscribers s ON 'msisdn:' || s.msisdn = a.account
        WHERE a.holder_msisdn <> s.msisdn OR a.kind <> 'sim_balance'
        """
    ).fetchall()[0]
    assert own == (0,)


def test_money_that_only_looks_stolen_is_there_and_labelled(
    money: duckdb.DuckDBPyConnection,
) -> None:
    kinds = dict(
        money.execute(
            """SELECT "group", count(*) FROM truth_labels
               WHERE kind = 'account' AND label = 'legit' GROUP BY 1"""
        ).fetchall()
    )
    assert set(kinds) == {"topup_kiosk", "shop", "salary_spender", "family_topup"}
    kiosks = money.execute(
        """
        SELECT l.id, count(DISTINCT p.payer) FROM truth_labels l JOIN payments p ON p.payee = l.id
        WHERE l."group" = 'topup_kiosk' AND p.channel = 'bank_transfer' GROUP BY l.id
        """
    ).fetchall()
    assert kiosks and all(n >= 10 for _, n in kiosks), "a kiosk is paid by many"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_look_alikes_draw_from_their_own_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without any money look-alike, the calls and every other table are the same bytes."""
    scenario = Scenario(subscribers=600, days=2, seed=5)
    simulate(tmp_path / "with", scenario)
    monkeypatch.setattr(operator, "money_look_alikes", lambda world, rng: MoneyLookAlikes())
    simulate(tmp_path / "without", scenario)
    for name in ("cdrs.csv", "subscribers.csv", "roaming.csv", "reports.csv", "truth/losses.csv"):
        assert _digest(tmp_path / "with" / name) == _digest(tmp_path / "without" / name), name
    assert _digest(tmp_path / "with" / "payments.csv") != _digest(
        tmp_path / "without" / "payments.csv"
    )


def test_a_kiosk_serves_a_neighbourhood_and_a_bigger_operator_has_more_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the neighbourhood, kiosks and shops multiply but each keeps its customers a day."""
    monkeypatch.setattr(simulated_money, "NEIGHBOURHOOD", 2_500)
    paid_per_day: dict[int, float] = {}
    businesses: dict[int, int] = {}
    for n in (2_500, 20_000):
        scenario = Scenario(subscribers=n, days=2, seed=3)
        world = World.create(scenario, build_population(scenario, np.random.default_rng(1)))
        found = simulated_money.money_look_alikes(world, np.random.default_rng(2))
        kiosks = {a for _, a, _, group in found.labels if group == "topup_kiosk"}
        paid = [p for p in found.payments if p[2] in kiosks and p[5] == "bank_transfer"]
        businesses[n] = len(kiosks)
        paid_per_day[n] = len(paid) / (len(kiosks) * scenario.days)
    assert businesses == {2_500: 2, 20_000: 8}  # one in 2,500 subscribers, at least two
    for n, mean in paid_per_day.items():
        assert 3 <= mean <= 20, (n, mean)  # about 0.4 % of 2,500 a day, not of 20,000 (80)
