"""Bytes a store takes on disk: a file's size, or the sum of the files under a directory."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def path_bytes(path: Path) -> int:
    """The size of a file, or of every file below a directory (a chdb data directory).

    Raises:
        OSError: `path` does not exist.
    """
    if not path.is_dir():
        return os.stat(path).st_size
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):  # a part merged away while walking
                total += os.stat(os.path.join(root, name), follow_symlinks=False).st_size
    return total
