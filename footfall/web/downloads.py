"""Large downloads written by a worker thread and streamed as they are made: backups, exports.

The writer runs in a thread of its own and hands the response chunks of about a MiB through a
small bounded queue, so memory holds a few chunks whatever the download's size and a slow
client slows the writer down rather than filling memory. A client that goes away stops the
writer at its next write. A failure after the first byte cannot become an error answer any
more: the connection is cut, and the client sees a download shorter than announced (backups
announce their exact length) or a broken archive.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable
from typing import IO, Any, cast

from starlette.responses import JSONResponse, Response, StreamingResponse

from footfall.errors import FootfallError, InvalidInputError, NotFoundError
from footfall.lifecycle.backup import record_backup, staged_backup
from footfall.lifecycle.export import ExportPlan, write_export
from footfall.meta.audit import Actor, record
from footfall.services import Services

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
_QUEUED_CHUNKS = 4
_DONE = object()


class _Cancelled(OSError):
    """The client went away: the writer stops."""


class _QueueWriter(io.RawIOBase):
    """A write-only stream that hands chunks to the event loop through a bounded queue."""

    def __init__(self, chunks: queue.Queue[Any], cancelled: threading.Event) -> None:
        self._chunks = chunks
        self._cancelled = cancelled
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._buffer += view
        if len(self._buffer) >= CHUNK_BYTES:
            self.hand_over()
        return len(view)

    def hand_over(self) -> None:
        """Queues what is buffered, waiting for room (or for the client to go away)."""
        if not self._buffer:
            return
        self.put(bytes(self._buffer))
        self._buffer.clear()

    def put(self, item: Any) -> None:
        """Queues one item, waiting for room while the client is still there."""
        while True:
            if self._cancelled.is_set():
                raise _Cancelled("the client went away")
            try:
                self._chunks.put(item, timeout=0.25)
                return
            except queue.Full:
                continue


async def stream_from_thread(write: Callable[[IO[bytes]], object]) -> AsyncIterator[bytes]:
    """Runs ``write(out)`` in a thread and yields what it writes to `out`, chunk by chunk.

    Raises:
        Exception: What `write` raised, once the chunks before it were yielded.
    """
    chunks: queue.Queue[Any] = queue.Queue(maxsize=_QUEUED_CHUNKS)
    cancelled = threading.Event()
    writer = _QueueWriter(chunks, cancelled)

    def run() -> None:
        try:
            write(cast(IO[bytes], writer))
            writer.hand_over()
            writer.put(_DONE)
        except _Cancelled:
            return
        except BaseException as exc:  # handed to the event loop, which raises it
            with contextlib.suppress(_Cancelled):
                writer.put(exc)

    thread = threading.Thread(target=run, name="footfall-download", daemon=True)
    thread.start()
    try:
        while True:
            item = await asyncio.to_thread(chunks.get)
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        cancelled.set()
        with contextlib.suppress(queue.Empty):
            while True:
                chunks.get_nowait()


def refusal(exc: FootfallError) -> JSONResponse:
    """An error before the download started, as ``{"error": message}``."""
    status = (
        404
        if isinstance(exc, NotFoundError)
        else 400
        if isinstance(exc, InvalidInputError)
        else 503
    )
    return JSONResponse({"error": str(exc)}, status_code=status)


def attachment(filename: str) -> str:
    """A Content-Disposition value for a footfall-made file name (ASCII, no quotes)."""
    return f'attachment; filename="{filename}"'


async def export_response(
    services: Services, plan: ExportPlan, *, actor: Actor | None
) -> StreamingResponse:
    """The export as a download; ``site.export`` is recorded when it starts."""
    if actor is not None:
        await asyncio.to_thread(
            record,
            services.meta,
            actor=actor.name,
            action="site.export",
            target=plan.site.domain,
            ip=actor.ip,
            after={"format": plan.format, "from": str(plan.first), "to": str(plan.last)},
        )
    return StreamingResponse(
        stream_from_thread(lambda out: write_export(services.store, plan, out)),
        media_type=plan.media_type,
        headers={
            "content-disposition": attachment(plan.filename),
            "x-footfall-filename": plan.filename,
            "cache-control": "no-store",
        },
    )


async def backup_response(
    services: Services, *, metadata: bool, actor: Actor | None, where: str
) -> Response:
    """A backup archive as a download of announced length, or the error that stopped it."""
    stack = contextlib.ExitStack()
    try:
        staged = await asyncio.to_thread(
            stack.enter_context, staged_backup(services, metadata=metadata)
        )
    except FootfallError as exc:
        await asyncio.to_thread(stack.close)
        log.warning("backup failed: %s", exc)
        return refusal(exc)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in stream_from_thread(staged.write):
                yield chunk
            await asyncio.to_thread(record_backup, services, staged, actor=actor, where=where)
        finally:
            await asyncio.to_thread(stack.close)

    filename = (
        f"footfall-backup-{staged.manifest['created_at'].replace(':', '').replace('-', '')}.tar"
    )
    return StreamingResponse(
        body(),
        media_type="application/x-tar",
        headers={
            "content-length": str(staged.archive_bytes),
            "content-disposition": attachment(filename),
            "cache-control": "no-store",
        },
    )
