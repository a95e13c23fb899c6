"""The control socket's address: long data-directory paths still bind and connect."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

from footfall.lifecycle.control import is_control_connection, socket_address
from footfall.web.server import bind_control_socket


def test_a_long_path_binds_and_connects_through_its_directory(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    path = deep / "control.sock"
    assert len(str(path)) > 107
    server = bind_control_socket(path)
    assert server is not None
    try:
        assert path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with socket_address(path) as address, socket.socket(socket.AF_UNIX) as client:
            assert address.startswith("/proc/self/fd/")
            client.connect(address)
            accepted, _ = server.accept()
            accepted.close()
    finally:
        server.close()


def test_a_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    path.write_text("left by a crash")
    server = bind_control_socket(path)
    assert server is not None
    server.close()
    assert stat.S_ISSOCK(path.stat().st_mode)


def test_only_a_unix_socket_counts_as_the_control_connection() -> None:
    assert is_control_connection(("/data/control.sock", None))
    assert not is_control_connection(("127.0.0.1", 8000))
    assert not is_control_connection(None)
