"""``footfall loadtest``: simulated dashboard users against a running server, with budgets.

Exit codes: 0 when the run stayed within its budgets, 1 when a budget broke or the run could
not start (one line on stderr), 2 on a usage error.
"""

from __future__ import annotations

import json

import click

from footfall.devtools.loadtest.config import MAX_DURATION, LoadConfig, LoadTestError, check_url

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
