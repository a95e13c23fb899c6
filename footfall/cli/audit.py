"""``footfall audit``: the audit log of administrative changes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from footfall.cli.common import data_dir_option, handle_errors, open_meta_for
from footfall.errors import FootfallError
from footfall.meta.vocabulary import AUDIT_ACTIONS, AUDIT_MAX_LIMIT


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.datetime | None:
    from footfall.meta.audit import parse_since

    if value is None:
        return None
    try:
        return parse_since(value)
    except FootfallError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


@click.command("audit")
@click.option(
    "--since",
    callback=_since,
    metavar="ISO-DATE-OR-DATETIME",
    help="Only entries at or after this time (UTC unless it has an offset).",
)
@click.option("--actor", default=None, help="Only entries by this actor, e.g. cli:alice or key:ci.")
@click.option(
    "--action",
    type=click.Choice(AUDIT_ACTIONS),
    default=None,
    help="Only entries of this action.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, AUDIT_MAX_LIMIT),
    default=1000,
    show_default=True,
    help="At most this many entries, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
@data_dir_option
@handle_errors
def audit_cmd(
    since: dt.datetime | None,
    actor: str | None,
    action: str | None,
    limit: int,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Show the audit log of administrative changes, newest first."""
    from footfall.meta.audit import list_entries

    entries = list_entries(
        open_meta_for(data_dir),
        since=since,
        actor=actor,
        action=action,
        limit=limit,
    )
    if as_json:
        for entry in entries:
            click.echo(json.dumps(entry.as_json(), ensure_ascii=False, sort_keys=True))
        return
    click.echo("at\tactor\taction\ttarget\tip\tchange")
    for entry in entries:
        at = entry.as_json()["at"]
        click.echo(
            f"{at}\t{entry.actor}\t{entry.action}\t{entry.target}\t{entry.ip or '-'}\t"
            f"{entry.change()}"
        )
