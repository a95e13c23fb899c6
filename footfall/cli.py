"""The `footfall` command line: a thin layer over the functions the web app uses.

Exit codes: 0 success, 1 failure (one line on stderr), 2 usage error (click's own).
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import json
import logging
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from footfall.errors import FootfallError, NotFoundError
from footfall.settings import Settings, describe, load_settings

if TYPE_CHECKING:
    import sqlalchemy as sa

    from footfall.meta.audit import Actor
    from footfall.stats.model import Goal

F = TypeVar("F", bound=Callable[..., Any])

DEMO_DOMAIN = "demo.footfall.test"
DEMO_EVENTS = 60_000
DEMO_DAYS = 30
DEMO_EMAIL = "demo@footfall.test"
DEMO_LOGIN_FILE = "demo-login"


def _settings(**flags: Any) -> Settings:
    return load_settings(flags)


def data_dir_option(func: F) -> F:
    """Adds --data-dir to a command."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data directory (default ./footfall-data, or FOOTFALL_DATA_DIR).",
    )(func)


def _actor() -> Actor:
    """The audit log's actor for a command: ``cli:<os user>``, or ``cli`` when none is known."""
    from footfall.meta.audit import Actor

    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor the password database
        return Actor("cli")
    return Actor(f"cli:{user}" if user else "cli")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def handle_errors(func: F) -> F:
    """Turns footfall's errors into one line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        try:
            return func(*args, **kwargs)
        except FootfallError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {_one_line(exc)}", err=True)
            sys.exit(1)
        except BrokenPipeError:
            # The reader went away (`footfall settings | head`): nothing left to say.
            sys.stderr.close()
            sys.exit(0)
        except (click.ClickException, click.exceptions.Exit, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            if debug:
                traceback.print_exc()
            click.echo(
                f"error: unexpected {exc.__class__.__name__}: {_one_line(exc)} (run with "
                "--debug for the traceback)",
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="footfall")
def main(debug: bool) -> None:
    """footfall: self-hosted, privacy-first web analytics compatible with Plausible's APIs."""


# -- serve ---------------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8000).")
@data_dir_option
@click.option(
    "--demo",
    is_flag=True,
    help="Seed a demo site with 30 days of traffic first "
    "(only when the data directory has no sites).",
)
@handle_errors
def serve(host: str | None, port: int | None, data_dir: Path | None, demo: bool) -> None:
    """Run the HTTP service."""
    import uvicorn

    from footfall.web.app import create_app
    from footfall.web.signing import resolve_secret_key

    # --demo is for trying footfall out: it needs no secret key.
    environment = "development" if demo else None
    settings = _settings(host=host, port=port, data_dir=data_dir, environment=environment)
    _configure_logging(settings)
    # Checked before anything is seeded or bound, so a missing key is the only message.
    settings = resolve_secret_key(settings)
    login = _seed_demo(settings) if demo else None
    url = f"http://{settings.host}:{settings.port}"
    logging.getLogger(__name__).info("footfall listening on %s", url)
    if demo:
        click.echo(f"demo site: {DEMO_DOMAIN} (send events to {url}/api/event)", err=True)
        click.echo(f"dashboard: {url}/ {login}", err=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # footfall's logging (footfall.logs) renders uvicorn's lines too, and its request-log
        # middleware writes the access log (with an anonymised client address).
        log_config=None,
        access_log=False,
        http="httptools",
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        timeout_graceful_shutdown=10,
        # footfall resolves client addresses itself, in Plausible's header order
        # (footfall.ingest.clientip); uvicorn's rewrite would only cost time.
        proxy_headers=False,
        server_header=False,
    )


def _configure_logging(settings: Settings) -> None:
    from footfall.logs import configure_logging

    configure_logging(settings.log_level, json=settings.log_format == "json")


def _seed_demo(settings: Settings) -> str:
    """Seeds the demo site (when there is no site) and account; returns how to sign in."""
    from footfall.importer import seed_demo
    from footfall.meta.sites import add_site, list_sites
    from footfall.service import Services

    services = Services.open(settings)
    try:
        login = _demo_login(services.meta, settings.data_dir)
        if list_sites(services.meta):
            return login
        site = add_site(services.meta, domain=DEMO_DOMAIN, timezone="UTC", actor=_actor())
        click.echo(f"seeding demo site {DEMO_DOMAIN} with {DEMO_DAYS} days of traffic…", err=True)
        report = seed_demo(services, site=site, events=DEMO_EVENTS, days=DEMO_DAYS)
        click.echo(f"demo: {report.stored} events in {report.sessions} visits", err=True)
        return login
    finally:
        services.close()


def _demo_login(meta: sa.Engine, data_dir: Path) -> str:
    """Creates the demo admin with a random password once, kept in the data directory."""
    import secrets

    from footfall.meta.users import add_user, has_users

    path = data_dir / DEMO_LOGIN_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    if has_users(meta):
        return "(sign in with an existing account)"
    password = secrets.token_urlsafe(12)
    add_user(meta, email=DEMO_EMAIL, role="admin", password=password, actor=_actor())
    login = f"(sign in as {DEMO_EMAIL} with the password {password})"
    # Readable by the data directory's owner only, like the development secret key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(login + "\n")
    return login


