"""The HTTP server: uvicorn with read timeouts, a keep-alive timeout and a connection cap.

uvicorn closes idle keep-alive connections, but a connection that has not sent a complete
request is held for ever, and nothing bounds how many connections are open: a few clients
sending half a request each could hold every file descriptor of the process.
`LimitedHttpToolsProtocol` extends uvicorn's httptools protocol with these limits, and
`LimitedServer` checks the deadlines on uvicorn's 0.1-second tick:

- **Header timeout.** A connection that has not sent complete request headers within
  ``header_timeout_s`` seconds of opening (or of the first byte of a later request) is closed.
- **Body timeout.** A connection whose request body gets no byte for ``body_timeout_s``
  seconds is closed (time during which footfall itself stopped reading does not count).
- **Keep-alive timeout.** uvicorn's own: an idle connection is closed after
  ``keep_alive_timeout_s`` seconds.
- **Connection cap.** At ``max_connections`` open connections, a new connection first makes
  room by closing the connection that has waited longest for a request (idle, or still
  sending its headers); when every connection is serving a request, the new one is closed at
  once. Closing costs nothing, where a 503 would first need the request read, which is the
  very thing a slow client withholds; and making room means slow clients cannot shut a
  normal one out, since a normal request's headers arrive at once.

The hot path pays a few dictionary operations per request. Each dictionary keeps its
connections in the order of their deadlines, so the tick only looks at expired ones and
making room takes constant time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import itertools
import logging
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from footfall.errors import ConfigError
from footfall.lifecycle.control import socket_address
from footfall.settings import Settings

log = logging.getLogger(__name__)

# Pending connections the kernel queues before the server accepts them (uvicorn's default).
BACKLOG = 2048
# File descriptors kept for the process itself beyond its connections: the stores, the
# journal, logs, pipes, the event loop.
FD_RESERVE = 256
# Least time, in seconds, between two log lines counting the connections the limits closed.
REPORT_SECONDS = 60.0
# Connections looked at, oldest first, for one that can make room (most are the first).
_ROOM_CANDIDATES = 8


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How long a client may take and how many connections it may hold.

    Attributes:
        header_timeout: Seconds to send complete request headers.
        body_timeout: Seconds a request body may go without a byte arriving.
        keep_alive: Seconds an idle keep-alive connection is kept.
        max_connections: Most connections open at once.
    """

    header_timeout: float
    body_timeout: float
    keep_alive: int
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        """The limits the settings ask for."""
        return cls(
            header_timeout=settings.header_timeout_s,
            body_timeout=settings.body_timeout_s,
            keep_alive=settings.keep_alive_timeout_s,
            max_connections=settings.max_connections,
        )


class ConnectionBook:
    """The connections of one server that wait for their client, longest-waiting first.

    Each dictionary maps a connection to a time on the event loop's clock, in the order the
    connections were added, which is the order of those times: the oldest come first.

    Attributes:
        limits: The limits enforced.
        pending: Connections whose request headers are incomplete, with the time they were
            opened or their request began.
        receiving: Connections whose request body is incomplete, with the time its last
            bytes (or the headers) arrived.
        idle: Keep-alive connections between two requests, with the time they became idle.
        refused: Connections closed at once because every connection served a request.
        evicted: Connections closed to make room for a new one.
        timed_out: Connections closed for sending their headers or body too slowly.
    """

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.pending: dict[LimitedHttpToolsProtocol, float] = {}
        self.receiving: dict[LimitedHttpToolsProtocol, float] = {}
        self.idle: dict[LimitedHttpToolsProtocol, float] = {}
        self.refused = 0
        self.evicted = 0
        self.timed_out = 0

    def forget(self, connection: LimitedHttpToolsProtocol) -> None:
        """Drops a connection that is closed."""
        self.pending.pop(connection, None)
        self.receiving.pop(connection, None)
        self.idle.pop(connection, None)

    def make_room(self) -> bool:
        """Closes the connection that has waited longest for a request, if there is one.

        Returns:
            False when every connection is serving a request.
        """
        oldest: LimitedHttpToolsProtocol | None = None
        since = float("inf")
        for connection, began in itertools.islice(self.pending.items(), _ROOM_CANDIDATES):
            if not connection.serving:  # a pipelined request may be under way
                oldest, since = connection, began
                break
        for connection, began in itertools.islice(self.idle.items(), 1):
            if began < since:
                oldest = connection
        if oldest is None:
            return False
        self.forget(oldest)
        oldest.drop()
        self.evicted += 1
        return True

    def close_late(self, now: float) -> None:
        """Closes the connections past the header timeout or the body timeout."""
        self._close_late(self.pending, now, self.limits.header_timeout)
        self._close_late(self.receiving, now, self.limits.body_timeout)

    def _close_late(
        self, waiting: dict[LimitedHttpToolsProtocol, float], now: float, timeout: float
    ) -> None:
        deadline = now - timeout
        late = list(itertools.takewhile(lambda item: item[1] <= deadline, waiting.items()))
        for connection, _ in late:
            del waiting[connection]
            if connection.flow is not None and connection.flow.read_paused:
                # uvicorn stopped reading (the app is behind): the wait is not the client's.
                waiting[connection] = now
            else:
                self.forget(connection)
                connection.drop()
                self.timed_out += 1

    def report(self) -> tuple[int, int, int]:
        """The refused, evicted and timed-out counts since the last report (then zeroed)."""
        counts = (self.refused, self.evicted, self.timed_out)
        self.refused = self.evicted = self.timed_out = 0
        return counts


