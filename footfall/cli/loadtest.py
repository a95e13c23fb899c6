"""``footfall loadtest``: simulated dashboard users against a running server, with budgets.

Exit codes: 0 when the run stayed within its budgets, 1 when a budget broke or the run could
not start (one line on stderr), 2 on a usage error.
"""

from __future__ import annotations

import json
from typing import Any

import click

from footfall.devtools.loadtest.config import (
    MAX_DURATION,
    MIXES,
    LoadConfig,
    LoadTestError,
    check_url,
)

DEFAULT_URL = "http://127.0.0.1:8000"


def _url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("loadtest")
@click.option(
    "--url",
    default=DEFAULT_URL,
    show_default=True,
    envvar="FOOTFALL_URL",
    callback=_url,
    help="Base URL of a server you run (or FOOTFALL_URL).",
)
@click.option(
    "--key",
    required=True,
    envvar="FOOTFALL_API_KEY",
    help="An API key with the stats:read scope (or FOOTFALL_API_KEY).",
)
@click.option("--site", "site", required=True, help="Domain of the site to query.")
@click.option(
    "--users",
    type=click.IntRange(0, 1000),
    default=10,
    show_default=True,
    help="Simulated dashboard users, each sending one query at a time.",
)
@click.option(
    "--duration",
    type=click.FloatRange(1, MAX_DURATION),
    default=30.0,
    show_default=True,
    help="Seconds to run; no request starts after it.",
)
@click.option(
    "--think-ms",
    type=click.FloatRange(0, 600_000),
    default=1000.0,
    show_default=True,
    help="Mean think time between a user's queries (exponential; 0 for none).",
)
@click.option(
    "--ramp-up",
    type=click.FloatRange(0, MAX_DURATION),
    default=0.0,
    show_default=True,
    help="Seconds over which the users start, evenly spread.",
)
@click.option(
    "--ingest-rate",
    type=click.FloatRange(0, 10_000),
    default=0.0,
    show_default=True,
    help="Events per second sent to POST /api/event alongside the users (0: none).",
)
@click.option(
    "--max-requests",
    type=click.IntRange(1),
    default=None,
    help="Stop after this many requests in all (default: only the duration bounds the run).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 300),
    default=10.0,
    show_default=True,
    help="Seconds one request may take; a slower one counts as a 'timeout' error.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the users' query choices."
)
@click.option(
    "--metrics-token",
    envvar="FOOTFALL_METRICS_TOKEN",
    default=None,
    help="Bearer token for GET /metrics when this client is not allowed without one "
    "(or FOOTFALL_METRICS_TOKEN).",
)
@click.option(
    "--p95-max",
    type=click.FloatRange(0, min_open=True),
    default=None,
    metavar="MS",
    help="Fail (exit 1) when the p95 latency of all Stats API requests together exceeds MS.",
)
@click.option(
    "--max-errors",
    type=click.IntRange(0),
    default=None,
    metavar="N",
    help="Fail (exit 1) when more than N requests fail (any status but the expected, timeouts "
    "and connection errors).",
)
@click.option(
    "--mix",
    type=click.Choice(MIXES),
    default="panels",
    show_default=True,
    help="panels: single requests of a weighted dashboard mix, one at a time per user; "
    "dashboards: whole dashboards (8 requests at once) for random periods and filters, each "
    "read for 0.2 to 1 s (--think-ms is not used).",
)
@click.option(
    "--find-capacity",
    is_flag=True,
    help="Run once per number of users in --steps (each for --duration) and report how many "
    "users the server serves within --p95-max (default 100 ms) with at most --max-errors "
    "(default 0) failed requests.",
)
@click.option(
    "--steps",
    default="10,25,50,100,200",
    show_default=True,
    help="With --find-capacity: the numbers of users to try, in order.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--quiet", is_flag=True, help="No live progress on stderr.")
