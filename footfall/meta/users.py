"""User accounts: an email address, a role and an argon2id password hash.

Only the hash is stored, in argon2's encoded form (parameters and salt included), and it never
leaves this module: `User` does not carry it and the audit log does not record it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.meta.audit import Actor, record_change
from footfall.meta.db import as_utc, utcnow
from footfall.meta.tables import login_sessions, site_invitations, user_sites, users
from footfall.meta.vocabulary import ROLES

MIN_PASSWORD_CHARS = 12
# Long enough for any passphrase, short enough that hashing one costs no more than usual.
MAX_PASSWORD_CHARS = 1024
# The width of users.email, the longest address SMTP can carry.
MAX_EMAIL_CHARS = 254
# The shape browsers accept for <input type=email> (WHATWG HTML), checked after lower-casing:
# whether the address receives mail is for whoever adds the user to know.
_EMAIL = re.compile(
    r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)
# argon2id with the library's defaults (RFC 9106's second recommended profile).
_HASHER = PasswordHasher()


@dataclass(frozen=True, slots=True)
class User:
    """A user account as the rest of footfall sees it: never the password or its hash."""

    id: int
    email: str
    role: str
    created_at: dt.datetime
    disabled_at: dt.datetime | None


def _row_to_user(row: sa.Row[tuple[object, ...]]) -> User:
    m = row._mapping
    return User(
        id=int(m["id"]),
        email=m["email"],
        role=m["role"],
        created_at=as_utc(m["created_at"]),
        disabled_at=as_utc(m["disabled_at"]) if m["disabled_at"] else None,
    )


def normalise_email(email: str) -> str:
    """Trims and lower-cases an email address, raising InvalidInputError on a malformed one."""
    value = email.strip().lower()
    if len(value) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(value):
        raise InvalidInputError(
            f"invalid email address {email!r}: expected something like alice@example.com"
        )
    return value


def _check_password(password: str) -> None:
    # Never echo the password: only its length is safe to report.
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInputError(
            f"the password is {len(password)} characters long; "
            f"it needs at least {MIN_PASSWORD_CHARS}"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInputError(
            f"the password is {len(password)} characters long; the limit is {MAX_PASSWORD_CHARS}"
        )


def add_user(
    engine: sa.Engine,
    *,
    email: str,
    role: str,
    password: str,
    actor: Actor | None = None,
    only_if_first: bool = False,
) -> User:
    """Creates a user whose password is stored as an argon2id hash.

    With an `actor`, records ``user.add`` (email and role only) in the same transaction.
    With `only_if_first`, creates the user only while there is none (first-run setup): of two
    concurrent calls, one gets the ConflictError.

    Args:
        engine: The metadata store.
        email: The address the user signs in with; stored lower-cased.
        role: One of `ROLES`.
        password: At least `MIN_PASSWORD_CHARS` characters.
        actor: Who adds the user, for the audit log.
        only_if_first: Refuse when any user exists.

    Returns:
        The new user.

    Raises:
        InvalidInputError: Malformed email, unknown role, or a too short or too long password.
        ConflictError: A user with this email exists (with `only_if_first`: any user).
    """
    email = normalise_email(email)
    if role not in ROLES:
        raise InvalidInputError(f"unknown role {role!r}: choose from {', '.join(ROLES)}")
    _check_password(password)
    password_hash = _HASHER.hash(password)
    conflict = ConflictError(f"a user with the email {email} already exists")
    try:
        with engine.begin() as conn:
            if only_if_first:
                _lock_users(conn)
                if conn.execute(sa.select(users.c.id).limit(1)).first():
                    raise ConflictError("setup is closed: a user already exists")
            if conn.execute(sa.select(users.c.id).where(users.c.email == email)).first():
                raise conflict
            conn.execute(
                users.insert().values(
                    email=email, role=role, password_hash=password_hash, created_at=utcnow()
                )
            )
            row = conn.execute(sa.select(users).where(users.c.email == email)).one()
            created = _row_to_user(row)
            record_change(conn, actor, "user.add", email, after={"email": email, "role": role})
            _accept_invitations(conn, created)
    except sa.exc.IntegrityError as exc:
        # Another process added the same email between the check and the insert.
        raise conflict from exc
    except sa.exc.OperationalError as exc:
        # SQLite: another writer committed after this transaction read (a stale snapshot).
        if only_if_first:
            raise ConflictError("setup is closed: a user already exists") from exc
        raise
    return created


def _accept_invitations(conn: sa.Connection, user: User) -> None:
    """Turns the Sites API's invitations for the new user's address into site grants.

    An admin reads every site: its invitations are simply dropped.
    """
    query = sa.select(site_invitations.c.site_id).where(site_invitations.c.email == user.email)
    site_ids = [int(site_id) for (site_id,) in conn.execute(query)]
    if user.role != "admin":
        for site_id in site_ids:
            conn.execute(
                user_sites.insert().values(user_id=user.id, site_id=site_id, created_at=utcnow())
            )
    conn.execute(site_invitations.delete().where(site_invitations.c.email == user.email))


def _lock_users(conn: sa.Connection) -> None:
    """Serialises first-user creation across processes.

    PostgreSQL takes a lock that other writers of the table wait for; SQLite needs none, as a
    transaction that read before another's write commits cannot write (``OperationalError``).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))


