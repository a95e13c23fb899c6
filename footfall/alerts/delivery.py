"""Sending what the outbox holds, with retries and backoff.

A failed attempt is tried again after 30 seconds, then after twice as long each time (at most
an hour between two attempts), eight attempts in all (about two hours); then the delivery is
``failed`` and shown on the alerts page. Deliveries are sent by the background job in a worker
thread, never on a request's path.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from footfall.alerts.channels import ChannelConfig, DeliveryError, send
from footfall.meta import deliveries

log = logging.getLogger(__name__)

ATTEMPTS = 8
FIRST_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(hours=1)
# Deliveries tried per round: a round stays short even with a long backlog.
PER_ROUND = 50


def next_attempt(attempts: int, now: dt.datetime) -> dt.datetime | None:
    """When to try again after the `attempts`-th failed attempt; None after the last one."""
    if attempts >= ATTEMPTS:
        return None
    delay: dt.timedelta = min(FIRST_DELAY * (2 ** max(attempts - 1, 0)), MAX_DELAY)
    return now + delay


@dataclass(slots=True)
class Sent:
    """What one pass over the outbox did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


Sender = Callable[..., None]


def deliver_due(
    engine: sa.Engine,
    config: ChannelConfig,
    now: Callable[[], dt.datetime],
    *,
    limit: int = PER_ROUND,
    sender: Sender = send,
) -> Sent:
    """Sends every delivery that is due, recording each attempt.

    Args:
        engine: The metadata store holding the outbox.
        config: The channels' secrets and servers.
        now: The clock (read at each attempt, since attempts take time).
        limit: The most deliveries tried in this pass.
        sender: Sends one delivery (`footfall.alerts.channels.send`).
    """
    done = Sent()
    for item in deliveries.due(engine, now(), limit=limit):
        at = now()
        try:
            sender(config, item.channel, item.kind, item.payload, now=at, delivery_id=item.id)
        except DeliveryError as exc:
            attempt = item.attempts + 1
            retry_at = next_attempt(attempt, at)
            deliveries.record_attempt(
                engine, item.id, now=at, error=str(exc), next_attempt_at=retry_at
            )
            if retry_at is None:
                done.failed += 1
                log.error(
                    "delivery %d of %s to %s failed for good after %d attempts: %s",
                    item.id,
                    item.subject,
                    item.channel.shown(),
                    attempt,
                    exc,
                )
            else:
                done.retrying += 1
                log.warning(
                    "delivery %d of %s to %s failed (attempt %d), retrying at %s: %s",
                    item.id,
                    item.subject,
                    item.channel.shown(),
                    attempt,
                    retry_at.strftime("%H:%M:%S"),
                    exc,
                )
        else:
            deliveries.record_attempt(engine, item.id, now=at, error=None, next_attempt_at=None)
            done.sent += 1
    return done
