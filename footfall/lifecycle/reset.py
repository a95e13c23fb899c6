"""``footfall site reset``: delete every event and session of a site, keep the site.

The site, its goals, keys, members and shared links stay, and it keeps counting: events that
arrive after the reset are stored as usual. In a serving process events accepted just before
the reset may still be on their way to the store; they are let through and deleted too, so
nothing from before the reset survives it. Cached statistics go with the data version the
deletion bumps; backups taken before keep the events until they are rotated away
(docs/operations/backup-restore.md).
"""

from __future__ import annotations

import asyncio
import concurrent.futures

from footfall.meta.audit import Actor, record
from footfall.meta.sites import Site, get_site
from footfall.services import Services
from footfall.storage.base import Deletion

# How long a serving process waits for events accepted before the reset to reach the store.
FLUSH_TIMEOUT_SECONDS = 30.0


def reset_site(
    services: Services, domain: str, *, actor: Actor | None = None
) -> tuple[Site, Deletion]:
    """Deletes every event and session of the site `domain`; records ``site.reset``.

    Raises:
        NotFoundError: No such site.
        StoreError: The deletion failed.
    """
    site = get_site(services.meta, domain)
    # New events start new visits from here on; those accepted before land, then go.
    forget_site_sessions(services, site.id)
    services.flush_writer(timeout=FLUSH_TIMEOUT_SECONDS)
    done = services.store.delete_site(site.id)
    forget_site_sessions(services, site.id)
    if actor is not None:
        record(
            services.meta,
            actor=actor.name,
            action="site.reset",
            target=site.domain,
            ip=actor.ip,
            after={"events": done.events, "sessions": done.sessions},
        )
    return site, done


def forget_site_sessions(services: Services, site_id: int) -> None:
    """Drops a site's live sessions from the cache, on the serving event loop if there is one.

    After a site's events are deleted, its visitors' next events must start new sessions: a
    cached one would keep updating a session row that no longer exists. The cache belongs to
    the event loop, so a worker thread asks the loop to do it and waits.
    """
    loop = services.serving_loop
    try:
        on_loop = asyncio.get_running_loop() is loop
    except RuntimeError:
        on_loop = False
    if loop is None or on_loop or not loop.is_running():
        services.sessions.forget_site(site_id)
        return
    done: concurrent.futures.Future[int] = concurrent.futures.Future()

    def forget() -> None:
        try:
            done.set_result(services.sessions.forget_site(site_id))
        except Exception as exc:  # handed to the waiting thread
            done.set_exception(exc)

    loop.call_soon_threadsafe(forget)
    done.result(timeout=FLUSH_TIMEOUT_SECONDS)
