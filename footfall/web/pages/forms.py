"""What every page with forms shares: the guards, the posted form, its audit actor, messages.

A page for admins answers everyone else exactly as an unknown page would (404), so that it
does not reveal what exists; a signed-out browser is sent to sign in. A posted form is
checked in this order: signed in, then the role (before the form is even read), then the
form's size and CSRF token (footfall.web.pages.accounts.read_form); only then does the
handler run, with the signed-in user as the audit actor.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from footfall.meta.audit import Actor
from footfall.meta.users import User
from footfall.services import Services
from footfall.web.middleware.clients import trusted_client_ip
from footfall.web.pages.accounts import (
    FormRefused,
    current_user,
    form_field,
    login_redirect,
    read_form,
    redirect,
    refused,
    render_page,
)

NO_SUCH_PAGE = "There is no such page."


def services_of(request: Request) -> Services:
    """The services of the app serving `request`."""
    state: Services = request.app.state.footfall
    return state


def page_not_found(request: Request) -> Response:
    """The 404 page for an unknown page, and for a page the signed-in user may not see."""
    return render_page(request, "message.html", {"message": NO_SUCH_PAGE}, status_code=404)


def sentence(message: str) -> str:
    """An error from footfall.meta as a sentence on a page, without command-line hints."""
    text = message.replace("--expires-days", "the expiry").replace("--name", "name")
    text = text.replace("--password-stdin", "the password")
    if "'footfall " in text:  # a hint for the command line: the clause before it stands alone
        text = text[: text.index("'footfall ")].rsplit(": ", 1)[0]
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():  # never an email address or a domain
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def actor_of(request: Request, user: User) -> Actor:
    """The signed-in `user` as the audit log names them, with the trusted client address."""
    return Actor(f"user:{user.email}", ip=trusted_client_ip(request))


@dataclass(frozen=True, slots=True)
class Posted:
    """A posted form that passed the guards: who sent what."""

    request: Request
    user: User
    form: FormData

    @property
    def services(self) -> Services:
        """The app's services."""
        return services_of(self.request)

    @property
    def engine(self) -> sa.Engine:
        """The metadata store."""
        return self.services.meta

    @property
    def actor(self) -> Actor:
        """The signed-in user, as the audit log names them."""
        return actor_of(self.request, self.user)

    def field(self, name: str, limit: int = 2048) -> str:
        """A text field of the form (see `footfall.web.pages.accounts.form_field`)."""
        return form_field(self.form, name, limit)


Endpoint = Callable[[Request], Awaitable[Response]]
PageHandler = Callable[[Request, User], Awaitable[Response]]
FormHandler = Callable[[Posted], Awaitable[Response]]


def admin_page(handler: PageHandler) -> Endpoint:
    """Wraps a GET handler: signed out, sent to sign in; not an admin, the 404 page."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        user = await current_user(request)
        if user is None:
            return login_redirect(request)
        if user.role != "admin":
            return page_not_found(request)
        return await handler(request, user)

    return endpoint


def posted_form(*, page: str, admin: bool) -> Callable[[FormHandler], Endpoint]:
    """Wraps a POST handler in the guards of the module docstring.

    Args:
        page: Where a signed-out browser returns after signing in (the form's page).
        admin: Only admins may post it; anyone else gets the 404 page.
    """

    def wrap(handler: FormHandler) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            user = await current_user(request)
            if user is None:
                return redirect("/login?" + urlencode({"next": page}))
            if admin and user.role != "admin":
                return page_not_found(request)
            try:
                form = await read_form(request)
            except FormRefused as exc:
                return refused(request, exc)
            return await handler(Posted(request, user, form))

        return endpoint

    return wrap
