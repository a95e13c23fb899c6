"""What an alert rule may hold: names, channels, metrics and numbers, checked before storing."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from footfall.alerts.model import (
    CHANNEL_KINDS,
    OPS_METRICS,
    SITE_OPS_METRICS,
    TRAFFIC_METRICS,
    Channel,
    is_ops_metric,
    ops_name,
)
from footfall.errors import InvalidInputError

MAX_NAME_CHARS = 100
MAX_RULES = 1000
MAX_CHANNELS = 10
MAX_WINDOW_MINUTES = 7 * 24 * 60
MAX_RENOTIFY_MINUTES = 30 * 24 * 60
# History kept per rule and in all; older entries go when new ones come.
HISTORY_DAYS = 90
HISTORY_LIMIT = 1000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def checked_name(name: str) -> str:
    """A rule's name without surrounding blanks; InvalidInputError when it is not one."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_CHARS or not _NAME.match(name):
        raise InvalidInputError(
            f"an alert name has 1 to {MAX_NAME_CHARS} letters, digits and _ . : - "
            f"(starting with a letter or digit), not {name[:120]!r}"
        )
    return name


def checked_url(url: str) -> str:
    """A webhook or Slack URL: http or https with a host.

    Raises:
        InvalidInputError: Anything else (the message does not repeat the URL, which may be
            secret).
    """
    url = url.strip()
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or len(url) > 2000
        or any(c.isspace() for c in url)
    ):
        raise InvalidInputError("a webhook URL must be an http:// or https:// address with a host")
    return url


def checked_email(address: str) -> str:
    """An email address, trimmed.

    Raises:
        InvalidInputError: It does not look like one.
    """
    address = address.strip()
    if len(address) > 254 or not _EMAIL.match(address):
        raise InvalidInputError(f"{address[:260]!r} is not an email address")
    return address


def checked_channels(channels: Iterable[Channel]) -> tuple[Channel, ...]:
    """The channels, each checked, duplicates dropped.

    Raises:
        InvalidInputError: None given, too many, or a malformed target.
    """
    out: list[Channel] = []
    for channel in channels:
        kind = channel.kind
        if kind not in CHANNEL_KINDS:
            raise InvalidInputError(f"unknown channel {kind!r}: use {', '.join(CHANNEL_KINDS)}")
        if kind in ("webhook", "slack"):
            channel = Channel(kind, checked_url(channel.target))
        elif kind == "email":
            channel = Channel(kind, checked_email(channel.target))
        else:
            channel = Channel("log")
        if channel not in out:
            out.append(channel)
    if not out:
        raise InvalidInputError("an alert needs at least one channel (a webhook, Slack or email)")
    if len(out) > MAX_CHANNELS:
        raise InvalidInputError(f"an alert can have at most {MAX_CHANNELS} channels")
    return tuple(out)


def checked_metric(metric: str, comparison: str, site: str | None, route: str | None) -> None:
    """Refuses a metric, condition, site and route that do not go together (InvalidInputError)."""
    if is_ops_metric(metric):
        name = ops_name(metric)
        if name not in OPS_METRICS:
            raise InvalidInputError(
                f"unknown ops metric {metric!r}: use one of "
                + ", ".join(f"ops:{n}" for n in OPS_METRICS)
            )
        if name in SITE_OPS_METRICS and site is None:
            raise InvalidInputError(f"{metric} watches one site: give the site")
        if name not in SITE_OPS_METRICS and site is not None:
            raise InvalidInputError(f"{metric} watches footfall itself: give no site")
        if (name == "ingest_stalled") != (comparison == "stalled"):
            raise InvalidInputError("ops:ingest_stalled, and only it, uses the stalled condition")
        if comparison in ("spike", "drop"):
            raise InvalidInputError("spike and drop compare traffic: use them on visitors, ...")
    elif metric in TRAFFIC_METRICS:
        if site is None:
            raise InvalidInputError(f"a {metric} alert counts one site's traffic: give the site")
        if comparison == "stalled":
            raise InvalidInputError("the stalled condition is for ops:ingest_stalled")
    else:
        raise InvalidInputError(
            f"unknown metric {metric!r}: use visitors, pageviews, events or ops:<name>"
        )
    if route is not None and metric != "ops:p95_latency":
        raise InvalidInputError("a route is only for ops:p95_latency")


def checked_numbers(
    comparison: str, threshold: float, window: int, for_minutes: int, renotify: int
) -> None:
    """Refuses a threshold or a duration out of range (InvalidInputError)."""
    if not math.isfinite(threshold):
        raise InvalidInputError("the threshold must be a finite number")
    if comparison in ("spike", "drop") and threshold <= 0:
        raise InvalidInputError("a spike or drop is a percentage greater than 0")
    if not 1 <= window <= MAX_WINDOW_MINUTES:
        raise InvalidInputError(f"the window is 1 to {MAX_WINDOW_MINUTES} minutes")
    if not 0 <= for_minutes <= MAX_WINDOW_MINUTES:
        raise InvalidInputError(f"the for duration is 0 to {MAX_WINDOW_MINUTES} minutes")
    if not 1 <= renotify <= MAX_RENOTIFY_MINUTES:
        raise InvalidInputError(f"the re-notify interval is 1 to {MAX_RENOTIFY_MINUTES} minutes")
