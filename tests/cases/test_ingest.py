"""Decisions and findings go in once, whatever happens: re-runs, either order, crashes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from qalqan.cases.ingest import RejectedRows, ingest_decisions, ingest_findings
from qalqan.cases.models import (
    Alert,
    AlertEntity,
    AnalysedCall,
    Base,
    Entity,
    EntityLink,
    Episode,
    PotentialVictim,
)
from qalqan.cases.store import CaseStore, upgrade
from qalqan.cases.views import stored_reasons
from qalqan.cli.main import app
from tests.cases.conftest import FrozenClock
from tests.cases.feeds import BANK_HOTLINE, FARM_SIMS, Feed, victim_number, write_feed

DATA_TABLES = [t for t in Base.metadata.sorted_tables if t.name not in ("audit_log", "audit_head")]


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the audit log (which records each run, as it should)."""
    found = {}
    for table in DATA_TABLES:
        rows = session.execute(table.select()).all()
        found[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return found


@pytest.fixture
def feed(tmp_path: Path) -> Feed:
    return write_feed(tmp_path / "feed", calls=12)


def load(store: CaseStore, feed: Feed, *, findings_first: bool = False, **options: Any) -> None:
    with store.transaction() as session:
        if findings_first:
            ingest_findings(session, feed.findings, feed.data, **options)
            ingest_decisions(session, feed.decisions, feed.data, **options)
        else:
            ingest_decisions(session, feed.decisions, feed.data, **options)
            ingest_findings(session, feed.findings, feed.data, **options)


def test_intercepted_calls_become_alerts_with_callee_caller_and_scheme(
    store: CaseStore, feed: Feed
) -> None:
    with store.transaction() as session:
        report = ingest_decisions(session, feed.decisions, feed.data, batch_size=5)
    assert report.rows_read == feed.intercepted + 4
    assert report.alerts_new == {"intercepted_call": feed.intercepted}
    assert report.batches == 3
    with store.transaction() as session:
        alerts = {a.source_ref: a for a in session.scalars(select(Alert))}
        assert set(alerts) == {f"r{k}" for k in range(feed.intercepted)}  # allow is no alert
        spoofed = alerts["r1"]
        assert (spoofed.caller, spoofed.action, spoofed.category) == (
            BANK_HOTLINE,
            "divert",
            "bank_security",
        )
        (said,) = stored_reasons(spoofed.reasons)
        assert said.detail.startswith("presents +77272707000")
        assert (said.rule, said.key) == ("spoofed_cli.registry_inbound_only",) * 2
        assert said.facts_dict() == {"caller": BANK_HOTLINE, "owner": "National Bank, hotline"}
        assert said.weight == 0.85
        farm_call = alerts["r0"]
        assert farm_call.caller == FARM_SIMS[0][1]
        assert farm_call.severity == "critical"
        victims = {v.msisdn: v for v in session.scalars(select(PotentialVictim))}
        assert len(victims) == feed.victims
        assert victims[victim_number(0)].birth_year == 1948
        assert victims[victim_number(0)].vulnerable
        assert not victims[victim_number(1)].vulnerable
        assert session.get(PotentialVictim, farm_call.victim_id).msisdn == victim_number(0)  # type: ignore[union-attr]
        assert len(session.scalars(select(Episode)).all()) == feed.intercepted
        sims = session.scalars(select(Entity.value).where(Entity.kind == "sim")).all()
        assert set(sims) == {s[0] for s in FARM_SIMS}


@pytest.mark.parametrize(
    "cell",
    [
        "not json",
        '{"rule": "x"}',
        '[{"rule": "other.rule", "key": "other.rule", "facts": {}}]',  # a key of no catalog
        '[{"rule": "a", "key": "a", "facts": {}}, {"rule": "b", "key": "b", "facts": {}}]',
        '[{"rule": "a", "key": "", "facts": {}, "weight": "heavy"}]',  # a weight no number
    ],
)
def test_reason_facts_that_do_not_fit_leave_the_english_reason(
    store: CaseStore, tmp_path: Path, cell: str
) -> None:
    feed = write_feed(tmp_path / "f", calls=2)
    lines = feed.decisions.read_text(encoding="utf-8").splitlines()
    head, rows = lines[0], lines[1:]
    with feed.decisions.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(head.split(","))
        for row in csv.reader(rows):
            writer.writerow([*row[:5], cell])
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
        stored = session.scalars(select(Alert.reasons)).all()
    assert len(stored) == 2
    for raw in stored:
        (said,) = stored_reasons(raw)
        assert (said.rule, said.key, said.facts) == ("decisions.reasons", "", ())
        assert said.detail.startswith(  # the words of the reasons column, whole
            ("sim_farm.handset_many_sims: IMEI", "spoofed_cli.registry_inbound_only: presents")
        )


def test_findings_become_farm_campaign_and_wave_alerts_with_their_entities(
    store: CaseStore, feed: Feed
) -> None:
    with store.transaction() as session:
        report = ingest_findings(session, feed.findings, feed.data)
    assert report.alerts_new == {"sim_farm": 1, "campaign": 2, "spoofed_wave": 1}
    with store.transaction() as session:
        farm = session.scalars(select(Alert).where(Alert.kind == "sim_farm")).one()
        linked = session.execute(
            select(Entity.kind, Entity.value, AlertEntity.relation)
            .join(AlertEntity, AlertEntity.entity_id == Entity.id)
            .where(AlertEntity.alert_id == farm.id)
        ).all()
        kinds = {(k, r) for k, _, r in linked}
        farm_headline = stored_reasons(farm.reasons)[0]
        assert farm_headline.key == "finding.farm"
        assert farm_headline.detail_in("kk").startswith(
            "SIM-карта саны: 3, құрылғы саны: 3; жабдық шамамен 43.25"
        )
        assert {
            ("imei", "handset"),
            ("sim", "member"),
            ("number", "member_number"),
            ("cell", "cell"),
        } <= kinds
        assert json.loads(farm.details)["lat"] == 43.25
        wave = session.scalars(select(Alert).where(Alert.kind == "spoofed_wave")).one()
        assert wave.category == "bank_security"
        assert len(json.loads(wave.source_records)) == feed.intercepted // 2
        headline = stored_reasons(wave.reasons)[0]
        assert BANK_HOTLINE in headline.detail
        assert headline.key == "finding.wave.campaign.examples"
        assert headline.detail_in("ru") == (
            "звонков с подменных номеров: 6 — кампания C0002, 2026-03-02; разных номеров: 1 "
            f"(чаще всего: {BANK_HOTLINE})"
        )
        assert session.scalar(select(text("count(*)")).select_from(EntityLink)) > 0


@pytest.mark.parametrize("findings_first", [False, True], ids=["decisions-first", "findings-first"])
def test_calls_find_their_campaign_in_either_order(
    store: CaseStore, feed: Feed, findings_first: bool
) -> None:
    load(store, feed, findings_first=findings_first)
    with store.transaction() as session:
        rows = session.execute(
            select(Alert.source_ref, Entity.value)
            .join(AlertEntity, AlertEntity.alert_id == Alert.id)
            .join(Entity, Entity.id == AlertEntity.entity_id)
            .where(Alert.kind == "intercepted_call", Entity.kind == "campaign")
        ).all()
    campaigns = dict(rows)
    assert len(campaigns) == feed.intercepted
    assert campaigns["r0"] == "default/C0001"
    assert campaigns["r1"] == "default/C0002"


def test_ingesting_the_same_input_again_changes_nothing(store: CaseStore, feed: Feed) -> None:
    load(store, feed)
    with store.transaction() as session:
        first = snapshot(session)
    with store.transaction() as session:
        again = ingest_decisions(session, feed.decisions, feed.data)
        again_findings = ingest_findings(session, feed.findings, feed.data)
    assert again.total_new == 0 and again_findings.total_new == 0
    assert again.already_there("intercepted_call") == feed.intercepted
    load(store, feed, findings_first=True, batch_size=3)
    with store.transaction() as session:
        assert snapshot(session) == first


def test_a_second_ingest_keeps_what_people_did(store: CaseStore, feed: Feed) -> None:
    load(store, feed)
    with store.transaction() as session:
        alert = session.scalars(select(Alert).where(Alert.source_ref == "r0")).one()
        alert.status, alert.outcome, alert.category = "done", "warned", "police"
    load(store, feed)
    with store.transaction() as session:
        alert = session.scalars(select(Alert).where(Alert.source_ref == "r0")).one()
        assert (alert.status, alert.outcome, alert.category) == ("done", "warned", "police")


def test_sources_keep_equal_record_ids_apart(store: CaseStore, feed: Feed) -> None:
    load(store, feed, source="day1")
    load(store, feed, source="day2")
    with store.transaction() as session:
        n = session.scalar(
            select(text("count(*)")).select_from(Alert).where(Alert.kind == "intercepted_call")
        )
        assert n == 2 * feed.intercepted
        # the same people: victims and numbers are not per source
        assert len(session.scalars(select(PotentialVictim)).all()) == feed.victims


def test_decisions_alone_still_make_alerts(store: CaseStore, feed: Feed) -> None:
    with store.transaction() as session:
        report = ingest_decisions(session, feed.decisions)
    assert report.total_new == feed.intercepted
    with store.transaction() as session:
        alert = session.scalars(select(Alert).where(Alert.source_ref == "r1")).one()
        assert alert.caller is None and alert.victim_id is None
        assert alert.category == "bank_security"  # the reason's facts: whose number it presents
    with store.transaction() as session:  # the data set later fills in who was called
        ingest_decisions(session, feed.decisions, feed.data)
        alert = session.scalars(select(Alert).where(Alert.source_ref == "r1")).one()
        assert alert.caller == BANK_HOTLINE and alert.victim_id is not None


class SimulatedCrashError(Exception):
    pass


def test_a_crash_midway_loses_nothing_acknowledged(
    store_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    feed = write_feed(tmp_path / "big", calls=50)
    upgrade(store_url)
    acknowledged: list[int] = []

    def crash_after_three(done: int, total: int) -> None:
        acknowledged.append(done)
        if len(acknowledged) == 3:
            raise SimulatedCrashError

    with CaseStore.open(store_url, clock=clock) as store:
        with pytest.raises(SimulatedCrashError), store.transaction() as session:
            ingest_decisions(
                session, feed.decisions, feed.data, batch_size=7, progress=crash_after_three
            )
        with store.transaction() as session:
            count = session.scalar(select(text("count(*)")).select_from(Alert))
        assert acknowledged == [7, 14, 21]
        assert count == 21  # every acknowledged batch survived, nothing half-written
        with store.transaction() as session:
            report = ingest_decisions(session, feed.decisions, feed.data, batch_size=7)
            ingest_findings(session, feed.findings, feed.data)
        assert report.alerts_new == {"intercepted_call": feed.intercepted - 21}
        with store.transaction() as session:
            after_crash = snapshot(session)
    clean_url = str(tmp_path / "clean.db")
    upgrade(clean_url)
    with CaseStore.open(clean_url, clock=clock) as clean:
        load(clean, feed)
        with clean.transaction() as session:
            expected = snapshot(session)
    assert _without_ids(after_crash) == _without_ids(expected)


def _without_ids(snap: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    """Row counts per table: ids differ between two stores, the number of rows must not."""
    return {name: len(rows) for name, rows in snap.items()}


KILLED_INGEST = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from qalqan.cases.store import CaseStore
    from qalqan.cases.ingest import ingest_decisions

    url, decisions, data = sys.argv[1:4]

    def acknowledged(done, total):
        print(done, flush=True)
        time.sleep(0.2)

    with CaseStore.open(url) as store, store.transaction() as session:
        ingest_decisions(session, Path(decisions), Path(data), batch_size=5, progress=acknowledged)
    """
)


def test_a_killed_ingest_keeps_every_acknowledged_batch(store_url: str, tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "big", calls=60)
    upgrade(store_url)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_INGEST, store_url, str(feed.decisions), str(feed.data)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    seen = [int(process.stdout.readline()) for _ in range(3)]
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    with CaseStore.open(store_url) as store:
        with store.transaction() as session:
            count = session.scalar(select(text("count(*)")).select_from(Alert))
        assert count is not None and count >= seen[-1] == 15
        assert count < feed.intercepted
        with store.transaction() as session:
            report = ingest_decisions(session, feed.decisions, feed.data)
            assert report.total_new == feed.intercepted - count
            assert session.scalar(select(text("count(*)")).select_from(Alert)) == feed.intercepted
            assert session.scalar(select(text("count(*)")).select_from(Episode)) == feed.intercepted


def test_analysed_calls_are_kept_once(store: CaseStore, feed: Feed) -> None:
    load(store, feed)
    load(store, feed)
    with store.transaction() as session:
        n = session.scalar(select(text("count(*)")).select_from(AnalysedCall))
    assert n == feed.intercepted


INGEST = ("cases", "ingest", "-q")


def spoil_a_cdr(feed: Feed, record_id: str) -> Path:
    """Give ``record_id``'s CDR a start time that is no time: the data set rejects that row."""
    cdrs = feed.data / "cdrs.csv"
    lines = cdrs.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{record_id},"))
    fields = lines[at].split(",")
    fields[1] = "not a time"
    lines[at] = ",".join(fields)
    cdrs.write_text("".join(lines), encoding="utf-8")
    return cdrs


def test_rejected_rows_of_the_data_set_are_counted_per_table_and_quarantined(
    sqlite_store: CaseStore, feed: Feed, tmp_path: Path
) -> None:
    cdrs = spoil_a_cdr(feed, "r1")
    quarantine = tmp_path / "quarantine"
    with sqlite_store.transaction() as session:
        report = ingest_decisions(session, feed.decisions, feed.data, quarantine=quarantine)
    assert report.rejected == [RejectedRows(file=cdrs, rows=1, quarantine=quarantine / "cdrs.csv")]
    assert report.rows_rejected == 1
    assert "r1" in (quarantine / "cdrs.csv").read_text(encoding="utf-8")
    with sqlite_store.transaction() as session:
        alert = session.scalars(select(Alert).where(Alert.source_ref == "r1")).one()
        assert alert.caller is None  # its CDR was rejected: the alert loads without it


def test_rejected_rows_of_the_findings_are_counted_per_table(
    sqlite_store: CaseStore, feed: Feed, tmp_path: Path
) -> None:
    calls = feed.findings / "calls.csv"
    calls.write_text(
        calls.read_text(encoding="utf-8") + "r99,maybe,C0001,,mobile,2026-03-02T08:00:00Z\n",
        encoding="utf-8",
    )
    with sqlite_store.transaction() as session:
        report = ingest_findings(session, feed.findings, quarantine=tmp_path / "q")
    assert report.rejected == [
        RejectedRows(file=calls, rows=1, quarantine=tmp_path / "q/calls.csv")
    ]
    assert report.rows_rejected == 1


def test_the_ingest_command_says_what_was_rejected_and_exits_1(feed: Feed, tmp_path: Path) -> None:
    cdrs = spoil_a_cdr(feed, "r1")
    db = tmp_path / "cases.db"
    upgrade(str(db))
    result = CliRunner().invoke(
        app,
        [*INGEST, "--db", str(db), "--decisions", str(feed.decisions), "--data", str(feed.data)],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 1, result.output
    quarantine = feed.data / "quarantine"
    said = " ".join(result.stderr.split())
    assert f"{cdrs}: 1 row rejected" in said
    assert f"in {quarantine / 'cdrs.csv'}" in said
    assert (quarantine / "cdrs.csv").is_file()
    # the alerts are loaded all the same
    assert "intercepted call" in result.stdout


def test_the_ingest_command_exits_0_when_nothing_was_rejected(feed: Feed, tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    upgrade(str(db))
    result = CliRunner().invoke(
        app,
        [
            *INGEST,
            "--db",
            str(db),
            "--decisions",
            str(feed.decisions),
            "--data",
            str(feed.data),
            "--findings",
            str(feed.findings),
        ],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 0, result.output
    assert "rejected" not in result.stderr
