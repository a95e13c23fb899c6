"""Sign-in pages: first-run setup, sign in, sign out, and who is signed in.

A browser is signed in by the ``footfall_session`` cookie: a random token, signed with the
secret key (so a rotated-out key signs everyone out unless it stays a fallback) and stored
only as a hash (footfall.meta.logins). The cookie is HttpOnly, SameSite=Lax and Secure when
the request came over https.

Every form that changes state carries a CSRF token, checked before anything else:
- signed in, the token is a keyed hash of the session token, so it is worthless in another
  browser and changes at every sign-in;
- signed out (sign-in and setup forms), it is a random value signed with the secret key, sent
  both in the ``footfall_csrf`` cookie and in the form (a signed double submit).
A request whose ``Origin`` header names another site is refused as well.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from footfall.errors import ConflictError, InvalidInputError
from footfall.meta.audit import Actor, record
from footfall.meta.keys import hash_key
from footfall.meta.logins import (
    LoginPolicy,
    Outcome,
    attempt_login,
    create_first_admin,
    create_session,
    end_session,
    session_user,
)
from footfall.meta.users import MIN_PASSWORD_CHARS, User, has_users
from footfall.security.ratelimit import Decision, rate_limit_headers
from footfall.services import Services
from footfall.text.quantities import plural
from footfall.web.bodies import FORM_BYTES, BodyTooLarge, read_body
from footfall.web.middleware.clients import request_is_https, trusted_client_ip
from footfall.web.pages.templating import render

log = logging.getLogger(__name__)

SESSION_COOKIE = "footfall_session"
CSRF_COOKIE = "footfall_csrf"
CSRF_FIELD = "csrf_token"
# Forms here have a handful of short fields; anything bigger is not from them.
MAX_FORM_BYTES = FORM_BYTES
_SESSION_PURPOSE = "session"
_CSRF_PURPOSE = "csrf"

FAILED = "The email address or password is not correct."
LOCKED = "Too many failed sign-ins. Try again in {wait}."
THROTTLED = "Too many sign-in attempts. Try again in {wait}."
FORM_EXPIRED = "The form expired or did not come from this site. Reload the page and try again."


class FormRefused(Exception):
    """A form that must not be processed: answered with `status` and `message` on a page."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _state(request: Request) -> Services:
    state: Services = request.app.state.footfall
    return state


async def current_user(request: Request) -> User | None:
    """The signed-in user of the request, or None (looked up once per request)."""
    if "user" in request.scope.setdefault("footfall", {}):
        user: User | None = request.scope["footfall"]["user"]
        return user
    token = _session_token(request)
    found = None
    if token is not None:
        state = _state(request)
        found = await asyncio.to_thread(session_user, state.meta, token, now=state.clock.now())
    request.scope["footfall"]["user"] = found
    return found


def _session_token(request: Request) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    settings = _state(request).settings
    return _state(request).signer.unsign(
        _SESSION_PURPOSE, cookie, max_age=settings.session_hours * 3600
    )


def current_session_hash(request: Request) -> str | None:
    """The stored hash of this browser's session token; None when it has no valid cookie."""
    token = _session_token(request)
    return hash_key(token) if token is not None else None


def throttled_message(decision: Decision) -> tuple[str, dict[str, str]]:
    """The page's message for a refused sign-in limit, and the headers to answer with."""
    headers = rate_limit_headers(decision)
    return THROTTLED.format(wait=plural(int(headers["Retry-After"]), "second")), headers


def csrf_token(request: Request) -> str:
    """The CSRF token for forms on this page (see the module docstring)."""
    signer = _state(request).signer
    token = _session_token(request)
    if token is not None:
        return signer.mac(_CSRF_PURPOSE, token)
    cookie = request.cookies.get(CSRF_COOKIE)
    if cookie and signer.unsign(_CSRF_PURPOSE, cookie) is not None:
        return cookie
    fresh = request.scope.setdefault("footfall", {}).get("new_csrf")
    if fresh is None:
        fresh = signer.sign(_CSRF_PURPOSE, secrets.token_urlsafe(24))
        request.scope["footfall"]["new_csrf"] = fresh
    return str(fresh)