def has_users(engine: sa.Engine) -> bool:
    """True once any user exists (first-run setup is then closed)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(users.c.id).limit(1)).first() is not None


def list_users(engine: sa.Engine) -> list[User]:
    """All users, ordered by email."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(users).order_by(users.c.email)).all()
    return [_row_to_user(row) for row in rows]


@functools.cache
def _decoy_hash() -> str:
    # Verified against for unknown emails, so that they cost as much time as known ones.
    return _HASHER.hash(secrets.token_urlsafe(32))


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_password(password: str) -> str:
    """The argon2id hash of `password` in its encoded form, as user passwords are stored.

    Raises:
        InvalidInputError: The password is shorter than `MIN_PASSWORD_CHARS` or longer than
            `MAX_PASSWORD_CHARS` (the message gives its length, never the password).
    """
    _check_password(password)
    return _HASHER.hash(password)


def generate_password() -> str:
    """A random password for someone else to receive (an invitation, a reset): 128 bits.

    22 URL-safe characters, which survive being read aloud, pasted or sent in a message.
    """
    return secrets.token_urlsafe(16)


def password_matches(password_hash: str | None, password: str) -> bool:
    """True when `password` matches `password_hash` (made by `hash_password`).

    Every call spends one argon2 verification, also when there is no hash (None) or the
    password is too long to be one, so the time taken does not tell these cases apart.
    """
    if password_hash is None or len(password) > MAX_PASSWORD_CHARS:
        _matches(_decoy_hash(), password[:MAX_PASSWORD_CHARS])
        return False
    return _matches(password_hash, password)


def verify_password(engine: sa.Engine, email: str, password: str) -> User | None:
    """The active user with this email and password, or None.

    Every call spends one argon2 verification, whether or not the email exists or is disabled,
    so the time taken does not reveal which emails have accounts. A hash made with weaker
    parameters than the current defaults is replaced by a new one on success.

    Args:
        engine: The metadata store.
        email: The address as typed; case and surrounding spaces do not matter.
        password: The password as typed.
    """
    try:
        email = normalise_email(email)
    except InvalidInputError:
        email = ""
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.email == email)).first()
    if row is None or len(password) > MAX_PASSWORD_CHARS:
        _matches(_decoy_hash(), password[:MAX_PASSWORD_CHARS])
        return None
    stored: str = row.password_hash
    if not _matches(stored, password) or row.disabled_at is not None:
        return None
    if _HASHER.check_needs_rehash(stored):
        with engine.begin() as conn:
            # Only if unchanged since it was read: a new password set meanwhile wins.
            conn.execute(
                users.update()
                .where(users.c.id == row.id, users.c.password_hash == stored)
                .values(password_hash=_HASHER.hash(password))
            )
    return _row_to_user(row)


def get_user(engine: sa.Engine, email: str) -> User:
    """The user with this email (case and surrounding spaces do not matter).

    Raises:
        InvalidInputError: `email` is not an email address.
        NotFoundError: No user has it.
    """
    email = normalise_email(email)
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.email == email)).first()
    if row is None:
        raise NotFoundError(f"no user {email}: 'footfall user list' shows the users")
    return _row_to_user(row)


