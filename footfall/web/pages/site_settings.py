"""Site settings pages: time zone, tracking snippet, goals, API keys, members, shared links.

``GET /sites/{domain}/settings`` shows the page; every change is a form posted to a path
under it, checked for its CSRF token, made through footfall.meta with the signed-in user as
the audit actor, and answered with a 303 back to the page (``?done=<what>`` picks one of the
fixed texts in `DONE`) or, when refused, the page again with a 400, the reason and the values
as entered.

Who sees what:

- signed out: sent to sign in;
- a user who may not read the site, or a site that does not exist: the same 404 page;
- a viewer: the tracking snippet and the viewer's own API keys, which may hold only
  ``stats:read`` and reach only the viewer's granted sites (footfall.meta.access);
- an admin: everything, and the operator keys besides their own (the keys
  ``footfall key create`` makes without ``--user``); a viewer posting an admin's change
  gets a 403.
"""

from __future__ import annotations

import asyncio
import functools
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.access import grant_site, granted_domains, readable_site
from footfall.meta.access import revoke_site as revoke_site_grant
from footfall.meta.goals import add_goal, delete_goal, list_goals
from footfall.meta.keys import (
    SCOPES,
    ApiKey,
    create_key,
    list_operator_keys,
    list_user_keys,
    revoke_key,
)
from footfall.meta.shared_links import create_link, delete_link, list_links
from footfall.meta.sites import Site, set_site_timezone
from footfall.meta.users import MIN_PASSWORD_CHARS, User, list_users
from footfall.meta.vocabulary import VIEWER_SCOPES
from footfall.services import Services
from footfall.web.middleware.clients import request_is_https
from footfall.web.pages import tracker
from footfall.web.pages.accounts import (
    FormRefused,
    current_user,
    login_redirect,
    not_found,
    read_form,
    redirect,
    refused,
    render_page,
)
from footfall.web.pages.forms import Posted, sentence
from footfall.web.pages.key_rows import key_row

ADMINS_ONLY = "Only an admin can change this setting."
# The texts a ``?done=`` parameter may pick: nothing from the URL is ever shown as it is.
DONE = {
    "timezone-saved": "Time zone saved.",
    "timezone-unchanged": "The time zone was already set to that.",
    "goal-added": "Goal added.",
    "goal-deleted": "Goal deleted.",
    "key-revoked": "API key revoked.",
    "member-added": "Viewer added: they can now see this site.",
    "member-exists": "That viewer could already see this site.",
    "member-removed": "Viewer removed: they can no longer see this site.",
    "link-created": "Shared link created.",
    "link-deleted": "Shared link deleted.",
    "retention-saved": "Retention saved: older events were deleted.",
    "retention-cleared": "Retention removed: every event is kept from now on.",
    "site-added": "Site added. Paste the tracking snippet into its pages to start counting.",
}
# A century: long enough for any real use, short of dates past year 9999.
MAX_EXPIRY_DAYS = 36_500


@functools.cache
def time_zones() -> tuple[str, ...]:
    """Every IANA time zone name this system knows, sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def _state(request: Request) -> Services:
    state: Services = request.app.state.footfall
    return state


def _meta(request: Request) -> sa.Engine:
    return _state(request).meta


def base_url(request: Request) -> str:
    """The address at which the browser reached footfall, e.g. ``https://stats.example.org``."""
    scheme = "https" if request_is_https(request) else request.url.scheme
    return f"{scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"


def settings_url(site: Site, done: str | None = None, section: str | None = None) -> str:
    """The settings page of `site`, optionally with a `DONE` message and a section anchor."""
    url = f"/sites/{site.domain}/settings"
    if done is not None:
        url += f"?done={done}"
    if section is not None:
        url += f"#{section}"
    return url


def _own_keys(engine: sa.Engine, user: User) -> list[ApiKey]:
    return list_user_keys(engine, user.id)


def _revocable_keys(engine: sa.Engine, user: User) -> list[ApiKey]:
    """The keys `user` may revoke here: their own, and for an admin the operator keys."""
    operator = list_operator_keys(engine) if user.role == "admin" else []
    return [*_own_keys(engine, user), *operator]


