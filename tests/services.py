"""Real external services for tests: a binary is found on PATH or the test is skipped.

Set FOOTFALL_REQUIRE_ALL=1 (as CI does) to turn a missing binary into a failure, so a test
cannot pass by silently not running.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

REQUIRE_ALL = "FOOTFALL_REQUIRE_ALL"


def require_binary(name: str) -> str:
    """The path of `name` on PATH; skips the test without it (fails if FOOTFALL_REQUIRE_ALL=1)."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (not found on PATH)"
        if os.environ.get(REQUIRE_ALL) == "1":
            pytest.fail(f"{reason}; {REQUIRE_ALL}=1 forbids skipping", pytrace=False)
        pytest.skip(reason)
    return path


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(binary: str, workdir: Path, timeout: float) -> tuple[subprocess.Popen[bytes], str]:
    """Starts redis-server on a free loopback port and waits until it answers PING."""
    port = free_port()
    log_path = workdir / f"redis-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + timeout
    with redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {log_path.read_text()[-2000:]}")
            try:
                if client.ping():
                    return process, url
            except redis.RedisError:
                time.sleep(0.05)
    _stop(process)
    raise RuntimeError(f"redis-server did not answer PING: {log_path.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real redis-server on loopback, shared by the session (no persistence)."""
    binary = require_binary("redis-server")
    workdir = tmp_path_factory.mktemp("redis")
    # The free port can be taken between choosing and binding it; try another one then.
    for attempt in range(3):
        try:
            process, url = _start_redis(binary, workdir, timeout=10.0)
        except RuntimeError:
            if attempt == 2:
                raise
        else:
            break
    try:
        yield url
    finally:
        _stop(process)
