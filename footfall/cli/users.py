"""``footfall user ...``: dashboard accounts, their roles and the sites viewers may read."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from footfall.cli.common import actor, data_dir_option, handle_errors, open_meta_for
from footfall.meta.vocabulary import ROLES
from footfall.text.quantities import plural


@click.group()
def user() -> None:
    """Manage user accounts."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line, without its line ending; every other character belongs to the password.
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin instead of prompting twice.",
)
@data_dir_option
@handle_errors
def user_add(email: str, role: str, password_stdin: bool, data_dir: Path | None) -> None:
    """Add a user; the password is stored only as an argon2id hash."""
    from footfall.meta.users import add_user

    password = _read_password(password_stdin)
    created = add_user(
        open_meta_for(data_dir),
        email=email,
        role=role,
        password=password,
        actor=actor(),
    )
    click.echo(f"added user {created.email} ({created.role})")


@user.command("passwd")
@click.argument("email")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from the first line of stdin instead of prompting twice.",
)
@data_dir_option
@handle_errors
def user_passwd(email: str, password_stdin: bool, data_dir: Path | None) -> None:
    """Set a user's password; every browser signed in as the user is signed out."""
    from footfall.meta.users import get_user, set_password

    engine = open_meta_for(data_dir)
    found = get_user(engine, email)  # an unknown user is reported before asking for a password
    ended = set_password(engine, found.email, _read_password(password_stdin), actor=actor())
    click.echo(f"changed the password of {found.email}; signed out of {plural(ended, 'session')}")


@user.command("list")
@data_dir_option
@handle_errors
def user_list(data_dir: Path | None) -> None:
    """List users: email, role, when created, whether disabled, and the sites they read."""
    from footfall.meta.access import granted_domains
    from footfall.meta.users import list_users

    engine = open_meta_for(data_dir)
    granted = granted_domains(engine)
    for item in list_users(engine):
        status = f"disabled {item.disabled_at:%Y-%m-%d %H:%M}" if item.disabled_at else "active"
        readable = "all" if item.role == "admin" else ",".join(granted.get(item.id, [])) or "none"
        click.echo(
            f"{item.email}\t{item.role}\tcreated {item.created_at:%Y-%m-%d %H:%M}\t{status}\t"
            f"sites {readable}"
        )


@user.command("grant")
@click.argument("email")
@click.option("--site", "domain", required=True, help="Domain of the site the viewer may read.")
@data_dir_option
@handle_errors
def user_grant(email: str, domain: str, data_dir: Path | None) -> None:
    """Let a viewer read a site's stats (admins read every site)."""
    from footfall.meta.access import grant_site
    from footfall.meta.sites import normalise_domain
    from footfall.meta.users import normalise_email

    changed = grant_site(open_meta_for(data_dir), email, domain, actor=actor())
    verb = "may now read" if changed else "could already read"
    click.echo(f"{normalise_email(email)} {verb} {normalise_domain(domain)}")


@user.command("ungrant")
@click.argument("email")
@click.option("--site", "domain", required=True, help="Domain of the site to take away.")
@data_dir_option
@handle_errors
def user_ungrant(email: str, domain: str, data_dir: Path | None) -> None:
    """Stop a viewer reading a site's stats; takes effect on the next request."""
    from footfall.meta.access import revoke_site
    from footfall.meta.sites import normalise_domain
    from footfall.meta.users import normalise_email

    changed = revoke_site(open_meta_for(data_dir), email, domain, actor=actor())
    verb = "may no longer read" if changed else "could not read"
    click.echo(f"{normalise_email(email)} {verb} {normalise_domain(domain)}")


@user.command("disable")
@click.argument("email")
@data_dir_option
@handle_errors
def user_disable(email: str, data_dir: Path | None) -> None:
    """Disable a user: no sign-in, and the user's API keys stop working."""
    from footfall.meta.users import set_user_disabled

    changed = set_user_disabled(open_meta_for(data_dir), email, True, actor=actor())
    click.echo(f"disabled {changed.email}")


@user.command("enable")
@click.argument("email")
@data_dir_option
@handle_errors
def user_enable(email: str, data_dir: Path | None) -> None:
    """Enable a disabled user again, and with it the user's API keys."""
    from footfall.meta.users import set_user_disabled

    changed = set_user_disabled(open_meta_for(data_dir), email, False, actor=actor())
    click.echo(f"enabled {changed.email}")
