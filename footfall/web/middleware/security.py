"""Security headers and CORS for everything but ``POST /api/event``.

The Events API answers its own permissive CORS (any site embeds the tracker) and is the hot
path, so both middlewares here pass it through untouched. Both are pure ASGI:
BaseHTTPMiddleware would cost a task and a response copy per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from footfall.security.client_address import Network
from footfall.web.middleware.clients import scope_is_https

EVENT_PATH = "/api/event"

Header = tuple[bytes, bytes]

_ALWAYS: tuple[Header, ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
_HTML: tuple[Header, ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
)
_HTTPS: tuple[Header, ...] = (
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
)


def with_security_headers(headers: Iterable[Header], https: bool) -> list[Header]:
    """`headers` plus the security headers that apply and that the response did not set."""
    result = list(headers)
    present = {name.lower() for name, _ in result}
    wanted = list(_ALWAYS)
    content_type = next((v for n, v in result if n.lower() == b"content-type"), b"")
    if content_type.lower().startswith(b"text/html"):
        wanted.extend(_HTML)
    if https:
        # Only a response that came over TLS may pin TLS; over plain HTTP browsers ignore it.
        wanted.extend(_HTTPS)
    result.extend(header for header in wanted if header[0] not in present)
    return result


class SecurityHeadersMiddleware:
    """Adds `with_security_headers` to every response except the Events API's."""

    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[Network] = ()) -> None:
        self.app = app
        self.trusted_proxies = tuple(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Passes the request on, amending the response's start message."""
        if scope["type"] != "http" or scope["path"] == EVENT_PATH:
            await self.app(scope, receive, send)
            return
        https = scope_is_https(scope, self.trusted_proxies)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(message.get("headers", ()), https)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ApiCorsMiddleware:
    """Starlette's CORSMiddleware for the listed origins, on every path but the Events API's.

    Installed only when origins are configured; without it no response but the Events API's
    carries ``Access-Control-Allow-Origin``. Keys travel in the Authorization header, never in
    cookies, so credentials stay disallowed.
    """

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=tuple(origins),
            allow_methods=("GET", "POST", "PUT", "DELETE"),
            allow_headers=("Authorization", "Content-Type"),
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Sends the request through CORSMiddleware unless it is for the Events API."""
        if scope["type"] == "http" and scope["path"] != EVENT_PATH:
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
