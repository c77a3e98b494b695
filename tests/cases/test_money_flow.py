"""A campaign's money flow as the case store folds it: money is conserved through the folding,
the accounts named are the largest, and the size is bounded by ``top`` whatever the payments."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qalqan.cases import CaseStore
from qalqan.cases.models import Alert, CampaignMoney, VictimPayment
from qalqan.cases.money import MoneyFlow, campaign_money_flow
from tests.cases.conftest import People
from tests.cases.feeds import T0

_sources = itertools.count()

payments = st.lists(
    st.tuples(
        st.integers(0, 25),  # victim
        st.integers(0, 12),  # mule
        st.integers(1, 1_000_000),  # amount, whole tenge
    ),
    min_size=1,
    max_size=80,
)


def _store(store: CaseStore, paid: list[tuple[int, int, int]]) -> int:
    """A campaign alert with ``paid`` as its victims' payments, in a feed of its own."""
    source = f"s{next(_sources)}"
    with store.transaction() as session:
        alert = Alert(
            kind="campaign", source=source, source_ref="C1", severity="high", severity_rank=3,
            score=1.0, reasons="[]", source_records="[]", details=json.dumps({}),
            occurred_at=T0, received_at=T0,
        )  # fmt: skip
        session.add(alert)
        session.add(
            CampaignMoney(
                source=source, campaign_id="C1", victims_paid=len({v for v, _, _ in paid}),
                victims_called=0, transfers=len(paid), lost=Decimal(sum(a for *_, a in paid)),
                preventable=Decimal(0), currency="KZT", calls_before_payment=0, reasons="[]",
            )
        )  # fmt: skip
        session.add_all(
            VictimPayment(
                source=source, payment_id=f"p{i}", paid_at=T0 + timedelta(minutes=i),
                payer=f"bank:V{v}", victim=f"+7702{v:07d}", mule=f"bank:MULE{m}",
                amount=Decimal(a), currency="KZT", campaign_id="C1", reasons="[]",
            )
            for i, (v, m, a) in enumerate(paid)
        )  # fmt: skip
        session.flush()
        return alert.id


def _sum(values: list[Decimal | None]) -> Decimal:
    return sum((v or Decimal(0) for v in values), Decimal(0))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(paid=payments, top=st.integers(1, 6))
def test_folding_keeps_the_money_and_names_the_largest(
    sqlite_store: CaseStore, sqlite_people: People, paid: list[tuple[int, int, int]], top: int
) -> None:
    alert_id = _store(sqlite_store, paid)
    with sqlite_store.transaction() as session:
        flow = campaign_money_flow(session, sqlite_people.analyst, alert_id, top=top)
    assert isinstance(flow, MoneyFlow)
    total = Decimal(sum(a for *_, a in paid))
    victims, mules = flow.column(0), flow.column(1)
    assert len(victims) <= top + 1 and len(mules) <= top + 1
    assert _sum([n.amount for n in victims]) == total == _sum([n.amount for n in mules])
    by_victim: dict[str, Decimal] = {}
    for v, _, a in paid:
        by_victim[f"+7702{v:07d}"] = by_victim.get(f"+7702{v:07d}", Decimal(0)) + a
    named = {n.label: n.amount for n in victims if n.label}
    assert all(by_victim[label] == amount for label, amount in named.items())
    left = [a for label, a in by_victim.items() if label not in named]
    assert not named or not left or min(named.values(), default=0) >= max(left)  # type: ignore[operator]
    other = [n for n in victims if not n.label]
    assert sum(n.others for n in other) == len(left)
    for node in flow.nodes:  # what comes in is what it holds, what goes out of a victim too
        ins = [e.amount for e in flow.edges if e.target == node.key]
        outs = [e.amount for e in flow.edges if e.source == node.key]
        if node.column == 1:
            assert _sum(ins) == node.amount, node
        if node.column == 0:
            assert _sum(outs) == node.amount, node


def test_an_account_fed_from_outside_the_named_collectors_comes_from_other_accounts(
    sqlite_store: CaseStore, sqlite_people: People
) -> None:
    """A SIM balance whose feeder took no victim's payment in this campaign is drawn from the
    collectors' "other" node, which says it stands for accounts only the next column names."""
    from qalqan.cases.models import MoneyAccount
    from qalqan.console.i18n import translate
    from qalqan.console.money_flow import node_label

    alert_id = _store(sqlite_store, [(1, 1, 700)])
    with sqlite_store.transaction() as session:
        source = session.get(Alert, alert_id).source  # type: ignore[union-attr]
        session.add(
            MoneyAccount(
                source=source, account="msisdn:+77010000009", role="sim_balance",
                campaign_id="C1", fed_by="bank:ELSEWHERE", amount_in=Decimal(500), reasons="[]",
            )
        )  # fmt: skip
    with sqlite_store.transaction() as session:
        flow = campaign_money_flow(session, sqlite_people.analyst, alert_id)
    assert flow is not None
    (feeder,) = [e.source for e in flow.edges if e.target == "2:msisdn:+77010000009"]
    other = next(n for n in flow.nodes if n.key == feeder)
    assert (other.column, other.label, other.others) == (1, "", 0)
    assert node_label(other, lambda key, **v: translate("en", key, **v)) == "other accounts"
    assert [e.amount for e in flow.edges if e.source == feeder] == [Decimal(500)]
