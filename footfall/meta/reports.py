"""Functions over email report subscriptions: a site's weekly or monthly report to a list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

import sqlalchemy as sa

from footfall.errors import InvalidInputError, NotFoundError
from footfall.meta.alert_checks import checked_email
from footfall.meta.audit import Actor, record_change
from footfall.meta.db import utcnow
from footfall.meta.tables import report_subscriptions, sites

Period = Literal["weekly", "monthly"]
PERIODS: tuple[Period, ...] = ("weekly", "monthly")
MAX_RECIPIENTS = 50


@dataclass(frozen=True, slots=True)
class Subscription:
    """A site's report of one period, and who gets it.

    Attributes:
        id: Its id.
        site_id: The site's id.
        domain: The site's domain.
        timezone: The site's time zone (periods end at its midnight).
        period: ``weekly`` or ``monthly``.
        recipients: Email addresses.
        last_sent: The last period sent (``2026-W44``, ``2026-10``), None before the first.
    """

    id: int
    site_id: int
    domain: str
    timezone: str
    period: Period
    recipients: tuple[str, ...]
    last_sent: str | None


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=int(row.id),
        site_id=int(row.site_id),
        domain=row.domain,
        timezone=row.timezone,
        period=cast(Period, row.period),
        recipients=tuple(r for r in row.recipients.split(",") if r),
        last_sent=row.last_sent,
    )


def _query() -> sa.Select[Any]:
    return (
        sa.select(report_subscriptions, sites.c.domain, sites.c.timezone)
        .select_from(report_subscriptions.join(sites, sites.c.id == report_subscriptions.c.site_id))
        .order_by(sites.c.domain, report_subscriptions.c.period)
    )


def set_subscription(
    engine: sa.Engine,
    domain: str,
    period: str,
    recipients: Iterable[str],
    *,
    last_sent: str | None,
    actor: Actor | None = None,
) -> Subscription:
    """Sends the site's `period` report to `recipients` (replacing an earlier list).

    Args:
        engine: The metadata store.
        domain: The site.
        period: ``weekly`` or ``monthly``.
        recipients: Email addresses (at least one).
        last_sent: The period to count as sent already for a new subscription (the last
            complete one, so the first report comes when the current period ends).
        actor: Who, for the audit log (``report.add``).

    Raises:
        InvalidInputError: An unknown period, no recipient or a malformed address.
        NotFoundError: The site does not exist.
    """
    if period not in PERIODS:
        raise InvalidInputError(f"unknown report period {period!r}: use weekly or monthly")
    addresses = list(dict.fromkeys(checked_email(r) for r in recipients))
    if not addresses:
        raise InvalidInputError("a report needs at least one recipient")
    if len(addresses) > MAX_RECIPIENTS:
        raise InvalidInputError(f"a report goes to at most {MAX_RECIPIENTS} addresses")
    text = ",".join(addresses)
    with engine.begin() as conn:
        site_id = conn.execute(
            sa.select(sites.c.id).where(sites.c.domain == domain.strip().lower())
        ).scalar()
        if site_id is None:
            raise NotFoundError(f"no site {domain!r}: add it with 'footfall site add'")
        changed = conn.execute(
            report_subscriptions.update()
            .where(
                report_subscriptions.c.site_id == site_id, report_subscriptions.c.period == period
            )
            .values(recipients=text)
        )
        if not changed.rowcount:
            conn.execute(
                report_subscriptions.insert().values(
                    site_id=site_id,
                    period=period,
                    recipients=text,
                    last_sent=last_sent,
                    created_at=utcnow(),
                )
            )
        row = conn.execute(
            _query().where(
                report_subscriptions.c.site_id == site_id, report_subscriptions.c.period == period
            )
        ).one()
        found = _subscription(row)
        after = {"site": found.domain, "period": period, "recipients": list(found.recipients)}
        record_change(conn, actor, "report.add", f"{period} report of {found.domain}", after=after)
    return found


def list_subscriptions(engine: sa.Engine) -> list[Subscription]:
    """Every subscription, by site and period."""
    with engine.connect() as conn:
        return [_subscription(row) for row in conn.execute(_query())]


def get_subscription(engine: sa.Engine, domain: str, period: str) -> Subscription:
    """The site's `period` subscription.

    Raises:
        NotFoundError: There is none.
    """
    for item in list_subscriptions(engine):
        if item.domain == domain.strip().lower() and item.period == period:
            return item
    raise NotFoundError(f"{domain} has no {period} report: 'footfall report list' shows them")


def delete_subscription(
    engine: sa.Engine, domain: str, period: str, *, actor: Actor | None = None
) -> Subscription:
    """Stops the site's `period` report.

    Raises:
        NotFoundError: There is none.
    """
    found = get_subscription(engine, domain, period)
    with engine.begin() as conn:
        conn.execute(report_subscriptions.delete().where(report_subscriptions.c.id == found.id))
        before = {"site": found.domain, "period": period, "recipients": list(found.recipients)}
        record_change(
            conn, actor, "report.delete", f"{period} report of {found.domain}", before=before
        )
    return found


def mark_sent(conn: sa.Connection, subscription_id: int, period_key: str) -> None:
    """Records that the report of `period_key` was queued, on the caller's transaction."""
    conn.execute(
        report_subscriptions.update()
        .where(report_subscriptions.c.id == subscription_id)
        .values(last_sent=period_key)
    )
