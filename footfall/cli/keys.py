"""``footfall key ...``: create, list and revoke API keys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from footfall.cli.common import actor, data_dir_option, handle_errors, open_meta_for


@click.group()
def key() -> None:
    """Manage API keys."""


@key.command("create")
@click.option("--name", required=True, help="A unique name for the key.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="stats:read (default), events:import, sites:write or admin; repeat for several.",
)
@click.option("--expires-days", type=int, default=None, help="Expire after N days.")
@click.option(
    "--user",
    "user_email",
    default=None,
    metavar="EMAIL",
    help="The user who owns the key and bounds its rights (a viewer's key may only read the "
    "viewer's sites). Without it the key holds exactly its scopes on every site.",
)
@data_dir_option
@handle_errors
def key_create(
    name: str,
    scopes: tuple[str, ...],
    expires_days: int | None,
    user_email: str | None,
    data_dir: Path | None,
) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    from footfall.meta.keys import create_key

    created, secret = create_key(
        open_meta_for(data_dir),
        name=name,
        scopes=scopes or ("stats:read",),
        expires_days=expires_days,
        user_email=user_email,
        actor=actor(),
    )
    expiry = f", expires {created.expires_at:%Y-%m-%d}" if created.expires_at else ""
    owner = f", owned by {created.owner_email}" if created.owner_email else ""
    click.echo(
        f"created key {created.name} ({' '.join(created.scopes)}{expiry}{owner}); "
        "store it now, it is not shown again:"
    )
    click.echo(secret)


@key.command("list")
@data_dir_option
@handle_errors
def key_list(data_dir: Path | None) -> None:
    """List API keys (never their values), with their owners ('-' for an operator key)."""
    from footfall.meta.keys import list_keys

    now = dt.datetime.now(dt.UTC)
    for item in list_keys(open_meta_for(data_dir)):
        status = "revoked" if item.revoked_at else ("active" if item.is_active(now) else "expired")
        used = f"{item.last_used_at:%Y-%m-%d %H:%M}" if item.last_used_at else "never"
        expires = f"{item.expires_at:%Y-%m-%d}" if item.expires_at else "-"
        owner = item.owner_email or "-"
        if item.owner_disabled:
            owner += " (disabled)"
        click.echo(
            f"{item.name}\t{item.prefix}…\t{' '.join(item.scopes)}\t{status}\t"
            f"expires {expires}\tlast used {used}\towner {owner}"
        )


@key.command("revoke")
@click.argument("name")
@data_dir_option
@handle_errors
def key_revoke(name: str, data_dir: Path | None) -> None:
    """Revoke an API key by name."""
    from footfall.meta.keys import revoke_key

    revoked = revoke_key(open_meta_for(data_dir), name, actor=actor())
    click.echo(f"revoked {revoked.name}")
