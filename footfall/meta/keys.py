"""Functions over API keys. Only a SHA-256 hash of each key is stored (see docs/adr).

A key may belong to a user, whose role and status bound what the key may do; what a key holds
at a given moment is decided by `footfall.meta.access`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from dataclasses import dataclass

import sqlalchemy as sa

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.audit import Actor, record_change
from footfall.meta.db import as_utc, utcnow
from footfall.meta.tables import api_keys, users
from footfall.meta.users import normalise_email
from footfall.meta.vocabulary import VIEWER_SCOPES, scopes_beyond_role

SCOPES = ("stats:read", "events:import", "sites:write", "admin")
KEY_PREFIX = "ff_"
# The width of api_keys.name: PostgreSQL refuses longer values rather than storing them.
MAX_NAME_CHARS = 100


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: never the key itself."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    # The owning user: None, None, None and False for an operator key (made without --user).
    user_id: int | None = None
    owner_email: str | None = None
    owner_role: str | None = None
    owner_disabled: bool = False

    def is_active(self, now: dt.datetime) -> bool:
        """True when the key is neither revoked nor expired at `now`."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or as_utc(self.expires_at) > now

    def allows(self, scope: str) -> bool:
        """True when the key was given `scope` (``admin`` carries every scope).

        These are the scopes as stored; what the key holds now also depends on its owner
        (`footfall.meta.access.effective_rights`).
        """
        return scope in self.scopes or "admin" in self.scopes


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def hash_key(key: str) -> str:
    """The stored form of a key. Keys are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(key.encode()).hexdigest()


# Every key column and its owner's email, role and status (NULL for an operator key).
_KEYS_WITH_OWNERS = sa.select(
    api_keys,
    users.c.email.label("owner_email"),
    users.c.role.label("owner_role"),
    users.c.disabled_at.label("owner_disabled_at"),
).select_from(api_keys.outerjoin(users, api_keys.c.user_id == users.c.id))


def _row_to_key(row: sa.Row[tuple[object, ...]]) -> ApiKey:
    m = row._mapping
    return ApiKey(
        id=m["id"],
        name=m["name"],
        prefix=m["prefix"],
        scopes=tuple(str(m["scopes"]).split()),
        created_at=as_utc(m["created_at"]),
        expires_at=as_utc(m["expires_at"]) if m["expires_at"] else None,
        revoked_at=as_utc(m["revoked_at"]) if m["revoked_at"] else None,
        last_used_at=as_utc(m["last_used_at"]) if m["last_used_at"] else None,
        user_id=m["user_id"],
        owner_email=m["owner_email"],
        owner_role=m["owner_role"],
        owner_disabled=m["owner_disabled_at"] is not None,
    )


def _snapshot(key: ApiKey) -> dict[str, object]:
    # Never the key or its hash: the prefix is all a reader needs to tell keys apart.
    state: dict[str, object] = {"name": key.name, "prefix": key.prefix, "scopes": list(key.scopes)}
    if key.owner_email is not None:
        state["user"] = key.owner_email
    return state


def _owner_id(conn: sa.Connection, email: str, scopes: tuple[str, ...]) -> int:
    """The id of the user who will own a key with `scopes`, checked against the user's role."""
    row = conn.execute(sa.select(users).where(users.c.email == email)).first()
    if row is None:
        raise NotFoundError(f"no user {email}: 'footfall user list' shows the users")
    if row.disabled_at is not None:
        raise InvalidInputError(
            f"user {email} is disabled: enable it with 'footfall user enable {email}' first"
        )
    beyond = scopes_beyond_role(row.role, scopes)
    if beyond:
        raise InvalidInputError(
            f"{email} is a {row.role}, whose keys may hold only "
            f"{', '.join(sorted(VIEWER_SCOPES))}, not {', '.join(beyond)}"
        )
    return int(row.id)


