"""``footfall serve``: the HTTP service, and the demo it can seed first."""

from __future__ import annotations

import functools
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import click

from footfall.cli.common import actor, data_dir_option, handle_errors, settings_from
from footfall.settings import Settings
from footfall.text.quantities import plural

if TYPE_CHECKING:
    import sqlalchemy as sa

    from footfall.services import Services

DEMO_DOMAIN = "demo.footfall.test"
# Two months, so that a 30-day view compares with a previous 30 days of traffic.
DEMO_EVENTS = 120_000
DEMO_DAYS = 60
DEMO_EMAIL = "demo@footfall.test"
DEMO_LOGIN_FILE = "demo-login"

log = logging.getLogger(__name__)


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8000).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Server processes sharing the port (default 1, or FOOTFALL_WORKERS); more than one "
    "needs a ClickHouse server, PostgreSQL and Redis.",
)
@data_dir_option
@click.option(
    "--demo",
    is_flag=True,
    help="Seed a demo site with 60 days of traffic and its goals first "
    "(only when the data directory has no sites).",
)
@handle_errors
def serve(
    host: str | None, port: int | None, workers: int | None, data_dir: Path | None, demo: bool
) -> None:
    """Run the HTTP service."""
    from footfall.cluster.config import check_workers
    from footfall.security.signing import resolve_secret_key
    from footfall.services import Services, prepare_data_dir
    from footfall.web.app import create_app
    from footfall.web.server import (
        ConnectionLimits,
        bind_control_socket,
        bind_sockets,
        run_server,
    )

    # --demo is for trying footfall out: it needs no secret key.
    environment = "development" if demo else None
    settings = settings_from(
        host=host, port=port, workers=workers, data_dir=data_dir, environment=environment
    )
    _configure_logging(settings)
    check_workers(settings, settings.workers)
    if settings.workers > 1:
        if demo:
            raise click.UsageError("--demo runs one worker; leave out --workers")
        prepare_data_dir(settings.data_dir)
        _serve_workers(resolve_secret_key(settings))
        return
    # Before the secret key, which development mode keeps in the data directory.
    prepare_data_dir(settings.data_dir)
    # Checked before anything is seeded or bound, so a missing key is the only message.
    settings = resolve_secret_key(settings)
    # Opened and bound before "listening" is said, so that a busy store, a bad database URL or
    # a busy port is one line here rather than a traceback from inside the server.
    services = Services.open(settings)
    try:
        sockets = bind_sockets(settings.host, settings.port)
        # Commands (backup, export, site reset) reach this server there; removed on stopping.
        control = bind_control_socket(settings.control_socket_path)
        if control is not None:
            sockets.append(control)
        try:
            login = _seed_demo(services) if demo else None
            url = f"http://{settings.host}:{settings.port}"
            log.info("footfall listening on %s", url)
            if demo:
                click.echo(f"demo site: {DEMO_DOMAIN} (send events to {url}/api/event)", err=True)
                click.echo(f"dashboard: {url}/ {login}", err=True)
            run_server(
                create_app(settings, services=services),
                sockets,
                limits=ConnectionLimits.from_settings(settings),
                log_level=settings.log_level,
                # Closed once served: uvicorn then re-raises the signal that stopped it.
                on_stopped=functools.partial(_close, services),
            )
        finally:
            for sock in sockets:
                sock.close()
    finally:
        services.close()  # when start-up failed (closing twice does nothing)


def _serve_workers(settings: Settings) -> None:
    """Brings the stores up to date once, binds the port, then runs and watches the workers."""
    from footfall.web.server import bind_sockets
    from footfall.web.workers import WorkerPool

    # Migrations and the replay of journals no worker will own run here, once, before any
    # worker opens the stores; the parent then holds nothing but the listening sockets.
    _prepare_workers(settings)
    sockets = bind_sockets(settings.host, settings.port)
    try:
        log.info(
            "footfall listening on http://%s:%d (%d workers)",
            settings.host,
            settings.port,
            settings.workers,
        )
        WorkerPool(
            count=settings.workers, run=functools.partial(_run_worker, settings, sockets)
        ).serve()
    finally:
        for sock in sockets:
            sock.close()


def _prepare_workers(settings: Settings) -> None:
    """What ``serve --workers N`` does once before forking: migrations, journals no worker owns.

    Opens and closes the services as a single process would, which migrates both stores and
    replays the journal of an earlier single-process run, then does the same for the journal
    of every worker index the pool no longer has (an earlier run with more workers).

    Raises:
        ConfigError: A setting is malformed.
        StoreError: A store cannot be reached or migrated.
    """
    from footfall.services import Services, journal_dir

    Services.open(settings).close()
    base = journal_dir(settings)
    for path in sorted(base.iterdir() if base.is_dir() else []):
        if path.is_dir() and path.name.isdigit() and int(path.name) >= settings.workers:
            Services.open(settings, worker=int(path.name)).close()


def _run_worker(settings: Settings, sockets: list[socket.socket], index: int) -> None:
    """One worker (in its own process): its own services on the shared sockets."""
    from footfall.services import Services
    from footfall.web.app import create_app
    from footfall.web.server import ConnectionLimits, run_server

    services = Services.open(settings, worker=index)
    try:
        run_server(
            create_app(settings, services=services),
            sockets,
            limits=ConnectionLimits.from_settings(settings),
            log_level=settings.log_level,
            on_stopped=functools.partial(_close, services),
        )
    finally:
        services.close()


def _close(services: Services) -> None:
    # The control socket goes first: a command must not reach a server that no longer serves.
    services.settings.control_socket_path.unlink(missing_ok=True)
    services.close()
    log.info("event store flushed and closed")


def _configure_logging(settings: Settings) -> None:
    from footfall.monitoring.logs import configure_logging

    configure_logging(settings.log_level, json=settings.log_format == "json")


def _seed_demo(services: Services) -> str:
    """Seeds the demo site (when there is no site) and account; returns how to sign in."""
    from footfall.devtools.demo import seed_demo
    from footfall.meta.sites import add_site, list_sites

    login = _demo_login(services.meta, services.settings.data_dir)
    if list_sites(services.meta):
        return login
    site = add_site(services.meta, domain=DEMO_DOMAIN, timezone="UTC", actor=actor())
    click.echo(f"seeding demo site {DEMO_DOMAIN} with {DEMO_DAYS} days of traffic…", err=True)
    report = seed_demo(services, site=site, events=DEMO_EVENTS, days=DEMO_DAYS, actor=actor())
    click.echo(
        f"demo: {plural(report.stored, 'event')} in {plural(report.sessions, 'visit')}", err=True
    )
    return login


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
    add_user(meta, email=DEMO_EMAIL, role="admin", password=password, actor=actor())
    login = f"(sign in as {DEMO_EMAIL} with the password {password})"
    # Readable by the data directory's owner only, like the development secret key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(login + "\n")
    return login
