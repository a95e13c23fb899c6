"""``footfall goal ...``: a site's goals (custom events or page visits)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from footfall.cli.common import actor, data_dir_option, handle_errors, open_meta_for
from footfall.errors import NotFoundError

if TYPE_CHECKING:
    from footfall.meta.goals import Goal


@click.group()
def goal() -> None:
    """Manage a site's goals (conversions: custom events or page visits)."""


def _goal_target(item: Goal) -> str:
    target = item.event_name if item.event_name is not None else str(item.page_path)
    if item.custom_props:
        target += " with " + ", ".join(f"{k}={v}" for k, v in item.custom_props)
    return target


@goal.command("add")
@click.option("--site", "domain", required=True, help="Domain of the site.")
@click.option("--event", "event_name", default=None, help="Count custom events of this name.")
@click.option(
    "--page", "page_path", default=None, help="Count visits of this path, e.g. /pricing or /blog/*."
)
@click.option(
    "--display-name",
    default=None,
    help="Name shown in reports (default: the event name, or 'Visit PATH').",
)
@data_dir_option
@handle_errors
def goal_add(
    domain: str,
    event_name: str | None,
    page_path: str | None,
    display_name: str | None,
    data_dir: Path | None,
) -> None:
    """Add a goal; adding the same goal again prints the one already there."""
    from footfall.meta.goals import add_goal
    from footfall.meta.sites import get_site

    if (event_name is None) == (page_path is None):
        raise click.UsageError("give exactly one of --event NAME or --page PATH")
    engine = open_meta_for(data_dir)
    found = get_site(engine, domain)
    created = add_goal(
        engine,
        found.id,
        event_name=event_name,
        page_path=page_path,
        display_name=display_name,
        actor=actor(),
    )
    click.echo(
        f"goal {created.id} on {found.domain}: {created.kind} {_goal_target(created)} "
        f"(display name: {created.display_name})"
    )


@goal.command("list")
@click.option("--site", "domain", required=True, help="Domain of the site.")
@data_dir_option
@handle_errors
def goal_list(domain: str, data_dir: Path | None) -> None:
    """List a site's goals: id, type, event name or path, display name."""
    from footfall.meta.goals import list_goals
    from footfall.meta.sites import get_site

    engine = open_meta_for(data_dir)
    for item in list_goals(engine, get_site(engine, domain).id):
        click.echo(f"{item.id}\t{item.kind}\t{_goal_target(item)}\t{item.display_name}")


@goal.command("delete")
@click.option("--site", "domain", required=True, help="Domain of the site.")
@click.argument("goal_id", type=int)
@data_dir_option
@handle_errors
def goal_delete(domain: str, goal_id: int, data_dir: Path | None) -> None:
    """Delete a goal by its id (see 'footfall goal list'); stored events are kept."""
    from footfall.meta.goals import delete_goal
    from footfall.meta.sites import get_site

    engine = open_meta_for(data_dir)
    found = get_site(engine, domain)
    try:
        deleted = delete_goal(engine, found.id, goal_id, actor=actor())
    except NotFoundError as exc:
        raise NotFoundError(
            f"no goal {goal_id} on {found.domain}: 'footfall goal list --site {found.domain}' "
            "shows the ids"
        ) from exc
    click.echo(f"deleted goal {deleted.id} ({deleted.display_name}) from {found.domain}")
