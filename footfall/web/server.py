"""The HTTP server: uvicorn on sockets bound beforehand.

`footfall serve` binds its port with `bind_sockets` before it says it listens, so that the
line is true when it appears and a busy port is one clear error; `run_server` then serves the
app on those sockets.
"""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

from footfall.errors import ConfigError

# Pending connections the kernel queues before the server accepts them (uvicorn's default).
BACKLOG = 2048


class StoppingServer(uvicorn.Server):
    """uvicorn's server, running a callback once it has shut down."""

    def __init__(
        self, config: uvicorn.Config, *, on_stopped: Callable[[], None] | None = None
    ) -> None:
        """A server for `config`; `on_stopped` runs once it has shut down."""
        super().__init__(config)
        self._on_stopped = on_stopped

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


def run_server(
    app: Any,
    sockets: list[socket.socket],
    *,
    log_level: str,
    on_stopped: Callable[[], None] | None = None,
) -> None:
    """Serves `app` on `sockets` until SIGINT or SIGTERM.

    Args:
        app: The ASGI app.
        sockets: Listening sockets (`bind_sockets`).
        log_level: uvicorn's log level.
        on_stopped: Runs once the server and the app's lifespan have shut down.
    """
    config = uvicorn.Config(
        app,
        http="httptools",
        backlog=BACKLOG,
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
    StoppingServer(config, on_stopped=on_stopped).run(sockets=sockets)
