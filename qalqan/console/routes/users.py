"""Accounts: ``/users``, and adding one or changing its role, state, sessions or password
(``/users/add``, ``/users/change``).

A new or reset password is made here, at random, and shown once on the page
that answers the form: never in a redirect, a cookie or a log.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qalqan import cases
from qalqan.cases.roles import Role
from qalqan.console.forms import posted, text
from qalqan.console.web import console_of, flash, redirect

__all__ = ["routes"]

ROLES = frozenset(r.value for r in Role)


async def users_page(request: Request, **shown: Any) -> Response:
    console = console_of(request)
    users = await console.run(request, cases.list_users)
    return console.render(
        request, "users.html", users=users, roles=[r.value for r in Role], **shown
    )


async def add_user(request: Request) -> Response:
    form = await posted(request)
    name, role = text(form, "username"), text(form, "role")
    if not name or role not in ROLES:
        flash(request, "user_form_incomplete")
        return redirect("/users")
    password = secrets.token_urlsafe(9)
    await console_of(request).run(
        request, cases.add_user, name=name, role=Role(role), password=password
    )
    # shown once, on this page only: never in a redirect, a cookie or a log
    return await users_page(request, new_password=(name, password))


async def change_user(request: Request) -> Response:
    console = console_of(request)
    form = await posted(request)
    name, what = text(form, "username"), text(form, "what")
    if what == "role" and text(form, "role") in ROLES:
        await console.run(request, cases.set_role, name, Role(text(form, "role")))
    elif what in ("disable", "enable"):
        await console.run(request, cases.set_user_active, name, what == "enable")
    elif what == "sign_out":
        await console.run(request, cases.end_sessions, name)
    elif what == "password":
        password = secrets.token_urlsafe(9)
        await console.run(request, cases.set_password, name, password)
        return await users_page(request, new_password=(name, password))
    else:
        flash(request, "user_form_incomplete")
        return redirect("/users")
    flash(request, "user_saved", name=name)
    return redirect("/users")


routes = [
    Route("/users", users_page),
    Route("/users/add", add_user, methods=["POST"]),
    Route("/users/change", change_user, methods=["POST"]),
]
