"""The console in-process: sign-in, CSRF, the role matrix, and an intercepted call worked end to end."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from qalqan import cases
from qalqan.cases import escalate, open_case, queue
from qalqan.cases.models import AuditEntry
from qalqan.cases.roles import Permission, Role, may
from qalqan.console.i18n import LANGUAGES, MESSAGES
from tests.cases.conftest import PASSWORD
from tests.console.conftest import (
    CAMPAIGN_HOURS,
    Console,
    ShiftClock,
    csrf_of,
    store_campaign_hours,
)


def _first_in_queue(console: Console) -> int:
    with console.store.transaction() as session:
        return queue(session, console.people.operator)[0].alert_id


def test_signed_out_pages_go_to_login(console: Console) -> None:
    client = console.client()
    for path in ("/", "/queue", "/escalations", "/cases", "/findings", "/alerts/1"):
        page = client.get(path)
        assert page.url.path == "/login", path
        assert "csrf" in page.text
    refresh = client.get("/queue", headers={"HX-Request": "true"}, follow_redirects=False)
    assert (
        refresh.headers["HX-Redirect"] == "/login"
    )  # htmx leaves the page, not a login form in it


def test_wrong_password_is_refused(console: Console) -> None:
    client = console.client()
    token = csrf_of(client.get("/login").text)
    page = client.post("/login", data={"csrf": token, "username": "aigerim", "password": "nope"})
    assert page.status_code == 401
    assert "Неверное имя или пароль" in page.text
    assert client.get("/queue").url.path == "/login"


def test_login_needs_the_csrf_token(console: Console) -> None:
    client = console.client()
    client.get("/login")
    page = client.post("/login", data={"username": "aigerim", "password": PASSWORD})
    assert page.status_code == 403
    assert client.get("/queue").url.path == "/login"


def test_every_post_without_the_token_is_refused(console: Console) -> None:
    operator = console.signed_in(Role.OPERATOR)
    alert_id = _first_in_queue(console)
    for path in (
        f"/alerts/{alert_id}/claim",
        f"/alerts/{alert_id}/release",
        f"/alerts/{alert_id}/outcome",
        f"/alerts/{alert_id}/escalate",
        f"/alerts/{alert_id}/case",
        "/escalations/1/answer",
        "/cases/1/notes",
        "/cases/1/link",
        "/cases/1/close",
        f"/alerts/{alert_id}/reassign",
        "/users/add",
        "/users/change",
        f"/alerts/{alert_id}/vulnerable",
        "/lang",
        "/logout",
    ):
        bare = operator.client.post(path, data={"outcome": "warned", "reason": "x"})
        assert bare.status_code == 403, path
        forged = operator.client.post(path, data={"csrf": "forged", "reason": "x"})
        assert forged.status_code == 403, path
        assert "Форма устарела" in bare.text
    # nothing happened: the call is still first and unclaimed, and the operator still signed in
    assert _first_in_queue(console) == alert_id
    assert operator.client.get("/queue").status_code == 200


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(console: Console, role: Role) -> None:
    """Every route answers 403 exactly when ``may()`` refuses the role its permission."""
    people = console.people
    with console.store.transaction() as session:
        waiting = queue(session, people.operator)
    other_id, spare, in_case = waiting[0].alert_id, waiting[1].alert_id, waiting[-1].alert_id
    with console.store.transaction() as session:
        case = open_case(session, people.supervisor, "Bank-security wave", [in_case])
    with console.store.transaction() as session:
        raised = escalate(session, people.analyst, reason="mule account", case_id=case.id)
    user = console.signed_in(role)
    gets = {
        "/queue": Permission.VIEW_QUEUE,
        "/escalations": Permission.VIEW_ESCALATIONS,
        "/cases": Permission.VIEW_CASE,
        f"/cases/{case.id}": Permission.VIEW_CASE,
        "/findings": Permission.VIEW_FINDINGS,
        "/dashboard": Permission.VIEW_SLA,
        "/users": Permission.MANAGE_USERS,
        f"/alerts/{other_id}": Permission.VIEW_ALERT,
    }
    for path, permission in gets.items():
        page = user.client.get(path)
        expected = 200 if may(role, permission) else 403
        assert page.status_code == expected, (role, path, page.status_code)
        if expected == 403:
            assert "Нет доступа" in page.text
    posts = {
        f"/alerts/{other_id}/claim": (Permission.CLAIM_ALERT, {}),
        f"/alerts/{other_id}/escalate": (Permission.ESCALATE, {"reason": "urgent"}),
        f"/alerts/{other_id}/case": (Permission.OPEN_CASE, {"title": "New"}),
        f"/escalations/{raised.id}/answer": (
            Permission.ANSWER_ESCALATION,
            {"decision": "accept", "response": "taken up"},
        ),
        f"/cases/{case.id}/notes": (Permission.ADD_CASE_NOTE, {"text": "seen"}),
        f"/cases/{case.id}/link": (Permission.LINK_TO_CASE, {"alert_id": str(spare)}),
        f"/alerts/{other_id}/vulnerable": (Permission.MARK_VULNERABLE, {}),
        f"/alerts/{spare}/reassign": (
            Permission.REASSIGN_ALERT,
            {"to": str(people.operator2.user_id)},
        ),
        f"/cases/{case.id}/close": (Permission.CLOSE_CASE, {"reason": "referred"}),
        "/users/add": (
            Permission.MANAGE_USERS,
            {"username": f"new-{role.value}", "role": "analyst"},
        ),
        "/users/change": (Permission.MANAGE_USERS, {"username": "daniyar", "what": "enable"}),
    }
    for path, (permission, data) in posts.items():
        answer = user.post(path, **data)
        assert (answer.status_code == 403) == (not may(role, permission)), (role, path)
        assert answer.status_code in (200, 403), (role, path, answer.status_code)


def test_home_is_the_roles_first_page(console: Console) -> None:
    for role, home in (
        (Role.OPERATOR, "/queue"),
        (Role.SUPERVISOR, "/queue"),
        (Role.PROSECUTOR, "/escalations"),
        (Role.ANALYST, "/cases"),
        (Role.ADMIN, "/users"),
    ):
        assert console.signed_in(role).client.get("/").url.path == home, role


def test_an_intercepted_call_from_queue_to_outcome_to_prosecutor(console: Console) -> None:
    operator = console.signed_in(Role.OPERATOR)
    page = operator.client.get("/queue")
    alert_id = int(re.findall(r"/alerts/(\d+)/claim", page.text)[0])
    assert alert_id == _first_in_queue(console)  # the library's order, unchanged

    page = operator.post(f"/alerts/{alert_id}/claim")
    assert page.url.path == f"/alerts/{alert_id}"
    assert "Что сказать" in page.text  # the call-back script, in Russian by default
    assert "дозвониться до" in page.text and "звонок за вами до" in page.text  # the clock
    assert "прокуратурой" in page.text

    # another operator clicking the same call is told who has it
    other = console.signed_in(Role.OPERATOR, "bolat")
    taken = other.post(f"/alerts/{alert_id}/claim")
    assert taken.url.path == "/queue"
    assert "aigerim" in taken.text

    page = operator.post(
        f"/alerts/{alert_id}/outcome", outcome="warned", prevented="150 000", note="warned her"
    )
    assert "Результат сохранён" in page.text
    assert "Дозвонился и предупредил" in page.text
    assert "Следующий звонок" in page.text
    assert "/outcome" not in page.text and "Что сказать" not in page.text  # no second outcome
    assert f"/alerts/{alert_id}/claim" not in operator.client.get("/queue").text

    page = operator.post(f"/alerts/{alert_id}/escalate", reason="she named a mule account")
    assert "Передано прокурору" in page.text

    prosecutor = console.signed_in(Role.PROSECUTOR)
    page = prosecutor.client.get("/escalations")
    assert "she named a mule account" in page.text
    assert f"/alerts/{alert_id}" in page.text
    escalation_id = re.findall(r"/escalations/(\d+)/answer", page.text)[0]
    page = prosecutor.post(
        f"/escalations/{escalation_id}/answer", decision="accept", response="case opened"
    )
    assert "Ответ сохранён" in page.text
    assert "принято" in page.text
    # the prosecutor may read the alert, but gets no claim or outcome buttons
    page = prosecutor.client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    assert "/outcome" not in page.text and "/claim" not in page.text


def test_overdue_calls_are_highlighted(console: Console, clock: ShiftClock) -> None:
    operator = console.signed_in(Role.OPERATOR)
    page = operator.client.get("/queue")
    assert "ПРОСРОЧЕНО" not in page.text
    clock.ahead = timedelta(minutes=6)  # past the 5-minute claim deadline
    page = operator.client.get("/queue", headers={"HX-Request": "true"})  # the htmx refresh
    assert "<html" not in page.text  # rows only
    assert page.text.count("ПРОСРОЧЕНО") == page.text.count("/claim") > 0
    assert f"просрочено: {page.text.count('/claim')}" in page.text
    assert 'class="item overdue' in page.text


def test_dashboard_counts_the_days_work(console: Console) -> None:
    operator = console.signed_in(Role.OPERATOR)
    alert_id = _first_in_queue(console)
    operator.post(f"/alerts/{alert_id}/claim")
    operator.post(f"/alerts/{alert_id}/outcome", outcome="warned", prevented="250000")
    page = console.signed_in(Role.SUPERVISOR).client.get("/dashboard")
    assert page.status_code == 200
    assert "250 000 KZT" in page.text
    data = re.search(r'id="chart-data">(.*?)</script>', page.text, re.S)
    assert data
    chart = json.loads(data.group(1))
    assert chart["outcomes"] == [{"name": "Дозвонился и предупредил", "value": 1}]
    assert sum(chart["intercepted"]) == 12 and sum(chart["worked"]) == 1
    assert "/static/vendor/echarts.min.js" in page.text
    tiles = dict(
        (label, value)
        for value, label in re.findall(
            r'<span class="value">([^<]*)</span><span class="label">([^<]*)</span>', page.text
        )
    )
    assert tiles["Предупреждены (дозвонились и предупредили)"] == "1"
    assert tiles["Перехвачено за 14 дн."] == "12"


def test_bad_amount_is_explained_not_crashed(console: Console) -> None:
    operator = console.signed_in(Role.OPERATOR)
    alert_id = _first_in_queue(console)
    operator.post(f"/alerts/{alert_id}/claim")
    page = operator.post(f"/alerts/{alert_id}/outcome", outcome="warned", prevented="lots")
    assert page.status_code == 200
    assert "Сумма должна быть числом" in page.text


def test_refusals_an_operator_meets_are_said_in_their_language(console: Console) -> None:
    operator = console.signed_in(Role.OPERATOR)
    alert_id = _first_in_queue(console)
    operator.post(f"/alerts/{alert_id}/claim")
    page = operator.post(
        f"/alerts/{alert_id}/outcome", outcome="already_paid", suffered="5000", paid_to="Kaspi 77"
    )
    assert page.status_code == 409
    assert "«Kaspi 77» — не счёт. Пишите так: bank:KZ…" in page.text
    operator.post(f"/alerts/{alert_id}/outcome", outcome="warned")
    again = operator.post(f"/alerts/{alert_id}/outcome", outcome="warned")  # a second tab
    assert again.status_code == 409
    assert "По этому звонку уже записан результат: Дозвонился и предупредил." in again.text
    operator.post("/lang", lang="kk", next="/queue")
    again = operator.post(f"/alerts/{alert_id}/release")
    assert "Бұл қоңырауды қазір ешкім ұстап тұрған жоқ" in again.text


def test_language_switch_translates_the_page_and_the_script(console: Console) -> None:
    operator = console.signed_in(Role.OPERATOR)
    alert_id = _first_in_queue(console)
    operator.post(f"/alerts/{alert_id}/claim")
    page = operator.post("/lang", lang="kk", next=f"/alerts/{alert_id}")
    assert page.url.path == f"/alerts/{alert_id}"
    assert "Не айту керек" in page.text
    assert "прокуратурамен" in page.text
    for elsewhere in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        page = operator.post("/lang", lang="en", next=elsewhere)
        assert page.url.host == "testserver" and page.url.path == "/queue", elsewhere
    assert "Intercepted calls" in page.text
    page = operator.post(f"/alerts/{alert_id}/release", next="/\\evil.example/")
    assert page.url.host == "testserver" and page.url.path == "/queue"  # the default


def test_logout_ends_the_session(console: Console) -> None:
    operator = console.signed_in(Role.OPERATOR)
    assert operator.post("/logout").url.path == "/login"
    assert operator.client.get("/queue").url.path == "/login"


def test_case_page_shows_timeline_and_takes_notes(console: Console) -> None:
    alert_id = _first_in_queue(console)
    supervisor = console.signed_in(Role.SUPERVISOR)
    page = supervisor.post(f"/alerts/{alert_id}/case", title="Bank-security wave")
    assert re.search(r"/cases/\d+$", str(page.url))
    assert "Хронология" in page.text
    page = supervisor.client.post(
        f"{page.url.path}/notes", data={"csrf": supervisor.csrf, "text": "same mule account"}
    )
    assert "same mule account" in page.text
    assert "Похожие эпизоды" in page.text  # the same farm SIMs called others
    suggested = re.search(r'name="alert_id" value="(\d+)"', page.text)
    assert suggested
    page = supervisor.client.post(
        f"{page.url.path}/link", data={"csrf": supervisor.csrf, "alert_id": suggested.group(1)}
    )
    assert f'href="/alerts/{suggested.group(1)}">Звонок №' in page.text  # now an episode
    findings = supervisor.client.get("/findings")
    assert "SIM-ферма" in findings.text
    farm = re.search(r'href="/alerts/(\d+)">SIM-карт: 3, аппаратов: 3', findings.text)
    assert farm
    page = supervisor.client.get(f"/alerts/{farm.group(1)}")
    assert "широта" in page.text and "43.25" in page.text  # the finding's own details


def test_a_supervisor_takes_a_call_from_one_operator_and_hands_it_to_another(
    console: Console,
) -> None:
    alert_id = _first_in_queue(console)
    aigerim = console.signed_in(Role.OPERATOR)
    aigerim.post(f"/alerts/{alert_id}/claim")
    bolat = console.signed_in(Role.OPERATOR, "bolat")
    page = bolat.client.get(f"/alerts/{alert_id}")
    assert "aigerim" in page.text
    assert f"/alerts/{alert_id}/release" not in page.text  # not his to give back
    assert "/reassign" not in bolat.client.get("/queue").text  # operators see no floor

    supervisor = console.signed_in(Role.SUPERVISOR)
    floor = supervisor.client.get("/queue")
    assert "Сейчас в работе" in floor.text
    held = floor.text.split("Сейчас в работе")[1].split("Перехваченные звонки")[0]
    assert f'href="/alerts/{alert_id}"' in held and "aigerim" in held
    assert "bolat (в работе: 0)" in held
    page = supervisor.post(
        f"/alerts/{alert_id}/reassign",
        to=str(console.people.operator2.user_id),
        note="speaks Kazakh",
        next="/queue",
    )
    assert page.url.path == "/queue"
    assert "Звонок передан: bolat." in page.text
    # bolat now holds it and works it; the history says who handed it over
    page = bolat.client.get(f"/alerts/{alert_id}")
    assert "/outcome" in page.text
    assert "передал(а) звонок — aigerim → bolat: speaks Kazakh" in page.text
    page = supervisor.post(f"/alerts/{alert_id}/release", next=f"/alerts/{alert_id}")
    assert page.url.path == f"/alerts/{alert_id}"
    assert "/outcome" not in bolat.client.get(f"/alerts/{alert_id}").text
    page = supervisor.post(f"/alerts/{alert_id}/reassign", to="")
    assert "Выберите, кому передать." in page.text


def test_a_case_is_closed_with_a_reason_and_its_timeline_speaks_the_readers_language(
    console: Console,
) -> None:
    alert_id = _first_in_queue(console)
    supervisor = console.signed_in(Role.SUPERVISOR)
    page = supervisor.post(f"/alerts/{alert_id}/case", title="Bank-security wave")
    case_path = page.url.path
    assert "Дело открыто: Bank-security wave" in page.text
    assert "Перехвачен звонок с номера" in page.text
    assert "case opened" not in page.text and "intercepted (" not in page.text  # no English left
    page = supervisor.post(f"{case_path}/close", reason="")
    assert "Выберите причину закрытия." in page.text and "/close" in page.text
    page = supervisor.post(f"{case_path}/close", reason="referred", note="police took it over")
    assert "Дело закрыто." in page.text
    assert "Дело закрыто: передано в полицию / прокуратуру" in page.text
    assert "police took it over" in page.text
    assert f'action="{case_path}/close"' not in page.text and "/notes" not in page.text
    supervisor.post("/lang", lang="kk", next=case_path)
    page = supervisor.client.get(case_path)
    assert "Іс жабылды: полицияға / прокуратураға берілді" in page.text
    supervisor.post("/lang", lang="en", next=case_path)
    page = supervisor.client.get(case_path)
    assert "Case closed: referred to police / prosecutors" in page.text


def test_the_prosecutor_reads_what_an_escalation_is_about(console: Console) -> None:
    alert_id = _first_in_queue(console)
    operator = console.signed_in(Role.OPERATOR)
    operator.post(f"/alerts/{alert_id}/claim")
    operator.post(f"/alerts/{alert_id}/outcome", outcome="already_paid", suffered="250000")
    operator.post(f"/alerts/{alert_id}/escalate", reason="paid a safe account")
    with console.store.transaction() as session:
        view = cases.alert_view(session, console.people.operator, alert_id)
    assert view.victim is not None
    prosecutor = console.signed_in(Role.PROSECUTOR)
    page = prosecutor.client.get("/escalations")
    card = page.text.split("paid a safe account")[1]
    assert "Ждут ответа: 1" in page.text
    digits = view.victim.msisdn[2:]
    assert f"+7 {digits[:3]} {digits[3:6]}" in card  # the victim's number, read in groups
    assert "Уже заплатил(а) мошенникам" in card
    assert "250 000 KZT" in card


def test_reasons_are_said_in_the_operators_language(console: Console) -> None:
    with console.store.transaction() as session:
        farm_call = next(
            i for i in queue(session, console.people.operator, limit=100) if i.action == "block"
        )
    imei = farm_call.reasons[0].split("IMEI ")[1].split(" ")[0]
    operator = console.signed_in(Role.OPERATOR)
    page = operator.client.get(f"/alerts/{farm_call.alert_id}")
    assert f"аппарат IMEI {imei}: разных SIM-карт за 24 ч — 3" in page.text
    assert "carried" not in page.text
    operator.post("/lang", lang="kk", next="/queue")
    page = operator.client.get(f"/alerts/{farm_call.alert_id}")
    assert f"IMEI {imei} құрылғысы: 24 сағ ішіндегі әртүрлі SIM-карта саны — 3" in page.text
    operator.post("/lang", lang="en", next="/queue")
    page = operator.client.get(f"/alerts/{farm_call.alert_id}")
    assert f"IMEI {imei} carried 3 different SIMs in 24h" in page.text


def test_an_admin_manages_accounts_from_the_console(console: Console) -> None:
    admin = console.signed_in(Role.ADMIN)
    page = admin.post("/users/add", username="gulnara", role="operator")
    shown = re.search(r'<p class="phone password">([^<]+)</p>', page.text)
    assert shown and "Пароль для gulnara" in page.text
    password = shown.group(1)
    assert password not in admin.client.get("/users").text  # shown once only
    assert password not in str(admin.client.cookies)
    gulnara = console.client()
    form = gulnara.get("/login")
    signed = gulnara.post(
        "/login",
        data={"csrf": csrf_of(form.text), "username": "gulnara", "password": password},
    )
    assert signed.url.path == "/queue"
    page = admin.post("/users/add", username="gulnara", role="analyst")
    assert page.status_code == 409 and "Пользователь gulnara уже есть" in page.text
    page = admin.post("/users/add", username="Gulnara", role="analyst")  # names have no case
    assert page.status_code == 409 and "Пользователь gulnara уже есть" in page.text
    admin.post("/users/add", username="ace", role="operator")
    page = admin.post("/users/add", username="АСЕ", role="operator")  # Cyrillic А, С, Е
    assert page.status_code == 409
    assert "Имя АСЕ читается как имя пользователя ace" in page.text
    page = admin.post("/users/change", username="gulnara", what="role", role="supervisor")
    assert "Сохранено: gulnara." in page.text
    # a changed role ends the account's sessions: signed in again, a supervisor's menu
    assert gulnara.get("/queue").url.path == "/login"
    signed = gulnara.post(
        "/login",
        data={
            "csrf": csrf_of(gulnara.get("/login").text),
            "username": "gulnara",
            "password": password,
        },
    )
    assert "/escalations" in signed.text
    admin.post("/users/change", username="gulnara", what="disable")
    assert gulnara.get("/queue").url.path == "/login"  # a disabled account can do nothing
    page = admin.post("/users/change", username="admin", what="disable")
    assert page.status_code == 409 and "Свою учётную запись нельзя отключить" in page.text
    page = admin.post("/users/change", username="gulnara", what="password")
    fresh = re.search(r'<p class="phone password">([^<]+)</p>', page.text)
    assert fresh and fresh.group(1) != password
    with console.store.transaction() as session:
        done = [
            e.action
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
            if e.target == "user:gulnara"
        ]
    assert [a for a in done if a != "login"] == [
        "add_user",
        "set_role",
        "disable_user",
        "set_password",
    ]


def test_every_message_is_in_every_language() -> None:
    for key, entry in MESSAGES.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[lang].strip() for lang in LANGUAGES), key


def test_template_keys_exist() -> None:
    """Every literal ``t("key")`` in the templates has a catalogue entry."""
    from pathlib import Path

    import qalqan.console

    folder = Path(qalqan.console.__file__).parent / "templates"
    for template in folder.glob("*.html"):
        for key in re.findall(
            r'(?<![\w.])t\("([a-z_]+)"\s*[,)]', template.read_text(encoding="utf-8")
        ):
            assert key in MESSAGES, (template.name, key)


def test_every_rule_family_and_finding_detail_has_words(console: Console) -> None:
    """A reason's rule family heads it, and a finding's details are listed, in the reader's words."""
    from sqlalchemy import select

    from qalqan.cases.models import Alert
    from qalqan.domain.messages import MESSAGES as SAID

    # screening's keys are named after their rules; the store's own findings have no rule, and
    # the analysis' keys (analysis.*) are said by rules of these families
    families = {key.split(".")[0] for key in SAID} - {"finding", "analysis"}
    families |= {"simbox", "simfarm", "model", "fraud_call"}
    assert {f for f in families if "rule_" + f not in MESSAGES} == set()
    with console.store.transaction() as session:
        stored = session.scalars(select(Alert.details).where(Alert.kind != "intercepted_call"))
        keys = {key for raw in stored for key in json.loads(raw)}
    assert {"n_sims", "n_calls", "rule", "day", "group", "numbers"} <= keys
    assert {k for k in keys if "detail_" + k not in MESSAGES} == set()


