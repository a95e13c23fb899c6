"""``footfall site ...``: register, list, change, reset and delete sites."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from footfall.cli.common import actor, data_dir_option, handle_errors, open_meta_for, settings_from
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

    created = add_site(open_meta_for(data_dir), domain=domain, timezone=timezone, actor=actor())
    click.echo(f"added {created.domain} ({created.timezone})")


@site.command("list")
@data_dir_option
@handle_errors
def site_list(data_dir: Path | None) -> None:
    """List sites."""
    from footfall.meta.sites import list_sites

    for item in list_sites(open_meta_for(data_dir)):
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


def _retention(value: str) -> int | None:
    text = value.strip().lower()
    if text in ("none", "0", "forever"):
        return None
    if not text.isdigit():
        raise click.BadParameter("a whole number of days, or 'none' to keep every event")
    return int(text)


@site.command("set")
@click.argument("domain")
@click.option("--timezone", default=None, help="IANA time zone of reports.")
@click.option(
    "--retention-days",
    default=None,
    help="Keep today and this many whole days before it (site time); 'none' keeps all.",
)
@data_dir_option
@handle_errors
def site_set(
    domain: str, timezone: str | None, retention_days: str | None, data_dir: Path | None
) -> None:
    """Change a site's time zone or retention; older events go at once."""
    from footfall.meta.sites import set_site_retention, set_site_timezone

    if timezone is None and retention_days is None:
        raise click.UsageError("give --timezone or --retention-days")
    meta = open_meta_for(data_dir)
    if timezone is not None:
        updated = set_site_timezone(meta, domain, timezone, actor=actor())
        click.echo(f"{updated.domain}: time zone {updated.timezone}")
    if retention_days is not None:
        updated = set_site_retention(meta, domain, _retention(retention_days), actor=actor())
        kept = updated.retention_days
        if kept:
            for line in _apply_retention(data_dir, updated.domain):
                click.echo(line)
        else:
            click.echo(f"{updated.domain}: keeps every event")


def _apply_retention(data_dir: Path | None, domain: str) -> list[str]:
    """Deletes what the new retention says is due, here or through the running server."""
    from footfall.cli.control import here_or_on_server, raise_for_answer
    from footfall.services import Services

    settings = settings_from(data_dir=data_dir)

    def here() -> list[str]:
        services = Services.open(settings)
        try:
            return [r.describe() for r in services.enforce_retention(domain=domain, actor=actor())]
        finally:
            services.close()

    def there(client: Any) -> list[str]:
        response = client.post("/api/v1/admin/retention", params={"site_id": domain})
        raise_for_answer(response)
        return [str(item["summary"]) for item in response.json()["sites"]]

    return here_or_on_server(settings, here=here, there=there, actor=actor().name)


def _confirm_deletion(domain: str, *, events_only: bool = False) -> None:
    """Asks for the domain to be typed again; refuses without a terminal to ask on."""
    what = (
        f"every event of {domain} (the site stays)"
        if events_only
        else f"{domain} and all its events"
    )
    if not sys.stdin.isatty():
        of_it = "every event of it" if events_only else "it and all its events"
        raise FootfallError(
            f"refusing to delete {domain} without confirmation: pass --yes to delete {of_it}"
        )
    typed = click.prompt(
        f"This deletes {what}. Type the domain to confirm", default="", show_default=False
    )
    if typed.strip().lower().removeprefix("www.") != domain:
        raise FootfallError(f"the typed domain is not {domain}: nothing was deleted")


@site.command("reset")
@click.argument("domain")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_dir_option
@handle_errors
def site_reset(domain: str, yes: bool, data_dir: Path | None) -> None:
    """Delete every event of a site, keeping the site and its settings."""
    from footfall.cli.control import here_or_on_server, raise_for_answer
    from footfall.lifecycle.reset import reset_site
    from footfall.meta.sites import get_site
    from footfall.services import Services, open_meta

    settings = settings_from(data_dir=data_dir)
    found = get_site(open_meta(settings), domain)
    if not yes:
        _confirm_deletion(found.domain, events_only=True)

    def here() -> tuple[int, int]:
        services = Services.open(settings)
        try:
            _, done = reset_site(services, found.domain, actor=actor())
            return done.events, done.sessions
        finally:
            services.close()

    def there(client: Any) -> tuple[int, int]:
        response = client.post(f"/api/v1/admin/sites/{found.domain}/reset")
        raise_for_answer(response)
        body = response.json()
        return int(body["events"]), int(body["sessions"])

    events, sessions = here_or_on_server(settings, here=here, there=there, actor=actor().name)
    click.echo(f"reset {found.domain}: deleted {events} events and {sessions} visits")
