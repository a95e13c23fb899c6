"""Profiles on demand, for admins: one request, or the whole event loop for a few seconds.

Both answer a pyinstrument report (an HTML page by default) and never change what the app does.

**One request: ``?profile=1``.** `ProfileMiddleware` serves a request that carries
``profile=1`` from an admin (a signed-in user with the admin role, or a key with the ``admin``
scope) under a pyinstrument profiler, throws the app's own answer away and answers the report
instead (the app's status is in ``X-Profiled-Status``). Anyone else's ``profile=1`` is served as
if the parameter were absent: the middleware removes it from the query string for every request
it sees, so nothing tells a non-admin that profiling exists.

The profiler runs with ``async_mode="enabled"``: it follows the request's own task, so time
spent at an ``await`` is charged to that line (shown as ``[await]``) rather than to whatever
other task the loop ran meanwhile. Work handed to another thread (``asyncio.to_thread``: SQL on
the metadata store, stats queries, key checks) is not sampled; it shows only as the time the
request waited at its ``to_thread`` line. ``POST /api/event`` is served ahead of the middleware
stack (footfall.web.app.FootfallApp) and cannot be profiled this way; profile the loop instead.

**The event loop: ``GET /api/v1/debug/profile?seconds=N``** (admin key). `profile_loop` starts
a profiler with ``async_mode="disabled"`` on the loop's thread and sleeps N seconds, so every
task and callback that runs on the loop meanwhile is sampled: requests, the group-commit
writer's callbacks, the samplers. Again, other threads (DuckDB and SQLite work in
``to_thread``) are not. Under uvloop the loop's own C code, waiting for IO included, shows as
``[self]`` time of the frame that started the loop.

**One profile at a time.** pyinstrument cannot nest profilers that follow async context, and
two profiles of the same thread would each slow the other down, so `PROFILE_GATE` admits one
profile per process; a second one, of either kind, is answered 409 while the first runs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import threading
import urllib.parse
from typing import Literal

from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer, Renderer, SpeedscopeRenderer
from pyinstrument.session import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from footfall.web.api.auth import ApiError, authorize_key, bearer_token
from footfall.web.pages.accounts import current_user

PARAMETER = "profile"
DEFAULT_SECONDS = 10
MAX_SECONDS = 60
Format = Literal["html", "text", "speedscope"]
FORMATS: tuple[Format, ...] = ("html", "text", "speedscope")
BUSY = "another profile is running: try again when it has finished"
PROFILED_STATUS = "x-profiled-status"

# Sampling intervals: a single request often lasts a few milliseconds, so it is sampled finer;
# a loop profile of up to a minute stays under the HTML renderer's 100,000 samples.
REQUEST_INTERVAL = 0.0002
LOOP_INTERVAL = 0.001

_MEDIA_TYPES: dict[Format, str] = {
    "html": "text/html",
    "text": "text/plain",
    "speedscope": "application/json",
}
_NO_SCRIPTS = "'none'"
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


class ProfileGate:
    """Admits one profile at a time in the process (pyinstrument samples per thread).

    A `threading.Lock` taken without waiting, so it works whichever event loop asks (tests run
    several apps, each on its own loop thread).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        """Takes the gate if it is free; False while another profile runs."""
        return self._lock.acquire(blocking=False)

    def release(self) -> None:
        """Frees the gate taken by `acquire`."""
        self._lock.release()

    @property
    def busy(self) -> bool:
        """True while a profile runs."""
        return self._lock.locked()


PROFILE_GATE = ProfileGate()


