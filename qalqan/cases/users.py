"""People who use the case store: accounts, roles and logging in.

Passwords are kept only as Argon2id hashes (``argon2-cffi`` with its default,
memory-hard parameters); an old hash is upgraded at the next login when the
parameters change. A failed login says the same thing whether the name or the
password was wrong, takes as long either way (an unknown name is checked
against a stand-in hash made by the same hasher, :func:`dummy_hash`), and is
audited.

An account's name is what the audit log says for it, so a name must not be
mistaken for another: names the log uses for itself (``system``,
``anonymous``) are refused, and so are names that mix scripts (``аdmin`` with
a Cyrillic ``а`` reads as ``admin``) or hold invisible or control characters.
Names are one account's whatever their case: a name whose fold
(:func:`name_key`: NFKC, then casefold) is an existing account's is taken
(``Admin`` next to ``admin``), and so is a name that reads as an existing one
once the Cyrillic and Greek letters that look Latin are read as Latin
(:func:`skeleton`: ``асе`` in Cyrillic next to ``ace``). Sign-in finds an
account by its fold, so an operator may type their name in any case.

The store keeps its unique index on the exact name, and the fold is checked
here, when an account is made (on PostgreSQL under a table lock, so that two
admins cannot make ``Admin`` and ``admin`` in the same instant). A store made
before holds perhaps two names with one fold: both keep working, each signed
in by its exact name; the fold alone then signs in neither.
Resetting a password, changing a role or disabling an account ends the
account's console sessions (:mod:`qalqan.cases.sessions`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from qalqan.cases import audit
from qalqan.cases.errors import LoginError, NotFoundError, WorkflowError
from qalqan.cases.models import ConsoleSession, User
from qalqan.cases.roles import ANONYMOUS, SYSTEM, Actor, Permission, Role, authorize
from qalqan.cases.sessions import end_sessions_of
from qalqan.cases.store import clock_of

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "RESERVED_NAMES",
    "UserView",
    "actor_named",
    "add_user",
    "check_name",
    "dummy_hash",
    "end_sessions",
    "list_users",
    "login",
    "name_key",
    "set_password",
    "set_role",
    "set_user_active",
    "skeleton",
]

MIN_PASSWORD_LENGTH: Final = 10

RESERVED_NAMES: Final = frozenset({SYSTEM.name, ANONYMOUS.name})
"""Names the audit log uses for itself: no account may carry one."""

_hasher = PasswordHasher()
_dummies: dict[int, str] = {}


def dummy_hash() -> str:
    """A hash nobody's password matches, made by the hasher in use (so at its cost).

    Checked against when the name is unknown, so that a wrong name takes as
    long as a wrong password and the timing does not tell which names exist.
    """
    made = _dummies.get(id(_hasher))
    if made is None:
        made = _dummies[id(_hasher)] = _hasher.hash("not a password anyone has")
    return made


_LOOKS_LATIN: Final = str.maketrans(
    {
        # Cyrillic, after casefold: the lower-case letter stands for both cases, so в, к, м,
        # н and т are here for В, К, М, Н, Т
        "а": "a", "в": "b", "е": "e", "ё": "ë", "з": "3", "і": "i", "ї": "ï", "ј": "j",
        "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y",
        "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ү": "y", "ӏ": "l",
        "ɡ": "g",
        # Greek, after casefold (Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ, and the small letters that
        # look Latin)
        "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "h", "ι": "i", "κ": "k", "μ": "m",
        "ν": "n", "ο": "o", "ρ": "p", "τ": "t", "υ": "y", "χ": "x", "ϲ": "c", "ϳ": "j",
    }
)  # fmt: skip
"""Cyrillic and Greek letters that read as a Latin one, to that Latin letter."""


def name_key(name: str) -> str:
    """The name as compared for uniqueness and sign-in: NFKC, casefolded (``ＡＤＭＩＮ`` → ``admin``)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name.strip()).casefold())


def skeleton(name: str) -> str:
    """What the name reads as: its :func:`name_key` with look-alike Cyrillic and Greek letters
    read as Latin (``АСЕ`` → ``ace``). Two names with one skeleton cannot both be accounts."""
    return name_key(name).translate(_LOOKS_LATIN)