class LimitedConfig(uvicorn.Config):
    """uvicorn's configuration with the connection limits, shared by every connection."""

    def __init__(self, app: Any, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(
            app,
            http=LimitedHttpToolsProtocol,
            timeout_keep_alive=limits.keep_alive,
            backlog=BACKLOG,
            **kwargs,
        )
        self.book = ConnectionBook(limits)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol under the header and body timeouts and the connection cap.

    Attributes:
        book: The server's record of the connections waiting for their clients.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        """One connection's protocol; `config` must be a `LimitedConfig`."""
        super().__init__(config, server_state, app_state, _loop)
        if not isinstance(config, LimitedConfig):
            raise TypeError("LimitedHttpToolsProtocol needs a LimitedConfig")
        self.book = config.book

    @property
    def serving(self) -> bool:
        """True while a request of this connection is being answered."""
        return self.cycle is not None and not self.cycle.response_complete

    def drop(self) -> None:
        """Closes the connection now, no longer counting it as open."""
        self.connections.discard(self)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Admits the connection under the cap, starting its header clock."""
        book = self.book
        if len(self.connections) >= book.limits.max_connections and not book.make_room():
            book.refused += 1
            self.transport = transport  # for `connection_lost`
            transport.close()
            return
        super().connection_made(transport)
        book.pending[self] = self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forgets the connection."""
        self.book.forget(self)
        super().connection_lost(exc)

    # The parser's callbacks run for every request: they call the base class directly
    # (cheaper than super()) and touch each dictionary once.

    def on_message_begin(self) -> None:
        """Starts the header clock of a request after the first (the first's began on open)."""
        HttpToolsProtocol.on_message_begin(self)
        book = self.book
        book.idle.pop(self, None)
        if self not in book.pending:
            book.pending[self] = self.loop.time()

    def on_headers_complete(self) -> None:
        """Stops the header clock and starts the body clock."""
        book = self.book
        book.pending.pop(self, None)
        book.receiving[self] = self.loop.time()
        HttpToolsProtocol.on_headers_complete(self)

    def on_body(self, body: bytes) -> None:
        """Restarts the body clock: bytes arrived."""
        receiving = self.book.receiving
        if receiving.pop(self, None) is not None:
            receiving[self] = self.loop.time()  # to the end: the order stays by time
        HttpToolsProtocol.on_body(self, body)

    def on_message_complete(self) -> None:
        """Stops the body clock."""
        self.book.receiving.pop(self, None)
        HttpToolsProtocol.on_message_complete(self)

    def on_response_complete(self) -> None:
        """Counts the connection as idle once uvicorn armed its keep-alive timer."""
        HttpToolsProtocol.on_response_complete(self)
        if self.timeout_keep_alive_task is not None:
            self.book.idle[self] = self.loop.time()


class LimitedServer(uvicorn.Server):
    """uvicorn's server, closing late connections on its tick and reporting the closes."""

    def __init__(
        self, config: LimitedConfig, *, on_stopped: Callable[[], None] | None = None
    ) -> None:
        """A server for `config`; `on_stopped` runs once it has shut down."""
        super().__init__(config)
        self.book = config.book
        self._on_stopped = on_stopped
        self._next_report = 0.0

    async def on_tick(self, counter: int) -> bool:
        """Every 0.1 s: closes connections past their timeouts, then uvicorn's tick."""
        now = asyncio.get_running_loop().time()
        book = self.book
        book.close_late(now)
        if now >= self._next_report and (book.refused or book.evicted or book.timed_out):
            # The first closes at once, then at most one line a minute.
            self._next_report = now + REPORT_SECONDS
            refused, evicted, timed_out = book.report()
            log.warning(
                "connection limits: closed %d new connections while every connection "
                "served a request, %d waiting connections to make room (max_connections "
                "%d), %d that sent their request headers or body too slowly",
                refused,
                evicted,
                book.limits.max_connections,
                timed_out,
            )
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Shuts down gracefully as uvicorn does (lifespan included), then runs `on_stopped`.

        Runs before uvicorn re-raises the signal that stopped it, which would otherwise end
        the process before the caller could close what it opened.
        """
        try:
            await super().shutdown(sockets)
        finally:
            if self._on_stopped is not None:
                self._on_stopped()


def bind_sockets(host: str, port: int) -> list[socket.socket]:
    """Binds and listens on every address of ``host:port``, like uvicorn would.

    Bound here, before the server runs, so that "listening" is only said once it is true and a
    busy port is one clear error.

    Returns:
        Listening sockets, one per address family the host resolves to.

    Raises:
        ConfigError: The address is in use, not on this machine, or needs privileges.
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {where}: {exc.strerror}") from exc
    sockets: list[socket.socket] = []
    seen: set[tuple[int, Any]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            if sys.platform != "win32":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise ConfigError(_bind_error(where, exc)) from exc
    return sockets


def bind_control_socket(path: Path) -> socket.socket | None:
    """Listens on the control socket at `path`, readable and writable by this user only.

    A file left there by an earlier process is replaced: the caller holds the event store, so
    no other footfall process serves this data directory. When the socket cannot be made (a
    file system without sockets), the server runs without it and a warning says what a
    command then cannot do.

    Returns:
        The listening socket, or None.
    """
    try:
        path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except (OSError, AttributeError) as exc:  # AttributeError: no AF_UNIX on this platform
        log.warning("no control socket at %s (%s): commands cannot reach this server", path, exc)
        return None
    try:
        with socket_address(path) as address:
            # Created with no permission for others; the chmod makes that explicit.
            old_mask = os.umask(0o177)
            try:
                sock.bind(address)
            finally:
                os.umask(old_mask)
            os.chmod(address, 0o600)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        log.warning(
            "no control socket at %s (%s): footfall backup, export and site reset cannot "
            "reach this server",
            path,
            exc,
        )
        return None
    return sock


def _bind_error(where: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where} is already in use (stop the other process using it, or choose another "
            "port with --port or FOOTFALL_PORT)"
        )
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: no such address on this machine (check --host)"
    return f"cannot listen on {where}: {exc.strerror or exc}"


def connection_cap(limits: ConnectionLimits) -> ConnectionLimits:
    """`limits` with a cap the process's file descriptor limit can hold.

    Raises the soft limit towards the hard one when the cap needs it (as Go's runtime does); a
    cap that still does not fit is lowered, with a warning, so that the cap, not a failing
    ``accept``, is what refuses connections.
    """
    try:
        import resource
    except ImportError:  # not on this platform
        return limits
    needed = limits.max_connections + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return limits
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    except (OSError, ValueError):
        pass
    if soft >= needed:
        return limits
    fitting = max(1, soft - FD_RESERVE)
    log.warning(
        "max_connections %d needs %d file descriptors but the process may open %d: serving "
        "at most %d connections (raise the limit with ulimit -n or LimitNOFILE=)",
        limits.max_connections,
        needed,
        soft,
        fitting,
    )
    return dataclasses.replace(limits, max_connections=fitting)


def run_server(
    app: Any,
    sockets: list[socket.socket],
    *,
    limits: ConnectionLimits,
    log_level: str,
    on_stopped: Callable[[], None] | None = None,
) -> None:
    """Serves `app` on `sockets` until SIGINT or SIGTERM, under `limits`.

    Args:
        app: The ASGI app.
        sockets: Listening sockets (`bind_sockets`).
        limits: The connection limits.
        log_level: uvicorn's log level.
        on_stopped: Runs once the server and the app's lifespan have shut down.
    """
    config = LimitedConfig(
        app,
        limits=connection_cap(limits),
        log_level=log_level,
        # footfall's logging (footfall.monitoring.logs) renders uvicorn's lines too, and its
        # request-log middleware writes the access log (with an anonymised client address).
        log_config=None,
        access_log=False,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        lifespan="on",
        timeout_graceful_shutdown=10,
        # footfall resolves client addresses itself, in Plausible's header order
        # (footfall.ingest.clientip); uvicorn's rewrite would only cost time.
        proxy_headers=False,
        server_header=False,
    )
    LimitedServer(config, on_stopped=on_stopped).run(sockets=sockets)
