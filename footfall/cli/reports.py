"""``footfall report ...``: weekly and monthly email reports of a site."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from footfall.cli.common import actor, data_dir_option, handle_errors, open_meta_for, settings_from


@click.group()
def report() -> None:
    """Manage email reports: a site's last week or month, to a list of addresses."""


def _period(weekly: bool, monthly: bool) -> str:
    if weekly == monthly:
        raise click.UsageError("give one of --weekly and --monthly")
    return "weekly" if weekly else "monthly"


@report.command("add")
@click.option("--site", "domain", required=True, help="Domain of the site.")
@click.option("--weekly", is_flag=True, help="Every Monday: the week before.")
@click.option("--monthly", is_flag=True, help="On the first of each month: the month before.")
@click.option("--email", "emails", multiple=True, required=True, help="A recipient (repeatable).")
@data_dir_option
@handle_errors
def report_add(
    domain: str, weekly: bool, monthly: bool, emails: tuple[str, ...], data_dir: Path | None
) -> None:
    """Send a site's weekly or monthly report to addresses (replaces the list if it exists)."""
    from footfall.alerts.reports import last_complete
    from footfall.meta.reports import set_subscription
    from footfall.meta.sites import get_site

    period = _period(weekly, monthly)
    engine = open_meta_for(data_dir)
    site = get_site(engine, domain)
    sent = last_complete(period, site.timezone, dt.datetime.now(dt.UTC)).key
    found = set_subscription(engine, site.domain, period, emails, last_sent=sent, actor=actor())
    click.echo(f"{period} report of {found.domain} to {', '.join(found.recipients)}")


@report.command("list")
@data_dir_option
@handle_errors
def report_list(data_dir: Path | None) -> None:
    """List reports: site, period, recipients, last period sent."""
    from footfall.meta.reports import list_subscriptions

    for item in list_subscriptions(open_meta_for(data_dir)):
        recipients = ",".join(item.recipients)
        click.echo(f"{item.domain}\t{item.period}\t{recipients}\t{item.last_sent or '-'}")


@report.command("delete")
@click.option("--site", "domain", required=True, help="Domain of the site.")
@click.option("--weekly", is_flag=True)
@click.option("--monthly", is_flag=True)
@data_dir_option
@handle_errors
def report_delete(domain: str, weekly: bool, monthly: bool, data_dir: Path | None) -> None:
    """Stop a site's weekly or monthly report."""
    from footfall.meta.reports import delete_subscription

    period = _period(weekly, monthly)
    found = delete_subscription(open_meta_for(data_dir), domain, period, actor=actor())
    click.echo(f"stopped the {period} report of {found.domain}")


@report.command("send")
@click.option("--site", "domain", required=True, help="Domain of the site.")
@click.option("--weekly", is_flag=True)
@click.option("--monthly", is_flag=True)
@data_dir_option
@handle_errors
def report_send(domain: str, weekly: bool, monthly: bool, data_dir: Path | None) -> None:
    """Send the report of the last complete period now (with the server stopped)."""
    from footfall.meta.reports import get_subscription
    from footfall.meta.sites import get_site
    from footfall.services import Services

    period = _period(weekly, monthly)
    settings = settings_from(data_dir=data_dir)
    services = Services.open(settings)
    try:
        site = get_site(services.meta, domain)
        get_subscription(services.meta, site.domain, period)  # refuses an unknown report
        alerting = services.alerting()
        queued = alerting.send_reports(force=(site.domain, period))
        sent = alerting.deliver()
    finally:
        services.close()
    click.echo(
        f"queued {queued} report emails; {sent.sent} sent, {sent.retrying} to retry, "
        f"{sent.failed} failed"
    )
    if sent.retrying or sent.failed:
        raise SystemExit(1)
