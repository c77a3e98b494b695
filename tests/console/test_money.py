"""The money trail in the console, in-process: a campaign's and a case's flow, the dashboard's
totals, in every language, bounded however many payments a campaign has."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import select

from qalqan.cases import CaseStore
from qalqan.cases.ingest import ingest_money
from qalqan.cases.investigations import open_case
from qalqan.cases.models import Alert
from qalqan.cases.money import DEFAULT_TOP
from qalqan.cases.roles import Role
from qalqan.cases.views import Money
from qalqan.console.formats import money
from qalqan.console.i18n import translate
from tests.cases.feeds import write_feed
from tests.cases.test_money_ingest import COLLECTORS, FED, SIM_BALANCES, Paid, write_money
from tests.console.conftest import Console, ShiftClock, populated_store


def _kzt(amount: float | Decimal) -> str:
    return money([Money(Decimal(str(amount)).quantize(Decimal("0.01")), "KZT")])


def with_money(folder: Path, *, extra: int = 0) -> tuple[CaseStore, str, list[Paid], Console]:
    store, url, people = populated_store(folder, ShiftClock())
    feed = write_feed(folder / "money")
    paid = write_money(feed, extra=extra)
    with store.transaction() as session:
        ingest_money(session, feed.findings, feed.data, batch_size=20_000)
    return store, url, paid, Console(store=store, url=url, people=people)


@pytest.fixture
def money_console(tmp_path: Path) -> Iterator[tuple[Console, list[Paid]]]:
    store, _, paid, console = with_money(tmp_path)
    try:
        yield console, paid
    finally:
        store.close()


def _alert(store: CaseStore, kind: str, ref: str) -> int:
    with store.transaction() as session:
        found = session.scalar(select(Alert.id).where(Alert.kind == kind, Alert.source_ref == ref))
    assert found is not None
    return found


def _money_part(html: str) -> str:
    start = html.index('id="money"')
    return html[start : html.index("</section>", start)].replace("\u00a0", " ")


def _table(html: str) -> list[tuple[str, str, str]]:
    """(from, to, amount) of the flow's table, as the reader sees them."""
    rows = re.findall(r"<tr><td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td></tr>", html, re.S)
    text = [tuple(unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in row) for row in rows]
    return [(a, b, c) for a, b, c in text]


def test_a_campaigns_page_draws_its_money_flow_with_the_right_amounts(
    money_console: tuple[Console, list[Paid]],
) -> None:
    console, paid = money_console
    alert_id = _alert(console.store, "campaign", "C0001")
    farm_id = _alert(console.store, "sim_farm", "F0001")
    page = console.signed_in(Role.ANALYST).client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    part = _money_part(page.text)
    mine = [p for p in paid if p.campaign_id == "C0001"]
    assert _kzt(sum(p.amount for p in mine)) in part
    assert "<svg" in part and 'role="img"' in part
    rows = _table(part)
    for mule in {p.mule for p in mine}:  # what each victim paid each mule, shown as an edge
        for victim in {p.victim for p in mine if p.mule == mule}:
            owed = sum(p.amount for p in mine if p.mule == mule and p.victim == victim)
            assert any(r[1].startswith(mule) and r[2] == _kzt(owed) for r in rows), (victim, mule)
    for account, _, fed_by, amount, farm in FED:
        row = next(r for r in rows if r[1].startswith(account))
        assert row[0].startswith(fed_by) and row[2] == _kzt(amount)
        if farm:
            assert f"farm {farm}" in row[1] or f"ферма {farm}" in row[1]
    # the SIM balance links to its farm, in the picture and in the table
    assert part.count(f'href="/alerts/{farm_id}"') >= 2 * len(SIM_BALANCES)
    # a mule of the other campaign is not in this one's flow
    assert COLLECTORS["C0002"][0] not in part


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
def test_the_flow_speaks_the_readers_language(
    money_console: tuple[Console, list[Paid]], lang: str
) -> None:
    console, _ = money_console
    browser = console.signed_in(Role.ANALYST)
    browser.post("/lang", lang=lang)
    page = browser.client.get(f"/alerts/{_alert(console.store, 'campaign', 'C0001')}")
    part = _money_part(page.text)
    for key in ("money_title", "money_col_victims", "money_col_crypto", "money_table_caption"):
        assert translate(lang, key) in unescape(part), key