def _check_csrf(request: Request, form: FormData) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = f"{request.url.scheme}://{request.url.netloc}"
        https_own = f"https://{request.url.netloc}"
        if origin not in (own, https_own):
            raise FormRefused(FORM_EXPIRED)
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not sent:
        raise FormRefused(FORM_EXPIRED)
    signer = _state(request).signer
    token = _session_token(request)
    if token is not None:
        if not signer.check_mac(_CSRF_PURPOSE, token, sent):
            raise FormRefused(FORM_EXPIRED)
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not hmac.compare_digest(cookie, sent) or signer.unsign(_CSRF_PURPOSE, sent) is None:
        raise FormRefused(FORM_EXPIRED)


async def read_form(request: Request) -> FormData:
    """The posted form, CSRF-checked.

    Raises:
        FormRefused: Too large, not a form, or without a valid CSRF token.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise FormRefused("Expected a form submission.", 415)
    try:
        await read_body(request, MAX_FORM_BYTES)
    except BodyTooLarge:
        raise FormRefused("The form is too large.", 413) from None
    form = await request.form(max_files=0, max_fields=20)
    _check_csrf(request, form)
    return form


def form_field(form: FormData, name: str, limit: int = 2048) -> str:
    """A text field of `form`, cut to `limit` characters; '' when absent or a file."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Renders a page with its CSRF token, setting the CSRF cookie when one was made."""
    token = csrf_token(request)
    response = render(
        request,
        template,
        {"csrf_token": token, **(context or {})},
        status_code=status_code,
        headers=headers,
    )
    if request.scope.get("footfall", {}).get("new_csrf") == token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request_is_https(request),
            path="/",
        )
    return response


def not_found(request: Request) -> Response:
    """The 404 page for a site that is unknown or that the user may not read.

    Both get the same answer, so that pages do not reveal which sites exist.
    """
    context = {"message": "There is no such site, or it has not been shared with you."}
    return render_page(request, "message.html", context, status_code=404)


def refused(request: Request, exc: FormRefused) -> Response:
    """The page answering a refused form."""
    return render_page(request, "message.html", {"message": exc.message}, status_code=exc.status)


def safe_next(value: str | None) -> str:
    """A redirect target after sign-in: a path on this site, never another site."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ch in value for ch in "\r\n\t\\")
    ):
        return "/"
    return value


def redirect(url: str) -> RedirectResponse:
    """A 303 to `url` (after a form, the browser follows with GET)."""
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    """Sends a signed-out browser to sign in, and back to this page afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if target == "/":
        return redirect("/login")
    return redirect("/login?" + urlencode({"next": target}))


def _sign_in(request: Request, response: Response, user: User) -> None:
    state = _state(request)
    lifetime = dt.timedelta(hours=state.settings.session_hours)
    token = create_session(state.meta, user.id, now=state.clock.now(), lifetime=lifetime)
    response.set_cookie(
        SESSION_COOKIE,
        state.signer.sign(_SESSION_PURPOSE, token),
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request_is_https(request),
        path="/",
    )
    # The signed-out token has served its purpose; a new one comes with the session.
    response.delete_cookie(CSRF_COOKIE, path="/")


