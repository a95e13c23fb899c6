"""``footfall demo-data`` and ``footfall capacity``: build and size a data directory.

Thin commands over `footfall.devtools.demo_data` and `footfall.devtools.capacity`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from footfall.cli.common import actor, data_dir_option, handle_errors, settings_from
from footfall.devtools.demo_data import (
    MAX_DAYS,
    MAX_EVENTS,
    DemoDataReport,
    build_into_store,
    parse_end,
    send_to_server,
)
from footfall.errors import FootfallError, NotFoundError, StoreBusyError
from footfall.text.quantities import plural

if TYPE_CHECKING:
    from footfall.devtools.capacity import Figures, Projection
    from footfall.devtools.capacity_probe import StoreInfo
    from footfall.meta.sites import Site
    from footfall.services import Services


def _progress_bar(total: int) -> tuple[Callable[[str, int], None] | None, Callable[[], None]]:
    """A progress bar over the events on a terminal (as `footfall import` draws), else none."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="event", unit_scale=True, file=sys.stderr, leave=False)

    def update(stage: str, done: int) -> None:
        bar.set_description(stage)
        bar.update(done - bar.n)

    return update, bar.close


def _open_site(services: Services, domain: str) -> Site:
    from footfall.meta.sites import add_site, get_site

    try:
        return get_site(services.meta, domain)
    except NotFoundError:
        site = add_site(services.meta, domain=domain, timezone="UTC", actor=actor())
        click.echo(f"note: created the site {site.domain} (time zone UTC)", err=True)
        return site


@click.command("demo-data")
@click.option("--site", "domain", required=True, help="Domain of the site (created if missing).")
@click.option(
    "--events",
    type=click.IntRange(0, MAX_EVENTS),
    required=True,
    help="About how many events to generate (bots and custom events included).",
)
@click.option(
    "--days",
    type=click.IntRange(1, MAX_DAYS),
    default=30,
    show_default=True,
    help="Length of the window, ending at --end.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same events.")
