"""From an event-store URL to a `clickhouse_connect` client, with the password kept out of sight.

``clickhouse://USER:PASS@HOST:8123/DB`` and ``http://…`` speak ClickHouse's HTTP interface,
``https://USER:PASS@HOST:8443/DB`` the same over TLS; ``chdb:///PATH`` runs the ClickHouse
engine inside this process on the directory PATH. chdb allows one engine (one path) per
process and several processes must not share a path, so a lock file guards it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from footfall.errors import StoreBusyError, StoreError

REDACTED = "********"
_DEFAULT_PORTS = {"clickhouse": 8123, "http": 8123, "https": 8443}
_LOCK_FILE = ".footfall-events.lock"


@dataclass(frozen=True)
class Target:
    """Where the events live, parsed from the URL.

    Attributes:
        url: The URL as given (holds the password: never show it; use `shown`).
        path: The chdb data directory, or None for a server.
        host: The server's host name.
        port: The server's HTTP(S) port.
        secure: HTTPS.
        username: The ClickHouse user.
        password: Its password.
        database: The database holding footfall's tables.
    """

    url: str
    path: Path | None
    host: str = ""
    port: int = 0
    secure: bool = False
    username: str = "default"
    password: str = ""
    database: str = "default"

    @property
    def shown(self) -> str:
        """The URL with the password replaced, for messages and logs."""
        if self.path is not None:
            return f"chdb://{self.path}"
        scheme = "https" if self.secure else "clickhouse"
        user = f"{self.username}:{REDACTED}@" if self.password else f"{self.username}@"
        return f"{scheme}://{user}{self.host}:{self.port}/{self.database}"

    def scrub(self, text: str) -> str:
        """`text` with the password removed wherever it appears."""
        return text.replace(self.password, REDACTED) if self.password else text


def parse_url(url: str) -> Target:
    """Parses an event-store URL.

    Raises:
        StoreError: Not a ClickHouse or chdb URL (the message never holds the password).
    """
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        if parts.netloc or not parts.path:
            raise StoreError("a chdb event store URL is chdb:///PATH (an absolute path)")
        return Target(url=url, path=Path(unquote(parts.path)))
    if parts.scheme not in _DEFAULT_PORTS:
        raise StoreError(f"not a ClickHouse URL (scheme {parts.scheme!r})")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise StoreError("the ClickHouse URL's port is not a number") from None
    if not parts.hostname:
        raise StoreError("the ClickHouse URL names no host")
    return Target(
        url=url,
        path=None,
        host=parts.hostname,
        port=port,
        secure=parts.scheme == "https",
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        database=parts.path.strip("/") or "default",
    )


class PathLock:
    """An exclusive lock on a chdb data directory, held while the store is open."""

    def __init__(self, directory: Path) -> None:
        """Takes the lock.

        Raises:
            StoreBusyError: Another process holds it.
            StoreError: The directory cannot be created.
        """
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot open the event store {directory}: {exc}") from exc
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip()
            os.close(self._fd)
            by = f" (PID {holder})" if holder.isdigit() else ""
            raise StoreBusyError(
                f"the event store {directory} is in use by another footfall process{by}"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        """Gives the lock up."""
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


def connect(target: Target, settings: dict[str, Any] | None = None) -> Client:
    """A client for the target, its database created if missing.

    Raises:
        StoreError: It cannot be reached (the message shows the URL without the password).
    """
    # The driver logs each failed request itself, with a traceback; the store's errors say
    # the same in one line (and the request's URL, which it logs, holds no password either).
    logging.getLogger("clickhouse_connect").setLevel(logging.CRITICAL)
    try:
        if target.path is not None:
            client = clickhouse_connect.get_client(
                dsn=f"chdb://{target.path}", settings=settings, query_limit=0
            )
        else:
            client = clickhouse_connect.get_client(
                host=target.host,
                port=target.port,
                username=target.username,
                password=target.password,
                secure=target.secure,
                # Requests from several threads share the client: no HTTP session to lock.
                autogenerate_session_id=False,
                # Every row of an answer: the stats engine applies its own limits.
                query_limit=0,
                settings=settings,
            )
        if target.database != "default":
            client.command(f"CREATE DATABASE IF NOT EXISTS `{target.database}`")
            client.database = target.database
    except (ClickHouseError, OSError) as exc:
        raise StoreError(
            f"cannot open the event store {target.shown}: {target.scrub(str(exc))}"
        ) from None
    return client


_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9 :_./,=()-]")


def outcome_unknown(exc: BaseException) -> bool:
    """True when a failed request may still have been carried out (no answer came back).

    An answer from ClickHouse carries an error code; a broken connection does not.
    """
    if isinstance(exc, OSError):
        return True
    return isinstance(exc, OperationalError) and getattr(exc, "code", None) is None


def query_tag(tag: str) -> str:
    """`tag` as a safe SQL comment naming what asked (for ``system.query_log``)."""
    return _TAG_UNSAFE.sub("_", tag)[:120] or "footfall"
