"""``footfall debug ...`` and ``footfall profile``: diagnostics that ask a running server."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import click

from footfall.errors import FootfallError

DEFAULT_URL = "http://127.0.0.1:8000"
MEMORY_PATH = "/api/v1/debug/memory"
PROFILE_PATH = "/api/v1/debug/profile"
# The server's own limit on one profile (footfall.web.middleware.profiling.MAX_SECONDS).
MAX_PROFILE_SECONDS = 60
PROFILE_SUFFIXES = {"html": ".html", "text": ".txt", "speedscope": ".speedscope.json"}


class ServerError(FootfallError):
    """The server could not be reached, or refused the request."""


def fetch(url: str, key: str, timeout: float = 60.0) -> bytes:
    """GETs `url` with `key` as a Bearer token and returns the body of its 200 answer.

    Raises:
        ServerError: The URL is not http(s), the server is unreachable, refuses the key or
            answers another status (the message carries its JSON ``error`` when it has one).
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ServerError(f"{url} is not an http:// or https:// URL")
    # The scheme is checked above: no file:// or custom schemes.
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        with contextlib.suppress(ValueError, AttributeError):
            detail = json.loads(detail).get("error", detail)
        if exc.code in (401, 403):
            raise ServerError(f"the server refused the key ({exc.code}): {detail}") from exc
        raise ServerError(f"the server answered {exc.code}: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServerError(f"cannot reach {url}: {reason}") from exc


def fetch_json(url: str, key: str, timeout: float = 60.0) -> dict[str, Any]:
    """GETs `url` with `key` as a Bearer token and decodes the JSON object it answers.

    Raises:
        ServerError: As `fetch`, or the answer is not a JSON object.
    """
    try:
        body = json.loads(fetch(url, key, timeout))
    except ValueError as exc:
        raise ServerError(f"{url} did not answer JSON") from exc
    if not isinstance(body, dict):
        raise ServerError(f"{url} did not answer a JSON object")
    return body


def format_sites(sites: list[dict[str, Any]]) -> str:
    """The growing allocation sites as a fixed-width table, largest growth first."""
    header = ("size_diff", "count_diff", "size", "site")
    rows = [
        (f"{s['size_diff']:+,d}", f"{s['count_diff']:+,d}", f"{s['size']:,d}", str(s["site"]))
        for s in sites
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = [
        "  ".join(
            [*(cell.rjust(width) for cell, width in zip(row[:3], widths, strict=True)), row[3]]
        )
        for row in [header, *rows]
    ]
    return "\n".join(lines)


_url_option = click.option(
    "--url",
    default=DEFAULT_URL,
    show_default=True,
    envvar="FOOTFALL_URL",
    help="Base URL of the running server (or FOOTFALL_URL).",
)
_admin_key_option = click.option(
    "--key",
    required=True,
    envvar="FOOTFALL_API_KEY",
    help="An API key with the admin scope (or FOOTFALL_API_KEY).",
)


@click.group()
def debug() -> None:
    """Diagnostics for a running server."""


@debug.command("memory")
@_url_option
@_admin_key_option
@click.option("--top", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option(
    "--seconds",
    type=click.FloatRange(0),
    default=10.0,
    show_default=True,
    help="Time between the two snapshots.",
)
def memory(url: str, key: str, top: int, seconds: float) -> None:
    """Print the allocation sites that grew most over SECONDS (starts tracemalloc on the server).

    Tracing slows the server down until it restarts: use it while investigating.
    """
    endpoint = f"{url.rstrip('/')}{MEMORY_PATH}?top={top}"
    try:
        fetch_json(endpoint, key)  # a baseline (or the growth since someone's earlier call)
        time.sleep(seconds)
        report = fetch_json(endpoint, key)
    except ServerError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    sites = report.get("sites") or []
    click.echo(f"top {len(sites)} growing allocation sites over {report.get('interval_seconds')} s")
    click.echo(format_sites(sites))


@click.command("profile")
@click.option(
    "--seconds",
    type=click.IntRange(1, MAX_PROFILE_SECONDS),
    default=10,
    show_default=True,
    help="How long to sample the server's event loop.",
)
@_url_option
@_admin_key_option
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File for the report [default: footfall-profile-<timestamp>.html here; "
    "with --format text, standard output].",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(tuple(PROFILE_SUFFIXES)),
    default="html",
    show_default=True,
    help="pyinstrument's HTML page, its text tree, or a speedscope.app document.",
)
def profile(seconds: int, url: str, key: str, output: Path | None, output_format: str) -> None:
    """Profile everything the running server's event loop does for SECONDS.

    Calls GET /api/v1/debug/profile with a key holding the admin scope, writes the report and
    prints its path (with --format text and no --output, prints the report itself). Work the
    server hands to other threads (database queries) shows only as the time the loop waited.
    To profile one request instead, add ?profile=1 to it as an admin.
    """
    query = urllib.parse.urlencode({"seconds": seconds, "format": output_format})
    endpoint = f"{url.rstrip('/')}{PROFILE_PATH}?{query}"
    try:
        # The server answers after `seconds`, then renders the report.
        report = fetch(endpoint, key, timeout=seconds + 60.0)
    except ServerError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    if output is None and output_format == "text":
        click.echo(report.decode(errors="replace"), nl=False)
        return
    if output is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        output = Path(f"footfall-profile-{stamp}{PROFILE_SUFFIXES[output_format]}")
    try:
        output.write_bytes(report)
    except OSError as exc:
        click.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
        raise SystemExit(1) from None
    click.echo(str(output))
