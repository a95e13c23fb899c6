"""Reading request bodies with a size limit, refusing early instead of buffering everything."""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(ValueError):
    """The body exceeds the configured limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """Reads the whole body, raising BodyTooLarge as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