def create_key(
    engine: sa.Engine,
    *,
    name: str,
    scopes: tuple[str, ...] = ("stats:read",),
    expires_days: int | None = None,
    user_email: str | None = None,
    actor: Actor | None = None,
) -> tuple[ApiKey, str]:
    """Creates a key and returns it with its secret value, which is shown only this once.

    With an `actor`, records ``key.create`` (name, prefix, scopes and owner) in the same
    transaction.

    Args:
        engine: The metadata store.
        name: A unique name for the key.
        scopes: What the key may do; see `SCOPES`.
        expires_days: Expire the key after this many days; never by default.
        user_email: The user who owns the key, whose rights bound the key's (a viewer's key
            may hold only ``stats:read``); None for an operator key, which holds exactly its
            scopes on every site.
        actor: Who creates the key, for the audit log.

    Returns:
        The key as stored, and its secret value.

    Raises:
        InvalidInputError: Empty or too long name, unknown scope, non-positive expiry,
            malformed or disabled user, or a scope beyond the user's role.
        NotFoundError: No user has `user_email`.
        ConflictError: A key with this name exists.
    """
    name = name.strip()
    if not name:
        raise InvalidInputError("a key needs a non-empty --name")
    if "\x00" in name:
        # PostgreSQL refuses NUL in text; refused everywhere so both stores agree.
        raise InvalidInputError("a key name cannot contain a NUL character")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInputError(
            f"the key name is {len(name)} characters long; the limit is {MAX_NAME_CHARS}"
        )
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise InvalidInputError(f"unknown scope {unknown[0]!r}: choose from {', '.join(SCOPES)}")
    if expires_days is not None and expires_days <= 0:
        raise InvalidInputError("--expires-days must be a positive number of days")
    email = normalise_email(user_email) if user_email is not None else None
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    values = {
        "name": name,
        "prefix": secret[:10],
        "key_hash": hash_key(secret),
        "scopes": " ".join(dict.fromkeys(scopes)),
        "created_at": now,
        "expires_at": now + dt.timedelta(days=expires_days) if expires_days else None,
    }
    with engine.begin() as conn:
        if email is not None:
            values["user_id"] = _owner_id(conn, email, scopes)
        if conn.execute(sa.select(api_keys.c.id).where(api_keys.c.name == name)).first():
            raise ConflictError(f"a key named {name!r} already exists")
        conn.execute(api_keys.insert().values(**values))
        row = conn.execute(_KEYS_WITH_OWNERS.where(api_keys.c.name == name)).one()
        created = _row_to_key(row)
        record_change(conn, actor, "key.create", name, after=_snapshot(created))
    return created, secret


def list_keys(engine: sa.Engine) -> list[ApiKey]:
    """All keys, newest first, with their owners."""
    with engine.connect() as conn:
        rows = conn.execute(_KEYS_WITH_OWNERS.order_by(api_keys.c.id.desc())).all()
    return [_row_to_key(row) for row in rows]


def list_user_keys(engine: sa.Engine, user_id: int) -> list[ApiKey]:
    """The keys the user with id `user_id` owns, newest first, whichever tool made them."""
    query = _KEYS_WITH_OWNERS.where(api_keys.c.user_id == user_id).order_by(api_keys.c.id.desc())
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [_row_to_key(row) for row in rows]


def list_operator_keys(engine: sa.Engine) -> list[ApiKey]:
    """The keys no user owns (``footfall key create`` without ``--user``), newest first."""
    query = _KEYS_WITH_OWNERS.where(api_keys.c.user_id.is_(None)).order_by(api_keys.c.id.desc())
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [_row_to_key(row) for row in rows]


def revoke_key(engine: sa.Engine, name: str, *, actor: Actor | None = None) -> ApiKey:
    """Marks the named key revoked (idempotent) and returns it.

    With an `actor`, records ``key.revoke`` in the same transaction, unless the key was
    already revoked.

    Raises:
        NotFoundError: No key has that name.
    """
    with engine.begin() as conn:
        row = conn.execute(_KEYS_WITH_OWNERS.where(api_keys.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no key named {name!r}")
        before = _row_to_key(row)
        if before.revoked_at is not None:
            return before
        conn.execute(api_keys.update().where(api_keys.c.id == row.id).values(revoked_at=utcnow()))
        row = conn.execute(_KEYS_WITH_OWNERS.where(api_keys.c.id == row.id)).one()
        after = _row_to_key(row)
        record_change(
            conn,
            actor,
            "key.revoke",
            name,
            before={**_snapshot(before), "revoked_at": None},
            after={**_snapshot(after), "revoked_at": _iso(after.revoked_at)},
        )
    return after


def authenticate(engine: sa.Engine, secret: str, *, now: dt.datetime) -> ApiKey | None:
    """The active key whose value is `secret`; None if there is none.

    Only reads: a request must not fail because its key's use cannot be written (a full
    disk); `KeyUsage` records uses and writes them in batches. A key whose owner is disabled
    is not active. One query reads the key with its owner.
    """
    with engine.connect() as conn:
        row = conn.execute(_KEYS_WITH_OWNERS.where(api_keys.c.key_hash == hash_key(secret))).first()
    if row is None:
        return None
    key = _row_to_key(row)
    if not key.is_active(now) or key.owner_disabled:
        return None
    return key


class KeyUsage:
    """When each key was last used, kept in memory and written to the store in batches.

    Thread-safe. A failed write keeps the uses for the next one, so none is lost while the
    store cannot be written; a later use of the same key replaces an earlier one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, dt.datetime] = {}

    def record(self, key_id: int, at: dt.datetime) -> None:
        """Notes that key `key_id` was used at `at`."""
        with self._lock:
            if key_id not in self._pending or self._pending[key_id] < at:
                self._pending[key_id] = at

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self, engine: sa.Engine) -> int:
        """Writes the pending uses in one transaction (never moving a time backwards).

        Returns:
            How many keys were written.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: The write failed; the uses stay pending.
        """
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            with engine.begin() as conn:
                for key_id, at in pending.items():
                    conn.execute(
                        api_keys.update()
                        .where(api_keys.c.id == key_id)
                        .where(
                            sa.or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < at)
                        )
                        .values(last_used_at=at)
                    )
        except BaseException:
            for key_id, at in pending.items():
                self.record(key_id, at)
            raise
        return len(pending)
