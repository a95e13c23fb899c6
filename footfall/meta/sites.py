"""Functions over the sites table."""

from __future__ import annotations

import dataclasses
import re
import time
import zoneinfo
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.audit import Actor, record_change
from footfall.meta.db import utcnow
from footfall.meta.tables import goals, shared_links, sites, user_sites

# A hostname-like domain, optionally with a path prefix is not allowed: Plausible site ids are
# bare domains (subdomains allowed), lower case.
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


# The longest retention a site may have: a century of days, beyond any real need.
MAX_RETENTION_DAYS = 36_500


@dataclass(frozen=True, slots=True)
class Site:
    """A website whose traffic footfall counts.

    Attributes:
        id: The site's id (events are stored under it).
        domain: Lower case, without ``www.``.
        timezone: The IANA zone its days are counted in.
        retention_days: Events older than this many whole days are deleted; None keeps all.
    """

    id: int
    domain: str
    timezone: str
    retention_days: int | None = None


def normalise_domain(domain: str) -> str:
    """Lower-cases a domain and strips a leading ``www.``, raising on anything else odd."""
    value = domain.strip().lower()
    value = value.removeprefix("www.")
    if not _DOMAIN.match(value):
        raise InvalidInputError(f"invalid domain {domain!r}: expected something like example.com")
    return value


def validate_timezone(name: str) -> str:
    """Returns `name` if it is an IANA time zone, else raises InvalidInputError."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin"
        ) from exc
    return name


def validate_retention(days: int | None) -> int | None:
    """Returns `days` if it is a usable retention (None: keep everything), else raises.

    Raises:
        InvalidInputError: Not a whole number from 1 to `MAX_RETENTION_DAYS`.
    """
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_RETENTION_DAYS:
        raise InvalidInputError(
            f"retention must be a whole number of days from 1 to {MAX_RETENTION_DAYS} "
            "(or none, to keep every event)"
        )
    return days


def _site(row: sa.Row[Any]) -> Site:
    return Site(
        id=int(row.id),
        domain=row.domain,
        timezone=row.timezone,
        retention_days=None if row.retention_days is None else int(row.retention_days),
    )


def _snapshot(site: Site) -> dict[str, Any]:
    state: dict[str, Any] = {"domain": site.domain, "timezone": site.timezone}
    if site.retention_days is not None:
        state["retention_days"] = site.retention_days
    return state


def add_site(
    engine: sa.Engine, *, domain: str, timezone: str = "UTC", actor: Actor | None = None
) -> Site:
    """Creates a site; with an `actor`, records ``site.add`` in the same transaction.

    Raises:
        InvalidInputError: Bad domain or time zone.
        ConflictError: The domain is already registered.
    """
    domain = normalise_domain(domain)
    timezone = validate_timezone(timezone)
    with engine.begin() as conn:
        if conn.execute(sa.select(sites.c.id).where(sites.c.domain == domain)).first():
            raise ConflictError(f"site {domain} already exists")
        conn.execute(sites.insert().values(domain=domain, timezone=timezone, created_at=utcnow()))
        site_id = conn.execute(sa.select(sites.c.id).where(sites.c.domain == domain)).scalar_one()
        site = Site(id=int(site_id), domain=domain, timezone=timezone)
        record_change(conn, actor, "site.add", domain, after=_snapshot(site))
    return site


def list_sites(engine: sa.Engine) -> list[Site]:
    """All sites, ordered by domain."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sites).order_by(sites.c.domain)).all()
    return [_site(row) for row in rows]


def get_site(engine: sa.Engine, domain: str) -> Site:
    """The site registered under `domain` (www-stripped).

    Raises:
        NotFoundError: No such site.
    """
    value = domain.strip().lower().removeprefix("www.")
    row = None
    # No domain holds a NUL character, and PostgreSQL refuses one even as a parameter.
    if "\x00" not in value:
        with engine.connect() as conn:
            row = conn.execute(sa.select(sites).where(sites.c.domain == value)).first()
    if row is None:
        raise NotFoundError(f"no site {value}: add it with 'footfall site add {value}'")
    return _site(row)


