"""``footfall backup``: one consistent copy of a data directory, taken while it serves.

The steps, in the process that holds the event store (the server, asked through its control
socket or an ``admin`` key, or the command itself when no server runs):

1. everything accepted so far is applied to the store, sessions included (`flush_writer`);
2. the event store writes a snapshot of itself (`EventStore.snapshot_to`: one read
   transaction, ingest goes on; the journal position it holds is recorded);
3. the metadata database is copied without its salts (`footfall.lifecycle.metadump`);
4. every file is checksummed into a manifest, with the versions and the events per site;
5. the archive (`footfall.lifecycle.archive`) is written: to a file, as ``DEST.partial``
   renamed into place once complete and synced, or streamed to the asking command.

The staging files live in ``<data-dir>/spool/`` (removed at the next start if a crash leaves
them) and are removed when the backup ends, whatever way it ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import footfall
from footfall.errors import FootfallError, StoreError
from footfall.lifecycle import archive
from footfall.lifecycle.archive import Progress
from footfall.lifecycle.metadump import dump_metadata
from footfall.lifecycle.spool import spool_dir
from footfall.meta.audit import Actor, record
from footfall.meta.sites import list_sites
from footfall.services import Services

log = logging.getLogger(__name__)

EVENTS_DIR = "events"
META_DIR = "meta"


@dataclass(frozen=True, slots=True)
class Staged:
    """A backup ready to be written: its manifest and the directory holding its files."""

    manifest: dict[str, Any]
    directory: Path

    @property
    def archive_bytes(self) -> int:
        """The exact size of the archive."""
        return archive.archive_size(self.manifest)

    def write(self, out: IO[bytes], progress: Progress | None = None) -> int:
        """Writes the archive to `out`; returns the bytes written."""
        return archive.write_archive(self.manifest, self.directory, out, progress)


@contextlib.contextmanager
def staged_backup(services: Services, *, metadata: bool = True) -> Iterator[Staged]:
    """Takes the snapshot and the metadata copy into a private staging directory.

    Args:
        services: The open services of the process holding the event store.
        metadata: Copy the metadata database too (False when it is backed up otherwise).

    Yields:
        The staged backup; its files are removed when the block ends.

    Raises:
        StoreError: A copy failed (a full disk included).
    """
    try:
        staging = Path(
            tempfile.mkdtemp(prefix="backup-", dir=spool_dir(services.settings.data_dir))
        )
    except OSError as exc:
        raise StoreError(f"cannot stage a backup in the data directory: {exc}") from exc
    try:
        yield Staged(manifest=_take(services, staging, metadata=metadata), directory=staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _take(services: Services, staging: Path, *, metadata: bool) -> dict[str, Any]:
    started = services.clock.now()
    services.flush_writer()
    events_dir = staging / EVENTS_DIR
    events_dir.mkdir()
    snapshot = services.store.snapshot_to(events_dir)
    names = [f"{EVENTS_DIR}/{name}" for name in snapshot.files]
    meta_json: dict[str, Any] | None = None
    if metadata:
        meta_dir = staging / META_DIR
        meta_dir.mkdir()
        try:
            dump = dump_metadata(services.meta, meta_dir)
        except OSError as exc:
            raise StoreError(f"copying the metadata database failed: {exc}") from exc
        names.append(f"{META_DIR}/{dump.file}")
        meta_json = {
            "database": dump.database,
            "revision": dump.revision,
            "file": dump.file,
            "salts": "excluded",
        }
    try:
        entries = archive.entries_of(staging, names)
    except OSError as exc:
        raise StoreError(f"reading the staged backup failed: {exc}") from exc
    domains = {site.id: site.domain for site in list_sites(services.meta)}
    return {
        "format": archive.FORMAT,
        "format_version": archive.FORMAT_VERSION,
        "footfall_version": footfall.__version__,
        "created_at": _iso(started),
        "event_store": {
            "backend": snapshot.backend,
            "schema_version": snapshot.schema_version,
            "journal_seq": snapshot.journal_seq,
            "events": snapshot.events,
            "sessions": snapshot.sessions,
            "files": list(snapshot.files),
        },
        "metadata": meta_json,
        "sites": [
            {"id": site_id, "domain": domains.get(site_id), "events": count}
            for site_id, count in sorted(snapshot.events_per_site.items())
        ],
        "files": [entry.as_json() for entry in entries],
    }


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def default_name(now: dt.datetime) -> str:
    """The archive's file name when DEST is a directory: ``footfall-backup-<UTC time>.tar``."""
    return f"footfall-backup-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}.tar"


def target_path(dest: Path, now: dt.datetime) -> Path:
    """Where a backup to `dest` goes: into it when it is a directory, else `dest` itself."""
    return dest / default_name(now) if dest.is_dir() else dest


@contextlib.contextmanager
def partial_file(target: Path) -> Iterator[IO[bytes]]:
    """``<target>.partial``, open for writing; renamed to `target` only once complete.

    Synced before the rename, and the directory after it, so that a crash leaves either the
    whole archive or none. On any failure the partial file is removed.

    Raises:
        FootfallError: The file cannot be created or written (a full disk included).
    """
    partial = target.with_name(target.name + ".partial")
    try:
        handle = partial.open("xb")
    except FileExistsError as exc:
        raise FootfallError(
            f"{partial} exists: another backup may be writing it (remove it if not)"
        ) from exc
    except OSError as exc:
        raise FootfallError(f"cannot write {partial}: {exc.strerror or exc}") from exc
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
        _sync_directory(target.parent)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise FootfallError(
            f"writing the backup to {target} failed: {exc.strerror or exc}; nothing was kept"
        ) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _sync_directory(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def record_backup(services: Services, staged: Staged, *, actor: Actor | None, where: str) -> None:
    """Records ``backup.create`` in the audit log (after the copy: it is not in the backup)."""
    if actor is None:
        return
    store = staged.manifest["event_store"]
    record(
        services.meta,
        actor=actor.name,
        action="backup.create",
        target=where[:255],
        ip=actor.ip,
        after={"events": store["events"], "journal_seq": store["journal_seq"]},
    )


def backup_to_file(
    services: Services,
    dest: Path,
    *,
    progress: Progress | None = None,
    metadata: bool = True,
    actor: Actor | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Writes a backup archive to `dest` (a file, or a directory to put it in).

    Returns:
        The archive's path and its manifest.

    Raises:
        FootfallError: The copy or the write failed; no archive (and no partial file) is left.
    """
    target = target_path(dest, services.clock.now())
    with staged_backup(services, metadata=metadata) as staged, partial_file(target) as out:
        staged.write(out, progress)
    record_backup(services, staged, actor=actor, where=str(target))
    log.info("backup written to %s", target)
    return target, staged.manifest
