"""`serve --workers N` on shared stores: N processes on one port, a killed one comes back."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.cluster.harness import reach_workers, start_workers, worker_pids
from tests.conftest import free_port

pytestmark = pytest.mark.slow


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
