"""``footfall alert ...``: alert rules on sites' traffic and on footfall's own health."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from footfall.cli.common import actor, data_dir_option, handle_errors, open_meta_for, settings_from
from footfall.errors import InvalidInputError

if TYPE_CHECKING:
    from footfall.alerts.model import Channel
    from footfall.meta.alerts import RuleView

# The condition an ops metric takes when none is given.
_DEFAULT_CONDITIONS = {
    "ops:ingest_stalled": ("stalled", 1.0),
    "ops:memory_leak": ("above", 0.0),
    "ops:ready": ("below", 1.0),
}


@click.group()
def alert() -> None:
    """Manage alert rules, and evaluate them.

    Traffic rules count a site's visitors, pageviews or events over a window; ops rules watch
    footfall itself (ops:p95_latency, ops:5xx_rate, ops:rss, ops:disk_free, ops:queue_depth,
    ops:ingest_stalled, ops:memory_leak, ops:ready).
    """


def _condition(
    metric: str,
    above: float | None,
    below: float | None,
    spike: float | None,
    drop: float | None,
) -> tuple[str, float]:
    given = [
        (name, value)
        for name, value in (("above", above), ("below", below), ("spike", spike), ("drop", drop))
        if value is not None
    ]
    if len(given) > 1:
        raise click.UsageError("give only one of --above, --below, --spike and --drop")
    if given:
        if metric == "ops:ingest_stalled":
            raise click.UsageError("ops:ingest_stalled takes no condition: it fires on silence")
        return given[0]
    if metric in _DEFAULT_CONDITIONS:
        return _DEFAULT_CONDITIONS[metric]
    raise click.UsageError("give a condition: --above N, --below N, --spike PCT or --drop PCT")


def _channels(
    webhooks: tuple[str, ...], slacks: tuple[str, ...], emails: tuple[str, ...], log: bool
) -> list[Channel]:
    from footfall.alerts.model import Channel

    channels = [Channel("webhook", url) for url in webhooks]
    channels += [Channel("slack", url) for url in slacks]
    channels += [Channel("email", address) for address in emails]
    if log:
        channels.append(Channel("log"))
    if not channels:
        raise click.UsageError(
            "give at least one channel: --webhook URL, --slack URL, --email ADDR or --log"
        )
    return channels


@alert.command("add")
@click.argument("name")
@click.option("--site", "domain", default=None, help="The site a traffic rule counts.")
@click.option(
    "--metric",
    required=True,
    help="visitors, pageviews, events (with --site), or ops:<name> (see 'footfall alert --help').",
)
@click.option(
    "--window",
    type=click.IntRange(1),
    default=15,
    show_default=True,
    help="Minutes the metric is measured over, ending now.",
)
@click.option("--above", type=float, default=None, help="Fire when the metric is above N.")
@click.option("--below", type=float, default=None, help="Fire when the metric is below N.")
@click.option(
    "--spike",
    type=float,
    default=None,
    help="Fire when it rises PCT % or more against the same window a week earlier.",
)
@click.option(
    "--drop",
    type=float,
    default=None,
    help="Fire when it falls PCT % or more against the same window a week earlier.",
)
@click.option(
    "--for",
    "for_minutes",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Minutes the condition must hold before the rule fires.",
)
@click.option(
    "--renotify",
    "renotify_minutes",
    type=click.IntRange(1),
    default=60,
    show_default=True,
    help="Least minutes between two notifications while it keeps firing.",
)
@click.option(
    "--severity",
    type=click.Choice(["info", "warning", "critical"]),
    default="warning",
    show_default=True,
)
@click.option(
    "--goal", default=None, help="Count only conversions of this goal (its display name)."
)
@click.option(
    "--route",
    default=None,
    help="For ops:p95_latency: the route template, e.g. /api/v1/stats/aggregate.",
)
@click.option(
    "--webhook", "webhooks", multiple=True, help="POST a JSON notification to URL (repeatable)."
)
@click.option(
    "--slack",
    "slacks",
    multiple=True,
    help="Post to a Slack-compatible incoming webhook URL (repeatable).",
)
@click.option(
    "--email", "emails", multiple=True, help="Email ADDR (repeatable; needs FOOTFALL_SMTP_*)."
)
@click.option("--log", "log_channel", is_flag=True, help="Also write each notification to the log.")
@data_dir_option
@handle_errors
def alert_add(
    name: str,
    domain: str | None,
    metric: str,
    window: int,
    above: float | None,
    below: float | None,
    spike: float | None,
    drop: float | None,
    for_minutes: int,
    renotify_minutes: int,
    severity: str,
    goal: str | None,
    route: str | None,
    webhooks: tuple[str, ...],
    slacks: tuple[str, ...],
    emails: tuple[str, ...],
    log_channel: bool,
    data_dir: Path | None,
) -> None:
    """Add an alert rule NAME."""
    from footfall.meta.alerts import add_rule

    metric = metric.strip().lower()
    comparison, threshold = _condition(metric, above, below, spike, drop)
    channels = _channels(webhooks, slacks, emails, log_channel)
    engine = open_meta_for(data_dir)
    rule = add_rule(
        engine,
        name=name,
        metric=metric,
        comparison=comparison,
        threshold=threshold,
        window_minutes=window,
        channels=channels,
        site=domain,
        for_minutes=for_minutes,
        renotify_minutes=renotify_minutes,
        severity=severity,
        goal=goal,
        route=route,
        actor=actor(),
    )
    where = f" on {rule.site}" if rule.site else ""
    click.echo(f"alert {rule.name}{where}: {rule.describe()}")


def _value(view: RuleView) -> str:
    value = view.state.value
    return "-" if value is None else f"{value:g}"


@alert.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rule.")
@data_dir_option
@handle_errors
def alert_list(as_json: bool, data_dir: Path | None) -> None:
    """List alert rules: name, status, site, condition, last value, channels."""
    from footfall.meta.alerts import rule_views

    engine = open_meta_for(data_dir)
    for view in rule_views(engine):
        if as_json:
            import json

            click.echo(json.dumps(view.as_json(dt.datetime.now(dt.UTC))))
            continue
        rule = view.rule
        channels = ", ".join(c.shown() for c in rule.channels)
        status: str = view.state.status
        if view.state.acknowledged_by:
            status += " (acknowledged)"
        if view.state.silenced(dt.datetime.now(dt.UTC)):
            status += " (silenced)"
        fields = (rule.name, status, rule.site or "-", rule.describe(), _value(view), channels)
        click.echo("\t".join(fields))


@alert.command("delete")
@click.argument("name")
@data_dir_option
@handle_errors
def alert_delete(name: str, data_dir: Path | None) -> None:
    """Delete the alert rule NAME (its history is kept)."""
    from footfall.meta.alerts import delete_rule

    deleted = delete_rule(open_meta_for(data_dir), name, actor=actor())
    click.echo(f"deleted alert {deleted.name}")


@alert.command("test")
@click.argument("name")
@data_dir_option
@handle_errors
def alert_test(name: str, data_dir: Path | None) -> None:
    """Send a test notification of NAME to each of its channels now; exit 1 if one fails."""
    from footfall.alerts.rounds import send_test
    from footfall.services import channel_config, open_meta

    settings = settings_from(data_dir=data_dir)
    url = f"{settings.public_url}/settings/alerts" if settings.public_url else None
    results = send_test(
        open_meta(settings),
        channel_config(settings),
        name,
        now=dt.datetime.now(dt.UTC),
        actor=actor(),
        url=url,
    )
    failed = [(channel, error) for channel, error in results if error is not None]
    for channel, error in results:
        click.echo(f"{channel}: {'sent' if error is None else 'FAILED: ' + error}")
    if any(kind.startswith("webhook") for kind, _ in results) and not settings.alert_webhook_secret:
        click.echo(
            "note: webhooks are unsigned; set FOOTFALL_ALERT_WEBHOOK_SECRET to sign them", err=True
        )
    if failed:
        raise InvalidInputError(f"{len(failed)} of {len(results)} channels failed")


@alert.command("run")
@click.option(
    "--once", is_flag=True, help="Evaluate once, deliver, and exit (else every interval)."
)
@data_dir_option
@handle_errors
def alert_run(once: bool, data_dir: Path | None) -> None:
    """Evaluate every rule now, queue and send notifications and due reports.

    Works with the server stopped, like other commands on the data directory. Ops rules are
    judged on the ops history the server left (figures older than a rule's window count as
    no value) and on the disk.
    """
    from footfall.monitoring.sampler import HISTORY_FILE
    from footfall.services import Services

    settings = settings_from(data_dir=data_dir)
    services = Services.open(settings)
    try:
        services.history.load(settings.data_dir / HISTORY_FILE, now=time.time())
        alerting = services.alerting()
        while True:
            report = alerting.run_round()
            sent = report.sent
            click.echo(
                f"evaluated {report.evaluated} rules: {report.fired} fired, {report.resolved} "
                f"resolved, {report.errors} without a value; {report.reports} report emails "
                f"queued; {report.queued} notifications queued; {sent.sent} sent, "
                f"{sent.retrying} to retry, {sent.failed} failed"
            )
            if once:
                break
            time.sleep(settings.alert_interval_s)
    finally:
        services.close()


@alert.command("ack")
@click.argument("name")
@data_dir_option
@handle_errors
def alert_ack(name: str, data_dir: Path | None) -> None:
    """Acknowledge the firing alert NAME: no more re-notifications until it resolves."""
    from footfall.alerts.evaluate import acknowledge
    from footfall.meta.alerts import change_state

    who = actor()
    now = dt.datetime.now(dt.UTC)
    change_state(
        open_meta_for(data_dir),
        name,
        lambda rule, state: acknowledge(rule, state, who.name, now),
        actor=who,
        action="alert.acknowledge",
    )
    click.echo(f"acknowledged alert {name}")


@alert.command("silence")
@click.argument("name")
@click.option(
    "--minutes",
    type=click.IntRange(1, 60 * 24 * 90),
    default=None,
    help="Silence for this many minutes.",
)
@click.option(
    "--until",
    "until_text",
    default=None,
    help="Silence until this ISO 8601 time (UTC unless it has an offset).",
)
@click.option("--lift", is_flag=True, help="End the silence now.")
@data_dir_option
@handle_errors
def alert_silence(
    name: str, minutes: int | None, until_text: str | None, lift: bool, data_dir: Path | None
) -> None:
    """Silence the notifications of NAME until a time (the rule is still evaluated)."""
    from footfall.alerts.evaluate import silence
    from footfall.meta.alerts import change_state
    from footfall.meta.audit import parse_since

    if sum(x is not None and x is not False for x in (minutes, until_text, lift or None)) != 1:
        raise click.UsageError("give exactly one of --minutes, --until and --lift")
    now = dt.datetime.now(dt.UTC)
    until: dt.datetime | None = None
    if minutes is not None:
        until = now + dt.timedelta(minutes=minutes)
    elif until_text is not None:
        until = parse_since(until_text)
    who = actor()
    _, state = change_state(
        open_meta_for(data_dir),
        name,
        lambda rule, current: silence(rule, current, until, who.name, now),
        actor=who,
        action="alert.silence",
    )
    if state.silenced_until is None:
        click.echo(f"alert {name} is not silenced")
    else:
        click.echo(f"alert {name} silenced until {state.silenced_until:%Y-%m-%d %H:%M} UTC")


@alert.command("history")
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@data_dir_option
@handle_errors
def alert_history(name: str | None, limit: int, data_dir: Path | None) -> None:
    """Show what happened to alerts, newest first: time, alert, event, who, value, detail."""
    from footfall.meta.alerts import list_history

    for entry in list_history(open_meta_for(data_dir), rule=name, limit=limit):
        value = "-" if entry.value is None else f"{entry.value:g}"
        when = f"{entry.at:%Y-%m-%d %H:%M:%S}"
        click.echo("\t".join((when, entry.rule, entry.kind, entry.actor, value, entry.detail)))


@alert.command("deliveries")
@click.option("--failed", is_flag=True, help="Only deliveries that failed every attempt.")
@click.option(
    "--retry", "retry_id", type=int, default=None, help="Make the failed delivery ID pending again."
)
@data_dir_option
@handle_errors
def alert_deliveries(failed: bool, retry_id: int | None, data_dir: Path | None) -> None:
    """List notification and report deliveries, newest first, or retry a failed one."""
    from footfall.errors import NotFoundError
    from footfall.meta import deliveries

    engine = open_meta_for(data_dir)
    if retry_id is not None:
        if not deliveries.retry(engine, retry_id, dt.datetime.now(dt.UTC)):
            raise NotFoundError(f"no failed delivery {retry_id}")
        click.echo(f"delivery {retry_id} will be retried at the next evaluation")
        return
    for item in deliveries.list_deliveries(engine, status="failed" if failed else None):
        click.echo(
            f"{item.id}\t{item.created_at:%Y-%m-%d %H:%M:%S}\t{item.subject}\t{item.kind}\t"
            f"{item.channel.shown()}\t{item.status}\t{item.attempts}\t{item.last_error or ''}"
        )
