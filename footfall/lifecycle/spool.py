"""Import spools: private temporary files under ``<data-dir>/spool/``, gone by the next start.

An import body (`POST /api/import`) or the standard input of ``footfall import -`` is written to
a file before the importer reads it. Those lines hold raw IP addresses and User-Agents, which
footfall otherwise never stores. A spool is created readable by its owner only (0600) in a
directory of its own (0700) and removed when the import ends; one left behind by a crash is
removed when the services next open, before anything is served, so raw addresses never
outlive a crash.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

SPOOL_DIR = "spool"
# Where earlier releases spooled, straight into the data directory.
_LEGACY_PATTERNS = ("import-*.ndjson", "tmp*.ndjson")


def spool_dir(data_dir: Path) -> Path:
    """The spool directory of `data_dir`, created (owner only) when missing."""
    path = data_dir / SPOOL_DIR
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def spool(data_dir: Path) -> Iterator[tuple[Path, BinaryIO]]:
    """A new spool file, open for writing; removed when the block ends, however it ends.

    Args:
        data_dir: The data directory.

    Yields:
        The file's path and its handle (which the caller may close early, before reading).
    """
    # mkstemp creates the file with mode 0600 and O_EXCL.
    fd, name = tempfile.mkstemp(prefix="import-", suffix=".ndjson", dir=spool_dir(data_dir))
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield path, handle
    finally:
        path.unlink(missing_ok=True)


def remove_spools(data_dir: Path) -> int:
    """Removes every spool left by an interrupted import; returns how many bytes they held.

    Also removes the staging directories (``backup-*``) of backups a crash interrupted.
    Call it only while no import or backup can run: `footfall.services.Services.open` calls it
    once it holds the event store, which no other footfall process can then open.
    """
    for staging in (data_dir / SPOOL_DIR).glob("backup-*"):
        if staging.is_dir() and not staging.is_symlink():
            shutil.rmtree(staging, ignore_errors=True)
            log.warning("removed %s, left by an interrupted backup", staging)
    leftovers = [p for p in (data_dir / SPOOL_DIR).glob("*") if p.is_file()]
    for pattern in _LEGACY_PATTERNS:
        leftovers.extend(p for p in data_dir.glob(pattern) if p.is_file())
    removed = 0
    count = 0
    for path in leftovers:
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:  # say so loudly, but a spool must not stop the service
            log.error("cannot remove the import spool %s: %s", path, exc)
            continue
        removed += size
        count += 1
    if count:
        log.warning(
            "removed %d import spool file(s), %d bytes, left by an interrupted import: they "
            "held raw IP addresses and User-Agents, which must not outlive the import",
            count,
            removed,
        )
    return removed
