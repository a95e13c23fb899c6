"""`footfall serve --workers N`: refused on the embedded stores, N processes on one port else."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.clickhouse_http import clickhouse_http
from tests.cluster.conftest import CLUSTER_DB
from tests.conftest import FOOTFALL, free_port
from tests.services import require_chdb

pytestmark = pytest.mark.slow

SECRET_KEY = secrets.token_urlsafe(48)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    return {**env, "FOOTFALL_SECRET_KEY": SECRET_KEY, **extra}


def test_more_than_one_worker_on_the_embedded_stores_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [*FOOTFALL, "serve", "--workers", "3", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=_env(FOOTFALL_DATA_DIR=str(tmp_path / "data")),
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: --workers 3 needs stores every worker shares")
    for variable in ("FOOTFALL_EVENTS_URL", "FOOTFALL_DATABASE_URL", "FOOTFALL_REDIS_URL"):
        assert variable in line
    assert not (tmp_path / "data" / "events.duckdb").exists()


@pytest.fixture
def cluster_env(
    tmp_path: Path, postgres_database: str, redis_server: str
) -> Iterator[dict[str, str]]:
    """The environment of workers sharing ClickHouse (over HTTP), PostgreSQL and Redis."""
    require_chdb()
    import redis

    redis_url = redis_server.rsplit("/", 1)[0] + f"/{CLUSTER_DB}"
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    with clickhouse_http(tmp_path / "clickhouse") as events_url:
        yield _env(
            FOOTFALL_DATA_DIR=str(tmp_path / "data"),
            FOOTFALL_EVENTS_URL=events_url,
            FOOTFALL_DATABASE_URL=postgres_database,
            FOOTFALL_REDIS_URL=redis_url,
            FOOTFALL_LOG_LEVEL="warning",
        )


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


def test_workers_share_one_port_and_a_killed_one_comes_back(
    tmp_path: Path, cluster_env: dict[str, str]
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    process = start_workers(cluster_env, port, 2, log)
    try:
        before = worker_pids(process.pid)
        assert len(before) == 2
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = worker_pids(process.pid)
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.1)
        assert victim not in worker_pids(process.pid)
        clients = reach_workers(f"http://127.0.0.1:{port}", 2)
        for client in clients.values():
            client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
        text = log.read_text()
        assert "Traceback" not in text, text[-3000:]
        assert re.search(r"worker \d \(PID \d+\) was killed by SIGKILL", text), text[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
