"""Novel User-Agent flood: does the server stay responsive while every event brings a new agent?

Usage::

    python bench/novel_user_agents.py --rate 100 --duration 60 [--ua-length 1024] [--json]

Starts ``footfall serve`` on a free 127.0.0.1 port pinned to CPU 0 with a fresh data directory
(``footfall site add``), then from CPU 1, for ``--duration`` seconds (after ``--warmup``
unmeasured seconds of the same), sends ``--rate`` tracker events per second (``POST
/api/event``), each with a User-Agent never sent before (``--ua-length`` random characters from
``--alphabet``) and its own ``X-Forwarded-For`` address, so that neither the parser's cache nor
the per-IP rate limit absorbs them. At the same time it
asks ``GET /healthz`` every ``--probe-interval`` seconds. Both are open loop: a request is due
at its planned time whether or not earlier ones were answered, and its latency counts from
then, so a stalled event loop shows as latency instead of as fewer requests. Events go over
``--connections`` keep-alive connections, probes over their own 8; at most ``--max-in-flight``
events are outstanding (more are counted as not sent); after the flood, answers are awaited
for at most ``--grace`` seconds. ``--same-agent`` is the control: one agent for every event.
On a shared machine, ``--nice -10`` (as root) keeps other work from preempting the server and
the generator; compare with the control run either way.

Prints the ``/healthz`` latency percentiles, the events answered 202 per second during the
flood, their latency, and the server's CPU use. The server is stopped (SIGTERM by PID) at the
end. Load only ever goes to the 127.0.0.1 server this script started, for a bounded time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson
import psutil
from ingest_http import start_footfall, stop_process

DOMAIN = "bench.example"
FOOTFALL = [sys.executable, "-m", "footfall"]
REQUEST_TIMEOUT_S = 30.0
PROBE_CONNECTIONS = 8

# "alnum" (lower-case letters and digits, no separators) is the costliest shape for crawler
# patterns that begin with an unbounded character class; "printable" mixes in punctuation.
ALPHABETS = {
    "alnum": string.ascii_lowercase + string.digits,
    "printable": string.ascii_letters + string.digits + string.punctuation + " ",
    "hex": string.hexdigits[:16],
}


@dataclass
class Figures:
    """Latencies in milliseconds and counts of one flood."""

    healthz_ms: list[float] = field(default_factory=list)
    healthz_failed: int = 0
    event_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    dropped: int = 0
    not_sent: int = 0
    unfinished: int = 0
    window_end: float = float("inf")
    accepted_in_window: int = 0
    generator_lag_ms: float = 0.0


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``nan`` when there are no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def novel_agent(rng: random.Random, length: int, alphabet: str, serial: int) -> str:
    """A User-Agent no one sent before: a serial number, then random characters."""
    head = f"{serial:x}"
    return head + "".join(rng.choices(alphabet, k=max(0, length - len(head))))


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams.

    A general-purpose client (httpx) spends about a millisecond of CPU per request and more
    with hundreds of connections; on a shared core that would make the generator, not the
    server, the bottleneck. This one writes prepared bytes and reads the status and headers.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, raw: bytes) -> tuple[int, dict[str, str]]:
        """Sends one request and returns the status and the (lower-case) headers.

        A kept-alive connection that the server closed while idle answers nothing at all; the
        request is then sent again once on a new connection (the server never saw it).
        """
        reused = self._streams is not None
        try:
            return await self._exchange(raw)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if not reused or getattr(exc, "partial", b""):
                raise
            self.close()
            return await self._exchange(raw)

    async def _exchange(self, raw: bytes) -> tuple[int, dict[str, str]]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.write(raw)
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return int(head[0].split()[1]), headers

    def close(self) -> None:
        """Drops the connection; the next request opens a new one."""
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


Job = tuple[float, bytes]  # (planned send time, request bytes)


async def _worker(
    queue: asyncio.Queue[Job | None],
    connection: Connection,
    done: Callable[[float, int, dict[str, str]], None],
    failed: Callable[[str], None],
) -> None:
    """Sends queued requests one after another on one connection."""
    while (job := await queue.get()) is not None:
        planned, raw = job
        try:
            status, headers = await asyncio.wait_for(connection.request(raw), REQUEST_TIMEOUT_S)
        except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError) as exc:
            connection.close()
            failed(type(exc).__name__)
        else:
            # From the planned time: waiting for a free connection is part of the latency.
            done((time.monotonic() - planned) * 1000, status, headers)
        finally:
            queue.task_done()
    connection.close()


def _event_request(host: str, agent: str, address: str) -> bytes:
    body = orjson.dumps({"n": "pageview", "u": f"https://{DOMAIN}/flood", "d": DOMAIN})
    head = (
        f"POST /api/event HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\n"
        f"User-Agent: {agent}\r\nX-Forwarded-For: {address}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


async def _at_rate(
    rate: float, seconds: float, start: float, launch: Callable[[int, float], None]
) -> float:
    """Calls ``launch(i, planned)`` at ``planned = start + i / rate`` until the end.

    Returns:
        The largest delay behind plan, in milliseconds (a starved generator shows here).
    """
    lag = 0.0
    for i in range(int(rate * seconds)):
        planned = start + i / rate
        delay = planned - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        lag = max(lag, (time.monotonic() - planned) * 1000)
        launch(i, planned)
    return lag


async def flood(url: str, args: argparse.Namespace, seconds: float, first: int = 0) -> Figures:
    """Runs the flood and the probes for ``seconds``; returns what was seen.

    Args:
        url: The server's base URL.
        args: The command line.
        seconds: How long to send.
        first: The serial number of the first agent (every agent of a run is new).
    """
    figures = Figures()
    rng = random.Random(args.seed + first)
    alphabet = ALPHABETS[args.alphabet]
    fixed = novel_agent(rng, args.ua_length, alphabet, 0) if args.same_agent else ""
    host = url.removeprefix("http://")
    name, _, port = host.partition(":")
    events: asyncio.Queue[Job | None] = asyncio.Queue()
    probes: asyncio.Queue[Job | None] = asyncio.Queue()
    in_flight = 0

    def event_done(ms: float, status: int, headers: dict[str, str]) -> None:
        nonlocal in_flight
        in_flight -= 1
        figures.event_ms.append(ms)
        figures.statuses[str(status)] += 1
        if status == 202 and time.monotonic() <= figures.window_end:
            figures.accepted_in_window += 1
        figures.dropped += int(headers.get("x-plausible-dropped", "0"))

    def event_failed(reason: str) -> None:
        nonlocal in_flight
        in_flight -= 1
        figures.statuses[reason] += 1

    def probe_done(ms: float, status: int, _: dict[str, str]) -> None:
        if status == 200:
            figures.healthz_ms.append(ms)
        else:
            figures.healthz_failed += 1

    def probe_failed(_: str) -> None:
        figures.healthz_failed += 1

    def send(i: int, planned: float) -> None:
        nonlocal in_flight
        if in_flight >= args.max_in_flight:
            figures.not_sent += 1
            return
        in_flight += 1
        n = first + i
        agent = fixed or novel_agent(rng, args.ua_length, alphabet, n)
        address = f"{1 + n % 223}.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        events.put_nowait((planned, _event_request(host, agent, address)))

    probe_request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()

    def probe(_: int, planned: float) -> None:
        probes.put_nowait((planned, probe_request))

    workers = [
        *(
            asyncio.create_task(
                _worker(events, Connection(name, int(port)), event_done, event_failed)
            )
            for _ in range(args.connections)
        ),
        *(
            asyncio.create_task(
                _worker(probes, Connection(name, int(port)), probe_done, probe_failed)
            )
            for _ in range(PROBE_CONNECTIONS)
        ),
    ]
    start = time.monotonic() + 0.1
    figures.window_end = start + seconds
    lags = await asyncio.gather(
        _at_rate(args.rate, seconds, start, send),
        _at_rate(1 / args.probe_interval, seconds, start, probe),
    )
    figures.generator_lag_ms = max(lags)
    try:
        await asyncio.wait_for(asyncio.gather(events.join(), probes.join()), timeout=args.grace)
    except TimeoutError:
        figures.unfinished = in_flight
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return figures


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _renice(pid: int, niceness: int) -> None:
    """Sets the niceness of every thread of ``pid`` (Linux applies it per thread)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.setpriority(os.PRIO_PROCESS, int(task.name), niceness)


