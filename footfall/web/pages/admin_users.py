"""User administration for admins: add users, invite viewers, disable, enable, reset passwords.

``GET /admin/users`` lists every user with their role, status, sites and API keys (and the
operator's keys, which have no owner). Every change is a CSRF-checked form, made through
footfall.meta with the signed-in admin as the audit actor. No email is sent: a password
footfall generates (an invitation, a reset, a user added without one) is shown once on the
answer page, for the admin to pass on, as API keys are; only its hash is kept. An admin
changes their own password on /account, never here, and cannot disable themselves. Everyone
but an admin gets the not-found page.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.access import granted_domains, invite_viewer
from footfall.meta.keys import list_keys
from footfall.meta.sites import list_sites, normalise_domain
from footfall.meta.users import (
    MIN_PASSWORD_CHARS,
    User,
    add_user,
    generate_password,
    get_user_by_id,
    list_users,
    set_password,
    set_user_disabled,
)
from footfall.meta.vocabulary import ROLES
from footfall.web.pages.accounts import redirect, render_page
from footfall.web.pages.forms import Posted, admin_page, posted_form, sentence, services_of
from footfall.web.pages.key_rows import KeyRow, key_row
from footfall.web.pages.site_settings import base_url

PAGE = "/admin/users"
# The texts a ``?done=`` parameter may pick: nothing from the URL is ever shown as it is.
DONE = {
    "user-added": "User added with the password you chose.",
    "user-disabled": "User disabled: signed out everywhere, and their API keys stopped working.",
    "user-enabled": "User enabled again, with their API keys.",
    "user-unchanged": "Nothing changed: the user was already like that.",
    "invited-existing": "That viewer already had an account and can now see the site.",
    "invited-already": "That viewer could already see the site.",
}
NOT_YOURSELF = "Change your own password on your account page."
KEEP_YOURSELF = "You cannot disable your own account; another admin can."
_REFUSALS = (InvalidInputError, ConflictError, NotFoundError)


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user as the page lists them: who, what they may read, and their keys."""

    user: User
    sites: str
    keys: list[KeyRow]


def _page_data(engine: sa.Engine, now: dt.datetime) -> dict[str, Any]:
    """The users with their sites and keys, the operator's keys, and the sites (in a thread)."""
    granted = granted_domains(engine)
    keys = list_keys(engine)
    rows = [
        UserRow(
            user=user,
            sites="every site" if user.role == "admin" else ", ".join(granted.get(user.id, [])),
            keys=[key_row(key, now) for key in keys if key.user_id == user.id],
        )
        for user in list_users(engine)
    ]
    operator = [key_row(key, now) for key in keys if key.user_id is None]
    return {"rows": rows, "operator_keys": operator, "sites": list_sites(engine)}