def test_every_value_the_library_can_return_has_words() -> None:
    """Severities, schemes, outcomes, kinds, statuses and roles are shown translated."""
    from qalqan.cases.models import (
        AlertKind,
        AlertStatus,
        CaseStatus,
        EntityKind,
        EscalationStatus,
        Outcome,
        Severity,
    )
    from qalqan.domain.model import ReportCategory

    for prefix, enum in (
        ("sev_", Severity),
        ("cat_", ReportCategory),
        ("out_", Outcome),
        ("kind_", AlertKind),
        ("st_", AlertStatus),
        ("st_", CaseStatus),
        ("st_", EscalationStatus),
        ("role_", Role),
        ("ent_", EntityKind),
    ):
        for member in enum:
            assert prefix + member.value in MESSAGES, (prefix, member)


def test_pages_carry_security_headers(console: Console) -> None:
    page = console.client().get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text  # no inline code for the policy to have to allow


def test_not_reachable_puts_the_call_back_in_the_queue(console: Console) -> None:
    operator = console.signed_in(Role.OPERATOR)
    alert_id = _first_in_queue(console)
    operator.post(f"/alerts/{alert_id}/claim")
    page = operator.post(f"/alerts/{alert_id}/outcome", outcome="not_reachable")
    assert "Взять в работу" in page.text  # the next step is to try again
    assert f"/alerts/{alert_id}/claim" in operator.client.get("/queue").text