# -- sites ---------------------------------------------------------------------------------


@main.group()
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
    from footfall.service import open_meta

    created = add_site(
        open_meta(_settings(data_dir=data_dir)), domain=domain, timezone=timezone, actor=_actor()
    )
    click.echo(f"added {created.domain} ({created.timezone})")


@site.command("list")
@data_dir_option
@handle_errors
def site_list(data_dir: Path | None) -> None:
    """List sites."""
    from footfall.meta.sites import list_sites
    from footfall.service import open_meta

    for item in list_sites(open_meta(_settings(data_dir=data_dir))):
        click.echo(f"{item.domain}\t{item.timezone}")


@site.command("delete")
@click.argument("domain")
@data_dir_option
@handle_errors
def site_delete(domain: str, data_dir: Path | None) -> None:
    """Delete a site and every event stored for it."""
    from footfall.meta.sites import delete_site, get_site
    from footfall.service import Services

    # Opening the services first replays any journal left by a crash, so no event of the site
    # can come back after the deletion.
    services = Services.open(_settings(data_dir=data_dir))
    try:
        found = get_site(services.meta, domain)
        services.store.delete_site(found.id)
        delete_site(services.meta, found.domain, actor=_actor())
    finally:
        services.close()
    click.echo(f"deleted {found.domain} and its events")


# -- keys ----------------------------------------------------------------------------------


