"""Shared links: read-only public dashboards of one site, optionally password-protected.

A link is known by its slug, a random 128-bit value that is the secret part of its address
(``/share/<slug>``): whoever has the address sees the site's dashboard, and nothing else.
A password, when the link has one, is stored only as an argon2id hash made by
footfall.meta.users, and `SharedLink` never carries it. Links have a name, unique within
their site, that tells them apart in the settings; deleting a site deletes its links.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.audit import Actor, record_change
from footfall.meta.db import as_utc, utcnow
from footfall.meta.sites import Site, get_site
from footfall.meta.tables import shared_links, sites
from footfall.meta.users import hash_password, password_matches

# The width of shared_links.name: PostgreSQL refuses longer values rather than storing them.
MAX_NAME_CHARS = 100
# The width of shared_links.slug; a slug made here has 22 characters.
MAX_SLUG_CHARS = 64
_SLUG_BYTES = 16


@dataclass(frozen=True, slots=True)
class SharedLink:
    """A shared link as the rest of footfall sees it: never its password or the hash.

    Attributes:
        id: The link's id.
        site_id: The id of the site whose dashboard it shows.
        slug: The random part of the public address, ``/share/<slug>``.
        name: What the settings call the link; unique within the site.
        has_password: True when the page asks for a password first.
        created_at: When the link was made (UTC).
    """

    id: int
    site_id: int
    slug: str
    name: str
    has_password: bool
    created_at: dt.datetime


def _row_to_link(row: sa.Row[tuple[object, ...]]) -> SharedLink:
    m = row._mapping
    return SharedLink(
        id=int(m["id"]),
        site_id=int(m["site_id"]),
        slug=str(m["slug"]),
        name=str(m["name"]),
        has_password=m["password_hash"] is not None,
        created_at=as_utc(m["created_at"]),
    )


def _checked_name(name: str) -> str:
    value = name.strip()
    if not value:
        raise InvalidInputError("a shared link needs a name")
    if "\x00" in value:
        # PostgreSQL cannot store one; refused on every backend alike.
        raise InvalidInputError("a shared link's name cannot contain a NUL character")
    if len(value) > MAX_NAME_CHARS:
        raise InvalidInputError(
            f"the link name is {len(value)} characters long; the limit is {MAX_NAME_CHARS}"
        )
    return value


def _audit_target(domain: str, link: SharedLink) -> str:
    return f"link {link.id} on {domain}"


def _snapshot(domain: str, link: SharedLink) -> dict[str, object]:
    # Never the password or its hash; not the slug either, which opens the dashboard.
    return {"site": domain, "name": link.name, "has_password": link.has_password}


def create_link(
    engine: sa.Engine,
    domain: str,
    *,
    name: str,
    password: str | None = None,
    actor: Actor | None = None,
) -> SharedLink:
    """Creates a shared link to the dashboard of the site `domain`.

    With an `actor`, records ``link.create`` (site, name and whether there is a password) in
    the same transaction.

    Args:
        engine: The metadata store.
        domain: The site's domain.
        name: A name for the link, unique within the site (at most 100 characters).
        password: A password the page asks for first (at least 12 characters, as for users);
            None for a link that opens the dashboard directly.
        actor: Who creates the link, for the audit log.

    Returns:
        The new link, with its random slug.

    Raises:
        InvalidInputError: Blank or too long name, or a too short or too long password.
        NotFoundError: No such site.
        ConflictError: The site has a link with this name.
    """
    name = _checked_name(name)
    password_hash = hash_password(password) if password is not None else None
    site = get_site(engine, domain)
    conflict = ConflictError(f"{site.domain} already has a shared link named {name!r}")
    try:
        with engine.begin() as conn:
            taken = conn.execute(
                sa.select(shared_links.c.id).where(
                    shared_links.c.site_id == site.id, shared_links.c.name == name
                )
            ).first()
            if taken is not None:
                raise conflict
            link_id = conn.execute(
                shared_links.insert()
                .values(
                    site_id=site.id,
                    slug=secrets.token_urlsafe(_SLUG_BYTES),
                    name=name,
                    password_hash=password_hash,
                    created_at=utcnow(),
                )
                .returning(shared_links.c.id)
            ).scalar_one()
            row = conn.execute(sa.select(shared_links).where(shared_links.c.id == link_id)).one()
            link = _row_to_link(row)
            record_change(
                conn,
                actor,
                "link.create",
                _audit_target(site.domain, link),
                after=_snapshot(site.domain, link),
            )
    except sa.exc.IntegrityError as exc:
        # Another writer took the name meanwhile, or the site was deleted meanwhile.
        get_site(engine, site.domain)
        raise conflict from exc
    return link


def list_links(engine: sa.Engine, site_id: int) -> list[SharedLink]:
    """The shared links of the site `site_id`, oldest first; empty for an unknown site."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(shared_links)
            .where(shared_links.c.site_id == site_id)
            .order_by(shared_links.c.id)
        ).all()
    return [_row_to_link(row) for row in rows]


def delete_link(
    engine: sa.Engine, domain: str, slug: str, *, actor: Actor | None = None
) -> SharedLink:
    """Removes the shared link `slug` of the site `domain` and returns what was removed.

    Its address stops working at once. With an `actor`, records ``link.delete`` in the same
    transaction.

    Raises:
        NotFoundError: No such site, or the site has no such link (a link of another site
            counts as none).
    """
    site = get_site(engine, domain)
    if not _plausible_slug(slug):
        raise NotFoundError("no such shared link on this site")
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(shared_links).where(
                shared_links.c.site_id == site.id, shared_links.c.slug == slug
            )
        ).first()
        if row is None:
            raise NotFoundError("no such shared link on this site")
        link = _row_to_link(row)
        deleted = conn.execute(shared_links.delete().where(shared_links.c.id == link.id)).rowcount
        if deleted:  # not when a concurrent call removed it first
            record_change(
                conn,
                actor,
                "link.delete",
                _audit_target(site.domain, link),
                before=_snapshot(site.domain, link),
            )
    return link


def _plausible_slug(slug: str) -> bool:
    # No slug holds a NUL character, and PostgreSQL refuses one even as a parameter.
    return 0 < len(slug) <= MAX_SLUG_CHARS and "\x00" not in slug


def _find_row(engine: sa.Engine, slug: str) -> sa.Row[tuple[object, ...]] | None:
    if not _plausible_slug(slug):
        return None
    query = (
        sa.select(shared_links, sites.c.domain, sites.c.timezone)
        .join(sites, sites.c.id == shared_links.c.site_id)
        .where(shared_links.c.slug == slug)
    )
    with engine.connect() as conn:
        return conn.execute(query).first()


def find_link(engine: sa.Engine, slug: str) -> tuple[SharedLink, Site] | None:
    """The shared link with this slug and the site it shows, or None when there is none."""
    row = _find_row(engine, slug)
    if row is None:
        return None
    link = _row_to_link(row)
    m = row._mapping
    return link, Site(id=link.site_id, domain=str(m["domain"]), timezone=str(m["timezone"]))


def check_link_password(engine: sa.Engine, slug: str, password: str) -> bool:
    """True when the link `slug` has a password and `password` is it.

    Every call spends one argon2 verification, also when there is no such link or the link
    has no password, so the time taken tells none of these apart. A link without a password
    needs no check: its page opens directly.
    """
    row = _find_row(engine, slug)
    stored = row._mapping["password_hash"] if row is not None else None
    return password_matches(stored, password)
