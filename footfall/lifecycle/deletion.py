"""Deleting a site with everything stored for it: the path the CLI and the Sites API share."""

from __future__ import annotations

from collections.abc import Callable

from footfall.meta.audit import Actor
from footfall.meta.sites import Site, delete_site, get_site
from footfall.services import Services


def delete_site_and_events(
    services: Services,
    domain: str,
    *,
    actor: Actor | None,
    drain: Callable[[], object] | None = None,
) -> Site:
    """Removes a site's metadata (goals, links, grants, invitations), then its events.

    The metadata goes first, so that once the site directory is reloaded no new event of the
    site is accepted; `drain` then lets everything already acknowledged reach the store
    (a serving process flushes its writer), and only then are the events and sessions deleted,
    so none can come back from the journal afterwards. The store checkpoints the deletion.

    Args:
        services: The open services.
        domain: The site's domain (or its previous domain).
        actor: Who deletes, for the audit log (``site.delete``).
        drain: Called between the two steps; blocks until acknowledged events are stored.

    Returns:
        The deleted site.

    Raises:
        NotFoundError: No such site.
    """
    site = get_site(services.meta, domain)
    delete_site(services.meta, site.domain, actor=actor)
    services.sites.reload()
    if drain is not None:
        drain()
    services.store.delete_site(site.id)
    return site
