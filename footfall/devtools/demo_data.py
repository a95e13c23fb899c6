"""Filling a site with synthetic traffic, fast enough for 10M events (``footfall demo-data``).

The traffic generator (`footfall.devtools.traffic`) writes NDJSON on a thread while the main thread
imports what it wrote: chunk files of a few million lines in the data directory, at most two at a
time, each imported through `footfall.lifecycle.importing.import_ndjson` (the enrichment and session
rules of `footfall import`) and removed as soon as it is in. With ``--url`` the same chunks are
POSTed to a running server's ``/api/import`` instead.

Chunks end between the generator's hourly batches, which hold whole visits, so no generated
visit is split. A returning visitor whose new visit starts within 30 minutes of their previous
one is merged into it by a single import but not across two chunks; that happens to a handful
of visits per chunk boundary (see docs/operations.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import queue
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from footfall.devtools.traffic import generate_batches
from footfall.errors import FootfallError

if TYPE_CHECKING:
    from footfall.meta.sites import Site
    from footfall.services import Services

MAX_EVENTS = 1_000_000_000
MAX_DAYS = 3650
# Large chunks keep the importer's fixed costs small (1M events in 250k-line chunks took half
# as long again as in one); two of them (one being imported, one being written) are ~1.2 GB of
# temporary NDJSON. On 10M events, 2M-line chunks took 75 s where writing one file and then
# importing it took 94 s, with a peak RSS of 2.8 GB instead of 7.7.
CHUNK_EVENTS = 2_000_000
# A request body of ~75 MB, far below the server's 1 GiB import limit.
ONLINE_CHUNK_EVENTS = 250_000
IMPORT_PATH = "/api/import"
MAX_SHOWN_ERRORS = 20


@dataclass
class DemoDataReport:
    """What a demo-data run did, summed over its chunks."""

    lines: int = 0
    stored: int = 0
    sessions: int = 0
    dropped: int = 0
    rejected: int = 0
    chunks: int = 0
    seconds: float = 0.0
    # (line number in the generated stream, reason), the first few only.
    errors: list[tuple[int, str]] = field(default_factory=list)

    def add(self, counts: dict[str, Any], *, first_line: int) -> None:
        """Adds one chunk's import report (`ImportReport.as_dict()` form)."""
        self.chunks += 1
        for name in ("lines", "stored", "sessions", "dropped", "rejected"):
            setattr(self, name, getattr(self, name) + int(counts.get(name) or 0))
        for error in counts.get("errors") or []:
            if len(self.errors) < MAX_SHOWN_ERRORS:
                self.errors.append((first_line + int(error["line"]) - 1, str(error["error"])))


@dataclass(frozen=True)
class Chunk:
    """One chunk file of generated NDJSON."""

    path: Path
    lines: int
    first_line: int  # number of its first line in the whole generated stream