def _members(engine: sa.Engine, site: Site) -> tuple[list[User], list[str]]:
    """The viewers granted `site`, and the emails of the active viewers who are not."""
    granted = granted_domains(engine)
    members: list[User] = []
    others: list[str] = []
    for user in list_users(engine):
        if user.role != "viewer":
            continue
        if site.domain in granted.get(user.id, []):
            members.append(user)
        elif user.disabled_at is None:
            others.append(user.email)
    return members, others


def _page_data(request: Request, user: User, site: Site) -> dict[str, Any]:
    """What the page shows `user`, read from the metadata store (runs in a thread)."""
    engine = _meta(request)
    now = _state(request).clock.now()
    admin = user.role == "admin"
    base = base_url(request)
    data: dict[str, Any] = {
        "admin": admin,
        "base_url": base,
        "snippet": tracker.snippet(site.domain, base),
        "keys": [key_row(key, now) for key in _own_keys(engine, user)],
        "scopes": SCOPES if admin else tuple(s for s in SCOPES if s in VIEWER_SCOPES),
        "max_expiry_days": MAX_EXPIRY_DAYS,
        "min_password": MIN_PASSWORD_CHARS,
    }
    if admin:
        members, others = _members(engine, site)
        data |= {
            "time_zones": time_zones(),
            "goals": list_goals(engine, site.id),
            "members": members,
            "candidates": others,
            "links": list_links(engine, site.id),
            "operator_keys": [key_row(key, now) for key in list_operator_keys(engine)],
        }
    return data


# The values the forms show when nothing was entered.
_BLANK = {
    "timezone": None,
    "goal_kind": "event",
    "goal_target": "",
    "goal_name": "",
    "key_name": "",
    "key_scopes": ("stats:read",),
    "key_expiry": "",
    "member_email": "",
    "link_name": "",
    "retention_days": None,
}


