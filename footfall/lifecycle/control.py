"""The control socket: how a command reaches the server that holds the data directory.

A serving process listens, besides its TCP port, on ``<data-dir>/control.sock``, a Unix socket
only the data directory's owner may connect to (mode 0600). It speaks the same HTTP as the
port; the admin endpoints (``/api/v1/admin/...``: backup, export, site reset, retention) trust
a request that came through it as they trust an ``admin`` key on the port, because the file
system already said who may connect. See
docs/adr/0019-lifecycle-commands-through-a-control-socket.md.

Unix socket addresses are limited to about 107 bytes. A longer path is reached through the
directory's descriptor (``/proc/self/fd/N/control.sock``), which Linux resolves like the path.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

# Request header naming who asked (``cli:alice``); believed only on the control socket.
ACTOR_HEADER = "x-footfall-actor"
# The longest path a Unix socket address holds on Linux (108 bytes with the final NUL).
_MAX_SOCKET_PATH = 107


@contextlib.contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """An address for binding or connecting to the Unix socket at `path`, valid in the block.

    Long paths go through a descriptor of their directory, held open until the block ends.
    """
    text = str(path)
    if len(os.fsencode(text)) <= _MAX_SOCKET_PATH or not sys.platform.startswith("linux"):
        yield text
        return
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def is_control_connection(server: tuple[str, int | None] | None) -> bool:
    """Whether a request's ASGI ``server`` is a Unix socket (the control socket).

    uvicorn gives ``(path, None)`` for a Unix socket and ``(host, port)`` for TCP; footfall
    listens on no other Unix socket.
    """
    return server is not None and len(server) == 2 and server[1] is None
