"""The load generator: simulated dashboard users and a paced ingest sender, on asyncio + httpx.

Each user loops until the deadline (or the request budget): it picks a query from the mix,
sends it, records how long it took and what came back, then thinks. Requests are never
retried, so a failing server sees no more traffic than a healthy one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib.util
import random
import signal
import ssl
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import httpx

from footfall import __version__
from footfall.devtools.loadtest.config import MAX_DURATION, LoadConfig, LoadTestError, check_url
from footfall.devtools.loadtest.dashboards import PANELS, dashboard, read_seconds
from footfall.devtools.loadtest.mix import (
    AGGREGATE,
    EVENT,
    EventFactory,
    QueryMix,
    StatsRequest,
    think_seconds,
)
from footfall.devtools.loadtest.report import (
    CACHE_HITS,
    CACHE_MISSES,
    RSS,
    Budgets,
    Recorder,
    ServerFigures,
    build_report,
    latency_summary,
    parse_metrics,
    progress_line,
)

# Ingest requests allowed in flight at once: a server slower than the rate throttles the sender
# instead of piling up connections.
MAX_INGEST_IN_FLIGHT = 64
METRICS_INTERVAL = 5.0


def _cache_missing_sniffio() -> None:
    """Makes httpcore's per-request ``import sniffio`` cheap when sniffio is not installed.

    httpcore imports it on every request; a failed import is not cached and searches
    ``sys.path`` each time (about a fifth of the client's time per request here). A ``None``
    entry in ``sys.modules`` makes the same import fail at once, which is what it would do.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return response.text[:200].strip()


class Progress:
    """Live progress on a stream: one rewritten line on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None, every: float = 5.0) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        # Off a terminal (CI logs), a line a second would drown the report.
        self.every = 1.0 if self.tty else every
        self._last: float | None = None

    def update(self, line: str, *, now: float, final: bool = False) -> None:
        """Shows `line` if it is time to, or if it is the `final` one."""
        if not final and self._last is not None and now - self._last < self.every - 1e-6:
            return
        self._last = now
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Ends the rewritten line, so the next output starts on a fresh one."""
        if self.tty and self._last is not None:
            self.stream.write("\n")
            self.stream.flush()


class LoadTest:
    """One run against one server; `run` returns the report.

    Args:
        config: What to run.
        budgets: Limits the report checks.
        progress: Where to show live progress, or None for none.
        clock: Monotonic seconds (injected for tests).
    """

    def __init__(
        self,
        config: LoadConfig,
        *,
        budgets: Budgets | None = None,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.url = check_url(config.url)
        self.budgets = budgets or Budgets()
        self.progress = progress
        self.clock = clock
        self.recorder = Recorder()
        self.server = ServerFigures()
        self.mix = QueryMix(config.site)
        self._stop = asyncio.Event()
        self._issued = 0
        self._stopped_by: str | None = None
        self._tls: ssl.SSLContext | None = None
        self._started = 0.0
        self._deadline = 0.0

    # -- requests ----------------------------------------------------------------------------

    def _end(self, reason: str) -> None:
        """Stops the run, remembering the first reason: duration, max_requests or interrupt."""
        if self._stopped_by is None:
            self._stopped_by = reason
        self._stop.set()

    def _may_send(self) -> bool:
        """Counts a request against --max-requests; False once the run should stop."""
        if not self._stop.is_set() and self.clock() >= self._deadline:
            self._end("duration")
        if self.config.max_requests is not None and self._issued >= self.config.max_requests:
            self._end("max_requests")
        if self._stop.is_set():
            return False
        self._issued += 1
        return True

    async def _send(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        *,
        endpoint: str,
        kind: str,
        expected: int,
    ) -> None:
        """Sends `request` once; records its latency and outcome under `endpoint` and `kind`."""
        started = self.clock()
        error: str | None = None
        try:
            # httpx's timeout bounds each phase (connect, each read); this bounds the whole.
            async with asyncio.timeout(self.config.timeout):
                response = await client.send(request)
                await response.aclose()
            if response.status_code != expected:
                error = str(response.status_code)
        except (httpx.TimeoutException, TimeoutError):
            error = "timeout"
        except httpx.TransportError:
            error = "connection"
        ended = self.clock()
        self.recorder.record(endpoint, kind, ended - started, error, at=ended)

    def _stats_request(self, client: httpx.AsyncClient, item: StatsRequest) -> httpx.Request:
        headers = {"Authorization": f"Bearer {self.config.key}"}
        if item.body is not None:
            return client.build_request(item.method, item.path, json=item.body, headers=headers)
        return client.build_request(item.method, item.path, params=item.params, headers=headers)

    async def _pause(self, seconds: float) -> None:
        """Sleeps `seconds`, or less when the run stops meanwhile."""
        if seconds <= 0:
            await asyncio.sleep(0)  # lets the other users run between back-to-back requests
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    def _client(self, connections: int) -> httpx.AsyncClient:
        if self._tls is None:
            # Loading the CA bundle takes tens of milliseconds: once, not once per user.
            self._tls = httpx.create_ssl_context()
        return httpx.AsyncClient(
            base_url=self.url,
            verify=self._tls,
            timeout=self.config.timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            headers={"User-Agent": f"footfall-loadtest/{__version__}"},
            follow_redirects=False,
        )

    async def _user(self, index: int) -> None:
        # One stream of randomness per user: a seed replays every user's sequence of queries.
        rng = random.Random(f"{self.config.seed}:user:{index}")  # noqa: S311  # nosec B311
        if self.config.ramp_up > 0 and self.config.users > 1:
            await self._pause(self.config.ramp_up * index / self.config.users)
        if self.config.mix == "dashboards":
            # A browser opens a dashboard's requests at once, over a few connections.
            async with self._client(2 + len(PANELS)) as client:
                await self._open_dashboards(client, rng)
            return
        # A client per user, as each person has their own browser; one connection is enough
        # for one query at a time, and a small pool is cheaper for httpx to manage.
        async with self._client(1) as client:
            while self._may_send():
                item = self.mix.pick(rng)
                request = self._stats_request(client, item)
                await self._send(client, request, endpoint=item.path, kind=item.kind, expected=200)
                await self._pause(think_seconds(rng, self.config.think_ms))

    async def _open_dashboards(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        """Opens dashboards (all their requests at once), reading each, until the run ends."""
        today = dt.datetime.now(dt.UTC).date()
        while True:
            view = dashboard(self.config.site, rng, today)
            sends = []
            for item in view:
                if not self._may_send():
                    break
                request = self._stats_request(client, item)
                sends.append(
                    self._send(client, request, endpoint=item.path, kind=item.kind, expected=200)
                )
            await asyncio.gather(*sends)
            if len(sends) < len(view):
                return
            await self._pause(read_seconds(rng))

    async def _ingest(self) -> None:
        async with self._client(MAX_INGEST_IN_FLIGHT) as client:
            await self._send_events(client)

    async def _send_events(self, client: httpx.AsyncClient) -> None:
        rate = self.config.ingest_rate
        rng = random.Random(f"{self.config.seed}:ingest")  # noqa: S311  # nosec B311
        factory = EventFactory(self.config.site, rng)
        slots = asyncio.Semaphore(MAX_INGEST_IN_FLIGHT)
        tasks: set[asyncio.Task[None]] = set()

        async def send_one(body: bytes, headers: dict[str, str]) -> None:
            request = client.build_request("POST", EVENT, content=body, headers=headers)
            try:
                await self._send(client, request, endpoint=EVENT, kind="ingest", expected=202)
            finally:
                slots.release()

        due = self.clock()
        while True:
            await self._pause(due - self.clock())
            await slots.acquire()
            if not self._may_send():
                slots.release()
                break
            task = asyncio.create_task(send_one(*factory.next()))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            # Paced on a schedule; after a stall it catches up on at most a second of events.
            due = max(due + 1 / rate, self.clock() - 1.0)
        if tasks:
            await asyncio.gather(*tasks)

    # -- the server's figures ----------------------------------------------------------------

    async def _metrics(self, client: httpx.AsyncClient) -> dict[str, float] | None:
        """The run's figures from GET /metrics, or None (and the reason kept) if unavailable."""
        headers = {}
        if self.config.metrics_token:
            headers["Authorization"] = f"Bearer {self.config.metrics_token}"
        try:
            response = await client.get("/metrics", headers=headers)
        except httpx.HTTPError as exc:
            self.server.error = f"GET /metrics failed: {type(exc).__name__}"
            return None
        if response.status_code != 200:
            hint = " (set --metrics-token)" if response.status_code in (401, 403) else ""
            self.server.error = f"GET /metrics answered {response.status_code}{hint}"
            return None
        sample = parse_metrics(response.text, (CACHE_HITS, CACHE_MISSES, RSS))
        self.server.observe_rss(sample)
        return sample

    async def _sample_metrics(self, client: httpx.AsyncClient) -> None:
        while not self._stop.is_set():
            await self._pause(METRICS_INTERVAL)
            if not self._stop.is_set():
                await self._metrics(client)

    async def _stop_at_deadline(self) -> None:
        await self._pause(self._deadline - self.clock())
        self._end("duration")

    def _on_interrupt(self) -> None:
        """The first Ctrl-C ends the run with a report; a second one interrupts as usual."""
        asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
        self._end("interrupt")

    async def _show_progress(self, progress: Progress) -> None:
        last_total, last_time = 0, self._started
        while not self._stop.is_set():
            await self._pause(1.0)
            now = self.clock()
            summary = latency_summary(self.recorder.recent(now))
            rate = (self.recorder.total - last_total) / max(now - last_time, 1e-9)
            last_total, last_time = self.recorder.total, now
            line = progress_line(
                elapsed=min(now - self._started, self.config.duration),
                total=self.config.duration,
                requests=self.recorder.total,
                rate=rate,
                errors=self.recorder.failed,
                p95=summary["p95"] if summary else None,
            )
            progress.update(line, now=now, final=self._stop.is_set())
        progress.close()

    # -- the run -----------------------------------------------------------------------------

    async def _check_key(self, client: httpx.AsyncClient) -> None:
        """One aggregate request, so a wrong URL, key or site fails before the run starts."""
        params = {"site_id": self.config.site, "period": "day", "metrics": "visitors"}
        headers = {"Authorization": f"Bearer {self.config.key}"}
        try:
            response = await client.get(AGGREGATE, params=params, headers=headers)
        except httpx.TimeoutException:
            raise LoadTestError(f"cannot reach {self.url}: timed out") from None
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise LoadTestError(f"cannot reach {self.url}: {reason}") from None
        status = response.status_code
        if status in (401, 403):
            raise LoadTestError(f"the server refused the key ({status}): {_error_detail(response)}")
        if status != 200:
            detail = _error_detail(response)
            raise LoadTestError(
                f"the server answered {status} to GET {AGGREGATE}"
                + (f": {detail}" if detail else "")
            )

    async def run(self) -> dict[str, Any]:
        """Checks the key, runs the users and the ingest sender, and reports.

        Raises:
            LoadTestError: The server is unreachable, or refused the key or the site.
        """
        config = self.config
        _cache_missing_sniffio()
        async with self._client(1) as client:  # the key check and /metrics
            await self._check_key(client)
            loop = asyncio.get_running_loop()
            with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals here
                loop.add_signal_handler(signal.SIGINT, self._on_interrupt)
            self.server.before = await self._metrics(client)
            self._started = self.clock()
            self._deadline = self._started + min(config.duration, MAX_DURATION)
            workers = [asyncio.create_task(self._user(i)) for i in range(config.users)]
            if config.ingest_rate > 0:
                workers.append(asyncio.create_task(self._ingest()))
            helpers = []
            if self.server.before is not None:
                helpers.append(asyncio.create_task(self._sample_metrics(client)))
            if self.progress is not None:
                helpers.append(asyncio.create_task(self._show_progress(self.progress)))
            stopper = asyncio.create_task(self._stop_at_deadline())
            await asyncio.gather(*workers)  # each ends at the deadline or the request budget
            self._end("duration")
            elapsed = self.clock() - self._started
            await asyncio.gather(stopper, *helpers)
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)
            if self.server.before is not None:
                self.server.after = await self._metrics(client)
        return build_report(
            config=config.public(),
            stopped_by=self._stopped_by or "duration",
            recorder=self.recorder,
            server=self.server,
            elapsed=elapsed,
            budgets=self.budgets,
        )


def run_loadtest(
    config: LoadConfig, *, budgets: Budgets | None = None, quiet: bool = False
) -> dict[str, Any]:
    """Runs a load test to completion (progress on stderr unless `quiet`) and returns its report.

    Raises:
        LoadTestError: The server is unreachable, or refused the key or the site.
        ValueError: The URL is not http(s).
    """
    progress = None if quiet else Progress(sys.stderr)
    return asyncio.run(LoadTest(config, budgets=budgets, progress=progress).run())
