"""Real workers for the cluster tests: `serve --workers N` on ClickHouse, PostgreSQL and Redis."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import FOOTFALL

SECRET_KEY = secrets.token_urlsafe(48)


def environment(**extra: str) -> dict[str, str]:
    """This environment without FOOTFALL_ settings, plus a secret key and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    return {**env, "FOOTFALL_SECRET_KEY": SECRET_KEY, **extra}


def worker_of(client: httpx.Client, url: str) -> int:
    """The index of the worker serving `client`'s connection (from its /metrics labels)."""
    text = client.get(f"{url}/metrics").text
    found = re.search(r'^footfall_ingest_requests_total\{.*worker="(\d+)"', text, re.M)
    assert found, text[:500]
    return int(found.group(1))


def reach_workers(url: str, count: int, timeout: float = 60.0) -> dict[int, httpx.Client]:
    """One open connection to each of `count` workers (new connections until all answered)."""
    clients: dict[int, httpx.Client] = {}
    deadline = time.monotonic() + timeout
    while len(clients) < count and time.monotonic() < deadline:
        client = httpx.Client(timeout=30)
        try:
            index = worker_of(client, url)
        except httpx.HTTPError:
            client.close()
            time.sleep(0.1)
            continue
        if index in clients:
            client.close()
        else:
            clients[index] = client
    assert len(clients) == count, f"reached workers {sorted(clients)} of {count}"
    return clients


def start_workers(env: dict[str, str], port: int, count: int, log: Path) -> subprocess.Popen[bytes]:
    """`footfall serve --workers count` on loopback, once every worker answers."""
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [*FOOTFALL, "serve", "--workers", str(count), "--port", str(port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    for client in reach_workers(url, count).values():
        client.close()
    return process


def worker_pids(parent: int) -> set[int]:
    """The PIDs of a process's children."""
    found = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return {int(pid) for pid in found}
