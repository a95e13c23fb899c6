"""Sign-ins: checking a password with a growing delay and lockout, and browser sessions.

A failed sign-in counts against the account (not against the address it came from, which the
web layer rate-limits separately). From the third consecutive failure each one makes the next
attempt wait twice as long (1 s, 2 s, 4 s, ...); at `LoginPolicy.lockout_after` failures the
account refuses sign-ins for `LoginPolicy.lockout_minutes`. A success resets the count. While
an account waits, attempts are refused without checking the password, so guessing stops.

Every attempt that reaches this module is recorded in the audit log: ``login.success`` or
``login.failure`` with the reason (``bad_password``, ``unknown_user``, ``disabled`` or
``locked``); the reason is for administrators, the browser is told only that it failed.

A session is a random token in a signed cookie. Only the token's SHA-256 is stored, so a copy
of the database signs nobody in; signing out deletes the row, and a disabled user's sessions
stop working at once.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from footfall.errors import InvalidInputError
from footfall.meta.audit import Actor, record
from footfall.meta.db import as_utc
from footfall.meta.keys import hash_key
from footfall.meta.tables import login_sessions, users
from footfall.meta.users import (
    User,
    _row_to_user,
    add_user,
    normalise_email,
    verify_password,
)

# How often a session's last_seen_at is written: reads far outnumber what it is good for.
_TOUCH_INTERVAL = dt.timedelta(minutes=1)
# Failures before the delay starts doubling.
_FREE_FAILURES = 2


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """When failed sign-ins lock an account, and for how long."""

    lockout_after: int = 10
    lockout_minutes: int = 15

    def delay(self, failures: int) -> dt.timedelta:
        """How long the account waits after `failures` consecutive failures."""
        if failures >= self.lockout_after:
            return dt.timedelta(minutes=self.lockout_minutes)
        if failures <= _FREE_FAILURES:
            return dt.timedelta(0)
        return dt.timedelta(seconds=2 ** (failures - _FREE_FAILURES - 1))


class Outcome(enum.Enum):
    """How a sign-in attempt ended."""

    SUCCESS = "success"
    FAILED = "failed"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome, the user on success, and the seconds to wait when locked."""

    outcome: Outcome
    user: User | None = None
    retry_after: int = 0


def attempt_login(
    engine: sa.Engine,
    email: str,
    password: str,
    *,
    now: dt.datetime,
    policy: LoginPolicy,
    ip: str | None = None,
) -> LoginResult:
    """Checks a sign-in, applies the delay and lockout, and records the attempt.

    Args:
        engine: The metadata store.
        email: The address as typed.
        password: The password as typed.
        now: The current time (aware).
        policy: The lockout policy.
        ip: The client address, for the audit log.

    Returns:
        SUCCESS with the user, FAILED, or LOCKED with the seconds until the next attempt.
    """
    try:
        address = normalise_email(email)
    except InvalidInputError:
        address = email.strip().lower()
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(users.c.id, users.c.locked_until, users.c.disabled_at).where(
                users.c.email == address
            )
        ).first()
    if row is not None and row.locked_until is not None and as_utc(row.locked_until) > now:
        wait = max(1, int((as_utc(row.locked_until) - now).total_seconds() + 0.999))
        _record(engine, "login.failure", address, ip, now, reason="locked")
        return LoginResult(Outcome.LOCKED, retry_after=wait)
    user = verify_password(engine, address, password)
    if user is not None:
        with engine.begin() as conn:
            conn.execute(
                users.update()
                .where(users.c.id == user.id)
                .values(failed_logins=0, locked_until=None, last_login_at=now)
            )
            _record(conn, "login.success", user.email, ip, now, actor=f"user:{user.email}")
        return LoginResult(Outcome.SUCCESS, user=user)
    if row is None:
        _record(engine, "login.failure", address, ip, now, reason="unknown_user")
        return LoginResult(Outcome.FAILED)
    with engine.begin() as conn:
        # Counted in the database, so concurrent failures (and other processes) all add up.
        conn.execute(
            users.update()
            .where(users.c.id == row.id)
            .values(failed_logins=users.c.failed_logins + 1)
        )
        failures = int(
            conn.execute(sa.select(users.c.failed_logins).where(users.c.id == row.id)).scalar_one()
        )
        delay = policy.delay(failures)
        if delay:
            conn.execute(
                users.update().where(users.c.id == row.id).values(locked_until=now + delay)
            )
        reason = "disabled" if row.disabled_at is not None else "bad_password"
        _record(conn, "login.failure", address, ip, now, reason=reason, failures=failures)
    return LoginResult(Outcome.FAILED)


def _record(
    conn: sa.Connection | sa.Engine,
    action: str,
    email: str,
    ip: str | None,
    now: dt.datetime,
    *,
    actor: str = "anonymous",
    **details: object,
) -> None:
    record(
        conn,
        actor=actor,
        action=action,
        target=email,
        ip=ip,
        after=details or None,
        at=now,
    )


def create_session(
    engine: sa.Engine, user_id: int, *, now: dt.datetime, lifetime: dt.timedelta
) -> str:
    """Starts a session for `user_id` and returns its token (stored only as a hash).

    Expired sessions of every user are deleted on the way.
    """
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(login_sessions.delete().where(login_sessions.c.expires_at <= now))
        conn.execute(
            login_sessions.insert().values(
                token_hash=hash_key(token),
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + lifetime,
            )
        )
    return token


def session_user(engine: sa.Engine, token: str, *, now: dt.datetime) -> User | None:
    """The active user of the session `token`; None if unknown, expired or disabled."""
    digest = hash_key(token)
    query = (
        sa.select(users, login_sessions.c.expires_at, login_sessions.c.last_seen_at)
        .join(login_sessions, login_sessions.c.user_id == users.c.id)
        .where(login_sessions.c.token_hash == digest)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or as_utc(row.expires_at) <= now or row.disabled_at is not None:
        return None
    if now - as_utc(row.last_seen_at) >= _TOUCH_INTERVAL:
        with engine.begin() as conn:
            conn.execute(
                login_sessions.update()
                .where(login_sessions.c.token_hash == digest)
                .values(last_seen_at=now)
            )
    return _row_to_user(row)


def end_session(engine: sa.Engine, token: str) -> None:
    """Ends the session `token` (nothing happens when there is none)."""
    with engine.begin() as conn:
        conn.execute(login_sessions.delete().where(login_sessions.c.token_hash == hash_key(token)))


def end_user_sessions(engine: sa.Engine, user_id: int) -> int:
    """Ends every session of `user_id`; returns how many there were."""
    with engine.begin() as conn:
        result = conn.execute(login_sessions.delete().where(login_sessions.c.user_id == user_id))
    return int(result.rowcount or 0)


def create_first_admin(
    engine: sa.Engine, *, email: str, password: str, actor: Actor | None = None
) -> User:
    """Creates the first user, an admin, from the setup page.

    Raises:
        ConflictError: A user exists already (setup is closed).
        InvalidInputError: The email or password is unusable.
    """
    return add_user(
        engine, email=email, role="admin", password=password, actor=actor, only_if_first=True
    )
