"""Who may do what: the roles of an anti-call-center and the one table of their permissions.

Every service function of the case store starts with :func:`authorize`, which
looks the person up again (a role changed or an account disabled takes effect
at the next click, not the next login) and raises
:class:`~qalqan.cases.errors.PermissionDenied` unless :data:`PERMISSIONS`
grants the action. The table is the whole policy: the console hides what a
role cannot do, but the refusal happens here, and a test walks every role
against every action.

The roles follow how the work is split:

- **operator** — works the queue of intercepted calls: claims a call, calls
  the potential victim back with the script, records the outcome, escalates;
- **supervisor** — runs the shift: everything an operator does, plus watching
  the SLA, taking a claim from one operator to give to another, and opening,
  linking and closing cases;
- **prosecutor** — receives escalations and answers them, reads cases and
  their notes, closes cases, checks the audit log, makes a case's evidence
  package for a court or partners abroad (as a supervisor may);
- **analyst** — investigates: farms, campaigns and spoofed waves, linking
  episodes into cases, notes; loads findings and decisions;
- **admin** — keeps the system: users, ingest, the audit log; sees no
  personal data and works no alerts.

The ``SYSTEM`` actor is the command line run by whoever runs the machine
(migrations, ingest, adding the first users); it has the admin's permissions
and its actions are audited under the name ``system``. ``ANONYMOUS`` is who the
log names for a request nobody is signed in to (a console form refused for its
CSRF token); it may do nothing. Neither name can be given to an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sqlalchemy.orm import Session

from qalqan.cases.errors import PermissionDenied
from qalqan.cases.models import User

__all__ = ["ANONYMOUS", "PERMISSIONS", "SYSTEM", "Actor", "Permission", "Role", "authorize", "may"]


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    PROSECUTOR = "prosecutor"
    ANALYST = "analyst"
    ADMIN = "admin"


class Permission(StrEnum):
    """Every action of the service layer, named as the people doing it would say it."""

    VIEW_QUEUE = "view_queue"
    """See the queue of intercepted calls (numbers of potential victims)."""
    VIEW_ALERT = "view_alert"
    """Open an alert: reasons, potential victim, linked numbers, actions so far."""
    VIEW_FINDINGS = "view_findings"
    """List farms, campaigns and spoofed waves."""
    CLAIM_ALERT = "claim_alert"
    RELEASE_ALERT = "release_alert"
    """Give back one's own claim."""
    REASSIGN_ALERT = "reassign_alert"
    """Release someone else's claim (a supervisor moving work between operators)."""
    READ_SCRIPT = "read_script"
    RECORD_OUTCOME = "record_outcome"
    MARK_VULNERABLE = "mark_vulnerable"
    ESCALATE = "escalate"
    VIEW_ESCALATIONS = "view_escalations"
    ANSWER_ESCALATION = "answer_escalation"
    VIEW_SLA = "view_sla"
    OPEN_CASE = "open_case"
    LINK_TO_CASE = "link_to_case"
    SUGGEST_LINKS = "suggest_links"
    VIEW_CASE = "view_case"
    ADD_CASE_NOTE = "add_case_note"
    CLOSE_CASE = "close_case"
    INGEST = "ingest"
    MANAGE_USERS = "manage_users"
    VERIFY_AUDIT = "verify_audit"
    EXPORT_EVIDENCE = "export_evidence"
    """Make a case's signed evidence package for a court or partner police abroad: it holds
    every personal detail of the case (:mod:`qalqan.evidence`)."""


_P = Permission
_OPERATOR: Final = frozenset(
    {
        _P.VIEW_QUEUE,
        _P.VIEW_ALERT,
        _P.CLAIM_ALERT,
        _P.RELEASE_ALERT,
        _P.READ_SCRIPT,
        _P.RECORD_OUTCOME,
        _P.MARK_VULNERABLE,
        _P.ESCALATE,
    }
)

PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.OPERATOR: _OPERATOR,
    Role.SUPERVISOR: _OPERATOR
    | {
        _P.VIEW_FINDINGS,
        _P.REASSIGN_ALERT,
        _P.VIEW_ESCALATIONS,
        _P.VIEW_SLA,
        _P.OPEN_CASE,
        _P.LINK_TO_CASE,
        _P.SUGGEST_LINKS,
        _P.VIEW_CASE,
        _P.ADD_CASE_NOTE,
        _P.CLOSE_CASE,
        _P.EXPORT_EVIDENCE,
    },
    Role.PROSECUTOR: frozenset(
        {
            _P.VIEW_ALERT,
            _P.VIEW_FINDINGS,
            _P.VIEW_ESCALATIONS,
            _P.ANSWER_ESCALATION,
            _P.VIEW_CASE,
            _P.ADD_CASE_NOTE,
            _P.CLOSE_CASE,
            _P.VERIFY_AUDIT,
            _P.EXPORT_EVIDENCE,
        }
    ),
    Role.ANALYST: frozenset(
        {
            _P.VIEW_ALERT,
            _P.VIEW_FINDINGS,
            _P.OPEN_CASE,
            _P.LINK_TO_CASE,
            _P.SUGGEST_LINKS,
            _P.VIEW_CASE,
            _P.ADD_CASE_NOTE,
            _P.ESCALATE,
            _P.INGEST,
        }
    ),
    Role.ADMIN: frozenset({_P.INGEST, _P.MANAGE_USERS, _P.VERIFY_AUDIT}),
}
"""Role → the actions it may take. Anything not listed is refused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """Who is acting: a logged-in user, or the command line (``SYSTEM``)."""

    name: str
    role: Role
    user_id: int | None = None
    """None only for ``SYSTEM`` and ``ANONYMOUS``."""

    def __str__(self) -> str:
        return f"{self.name} ({self.role.value})"


SYSTEM: Final = Actor(name="system", role=Role.ADMIN)
"""The command line, run by whoever runs the machine: admin's permissions, audited as ``system``."""

ANONYMOUS: Final = Actor(name="anonymous", role=Role.OPERATOR)
"""Nobody signed in, as the audit log names them (with the client's address in the details)."""


def may(role: Role, permission: Permission) -> bool:
    """Does the table allow ``role`` to take ``permission``? (For showing or hiding buttons.)"""
    return permission in PERMISSIONS[role]


def authorize(session: Session, actor: Actor, permission: Permission, target: str = "") -> Actor:
    """Refuse unless the actor's *current* role allows the action; return the actor as it is now.

    A user is read again from the database, so a disabled account or a changed
    role takes effect at once. A user that no longer exists, or is disabled,
    may do nothing. ``target`` (``alert:12``) goes into the audit entry of a refusal.
    """
    current = actor
    if actor.user_id is not None:
        user = session.get(User, actor.user_id)
        if user is None or not user.active:
            raise PermissionDenied(
                actor.name,
                actor.role.value,
                permission.value,
                user_id=actor.user_id,
                target=target,
                disabled=True,
            )
        current = Actor(name=user.name, role=Role(user.role), user_id=user.id)
    elif actor != SYSTEM:
        raise PermissionDenied(actor.name, actor.role.value, permission.value, target=target)
    if permission not in PERMISSIONS[current.role]:
        raise PermissionDenied(
            current.name,
            current.role.value,
            permission.value,
            user_id=current.user_id,
            target=target,
        )
    return current
