"""What can go wrong in the case store, as one branch of Qalqan's exception tree.

    QalqanError                      (qalqan.errors)
     └── CaseStoreError              the case store refused or could not do something
          ├── StoreUnavailableError       the database cannot be opened or is not migrated
          ├── PermissionDenied            the actor's role does not allow the action
          ├── LoginError                  unknown user, wrong password or disabled account
          ├── SessionEndedError           a console session signed out, expired or ended by an admin
          ├── NotFoundError               no alert, case, user or escalation with that id
          ├── AlreadyClaimedError         another operator holds the claim on the alert
          └── WorkflowError               the action does not fit the state (closed case, …)

Each message is one line an operator or an administrator can act on; the CLI
prints it as it is and the console shows it on the page. Nothing here prints.
"""

from __future__ import annotations

from datetime import datetime

from qalqan.errors import QalqanError

__all__ = [
    "AlreadyClaimedError",
    "CaseStoreError",
    "LoginError",
    "NotFoundError",
    "PermissionDenied",
    "SessionEndedError",
    "StoreUnavailableError",
    "WorkflowError",
]


class CaseStoreError(QalqanError):
    """Base of the case store's errors."""


class StoreUnavailableError(CaseStoreError):
    """The database cannot be reached, or its schema is not the one this Qalqan expects."""


class PermissionDenied(CaseStoreError):  # noqa: N818 (the name every web framework uses)
    """The role of the person acting does not allow this action (or the account is disabled)."""

    def __init__(
        self,
        actor: str,
        role: str,
        action: str,
        *,
        user_id: int | None = None,
        target: str = "",
        disabled: bool = False,
    ) -> None:
        what = action.replace("_", " ")
        if disabled:
            super().__init__(f"{actor}'s account is disabled: not allowed to {what}")
        else:
            super().__init__(f"{actor} ({role}) is not allowed to {what}")
        self.actor = actor
        self.role = role
        self.action = action
        self.user_id = user_id
        self.target = target
        self.disabled = disabled


class LoginError(CaseStoreError):
    """Deliberately vague: never tells whether the name or the password was wrong."""

    def __init__(self) -> None:
        super().__init__("wrong user name or password, or the account is disabled")


class SessionEndedError(CaseStoreError):
    """A console session that no longer signs anyone in; ``reason`` says why.

    ``reason`` is one of ``logout``, ``expired``, ``idle``, ``disabled``,
    ``password``, ``role`` or ``unknown`` (a token the store never issued).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"the console session has ended ({reason}): sign in again")
        self.reason = reason


class NotFoundError(CaseStoreError):
    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"there is no {what} {ident}")
        self.what = what
        self.ident = ident


class AlreadyClaimedError(CaseStoreError):
    """Two operators must never call the same person back at once."""

    def __init__(self, alert_id: int, holder: str, until: datetime | None) -> None:
        when = "" if until is None else f" until {until:%H:%M:%S} UTC"
        super().__init__(f"alert {alert_id} is being worked by {holder}{when}")
        self.alert_id = alert_id
        self.holder = holder
        self.until = until


class WorkflowError(CaseStoreError):
    """The action does not fit where the alert or case stands (closed, not claimed, …).

    The message is English, for logs and the command line. The refusals an
    operator can meet at the console also carry a ``code`` and the ``values``
    that fill it, so that the console can say them in the operator's language.
    """

    def __init__(self, message: str, *, code: str = "", **values: object) -> None:
        super().__init__(message)
        self.code = code
        self.values = {name: str(value) for name, value in values.items()}