def test_a_case_shows_the_money_of_the_campaigns_it_touches(
    money_console: tuple[Console, list[Paid]],
) -> None:
    console, paid = money_console
    store = console.store
    with store.transaction() as session:
        farm_case = open_case(
            session, console.people.analyst, "Farm", [_alert(store, "sim_farm", "F0001")]
        ).id
        bank_calls = session.scalars(
            select(Alert.id).where(Alert.kind == "intercepted_call").order_by(Alert.id)
        ).all()
        empty_case = open_case(session, console.people.analyst, "Nothing", []).id
    browser = console.signed_in(Role.ANALYST)
    # the farm's SIM balances are fed by C0001's mules: the case shows C0001's money
    part = _money_part(browser.client.get(f"/cases/{farm_case}").text)
    assert _kzt(sum(p.amount for p in paid if p.campaign_id == "C0001")) in part
    assert COLLECTORS["C0002"][0] not in part
    # a case of calls grouped into both campaigns adds both up
    with store.transaction() as session:
        both = open_case(session, console.people.analyst, "Calls", list(bank_calls)).id
    part = _money_part(browser.client.get(f"/cases/{both}").text)
    assert _kzt(sum(p.amount for p in paid)) in part
    assert 'id="money"' not in browser.client.get(f"/cases/{empty_case}").text


def test_the_dashboard_adds_up_lost_and_preventable_with_the_top_campaigns(
    money_console: tuple[Console, list[Paid]],
) -> None:
    console, paid = money_console
    page = console.signed_in(Role.SUPERVISOR).client.get("/dashboard")
    assert page.status_code == 200
    text = unescape(page.text)
    lost = sum(Decimal(str(p.amount)) for p in paid)
    assert f"{lost:,.0f}".replace(",", " ") + " KZT" in text
    assert translate("ru", "money_preventable_def") in text
    c1 = _alert(console.store, "campaign", "C0001")
    c2 = _alert(console.store, "campaign", "C0002")
    table = text[text.index("top-campaigns") :]
    assert table.index(f'/alerts/{c1}#money"') < table.index(f'/alerts/{c2}#money"')


def test_a_hostile_account_name_is_text_in_the_picture(tmp_path: Path) -> None:
    store, url, people = populated_store(tmp_path, ShiftClock())
    feed = write_feed(tmp_path / "money")
    write_money(feed)
    hostile = "bank:<script>document.body.dataset.pwned=1</script>"
    for name in ("victim_payments.csv", "accounts.csv"):
        path = feed.findings / name
        path.write_text(path.read_text().replace(COLLECTORS["C0001"][0], hostile))
    with store.transaction() as session:
        ingest_money(session, feed.findings)
    try:
        console = Console(store=store, url=url, people=people)
        page = console.signed_in(Role.ANALYST).client.get(
            f"/alerts/{_alert(store, 'campaign', 'C0001')}"
        )
        part = _money_part(page.text)
        assert "<script>document" not in part
        assert "&lt;script&gt;document" in part
    finally:
        store.close()


def test_a_campaign_of_100000_payments_draws_a_bounded_page_quickly(tmp_path: Path) -> None:
    """Each column shows its largest accounts and one "other N accounts": the page's size and
    time do not grow with the payments."""
    extra = 100_000
    store, _, paid, console = with_money(tmp_path, extra=extra)
    try:
        browser = console.signed_in(Role.ANALYST)
        alert_id = _alert(store, "campaign", "C0001")
        started = time.perf_counter()
        page = browser.client.get(f"/alerts/{alert_id}")
        took = time.perf_counter() - started
        assert page.status_code == 200
        part = _money_part(page.text)
        victims = len({p.victim for p in paid if p.campaign_id == "C0001"})
        assert translate("ru", "money_other", n=victims - DEFAULT_TOP) in unescape(part)
        assert _kzt(sum(p.amount for p in paid if p.campaign_id == "C0001")) in part
        assert part.count("<rect") <= 4 * (DEFAULT_TOP + 1)
        assert len(part) < 60_000, len(part)
        assert len(page.text) < 120_000, len(page.text)
        print(f"\n100,000 payments: page {len(page.text):,} bytes in {took:.2f} s")
        assert took < 10, took
        dashboard = console.signed_in(Role.SUPERVISOR).client.get("/dashboard")
        assert len(dashboard.text) < 120_000
    finally:
        store.close()


