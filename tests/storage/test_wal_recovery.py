"""A DuckDB write-ahead log corrupted in its middle: set aside, and the journal restores it all.

Crash images are the data directory's files copied while the process has them open, which is
what `kill -9` leaves behind: DuckDB writes its database file only when it checkpoints, and
every commit in between is appended and synced to its WAL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx
import pytest

from footfall.errors import StoreError
from footfall.lifecycle.importing import import_ndjson
from footfall.meta.sites import get_site
from footfall.services import Services, open_meta
from footfall.settings import Settings, load_settings
from footfall.storage.duckdb.store import DuckDBEventStore
from footfall.storage.schema import EVENT_SCHEMA, SESSION_SCHEMA, rows_to_table
from footfall.storage.writer import GroupCommitWriter
from tests.conftest import FOOTFALL, ServerProcess, post_pageview
from tests.storage.rows import event, session

T0 = dt.datetime(2026, 11, 2, 10, 0)
# Small enough that the journal rotates (and the store checkpoints) every ten commits or so.
ROTATE_BYTES = 4_000


def _corrupt_middle(path: Path, size: int = 64, *, places: int = 1) -> None:
    """Overwrites `size` random bytes in the middle of a file, or at `places` spread over it."""
    length = path.stat().st_size
    rng = random.Random(13)
    with path.open("r+b") as handle:
        for place in range(1, places + 1):
            handle.seek(length * place // (places + 1))
            handle.write(rng.randbytes(size))


def _stored_paths(data_dir: Path) -> list[str]:
    con = duckdb.connect(str(data_dir / "events.duckdb"), read_only=True)
    try:
        return [row[0] for row in con.execute("SELECT pathname FROM events").fetchall()]
    finally:
        con.close()


def _set_aside(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob("events.duckdb.wal.corrupt-*"))


async def _commit_and_apply(writer: GroupCommitWriter, n: int) -> list[str]:
    """Journals one group commit of three events and waits until the store has them."""
    rows = [
        event(pathname=f"/c{n}/{i}", at=T0 + dt.timedelta(seconds=n), session_id=n + 1)
        for i in range(3)
    ]
    waiter = writer.submit(rows, [])
    assert waiter is not None
    await waiter
    deadline = time.monotonic() + 10
    while writer.queue_depth and time.monotonic() < deadline:
        await asyncio.sleep(0.002)
    assert not writer.queue_depth
    return [str(row[4]) for row in rows]


def test_events_applied_after_the_last_checkpoint_survive_a_corrupt_wal(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    services = Services.open(settings)
    image = tmp_path / "image"
    acked: list[str] = []

    async def run() -> None:
        writer = GroupCommitWriter(
            services.store,
            services.journal,
            loop=asyncio.get_running_loop(),
            max_batch=100_000,
            max_wait_seconds=0,
            queue_limit=100_000,
            apply_interval_seconds=0,
            rotate_bytes=ROTATE_BYTES,
        )
        try:
            rotations = 0
            while rotations < 4:
                acked.extend(await _commit_and_apply(writer, len(acked) // 3))
                rotations += services.journal.appended_bytes == 0  # reset by a rotation
            # After the last rotation's checkpoint, a few commits live in the WAL only.
            for _ in range(3):
                acked.extend(await _commit_and_apply(writer, len(acked) // 3))
            assert 0 < services.journal.appended_bytes < ROTATE_BYTES
            assert writer.flush_sessions()
            assert writer.stats.checkpoints >= 4
            shutil.copytree(settings.data_dir, image)  # what kill -9 would leave now
        finally:
            writer.close()

    try:
        asyncio.run(run())
    finally:
        services.close()
    # Segments whose events a checkpoint holds are gone; the rest wait for the next one.
    journalled = sum(1 for segment in (image / "journal").glob("*.log") for _ in segment.open())
    assert 0 < journalled < len(acked) // 3
    _corrupt_middle(image / "events.duckdb.wal")

    recovered = Services.open(load_settings({"data_dir": image}, environ={}))
    try:
        assert recovered.store.count_events() == len(acked)
        with recovered.store.cursor() as cur:
            sessions = cur.execute("SELECT count(*), sum(events) FROM sessions").fetchone()
    finally:
        recovered.close()
    assert sorted(_stored_paths(image)) == sorted(acked)
    # Rebuilt from their events: the session rows of the lost WAL come back too.
    assert sessions == (len(acked) // 3, len(acked))
    (aside,) = _set_aside(image)
    assert aside.stat().st_size > 0  # kept for forensics
    assert "cannot be replayed" in caplog.text and aside.name in caplog.text


@pytest.mark.slow
def test_a_server_killed_then_its_wal_corrupted_restarts_with_every_acknowledged_event(
    server: ServerProcess, settings: Settings
) -> None:
    server.env = {"FOOTFALL_APPLY_INTERVAL_MS": "0"}  # applied at once: in the WAL
    server.start()
    acked: list[str] = []
    with httpx.Client(timeout=5) as client:
        for n in range(300):
            assert post_pageview(client, server.url, f"/p{n}", ip=f"81.2.69.{n % 100}") == 202
            acked.append(f"/p{n}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the apply thread has caught up
            metrics = client.get(f"{server.url}/metrics").text
            if "footfall_writer_queue_depth 0.0" in metrics:
                break
            time.sleep(0.05)
    server.kill()
    wal = settings.data_dir / "events.duckdb.wal"
    assert wal.stat().st_size > 10_000
    # At three places: how a server's WAL is laid out depends on how its commits were grouped,
    # and one spot can land on bytes that replaying does not read.
    _corrupt_middle(wal, places=3)

    server.start()
    server.stop()
    assert server.log is not None
    log = server.log.read_text()
    assert sorted(_stored_paths(settings.data_dir)) == sorted(acked)
    (aside,) = _set_aside(settings.data_dir)
    assert "cannot be replayed" in log and aside.name in log
    assert "Traceback" not in log


def test_a_store_that_cannot_be_recovered_stops_the_server_with_one_line(
    settings: Settings, tmp_path: Path
) -> None:
    services = Services.open(settings)
    services.store.write([event(pathname="/a"), event(pathname="/b")], [], [], journal_seq=None)
    image = tmp_path / "image"
    shutil.copytree(settings.data_dir, image)  # what kill -9 would leave now
    services.close()
    _corrupt_middle(image / "events.duckdb.wal")
    # The database file's first data block too: not even its last checkpoint is readable.
    with (image / "events.duckdb").open("r+b") as handle:
        handle.seek(4096)
        handle.write(random.Random(5).randbytes(4096))

    result = subprocess.run(
        [*FOOTFALL, "serve", "--port", "1", "--data-dir", str(image)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FOOTFALL_SECRET_KEY": secrets.token_urlsafe(40)},
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert str(image / "events.duckdb") in lines[0]
    assert "docs/troubleshooting.md" in lines[0]
    # Nothing was moved: the operator finds the files as they were.
    assert (image / "events.duckdb.wal").exists() and _set_aside(image) == []


def test_a_read_only_open_never_moves_a_corrupt_wal(settings: Settings, tmp_path: Path) -> None:
    services = Services.open(settings)
    services.store.write([event(pathname="/a")], [], [], journal_seq=None)
    image = tmp_path / "image"
    shutil.copytree(settings.data_dir, image)
    services.close()
    _corrupt_middle(image / "events.duckdb.wal")
    with pytest.raises(StoreError, match="cannot be replayed") as raised:
        DuckDBEventStore(image / "events.duckdb", read_only=True)
    assert "\n" not in str(raised.value) and "docs/troubleshooting.md" in str(raised.value)
    assert (image / "events.duckdb.wal").exists() and _set_aside(image) == []


def _lose_wal_after(settings: Settings, write: Callable[[Services], None], tmp_path: Path) -> Path:
    """Runs `write`, takes a crash image, corrupts its WAL and opens it (which recovers it)."""
    services = Services.open(settings)
    write(services)
    image = tmp_path / "image"
    shutil.copytree(settings.data_dir, image)  # what kill -9 would leave now
    services.close()
    wal = image / "events.duckdb.wal"
    if wal.exists() and wal.stat().st_size:
        _corrupt_middle(wal)
    Services.open(load_settings({"data_dir": image}, environ={})).close()
    return image


def test_an_import_does_not_depend_on_the_wal(settings: Settings, tmp_path: Path) -> None:
    meta = open_meta(settings)
    site = get_site(meta, "example.com")
    meta.dispose()
    history = tmp_path / "history.ndjson"
    history.write_text(
        "".join(
            json.dumps(
                {
                    "timestamp": f"2026-11-01T10:{n:02d}:00Z",
                    "name": "pageview",
                    "url": f"https://example.com/old/{n}",
                    "visitor_id": f"v{n % 7}",
                }
            )
            + "\n"
            for n in range(50)
        )
    )

    def run(services: Services) -> None:
        assert import_ndjson(services, site=site, path=history).stored == 50

    image = _lose_wal_after(settings, run, tmp_path)
    assert sorted(_stored_paths(image)) == sorted(f"/old/{n}" for n in range(50))


def test_a_bulk_load_does_not_depend_on_the_wal(settings: Settings, tmp_path: Path) -> None:
    def run(services: Services) -> None:
        services.store.load(
            rows_to_table(
                [event(pathname=f"/b{n}", session_id=n) for n in range(20)], EVENT_SCHEMA
            ),
            rows_to_table([session(session_id=n) for n in range(20)], SESSION_SCHEMA),
        )

    image = _lose_wal_after(settings, run, tmp_path)
    assert sorted(_stored_paths(image)) == sorted(f"/b{n}" for n in range(20))
