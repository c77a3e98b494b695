"""Citizens' reports in the case store, on SQLite and PostgreSQL: kept once, linked, queued."""

from __future__ import annotations

from pathlib import Path

from qalqan.cases import CaseStore, queue
from qalqan.cases.reports import NewReport, file_report, number_record, report_rows
from qalqan.cli.public import write_reports
from qalqan.domain.model import ReportCategory, ReportChannel
from qalqan.exchange.reader import read_file
from tests.cases.conftest import FrozenClock, make_people
from tests.cases.feeds import BANK_HOTLINE, FARM_SIMS

STRANGER = "+77079998877"


def _report(
    number: str,
    text: str = "said they were the bank",
    reporter: str = "r1",
    callback: str | None = None,
) -> NewReport:
    return NewReport(
        callback=callback,
        number=number,
        channel=ReportChannel.CALL,
        category=ReportCategory.BANK_SECURITY,
        text=text,
        reporter_key=reporter,
    )


def test_a_report_naming_a_live_campaign_is_linked_and_waits_in_the_operators_queue(
    fed: CaseStore,
) -> None:
    people = make_people(fed)
    with fed.transaction() as s:
        filed = file_report(s, _report(BANK_HOTLINE))
    assert not filed.duplicate
    assert filed.campaign is not None and filed.campaign.endswith("/C0002")
    assert filed.alert_id is not None
    with fed.transaction() as s:
        waiting = {item.alert_id: item for item in queue(s, people.operator, limit=500)}
    assert filed.alert_id in waiting
    item = waiting[filed.alert_id]
    assert item.caller == BANK_HOTLINE
    assert any("C0002" in reason for reason in item.reasons)


def test_a_report_of_a_number_no_campaign_used_is_kept_but_not_queued(fed: CaseStore) -> None:
    with fed.transaction() as s:
        filed = file_report(s, _report(STRANGER))
    assert filed.campaign is None and filed.alert_id is None
    with fed.transaction() as s:
        assert number_record(s, STRANGER).reports_recent == 1


def test_the_same_report_within_the_window_is_kept_once_and_again_after_it(
    fed: CaseStore, clock: FrozenClock
) -> None:
    with fed.transaction() as s:
        first = file_report(s, _report(STRANGER, "Они сказали   СЛУЖБА безопасности"))
    with fed.transaction() as s:
        again = file_report(s, _report(STRANGER, "они сказали служба безопасности"))
        other = file_report(s, _report(STRANGER, "они сказали служба безопасности", "r2"))
    assert again.duplicate and again.report_id == first.report_id
    assert not other.duplicate
    clock.advance(hours=25)
    with fed.transaction() as s:
        later = file_report(s, _report(STRANGER, "они сказали служба безопасности"))
        record = number_record(s, STRANGER)
    assert not later.duplicate
    assert record.reports_recent == 3
    assert record.reports_by_category == {"bank_security": 3}


def test_what_the_store_says_of_a_number_is_about_the_number_only(fed: CaseStore) -> None:
    farm_number = FARM_SIMS[0][1]
    with fed.transaction() as s:
        farm = number_record(s, farm_number)
        hotline = number_record(s, BANK_HOTLINE)
        nobody = number_record(s, STRANGER)
    assert farm.farm_sim and farm.campaigns and farm.intercepted_calls > 0
    assert farm.spoofed_calls == 0  # the farm's SIMs call as themselves
    assert hotline.campaigns and all(c.live for c in hotline.campaigns)
    assert hotline.spoofed_calls == hotline.intercepted_calls > 0  # all arrived from abroad
    assert not hotline.farm_sim
    assert nobody.campaigns == () and not nobody.farm_sim and nobody.intercepted_calls == 0
    said = repr(farm)
    assert FARM_SIMS[0][0] not in said and FARM_SIMS[0][2] not in said  # no IMSI, no IMEI


def test_a_campaign_seen_long_ago_is_not_live(fed: CaseStore, clock: FrozenClock) -> None:
    clock.advance(days=31)
    with fed.transaction() as s:
        filed = file_report(s, _report(BANK_HOTLINE))
        record = number_record(s, BANK_HOTLINE)
    assert filed.alert_id is None
    assert record.campaigns and not any(c.live for c in record.campaigns)


def test_reports_are_written_as_exchange_reports_rows(fed: CaseStore, tmp_path: Path) -> None:
    with fed.transaction() as s:
        file_report(s, _report(BANK_HOTLINE, "первый", callback="+77015550001"))
        file_report(s, _report(STRANGER, "второй, с запятой", callback="+77015550002"))
        file_report(s, _report(STRANGER, "anonymous: the format needs a reporter"))
        rows = report_rows(s)
    path = write_reports(tmp_path, rows)
    table = read_file(path, "reports").read_all()
    assert table.column("reported_number").to_pylist() == [BANK_HOTLINE, STRANGER]
    assert table.column("category").to_pylist() == ["bank_security", "bank_security"]
    assert table.column("text").to_pylist() == ["первый", "второй, с запятой"]
    assert table.column("reporter").to_pylist() == ["+77015550001", "+77015550002"]
