"""`footfall serve` start-up: every failure is one line naming its cause, and "listening" is true.

Each case runs the real command as a process on loopback. A failure must exit 1 with exactly
one line on stderr, no traceback, naming the path, the port, the database URL (without its
password) or the process holding the event store.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import selectors
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FOOTFALL, ServerProcess, free_port

pytestmark = pytest.mark.slow

PASSWORD = "pw-" + "s3cret" * 3
# A key of its own, so that no development key is generated (and announced) in these runs.
SECRET_KEY = secrets.token_urlsafe(48)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    return {**env, "FOOTFALL_SECRET_KEY": SECRET_KEY, **extra}


def _serve(
    data_dir: Path,
    port: int,
    *,
    env: dict[str, str] | None = None,
    debug: bool = False,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    flags = ["--debug"] if debug else []
    return subprocess.run(
        [*FOOTFALL, *flags, "serve", "--port", str(port), "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=env or _env(),
        timeout=90,
        check=False,
        preexec_fn=preexec_fn,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed start, checked to be the only one."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "footfall listening" not in result.stdout + result.stderr
    return lines[0]


def test_a_second_server_on_the_same_data_dir_names_the_process_holding_the_store(
    server: ServerProcess,
) -> None:
    server.start(timeout=90)  # a busy machine may take long to open a fresh data directory
    assert server.process is not None
    line = _one_line(_serve(server.data_dir, free_port()))
    assert f"the event store {server.data_dir / 'events.duckdb'} is in use" in line
    assert f"PID {server.process.pid}" in line


def _without_permission_overrides() -> None:
    """Drops root's power to write where the permissions forbid it, for the child only."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _read_only_runner() -> Callable[[], None] | None:
    """What makes a 0555 directory read-only for the child (root ignores the mode)."""
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "prctl") or libc.prctl(23, 1, 0, 0, 0) < 0:  # PR_CAPBSET_READ
        pytest.skip("running as root without a way to drop the permission override")
    return _without_permission_overrides


def test_a_read_only_data_dir_is_named(tmp_path: Path) -> None:
    data_dir = tmp_path / "read-only"
    data_dir.mkdir()
    data_dir.chmod(0o555)
    try:
        result = _serve(data_dir, free_port(), preexec_fn=_read_only_runner())
    except subprocess.SubprocessError:  # the capability could not be dropped here
        pytest.skip("running as root without a way to drop the permission override")
    finally:
        data_dir.chmod(0o755)
    line = _one_line(result)
    assert f"data directory {data_dir} is not writable" in line
    assert list(data_dir.iterdir()) == []


def test_a_data_dir_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    line = _one_line(_serve(blocker / "data", free_port()))
    assert f"data directory {blocker / 'data'} is not writable" in line


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line(_serve(tmp_path / "data", port))
    assert f"127.0.0.1:{port} is already in use" in line


@pytest.mark.parametrize(
    ("url", "shown", "says"),
    [
        (
            f"mysql://footfall:{PASSWORD}@127.0.0.1/footfall",
            "mysql://footfall:***@127.0.0.1/footfall",
            "unsupported, use sqlite:/// or postgresql://",
        ),
        (
            f"postgresql://footfall:{PASSWORD}@127.0.0.1:port/footfall",
            "postgresql://footfall:***@127.0.0.1:port/footfall",
            "cannot be parsed",
        ),
        (
            f"postgresql://footfall:{PASSWORD}@with-an-at@127.0.0.1/footfall",
            "postgresql://footfall:***@127.0.0.1/footfall",
            "cannot be parsed",
        ),
        ("nonsense", "nonsense", "cannot be parsed"),
    ],
    ids=["unsupported", "bad-port", "unescaped-at", "nonsense"],
)
def test_a_bad_database_url_is_shown_without_its_password(
    tmp_path: Path, url: str, shown: str, says: str
) -> None:
    result = _serve(tmp_path / "data", free_port(), env=_env(FOOTFALL_DATABASE_URL=url))
    line = _one_line(result)
    assert f"FOOTFALL_DATABASE_URL {shown}" in line
    assert says in line
    assert "s3cret" not in result.stdout + result.stderr


def test_an_unreachable_database_is_shown_without_its_password(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://footfall:{PASSWORD}@127.0.0.1:{port}/footfall"
    result = _serve(tmp_path / "data", free_port(), env=_env(FOOTFALL_DATABASE_URL=url))
    line = _one_line(result)
    assert (
        f"cannot open the metadata database postgresql+psycopg://footfall:***@127.0.0.1:{port}/"
        in line
    )
    assert "s3cret" not in result.stdout + result.stderr
    assert "refused" in line.lower()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    url = f"mysql://footfall:{PASSWORD}@127.0.0.1/footfall"
    result = _serve(tmp_path / "data", free_port(), env=_env(FOOTFALL_DATABASE_URL=url), debug=True)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: FOOTFALL_DATABASE_URL mysql://")
    assert "s3cret" not in result.stdout + result.stderr


def _listening_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """Reads stderr until a line says "listening"; returns that line ("" at exit or timeout)."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    buffered = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(deadline - time.monotonic()):
                break
            chunk = os.read(process.stderr.fileno(), 65536)
            if not chunk:
                break
            buffered += chunk
            *lines, rest = buffered.split(b"\n")
            buffered = rest
            for line in lines:
                if b"listening" in line:
                    return line.decode()
    return ""


def test_listening_is_said_once_the_port_accepts_connections(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*FOOTFALL, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    try:
        line = _listening_line(process, timeout=60)
        assert f"listening on http://127.0.0.1:{port}" in line
        # At the moment the line is read, not a moment later.
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()
