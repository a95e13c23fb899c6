"""The audit log: one entry per administrative change to the metadata store.

The log is append-only. This module has `record`, which inserts an entry, and `list_entries`,
which reads them; there is deliberately no function that updates or deletes one, and nothing
else in footfall writes to the ``audit_log`` table.

How entries are written: the functions that change sites, keys, goals, users and grants
(`add_site`, `set_site_timezone`, `set_site_retention`, `delete_site`, `create_key`,
`revoke_key`, `add_goal`, `delete_goal`, `add_user`, `set_user_disabled`, `grant_site`,
`revoke_site`, `create_link`, `delete_link`) take an optional ``actor``. Given one, they
record the change on the connection of their own transaction, so the change and its entry
commit, or roll back, together; without one (demo seeding, tests) they record nothing. A call
that changes nothing, such as adding a goal that already exists or revoking a revoked key,
records nothing either. Sign-in attempts and sign-outs are recorded by footfall.meta.logins and
the sign-in pages, whether or not they succeed. The data lifecycle (footfall.lifecycle) records
what changes the event store rather than this database: ``backup.create``,
``backup.restore``, ``site.export``, ``site.reset`` and ``site.retention``, each after the
work it describes is done.

Entries never hold a secret: a key is recorded by its name, prefix and scopes, a user by
email and role, a shared link by its site, name and whether it has a password, never a
password or its hash.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from footfall.errors import InvalidInputError
from footfall.meta.db import as_utc, utcnow
from footfall.meta.tables import audit_log
from footfall.meta.vocabulary import AUDIT_ACTIONS, AUDIT_MAX_LIMIT

DEFAULT_LIMIT = 1000
MAX_LIMIT = AUDIT_MAX_LIMIT
ACTIONS = AUDIT_ACTIONS
# The column widths: PostgreSQL refuses longer values rather than storing them.
_WIDTHS = {"actor": 255, "target": 255, "ip": 45}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: ``cli:<os user>`` or ``key:<key name>``, and the client address.

    Attributes:
        name: The actor as the log shows it.
        ip: The client address of an HTTP request; None on the command line.
    """

    name: str
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded change; `before` and `after` are None where there is no such state."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    ip: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        """The entry as a JSON object, its time in ISO 8601 UTC."""
        return {
            "id": self.id,
            "at": _iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "ip": self.ip,
            "before": self.before,
            "after": self.after,
        }

    def change(self) -> str:
        """A one-line summary: the fields that changed, or the state created or removed."""
        if self.before is not None and self.after is not None:
            keys = dict.fromkeys([*self.before, *self.after])
            changed = [k for k in keys if self.before.get(k) != self.after.get(k)]
            return "; ".join(
                f"{k}: {_compact(self.before.get(k))} -> {_compact(self.after.get(k))}"
                for k in changed
            )
        if self.after is not None:
            return "+ " + _compact(self.after)
        if self.before is not None:
            return "- " + _compact(self.before)
        return ""


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _text(state: Mapping[str, Any] | None) -> str | None:
    if state is None:
        return None
    return json.dumps(dict(state), ensure_ascii=False, sort_keys=True)


def parse_since(text: str) -> dt.datetime:
    """Reads an ISO 8601 date or date-time; a date means its midnight, no offset means UTC.

    Raises:
        InvalidInputError: `text` is neither, or its offset moves it past year 1 or 9999 in UTC.
    """
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInputError(
            f"{text!r} is not an ISO date or date-time, such as 2026-11-02 or 2026-11-02T10:00:00Z"
        ) from exc
    try:
        return as_utc(value)
    except OverflowError as exc:
        raise InvalidInputError(f"{text!r} is outside the years 1 to 9999 in UTC") from exc


def record(
    conn_or_engine: sa.Connection | sa.Engine,
    *,
    actor: str,
    action: str,
    target: str,
    ip: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Appends an entry to the audit log.

    Args:
        conn_or_engine: A connection, to write in the transaction of the change it records, or
            an engine, to write in a transaction of its own.
        actor: Who made the change, e.g. ``cli:alice`` or ``key:deploy``.
        action: One of `ACTIONS`.
        target: What was changed, e.g. a domain or a key name.
        ip: The client address of an HTTP request.
        before: The state before the change (JSON-serialisable), if there was one.
        after: The state after the change (JSON-serialisable), if there is one.
        at: When the change happened; now by default.

    Raises:
        ValueError: `action` is not one of `ACTIONS`.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    values = {
        "at": as_utc(at) if at is not None else utcnow(),
        "actor": actor[: _WIDTHS["actor"]],
        "action": action,
        "target": target[: _WIDTHS["target"]],
        "ip": ip[: _WIDTHS["ip"]] if ip else None,
        "before": _text(before),
        "after": _text(after),
    }
    if isinstance(conn_or_engine, sa.Engine):
        with conn_or_engine.begin() as conn:
            conn.execute(audit_log.insert().values(**values))
    else:
        conn_or_engine.execute(audit_log.insert().values(**values))


def record_change(
    conn: sa.Connection,
    actor: Actor | None,
    action: str,
    target: str,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Records a change made on `conn` by `actor`; does nothing when `actor` is None."""
    if actor is not None:
        record(
            conn,
            actor=actor.name,
            action=action,
            target=target,
            ip=actor.ip,
            before=before,
            after=after,
        )


def list_entries(
    engine: sa.Engine,
    *,
    since: dt.datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[AuditEntry]:
    """Entries newest first, optionally only those at or after `since`, by `actor`, of `action`.

    Raises:
        InvalidInputError: `limit` is not from 1 to `MAX_LIMIT`, or `action` is unknown.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"the limit must be a whole number from 1 to {MAX_LIMIT}")
    if action is not None and action not in ACTIONS:
        raise InvalidInputError(f"unknown action {action!r}: choose from {', '.join(ACTIONS)}")
    if actor is not None and "\x00" in actor:
        # No actor holds a NUL character, and PostgreSQL refuses one even as a parameter.
        return []
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if since is not None:
        # As UTC: SQLite compares the stored naive UTC text.
        query = query.where(audit_log.c.at >= as_utc(since))
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        AuditEntry(
            id=int(row.id),
            at=as_utc(row.at),
            actor=row.actor,
            action=row.action,
            target=row.target,
            ip=row.ip,
            before=json.loads(row.before) if row.before is not None else None,
            after=json.loads(row.after) if row.after is not None else None,
        )
        for row in rows
    ]
