"""The demo site's history: what ``footfall serve --demo`` seeds before it starts serving."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from footfall.devtools.traffic import write_ndjson
from footfall.lifecycle.importing import import_ndjson

if TYPE_CHECKING:
    from footfall.meta.sites import Site
    from footfall.services import Services
    from footfall.storage.duckdb.importing import ImportReport


def seed_demo(services: Services, *, site: Site, events: int, days: int) -> ImportReport:
    """Generates `days` days of synthetic traffic ending now and imports it for `site`.

    Args:
        services: Open services; this process must hold the event store.
        site: The site the traffic is for.
        events: About how many events to generate.
        days: Length of the window, ending at the services' clock.

    Returns:
        The import report.
    """
    fd, name = tempfile.mkstemp(suffix=".ndjson", dir=services.settings.data_dir)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            write_ndjson(
                handle,
                domain=site.domain,
                events=events,
                days=days,
                end=services.clock.now().astimezone(dt.UTC),
            )
        return import_ndjson(services, site=site, path=path)
    finally:
        path.unlink(missing_ok=True)
