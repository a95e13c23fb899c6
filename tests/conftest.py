"""Shared fixtures: real stores in temp dirs, the app in-process, and real server processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import argon2
import httpx
import hypothesis
import pytest
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.meta import users
from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.services import open_meta
from footfall.settings import Settings, load_settings
from footfall.web.app import create_app

CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
FOOTFALL = [sys.executable, "-m", "footfall"]

# No per-example deadline: the suite asserts behaviour, never timings, and on a busy 2-core
# machine one example of a fast function can take longer than Hypothesis's default 200 ms.
hypothesis.settings.register_profile("footfall", deadline=None)
hypothesis.settings.load_profile("footfall")

# Passwords are hashed with argon2id at the library's cost (about 0.2 s of CPU per hash or
# check), which `production_password_hashing` below keeps for the tests of that cost. Elsewhere
# the suite hashes and checks hundreds of passwords, so its own process uses argon2id at the
# lowest cost, as web frameworks' test settings do; servers the tests start keep the real cost.
users._HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def production_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Passwords hashed and checked with the parameters users get."""
    monkeypatch.setattr(users, "_HASHER", argon2.PasswordHasher())
    users._decoy_hash.cache_clear()  # the decoy is hashed with the hasher of its first use
    yield
    users._decoy_hash.cache_clear()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fresh data directory, with example.com registered."""
    value = load_settings({"data_dir": tmp_path / "data"}, environ={})
    add_site(open_meta(value), domain="example.com", timezone="UTC")
    return value


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC))


@pytest.fixture
def client(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    """The app in-process (lifespan included) on a frozen clock."""
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client


@pytest.fixture
def import_key(settings: Settings) -> str:
    return create_key(open_meta(settings), name="importer", scopes=("events:import",))[1]


PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in `html`."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Signs `client` in through the login form."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A real `footfall serve` process on loopback."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    env: dict[str, str] | None = None  # added to this process's environment

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        self.log = self.data_dir.parent / f"server-{self.port}.log"
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                *FOOTFALL,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env} if self.env else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not stopped in 30 s (a test must not leak servers)."""
        if self.process is not None and self.process.poll() is None:
            try:
                self.kill(signal.SIGTERM)
            except subprocess.TimeoutExpired:
                self.kill()


def post_pageview(client: httpx.Client, url: str, path: str, *, ip: str) -> int:
    """Sends one tracker page view of `path` on example.com; returns the status."""
    body = json.dumps({"n": "pageview", "u": f"https://example.com{path}", "d": "example.com"})
    response = client.post(
        f"{url}/api/event",
        content=body,
        headers={"content-type": "text/plain", "user-agent": CHROME_UA, "x-forwarded-for": ip},
    )
    return response.status_code


def _send(url: str, worker: int, acked: list[str], stop: threading.Event) -> None:
    with httpx.Client(timeout=5) as client:
        n = 0
        while not stop.is_set():
            path = f"/w{worker}/e{n}"
            n += 1
            try:
                status = post_pageview(client, url, path, ip=f"81.2.69.{worker}")
            except httpx.HTTPError:
                return  # the server is gone
            if status == 202:
                acked.append(path)


def ingest_then_kill(server: ServerProcess, *, at_least: int = 300) -> list[str]:
    """Eight clients send page views until `at_least` are acknowledged, then SIGKILL mid-flight.

    Returns:
        The paths of the acknowledged page views.
    """
    stop = threading.Event()
    acked: list[str] = []
    workers = [threading.Thread(target=_send, args=(server.url, i, acked, stop)) for i in range(8)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 20
    while len(acked) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # SIGKILL while requests are in flight
    stop.set()
    for worker in workers:
        worker.join()
    assert len(acked) >= at_least
    return acked


@pytest.fixture
def server(settings: Settings) -> Iterator[ServerProcess]:
    """A real server process (not started); stopped after the test."""
    proc = ServerProcess(data_dir=settings.data_dir, port=free_port())
    try:
        yield proc
    finally:
        proc.stop()


# Real servers (skipped when not installed) for every test module that asks for them: redis-server,
# and PostgreSQL, on which `meta_url` and `engine` run the metadata tests as well as on SQLite.
# A real headless Chromium for the browser tests (skipped when not installed).
from tests.browser import browser, context, page  # noqa: E402, F401
from tests.services import (  # noqa: E402, F401
    engine,
    meta_url,
    postgres_database,
    postgres_server,
    redis_server,
)
