"""A citizen's report that names a live campaign reaches the operators' console queue.

The public application and the console never meet: the report goes through the
case store, and an operator sees it in the queue as a call to return, with
its reason in the operator's language, and can claim it and record an outcome.
"""

from __future__ import annotations

from sqlalchemy import select

from qalqan.cases import CaseStore
from qalqan.cases.reports import CitizenReport
from qalqan.cases.roles import Role
from qalqan.public.pow import solve
from tests.cases.conftest import make_people
from tests.cases.feeds import BANK_HOTLINE
from tests.console.conftest import Console
from tests.public.conftest import client_for, face_over


def test_an_operator_sees_claims_and_closes_a_citizens_report_of_a_campaign(
    fed_sqlite: CaseStore,
) -> None:
    public = client_for(face_over(fed_sqlite))
    token = public.get("/v1/challenge").json()["challenge"]
    filed = public.post(
        "/v1/reports",
        json={
            "number": BANK_HOTLINE,
            "channel": "call",
            "category": "bank_security",
            "text": "служба безопасности, назовите код",
            "callback": "8 701 555 00 01",
            "challenge": token,
            "solution": solve(token),
        },
    )
    assert filed.json()["outcome"] == "queued"
    operator = Console(fed_sqlite, "", make_people(fed_sqlite)).signed_in(Role.OPERATOR)
    queue = operator.client.get("/queue")
    assert queue.status_code == 200
    with fed_sqlite.transaction() as s:
        alert_id = s.execute(select(CitizenReport.alert_id)).scalar_one()
    assert f"/alerts/{alert_id}/claim" in queue.text
    assert "+7 701 555 00 01" in queue.text  # the citizen, to be called back
    assert operator.post(f"/alerts/{alert_id}/claim").status_code in (200, 303)
    page = operator.client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    assert "гражданин сообщил" in page.text and "/C0002" in page.text
    done = operator.post(f"/alerts/{alert_id}/outcome", outcome="warned")
    assert done.status_code in (200, 303)
