"""Exceptions to JSON responses, in one place for every JSON API.

Handlers raise; `handle_error` answers ``{"error": message}`` with the status each exception
stands for. Anything unexpected becomes a 500 whose body carries only an ``error_id``; the same
id is logged with the traceback, so a report can be matched to the log without the body ever
showing a traceback, a path, SQL or a secret.

- `ApiError`, `StatsQueryError`: their own status and message
- `QueryTimeoutError`: 503, ``Query timed out: <detail>. Try a shorter period or fewer filters.``
- `InvalidInputError` 400, `NotFoundError` 404, `ConflictError` 409: the message
- `StoreBusyError`, `StoreError`, a full or read-only disk (``ENOSPC``, ``EDQUOT``, ``EROFS``,
  SQLite's "database or disk is full"): 503 with ``Retry-After`` and a short generic message;
  the detail is logged, at most once a minute per kind with how many were seen meanwhile
- anything else: 500, ``{"error": "internal server error", "error_id": "<12 hex digits>"}``
"""

from __future__ import annotations

import errno
import logging
import secrets
import threading
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

from footfall.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    QueryTimeoutError,
    StoreBusyError,
    StoreError,
)
from footfall.stats.model import StatsQueryError
from footfall.web.api.auth import ApiError

log = logging.getLogger(__name__)

INTERNAL_ERROR = "internal server error"
STORE_BUSY = "the event store is busy, retry shortly"
STORE_UNAVAILABLE = "storage is unavailable, retry shortly"
STORE_FULL = "storage is full, retry later"
RETRY_AFTER_SECONDS = "5"
_FULL_DISK = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
_LOG_INTERVAL_S = 60.0


class QuietLog:
    """Logs a recurring failure once per interval per kind, with how many were not logged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        """Logs `message` unless one of this `kind` was logged within the interval."""
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(kind, -_LOG_INTERVAL_S) < _LOG_INTERVAL_S:
                self._skipped[kind] = self._skipped.get(kind, 0) + 1
                return
            self._last[kind] = now
            skipped = self._skipped.pop(kind, 0)
        suffix = f" ({skipped} more like it since the last report)" if skipped else ""
        log.warning(message + suffix, *args)


# For an app that brings none (each FootfallApp keeps its own, so apps do not silence each other).
_quiet = QuietLog()


def _quiet_log(request: Request) -> QuietLog:
    found = getattr(request.app, "quiet_log", None)
    return found if isinstance(found, QuietLog) else _quiet


def is_disk_full(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the disk is full or read-only."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL_DISK:
            return True
        text = str(seen).lower()
        if "disk is full" in text or "no space left" in text or "read-only file system" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def error_response(message: str, status: int, **extra: str) -> Response:
    """``{"error": message, **extra}`` as JSON with `status`."""
    body = orjson.dumps({"error": message, **extra})
    return Response(body, status_code=status, media_type="application/json")


def internal_error(scope: Scope, exc: BaseException) -> Response:
    """The 500 answer to an unexpected exception, logged once with its traceback and id."""
    error_id = secrets.token_hex(6)
    metrics = getattr(scope.get("app"), "metrics", None)
    if metrics is not None:
        metrics.on_error(scope, exc, error_id)
    log.error(
        "unhandled error %s on %s %s",
        error_id,
        scope.get("method", "-"),
        scope.get("path", "-"),
        exc_info=exc,
    )
    return error_response(INTERNAL_ERROR, 500, error_id=error_id)


async def handle_error(request: Request, exc: Exception) -> Response:
    """The response for `exc`, whichever endpoint raised it (see the module's table)."""
    if isinstance(exc, ApiError):
        return exc.response()
    if isinstance(exc, StatsQueryError):
        return error_response(exc.message, exc.status)
    if isinstance(exc, QueryTimeoutError):
        return error_response(
            f"Query timed out: {exc}. Try a shorter period or fewer filters.", 503
        )
    if isinstance(exc, InvalidInputError):
        return error_response(str(exc), 400)
    if isinstance(exc, NotFoundError):
        return error_response(str(exc), 404)
    if isinstance(exc, ConflictError):
        return error_response(str(exc), 409)
    if is_disk_full(exc):
        _quiet.warning(
            "disk full", "storage is full on %s %s: %s", request.method, request.url.path, exc
        )
        return _unavailable(STORE_FULL)
    if isinstance(exc, StoreError):
        # The message may name files or hosts: it goes to the log, not to the client.
        _quiet_log(request).warning(
            type(exc).__name__,
            "%s on %s %s: %s",
            type(exc).__name__,
            request.method,
            request.url.path,
            exc,
        )
        busy = isinstance(exc, StoreBusyError)
        return _unavailable(STORE_BUSY if busy else STORE_UNAVAILABLE)
    return internal_error(request.scope, exc)


def _unavailable(message: str) -> Response:
    response = error_response(message, 503)
    response.headers["retry-after"] = RETRY_AFTER_SECONDS
    return response


# For `Starlette(exception_handlers=...)`. Starlette hands the `Exception` entry to its
# outermost ServerErrorMiddleware: a backstop for errors raised outside `InternalErrorMiddleware`.
EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    cls: handle_error
    for cls in (
        ApiError,
        StatsQueryError,
        QueryTimeoutError,
        InvalidInputError,
        NotFoundError,
        ConflictError,
        StoreError,
        Exception,
    )
}


class InternalErrorMiddleware:
    """Answers an exception no handler took with the 500 JSON body, and does not re-raise it.

    Starlette's ServerErrorMiddleware would answer too, but it re-raises afterwards, so the
    server logs the traceback a second time (without the id), and its answer bypasses the
    middleware inside it (security headers, CORS). Pure ASGI: it is on the ingest path too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Runs the app; turns an exception raised before the response started into a 500."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise  # too late for another answer: the server closes the connection
            await internal_error(scope, exc)(scope, receive, send)
