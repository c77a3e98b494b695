"""The case store of the anti-call-center: alerts, cases, episodes, actions, users, audit log.

The console and the ``qalqan cases`` command are thin adapters over this
package. Every service function takes a SQLAlchemy session and the person
acting, checks the role's permission first (:mod:`qalqan.cases.roles`),
writes an audit entry last (:mod:`qalqan.cases.audit`) and returns plain
data (:mod:`qalqan.cases.views`)::

    store = CaseStore.open("cases.db")            # or a postgresql:// URL
    with store.transaction() as s:
        me = login(s, "aigerim", password)
    with store.transaction() as s:
        first = queue(s, me)[0]
        claim(s, me, first.alert_id)
    with store.transaction() as s:
        script = callback_script(s, me, first.alert_id, "kk")
    with store.transaction() as s:
        record_outcome(s, me, first.alert_id, Outcome.WARNED)

Where things are: :mod:`~qalqan.cases.models` (tables),
:mod:`~qalqan.cases.store` (opening, migrations, transactions),
:mod:`~qalqan.cases.ingest` (decisions and findings in),
:mod:`~qalqan.cases.intercepts` (queue, claims, outcomes, SLA),
:mod:`~qalqan.cases.investigations` (cases, suggestions, notes, escalations),
:mod:`~qalqan.cases.scripts` (call-back scripts), :mod:`~qalqan.cases.users`.
"""

from __future__ import annotations

from qalqan.cases.audit import AuditReport, check_audit, verify_audit
from qalqan.cases.errors import (
    AlreadyClaimedError,
    CaseStoreError,
    LoginError,
    NotFoundError,
    PermissionDenied,
    SessionEndedError,
    StoreUnavailableError,
    WorkflowError,
)
from qalqan.cases.ingest import IngestReport, ingest_decisions, ingest_findings
from qalqan.cases.intercepts import (
    alert_view,
    callback_script,
    claim,
    claims,
    mark_vulnerable,
    my_claims,
    queue,
    reassign,
    record_outcome,
    release,
    sla_report,
    sla_timers,
    workers,
)
from qalqan.cases.investigations import (
    CloseReason,
    add_note,
    add_to_case,
    answer_escalation,
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
from qalqan.cases.models import AlertKind, AlertStatus, EntityKind, Outcome, Severity
from qalqan.cases.reports import file_report, number_record, report_rows
from qalqan.cases.roles import PERMISSIONS, SYSTEM, Actor, Permission, Role, authorize, may
from qalqan.cases.scripts import CallbackScript, Language, render_script
from qalqan.cases.store import CaseStore, WorkflowSettings, upgrade
from qalqan.cases.users import (
    add_user,
    end_sessions,
    list_users,
    login,
    set_password,
    set_role,
    set_user_active,
)
from qalqan.cases.views import Money

__all__ = [
    "PERMISSIONS",
    "SYSTEM",
    "Actor",
    "AlertKind",
    "AlertStatus",
    "AlreadyClaimedError",
    "AuditReport",
    "CallbackScript",
    "CaseStore",
    "CaseStoreError",
    "CloseReason",
    "EntityKind",
    "IngestReport",
    "Language",
    "LoginError",
    "Money",
    "NotFoundError",
    "Outcome",
    "Permission",
    "PermissionDenied",
    "Role",
    "SessionEndedError",
    "Severity",
    "StoreUnavailableError",
    "WorkflowError",
    "WorkflowSettings",
    "add_note",
    "add_to_case",
    "add_user",
    "alert_view",
    "answer_escalation",
    "attach_entity",
    "authorize",
    "callback_script",
    "case_view",
    "check_audit",
    "claim",
    "claims",
    "close_case",
    "end_sessions",
    "escalate",
    "escalations",
    "file_report",
    "findings",
    "ingest_decisions",
    "ingest_findings",
    "list_cases",
    "list_users",
    "login",
    "mark_vulnerable",
    "may",
    "my_claims",
    "number_record",
    "open_case",
    "queue",
    "reassign",
    "record_outcome",
    "release",
    "remove_from_case",
    "render_script",
    "report_rows",
    "set_password",
    "set_role",
    "set_user_active",
    "sla_report",
    "sla_timers",
    "suggest_links",
    "upgrade",
    "verify_audit",
    "workers",
]