async def _show(
    request: Request,
    user: User,
    site: Site,
    *,
    error: tuple[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    """The settings page; with `error` (section, message) a 400 keeping the entered `values`."""
    data = await asyncio.to_thread(_page_data, request, user, site)
    done = DONE.get(request.query_params.get("done", "")) if error is None else None
    context = {
        "user": user,
        "site": site,
        "done": done,
        "error": {"section": error[0], "message": error[1]} if error else None,
        "values": {
            **_BLANK,
            "timezone": site.timezone,
            "retention_days": site.retention_days,
            **(values or {}),
        },
        **data,
    }
    status = 200 if error is None else 400
    return render_page(request, "site_settings.html", context, status_code=status)


async def settings_page(request: Request) -> Response:
    """GET /sites/{domain}/settings: the settings the signed-in user may see."""
    user = await current_user(request)
    if user is None:
        return login_redirect(request)
    site = await asyncio.to_thread(
        readable_site, _meta(request), user.id, request.path_params["domain"]
    )
    if site is None:
        return not_found(request)
    return await _show(request, user, site)


@dataclass(frozen=True, slots=True)
class Change(Posted):
    """A posted settings form that passed the checks: who sends what, for which site."""

    site: Site


Handler = Callable[[Change], Awaitable[Response]]


def _change(*, admin: bool) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wraps a POST handler in the checks every settings form passes first.

    Signed out: sent to sign in. Then the form and its CSRF token (403 when missing or
    wrong), then the site (404 when unknown or not readable), then, with `admin`, the role
    (403 for a viewer).
    """

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            user = await current_user(request)
            if user is None:
                target = f"/sites/{request.path_params['domain']}/settings"
                return redirect("/login?" + urlencode({"next": target}))
            try:
                form = await read_form(request)
            except FormRefused as exc:
                return refused(request, exc)
            site = await asyncio.to_thread(
                readable_site, _meta(request), user.id, request.path_params["domain"]
            )
            if site is None:
                return not_found(request)
            if admin and user.role != "admin":
                return render_page(
                    request, "message.html", {"message": ADMINS_ONLY}, status_code=403
                )
            return await handler(Change(request, user, form, site))

        return endpoint

    return wrap


_Refusal = (InvalidInputError, ConflictError, NotFoundError)


@_change(admin=True)
async def save_timezone(change: Change) -> Response:
    """POST /sites/{domain}/settings/timezone: sets the site's time zone."""
    timezone = change.field("timezone", 64)
    try:
        updated = await asyncio.to_thread(
            set_site_timezone, change.engine, change.site.domain, timezone, actor=change.actor
        )
    except (InvalidInputError, NotFoundError) as exc:
        return await _show(
            change.request, change.user, change.site, error=("general", sentence(str(exc)))
        )
    done = "timezone-saved" if updated.timezone != change.site.timezone else "timezone-unchanged"
    return redirect(settings_url(updated, done, "general"))


@_change(admin=True)
async def add_goal_form(change: Change) -> Response:
    """POST /sites/{domain}/settings/goals: adds a goal (a custom event or a page path)."""
    kind = change.field("kind", 16)
    target = change.field("target", 2100)
    name = change.field("display_name", 300)
    values = {"goal_kind": kind, "goal_target": target, "goal_name": name}
    try:
        if kind not in ("event", "page"):
            raise InvalidInputError("choose whether the goal counts an event or a page visit")
        await asyncio.to_thread(
            add_goal,
            change.engine,
            change.site.id,
            event_name=target if kind == "event" else None,
            page_path=target if kind == "page" else None,
            display_name=name if name.strip() else None,
            actor=change.actor,
        )
    except _Refusal as exc:
        return await _show(
            change.request,
            change.user,
            change.site,
            error=("goals", sentence(str(exc))),
            values=values,
        )
    return redirect(settings_url(change.site, "goal-added", "goals"))


@_change(admin=True)
async def delete_goal_form(change: Change) -> Response:
    """POST /sites/{domain}/settings/goals/{goal_id}/delete: deletes a goal."""
    goal_id = int(change.request.path_params["goal_id"])
    try:
        await asyncio.to_thread(
            delete_goal, change.engine, change.site.id, goal_id, actor=change.actor
        )
    except NotFoundError as exc:
        return await _show(
            change.request, change.user, change.site, error=("goals", sentence(str(exc)))
        )
    return redirect(settings_url(change.site, "goal-deleted", "goals"))


def _expiry(text: str) -> int | None:
    value = text.strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_EXPIRY_DAYS:
        raise InvalidInputError(
            f"the expiry must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}, "
            "or empty for a key that does not expire"
        )
    return int(value)


@_change(admin=False)
async def create_key_form(change: Change) -> Response:
    """POST /sites/{domain}/settings/keys: creates an API key owned by the signed-in user.

    The answer is a page that shows the key's secret value, this once.
    """
    name = change.field("name", 1000)
    expiry = change.field("expires_days", 32)
    scopes = tuple(s for s in change.form.getlist("scope") if isinstance(s, str))
    values = {"key_name": name, "key_scopes": scopes, "key_expiry": expiry}
    try:
        if not scopes:
            raise InvalidInputError("choose at least one scope for the key")
        key, secret = await asyncio.to_thread(
            create_key,
            change.engine,
            name=name,
            scopes=scopes,
            expires_days=_expiry(expiry),
            user_email=change.user.email,
            actor=change.actor,
        )
    except _Refusal as exc:
        return await _show(
            change.request,
            change.user,
            change.site,
            error=("keys", sentence(str(exc))),
            values=values,
        )
    context = {
        "user": change.user,
        "site": change.site,
        "key": key_row(key, _state(change.request).clock.now()),
        "secret": secret,
        "stats_url": f"{base_url(change.request)}/api/v1/stats/aggregate",
    }
    return render_page(change.request, "site_key_created.html", context)


@_change(admin=False)
async def revoke_key_form(change: Change) -> Response:
    """POST /sites/{domain}/settings/keys/{key_id}/revoke: revokes one of the user's keys.

    An admin may also revoke an operator key (one made on the command line without an owner).
    """
    key_id = int(change.request.path_params["key_id"])

    def revoke() -> None:
        owned = [k for k in _revocable_keys(change.engine, change.user) if k.id == key_id]
        if not owned:
            raise NotFoundError("you have no such API key")
        revoke_key(change.engine, owned[0].name, actor=change.actor)

    try:
        await asyncio.to_thread(revoke)
    except NotFoundError as exc:
        return await _show(
            change.request, change.user, change.site, error=("keys", sentence(str(exc)))
        )
    return redirect(settings_url(change.site, "key-revoked", "keys"))


@_change(admin=True)
async def add_member_form(change: Change) -> Response:
    """POST /sites/{domain}/settings/members: lets an existing viewer see the site."""
    email = change.field("email", 320)
    try:
        added = await asyncio.to_thread(
            grant_site, change.engine, email, change.site.domain, actor=change.actor
        )
    except _Refusal as exc:
        message = sentence(str(exc))
        if isinstance(exc, NotFoundError):
            message = "No user has that email address: invite them on the Users page."
        return await _show(
            change.request,
            change.user,
            change.site,
            error=("members", message),
            values={"member_email": email},
        )
    return redirect(
        settings_url(change.site, "member-added" if added else "member-exists", "members")
    )


@_change(admin=True)
async def remove_member_form(change: Change) -> Response:
    """POST /sites/{domain}/settings/members/remove: stops a viewer seeing the site."""
    email = change.field("email", 320)
    try:
        await asyncio.to_thread(
            revoke_site_grant, change.engine, email, change.site.domain, actor=change.actor
        )
    except _Refusal as exc:
        return await _show(
            change.request, change.user, change.site, error=("members", sentence(str(exc)))
        )
    return redirect(settings_url(change.site, "member-removed", "members"))


@_change(admin=True)
async def create_link_form(change: Change) -> Response:
    """POST /sites/{domain}/settings/links: creates a shared link, with an optional password."""
    name = change.field("name", 1000)
    password = change.field("password", 4096)
    try:
        await asyncio.to_thread(
            create_link,
            change.engine,
            change.site.domain,
            name=name,
            password=password or None,
            actor=change.actor,
        )
    except _Refusal as exc:
        # The password is never sent back to the browser.
        return await _show(
            change.request,
            change.user,
            change.site,
            error=("links", sentence(str(exc))),
            values={"link_name": name},
        )
    return redirect(settings_url(change.site, "link-created", "links"))


@_change(admin=True)
async def delete_link_form(change: Change) -> Response:
    """POST /sites/{domain}/settings/links/{slug}/delete: deletes a shared link."""
    slug = change.request.path_params["slug"]
    try:
        await asyncio.to_thread(
            delete_link, change.engine, change.site.domain, slug, actor=change.actor
        )
    except NotFoundError as exc:
        return await _show(
            change.request, change.user, change.site, error=("links", sentence(str(exc)))
        )
    return redirect(settings_url(change.site, "link-deleted", "links"))


_BASE = "/sites/{domain}/settings"
ROUTES = [
    Route(_BASE, settings_page, methods=["GET"]),
    Route(f"{_BASE}/timezone", save_timezone, methods=["POST"]),
    Route(f"{_BASE}/goals", add_goal_form, methods=["POST"]),
    Route(f"{_BASE}/goals/{{goal_id:int}}/delete", delete_goal_form, methods=["POST"]),
    Route(f"{_BASE}/keys", create_key_form, methods=["POST"]),
    Route(f"{_BASE}/keys/{{key_id:int}}/revoke", revoke_key_form, methods=["POST"]),
    Route(f"{_BASE}/members", add_member_form, methods=["POST"]),
    Route(f"{_BASE}/members/remove", remove_member_form, methods=["POST"]),
    Route(f"{_BASE}/links", create_link_form, methods=["POST"]),
    Route(f"{_BASE}/links/{{slug}}/delete", delete_link_form, methods=["POST"]),
]

# For the forms of the data section (footfall.web.pages.site_data).
settings_form = _change
show_settings = _show