# -- the farm map and a campaign's hours


def _findings_of(console: Console) -> list[cases.FindingSummary]:
    with console.store.transaction() as session:
        return cases.findings(session, console.people.analyst)


@pytest.mark.parametrize("role", list(Role))
def test_farm_map_is_shown_to_those_who_may_see_findings(console: Console, role: Role) -> None:
    page = console.signed_in(role).client.get("/findings")
    if not may(role, Permission.VIEW_FINDINGS):
        assert page.status_code == 403
        assert "farm-map" not in page.text
        return
    assert page.status_code == 200
    assert 'id="farm-map"' in page.text
    assert "/static/findings_map.js" in page.text
    assert 'Фермы на карте — <span class="map-country">Казахстан</span>' in page.text


def test_farm_map_data_matches_the_store(console: Console) -> None:
    farms = [f for f in _findings_of(console) if f.kind == "sim_farm"]
    assert farms, "the feed has a farm"
    page = console.signed_in(Role.ANALYST).client.get("/findings")
    found = re.search(
        r'<script type="application/json" id="map-data">(.*?)</script>', page.text, re.S
    )
    assert found
    data = json.loads(found.group(1))
    assert data["outline"]["features"][0]["geometry"]["type"] == "Polygon"
    assert [(p["name"], p["value"], p["alert_id"]) for p in data["farms"]] == [
        (f.source_ref, [f.details["lon"], f.details["lat"], f.details["n_sims"]], f.alert_id)
        for f in farms
    ]
    assert {c["name"] for c in data["cities"]} >= {"Алматы", "Астана"}
    # each farm also in a plain table, for those who cannot use the map
    for f in farms:
        assert f'<a href="/alerts/{f.alert_id}">{f.source_ref}</a>' in page.text