def set_site_timezone(
    engine: sa.Engine, domain: str, timezone: str, *, actor: Actor | None = None
) -> Site:
    """Sets the time zone in which a site's days and periods are counted; returns the site.

    With an `actor`, records ``site.update`` (the domain and time zone before and after) in
    the same transaction, unless the time zone is unchanged.

    Raises:
        InvalidInputError: `timezone` is not an IANA time zone.
        NotFoundError: No such site.
    """
    timezone = validate_timezone(timezone)
    site = get_site(engine, domain)
    with engine.begin() as conn:
        row = conn.execute(sa.select(sites).where(sites.c.id == site.id)).first()
        if row is None:  # removed since get_site read it
            raise NotFoundError(f"no site {site.domain}")
        before = _site(row)
        if before.timezone == timezone:
            return before
        conn.execute(sites.update().where(sites.c.id == site.id).values(timezone=timezone))
        after = dataclasses.replace(before, timezone=timezone)
        record_change(
            conn,
            actor,
            "site.update",
            site.domain,
            before=_snapshot(before),
            after=_snapshot(after),
        )
    return after


def set_site_retention(
    engine: sa.Engine, domain: str, days: int | None, *, actor: Actor | None = None
) -> Site:
    """Sets how many days of a site's events are kept (None: all of them); returns the site.

    The retention job deletes what is older (`footfall.lifecycle.retention`). With an
    `actor`, records ``site.update`` (before and after) in the same transaction, unless the
    retention is unchanged.

    Raises:
        InvalidInputError: `days` is not from 1 to `MAX_RETENTION_DAYS` (or None).
        NotFoundError: No such site.
    """
    days = validate_retention(days)
    site = get_site(engine, domain)
    with engine.begin() as conn:
        row = conn.execute(sa.select(sites).where(sites.c.id == site.id)).first()
        if row is None:  # removed since get_site read it
            raise NotFoundError(f"no site {site.domain}")
        before = _site(row)
        if before.retention_days == days:
            return before
        conn.execute(sites.update().where(sites.c.id == site.id).values(retention_days=days))
        after = dataclasses.replace(before, retention_days=days)
        before_state = {**_snapshot(before), "retention_days": before.retention_days}
        after_state = {**_snapshot(after), "retention_days": days}
        record_change(
            conn, actor, "site.update", site.domain, before=before_state, after=after_state
        )
    return after


def delete_site(engine: sa.Engine, domain: str, *, actor: Actor | None = None) -> Site:
    """Removes a site, its goals, its shared links and its grants to viewers; returns it.

    With an `actor`, records ``site.delete`` in the same transaction.

    Raises:
        NotFoundError: No such site.
    """
    site = get_site(engine, domain)
    with engine.begin() as conn:
        # Not left to ON DELETE CASCADE: SQLite enforces it only with foreign keys switched on.
        conn.execute(goals.delete().where(goals.c.site_id == site.id))
        conn.execute(shared_links.delete().where(shared_links.c.site_id == site.id))
        conn.execute(user_sites.delete().where(user_sites.c.site_id == site.id))
        deleted = conn.execute(sites.delete().where(sites.c.id == site.id)).rowcount
        if deleted:  # not when a concurrent call removed it first
            record_change(conn, actor, "site.delete", site.domain, before=_snapshot(site))
    return site


class SiteDirectory:
    """Domain → site id, cached; a miss reloads at most every `refresh_seconds`."""

    def __init__(self, engine: sa.Engine, *, refresh_seconds: float = 2.0) -> None:
        self._engine = engine
        self._refresh_seconds = refresh_seconds
        self._ids: dict[str, int] = {}
        self._loaded_at = -1e9
        self.reload()

    def reload(self) -> None:
        """Reads every site from the metadata store."""
        self._ids = {site.domain: site.id for site in list_sites(self._engine)}
        self._loaded_at = time.monotonic()

    def site_id_for(self, domain: str) -> int | None:
        """The id of the site registered under `domain`, or None."""
        site_id = self._ids.get(domain)
        if site_id is None and time.monotonic() - self._loaded_at > self._refresh_seconds:
            self.reload()
            site_id = self._ids.get(domain)
        return site_id
