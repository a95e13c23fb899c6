"""``footfall restore``: a backup archive back into an empty data directory.

Nothing is put in place before everything is checked:

1. the target must be empty (a data directory with no files, a PostgreSQL database without
   footfall's tables); ``force`` replaces what is there, but never while a server holds it;
2. the manifest must be one this footfall reads: format, event-store backend and schema
   version, metadata database kind and revision (an older one is fine: it is migrated);
3. every file is extracted into a staging directory inside the data directory, its size and
   SHA-256 checked against the manifest;
4. the event store is rebuilt from its snapshot and the metadata database put back;
5. only then are the files moved into place, and the services opened once: that migrates the
   metadata forward, upgrades an older event store, rebuilds the newest sessions, and makes a
   new salt (salts are never backed up). Events of sites the metadata no longer has (deleted
   while the backup was being taken) are removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from footfall.errors import FootfallError, StoreBusyError, StoreError
from footfall.lifecycle.archive import ArchiveError, Progress, Reader
from footfall.lifecycle.backup import EVENTS_DIR, META_DIR
from footfall.lifecycle.metadump import MetaDump, holds_footfall, restore_metadata
from footfall.meta import db
from footfall.meta.audit import Actor, record
from footfall.meta.sites import list_sites
from footfall.services import (
    Services,
    event_store_backend,
    open_event_store,
    readable_store_versions,
    restore_event_store,
)
from footfall.settings import Settings

log = logging.getLogger(__name__)

# Files and directories of a data directory that a forced restore replaces.
_REPLACED = (
    "events.duckdb",
    "events.duckdb.wal",
    "events.duckdb.tmp",
    "meta.sqlite3",
    "meta.sqlite3-wal",
    "meta.sqlite3-shm",
    "journal",
    "spool",
)


@dataclass
class RestoreReport:
    """What a restore put back.

    Attributes:
        manifest: The backup's manifest.
        events: Events per domain after the restore.
        removed_orphans: Events removed because their site was not in the metadata.
    """

    manifest: dict[str, Any]
    events: dict[str, int] = field(default_factory=dict)
    removed_orphans: int = 0


def check_manifest(manifest: dict[str, Any], settings: Settings, meta_kind: str) -> None:
    """Refuses a backup this footfall cannot restore into these settings.

    Raises:
        ArchiveError: Another backend, a newer schema, another metadata database kind.
    """
    store = manifest.get("event_store")
    if not isinstance(store, dict):
        raise ArchiveError("the backup's manifest is damaged: it describes no event store")
    backend = event_store_backend(settings)
    if store.get("backend") != backend:
        raise ArchiveError(
            f"the backup holds a {store.get('backend')} event store and this footfall is set "
            f"up for {backend}: restore it with FOOTFALL_EVENTS_URL selecting the same kind"
        )
    version = str(store.get("schema_version"))
    if version not in readable_store_versions(settings):
        raise ArchiveError(
            f"the backup's event store has schema version {version}, which this footfall "
            "does not know: it was made by a newer footfall, restore it with that release"
        )
    meta = manifest.get("metadata")
    if meta is None:
        return
    if not isinstance(meta, dict) or not isinstance(meta.get("file"), str):
        raise ArchiveError("the backup's manifest is damaged: its metadata entry is malformed")
    if meta.get("database") != meta_kind:
        raise ArchiveError(
            f"the backup holds a {meta.get('database')} metadata database and this footfall "
            f"is set up for {meta_kind}: set FOOTFALL_DATABASE_URL to match the backup"
        )
    revision = meta.get("revision")
    if revision is not None and revision not in db.known_revisions():
        raise ArchiveError(
            f"the backup's metadata is at schema revision {revision}, which this footfall "
            "does not know: it was made by a newer footfall, restore it with that release"
        )


def _is_empty(data_dir: Path) -> bool:
    return not data_dir.exists() or not any(data_dir.iterdir())


def check_target(settings: Settings, meta_kind: str, *, force: bool) -> None:
    """Refuses a data directory (or metadata database) that holds data, unless `force`.

    Raises:
        FootfallError: It holds data and `force` is not given, or a server holds it.
    """
    data_dir = settings.data_dir
    engine = db.create_engine(settings.metadata_url) if meta_kind != "sqlite" else None
    try:
        holds = not _is_empty(data_dir) or (engine is not None and holds_footfall(engine))
    finally:
        if engine is not None:
            engine.dispose()
    if not holds:
        return
    if not force:
        raise FootfallError(
            f"{data_dir} is not empty (or the metadata database holds footfall's tables): "
            "restore into an empty data directory, or pass --force to replace what is there"
        )
    if settings.event_store_path.exists():
        try:
            open_event_store(settings, read_only=True).close()
        except StoreBusyError as exc:
            raise FootfallError(
                f"{data_dir} is in use by a running footfall: stop it before restoring over it"
            ) from exc
        except StoreError:
            pass  # an unreadable store is about to be replaced


@contextlib.contextmanager
def _staging(data_dir: Path) -> Iterator[Path]:
    created = not data_dir.exists()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
    try:
        yield staging
    except BaseException:
        if created:
            shutil.rmtree(data_dir, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def restore(
    settings: Settings,
    source: IO[bytes],
    *,
    force: bool = False,
    progress: Progress | None = None,
    actor: Actor | None = None,
) -> RestoreReport:
    """Restores the archive read from `source` into the data directory of `settings`.

    Raises:
        ArchiveError: Not a footfall backup, damaged (a checksum differs), or not restorable
            here; nothing was changed.
        FootfallError: The target holds data (without `force`) or is in use, or a step
            failed; a data directory this call created is removed again.
    """
    meta_kind = db.database_url(settings.metadata_url).get_backend_name()
    check_target(settings, meta_kind, force=force)
    reader = Reader(source)
    manifest = reader.manifest()
    check_manifest(manifest, settings, meta_kind)
    with _staging(settings.data_dir) as staging:
        reader.extract(manifest, staging, progress)
        restore_event_store(settings, staging / EVENTS_DIR, into=staging, replace=force)
        if force:
            _clear(settings.data_dir, keep=staging)
        meta = manifest.get("metadata")
        if meta is not None:
            dump = MetaDump(
                database=meta["database"], revision=meta.get("revision"), file=meta["file"]
            )
            engine = db.create_engine(settings.metadata_url)
            try:
                restore_metadata(
                    dump,
                    staging / META_DIR,
                    engine,
                    sqlite_target=settings.data_dir / "meta.sqlite3",
                    clean=force,
                )
            finally:
                engine.dispose()
        store_file = staging / settings.event_store_path.name
        if store_file.exists():
            os.replace(store_file, settings.event_store_path)
        return _open_once(settings, manifest, actor=actor, orphans=meta is not None)


def _clear(data_dir: Path, *, keep: Path) -> None:
    """Removes the footfall files a forced restore replaces (nothing else)."""
    for name in _REPLACED:
        path = data_dir / name
        if path == keep:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _open_once(
    settings: Settings, manifest: dict[str, Any], *, actor: Actor | None, orphans: bool
) -> RestoreReport:
    """Opens the restored data directory once: migrations, upgrades, repairs, a new salt."""
    report = RestoreReport(manifest=manifest)
    services = Services.open(settings)
    try:
        sites = {site.id: site.domain for site in list_sites(services.meta)}
        if orphans:
            for item in manifest.get("sites", []):
                site_id = int(item["id"])
                if site_id not in sites:
                    report.removed_orphans += services.store.delete_site(site_id).events
        for site_id, domain in sorted(sites.items(), key=lambda pair: pair[1]):
            report.events[domain] = services.store.count_events(site_id)
        if actor is not None:
            record(
                services.meta,
                actor=actor.name,
                action="backup.restore",
                target=str(manifest.get("created_at", "")),
                ip=actor.ip,
                after={
                    "footfall_version": manifest.get("footfall_version"),
                    "events": sum(report.events.values()),
                },
            )
    finally:
        services.close()
    log.info("restored the backup of %s", manifest.get("created_at"))
    return report
