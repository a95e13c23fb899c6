"""Importing NDJSON history for a site: the one entry point the CLI and the HTTP API share."""

from __future__ import annotations

from pathlib import Path

from footfall.meta.sites import Site
from footfall.services import Services
from footfall.storage.duckdb.importing import DuckDBImporter, Enrichers, ImportReport, Progress


def import_ndjson(
    services: Services, *, site: Site, path: Path, progress: Progress | None = None
) -> ImportReport:
    """Imports an NDJSON file through the same enrichment and session rules as live events.

    Args:
        services: The open services (the event store must be writable by this process).
        site: The site the events belong to.
        path: The file to read.
        progress: Called with each stage's name.

    Returns:
        The import report; `rejected` > 0 means some lines were skipped.
    """
    pipeline = services.pipeline
    importer = DuckDBImporter(
        services.store,
        enrichers=Enrichers(
            user_agents=pipeline.user_agents, geo=pipeline.geo, sources=pipeline.sources
        ),
        salts=services.salts.ring(services.clock.now()),
        reserve_session_ids=services.session_ids.reserve,
        reserve_visitor_numbers=services.visitor_ids.reserve,
    )
    report = importer.import_file(path, site_id=site.id, domain=site.domain, progress=progress)
    # The import may have added to past days: statistics cached for them are stale.
    services.store.bump_data_version()
    # A live event of a visitor the import just numbered must get the same number.
    services.remember_recent_visitors(site_id=site.id)
    return report