async def setup_page(request: Request) -> Response:
    """GET/POST /setup: creates the first admin; closed once any user exists."""
    state = _state(request)
    meta = state.meta
    if await asyncio.to_thread(has_users, meta):
        return redirect("/login")
    if request.method == "GET":
        return render_page(
            request, "setup.html", {"email": "", "errors": [], "min": MIN_PASSWORD_CHARS}
        )
    try:
        form = await read_form(request)
    except FormRefused as exc:
        return refused(request, exc)
    email = form_field(form, "email", 320)
    password = form_field(form, "password", 4096)
    errors: list[str] = []
    if password != form_field(form, "password_confirm", 4096):
        errors.append("The two passwords differ.")
    user = None
    if not errors:
        actor = Actor("setup", ip=trusted_client_ip(request))
        try:
            user = await asyncio.to_thread(
                create_first_admin, meta, email=email, password=password, actor=actor
            )
        except InvalidInputError as exc:
            errors.append(str(exc).replace("--password-stdin", "the password"))
        except ConflictError:
            return redirect("/login")
    if user is None:
        context = {"email": email, "errors": errors, "min": MIN_PASSWORD_CHARS}
        return render_page(request, "setup.html", context, status_code=400)
    log.info("first admin created through the setup page")
    response = redirect("/")
    await asyncio.to_thread(_sign_in, request, response, user)
    return response


async def sign_in_limit(request: Request, email: str) -> Decision | None:
    """The refusing decision when this attempt is over a sign-in limit, else None.

    Counts against the client address and the email address; also used where a signed-in
    user's current password is checked, so that a session cannot be used to guess it faster.
    """
    limits = _state(request).rate_limits
    checks = (
        (limits.login_ip, ("login_ip", trusted_client_ip(request) or "-")),
        (limits.login_account, ("login_account", email.strip().lower())),
    )
    for limit, keys in checks:
        if limit is None:
            continue
        decision = await limits.limiter.hit_async(limit, *keys)
        if not decision.allowed:
            return decision
    return None


async def login_page(request: Request) -> Response:
    """GET/POST /login: signs a user in."""
    state = _state(request)
    if request.method == "GET":
        if not await asyncio.to_thread(has_users, state.meta):
            return redirect("/setup")
        if await current_user(request) is not None:
            return redirect(safe_next(request.query_params.get("next")))
        context = {"email": "", "error": None, "next": safe_next(request.query_params.get("next"))}
        return render_page(request, "login.html", context)
    try:
        form = await read_form(request)
    except FormRefused as exc:
        return refused(request, exc)
    email = form_field(form, "email", 320)
    password = form_field(form, "password", 4096)
    context = {"email": email, "next": safe_next(form_field(form, "next"))}
    refusal = await sign_in_limit(request, email)
    if refusal is not None:
        message, headers = throttled_message(refusal)
        return render_page(
            request, "login.html", {**context, "error": message}, status_code=429, headers=headers
        )
    settings = state.settings
    policy = LoginPolicy(settings.login_lockout_after, settings.login_lockout_minutes)
    result = await asyncio.to_thread(
        attempt_login,
        state.meta,
        email,
        password,
        now=state.clock.now(),
        policy=policy,
        ip=trusted_client_ip(request),
    )
    if result.outcome is Outcome.SUCCESS and result.user is not None:
        response = redirect(str(context["next"]))
        await asyncio.to_thread(_sign_in, request, response, result.user)
        return response
    if result.outcome is Outcome.LOCKED:
        wait = str(result.retry_after)
        return render_page(
            request,
            "login.html",
            {**context, "error": LOCKED.format(wait=plural(result.retry_after, "second"))},
            status_code=429,
            headers={"Retry-After": wait},
        )
    return render_page(request, "login.html", {**context, "error": FAILED}, status_code=400)


async def logout(request: Request) -> Response:
    """POST /logout: ends the session and forgets the cookie."""
    try:
        await read_form(request)
    except FormRefused as exc:
        return refused(request, exc)
    state = _state(request)
    user = await current_user(request)
    token = _session_token(request)
    if token is not None:
        await asyncio.to_thread(end_session, state.meta, token)
    if user is not None:
        await asyncio.to_thread(
            record,
            state.meta,
            actor=f"user:{user.email}",
            action="logout",
            target=user.email,
            ip=trusted_client_ip(request),
        )
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


ROUTES = [
    Route("/setup", setup_page, methods=["GET", "POST"]),
    Route("/login", login_page, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
]