def report_policy(html: str) -> str:
    """A Content-Security-Policy for pyinstrument's page: its own inline scripts and nothing else.

    The page carries its viewer and its data as inline ``<script>`` blocks, which the app's policy
    (footfall.web.middleware.security) forbids; this one allows exactly those scripts by hash.
    Styles are inline too and the viewer sets ``style`` attributes, hence ``'unsafe-inline'`` for
    styles only. The page loads nothing from anywhere.
    """
    digests = (hashlib.sha256(script.encode()).digest() for script in _SCRIPT.findall(html))
    hashes = " ".join(f"'sha256-{base64.b64encode(digest).decode()}'" for digest in digests)
    return (
        f"default-src 'none'; script-src {hashes or _NO_SCRIPTS}; style-src 'unsafe-inline'; "
        "img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def render(session: Session, output: Format) -> str:
    """`session` as pyinstrument's HTML page, its text tree, or a speedscope JSON document."""
    renderer: Renderer
    if output == "html":
        renderer = HTMLRenderer()
    elif output == "text":
        renderer = ConsoleRenderer(unicode=True, color=False)
    else:
        renderer = SpeedscopeRenderer()
    return str(renderer.render(session))


async def report_response(session: Session, output: Format = "html") -> Response:
    """The rendered report, never cached; HTML with its own policy (see `report_policy`)."""
    # Rendering a minute of samples takes a while: off the event loop.
    body = await asyncio.to_thread(render, session, output)
    headers = {"cache-control": "no-store"}
    if output == "html":
        # footfall.web.middleware.security adds its policy only where a response has none.
        headers["content-security-policy"] = report_policy(body)
    return Response(body, media_type=_MEDIA_TYPES[output], headers=headers)


def busy_response() -> Response:
    """409: another profile is running."""
    response = ApiError(BUSY, 409).response()
    response.headers["cache-control"] = "no-store"
    return response


def _without_profile(query_string: bytes) -> bytes | None:
    """`query_string` without its ``profile`` parameters if one is ``profile=1``, else None."""
    if PARAMETER.encode() not in query_string:
        return None  # the common case, decided without parsing
    kept: list[bytes] = []
    asked = False
    for part in query_string.split(b"&"):
        name, _, value = part.partition(b"=")
        if urllib.parse.unquote_plus(name.decode("latin-1")) == PARAMETER:
            asked = asked or urllib.parse.unquote_plus(value.decode("latin-1")) == "1"
        else:
            kept.append(part)
    return b"&".join(kept) if asked else None


async def is_admin(request: Request) -> bool:
    """Whether the request comes from an admin: a key with the admin scope, or an admin user."""
    if bearer_token(request) is not None:
        try:
            await authorize_key(request, "admin")
        except ApiError:
            pass  # a key that may not; the signed-in user, if any, may still be an admin
        else:
            return True
    user = await current_user(request)
    return user is not None and user.role == "admin"


class ProfileMiddleware:
    """Answers an admin's ``?profile=1`` request with the profile of serving it (module doc).

    Pure ASGI, like the app's other middleware. Sits inside the request-log and security
    middleware (the report gets a request id and the security headers) and outside
    `InternalErrorMiddleware`, so a request that fails is profiled too (its 500 is discarded
    like any other answer).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serves the request, profiled when an admin asked for it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = _without_profile(scope.get("query_string", b""))
        if query is None:
            await self.app(scope, receive, send)
            return
        scope = {**scope, "query_string": query}  # the app sees the request without it
        if not await is_admin(Request(scope)):
            await self.app(scope, receive, send)
            return
        if not PROFILE_GATE.acquire():
            await busy_response()(scope, receive, send)
            return
        status = 500

        async def discard(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        profiler = Profiler(interval=REQUEST_INTERVAL, async_mode="enabled")
        try:
            # The path is quoted: the description goes into the report's inline script.
            path = urllib.parse.quote(scope["path"], safe="/")
            profiler.start(target_description=f"{scope['method']} {path}")
            try:
                await self.app(scope, receive, discard)
            finally:
                session = profiler.stop()
        finally:
            PROFILE_GATE.release()
        response = await report_response(session)
        response.headers[PROFILED_STATUS] = str(status)
        await response(scope, receive, send)


def _seconds(value: str | None) -> int:
    if value is None:
        return DEFAULT_SECONDS
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_SECONDS:
        raise ApiError(f"Parameter `seconds` must be a whole number from 1 to {MAX_SECONDS}")
    return int(value)


def _format(value: str | None) -> Format:
    for known in FORMATS:
        if value == known:
            return known
    if value is None:
        return "html"
    raise ApiError(f"Parameter `format` must be one of {', '.join(FORMATS)}")


async def profile_loop(request: Request) -> Response:
    """``GET /api/v1/debug/profile``: everything the event loop runs for ``seconds`` (admin).

    Answers pyinstrument's HTML page, or with ``format=text`` its text tree, or with
    ``format=speedscope`` a document for speedscope.app; 400 on a bad parameter, 409 while
    another profile runs.
    """
    try:
        await authorize_key(request, "admin")
        seconds = _seconds(request.query_params.get("seconds"))
        output = _format(request.query_params.get("format"))
    except ApiError as exc:
        return exc.response()
    if not PROFILE_GATE.acquire():
        return busy_response()
    try:
        # Started here, on the loop's thread, without async tracking: it samples whatever runs
        # on this thread while this handler sleeps.
        profiler = Profiler(interval=LOOP_INTERVAL, async_mode="disabled")
        profiler.start(target_description=f"event loop, {seconds} s")
        try:
            await asyncio.sleep(seconds)
        finally:
            session = profiler.stop()
    finally:
        PROFILE_GATE.release()
    return await report_response(session, output)
