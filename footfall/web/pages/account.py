"""The signed-in user's own page: who they are, their password, and every API key they own.

``GET /account`` is for every signed-in user. Changing the password needs the current one,
checked under the same per-address and per-account limits as signing in (so a borrowed
session cannot guess it faster), and signs out every other browser of the user; this one
stays signed in. The key list shows every key the user owns, whichever tool made it (the
site settings page, or ``footfall key create --user``), and revokes them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.errors import InvalidInputError, NotFoundError
from footfall.meta.keys import list_user_keys, revoke_key
from footfall.meta.users import MIN_PASSWORD_CHARS, User, check_current_password, set_password
from footfall.web.pages.accounts import (
    current_session_hash,
    current_user,
    login_redirect,
    redirect,
    render_page,
    sign_in_limit,
    throttled_message,
)
from footfall.web.pages.forms import Posted, posted_form, sentence, services_of
from footfall.web.pages.key_rows import key_row

PAGE = "/account"
# The texts a ``?done=`` parameter may pick: nothing from the URL is ever shown as it is.
DONE = {
    "password-changed": "Password changed. Every other browser signed in as you was signed out.",
    "key-revoked": "API key revoked.",
}
WRONG_CURRENT = "The current password is not correct."
MISMATCH = "The two new passwords differ."


async def _show(
    request: Request,
    user: User,
    *,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The page; with `error` (section, message) the reason a form was refused."""
    state = services_of(request)
    keys = await asyncio.to_thread(list_user_keys, state.meta, user.id)
    now = state.clock.now()
    context: dict[str, Any] = {
        "user": user,
        "keys": [key_row(key, now) for key in keys],
        "min_password": MIN_PASSWORD_CHARS,
        "done": DONE.get(request.query_params.get("done", "")) if error is None else None,
        "error": {"section": error[0], "message": error[1]} if error else None,
    }
    return render_page(request, "account.html", context, status_code=status_code, headers=headers)


async def account_page(request: Request) -> Response:
    """GET /account: the signed-in user's page."""
    user = await current_user(request)
    if user is None:
        return login_redirect(request)
    return await _show(request, user)


@posted_form(page=PAGE, admin=False)
async def change_password(posted: Posted) -> Response:
    """POST /account/password: sets a new password, given the current one."""
    request, user = posted.request, posted.user
    new = posted.field("new_password", 4096)
    if new != posted.field("new_password_confirm", 4096):
        return await _show(request, user, error=("password", MISMATCH), status_code=400)
    refusal = await sign_in_limit(request, user.email)
    if refusal is not None:
        message, headers = throttled_message(refusal)
        return await _show(
            request, user, error=("password", message), status_code=429, headers=headers
        )
    current = posted.field("current_password", 4096)
    if not await asyncio.to_thread(check_current_password, posted.engine, user.id, current):
        return await _show(request, user, error=("password", WRONG_CURRENT), status_code=400)
    try:
        await asyncio.to_thread(
            set_password,
            posted.engine,
            user.email,
            new,
            actor=posted.actor,
            keep_session_hash=current_session_hash(request),
        )
    except (InvalidInputError, NotFoundError) as exc:
        # The message gives the password's length, never the password.
        return await _show(request, user, error=("password", sentence(str(exc))), status_code=400)
    return redirect(f"{PAGE}?done=password-changed")


@posted_form(page=PAGE, admin=False)
async def revoke_own_key(posted: Posted) -> Response:
    """POST /account/keys/{key_id}/revoke: revokes one of the signed-in user's keys."""
    key_id = int(posted.request.path_params["key_id"])

    def revoke() -> None:
        owned = [k for k in list_user_keys(posted.engine, posted.user.id) if k.id == key_id]
        if not owned:
            raise NotFoundError("you have no such API key")
        revoke_key(posted.engine, owned[0].name, actor=posted.actor)

    try:
        await asyncio.to_thread(revoke)
    except NotFoundError as exc:
        return await _show(
            posted.request, posted.user, error=("keys", sentence(str(exc))), status_code=400
        )
    return redirect(f"{PAGE}?done=key-revoked#keys")


ROUTES = [
    Route(PAGE, account_page, methods=["GET"]),
    Route(f"{PAGE}/password", change_password, methods=["POST"]),
    Route(f"{PAGE}/keys/{{key_id:int}}/revoke", revoke_own_key, methods=["POST"]),
]
