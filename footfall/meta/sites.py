"""Functions over the sites table."""

from __future__ import annotations

import dataclasses
import json
import re
import time
import zoneinfo
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.audit import Actor, record_change
from footfall.meta.db import utcnow
from footfall.meta.tables import goals, imports, shared_links, site_invitations, sites, user_sites

# A hostname-like domain, optionally with a path prefix is not allowed: Plausible site ids are
# bare domains (subdomains allowed), lower case.
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


# The longest retention a site may have: a century of days, beyond any real need.
MAX_RETENTION_DAYS = 36_500

# Plausible's limits on declared custom properties (`lib/plausible/props.ex`).
MAX_CUSTOM_PROPS = 300
MAX_CUSTOM_PROP_BYTES = 300


@dataclass(frozen=True, slots=True)
class Site:
    """A website whose traffic footfall counts.

    Attributes:
        id: The site's id.
        domain: Its domain, lower case, without ``www.``.
        timezone: The IANA zone its days are counted in.
        domain_changed_from: The domain before the last rename, still accepted.
        custom_props: The custom property names declared for it, in declaration order.
        retention_days: Events older than this many whole days are deleted; None keeps all.
    """

    id: int
    domain: str
    timezone: str
    retention_days: int | None = None
    domain_changed_from: str | None = None
    custom_props: tuple[str, ...] = ()


def _row_to_site(row: sa.Row[tuple[object, ...]]) -> Site:
    m = row._mapping
    props = json.loads(str(m["custom_props"] or "[]"))
    return Site(
        id=int(m["id"]),
        domain=str(m["domain"]),
        timezone=str(m["timezone"]),
        domain_changed_from=m["domain_changed_from"],
        custom_props=tuple(str(p) for p in props),
        retention_days=None if m["retention_days"] is None else int(m["retention_days"]),
    )


def _taken(conn: sa.Connection, domain: str, *, other_than: int | None = None) -> bool:
    """True when another site has `domain` as its domain or its previous domain."""
    query = sa.select(sites.c.id).where(
        sa.or_(sites.c.domain == domain, sites.c.domain_changed_from == domain)
    )
    if other_than is not None:
        query = query.where(sites.c.id != other_than)
    return conn.execute(query).first() is not None


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
        if _taken(conn, domain):
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
    return [_row_to_site(row) for row in rows]


