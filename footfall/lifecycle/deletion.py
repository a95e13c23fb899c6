"""Deleting a site: its events and sessions, then its metadata, as one step for every caller.

`footfall site delete` and the admin's site page both call `delete_site`. In a command the
services are opened without a writer (the journal was replayed when they were opened); in a
serving process events for the site may still be arriving or waiting for the store, so once
the metadata is gone (and with it the domain, so new events are dropped as unknown) whatever
was accepted before is written and deleted too.
"""

from __future__ import annotations

from footfall.meta.audit import Actor
from footfall.meta.sites import Site, get_site
from footfall.meta.sites import delete_site as delete_site_metadata
from footfall.services import Services

# How long a serving process waits for events accepted before the deletion to reach the store.
FLUSH_TIMEOUT_SECONDS = 30.0


def delete_site(services: Services, domain: str, *, actor: Actor | None = None) -> Site:
    """Deletes every event and session of the site `domain`, then the site itself.

    The events go first: if anything fails after that, the site is still listed and the
    deletion can be run again. The metadata (the site, its goals, shared links and grants)
    goes in one transaction with its ``site.delete`` audit entry.

    Args:
        services: The opened services (started, in a serving process).
        domain: The site's domain (``www.`` and case do not matter).
        actor: Who deletes, for the audit log.

    Returns:
        The deleted site.

    Raises:
        NotFoundError: No such site.
    """
    site = get_site(services.meta, domain)
    services.store.delete_site(site.id)
    delete_site_metadata(services.meta, site.domain, actor=actor)
    services.sites.reload()
    writer = services.running_writer
    if writer is not None:
        # Events accepted before the reload may still be queued: let them land, then remove
        # them, so that no row of the deleted site stays behind.
        writer.flush_sessions(timeout=FLUSH_TIMEOUT_SECONDS)
        services.store.delete_site(site.id)
    return site