def _cpu_seconds(process: psutil.Process) -> float:
    """CPU seconds of the server and its workers (``footfall serve`` may fork them)."""
    total = 0.0
    for each in (process, *process.children(recursive=True)):
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def main() -> None:
    """Starts a server, floods it and prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of flood")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--ua-length", type=int, default=1024, help="characters per agent")
    parser.add_argument("--alphabet", choices=sorted(ALPHABETS), default="alnum")
    parser.add_argument("--probe-interval", type=float, default=0.05, help="seconds")
    parser.add_argument("--connections", type=int, default=64, help="for events")
    parser.add_argument("--max-in-flight", type=int, default=512)
    parser.add_argument("--grace", type=float, default=30.0, help="seconds to await answers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--nice",
        type=int,
        help="niceness for the server and this generator (below 0 needs root): on a shared "
        "machine, keeps other work from preempting them",
    )
    parser.add_argument(
        "--same-agent",
        action="store_true",
        help="control run: every event sends the same agent (parsed once, then cached)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args()
    if not (0 < args.rate <= 10_000 and 0 < args.duration <= 3600 and args.probe_interval > 0):
        parser.error("--rate must be in (0, 10000], --duration in (0, 3600] seconds")
    with tempfile.TemporaryDirectory(prefix="footfall-novel-ua-") as tmp:
        data = Path(tmp) / "data"
        subprocess.run(
            [*FOOTFALL, "site", "add", DOMAIN, "--data-dir", str(data)],
            check=True,
            capture_output=True,
        )
        server, url = start_footfall(FOOTFALL, data, Path(tmp) / "server.log")
        try:
            if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
                os.sched_setaffinity(0, {1})  # the load on the other core than the server
            if args.nice is not None:
                _renice(server.pid, args.nice)
                _renice(os.getpid(), args.nice)
            watched = psutil.Process(server.pid)
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                # Unmeasured: the first events load what the server loads lazily.
                runner.run(flood(url, args, args.warmup, first=10**9))
                cpu_before, wall_before = _cpu_seconds(watched), time.monotonic()
                figures = runner.run(flood(url, args, args.duration))
            cpu = (_cpu_seconds(watched) - cpu_before) / (time.monotonic() - wall_before)
        finally:
            stop_process(server)
    report(args, figures, cpu)


def report(args: argparse.Namespace, figures: Figures, cpu: float) -> None:
    """Prints the figures as Markdown, or as JSON with ``--json``."""
    accepted = figures.statuses.get("202", 0)
    health = {
        f"p{int(q * 100)}": round(percentile(figures.healthz_ms, q), 2) for q in (0.5, 0.9, 0.99)
    }
    health["max"] = round(max(figures.healthz_ms, default=float("nan")), 2)
    summary = {
        "config": {k: v for k, v in vars(args).items() if k != "json"},
        "healthz_ms": health,
        "healthz_answered": len(figures.healthz_ms),
        "healthz_failed": figures.healthz_failed,
        "events_sent": sum(figures.statuses.values()) + figures.unfinished,
        "events_accepted": accepted,
        "events_accepted_per_s": round(figures.accepted_in_window / args.duration, 1),
        "statuses": dict(figures.statuses),
        "events_dropped_as_bots": figures.dropped,
        "event_ms": {
            "p50": round(percentile(figures.event_ms, 0.5), 2),
            "p99": round(percentile(figures.event_ms, 0.99), 2),
        },
        "not_sent_in_flight_cap": figures.not_sent,
        "unfinished_after_grace": figures.unfinished,
        "server_cpu": round(cpu, 3),
        "generator_lag_ms": round(figures.generator_lag_ms, 1),
    }
    if args.json:
        print(json.dumps(summary, indent=2, default=asdict))
        return
    print(
        f"Novel User-Agent flood: {args.rate:g} events/s for {args.duration:g} s, each with a new "
        f"{args.ua_length}-character agent ({args.alphabet}); /healthz every "
        f"{args.probe_interval * 1000:g} ms\n"
    )
    print("| /healthz p50 | p90 | p99 | max | answered | failed |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {health['p50']:.1f} ms | {health['p90']:.1f} ms | {health['p99']:.1f} ms "
        f"| {health['max']:.1f} ms | {len(figures.healthz_ms)} | {figures.healthz_failed} |"
    )
    print()
    print("| events sent | 202/s during the flood | event p50 | event p99 | server CPU |")
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {summary['events_sent']:,} | {summary['events_accepted_per_s']:,.1f} "
        f"| {summary['event_ms']['p50']:.1f} ms | {summary['event_ms']['p99']:.1f} ms "
        f"| {cpu:.0%} |"
    )
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(figures.statuses.items()))
    print(
        f"\nstatuses: {statuses}; dropped as bots: {figures.dropped}; not sent (in-flight cap): "
        f"{figures.not_sent}; unanswered after the grace period: {figures.unfinished}; "
        f"the generator ran at most {figures.generator_lag_ms:.0f} ms behind plan"
    )
    verdict = "meets" if health["p99"] < 50 else "misses"
    print(f"{verdict} the /healthz p99 < 50 ms target")


if __name__ == "__main__":
    main()
