"""``footfall site ...``: register, list and delete sites."""

from __future__ import annotations

from pathlib import Path

import click

from footfall.cli.common import actor, data_dir_option, handle_errors, settings_from


@click.group()
def site() -> None:
    """Manage sites."""


@site.command("add")
@click.argument("domain")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone of reports.")
@data_dir_option
@handle_errors
def site_add(domain: str, timezone: str, data_dir: Path | None) -> None:
    """Register a site by its domain."""
    from footfall.meta.sites import add_site
    from footfall.services import open_meta

    created = add_site(
        open_meta(settings_from(data_dir=data_dir)), domain=domain, timezone=timezone, actor=actor()
    )
    click.echo(f"added {created.domain} ({created.timezone})")


@site.command("list")
@data_dir_option
@handle_errors
def site_list(data_dir: Path | None) -> None:
    """List sites."""
    from footfall.meta.sites import list_sites
    from footfall.services import open_meta

    for item in list_sites(open_meta(settings_from(data_dir=data_dir))):
        click.echo(f"{item.domain}\t{item.timezone}")


@site.command("delete")
@click.argument("domain")
@data_dir_option
@handle_errors
def site_delete(domain: str, data_dir: Path | None) -> None:
    """Delete a site and every event stored for it."""
    from footfall.lifecycle.deletion import delete_site_and_events
    from footfall.services import Services

    # Opening the services first replays any journal left by a crash, so no event of the site
    # can come back after the deletion.
    services = Services.open(settings_from(data_dir=data_dir))
    try:
        found = delete_site_and_events(services, domain, actor=actor())
    finally:
        services.close()
    click.echo(f"deleted {found.domain} and its events")