class ChunkWriter:
    """Writes the generator's batches into chunk files on a thread, at most two files at once.

    Iterate to receive the chunks in order; call `release` when a chunk's file is gone, and
    `close` (also on errors) to stop the thread and remove every chunk file left.
    """

    def __init__(self, batches: Iterator[list[str]], *, directory: Path, chunk_lines: int) -> None:
        self._batches = batches
        self._directory = directory
        self._chunk_lines = chunk_lines
        self._first_lines = max(1, chunk_lines // 8)
        # One chunk being consumed, one being written: a third waits for a free slot.
        self._slots = threading.Semaphore(2)
        self._stop = threading.Event()
        self._queue: queue.Queue[Chunk | BaseException | None] = queue.Queue()
        self._made: list[Path] = []  # appended by the thread, read after it ends
        self._thread = threading.Thread(target=self._run, name="demo-data-writer", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[Chunk]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def release(self) -> None:
        """Frees a slot: the caller has removed a chunk's file."""
        self._slots.release()

    def close(self) -> None:
        """Stops the writer and removes every chunk file it made that is still there."""
        self._stop.set()
        self._slots.release()  # wakes a writer waiting for a slot
        self._thread.join()
        for path in self._made:
            path.unlink(missing_ok=True)

    def _wait_for_slot(self) -> bool:
        while not self._slots.acquire(timeout=0.2):
            if self._stop.is_set():
                return False
        return not self._stop.is_set()

    def _run(self) -> None:
        current: tuple[Path, TextIO] | None = None
        lines = 0
        first = 1
        try:
            for batch in self._batches:
                if self._stop.is_set():
                    return
                if not batch:
                    continue
                if current is None:
                    if not self._wait_for_slot():
                        return
                    fd, name = tempfile.mkstemp(
                        prefix="demo-data-", suffix=".ndjson", dir=self._directory
                    )
                    current = (Path(name), os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20))
                    self._made.append(current[0])
                    lines = 0
                current[1].write("\n".join(batch))
                current[1].write("\n")
                lines += len(batch)
                # The first chunk is small so that importing starts early.
                if lines >= (self._chunk_lines if first > 1 else self._first_lines):
                    current[1].close()
                    self._queue.put(Chunk(current[0], lines, first))
                    current = None
                    first += lines
            if current is not None:
                current[1].close()
                self._queue.put(Chunk(current[0], lines, first))
                current = None
        except BaseException as exc:  # handed to the consumer, which raises it
            self._queue.put(exc)
        finally:
            if current is not None:  # stopped or failed half-way through a chunk
                current[1].close()
                current[0].unlink(missing_ok=True)
            self._queue.put(None)


def parse_end(value: str | None, now: dt.datetime) -> dt.datetime:
    """The end of the generated window: ``value`` as ISO-8601 (UTC unless it has an offset).

    Raises:
        ValueError: Not an ISO date-time, or more than a day after `now` (the importer
            rejects events from the future).
    """
    if value is None:
        return now
    end = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    if end > now + dt.timedelta(days=1):
        raise ValueError("must not be more than a day in the future")
    return end


def build_into_store(
    services: Services,
    *,
    site: Site,
    events: int,
    days: int,
    end: dt.datetime,
    seed: int,
    chunk_lines: int = CHUNK_EVENTS,
    progress: Callable[[str, int], None] | None = None,
) -> DemoDataReport:
    """Generates traffic for `site` and imports it into the open store, chunk by chunk.

    Args:
        services: Open services; this process must hold the event store.
        site: The site the traffic is for.
        events: About how many events to generate.
        days: Length of the window, ending at `end`.
        end: End of the window (aware).
        seed: Generator seed: the same arguments give the same events.
        chunk_lines: Lines per chunk file.
        progress: Called with each import stage's name and the lines imported so far.

    Returns:
        The summed import reports.
    """
    from footfall.lifecycle.importing import import_ndjson

    report = DemoDataReport()

    def stage(name: str) -> None:
        if progress is not None:
            progress(name, report.lines)

    started = time.perf_counter()
    writer = ChunkWriter(
        generate_batches(domain=site.domain, events=events, days=days, end=end, seed=seed),
        directory=services.settings.data_dir,
        chunk_lines=chunk_lines,
    )
    try:
        for chunk in writer:
            try:
                result = import_ndjson(
                    services, site=site, path=chunk.path, progress=stage if progress else None
                )
            finally:
                chunk.path.unlink(missing_ok=True)
                writer.release()
            report.add(result.as_dict(), first_line=chunk.first_line)
            if progress is not None:
                progress("imported", report.lines)
    finally:
        writer.close()
    report.seconds = time.perf_counter() - started
    return report


def post_chunk(url: str, key: str, path: Path, timeout: float = 600.0) -> dict[str, Any]:
    """POSTs one NDJSON file to a server's import endpoint and returns its JSON report.

    Args:
        url: The full import URL, ``.../api/import?site_id=DOMAIN``.
        key: An API key with the ``events:import`` scope.
        path: The NDJSON file to send.
        timeout: Seconds to wait for the server's answer.

    Raises:
        FootfallError: The server is unreachable, refused the key or the site, or failed.
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise FootfallError(f"{url} is not an http:// or https:// URL")
    size = path.stat().st_size
    with path.open("rb") as body:
        # The scheme is checked above: no file:// or custom schemes.
        request = urllib.request.Request(  # noqa: S310
            url,
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/x-ndjson",
                "Content-Length": str(size),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except urllib.error.HTTPError as exc:
            detail: Any = exc.read().decode(errors="replace")
            with contextlib.suppress(ValueError):
                detail = json.loads(detail)
            if exc.code == 400 and isinstance(detail, dict) and "lines" in detail:
                return detail  # every line rejected: the report says which and why
            if isinstance(detail, dict):
                detail = detail.get("error", detail)
            if exc.code in (401, 403):
                raise FootfallError(
                    f"the server refused the key or does not know the site ({exc.code}: "
                    f"{detail}); the key needs the events:import scope and the site must exist "
                    "there ('footfall site add DOMAIN')"
                ) from exc
            raise FootfallError(f"the server answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FootfallError(f"cannot reach {url}: {reason}") from exc


def send_to_server(
    url: str,
    key: str,
    *,
    domain: str,
    events: int,
    days: int,
    end: dt.datetime,
    seed: int,
    chunk_lines: int = ONLINE_CHUNK_EVENTS,
    progress: Callable[[str, int], None] | None = None,
) -> DemoDataReport:
    """Generates traffic for `domain` and POSTs it to a running server in chunks.

    Args:
        url: The server's base URL.
        key: An API key with the ``events:import`` scope.
        domain: A site registered on that server.
        events: About how many events to generate.
        days: Length of the window, ending at `end`.
        end: End of the window (aware).
        seed: Generator seed.
        chunk_lines: Lines per request.
        progress: Called with a stage name and the lines sent so far.

    Returns:
        The summed import reports the server answered.
    """
    endpoint = f"{url.rstrip('/')}{IMPORT_PATH}?{urllib.parse.urlencode({'site_id': domain})}"
    report = DemoDataReport()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="footfall-demo-data-") as tmp:
        # An empty body first: a refused key or an unknown site is answered before any chunk
        # is sent (the server would otherwise answer while a large body is still being sent,
        # and the sender see a broken pipe instead of the reason).
        probe = Path(tmp) / "probe.ndjson"
        probe.touch()
        post_chunk(endpoint, key, probe)
        writer = ChunkWriter(
            generate_batches(domain=domain, events=events, days=days, end=end, seed=seed),
            directory=Path(tmp),
            chunk_lines=chunk_lines,
        )
        try:
            for chunk in writer:
                if progress is not None:
                    progress("sending", report.lines)
                try:
                    answer = post_chunk(endpoint, key, chunk.path)
                finally:
                    chunk.path.unlink(missing_ok=True)
                    writer.release()
                report.add(answer, first_line=chunk.first_line)
                if progress is not None:
                    progress("sent", report.lines)
        finally:
            writer.close()
    report.seconds = time.perf_counter() - started
    return report