def test_the_outline_is_shipped_and_lies_around_the_farms(console: Console) -> None:
    from qalqan.console.maps import outline

    ring = outline("KZ")["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) > 50
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert 46 < min(lons) < 47.5 and 87 < max(lons) < 88  # Kazakhstan: ~46.5°E to ~87.3°E
    assert 40 < min(lats) < 41 and 55 < max(lats) < 56  # ~40.6°N to ~55.4°N
    for f in _findings_of(console):
        if f.kind == "sim_farm":
            assert min(lons) < f.details["lon"] < max(lons)
            assert min(lats) < f.details["lat"] < max(lats)
    static = console.signed_in(Role.ANALYST).client.get("/static/kz.geo.json")
    assert static.status_code == 200 and static.json()["type"] == "FeatureCollection"


@pytest.mark.parametrize("role", list(Role))
def test_campaign_page_shows_hours_and_offset(console: Console, role: Role) -> None:
    alert_id = store_campaign_hours(console.store)
    page = console.signed_in(role).client.get(f"/alerts/{alert_id}")
    if not may(role, Permission.VIEW_ALERT):
        assert page.status_code == 403
        return
    assert page.status_code == 200
    assert "Работает по UTC+8: рабочий день 09–18 по местному времени" in page.text
    found = re.search(
        r'<script type="application/json" id="campaign-data">(.*?)</script>', page.text, re.S
    )
    assert found
    data = json.loads(found.group(1))
    assert data["calls"] == list(CAMPAIGN_HOURS)
    assert data["hours"][0] == "00" and len(data["hours"]) == 24


def test_campaign_offset_in_english_and_without_hours(console: Console) -> None:
    without = [f for f in _findings_of(console) if f.kind == "campaign"]
    alert_id = store_campaign_hours(console.store)
    user = console.signed_in(Role.ANALYST)
    user.post("/lang", lang="en", next="/")
    page = user.client.get(f"/alerts/{alert_id}")
    assert "Works UTC+8, office day 09–18 local" in page.text
    other = next(f for f in without if f.alert_id != alert_id)  # the feed stores no hours
    page = user.client.get(f"/alerts/{other.alert_id}")
    assert f"Works UTC+{other.details['utc_offset_h']:g} (estimated" in page.text
    assert "Hourly activity was not stored" in page.text
    assert 'id="campaign-data"' not in page.text


def test_office_day_and_offset_text() -> None:
    from qalqan.console.maps import office_day, offset_text

    assert office_day(list(CAMPAIGN_HOURS), 8.0) == (9, 17)
    assert office_day([0] * 24, 3.0) is None
    assert office_day(list(CAMPAIGN_HOURS), None) is None
    night = [0] * 24
    night[22], night[23], night[0] = 5, 5, 5  # a day that crosses midnight UTC
    assert office_day(night, 5.0) == (3, 5)
    assert offset_text(3.0) == "UTC+3"
    assert offset_text(5.5) == "UTC+5:30"
    assert offset_text(-4.0) == "UTC−4"


# -- the dashboard's traffic mix and trend


def test_dashboard_traffic_mix_matches_the_store(console: Console) -> None:
    from collections import Counter

    from qalqan.cases.dashboard import caller_id_type

    with console.store.transaction() as session:
        waiting = queue(session, console.people.supervisor, limit=1000)
        views = [cases.alert_view(session, console.people.supervisor, q.alert_id) for q in waiting]
    routes = Counter(v.details["ingress"].partition(":")[0] for v in views)
    kinds = Counter(
        caller_id_type(
            v.caller, {s.rule for s in v.said}, any(e.relation == "caller_sim" for e in v.entities)
        )
        for v in views
    )
    page = console.signed_in(Role.SUPERVISOR).client.get("/dashboard")
    assert page.status_code == 200
    for words in ("Перехваченные звонки по маршруту", "По типу номера звонящего"):
        assert words in page.text
    data = re.search(r'id="chart-data">(.*?)</script>', page.text, re.S)
    assert data
    chart = json.loads(data.group(1))
    names = {"mobile": "мобильная сеть (наш абонент)", "international": "международный шлюз"}
    assert {r["name"]: r["value"] for r in chart["routes"]} == {
        names.get(r, r): n for r, n in routes.items()
    }
    assert sum(c["value"] for c in chart["caller_ids"]) == len(views)
    cid = {c: MESSAGES["cid_" + c]["ru"] for c in kinds}
    assert {c["name"]: c["value"] for c in chart["caller_ids"]} == {
        cid[c]: n for c, n in kinds.items()
    }
    # the trend: per route and day, adding up to the calls per day
    per_day = [sum(day) for day in zip(*(t["data"] for t in chart["trend"]), strict=True)]
    assert per_day == chart["intercepted"]


def test_caller_id_types() -> None:
    from qalqan.cases.dashboard import CALLER_ID_TYPES, caller_id_type

    assert caller_id_type(None, [], False) == "withheld"
    assert caller_id_type("+77272707000", ["spoofed_cli.registry_wrong_route"], False) == (
        "protected"
    )
    assert caller_id_type("+77010000001", [], True) == "ours"
    assert caller_id_type("+77010000001", ["spoofed_cli.own_subscriber_at_home"], False) == "ours"
    assert caller_id_type("+77010000001", [], False, "KZ") == "domestic"
    assert caller_id_type("+447700900123", [], False, "KZ") == "foreign"
    # domestic is the operator's country by the numbering plan, not "+7"
    assert caller_id_type("+994501234567", [], False, "AZ") == "domestic"
    assert caller_id_type("+77010000001", [], False, "AZ") == "foreign"
    assert caller_id_type("+79031234567", [], False, "KZ") == "foreign"  # Russia shares +7
    assert caller_id_type("+77010000001", [], False, None) == "foreign"  # country unknown
    for kind in CALLER_ID_TYPES:
        assert set(MESSAGES["cid_" + kind]) == set(LANGUAGES)
