"""A backup taken from a running server under concurrent ingest, restored into a fresh data
directory and served again: the restored server answers as the original did for the range the
backup holds. Real server processes; the commands reach the server through its control socket.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from footfall.meta.keys import create_key
from footfall.services import open_meta
from footfall.settings import Settings
from tests.conftest import FOOTFALL, ServerProcess, free_port, post_pageview
from tests.services import chdb_url

pytestmark = pytest.mark.slow


def _send(url: str, worker: int, acked: list[str], stop: threading.Event) -> None:
    with httpx.Client(timeout=10) as client:
        n = 0
        while not stop.is_set():
            n += 1
            path = f"/w{worker}/p{n % 7}"
            # A new visitor every few events, so visits and visitors both grow.
            if post_pageview(client, url, path, ip=f"81.2.{worker}.{n // 5 % 250}") == 202:
                acked.append(path)


@contextlib.contextmanager
def ingesting(server: ServerProcess) -> Iterator[list[str]]:
    """Four clients sending page views to the started server until the block ends."""
    stop = threading.Event()
    acked: list[str] = []
    workers = [threading.Thread(target=_send, args=(server.url, i, acked, stop)) for i in range(4)]
    for worker in workers:
        worker.start()
    try:
        yield acked
    finally:
        stop.set()
        for worker in workers:
            worker.join()


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FOOTFALL, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **env} if env else None,
    )


def _store_env(kind: str, data_dir: Path) -> dict[str, str]:
    """The environment that keeps a data directory's events in `kind` (duckdb: the default).

    chdb runs in the server's and each command's own process, never in the test's: it opens
    one data directory per process.
    """
    return {"FOOTFALL_EVENTS_URL": chdb_url(data_dir / "clickhouse")} if kind == "chdb" else {}


def _ask(url: str, key: str, body: dict[str, Any]) -> Any:
    response = httpx.post(
        f"{url}/api/v2/query",
        json={"site_id": "example.com", **body},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


@pytest.fixture
def key(settings: Settings) -> str:
    meta = open_meta(settings)
    try:
        return create_key(meta, name="reader", scopes=("stats:read",))[1]
    finally:
        meta.dispose()


@pytest.mark.parametrize("kind", ["duckdb", "chdb"])
def test_a_backup_under_ingest_restores_to_the_same_answers(
    settings: Settings, server: ServerProcess, key: str, tmp_path: Path, kind: str
) -> None:
    env = _store_env(kind, settings.data_dir)
    server.env = env
    server.start()
    assert settings.control_socket_path.exists()
    target = tmp_path / "backups" / "online.tar"
    target.parent.mkdir()
    with ingesting(server) as acked:
        deadline = time.monotonic() + 30
        while len(acked) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        done = _cli("backup", str(target.parent), "--data-dir", str(settings.data_dir), env=env)
        assert done.returncode == 0, done.stderr
        assert "asking the running server" in done.stderr
        during = len(acked)
        time.sleep(1.0)  # ingest goes on after the snapshot
    assert len(acked) > during >= 300
    (archive,) = list(target.parent.glob("footfall-backup-*.tar"))
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["event_store"]["backend"] == ("clickhouse" if kind == "chdb" else "duckdb")
    backed_up = manifest["event_store"]["events"]
    assert 300 <= backed_up < len(acked)

    restored_dir = tmp_path / "restored"
    restored_env = _store_env(kind, restored_dir)
    done = _cli("restore", str(archive), "--data-dir", str(restored_dir), env=restored_env)
    assert done.returncode == 0, done.stderr
    assert f"example.com\t{backed_up} events" in done.stdout

    restored = ServerProcess(data_dir=restored_dir, port=free_port())
    restored.env = restored_env
    restored.start()
    try:
        # The restored server serves the commands through its own control socket.
        exported = tmp_path / "export.ndjson"
        done = _cli(
            "export",
            "--site",
            "example.com",
            "--format",
            "ndjson",
            str(exported),
            "--data-dir",
            str(restored_dir),
            env=restored_env,
        )
        assert done.returncode == 0, done.stderr
        lines = [json.loads(line) for line in exported.read_bytes().splitlines()]
        assert len(lines) == backed_up
        stamps = sorted(dt.datetime.fromisoformat(line["timestamp"]) for line in lines)
        # Journal order is time order: every event before the newest second is in the backup.
        start = stamps[0].replace(second=0)
        end = stamps[-1] - dt.timedelta(seconds=1)
        date_range = [
            start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ]
        questions = [
            {"metrics": ["visitors", "visits", "pageviews", "events"]},
            {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"]},
        ]
        for question in questions:
            body = {**question, "date_range": date_range}
            if "dimensions" in question:
                body["order_by"] = [["visitors", "desc"], ["event:page", "asc"]]
            assert _ask(restored.url, key, body) == _ask(server.url, key, body)
        total = _ask(restored.url, key, {"metrics": ["pageviews"], "date_range": "all"})
        assert total[0]["metrics"] == [backed_up]

        # Retention set while the server runs is applied by it at once (the events are today's).
        done = _cli(
            "site",
            "set",
            "example.com",
            "--retention-days",
            "1",
            "--data-dir",
            str(restored_dir),
            env=restored_env,
        )
        assert done.returncode == 0, done.stderr
        assert "example.com: keeps 1 day; deleted 0 events" in done.stdout
        done = _cli(
            "site",
            "reset",
            "example.com",
            "--yes",
            "--data-dir",
            str(restored_dir),
            env=restored_env,
        )
        assert done.returncode == 0, done.stderr
        assert f"deleted {backed_up} events" in done.stdout
        after = _ask(restored.url, key, {"metrics": ["pageviews"], "date_range": "all"})
        assert after[0]["metrics"] == [0]
    finally:
        restored.stop()


def test_the_admin_endpoints_need_an_admin_key_on_the_port(
    settings: Settings, server: ServerProcess, key: str
) -> None:
    server.start()
    for method, path in (
        ("POST", "/api/v1/admin/backup"),
        ("GET", "/api/v1/admin/export?site_id=example.com&format=csv"),
        ("POST", "/api/v1/admin/sites/example.com/reset"),
        ("POST", "/api/v1/admin/retention"),
    ):
        assert httpx.request(method, server.url + path, timeout=10).status_code == 401
        response = httpx.request(
            method, server.url + path, headers={"authorization": f"Bearer {key}"}, timeout=10
        )
        assert response.status_code == 403, path
    admin = create_key(open_meta(settings), name="ops", scopes=("admin",))[1]
    response = httpx.post(
        server.url + "/api/v1/admin/backup",
        headers={"authorization": f"Bearer {admin}"},
        timeout=60,
    )
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.content[:13] == b"manifest.json"
