"""The worker pool: N children on one parent, a dead one started again, SIGTERM for all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# Each worker records its PID in <dir>/<index>.<pid> and waits for a signal.
POOL = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path
    from footfall.web.workers import WorkerPool

    where = Path(sys.argv[1])

    def run(index):
        import os
        (where / f"{index}.{os.getpid()}").touch()
        signal.pause()

    sys.exit(WorkerPool(count=2, run=run, stop_seconds=5).serve())
    """
)


def _pids(where: Path) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for path in sorted(where.iterdir(), key=lambda p: p.stat().st_mtime_ns):
        index, pid = path.name.split(".")
        found.setdefault(int(index), []).append(int(pid))
    return found


def _wait_for(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_worker_is_started_again_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", POOL, str(tmp_path)])
    try:
        _wait_for(lambda: len(_pids(tmp_path)) == 2)
        first = _pids(tmp_path)
        os.kill(first[0][0], signal.SIGKILL)
        _wait_for(lambda: len(_pids(tmp_path)[0]) == 2)
        again = _pids(tmp_path)
        assert again[1] == first[1]  # the other worker was left alone
        assert again[0][1] != first[0][0]
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=20) == 0
        assert not any(_alive(pid) for pid in (again[0][1], again[1][0]))
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