def _script(char: str) -> str:
    """A letter's script from its Unicode name (``CYRILLIC SMALL LETTER A`` → ``CYRILLIC``)."""
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def check_name(name: str) -> str:
    """The name an account may carry (stripped), or :class:`WorkflowError` saying why not.

    One to 64 characters; not a name the audit log uses for itself; no
    control, invisible, combining or unusual space characters (after NFC); and every letter from one
    script (Latin, Cyrillic, …: digits and punctuation go with any), so that
    no name can pass for another in the audit log.
    """
    name = unicodedata.normalize("NFC", name.strip())
    if not name or len(name) > 64:
        raise WorkflowError("a user name needs 1 to 64 characters", code="user_name_length")
    if unicodedata.normalize("NFKC", name).casefold() in RESERVED_NAMES:
        raise WorkflowError(
            f"the name {name} is reserved for the audit log", code="user_name_reserved", name=name
        )
    for char in name:
        category = unicodedata.category(char)
        invisible = category[0] in "CZ" or category in ("Mn", "Me")  # controls, spaces, marks
        if invisible and char != " ":
            raise WorkflowError(
                f"a user name cannot hold the character U+{ord(char):04X}",
                code="user_name_character",
                name=name,
            )
    scripts = {_script(c) for c in name if c.isalpha()}
    if len(scripts) > 1:
        raise WorkflowError(
            f"the name {name} mixes scripts ({', '.join(sorted(scripts)).lower()}): "
            "write it in one alphabet",
            code="user_name_mixed",
            name=name,
        )
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class UserView:
    id: int
    name: str
    role: Role
    active: bool
    sessions: int = 0
    """Console sessions open now (not ended, not past their end; an idle one counts until used)."""


def _view(user: User, sessions: int = 0) -> UserView:
    return UserView(
        id=user.id, name=user.name, role=Role(user.role), active=user.active, sessions=sessions
    )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WorkflowError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def _account_id(session: Session, name: str) -> int | None:
    """The account signed in as ``name``: the one of that exact name, else the only one whose
    :func:`name_key` is the name's (two of them, from an older store, choose neither)."""
    exact = session.scalar(select(User.id).where(User.name == name))
    if exact is not None:
        return exact
    key = name_key(name)
    folded = [id_ for id_, other in session.execute(select(User.id, User.name))
              if name_key(other) == key]  # fmt: skip
    return folded[0] if len(folded) == 1 else None


