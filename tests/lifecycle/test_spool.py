"""Import spools hold raw IP addresses and User-Agents: private, in one place, gone by restart."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from footfall.lifecycle.spool import SPOOL_DIR, remove_spools, spool, spool_dir
from footfall.services import Services
from footfall.settings import Settings
from tests.conftest import CHROME_UA, FOOTFALL, ServerProcess

RAW_IP = "203.0.113.77"


def _line(n: int) -> bytes:
    event = {
        "timestamp": "2026-11-01T10:00:00Z",
        "name": "pageview",
        "url": f"https://example.com/{n}",
        "ip": RAW_IP,
        "user_agent": CHROME_UA,
    }
    return json.dumps(event).encode() + b"\n"


def _wait_for_spool(data_dir: Path) -> Path:
    """The spool file once it holds a line; fails after ten seconds."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for path in (data_dir / SPOOL_DIR).glob("*"):
            if RAW_IP.encode() in path.read_bytes():
                return path
        time.sleep(0.02)
    raise AssertionError(f"no spool with data in {data_dir / SPOOL_DIR}")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_spool_is_private_and_removed_however_the_import_ends(settings: Settings) -> None:
    with pytest.raises(RuntimeError), spool(settings.data_dir) as (path, handle):
        handle.write(_line(1))
        assert path.parent == settings.data_dir / SPOOL_DIR
        assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
        raise RuntimeError("the import failed")
    assert not path.exists()


def test_spools_left_by_a_crash_are_removed_when_the_services_open(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    leftovers = [
        settings.data_dir / SPOOL_DIR / "import-k1l2m3.ndjson",
        # Where the release before put them, straight in the data directory.
        settings.data_dir / "import-a1b2c3.ndjson",
        settings.data_dir / "tmpq9w8e7.ndjson",
    ]
    leftovers[0].parent.mkdir()
    for path in leftovers:
        path.write_bytes(_line(1) + _line(2))
    with caplog.at_level(logging.WARNING, logger="footfall.lifecycle.spool"):
        Services.open(settings).close()
    assert [path for path in leftovers if path.exists()] == []
    size = 3 * len(_line(1) + _line(2))
    assert f"removed 3 import spool file(s), {size} bytes" in caplog.text


def test_nothing_is_said_when_there_is_nothing_to_remove(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="footfall.lifecycle.spool"):
        Services.open(settings).close()
    assert "spool" not in caplog.text


@pytest.mark.slow
def test_an_http_import_killed_mid_body_leaves_no_spool_after_restart(
    server: ServerProcess, settings: Settings, import_key: str
) -> None:
    server.start()
    more = threading.Event()

    def body() -> Iterator[bytes]:
        yield _line(1) * 500  # more than the spool's write buffer: on disk at once
        more.wait(30)  # the rest of the body never comes: the server dies first
        yield _line(2)

    def post() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server is killed mid-request
            httpx.post(
                f"{server.url}/api/import?site_id=example.com",
                content=body(),
                headers={"authorization": f"Bearer {import_key}"},
                timeout=30,
            )

    sender = threading.Thread(target=post)
    sender.start()
    try:
        path = _wait_for_spool(settings.data_dir)
        assert _mode(path) == 0o600
        assert list(settings.data_dir.glob("*.ndjson")) == []
        server.kill()
    finally:
        more.set()
        sender.join()
    assert path.exists()  # what the crash left

    server.start()
    assert not path.exists()
    server.stop()
    assert server.log is not None
    assert "left by an interrupted import" in server.log.read_text()


def test_a_cli_import_from_stdin_killed_mid_stream_leaves_no_spool_after_restart(
    settings: Settings,
) -> None:
    process = subprocess.Popen(
        [*FOOTFALL, "import", "--site", "example.com", "--data-dir", str(settings.data_dir), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None
    try:
        process.stdin.write(_line(1) * 2000)
        process.stdin.flush()
        path = _wait_for_spool(settings.data_dir)
        assert _mode(path) == 0o600
    finally:
        process.kill()  # SIGKILL with stdin still open
        process.wait(timeout=30)
        process.stdin.close()
    assert path.exists()

    Services.open(settings).close()
    assert not path.exists()
    assert os.listdir(settings.data_dir / SPOOL_DIR) == []


def test_a_backup_staging_left_by_a_crash_is_removed_at_start(tmp_path: Path) -> None:
    staging = spool_dir(tmp_path) / "backup-abc123"
    (staging / "events").mkdir(parents=True)
    (staging / "events" / "events.parquet").write_bytes(b"x" * 100)
    remove_spools(tmp_path)
    assert not staging.exists()