async def _show(
    request: Request,
    user: User,
    *,
    error: tuple[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The page; with `error` (section, message) a 400 keeping the entered `values`."""
    state = services_of(request)
    data = await asyncio.to_thread(_page_data, state.meta, state.clock.now())
    context: dict[str, Any] = {
        "user": user,
        "roles": ROLES,
        "min_password": MIN_PASSWORD_CHARS,
        "values": {"email": "", "role": "viewer", "invite_email": "", "site": "", **(values or {})},
        "done": DONE.get(request.query_params.get("done", "")) if error is None else None,
        "error": {"section": error[0], "message": error[1]} if error else None,
        **data,
    }
    return render_page(request, "admin_users.html", context, status_code=400 if error else 200)


def _details(
    posted: Posted, *, heading: str, email: str, password: str | None, note: str
) -> Response:
    """The page showing sign-in details once: never stored, never shown again."""
    context = {
        "user": posted.user,
        "heading": heading,
        "email": email,
        "password": password,
        "note": note,
        "login_url": f"{base_url(posted.request)}/login",
    }
    return render_page(posted.request, "admin_signin_details.html", context)


@admin_page
async def users_page(request: Request, user: User) -> Response:
    """GET /admin/users: every user, their sites and keys, and the forms."""
    return await _show(request, user)


@posted_form(page=PAGE, admin=True)
async def add_user_form(posted: Posted) -> Response:
    """POST /admin/users: adds a user with the password given, or a generated one shown once."""
    email = posted.field("email", 320)
    role = posted.field("role", 16)
    chosen = posted.field("password", 4096)
    password = chosen or generate_password()
    try:
        created = await asyncio.to_thread(
            add_user, posted.engine, email=email, role=role, password=password, actor=posted.actor
        )
    except _REFUSALS as exc:
        # The password is never sent back to the browser.
        values = {"email": email, "role": role}
        return await _show(
            posted.request, posted.user, error=("add", sentence(str(exc))), values=values
        )
    if chosen:
        return redirect(f"{PAGE}?done=user-added")
    note = f"{created.email} is a new {created.role}."
    return _details(posted, heading="User added", email=created.email, password=password, note=note)


@posted_form(page=PAGE, admin=True)
async def invite_form(posted: Posted) -> Response:
    """POST /admin/users/invite: lets a viewer see a site, creating the viewer if needed."""
    email = posted.field("email", 320)
    domain = posted.field("site", 300)
    try:
        invitation = await asyncio.to_thread(
            invite_viewer, posted.engine, email, domain, actor=posted.actor
        )
    except _REFUSALS as exc:
        values = {"invite_email": email, "site": domain}
        return await _show(
            posted.request, posted.user, error=("invite", sentence(str(exc))), values=values
        )
    if invitation.password is None:
        done = "invited-existing" if invitation.granted else "invited-already"
        return redirect(f"{PAGE}?done={done}")
    note = f"{invitation.user.email} can now see {normalise_domain(domain)}."
    return _details(
        posted,
        heading="Viewer invited",
        email=invitation.user.email,
        password=invitation.password,
        note=note,
    )


async def _target(posted: Posted) -> User | None:
    try:
        return await asyncio.to_thread(
            get_user_by_id, posted.engine, int(posted.request.path_params["user_id"])
        )
    except NotFoundError:
        return None


async def _set_disabled(posted: Posted, disabled: bool) -> Response:
    target = await _target(posted)
    if target is None:
        return await _show(posted.request, posted.user, error=("users", "There is no such user."))
    if disabled and target.id == posted.user.id:
        return await _show(posted.request, posted.user, error=("users", KEEP_YOURSELF))
    after = await asyncio.to_thread(
        set_user_disabled, posted.engine, target.email, disabled, actor=posted.actor
    )
    if (after.disabled_at is not None) == (target.disabled_at is not None):
        return redirect(f"{PAGE}?done=user-unchanged")
    return redirect(f"{PAGE}?done={'user-disabled' if disabled else 'user-enabled'}")


@posted_form(page=PAGE, admin=True)
async def disable_form(posted: Posted) -> Response:
    """POST /admin/users/{user_id}/disable: signs the user out and stops their keys."""
    return await _set_disabled(posted, True)


@posted_form(page=PAGE, admin=True)
async def enable_form(posted: Posted) -> Response:
    """POST /admin/users/{user_id}/enable: lets a disabled user sign in again."""
    return await _set_disabled(posted, False)


@posted_form(page=PAGE, admin=True)
async def reset_password_form(posted: Posted) -> Response:
    """POST /admin/users/{user_id}/password: a new generated password, shown once.

    Every session of the user ends; the user signs in with the new password.
    """
    target = await _target(posted)
    if target is None:
        return await _show(posted.request, posted.user, error=("users", "There is no such user."))
    if target.id == posted.user.id:
        return await _show(posted.request, posted.user, error=("users", NOT_YOURSELF))
    password = generate_password()
    await asyncio.to_thread(set_password, posted.engine, target.email, password, actor=posted.actor)
    note = f"{target.email} was signed out everywhere and signs in with this password from now on."
    return _details(
        posted, heading="Password reset", email=target.email, password=password, note=note
    )


ROUTES = [
    Route(PAGE, users_page, methods=["GET"]),
    Route(PAGE, add_user_form, methods=["POST"]),
    Route(f"{PAGE}/invite", invite_form, methods=["POST"]),
    Route(f"{PAGE}/{{user_id:int}}/disable", disable_form, methods=["POST"]),
    Route(f"{PAGE}/{{user_id:int}}/enable", enable_form, methods=["POST"]),
    Route(f"{PAGE}/{{user_id:int}}/password", reset_password_form, methods=["POST"]),
]
