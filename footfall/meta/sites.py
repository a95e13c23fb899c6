"""Functions over the sites table."""

from __future__ import annotations

import re
import time
import zoneinfo
from dataclasses import dataclass

import sqlalchemy as sa

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.audit import Actor, record_change
from footfall.meta.db import utcnow
from footfall.meta.tables import goals, imports, shared_links, sites, user_sites

# A hostname-like domain, optionally with a path prefix is not allowed: Plausible site ids are
# bare domains (subdomains allowed), lower case.
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


@dataclass(frozen=True, slots=True)
class Site:
    """A website whose traffic footfall counts."""

    id: int
    domain: str
    timezone: str


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


def _snapshot(site: Site) -> dict[str, str]:
    return {"domain": site.domain, "timezone": site.timezone}


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
    return [Site(id=row.id, domain=row.domain, timezone=row.timezone) for row in rows]


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
    return Site(id=row.id, domain=row.domain, timezone=row.timezone)


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
        before = Site(id=row.id, domain=row.domain, timezone=row.timezone)
        if before.timezone == timezone:
            return before
        conn.execute(sites.update().where(sites.c.id == site.id).values(timezone=timezone))
        after = Site(id=before.id, domain=before.domain, timezone=timezone)
        record_change(
            conn,
            actor,
            "site.update",
            site.domain,
            before=_snapshot(before),
            after=_snapshot(after),
        )
    return after


def delete_site(engine: sa.Engine, domain: str, *, actor: Actor | None = None) -> Site:
    """Removes a site, its goals, shared links, grants to viewers and import records; returns it.

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
        conn.execute(imports.delete().where(imports.c.site_id == site.id))
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
