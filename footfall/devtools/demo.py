"""The demo site's history: what ``footfall serve --demo`` seeds before it starts serving.

The traffic generator's events with their custom properties, and the goals that make its custom
events conversions: every event the generator fires (`GOAL_NAMES`) and a pageview goal on the
pricing page, so that the goal panel, conversion rates and goal filters have something to show.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from footfall.devtools.traffic import write_ndjson
from footfall.devtools.traffic.goals import GOAL_NAMES
from footfall.lifecycle.importing import import_ndjson
from footfall.meta.goals import add_goal, list_goals

if TYPE_CHECKING:
    import sqlalchemy as sa

    from footfall.ingest.bulk import ImportReport
    from footfall.meta.audit import Actor
    from footfall.meta.sites import Site
    from footfall.services import Services


DEMO_PAGE_GOAL = "/pricing"


def add_demo_goals(meta: sa.Engine, site_id: int, *, actor: Actor | None = None) -> None:
    """Adds the demo traffic's goals to a site, leaving the ones it already has."""
    have = {(g.event_name, g.page_path) for g in list_goals(meta, site_id)}
    for name in GOAL_NAMES:
        if (name, None) not in have:
            add_goal(meta, site_id, event_name=name, actor=actor)
    if (None, DEMO_PAGE_GOAL) not in have:
        add_goal(meta, site_id, page_path=DEMO_PAGE_GOAL, actor=actor)


def seed_demo(
    services: Services, *, site: Site, events: int, days: int, actor: Actor | None = None
) -> ImportReport:
    """Generates `days` days of synthetic traffic ending now, imports it and adds its goals.

    The same clock gives the same events (the generator's default seed).

    Args:
        services: Open services; this process must hold the event store.
        site: The site the traffic is for.
        events: About how many events to generate.
        days: Length of the window, ending at the services' clock.
        actor: Who the audit log names for the goals.

    Returns:
        The import report.
    """
    add_demo_goals(services.meta, site.id, actor=actor)
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
