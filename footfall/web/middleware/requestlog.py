"""Request ids and the access log, as one pure ASGI middleware.

Each request gets an id: the client's ``X-Request-ID`` when it is a sane token (1-128 of
``A-Z a-z 0-9 . _ -``), else 16 random hex digits. It is bound in structlog's contextvars for
the request's duration, so every log line written while serving it carries ``request_id``, and
it is returned in the ``X-Request-ID`` response header.

With ``FOOTFALL_ACCESS_LOG`` on, one ``footfall.access`` line follows each response: method,
path (no query string), status, duration_ms, request_id and client, the /24 (IPv4) or /48
(IPv6) network of the client address, never the address itself.

``POST /api/event`` is served ahead of the middleware stack (footfall.web.app.FootfallApp), so
ingest requests get no request id and are not access-logged: the hot path stays as fast.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bound_contextvars

from footfall.monitoring.logs import anonymise_ip
from footfall.security.client_address import Network, trusted_address
from footfall.stats.engine import ASKED_AT

access_log = logging.getLogger("footfall.access")

HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")


def request_id_from(scope: Scope) -> str:
    """The request's ``X-Request-ID`` when it is a sane token, else a new random id."""
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            if _SANE_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return secrets.token_hex(8)


def client_network(
    scope: Scope, trusted_proxies: Sequence[Network], client_ip_header: str = ""
) -> str | None:
    """The anonymised network of the client (forwarding headers believed from trusted proxies)."""
    client = scope.get("client")
    peer = str(client[0]) if client else None
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
    address = trusted_address(headers.get, peer, trusted_proxies, client_ip_header=client_ip_header)
    return anonymise_ip(address)


class RequestLogMiddleware:
    """Binds a request id for each HTTP request, echoes it, and writes the access log line."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log: bool = False,
        trusted_proxies: Sequence[Network] = (),
        client_ip_header: str = "",
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.trusted_proxies = tuple(trusted_proxies)
        self.client_ip_header = client_ip_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serves one connection; only HTTP requests get an id."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                headers.append((HEADER, request_id.encode("ascii")))
                message["headers"] = headers
            await send(message)

        # Statistics asked while serving it must be answered within their limit from now.
        asked = ASKED_AT.set(time.monotonic())
        with bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                ASKED_AT.reset(asked)
                if self.access_log:
                    self._log(scope, status, time.perf_counter() - started, request_id)

    def _log(self, scope: Scope, status: int, seconds: float, request_id: str) -> None:
        access_log.info(
            "%s %s %d",
            scope["method"],
            scope["path"],
            status,
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": request_id,
                "client": client_network(scope, self.trusted_proxies, self.client_ip_header),
            },
        )
