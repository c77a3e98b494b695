"""What a request brings the console: a form whose CSRF token matches the session's, ids, amounts.

Every POST must carry the session's CSRF token, as the ``csrf`` form field or
the ``X-CSRF-Token`` header (htmx); :func:`posted` refuses one without it
(:class:`CsrfError`, a 403 page, audited) before anything else is read. Ids
larger than the store's integer keys hold are not found, and text no form of
the console sends (a NUL character) is a 400 page (:class:`BadRequest`).
"""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation
from typing import Final

from starlette.datastructures import FormData
from starlette.requests import Request

from qalqan.cases.errors import NotFoundError
from qalqan.cases.views import Money

__all__ = [
    "MAX_AMOUNT",
    "MAX_ID",
    "BadRequest",
    "CsrfError",
    "amount",
    "back",
    "csrf_token",
    "form_id",
    "path_id",
    "posted",
    "text",
]

MAX_ID: Final = 2**31 - 1
"""The largest id the store's integer keys hold: a larger one in a URL or a form is not found."""

MAX_AMOUNT: Final = Decimal(10) ** 12
"""A trillion tenge: more than any one victim's loss, well inside the store's ``Numeric(18, 2)``."""


class CsrfError(Exception):
    """A POST without the session's CSRF token."""


class BadRequest(Exception):  # noqa: N818 (a state, not a failure)
    """A request no form of the console sends: a 400 page."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def posted(request: Request) -> FormData:
    """The POSTed form, once its CSRF token has been checked against the session's."""
    form = await request.form()
    expected = request.session.get("csrf")
    given = form.get("csrf") or request.headers.get("x-csrf-token")
    if not isinstance(expected, str) or not isinstance(given, str):
        raise CsrfError
    if not secrets.compare_digest(expected, given):
        raise CsrfError
    return form


def path_id(request: Request, name: str) -> int:
    """An id from the path; one larger than the store can hold is simply not found."""
    value = int(request.path_params[name])
    if value > MAX_ID:
        raise NotFoundError(name.removesuffix("_id"), value)
    return value


def form_id(form: FormData, name: str) -> int | None:
    """An id from a form field: digits within the store's range, else None."""
    raw = text(form, name)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_ID:
        return None
    return int(raw)


def text(form: FormData, name: str) -> str:
    """A form field's text, stripped; "" when the form has none."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    if "\x00" in value:  # no form of ours sends one, and PostgreSQL refuses it in text
        raise BadRequest(name)
    return value.strip()


def amount(form: FormData, name: str, currency: str) -> Money | None:
    """An amount of money typed in ``currency`` (``250 000``, ``1500,50``); None when blank or 0.

    Raises :class:`ValueError` for anything that is not a non-negative amount below
    :data:`MAX_AMOUNT`.
    """
    raw = text(form, name).replace(" ", "").replace(",", ".")
    if not raw:
        return None
    if len(raw) > 40:
        raise ValueError(name)
    try:
        figure = Decimal(raw)
    except InvalidOperation:
        raise ValueError(name) from None
    if not figure.is_finite() or figure < 0 or figure > MAX_AMOUNT:
        raise ValueError(name)
    return Money(figure.quantize(Decimal("0.01")), currency) if figure > 0 else None


def back(form: FormData, default: str) -> str:
    """Where a form asked to return to: a path of this site only."""
    path = text(form, "next")
    # "//host" and "/\\host" are read by browsers as another site
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else default