@click.option(
    "--end",
    metavar="ISO-DATETIME",
    default=None,
    help="End of the window (UTC unless it has an offset) [default: now].",
)
@data_dir_option
@click.option(
    "--url",
    default=None,
    help="Send the events to this running server's /api/import instead of the data directory.",
)
@click.option(
    "--key",
    default=None,
    envvar="FOOTFALL_API_KEY",
    help="With --url: an API key with the events:import scope (or FOOTFALL_API_KEY).",
)
@handle_errors
def demo_data(
    domain: str,
    events: int,
    days: int,
    seed: int,
    end: str | None,
    data_dir: Path | None,
    url: str | None,
    key: str | None,
) -> None:
    """Generate realistic synthetic traffic for a site and import it.

    Writes into the data directory through the same path as `footfall import` (the server must
    be stopped), or, with --url and --key, posts it to a running server's import API.
    """
    try:
        window_end = parse_end(end, dt.datetime.now(dt.UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--end'") from None
    if url is not None and key is None:
        raise click.UsageError("--url needs --key (an API key with the events:import scope)")
    if url is not None and data_dir is not None:
        raise click.UsageError("--data-dir and --url exclude each other")
    from footfall.meta.sites import normalise_domain

    # The generated URLs carry the domain as the site is registered (lower case, no www.).
    domain = normalise_domain(domain)
    progress, done = _progress_bar(events)
    try:
        if url is not None and key is not None:
            report = send_to_server(
                url,
                key,
                domain=domain,
                events=events,
                days=days,
                end=window_end,
                seed=seed,
                progress=progress,
            )
        else:
            report = _build_locally(
                data_dir,
                domain,
                events=events,
                days=days,
                end=window_end,
                seed=seed,
                progress=progress,
            )
    finally:
        done()
    for line_no, error in report.errors:
        click.echo(f"line {line_no}: {error}", err=True)
    rate = report.lines / report.seconds if report.seconds > 0 else 0.0
    click.echo(
        f"generated {plural(report.lines, 'event')} for {domain} over {plural(days, 'day')} "
        f"ending {window_end.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}: {report.stored:,} stored "
        f"in {plural(report.sessions, 'visit')} ({report.dropped:,} dropped as bots/spam, "
        f"{report.rejected:,} rejected) in {report.seconds:.1f} s ({rate:,.0f} events/s)"
    )
    if report.rejected:
        click.echo(f"error: {plural(report.rejected, 'generated line')} rejected", err=True)
        sys.exit(1)


def _build_locally(
    data_dir: Path | None,
    domain: str,
    *,
    events: int,
    days: int,
    end: dt.datetime,
    seed: int,
    progress: Callable[[str, int], None] | None,
) -> DemoDataReport:
    from footfall.devtools.demo import add_demo_goals
    from footfall.services import Services

    settings = settings_from(data_dir=data_dir)
    try:
        services = Services.open(settings)
    except StoreBusyError:
        raise FootfallError(
            f"the event store in {settings.data_dir} is in use by a running footfall server: "
            "stop it first, or send the events to it with --url URL --key KEY "
            "(a key with the events:import scope)"
        ) from None
    try:
        site = _open_site(services, domain)
        # Its goals, so that conversions and goal filters have something to show.
        add_demo_goals(services.meta, site.id, actor=actor())
        return build_into_store(
            services, site=site, events=events, days=days, end=end, seed=seed, progress=progress
        )
    finally:
        services.close()


# -- capacity ------------------------------------------------------------------------------


@click.command("capacity")
@click.option(
    "--events-per-day",
    type=click.IntRange(0, 10**12),
    required=True,
    help="Average events per day, all sites together.",
)
@click.option(
    "--retention-days",
    type=click.IntRange(1, 36_500),
    required=True,
    help="How many days of events are kept.",
)
@click.option(
    "--peak-factor",
    type=click.FloatRange(1, 1000),
    default=3.0,
    show_default=True,
    help="The busiest minute's rate over the day's average.",
)
@click.option(
    "--runs",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="Timed runs per query shape (the median counts).",
)
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@handle_errors
def capacity(
    events_per_day: int,
    retention_days: int,
    peak_factor: float,
    runs: int,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Project disk, memory and CPU for a volume of traffic, from this store's measured costs.

    Measures bytes per event, query latency and memory on the data directory's event store
    (read-only; with a server running, the documented figures stand in), and the ingest
    pipeline in-process; says when to move to the ClickHouse backend.
    """
    from footfall.devtools.capacity import advice, project
    from footfall.devtools.capacity_probe import measure

    settings = settings_from(data_dir=data_dir)
    figures, store = measure(settings, runs=runs)
    result = project(
        figures,
        events_per_day=events_per_day,
        retention_days=retention_days,
        peak_factor=peak_factor,
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "inputs": {
                        "events_per_day": events_per_day,
                        "retention_days": retention_days,
                        "peak_factor": peak_factor,
                    },
                    "store": store.as_dict(),
                    "figures": figures.as_dict(),
                    "projection": result.as_dict(),
                    "recommendation": advice(result),
                },
                indent=2,
            )
        )
        return
    click.echo(_capacity_text(figures, store, result))


def _capacity_text(figures: Figures, store: StoreInfo, result: Projection) -> str:
    from footfall.devtools.capacity import advice, figure_rows, projection_rows, render_table
    from footfall.text.quantities import format_bytes

    lines = [
        f"capacity for {result.events_per_day:,} events/day kept {result.retention_days:,} "
        f"days (peak x{result.peak_factor:g})",
        "",
    ]
    found = f"store: {store.path}"
    if store.events:
        found += (
            f": {store.events:,} events, {store.sessions:,} visits, "
            f"{format_bytes(store.store_bytes)}"
        )
    lines.append(found)
    if store.queries_timed:
        lines.append(
            f"queries timed on {store.site}, {store.view} ({store.view_rows:,} events), "
            "uncached, median"
        )
    lines.extend(f"note: {note}" for note in store.notes)
    lines += ["", render_table(["unit cost", "value", "source"], figure_rows(figures)), ""]
    lines += [render_table(["projection", "value"], projection_rows(result)), ""]
    lines.append(advice(result))
    return "\n".join(lines)
