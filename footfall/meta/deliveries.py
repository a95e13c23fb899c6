"""The delivery outbox: notifications and report emails waiting to be sent, sent, or failed.

A delivery is written in the transaction that decides it (an alert firing, a report falling
due) and sent afterwards by the background job, so a slow or broken channel never holds a
request or an evaluation. Each failed attempt sets the time of the next one; after the last
attempt the delivery stays ``failed`` and is shown on the alerts page, where it can be retried.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal, cast

import sqlalchemy as sa

from footfall.alerts.model import Channel, ChannelKind
from footfall.meta.db import as_utc
from footfall.meta.tables import alert_deliveries

DeliveryStatus = Literal["pending", "sent", "failed"]
# Sent and failed deliveries are kept this long for the page, then dropped.
KEEP_DAYS = 30


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one channel.

    Attributes:
        id: Its id.
        subject: The alert's name, or ``report <domain>``.
        kind: ``alert``, ``test`` or ``report``.
        channel: Where it goes.
        payload: What is sent: a notice's JSON, or an email's subject, text and HTML.
        status: ``pending``, ``sent`` or ``failed``.
        attempts: Attempts made so far.
        next_attempt_at: When a pending delivery is tried next.
        last_error: Why the last attempt failed.
        created_at: When it was queued.
        sent_at: When it was delivered.
    """

    id: int
    subject: str
    kind: str
    channel: Channel
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=int(row.id),
        subject=row.subject,
        kind=row.kind,
        channel=Channel(cast(ChannelKind, row.channel), row.target),
        payload=json.loads(row.payload),
        status=row.status,
        attempts=int(row.attempts),
        next_attempt_at=as_utc(row.next_attempt_at) if row.next_attempt_at else None,
        last_error=row.last_error,
        created_at=as_utc(row.created_at),
        sent_at=as_utc(row.sent_at) if row.sent_at else None,
    )


def enqueue(
    conn: sa.Connection,
    *,
    subject: str,
    kind: str,
    channel: Channel,
    payload: dict[str, Any],
    now: dt.datetime,
) -> None:
    """Queues a message for `channel`, due at once, on the caller's transaction."""
    conn.execute(
        alert_deliveries.insert().values(
            subject=subject[:100],
            kind=kind,
            channel=channel.kind,
            target=channel.target,
            payload=json.dumps(payload, ensure_ascii=False),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


def due(engine: sa.Engine, now: dt.datetime, *, limit: int = 50) -> list[Delivery]:
    """Pending deliveries whose next attempt is due, oldest first."""
    query = (
        sa.select(alert_deliveries)
        .where(alert_deliveries.c.status == "pending", alert_deliveries.c.next_attempt_at <= now)
        .order_by(alert_deliveries.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_delivery(row) for row in conn.execute(query)]


def record_attempt(
    engine: sa.Engine,
    delivery_id: int,
    *,
    now: dt.datetime,
    error: str | None,
    next_attempt_at: dt.datetime | None,
) -> None:
    """Records an attempt: delivered when `error` is None, else retried at `next_attempt_at`.

    A failed attempt without a next one leaves the delivery ``failed``.
    """
    values: dict[str, Any] = {"attempts": alert_deliveries.c.attempts + 1}
    if error is None:
        values |= {"status": "sent", "sent_at": now, "next_attempt_at": None, "last_error": None}
    else:
        values |= {
            "status": "pending" if next_attempt_at is not None else "failed",
            "next_attempt_at": next_attempt_at,
            "last_error": error[:500],
        }
    with engine.begin() as conn:
        conn.execute(
            alert_deliveries.update().where(alert_deliveries.c.id == delivery_id).values(**values)
        )


def retry(engine: sa.Engine, delivery_id: int, now: dt.datetime) -> bool:
    """Makes a failed delivery pending again, due at once; False when it was not failed."""
    with engine.begin() as conn:
        result = conn.execute(
            alert_deliveries.update()
            .where(alert_deliveries.c.id == delivery_id, alert_deliveries.c.status == "failed")
            .values(status="pending", attempts=0, next_attempt_at=now)
        )
    return bool(result.rowcount)


def list_deliveries(
    engine: sa.Engine, *, status: DeliveryStatus | None = None, limit: int = 50
) -> list[Delivery]:
    """Deliveries, newest first, optionally of one status."""
    query = sa.select(alert_deliveries).order_by(alert_deliveries.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(alert_deliveries.c.status == status)
    with engine.connect() as conn:
        return [_delivery(row) for row in conn.execute(query)]


def prune(engine: sa.Engine, now: dt.datetime) -> int:
    """Drops sent and failed deliveries older than `KEEP_DAYS`; returns how many."""
    with engine.begin() as conn:
        result = conn.execute(
            alert_deliveries.delete().where(
                alert_deliveries.c.status != "pending",
                alert_deliveries.c.created_at < now - dt.timedelta(days=KEEP_DAYS),
            )
        )
    return result.rowcount or 0