def loadtest(
    url: str,
    key: str,
    site: str,
    users: int,
    duration: float,
    think_ms: float,
    ramp_up: float,
    ingest_rate: float,
    max_requests: int | None,
    timeout: float,
    seed: int,
    metrics_token: str | None,
    p95_max: float | None,
    max_errors: int | None,
    mix: str,
    find_capacity: bool,
    steps: str,
    as_json: bool,
    quiet: bool,
) -> None:
    """Load-test a running server with simulated dashboard users.

    Each user loops: it sends a Stats API query drawn from a realistic dashboard mix
    (aggregates with and without comparison, timeseries, breakdowns, filters, realtime, v2
    queries), then waits a think time. With --ingest-rate, events are sent to POST /api/event
    at that rate too. Prints latency percentiles per endpoint, throughput, errors by status,
    and the server's query cache hit rate and memory (from GET /metrics). Load-test only
    servers you run.
    """
    from footfall.devtools.loadtest.report import Budgets, budget_line, format_table
    from footfall.devtools.loadtest.runner import run_loadtest

    if find_capacity:
        _find_capacity(
            LoadConfig(
                url=url,
                key=key,
                site=site,
                duration=duration,
                think_ms=think_ms,
                ingest_rate=ingest_rate,
                timeout=timeout,
                seed=seed,
                ramp_up=ramp_up,
                metrics_token=metrics_token,
                mix=mix,
            ),
            _steps(steps),
            p95_max=100.0 if p95_max is None else p95_max,
            max_errors=0 if max_errors is None else max_errors,
            as_json=as_json,
            quiet=quiet,
        )
        return
    if users == 0 and ingest_rate == 0:
        raise click.UsageError("nothing to send: give --users or --ingest-rate")
    config = LoadConfig(
        url=url,
        key=key,
        site=site,
        users=users,
        duration=duration,
        think_ms=think_ms,
        ingest_rate=ingest_rate,
        max_requests=max_requests,
        timeout=timeout,
        seed=seed,
        ramp_up=ramp_up,
        metrics_token=metrics_token,
        mix=mix,
    )
    budgets = Budgets(p95_max_ms=p95_max, max_errors=max_errors)
    try:
        report = run_loadtest(config, budgets=budgets, quiet=quiet)
    except LoadTestError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(json.dumps(report, indent=2) if as_json else format_table(report))
    broken = [b for b in report["budgets"] if not b["passed"]]
    for budget in broken:
        click.echo(f"budget broken: {budget_line(budget)}", err=True)
    if broken:
        raise SystemExit(1)


def _steps(text: str) -> list[int]:
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(
            "a comma-separated list of user counts", param_hint="--steps"
        ) from None
    if not steps or any(not 1 <= n <= 1000 for n in steps):
        raise click.BadParameter("user counts from 1 to 1000", param_hint="--steps")
    return steps


def _find_capacity(
    base: LoadConfig,
    steps: list[int],
    *,
    p95_max: float,
    max_errors: int,
    as_json: bool,
    quiet: bool,
) -> None:
    """Runs one load per number of users and prints the capacity curve and the capacity."""
    import dataclasses

    from footfall.devtools.loadtest.runner import run_loadtest

    curve: list[dict[str, Any]] = []
    capacity = 0
    for users in steps:
        if not quiet:
            click.echo(f"{users} users for {base.duration:g} s ...", err=True)
        try:
            report = run_loadtest(dataclasses.replace(base, users=users), quiet=True)
        except LoadTestError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(1) from None
        stats = report["stats_api"]
        latency = stats["latency_ms"] or {}
        within = (latency.get("p95") or 0.0) <= p95_max and stats["errors"] <= max_errors
        if within:
            capacity = max(capacity, users)
        curve.append(
            {
                "users": users,
                "requests_per_s": stats["throughput_rps"],
                "p50_ms": latency.get("p50"),
                "p95_ms": latency.get("p95"),
                "errors": stats["errors"],
                "rss_peak_bytes": report["server"]["rss_peak_bytes"],
                "within_budget": within,
            }
        )
    result = {"mix": base.mix, "p95_max_ms": p95_max, "max_errors": max_errors}
    if as_json:
        click.echo(json.dumps({**result, "curve": curve, "capacity_users": capacity}, indent=2))
        return
    click.echo("| users | req/s | p50 ms | p95 ms | errors | within budget |")
    click.echo("|---:|---:|---:|---:|---:|:---:|")
    for row in curve:
        click.echo(
            f"| {row['users']} | {row['requests_per_s']:.1f} | {row['p50_ms']:.1f} | "
            f"{row['p95_ms']:.1f} | {row['errors']} | {'yes' if row['within_budget'] else 'no'} |"
        )
    click.echo(
        f"capacity: {capacity} users within p95 {p95_max:g} ms and at most {max_errors} errors "
        f"({base.mix} mix)"
    )
