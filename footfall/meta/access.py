"""Who may read which site, and what an API key may really do.

The rights model:

- An admin user reads every site; a viewer reads only the sites granted to it
  (``user_sites``); a disabled user reads nothing.
- An API key made without an owner (an operator key, ``footfall key create`` without
  ``--user``) holds exactly its scopes, on every site.
- A key owned by an admin holds its scopes, on every site.
- A key owned by a viewer holds at most ``stats:read`` (``VIEWER_SCOPES``), and only on the
  viewer's granted sites, whatever scopes were stored with it (the owner may have been demoted
  since).
- A key whose owner is disabled holds nothing.

The policy itself, `effective_rights`, is a pure function; the other functions read what it
needs from the metadata store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.audit import Actor, record_change
from footfall.meta.db import utcnow
from footfall.meta.sites import Site, get_site
from footfall.meta.tables import sites, user_sites, users
from footfall.meta.users import User, add_user, generate_password, get_user, normalise_email
from footfall.meta.vocabulary import VIEWER_SCOPES

if TYPE_CHECKING:
    from footfall.meta.keys import ApiKey


@dataclass(frozen=True, slots=True)
class Rights:
    """What a key may do: its effective scopes, and the sites it reaches.

    Attributes:
        scopes: The scopes the key holds now (``admin`` carries every scope).
        sites: The ids of the sites the key reaches; None for every site.
    """

    scopes: frozenset[str]
    sites: frozenset[int] | None

    def allows(self, scope: str) -> bool:
        """True when the rights carry `scope` (``admin`` carries every scope)."""
        return scope in self.scopes or "admin" in self.scopes

    def reaches(self, site_id: int) -> bool:
        """True when the rights extend to the site with id `site_id`."""
        return self.sites is None or site_id in self.sites


NO_RIGHTS = Rights(scopes=frozenset(), sites=frozenset())


def effective_rights(key: ApiKey, granted: Iterable[int] = ()) -> Rights:
    """The rights `key` holds now, given the sites granted to its owner (the policy, no IO).

    Args:
        key: The key, with its owner's role and status as `footfall.meta.keys` reads them.
        granted: The ids of the sites granted to the owner; read only for a viewer's key.

    Returns:
        The operator's or an admin's key: its scopes on every site. A viewer's key: at most
        `VIEWER_SCOPES`, on `granted` only. A disabled owner's key: `NO_RIGHTS`.
    """
    if key.user_id is None:
        return Rights(scopes=frozenset(key.scopes), sites=None)
    if key.owner_disabled:
        return NO_RIGHTS
    if key.owner_role == "admin":
        return Rights(scopes=frozenset(key.scopes), sites=None)
    # A viewer, or any role this version does not know: the least.
    return Rights(
        scopes=frozenset(scope for scope in VIEWER_SCOPES if key.allows(scope)),
        sites=frozenset(granted),
    )


def _granted(conn: sa.Connection, user_id: int) -> set[int]:
    rows = conn.execute(sa.select(user_sites.c.site_id).where(user_sites.c.user_id == user_id))
    return {int(site_id) for (site_id,) in rows}


def key_rights(engine: sa.Engine, key: ApiKey) -> Rights:
    """The rights `key` holds now; reads the owner's granted sites only for a viewer's key."""
    if key.user_id is None or key.owner_disabled or key.owner_role == "admin":
        return effective_rights(key)
    with engine.connect() as conn:
        return effective_rights(key, _granted(conn, key.user_id))


def sites_for_user(engine: sa.Engine, user_id: int) -> set[int] | None:
    """The ids of the sites the user may read: None for every site (an admin).

    A disabled user reads no site.

    Raises:
        NotFoundError: No user has `user_id`.
    """
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(users.c.role, users.c.disabled_at).where(users.c.id == user_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no user with id {user_id}")
        if row.disabled_at is not None:
            return set()
        if row.role == "admin":
            return None
        return _granted(conn, user_id)


def can_read_site(engine: sa.Engine, user_id: int, site_id: int) -> bool:
    """True when the user may read the site with id `site_id`.

    Raises:
        NotFoundError: No user has `user_id`.
    """
    readable = sites_for_user(engine, user_id)
    return readable is None or site_id in readable


def granted_domains(engine: sa.Engine) -> dict[int, list[str]]:
    """The domains granted to each user with a grant, by user id, each list sorted."""
    query = (
        sa.select(user_sites.c.user_id, sites.c.domain)
        .join(sites, sites.c.id == user_sites.c.site_id)
        .order_by(user_sites.c.user_id, sites.c.domain)
    )
    found: dict[int, list[str]] = {}
    with engine.connect() as conn:
        for user_id, domain in conn.execute(query):
            found.setdefault(int(user_id), []).append(domain)
    return found


def grant_site(engine: sa.Engine, email: str, domain: str, *, actor: Actor | None = None) -> bool:
    """Lets the viewer with `email` read the site `domain` (idempotent).

    With an `actor`, records ``user.grant`` (target: the email, after: the site) in the same
    transaction, unless the viewer could already read the site.

    Args:
        engine: The metadata store.
        email: The viewer's address; case and surrounding spaces do not matter.
        domain: The site's domain.
        actor: Who grants, for the audit log.

    Returns:
        True when the grant is new, False when it existed.

    Raises:
        InvalidInputError: Malformed email, or the user is an admin (who reads every site).
        NotFoundError: No such user or site.
    """
    user = get_user(engine, email)
    if user.role == "admin":
        raise InvalidInputError(
            f"{user.email} is an admin and reads every site already; grants are for viewers"
        )
    site = get_site(engine, domain)
    try:
        with engine.begin() as conn:
            if _has_grant_on(conn, user.id, site.id):
                return False
            conn.execute(
                user_sites.insert().values(user_id=user.id, site_id=site.id, created_at=utcnow())
            )
            record_change(conn, actor, "user.grant", user.email, after={"site": site.domain})
    except sa.exc.IntegrityError as exc:
        if _has_grant(engine, user.id, site.id):
            return False  # another process granted the same site meanwhile
        raise NotFoundError(f"{user.email} or {site.domain} was removed meanwhile") from exc
    return True


def _has_grant_on(conn: sa.Connection, user_id: int, site_id: int) -> bool:
    query = sa.select(user_sites.c.user_id).where(
        user_sites.c.user_id == user_id, user_sites.c.site_id == site_id
    )
    return conn.execute(query).first() is not None


def _has_grant(engine: sa.Engine, user_id: int, site_id: int) -> bool:
    with engine.connect() as conn:
        return _has_grant_on(conn, user_id, site_id)


def revoke_site(engine: sa.Engine, email: str, domain: str, *, actor: Actor | None = None) -> bool:
    """Stops the viewer with `email` reading the site `domain` (idempotent).

    Takes effect on the viewer's next request. With an `actor`, records ``user.ungrant``
    (target: the email, before: the site) in the same transaction, unless there was no grant.

    Args:
        engine: The metadata store.
        email: The user's address; case and surrounding spaces do not matter.
        domain: The site's domain.
        actor: Who revokes, for the audit log.

    Returns:
        True when a grant was removed, False when there was none.

    Raises:
        InvalidInputError: Malformed email.
        NotFoundError: No such user or site.
    """
    user = get_user(engine, email)
    site = get_site(engine, domain)
    with engine.begin() as conn:
        removed = conn.execute(
            user_sites.delete().where(
                user_sites.c.user_id == user.id, user_sites.c.site_id == site.id
            )
        ).rowcount
        if not removed:
            return False
        record_change(conn, actor, "user.ungrant", user.email, before={"site": site.domain})
    return True


def readable_site(engine: sa.Engine, user_id: int, domain: str) -> Site | None:
    """The site named `domain` if the user may read it; None when unknown or not allowed.

    Callers answer both cases alike, so that a page does not reveal which sites exist.
    """
    try:
        site = get_site(engine, domain)
    except NotFoundError:
        return None
    return site if can_read_site(engine, user_id, site.id) else None


@dataclass(frozen=True, slots=True)
class Invitation:
    """What inviting a viewer to a site did.

    Attributes:
        user: The viewer, new or existing.
        password: The new viewer's first password, to be handed over once; None when the
            viewer existed (their password is unchanged).
        granted: False when the viewer could already read the site.
    """

    user: User
    password: str | None
    granted: bool


def invite_viewer(
    engine: sa.Engine, email: str, domain: str, *, actor: Actor | None = None
) -> Invitation:
    """Lets `email` read the site `domain`, creating a viewer with a random password if needed.

    Audited as ``user.add`` (for a new viewer) and ``user.grant``. No message is sent: the
    caller shows the new password once, for the admin to pass on.

    Args:
        engine: The metadata store.
        email: The viewer's address; case and surrounding spaces do not matter.
        domain: The site's domain.
        actor: Who invites, for the audit log.

    Raises:
        InvalidInputError: Malformed email; the user is an admin (who reads every site) or
            is disabled.
        NotFoundError: No such site (checked before any user is created).
    """
    email = normalise_email(email)
    get_site(engine, domain)
    password = None
    try:
        user = get_user(engine, email)
    except NotFoundError:
        password = generate_password()
        try:
            user = add_user(engine, email=email, role="viewer", password=password, actor=actor)
        except ConflictError:  # added by someone else meanwhile: invite that account
            password = None
            user = get_user(engine, email)
    if user.disabled_at is not None:
        raise InvalidInputError(f"{user.email} is disabled: enable the account first")
    granted = grant_site(engine, user.email, domain, actor=actor)
    return Invitation(user=user, password=password, granted=granted)
