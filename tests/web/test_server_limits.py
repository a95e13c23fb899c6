"""The connection limits of a real `footfall serve` process (footfall.web.server).

Slow clients must not hold connections for ever, nor shut normal clients out. Each server runs
on loopback with small limits set through the environment; the assertions are about what
happens (closed or not, answered or not), with bounds far beyond the configured timeouts.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, free_port

pytestmark = pytest.mark.slow

# Far beyond every timeout configured below: the server is late only on a very busy machine.
PATIENCE = 20.0
HALF_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: footfall.test\r\nUser-Agent: slow"
SLOW_BODY = (
    b"POST /api/event HTTP/1.1\r\nHost: footfall.test\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 100\r\n\r\n{"
)


def _server(tmp_path: Path, **limits: int) -> Iterator[ServerProcess]:
    env = {f"FOOTFALL_{name.upper()}": str(value) for name, value in limits.items()}
    server = ServerProcess(data_dir=tmp_path / "data", port=free_port(), env=env)
    server.start(timeout=90)  # a busy machine may take long to open a fresh data directory
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Short timeouts, a cap far above what the tests open."""
    yield from _server(
        tmp_path_factory.mktemp("quick"),
        header_timeout_s=2,
        body_timeout_s=2,
        keep_alive_timeout_s=1,
        max_connections=500,
    )


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A small cap, timeouts long enough that only the cap closes connections at first."""
    yield from _server(
        tmp_path_factory.mktemp("capped"),
        header_timeout_s=60,
        body_timeout_s=8,
        keep_alive_timeout_s=60,
        max_connections=20,
    )


@contextlib.contextmanager
def _connections(
    server: ServerProcess, count: int, first_bytes: bytes
) -> Iterator[list[socket.socket]]:
    """`count` connections that each sent `first_bytes` and then nothing; closed afterwards."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            socks.append(sock)
            with contextlib.suppress(OSError):  # the server may have closed it already
                sock.sendall(first_bytes)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def _closed_by_server(socks: list[socket.socket], *, within: float, expect: int) -> int:
    """How many of `socks` the server closed (without answering) within `within` seconds.

    Returns as soon as `expect` of them are closed.
    """
    closed = 0
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + within
        while closed < expect and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(4096)
                except ConnectionResetError:
                    data = b""
                except BlockingIOError:
                    continue
                assert data == b"", f"answered instead of closed: {data[:80]!r}"
                selector.unregister(sock)
                closed += 1
    return closed


def _healthy(server: ServerProcess) -> bool:
    return httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_half_sent_requests_are_closed_after_the_header_timeout(quick: ServerProcess) -> None:
    with _connections(quick, 40, HALF_REQUEST) as socks:
        # Held, not refused (the cap is far), and the server keeps answering meanwhile.
        assert _closed_by_server(socks, within=0.5, expect=1) == 0
        assert _healthy(quick)
        assert _closed_by_server(socks, within=PATIENCE, expect=len(socks)) == len(socks)
    assert _healthy(quick)


def test_connections_that_never_send_a_byte_are_closed_too(quick: ServerProcess) -> None:
    with _connections(quick, 10, b"") as socks:
        assert _closed_by_server(socks, within=PATIENCE, expect=len(socks)) == len(socks)


def test_a_stalled_request_body_is_closed_after_the_body_timeout(quick: ServerProcess) -> None:
    with _connections(quick, 10, SLOW_BODY) as socks:
        assert _healthy(quick)
        assert _closed_by_server(socks, within=PATIENCE, expect=len(socks)) == len(socks)


def _get_healthz(sock: socket.socket) -> bytes:
    """Sends ``GET /healthz`` on `sock` and reads the whole answer; returns its status line."""
    sock.setblocking(True)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: footfall.test\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed mid-answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, "closed mid-answer"
        body += chunk
    return head.split(b"\r\n", 1)[0]


def _idle_connection(server: ServerProcess) -> socket.socket:
    """A connection that was answered once and then left idle (kept alive)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    assert _get_healthz(sock) == b"HTTP/1.1 200 OK"
    return sock


def test_idle_keep_alive_connections_are_closed_after_the_keep_alive_timeout(
    quick: ServerProcess, capped: ServerProcess
) -> None:
    with (
        contextlib.closing(_idle_connection(quick)) as short,
        contextlib.closing(_idle_connection(capped)) as long,
    ):
        assert _closed_by_server([short], within=PATIENCE, expect=1) == 1  # after 1 s
        # 60 s: still open well after uvicorn's default of 5 s.
        assert _closed_by_server([long], within=6.0, expect=1) == 0
        assert _get_healthz(long) == b"HTTP/1.1 200 OK"


def test_connections_beyond_the_cap_do_not_starve_a_normal_request(capped: ServerProcess) -> None:
    extra = 30
    with _connections(capped, 20 + extra, HALF_REQUEST) as socks:
        # The longest-waiting ones made room for the newer, long before the header timeout
        # (60 s) would close any; a normal request then makes room for itself.
        assert _closed_by_server(socks, within=PATIENCE, expect=extra) == extra
        for _ in range(3):
            assert _healthy(capped)
    assert _healthy(capped)


def test_when_every_connection_serves_a_request_new_ones_are_closed_at_once(
    capped: ServerProcess,
) -> None:
    with _connections(capped, 20, SLOW_BODY) as serving:
        time.sleep(0.5)  # every body is awaited by the app now
        with _connections(capped, 3, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") as late:
            assert _closed_by_server(late, within=PATIENCE, expect=len(late)) == len(late)
        # The stalled bodies time out, and the server answers again.
        assert _closed_by_server(serving, within=PATIENCE, expect=len(serving)) == len(serving)
    assert _healthy(capped)