def _user_named(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFoundError("user", name)
    return user


def _not_taken(session: Session, name: str) -> None:
    """Refuse ``name`` when an account's name folds or reads as it (see the module's docstring)."""
    if session.get_bind().dialect.name == "postgresql":  # one account made at a time
        session.execute(text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
    key, looks = name_key(name), skeleton(name)
    for (other,) in session.execute(select(User.name)):
        if name_key(other) == key:
            raise WorkflowError(
                f"there is already a user named {other}", code="user_exists", name=name,
                existing=other,
            )  # fmt: skip
        if skeleton(other) == looks:
            raise WorkflowError(
                f"the name {name} reads as the existing user {other}: choose another",
                code="user_name_lookalike", name=name, existing=other,
            )  # fmt: skip


def _not_oneself(actor: Actor, user: User) -> None:
    """An admin does not disable or demote their own account: another admin does it, so that
    the last admin cannot lock everyone out of account management."""
    if actor.user_id is not None and actor.user_id == user.id:
        raise WorkflowError(
            f"{user.name} cannot disable or change the role of their own account",
            code="own_account",
        )


def add_user(session: Session, actor: Actor, *, name: str, role: Role, password: str) -> UserView:
    """Create an account. Permission: ``manage_users``."""
    actor = authorize(session, actor, Permission.MANAGE_USERS, f"user:{name}")
    name = check_name(name)
    _check_password(password)
    _not_taken(session, name)
    now = clock_of(session)
    user = User(
        name=name,
        role=Role(role).value,
        password_hash=_hasher.hash(password),
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.append(session, actor, "add_user", f"user:{name}", at=now, details={"role": user.role})
    return _view(user)


def login(session: Session, name: str, password: str, *, client: str = "") -> Actor:
    """Check a name (in any case: :func:`name_key`) and password; return who is acting, under
    the account's own name. Every attempt is audited (with ``client``, the address it came
    from, when there is one).

    The password is checked outside any transaction: the stored hash is read and
    the session committed first, so that a slow Argon2 check (or a flood of
    them) never holds the store's write lock, which SQLite's ``BEGIN IMMEDIATE``
    takes at a transaction's first statement, while operators work.
    """
    account = _account_id(session, name)  # whatever the case typed
    stored = session.execute(
        select(User.id, User.password_hash).where(User.id == account)
    ).one_or_none()
    session.commit()  # end the read: nothing is locked while the hash is checked
    try:
        _hasher.verify(stored.password_hash if stored is not None else dummy_hash(), password)
        matched = stored is not None
    except (VerificationError, InvalidHashError):
        matched = False
    now = clock_of(session)
    user = session.get(User, stored.id) if stored is not None else None  # the account as it is now
    details = {"client": client} if client else None
    if not matched or user is None or not user.active:
        who = Actor(
            name=name[:64],
            role=Role(user.role) if user is not None else Role.OPERATOR,
            user_id=None if user is None else user.id,
        )
        audit.append(
            session, who, "login", f"user:{name[:64]}", at=now, details=details, allowed=False
        )
        session.commit()  # the failed attempt stays on record whatever the caller does next
        raise LoginError
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    actor = Actor(name=user.name, role=Role(user.role), user_id=user.id)
    audit.append(session, actor, "login", f"user:{user.name}", at=now, details=details)
    return actor


def actor_named(session: Session, name: str) -> Actor | None:
    """The account of exactly ``name`` as it acts now (its current role); None when there is none.

    For tools that act as a known account without signing in (the demo's shift); it
    checks no password, so nothing a person types reaches it.
    """
    user = session.scalar(select(User).where(User.name == name))
    return None if user is None else Actor(name=user.name, role=Role(user.role), user_id=user.id)


def list_users(session: Session, actor: Actor) -> list[UserView]:
    """Every account. Permission: ``manage_users``."""
    actor = authorize(session, actor, Permission.MANAGE_USERS, "users")
    now = clock_of(session)
    users = session.scalars(select(User).order_by(User.name)).all()
    counted = session.execute(
        select(ConsoleSession.user_id, func.count())
        .where(ConsoleSession.ended_at.is_(None), ConsoleSession.expires_at > now)
        .group_by(ConsoleSession.user_id)
    )
    open_now: dict[int, int] = {user_id: n for user_id, n in counted}
    audit.append(session, actor, "list_users", "users", at=now)
    return [_view(u, open_now.get(u.id, 0)) for u in users]


def end_sessions(session: Session, actor: Actor, name: str) -> int:
    """Sign an account out of every browser (a lost laptop, a shared desk); how many sessions
    ended. Permission: ``manage_users``."""
    actor = authorize(session, actor, Permission.MANAGE_USERS, f"user:{name}")
    user = _user_named(session, name)
    ended = end_sessions_of(session, user.id, "admin")
    audit.append(
        session, actor, "end_sessions", f"user:{name}", at=clock_of(session),
        details={"ended": ended},
    )  # fmt: skip
    return ended


def set_role(session: Session, actor: Actor, name: str, role: Role) -> UserView:
    """Change someone's role; it applies from their next action. Permission: ``manage_users``."""
    actor = authorize(session, actor, Permission.MANAGE_USERS, f"user:{name}")
    user = _user_named(session, name)
    _not_oneself(actor, user)
    before = user.role
    user.role = Role(role).value
    if user.role != before:
        end_sessions_of(session, user.id, "role")
    audit.append(
        session,
        actor,
        "set_role",
        f"user:{name}",
        at=clock_of(session),
        details={"from": before, "to": user.role},
    )
    return _view(user)


def set_user_active(session: Session, actor: Actor, name: str, active: bool) -> UserView:
    """Disable (or re-enable) an account; a disabled user can do nothing. Permission: ``manage_users``."""
    actor = authorize(session, actor, Permission.MANAGE_USERS, f"user:{name}")
    user = _user_named(session, name)
    if not active:
        _not_oneself(actor, user)
    user.active = active
    if not active:
        end_sessions_of(session, user.id, "disabled")
    audit.append(
        session,
        actor,
        "enable_user" if active else "disable_user",
        f"user:{name}",
        at=clock_of(session),
    )
    return _view(user)


def set_password(session: Session, actor: Actor, name: str, password: str) -> None:
    """Set a password: one's own (any role), or anyone's with ``manage_users``."""
    if actor.user_id is None or actor.name != name:
        actor = authorize(session, actor, Permission.MANAGE_USERS, f"user:{name}")
    user = _user_named(session, name)
    if actor.user_id is not None and actor.name == name and not user.active:
        raise LoginError
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    end_sessions_of(session, user.id, "password")
    audit.append(session, actor, "set_password", f"user:{name}", at=clock_of(session))
