"""A site's guests, as Plausible's Sites API shows them: viewer grants and invitations.

A guest is a viewer granted the site (``accepted``), or an address invited to it that has no
footfall account yet (``invited``); adding a user with that address turns the invitation into
a grant (`footfall.meta.users.add_user`). footfall's viewers only read, so a guest's role is
always ``viewer``. Admins read every site and are nobody's guest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from footfall.errors import InvalidInputError
from footfall.meta.access import grant_site
from footfall.meta.audit import Actor, record_change
from footfall.meta.db import as_utc, utcnow
from footfall.meta.sites import Site
from footfall.meta.tables import site_invitations, user_sites, users
from footfall.meta.users import normalise_email

GuestStatus = Literal["accepted", "invited"]


@dataclass(frozen=True, slots=True)
class Guest:
    """One guest of a site.

    Attributes:
        email: The address, lower case.
        role: Always ``viewer``.
        status: ``accepted`` for a granted viewer, ``invited`` for a pending invitation.
        since: When the grant or the invitation was made (UTC).
        id: The viewer's user id or the invitation's id (unique within `status`).
    """

    email: str
    role: str
    status: GuestStatus
    since: dt.datetime
    id: int


def list_guests(engine: sa.Engine, site_id: int) -> list[Guest]:
    """The site's guests, newest first (grants before invitations made the same moment)."""
    granted = (
        sa.select(users.c.id, users.c.email, user_sites.c.created_at)
        .join(user_sites, user_sites.c.user_id == users.c.id)
        .where(user_sites.c.site_id == site_id, users.c.role != "admin")
    )
    invited = sa.select(
        site_invitations.c.id, site_invitations.c.email, site_invitations.c.created_at
    ).where(site_invitations.c.site_id == site_id)
    found: list[Guest] = []
    with engine.connect() as conn:
        for row in conn.execute(granted):
            found.append(Guest(row.email, "viewer", "accepted", as_utc(row.created_at), row.id))
        for row in conn.execute(invited):
            found.append(Guest(row.email, "viewer", "invited", as_utc(row.created_at), row.id))
    found.sort(key=lambda g: (g.since, g.status == "accepted", g.id), reverse=True)
    return found


def find_guest(engine: sa.Engine, site_id: int, email: str) -> Guest | None:
    """The guest with `email`, if the site has one."""
    wanted = email.strip().lower()
    return next((g for g in list_guests(engine, site_id) if g.email == wanted), None)


def invite_guest(engine: sa.Engine, site: Site, email: str, *, actor: Actor | None = None) -> Guest:
    """Finds or makes a guest: the existing one, a grant for a viewer, or an invitation.

    With an `actor`, records ``user.grant`` for a new grant or ``guest.invite`` for a new
    invitation.

    Raises:
        InvalidInputError: Malformed address, or the address is an admin's.
    """
    address = normalise_email(email)
    existing = find_guest(engine, site.id, address)
    if existing is not None:
        return existing
    with engine.connect() as conn:
        role = conn.execute(sa.select(users.c.role).where(users.c.email == address)).scalar()
    if role == "admin":
        raise InvalidInputError(f"{address} is an admin and reads every site already")
    if role is not None:
        grant_site(engine, address, site.domain, actor=actor)
    else:
        try:
            with engine.begin() as conn:
                conn.execute(
                    site_invitations.insert().values(
                        site_id=site.id, email=address, role="viewer", created_at=utcnow()
                    )
                )
                record_change(conn, actor, "guest.invite", address, after={"site": site.domain})
        except sa.exc.IntegrityError:
            pass  # invited by a concurrent request meanwhile
    found = find_guest(engine, site.id, address)
    if found is None:  # the site or the user was removed meanwhile
        raise InvalidInputError(f"{address} could not be made a guest of {site.domain}")
    return found


def remove_guest(engine: sa.Engine, site: Site, email: str, *, actor: Actor | None = None) -> bool:
    """Withdraws an invitation or a viewer's grant (never touches an admin); idempotent.

    Returns:
        True when there was a guest to remove.
    """
    guest = find_guest(engine, site.id, email)
    if guest is None:
        return False
    with engine.begin() as conn:
        if guest.status == "invited":
            removed = conn.execute(
                site_invitations.delete().where(site_invitations.c.id == guest.id)
            ).rowcount
            action = "guest.remove"
        else:
            removed = conn.execute(
                user_sites.delete().where(
                    user_sites.c.user_id == guest.id, user_sites.c.site_id == site.id
                )
            ).rowcount
            action = "user.ungrant"
        if removed:
            record_change(conn, actor, action, guest.email, before={"site": site.domain})
    return bool(removed)
