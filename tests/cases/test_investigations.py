"""Cases: linking episodes and findings, suggestions from shared traces, notes, closing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from qalqan.cases.errors import WorkflowError
from qalqan.cases.ingest import ingest_decisions, ingest_findings
from qalqan.cases.intercepts import claim, record_outcome
from qalqan.cases.investigations import (
    add_note,
    add_to_case,
    attach_entity,
    case_view,
    close_case,
    escalate,
    escalations,
    findings,
    list_cases,
    open_case,
    remove_from_case,
    suggest_links,
)
from qalqan.cases.models import Alert, PotentialVictim
from qalqan.cases.store import CaseStore
from qalqan.cases.views import Money
from tests.cases.conftest import People
from tests.cases.feeds import write_feed


@pytest.fixture
def ids(store: CaseStore, tmp_path: Path) -> dict[str, int]:
    feed = write_feed(tmp_path / "feed", calls=12)
    with store.transaction() as session:
        ingest_decisions(session, feed.decisions, feed.data)
        ingest_findings(session, feed.findings, feed.data)
    with store.transaction() as session:
        rows = session.execute(select(Alert.kind, Alert.source_ref, Alert.id)).all()
    return {ref if kind == "intercepted_call" else f"{kind}:{ref}": i for kind, ref, i in rows}


def test_suggestions_name_what_alerts_share_strongest_first(
    store: CaseStore, people: People, ids: dict[str, int]
) -> None:
    with store.transaction() as session:
        found = suggest_links(session, people.analyst, alert_id=ids["r0"])
    by_id = {s.alert_id: s for s in found}
    # r0 is a farm call (campaign C0001, farm SIM +77010000001) to victim 0, who r8 also called
    farm = by_id[ids["sim_farm:F0001"]]
    assert "number +77010000001" in farm.shared
    campaign = by_id[ids["campaign:C0001"]]
    assert "campaign default/C0001" in campaign.shared
    same_victim = by_id[ids["r8"]]
    assert "same potential victim" in same_victim.shared
    # the same, for a screen to say in its own language
    assert ("number", "+77010000001") in farm.links
    assert ("campaign", "default/C0001") in campaign.links
    assert [v for k, v in same_victim.links if k == "victim"] == [ids_victim(store, ids["r8"])]
    assert "campaign default/C0001" in by_id[ids["r2"]].shared
    assert ids["r1"] not in by_id  # the spoofed bank call shares nothing with r0
    strengths = [s.strength for s in found]
    assert strengths == sorted(strengths, reverse=True)
    # the spoofed calls share the presented number and their campaign
    with store.transaction() as session:
        spoofed = {
            s.alert_id: s for s in suggest_links(session, people.analyst, alert_id=ids["r1"])
        }
    assert "number +77272707000" in spoofed[ids["r3"]].shared
    assert "campaign default/C0002" in spoofed[ids["r3"]].shared


def test_a_shared_mule_account_links_unrelated_calls_most_strongly(
    store: CaseStore, people: People, ids: dict[str, int]
) -> None:
    for ref in ("r0", "r1"):  # a farm call and a spoofed bank call: different campaigns
        with store.transaction() as session:
            claim(session, people.operator, ids[ref])
            record_outcome(
                session,
                people.operator,
                ids[ref],
                "already_paid",
                suffered=Money(Decimal("100000")),
                paid_to=["ewallet:W-777"],
            )
    with store.transaction() as session:
        found = suggest_links(session, people.analyst, alert_id=ids["r0"])
    assert found[0].alert_id == ids["r1"]
    assert found[0].shared == ("mule account ewallet:W-777",)


def test_a_case_gathers_episodes_findings_notes_and_is_closed_with_a_reason(
    store: CaseStore, people: People, ids: dict[str, int]
) -> None:
    with store.transaction() as session:
        opened = open_case(session, people.analyst, "Farm F0001 calling pensioners", [ids["r0"]])
    assert (opened.episodes, opened.findings) == (1, 0)
    with store.transaction() as session:
        suggested = suggest_links(session, people.analyst, case_id=opened.id, limit=100)
        add_to_case(
            session,
            people.analyst,
            opened.id,
            [
                s.alert_id
                for s in suggested
                if "campaign default/C0001" in s.shared or s.kind == "sim_farm"
            ],
        )
        attach_entity(session, people.analyst, opened.id, "account", "bank:KZ00MULE")
        add_note(session, people.analyst, opened.id, "All calls from the Almaty farm.")
    with store.transaction() as session:
        view = case_view(session, people.supervisor, opened.id)
    farm_calls = {f"r{k}" for k in range(0, 12, 2)}
    assert {e.source_ref for e in view.episodes} == farm_calls
    assert {f.kind for f in view.findings} == {"campaign", "sim_farm"}
    assert ("account", "bank:KZ00MULE", "attached") in {
        (e.kind, e.value, e.relation) for e in view.entities
    }
    assert [n.text for n in view.notes] == ["All calls from the Almaty farm."]
    assert view.timeline[0].what.startswith("call from +77010000001 intercepted")
    with store.transaction() as session:  # once in a case, the suggestions no longer offer it
        again = suggest_links(session, people.analyst, case_id=opened.id, limit=100)
    assert not {s.alert_id for s in again} & {ids[r] for r in farm_calls}
    with store.transaction() as session:
        other = open_case(session, people.supervisor, "Another")
    with (
        pytest.raises(WorkflowError, match=f"already in case {opened.id}"),
        store.transaction() as s,
    ):
        add_to_case(s, people.supervisor, other.id, [ids["r2"]])
    with store.transaction() as session:
        add_to_case(session, people.supervisor, other.id, [ids["r2"]], move=True)
        remove_from_case(session, people.supervisor, other.id, [ids["r2"]])
        escalate(session, people.analyst, case_id=opened.id, reason="a farm to raid")
    with pytest.raises(WorkflowError, match="not a reason"), store.transaction() as session:
        close_case(session, people.prosecutor, opened.id, "bored")
    with store.transaction() as session:
        closed = close_case(
            session, people.prosecutor, opened.id, "referred", "taken over by police"
        )
    assert closed.status == "closed"
    with pytest.raises(WorkflowError, match="closed"), store.transaction() as session:
        add_note(session, people.analyst, opened.id, "too late")
    with store.transaction() as session:
        view = case_view(session, people.prosecutor, opened.id)
        assert [c.id for c in list_cases(session, people.analyst)] == [other.id]
        assert [c.id for c in list_cases(session, people.analyst, status="closed")] == [opened.id]
    assert (view.close_reason, view.closed_by) == ("referred", "prokuror")
    whats = [t.what for t in view.timeline]
    assert "escalated to a prosecutor" in whats and whats[-1] == "case closed: referred"
    kinds = [t.kind for t in view.timeline]
    assert kinds[-1] == "case_closed" and view.timeline[-1].values == {"reason": "referred"}
    assert {"case_opened", "intercepted", "note_added", "escalated"} <= set(kinds)
    assert all(t.kind for t in view.timeline)
    with store.transaction() as session:
        (card,) = [e for e in escalations(session, people.prosecutor) if e.case_id == opened.id]
    assert card.about is not None
    assert (card.about.kind, card.about.title, card.about.episodes) == (
        "case",
        "Farm F0001 calling pensioners",
        len(farm_calls) - 1,  # r2 went to the other case
    )


def test_an_escalated_call_tells_the_prosecutor_what_happened(
    store: CaseStore, people: People, ids: dict[str, int]
) -> None:
    with store.transaction() as session:
        claim(session, people.operator, ids["r0"])
        record_outcome(
            session,
            people.operator,
            ids["r0"],
            "already_paid",
            suffered=Money(Decimal("250000")),
            paid_to=["bank:KZ11MULE"],
        )
        escalate(session, people.operator, alert_id=ids["r0"], reason="she already paid")
    with store.transaction() as session:
        (card,) = escalations(session, people.prosecutor)
    about = card.about
    assert about is not None and about.kind == "intercepted_call"
    assert about.caller == "+77010000001"
    assert about.callee == ids_victim(store, ids["r0"])
    assert about.outcome == "already_paid"
    assert about.suffered == (Money(Decimal("250000.00")),) and about.prevented == ()
    assert about.reasons and len(about.reasons) <= 3


def ids_victim(store: CaseStore, alert_id: int) -> str:
    with store.transaction() as session:
        return session.execute(
            select(PotentialVictim.msisdn)
            .join(Alert, Alert.victim_id == PotentialVictim.id)
            .where(Alert.id == alert_id)
        ).scalar_one()


def test_findings_list_farms_campaigns_and_waves(
    store: CaseStore, people: People, ids: dict[str, int]
) -> None:
    with store.transaction() as session:
        listed = findings(session, people.analyst)
        farms = findings(session, people.analyst, kind="sim_farm")
    assert {f.kind for f in listed} == {"sim_farm", "campaign", "spoofed_wave"}
    assert [f.source_ref for f in farms] == ["F0001"]
    assert farms[0].headline.startswith("3 SIMs in 3 handsets")
    with pytest.raises(WorkflowError), store.transaction() as session:
        findings(session, people.analyst, kind="intercepted_call")