@main.group()
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
    from footfall.service import open_meta

    created, secret = create_key(
        open_meta(_settings(data_dir=data_dir)),
        name=name,
        scopes=scopes or ("stats:read",),
        expires_days=expires_days,
        user_email=user_email,
        actor=_actor(),
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
    from footfall.service import open_meta

    now = dt.datetime.now(dt.UTC)
    for item in list_keys(open_meta(_settings(data_dir=data_dir))):
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
    from footfall.service import open_meta

    revoked = revoke_key(open_meta(_settings(data_dir=data_dir)), name, actor=_actor())
    click.echo(f"revoked {revoked.name}")


# -- users ---------------------------------------------------------------------------------

# footfall.meta.users.ROLES, spelled out so that the command line does not import SQLAlchemy
# before a command runs (tests/test_users.py checks that they agree).
USER_ROLES = ("admin", "viewer")


@main.group()
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
@click.option("--role", type=click.Choice(USER_ROLES), required=True, help="What the user may do.")
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
    from footfall.service import open_meta

    password = _read_password(password_stdin)
    created = add_user(
        open_meta(_settings(data_dir=data_dir)),
        email=email,
        role=role,
        password=password,
        actor=_actor(),
    )
    click.echo(f"added user {created.email} ({created.role})")


@user.command("list")
@data_dir_option
@handle_errors
def user_list(data_dir: Path | None) -> None:
    """List users: email, role, when created, whether disabled, and the sites they read."""
    from footfall.meta.access import granted_domains
    from footfall.meta.users import list_users
    from footfall.service import open_meta

    engine = open_meta(_settings(data_dir=data_dir))
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

    changed = grant_site(_meta(data_dir), email, domain, actor=_actor())
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

    changed = revoke_site(_meta(data_dir), email, domain, actor=_actor())
    verb = "may no longer read" if changed else "could not read"
    click.echo(f"{normalise_email(email)} {verb} {normalise_domain(domain)}")


@user.command("disable")
@click.argument("email")
@data_dir_option
@handle_errors
def user_disable(email: str, data_dir: Path | None) -> None:
    """Disable a user: no sign-in, and the user's API keys stop working."""
    from footfall.meta.users import set_user_disabled

    changed = set_user_disabled(_meta(data_dir), email, True, actor=_actor())
    click.echo(f"disabled {changed.email}")


@user.command("enable")
@click.argument("email")
@data_dir_option
@handle_errors
def user_enable(email: str, data_dir: Path | None) -> None:
    """Enable a disabled user again, and with it the user's API keys."""
    from footfall.meta.users import set_user_disabled

    changed = set_user_disabled(_meta(data_dir), email, False, actor=_actor())
    click.echo(f"enabled {changed.email}")


def _meta(data_dir: Path | None) -> sa.Engine:
    from footfall.service import open_meta

    return open_meta(_settings(data_dir=data_dir))


# -- goals ---------------------------------------------------------------------------------


@main.group()
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
    from footfall.service import open_meta

    if (event_name is None) == (page_path is None):
        raise click.UsageError("give exactly one of --event NAME or --page PATH")
    engine = open_meta(_settings(data_dir=data_dir))
    found = get_site(engine, domain)
    created = add_goal(
        engine,
        found.id,
        event_name=event_name,
        page_path=page_path,
        display_name=display_name,
        actor=_actor(),
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
    from footfall.service import open_meta

    engine = open_meta(_settings(data_dir=data_dir))
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
    from footfall.service import open_meta

    engine = open_meta(_settings(data_dir=data_dir))
    found = get_site(engine, domain)
    try:
        deleted = delete_goal(engine, found.id, goal_id, actor=_actor())
    except NotFoundError as exc:
        raise NotFoundError(
            f"no goal {goal_id} on {found.domain}: 'footfall goal list --site {found.domain}' "
            "shows the ids"
        ) from exc
    click.echo(f"deleted goal {deleted.id} ({deleted.display_name}) from {found.domain}")


# -- audit ---------------------------------------------------------------------------------


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.datetime | None:
    from footfall.meta.audit import parse_since

    if value is None:
        return None
    try:
        return parse_since(value)
    except FootfallError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


# footfall.meta.audit's ACTIONS and MAX_LIMIT, spelled out so that the command line does not
# import SQLAlchemy before a command runs (tests/test_audit.py checks that they agree).
AUDIT_ACTIONS = (
    "site.add",
    "site.delete",
    "key.create",
    "key.revoke",
    "goal.add",
    "goal.delete",
    "user.add",
    "login.success",
    "login.failure",
    "logout",
    "user.grant",
    "user.ungrant",
    "user.disable",
    "user.enable",
    "site.update",
    "link.create",
    "link.delete",
)
AUDIT_MAX_LIMIT = 10_000


@main.command("audit")
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
    from footfall.service import open_meta

    entries = list_entries(
        open_meta(_settings(data_dir=data_dir)),
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


# -- import --------------------------------------------------------------------------------


@main.command("import")
@click.option("--site", "domain", required=True, help="Domain of the site the events belong to.")
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False, path_type=Path))
@data_dir_option
@handle_errors
def import_cmd(domain: str, file: Path, data_dir: Path | None) -> None:
    """Import historical events from an NDJSON FILE ('-' for stdin)."""
    from footfall.importer import import_ndjson
    from footfall.meta.sites import get_site
    from footfall.service import Services

    settings = _settings(data_dir=data_dir)
    services = Services.open(settings)
    temp: Path | None = None
    try:
        found = get_site(services.meta, domain)
        if str(file) == "-":
            with tempfile.NamedTemporaryFile(
                "wb", suffix=".ndjson", dir=settings.data_dir, delete=False
            ) as handle:
                shutil.copyfileobj(sys.stdin.buffer, handle)
                temp = Path(handle.name)
            file = temp
        elif not file.is_file():
            raise FootfallError(f"no such file: {file}")
        report = import_ndjson(services, site=found, path=file, progress=_progress())
    finally:
        services.close()
        if temp is not None:
            temp.unlink(missing_ok=True)
    for line_no, error in report.errors[:20]:
        click.echo(f"line {line_no}: {error}", err=True)
    if report.rejected > 20:
        click.echo(f"… and {report.rejected - 20} more rejected lines", err=True)
    click.echo(
        f"imported {report.stored} events in {report.sessions} visits from {report.lines} lines "
        f"({report.dropped} dropped as bots/spam, {report.rejected} rejected)"
    )
    if report.rejected:
        click.echo(
            f"error: {report.rejected} line(s) rejected; the other lines were imported", err=True
        )
        sys.exit(1)


def _progress() -> Callable[[str], None] | None:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    stages = ["reading", "validating", "enriching", "sessionising", "writing"]
    bar = tqdm(total=len(stages), unit="stage", file=sys.stderr, leave=False)

    def advance(stage: str) -> None:
        bar.set_description(stage)
        if stage != stages[0]:
            bar.update(1)
        if stage == stages[-1]:
            bar.update(1)

    return advance


# -- operations ----------------------------------------------------------------------------


@main.command()
@click.option(
    "--revision",
    default="head",
    show_default=True,
    help="Target schema revision (older ones downgrade).",
)
@data_dir_option
@handle_errors
def migrate(revision: str, data_dir: Path | None) -> None:
    """Apply metadata database migrations (also done at every start)."""
    from footfall.meta import db

    settings = _settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.create_engine(settings.metadata_url)
    current = db.migrate(engine, revision)
    click.echo(f"metadata schema at revision {current or 'base'}")


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print the registry as a Markdown table.")
@data_dir_option
@handle_errors
def settings_cmd(markdown: bool, data_dir: Path | None) -> None:
    """List every setting with its help text and current value (secrets redacted)."""
    current = _settings(data_dir=data_dir)
    if markdown:
        click.echo("| variable | default | description |\n| --- | --- | --- |")
        for setting, _ in describe(Settings()):
            default = "(empty)" if setting.default == "" else str(setting.default)
            click.echo(f"| `{setting.env_var}` | `{default}` | {setting.help} |")
        return
    for setting, shown in describe(current):
        secret = " (secret; also FOOTFALL_*_FILE)" if setting.secret else ""
        click.echo(f"{setting.env_var}={shown}\n    {setting.help}{secret}")


# Commands that talk to a running server live apart, to keep this module small.
from footfall.cli_debug import debug, profile  # noqa: E402

main.add_command(debug)
main.add_command(profile)

# Commands that build or size a data directory, also apart.
from footfall.cli_data import capacity, demo_data  # noqa: E402

main.add_command(demo_data)
main.add_command(capacity)

# Load testing a running server, apart too.
from footfall.cli_loadtest import loadtest  # noqa: E402

main.add_command(loadtest)
