"""Importing NDJSON history for a site: the one entry point the CLI and the HTTP API share.

The ingest core turns the file into event and session rows (`footfall.ingest.bulk`); the
event store only loads them, in one transaction (docs/adr/0011-bulk-import-in-the-core.md).
"""

from __future__ import annotations

from pathlib import Path

from footfall.ingest.bulk import Enrichers, ImportReport, ImportTarget, build_import
from footfall.ingest.bulk.pipeline import Progress
from footfall.meta.sites import Site
from footfall.services import Services

__all__ = ["ImportReport", "import_ndjson"]


def import_ndjson(
    services: Services, *, site: Site, path: Path, progress: Progress | None = None
) -> ImportReport:
    """Imports an NDJSON file through the same enrichment and session rules as live events.

    Args:
        services: The open services (the event store must be writable by this process).
        site: The site the events belong to.
        path: The file to read.
        progress: Called with each stage's name: reading, validating, enriching,
            sessionising, writing.

    Returns:
        The import report; `rejected` > 0 means some lines were skipped.
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
    if progress is not None:
        progress("writing")
    # One transaction; the store bumps its data version (cached statistics of past days).
    services.store.load(rows.events, rows.sessions)
    # A live event of a visitor the import just numbered must get the same number.
    services.remember_recent_visitors(site_id=site.id)
    return rows.report
