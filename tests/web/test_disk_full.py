"""A full disk under a real server: 503 with Retry-After, reads unharmed, no file storm, recovery.

The data directory is a small tmpfs (mounting one needs root, as the CI has): the probe that
found the defects, bounded to a few seconds.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.services import open_meta
from footfall.settings import load_settings
from tests.conftest import CHROME_UA, ServerProcess, free_port, post_pageview
from tests.services import unavailable


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB tmpfs, unmounted after the test."""
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        unavailable("a disk-full test mounts a tmpfs, which needs root and mount(8)")
    point = tmp_path / "disk"
    point.mkdir()
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(point)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        unavailable(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _fill(path: Path) -> None:
    """Writes zeros until the file system refuses."""
    block = b"\0" * (256 * 1024)
    with path.open("wb", buffering=0) as out:
        while True:
            try:
                out.write(block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        # The last partial block may leave a few bytes: take them too.
        for size in (4096, 512, 1):
            while True:
                try:
                    out.write(b"\0" * size)
                except OSError:
                    break


def _flood(url: str, statuses: Counter[int], retry_after: list[str], stop: threading.Event) -> None:
    with httpx.Client(timeout=10) as client:
        n = 0
        while not stop.is_set():
            n += 1
            body = f'{{"n":"pageview","u":"https://example.com/full/{n}","d":"example.com"}}'
            response = client.post(
                f"{url}/api/event",
                content=body,
                headers={
                    "content-type": "text/plain",
                    "user-agent": CHROME_UA,
                    "x-forwarded-for": f"81.2.69.{n % 200}",
                },
            )
            statuses[response.status_code] += 1
            if response.status_code == 503:
                retry_after.append(response.headers.get("retry-after", ""))


def test_a_full_disk_refuses_writes_with_503_and_recovers(small_disk: Path) -> None:
    settings = load_settings({"data_dir": small_disk / "data"}, environ={})
    meta = open_meta(settings)
    add_site(meta, domain="example.com", timezone="UTC")
    key = create_key(meta, name="reader", scopes=("stats:read",))[1]
    meta.dispose()
    server = ServerProcess(data_dir=settings.data_dir, port=free_port())
    server.start()
    try:
        with httpx.Client(timeout=10) as client:
            assert post_pageview(client, server.url, "/before", ip="81.2.69.1") == 202
        filler = small_disk / "filler"
        _fill(filler)

        statuses: Counter[int] = Counter()
        retry_after: list[str] = []
        stop = threading.Event()
        senders = [
            threading.Thread(target=_flood, args=(server.url, statuses, retry_after, stop))
            for _ in range(8)
        ]
        for sender in senders:
            sender.start()
        time.sleep(4)
        with httpx.Client(timeout=10) as client:
            stats = client.get(
                f"{server.url}/api/v1/stats/aggregate",
                params={"site_id": "example.com", "period": "day"},
                headers={"authorization": f"Bearer {key}"},
            )
        stop.set()
        for sender in senders:
            sender.join()

        # Refused, never a 500; each refusal says when to try again.
        assert statuses[503] > 0, statuses
        assert set(statuses) <= {202, 503}, statuses
        assert retry_after and all(value.isdigit() for value in retry_after)
        # Reading needs no disk: the Stats API answers.
        assert stats.status_code == 200, stats.text
        # No file storm: failed journal writes do not each leave a segment behind.
        journal_files = list((settings.data_dir / "journal").iterdir())
        assert len(journal_files) <= 3, sorted(p.name for p in journal_files)
        # Error logs are rate-limited, not one traceback per refused request.
        assert server.log is not None
        logged = server.log.read_text(errors="replace")
        assert logged.count("Traceback") <= 5, logged[-6000:]

        # Space comes back: ingest recovers without a restart.
        filler.unlink()
        deadline = time.monotonic() + 20
        with httpx.Client(timeout=10) as client:
            status = 0
            while time.monotonic() < deadline:
                status = post_pageview(client, server.url, "/after", ip="81.2.69.2")
                if status == 202:
                    break
                time.sleep(0.5)
        assert status == 202
    finally:
        # Space first: a server on a full disk may not finish its shutdown flush in time.
        (small_disk / "filler").unlink(missing_ok=True)
        server.stop()
