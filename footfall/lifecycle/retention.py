"""Per-site retention: events older than a site's ``retention_days`` are deleted, audited.

A site with ``retention_days = N`` keeps today and the N whole days before it, counted in the
site's time zone: on its local date D, events before local midnight starting D - N are deleted
(so a "last N days" view is always complete). Days start where the Stats API starts them
(`footfall.stats.periods.utc_bounds`), so a deletion never splits a day a report shows.

The event store does the deleting (`EventStore.delete_before`: rows, or whole partitions where
the backend has them) and says how much space it gave back. Each site whose deletion removed
anything gets one ``site.retention`` audit entry with the cutoff and the counts. The job in
`footfall.jobs.retention` runs `enforce_retention` at start and every hour; a site's cutoff
moves once a day, at its local midnight, so an hourly round deletes nothing most of the time
and costs one count per site.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlalchemy as sa

from footfall.meta.audit import Actor, record
from footfall.meta.sites import Site, list_sites
from footfall.stats.periods import DateRange, today_in, utc_bounds
from footfall.storage.base import Deletion, EventStore

log = logging.getLogger(__name__)

# The audit log's actor for deletions the background job makes.
JOB_ACTOR = Actor("job:retention")


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What retention did for one site.

    Attributes:
        site: The site.
        before: Events before this instant (naive UTC) were due for deletion.
        deletion: What the store removed, and the space it gave back.
    """

    site: Site
    before: dt.datetime
    deletion: Deletion

    def describe(self) -> str:
        """One line for the command line and the log."""
        freed = self.deletion.bytes_freed
        space = "" if freed is None else f", {freed / 1048576:.1f} MiB reclaimed"
        days = self.site.retention_days
        return (
            f"{self.site.domain}: keeps {days} day{'' if days == 1 else 's'}; deleted "
            f"{self.deletion.events} events and {self.deletion.sessions} sessions before "
            f"{self.before:%Y-%m-%d %H:%M} UTC{space}"
        )


def retention_cutoff(site: Site, now: dt.datetime) -> dt.datetime | None:
    """The instant (naive UTC) before which the site's events are due; None without retention.

    Args:
        site: The site.
        now: The current time (aware).
    """
    if site.retention_days is None:
        return None
    first_kept = today_in(site.timezone, now) - dt.timedelta(days=site.retention_days)
    start, _ = utc_bounds(DateRange(first_kept, first_kept), site.timezone)
    return start


def enforce_retention(
    meta: sa.Engine,
    store: EventStore,
    *,
    now: dt.datetime,
    domain: str | None = None,
    actor: Actor = JOB_ACTOR,
) -> list[RetentionResult]:
    """Deletes, for every site with a retention (or only `domain`), the events now due.

    Args:
        meta: The metadata store.
        store: The event store (writable by this process).
        now: The current time (aware).
        domain: Only this site.
        actor: Who deletes, for the audit log.

    Returns:
        One result per site with a retention, in domain order, including those for which
        nothing was due.

    Raises:
        StoreError: A deletion failed; the sites before it keep their results.
    """
    results = []
    for site in list_sites(meta):
        if domain is not None and site.domain != domain:
            continue
        before = retention_cutoff(site, now)
        if before is None:
            continue
        deletion = store.delete_before(site.id, before)
        result = RetentionResult(site=site, before=before, deletion=deletion)
        results.append(result)
        if deletion.events or deletion.sessions:
            log.info("retention: %s", result.describe())
            record(
                meta,
                actor=actor.name,
                action="site.retention",
                target=site.domain,
                ip=actor.ip,
                after={
                    "retention_days": site.retention_days,
                    "before": before.isoformat() + "Z",
                    "events": deletion.events,
                    "sessions": deletion.sessions,
                    "bytes_freed": deletion.bytes_freed,
                },
            )
    return results
