"""``footfall site ...``: register, list and delete sites."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from footfall.cli.common import actor, data_dir_option, handle_errors, settings_from
from footfall.errors import FootfallError


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
@click.option(
    "--yes",
    is_flag=True,
    help="Delete without asking (for scripts). Without it, the domain must be typed again.",
)
@data_dir_option
@handle_errors
def site_delete(domain: str, yes: bool, data_dir: Path | None) -> None:
    """Delete a site and every event stored for it: this cannot be undone."""
    from footfall.lifecycle.deletion import delete_site
    from footfall.meta.sites import get_site
    from footfall.services import Services

    # Opening the services first replays any journal left by a crash, so no event of the site
    # can come back after the deletion; and a store in use is reported before asking.
    services = Services.open(settings_from(data_dir=data_dir))
    try:
        found = get_site(services.meta, domain)
        if not yes:
            _confirm_deletion(found.domain)
        deleted = delete_site(services, found.domain, actor=actor())
    finally:
        services.close()
    click.echo(f"deleted {deleted.domain} and its events")


def _confirm_deletion(domain: str) -> None:
    """Asks for the domain to be typed again; refuses without a terminal to ask on."""
    if not sys.stdin.isatty():
        raise FootfallError(
            f"refusing to delete {domain} without confirmation: pass --yes to delete it and "
            "all its events"
        )
    typed = click.prompt(
        f"This deletes {domain} and all its events. Type the domain to confirm",
        default="",
        show_default=False,
    )
    if typed.strip().lower().removeprefix("www.") != domain:
        raise FootfallError(f"the typed domain is not {domain}: nothing was deleted")