def test_a_case_adds_the_campaign_whose_mule_a_victim_named(
    money_console: tuple[Console, list[Paid]],
) -> None:
    """A call of C0002 whose victim says they paid one of C0001's mules brings C0001's money
    into the case; the same call without it shows C0002's alone."""
    from qalqan.cases import claim, record_outcome
    from qalqan.cases.models import AnalysedCall

    console, paid = money_console
    store, people = console.store, console.people
    with store.transaction() as session:
        c2_calls = session.scalars(
            select(Alert.id)
            .join(AnalysedCall, AnalysedCall.record_id == Alert.source_ref)
            .where(Alert.kind == "intercepted_call", AnalysedCall.campaign_id == "C0002")
            .order_by(Alert.id)
        ).all()
    named, plain = c2_calls[0], c2_calls[1]
    with store.transaction() as session:
        claim(session, people.operator, named)
        record_outcome(
            session, people.operator, named, "already_paid",
            suffered=Money(Decimal(95_000), "KZT"), paid_to=(COLLECTORS["C0001"][0],),
        )  # fmt: skip
        cases = [open_case(session, people.analyst, f"#{a}", [a]).id for a in (named, plain)]
    browser = console.signed_in(Role.ANALYST)
    with_mule = _money_part(browser.client.get(f"/cases/{cases[0]}").text)
    alone = _money_part(browser.client.get(f"/cases/{cases[1]}").text)
    assert _kzt(sum(p.amount for p in paid)) in with_mule
    assert _kzt(sum(p.amount for p in paid if p.campaign_id == "C0002")) in alone
    assert COLLECTORS["C0001"][0] not in alone


def test_the_flows_and_totals_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    """The same pages over a real PostgreSQL: its grouping by expressions, tuple comparisons
    and sums are the database's, not SQLite's."""
    store, url, people = populated_store(tmp_path, ShiftClock(), url=postgres_url)
    feed = write_feed(tmp_path / "money")
    paid = write_money(feed, extra=30)
    try:
        with store.transaction() as session:
            ingest_money(session, feed.findings, feed.data)
            case_id = open_case(
                session, people.analyst, "Farm", [_alert(store, "sim_farm", "F0001")]
            ).id
        console = Console(store=store, url=url, people=people)
        browser = console.signed_in(Role.ANALYST)
        lost = _kzt(sum(p.amount for p in paid if p.campaign_id == "C0001"))
        for page in (f"/alerts/{_alert(store, 'campaign', 'C0001')}", f"/cases/{case_id}"):
            part = _money_part(browser.client.get(page).text)
            assert lost in part
            rows = _table(part)
            assert any(r[0].startswith(translate("ru", "money_other", n=30 + 5 - DEFAULT_TOP))
                       for r in rows), rows  # fmt: skip
            for account, _, _, amount, _ in FED:
                assert any(r[1].startswith(account) and r[2] == _kzt(amount) for r in rows)
        dashboard = console.signed_in(Role.SUPERVISOR).client.get("/dashboard").text
        total = sum(Decimal(str(p.amount)) for p in paid)
        assert f"{total:,.0f}".replace(",", " ") + " KZT" in unescape(dashboard)
    finally:
        store.close()


def test_a_case_does_not_add_up_money_in_two_currencies(
    money_console: tuple[Console, list[Paid]],
) -> None:
    from sqlalchemy import update

    from qalqan.cases.models import CampaignMoney, VictimPayment

    console, paid = money_console
    store = console.store
    with store.transaction() as session:
        for model in (CampaignMoney, VictimPayment):
            session.execute(
                update(model).where(model.campaign_id == "C0002").values(currency="USD")
            )
        calls = session.scalars(select(Alert.id).where(Alert.kind == "intercepted_call")).all()
        case_id = open_case(session, console.people.analyst, "Both", list(calls)).id
    part = _money_part(console.signed_in(Role.ANALYST).client.get(f"/cases/{case_id}").text)
    assert _kzt(sum(p.amount for p in paid if p.campaign_id == "C0001")) in part
    assert translate("ru", "money_left_out", campaigns="C0002") in unescape(part)
    assert COLLECTORS["C0002"][0] not in part
