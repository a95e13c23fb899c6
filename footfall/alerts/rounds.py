"""One round of alerting over the metadata store: evaluate every rule, queue, deliver, report.

The background job runs a round every ``FOOTFALL_ALERT_INTERVAL_S`` in the process holding the
``alerts`` lease; ``footfall alert run --once`` runs one from the command line. Both call the
same `Alerting` methods, in a worker thread (they query the stores and talk to the network).

A rule's new state, its history entries and its queued notifications are written in one
transaction, so a crash between deciding and recording never sends twice or loses a firing;
sending happens afterwards, from the outbox.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from footfall.alerts import delivery, measure
from footfall.alerts.channels import ChannelConfig, DeliveryError, send
from footfall.alerts.evaluate import evaluate, notice
from footfall.alerts.model import (
    Channel,
    HistoryEntry,
    Measurement,
    Notice,
    Rule,
    RuleState,
    is_ops_metric,
)
from footfall.alerts.reports import build_report, last_complete, render
from footfall.errors import FootfallError
from footfall.meta import alerts as rules_store
from footfall.meta import deliveries, reports
from footfall.meta.audit import Actor
from footfall.meta.goals import list_goals
from footfall.meta.sites import list_sites
from footfall.stats.engine import StatsEngine
from footfall.stats.model import Goal

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RoundReport:
    """What one round did."""

    evaluated: int = 0
    fired: int = 0
    resolved: int = 0
    queued: int = 0
    errors: int = 0
    reports: int = 0
    sent: delivery.Sent = field(default_factory=delivery.Sent)


@dataclass
class Alerting:
    """Alert evaluation, delivery and email reports over the stores (built by the services).

    Attributes:
        meta: The metadata store (rules, states, history, outbox, subscriptions).
        stats: The stats engine traffic rules and reports ask.
        ops: Where ops figures are read.
        channels: The channels' secrets and servers.
        clock: The current time.
        public_url: Where users reach footfall, for links; empty for none.
    """

    meta: sa.Engine
    stats: StatsEngine
    ops: measure.OpsSource
    channels: ChannelConfig
    clock: Callable[[], dt.datetime]
    public_url: str = ""

    @property
    def page_url(self) -> str | None:
        """The alerts page, when footfall knows its public address."""
        return f"{self.public_url}/settings/alerts" if self.public_url else None

    # -- evaluation -------------------------------------------------------------------------

    def measure(self, rule: Rule, now: dt.datetime) -> Measurement:
        """The figure `rule` is judged by at `now`."""
        if is_ops_metric(rule.metric) and rule.metric != "ops:ingest_stalled":
            return measure.ops(self.ops, rule, now)
        site = next((s for s in list_sites(self.meta) if s.id == rule.site_id), None)
        if site is None:
            return Measurement(None, error="the site was deleted")
        goals: tuple[Goal, ...] = tuple(list_goals(self.meta, site.id)) if rule.goal else ()
        ref = measure.SiteRef(site.id, site.domain, site.timezone)
        return measure.traffic(self.stats, rule, ref, goals, now)

    def evaluate_all(self, report: RoundReport | None = None) -> RoundReport:
        """Evaluates every enabled rule once, recording states and queueing notifications."""
        report = report or RoundReport()
        states = rules_store.load_states(self.meta)
        for rule in rules_store.list_rules(self.meta):
            if not rule.enabled:
                continue
            now = self.clock()
            state, _ = states.get(rule.id, (RuleState(), None))
            try:
                measured = self.measure(rule, now)
            except FootfallError as exc:  # a query timeout, a store error: try next round
                measured = Measurement(None, error=str(exc))
            outcome = evaluate(rule, state, measured, now, url=self.page_url)
            history = list(outcome.history)
            try:
                with self.meta.begin() as conn:
                    if not rules_store.save_state(
                        conn, rule, outcome.state, history, error=measured.error
                    ):
                        continue  # deleted while it was being measured
                    for sent in outcome.notices:
                        report.queued += self._queue(conn, rule, sent, "alert", now)
            except sa.exc.IntegrityError:
                continue  # deleted between the check and the write: nothing to keep
            report.evaluated += 1
            report.errors += measured.error is not None
            report.fired += any(h.kind == "firing" for h in history)
            report.resolved += any(h.kind == "resolved" for h in history)
            for entry in history:
                if entry.kind in ("firing", "resolved"):
                    log.info("alert %s is %s (value %s)", rule.name, entry.kind, entry.value)
        return report

    def _queue(
        self, conn: sa.Connection, rule: Rule, sent: Notice, kind: str, now: dt.datetime
    ) -> int:
        for channel in rule.channels:
            deliveries.enqueue(
                conn, subject=rule.name, kind=kind, channel=channel, payload=sent.as_json(), now=now
            )
        return len(rule.channels)

    # -- delivery ---------------------------------------------------------------------------

    def deliver(self) -> delivery.Sent:
        """Sends the deliveries that are due."""
        return delivery.deliver_due(self.meta, self.channels, self.clock)

    def test(self, name: str, *, actor: Actor, queue: bool = False) -> list[tuple[str, str | None]]:
        """Sends a test notification of rule `name` (see `send_test`)."""
        return send_test(
            self.meta,
            self.channels,
            name,
            now=self.clock(),
            actor=actor,
            queue=queue,
            url=self.page_url,
        )

    # -- reports ----------------------------------------------------------------------------

    def send_reports(self, *, force: tuple[str, str] | None = None) -> int:
        """Queues every report whose period has ended since it was last sent.

        Args:
            force: (domain, period) of one report to queue now, for its last complete
                period, even if that was sent already.

        Returns:
            How many report emails were queued.
        """
        queued = 0
        for item in reports.list_subscriptions(self.meta):
            now = self.clock()
            period = last_complete(item.period, item.timezone, now)
            if force is not None:
                if (item.domain, item.period) != force:
                    continue
            elif item.last_sent is not None and item.last_sent >= period.key:
                continue
            goals = tuple(list_goals(self.meta, item.site_id))
            built = build_report(
                self.stats,
                site_id=item.site_id,
                domain=item.domain,
                timezone=item.timezone,
                goals=goals,
                period=period,
                now=now,
            )
            subject, text, html = render(built, public_url=self.public_url)
            payload = {"subject": subject, "text": text, "html": html}
            with self.meta.begin() as conn:
                for address in item.recipients:
                    deliveries.enqueue(
                        conn,
                        subject=f"report {item.domain}",
                        kind="report",
                        channel=Channel("email", address),
                        payload=payload,
                        now=now,
                    )
                    queued += 1
                reports.mark_sent(conn, item.id, period.key)
        return queued

    # -- the whole round --------------------------------------------------------------------

    def run_round(self) -> RoundReport:
        """Evaluates, queues due reports, delivers, and prunes old history and deliveries."""
        report = self.evaluate_all()
        report.reports = self.send_reports()
        report.sent = self.deliver()
        now = self.clock()
        rules_store.prune_history(self.meta, now)
        deliveries.prune(self.meta, now)
        return report


def send_test(
    meta: sa.Engine,
    channels: ChannelConfig,
    name: str,
    *,
    now: dt.datetime,
    actor: Actor,
    queue: bool = False,
    url: str | None = None,
) -> list[tuple[str, str | None]]:
    """Sends a test notification of rule `name` to each of its channels.

    The test is a firing notice with ``"test": true`` and the rule's threshold as its value.

    Args:
        meta: The metadata store.
        channels: The channels' secrets and servers.
        name: The rule.
        now: The time.
        actor: Who asked, for the rule's history.
        queue: Queue the test deliveries (sent by the next delivery pass, with retries)
            instead of sending them now.
        url: A link to the alerts page.

    Returns:
        Each channel as shown, with the error of its delivery (None when it went out, or
        when it was queued).

    Raises:
        NotFoundError: No rule has that name.
    """
    rule = rules_store.get_rule(meta, name)
    sample = notice(rule, "firing", Measurement(rule.threshold), now, since=now, test=True, url=url)
    entry = HistoryEntry(rule.name, now, "test", actor.name, None, rule.threshold)
    with meta.begin() as conn:
        rules_store.append_history(conn, rule.id, [entry])
        if queue:
            for channel in rule.channels:
                deliveries.enqueue(
                    conn,
                    subject=rule.name,
                    kind="test",
                    channel=channel,
                    payload=sample.as_json(),
                    now=now,
                )
    if queue:
        return [(c.shown(), None) for c in rule.channels]
    results: list[tuple[str, str | None]] = []
    for channel in rule.channels:
        try:
            send(channels, channel, "test", sample.as_json(), now=now)
        except DeliveryError as exc:
            results.append((channel.shown(), str(exc)))
        else:
            results.append((channel.shown(), None))
    return results
