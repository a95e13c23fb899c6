"""Reading a request body with a size limit: the one mechanism every endpoint with a body uses.

The limit is checked against a declared ``Content-Length`` before anything is read, then
counted while a chunked (or lying) body streams in, so a body over the limit costs at most
the limit in memory. Each endpoint names its own limit (`LIMITS` lists them for the docs and
the tests); a body over it is refused with 413.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from starlette.requests import Request
from starlette.types import Receive

from footfall.text.quantities import format_bytes

# Bytes each endpoint reads at most (POST /api/event's is the `max_body_bytes` setting).
FORM_BYTES = 16 * 1024
QUERY_BYTES = 256 * 1024
SITES_API_BYTES = 64 * 1024
IMPORT_BYTES = 1 << 30
LIMITS = {
    "forms (sign-in, settings, shared-link passwords)": FORM_BYTES,
    "POST /api/v2/query": QUERY_BYTES,
    "Sites API": SITES_API_BYTES,
    "POST /api/import": IMPORT_BYTES,
}


def describe_limit(limit: int) -> str:
    """A limit as people read it: ``64 KiB``, ``1 GiB``, or ``1,000,000 bytes`` if not binary."""
    return format_bytes(limit) if limit % 1024 == 0 else f"{limit:,} bytes"


class BodyTooLarge(ValueError):
    """The body exceeds the endpoint's limit; the message says which."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {describe_limit(limit)}")
        self.limit = limit


def check_declared_length(declared: str | None, limit: int) -> None:
    """Refuses a declared ``Content-Length`` over `limit` before any byte is read.

    Raises:
        BodyTooLarge: The declared length is over the limit.
    """
    if declared and declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)


def has_body(headers: Mapping[str, str]) -> bool:
    """Whether a request announces a body (a positive ``Content-Length``, or chunked)."""
    length = headers.get("content-length", "").strip()
    return bool(headers.get("transfer-encoding")) or (length.isdigit() and int(length) > 0)


async def limited_chunks(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """Passes `chunks` on, raising BodyTooLarge as soon as their total passes `limit`."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        yield chunk


async def _messages(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def read_asgi_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes:
    """The whole body of a raw ASGI request, at most `limit` bytes.

    Raises:
        BodyTooLarge: It is (or declares to be) larger.
    """
    check_declared_length(headers.get("content-length"), limit)
    return b"".join([chunk async for chunk in limited_chunks(_messages(receive), limit)])


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body of a Starlette request, at most `limit` bytes.

    The body is kept on the request, so `request.form()` and `request.json()` reuse it.

    Raises:
        BodyTooLarge: It is (or declares to be) larger.
    """
    check_declared_length(request.headers.get("content-length"), limit)
    body = b"".join([chunk async for chunk in limited_chunks(request.stream(), limit)])
    request._body = body  # Starlette's own cache of the body, read by form() and json()
    return body