def get_site(engine: sa.Engine, domain: str) -> Site:
    """The site registered under `domain` (www-stripped), or renamed from it.

    A renamed site is still found by its previous domain, as Plausible finds it during a
    domain change (`lib/plausible/site/domain.ex`).

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
                query = sa.select(sites).where(sites.c.domain_changed_from == value)
                row = conn.execute(query).first()
    if row is None:
        raise NotFoundError(f"no site {value}: add it with 'footfall site add {value}'")
    return _row_to_site(row)


def change_domain(
    engine: sa.Engine, domain: str, new_domain: str, *, actor: Actor | None = None
) -> Site:
    """Renames a site; its previous domain keeps naming it (for the API and for ingest).

    With an `actor`, records ``site.update`` (the domain before and after).

    Raises:
        InvalidInputError: The new domain is malformed or the site's current one.
        ConflictError: Another site has the new domain, now or before a rename.
        NotFoundError: No such site.
    """
    site = get_site(engine, domain)
    value = normalise_domain(new_domain)
    if value == site.domain:
        raise InvalidInputError("New domain must be different than the current one")
    with engine.begin() as conn:
        if _taken(conn, value, other_than=site.id):
            raise ConflictError(f"site {value} already exists")
        done = conn.execute(
            sites.update()
            .where(sites.c.id == site.id, sites.c.domain == site.domain)
            .values(domain=value, domain_changed_from=site.domain)
        ).rowcount
        if not done:
            raise NotFoundError(f"no site {site.domain}")
        after = dataclasses.replace(site, domain=value, domain_changed_from=site.domain)
        record_change(
            conn, actor, "site.update", value, before=_snapshot(site), after=_snapshot(after)
        )
    return after


def checked_prop_name(name: str) -> str:
    """A custom property name as declared, or InvalidInputError (Plausible's message)."""
    if len(name.encode()) > MAX_CUSTOM_PROP_BYTES:
        raise InvalidInputError("Parameter `property` is too long")
    if not name.strip() or "\x00" in name:
        raise InvalidInputError("Parameter `property` must name a property")
    return name


def allow_prop(engine: sa.Engine, site_id: int, name: str, *, actor: Actor | None = None) -> Site:
    """Declares custom property `name` for the site (idempotent); returns the site.

    Raises:
        InvalidInputError: The name is too long or blank, or the site has the most allowed.
        NotFoundError: No such site.
    """
    name = checked_prop_name(name)
    return _update_props(engine, site_id, actor, add=name)


def disallow_prop(
    engine: sa.Engine, site_id: int, name: str, *, actor: Actor | None = None
) -> Site:
    """Removes custom property `name` from the site's declared ones (idempotent).

    Raises:
        NotFoundError: No such site.
    """
    return _update_props(engine, site_id, actor, remove=name)


def _update_props(
    engine: sa.Engine,
    site_id: int,
    actor: Actor | None,
    *,
    add: str | None = None,
    remove: str | None = None,
) -> Site:
    with engine.begin() as conn:
        row = conn.execute(sa.select(sites).where(sites.c.id == site_id)).first()
        if row is None:
            raise NotFoundError(f"no site with id {site_id}")
        site = _row_to_site(row)
        props = list(site.custom_props)
        if add is not None and add not in props:
            if len(props) >= MAX_CUSTOM_PROPS:
                raise InvalidInputError("Can't add any more custom properties")
            props.append(add)
        if remove is not None and remove in props:
            props.remove(remove)
        if props == list(site.custom_props):
            return site
        conn.execute(
            sites.update().where(sites.c.id == site_id).values(custom_props=json.dumps(props))
        )
        after = dataclasses.replace(site, custom_props=tuple(props))
        record_change(
            conn,
            actor,
            "site.update",
            site.domain,
            before={"custom_props": list(site.custom_props)},
            after={"custom_props": props},
        )
    return after


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
    return _change_site(engine, domain, actor, timezone=validate_timezone(timezone))


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
    return _change_site(engine, domain, actor, retention_days=validate_retention(days))


def _change_site(engine: sa.Engine, domain: str, actor: Actor | None, **values: Any) -> Site:
    """Sets columns of a site (`values`, named as `Site`'s fields) and records ``site.update``.

    Nothing is written or recorded when every value is already the site's.
    """
    site = get_site(engine, domain)
    with engine.begin() as conn:
        row = conn.execute(sa.select(sites).where(sites.c.id == site.id)).first()
        if row is None:  # removed since get_site read it
            raise NotFoundError(f"no site {site.domain}")
        before = _row_to_site(row)
        if all(getattr(before, name) == value for name, value in values.items()):
            return before
        conn.execute(sites.update().where(sites.c.id == site.id).values(**values))
        after = dataclasses.replace(before, **values)
        record_change(
            conn,
            actor,
            "site.update",
            site.domain,
            before={**_snapshot(before), **{name: getattr(before, name) for name in values}},
            after={**_snapshot(after), **values},
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
        conn.execute(site_invitations.delete().where(site_invitations.c.site_id == site.id))
        conn.execute(imports.delete().where(imports.c.site_id == site.id))
        deleted = conn.execute(sites.delete().where(sites.c.id == site.id)).rowcount
        if deleted:  # not when a concurrent call removed it first
            record_change(conn, actor, "site.delete", site.domain, before=_snapshot(site))
    return site


class SiteDirectory:
    """Domain → site id, cached, for ingest.

    A domain not in the cache reloads it, so that the first event of a site just added (by
    `footfall site add` in another process, say) counts. The same unknown domain reloads again
    only after `refresh_seconds`, and misses reload at most once every `min_reload_seconds` in
    all, so that events for unregistered domains cannot keep the metadata store busy.
    """

    # Unknown domains remembered at most (the memory of a flood of made-up domains is bounded).
    MAX_REMEMBERED_MISSES = 10_000

    def __init__(
        self, engine: sa.Engine, *, refresh_seconds: float = 2.0, min_reload_seconds: float = 0.1
    ) -> None:
        self._engine = engine
        self._refresh_seconds = refresh_seconds
        self._min_reload_seconds = min_reload_seconds
        self._ids: dict[str, int] = {}
        self._missed: dict[str, float] = {}  # unknown domain → when it last caused a reload
        self._loaded_at = -1e9
        self.reload()

    def reload(self) -> None:
        """Reads every site from the metadata store (a renamed site under both domains)."""
        found = list_sites(self._engine)
        ids = {site.domain_changed_from: site.id for site in found if site.domain_changed_from}
        ids.update((site.domain, site.id) for site in found)
        self._ids = ids
        self._loaded_at = time.monotonic()

    def site_id_for(self, domain: str) -> int | None:
        """The id of the site registered under `domain`, or None."""
        site_id = self._ids.get(domain)
        if site_id is not None:
            return site_id
        now = time.monotonic()
        if now - self._missed.get(domain, -1e9) <= self._refresh_seconds:
            return None
        if now - self._loaded_at <= self._min_reload_seconds:
            return None
        if len(self._missed) >= self.MAX_REMEMBERED_MISSES:
            self._missed.clear()
        self._missed[domain] = now
        self.reload()
        return self._ids.get(domain)
