"""Commands that need the event store: done here, or by the server that holds it.

DuckDB lets one process open its file. When ``footfall serve`` runs on the data directory, a
command that needs the store (backup, export, site reset, retention) asks that server through
its control socket (`footfall.lifecycle.control`, ADR 0019) instead of failing with "in use".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpx

from footfall.errors import FootfallError, StoreBusyError
from footfall.lifecycle.control import ACTOR_HEADER, socket_address
from footfall.settings import Settings

T = TypeVar("T")
# DuckDB's memory limit for a command that scans the whole store (backup, export, restore):
# caching blocks it reads once gains nothing, and the limit keeps its memory flat.
LIFECYCLE_STORE_MEMORY_MB = 128
# Lifecycle requests may take minutes (a large backup): only connecting is bounded.
_TIMEOUT = httpx.Timeout(connect=10.0, read=None, write=None, pool=10.0)


@contextlib.contextmanager
def control_client(settings: Settings, actor: str) -> Iterator[httpx.Client]:
    """An HTTP client connected to the server's control socket.

    Raises:
        FootfallError: No server answers there.
    """
    path = settings.control_socket_path
    if not path.exists():
        raise FootfallError(
            f"the event store {settings.event_store_path} is in use by another footfall "
            f"process, and no server listens on {path}: stop that process, or run the "
            "command where the server runs"
        )
    with (
        socket_address(path) as address,
        httpx.Client(
            transport=httpx.HTTPTransport(uds=address),
            base_url="http://footfall",
            timeout=_TIMEOUT,
            headers={ACTOR_HEADER: actor},
        ) as client,
    ):
        yield client


def lifecycle_settings(settings: Settings) -> Settings:
    """`settings` for a command that scans the store: DuckDB's memory capped unless it is set."""
    if settings.store_memory_mb:
        return settings
    return settings.replace(store_memory_mb=LIFECYCLE_STORE_MEMORY_MB)


def here_or_on_server(
    settings: Settings,
    *,
    here: Callable[[], T],
    there: Callable[[httpx.Client], T],
    actor: str,
) -> T:
    """Runs `here` (which opens the event store); if a server holds it, `there` through it.

    Raises:
        FootfallError: Whatever either raises; a server's refusal is its message.
    """
    try:
        return here()
    except StoreBusyError:
        pass
    with control_client(settings, actor) as client:
        try:
            return there(client)
        except httpx.TransportError as exc:
            raise FootfallError(
                f"the server on {settings.control_socket_path} did not answer: {exc}"
            ) from exc


def raise_for_answer(response: httpx.Response) -> None:
    """Raises the server's ``{"error": ...}`` message as a FootfallError for a non-2xx answer."""
    if response.is_success:
        return
    try:
        response.read()
        message = response.json().get("error")
    except (ValueError, AttributeError, httpx.HTTPError):
        message = None
    raise FootfallError(str(message or f"the server answered {response.status_code}"))
