"""Importing history for a site: the one entry point the CLI and the HTTP API share.

The file is NDJSON, or Parquet with the same fields as columns (what ``footfall export
--format parquet`` writes; told apart by its first bytes). The ingest core turns it into event
and session rows (`footfall.ingest.bulk`); the event store only loads them, in one
transaction (docs/adr/0011-bulk-import-in-the-core.md).

An import cannot tell an event it stored before from a new one, so a file whose bytes were
already imported into the site is refused (`AlreadyImportedError`) unless `force` is given:
every file that stored events is recorded by its SHA-256 (footfall.meta.imports). The digest
is computed in a thread while the file is parsed, and checked before anything is written; a
file whose size matches an earlier import is hashed first, so that a repeat is refused at
once.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from footfall.errors import ConflictError
from footfall.ingest.bulk import Enrichers, ImportReport, ImportTarget, build_import
from footfall.ingest.bulk.pipeline import Progress
from footfall.meta.imports import ImportRecord, find_import, imported_sizes, record_import
from footfall.meta.sites import Site
from footfall.services import Services
from footfall.text.quantities import plural

__all__ = ["DIGEST", "AlreadyImportedError", "ImportReport", "file_digest", "import_ndjson"]

# The hash that names a file's bytes; a caller that reads the file anyway (the HTTP API spools
# its body) may compute it on the way with ``hashlib.new(DIGEST)``.
DIGEST = "sha256"


class AlreadyImportedError(ConflictError):
    """The same bytes were imported into the site before; importing them again doubles them.

    The message says when, and how many events; each caller adds how to import anyway.
    """

    def __init__(self, site: Site, previous: ImportRecord) -> None:
        self.previous = previous
        super().__init__(
            f"{site.domain} already holds the events of this file (imported on "
            f"{previous.imported_at:%Y-%m-%d at %H:%M} UTC: {plural(previous.stored, 'event')})"
        )


def file_digest(path: Path) -> str:
    """The hex `DIGEST` of the file at `path`, read in large blocks outside the GIL."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, DIGEST).hexdigest()


def _refuse_if_imported(services: Services, site: Site, digest: str) -> None:
    previous = find_import(services.meta, site.id, digest)
    if previous is not None:
        raise AlreadyImportedError(site, previous)


def import_ndjson(
    services: Services,
    *,
    site: Site,
    path: Path,
    progress: Progress | None = None,
    force: bool = False,
    digest: str | None = None,
) -> ImportReport:
    """Imports an NDJSON file through the same enrichment and session rules as live events.

    Args:
        services: The open services (the event store must be writable by this process).
        site: The site the events belong to.
        path: The file to read.
        progress: Called with each stage's name: reading, validating, enriching,
            sessionising, writing.
        force: Import the file even when the same bytes were imported into the site before.
        digest: The file's hex `DIGEST` when the caller already has it.

    Returns:
        The import report; `rejected` > 0 means some lines were skipped.

    Raises:
        AlreadyImportedError: Without `force`, the same bytes were imported into the site
            before; nothing was written.
    """
    size = path.stat().st_size
    if digest is None and not force and size in imported_sizes(services.meta, site.id):
        digest = file_digest(path)
    if digest is not None and not force:
        _refuse_if_imported(services, site, digest)
    with ThreadPoolExecutor(1, thread_name_prefix="footfall-digest") as pool:
        hashing = pool.submit(file_digest, path) if digest is None else None
        check = None if force else hashing
        report = _import(services, site=site, path=path, progress=progress, check=check)
        if hashing is not None:
            digest = hashing.result()
    if report.stored and digest is not None:
        record_import(
            services.meta,
            site_id=site.id,
            digest=digest,
            size=size,
            lines=report.lines,
            stored=report.stored,
            now=services.clock.now(),
        )
    return report


def _import(
    services: Services,
    *,
    site: Site,
    path: Path,
    progress: Progress | None,
    check: Future[str] | None,
) -> ImportReport:
    """Parses, enriches and sessionises `path`, then writes it, once `check` allows it.

    `check` is the digest being computed meanwhile: a file found imported before (by
    another import that finished meanwhile) is refused before anything is written.
    """
    pipeline = services.pipeline
    now = services.clock.now()
    rows = build_import(
        path,
        target=ImportTarget(
            site_id=site.id,
            domain=site.domain,
            salt=services.salts.ring(now).current,
            now=now,
            known_visitors=services.store.known_visitors,
            reserve_session_ids=services.session_ids.reserve,
            reserve_visitor_numbers=services.visitor_ids.reserve,
        ),
        enrichers=Enrichers(
            user_agents=pipeline.user_agents, geo=pipeline.geo, sources=pipeline.sources
        ),
        progress=progress,
    )
    if check is not None:
        _refuse_if_imported(services, site, check.result())
    if progress is not None:
        progress("writing")
    # One transaction; the store bumps its data version (cached statistics of past days).
    services.store.load(rows.events, rows.sessions)
    # A live event of a visitor the import just numbered must get the same number.
    services.remember_recent_visitors(site_id=site.id)
    return rows.report