def get_user_by_id(engine: sa.Engine, user_id: int) -> User:
    """The user with this id.

    Raises:
        NotFoundError: No user has it.
    """
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFoundError(f"no user with id {user_id}")
    return _row_to_user(row)


def set_password(
    engine: sa.Engine,
    email: str,
    password: str,
    *,
    actor: Actor | None = None,
    keep_session_hash: str | None = None,
) -> int:
    """Replaces a user's password and ends the user's sessions; returns how many ended.

    The session whose token hashes to `keep_session_hash` (the browser making the change)
    stays signed in; every other one is signed out, so a stolen session does not outlive the
    password. The count of failed sign-ins and any lockout are cleared: they were guesses at
    the old password. With an `actor`, records ``user.passwd`` (the email and the number of
    sessions ended, never a password or hash) in the same transaction.

    Args:
        engine: The metadata store.
        email: The user's address; case and surrounding spaces do not matter.
        password: The new password, `MIN_PASSWORD_CHARS` to `MAX_PASSWORD_CHARS` long.
        actor: Who makes the change, for the audit log.
        keep_session_hash: The stored hash of the one session to keep, if any.

    Raises:
        InvalidInputError: Malformed email, or a too short or too long password.
        NotFoundError: No user has the email.
    """
    email = normalise_email(email)
    password_hash = hash_password(password)
    with engine.begin() as conn:
        row = conn.execute(sa.select(users.c.id).where(users.c.email == email)).first()
        if row is None:
            raise NotFoundError(f"no user {email}: 'footfall user list' shows the users")
        conn.execute(
            users.update()
            .where(users.c.id == row.id)
            .values(password_hash=password_hash, failed_logins=0, locked_until=None)
        )
        ended = login_sessions.delete().where(login_sessions.c.user_id == row.id)
        if keep_session_hash is not None:
            ended = ended.where(login_sessions.c.token_hash != keep_session_hash)
        count = int(conn.execute(ended).rowcount or 0)
        record_change(
            conn, actor, "user.passwd", email, after={"email": email, "sessions_ended": count}
        )
    return count


def check_current_password(engine: sa.Engine, user_id: int, password: str) -> bool:
    """True when `password` is the current password of the user with id `user_id`.

    One argon2 verification whatever the outcome (also for an unknown or disabled user).
    """
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(users.c.password_hash, users.c.disabled_at).where(users.c.id == user_id)
        ).first()
    stored = row.password_hash if row is not None and row.disabled_at is None else None
    return password_matches(stored, password)


def _iso(value: dt.datetime | None) -> str | None:
    return as_utc(value).isoformat().replace("+00:00", "Z") if value is not None else None


def set_user_disabled(
    engine: sa.Engine, email: str, disabled: bool, *, actor: Actor | None = None
) -> User:
    """Disables or re-enables a user (idempotent) and returns the user as it now is.

    A disabled user cannot sign in, is signed out of every browser, and the API keys the user
    owns hold no rights until the user is enabled again. With an `actor`, records
    ``user.disable`` or ``user.enable`` in the same transaction, unless nothing changed.

    Args:
        engine: The metadata store.
        email: The user's address; case and surrounding spaces do not matter.
        disabled: True to disable, False to enable.
        actor: Who makes the change, for the audit log.

    Raises:
        InvalidInputError: `email` is not an email address.
        NotFoundError: No user has it.
    """
    email = normalise_email(email)
    with engine.begin() as conn:
        row = conn.execute(sa.select(users).where(users.c.email == email)).first()
        if row is None:
            raise NotFoundError(f"no user {email}: 'footfall user list' shows the users")
        before = _row_to_user(row)
        if (before.disabled_at is not None) == disabled:
            return before
        conn.execute(
            users.update()
            .where(users.c.id == before.id)
            .values(disabled_at=utcnow() if disabled else None)
        )
        if disabled:
            conn.execute(login_sessions.delete().where(login_sessions.c.user_id == before.id))
        after = _row_to_user(conn.execute(sa.select(users).where(users.c.id == before.id)).one())
        record_change(
            conn,
            actor,
            "user.disable" if disabled else "user.enable",
            email,
            before={"email": email, "role": before.role, "disabled_at": _iso(before.disabled_at)},
            after={"email": email, "role": after.role, "disabled_at": _iso(after.disabled_at)},
        )
    return after
