"""The traffic as footfall import NDJSON: a window of days, one line per event.

Fast enough for the benchmarks' millions of events: timestamps are joined from a prefix per
day and a suffix per second of the day, and each line is one f-string of ready-made parts.
Lines are emitted hour by hour (visits ordered by their start), so the output is roughly, not
strictly, time-ordered.
"""

from __future__ import annotations

import datetime
import math
import random
import typing
from collections.abc import Iterator
from functools import cache

from footfall.devtools.traffic.rhythm import hourly_targets
from footfall.devtools.traffic.tables import json_text
from footfall.devtools.traffic.visits import Visits
from footfall.devtools.traffic.vocabulary import Vocabulary

#: Pageviews and custom events per visit assumed before the first hour has measured it.
FIRST_EVENTS_PER_VISIT = 2.4


class _Notation:
    """Import lines: ``{"timestamp":…,"name":…,"url":…,"referrer":…,"user_agent":…,…}``."""

    no_referrer = ""

    def name(self, name: str) -> str:
        return f',"name":"{json_text(name)}","url":"'

    def referrer(self, url: str) -> str:
        return f',"referrer":"{json_text(url)}"'

    def props(self, key: str, value: str) -> str:
        return f',"props":{{"{json_text(key)}":"{json_text(value)}"}}'

    def user_agent(self, user_agent: str) -> str:
        return json_text(user_agent)

    def visitor(self, user_agent: str, ip: str) -> str:
        return f',"user_agent":"{user_agent}","ip":"{ip}"'


@cache
def _hms_parts() -> tuple[str, ...]:
    """Returns ``'HH:MM:SSZ"'`` for every second of a day."""
    return tuple(
        f'{h:02d}:{m:02d}:{s:02d}Z"' for h in range(24) for m in range(60) for s in range(60)
    )


def _batches(
    *, domain: str, events: int, days: int, end: datetime.datetime, seed: int
) -> Iterator[list[str]]:
    """Yields lists of NDJSON lines, one list per hour of the window that has visits."""
    if events < 0:
        raise ValueError("events must be >= 0")
    if days < 1:
        raise ValueError("days must be >= 1")
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must be timezone-aware")
    if events == 0:
        return

    # Synthetic traffic, not secrets: a seeded, reproducible generator is the point.
    rng = random.Random(f"footfall-demo:{seed}")  # noqa: S311  # nosec B311
    visits = Visits(Vocabulary(domain, rng, _Notation()), rng)
    end_ts = math.floor(end.timestamp())
    start_ts = end_ts - days * 86400
    targets, spike = hourly_targets(start=start_ts, days=days, events=events, rng=rng)

    # Day prefixes '{"timestamp":"YYYY-MM-DDT' keyed by epoch day.
    day = {
        d: '{"timestamp":"'
        + datetime.datetime.fromtimestamp(d * 86400, datetime.UTC).strftime("%Y-%m-%dT")
        for d in range(start_ts // 86400, end_ts // 86400 + 2)
    }
    hms = _hms_parts()

    produced = 0
    started = 0
    per_visit = FIRST_EVENTS_PER_VISIT
    for h, target in enumerate(targets):
        need = target - produced
        if need <= 0:
            continue
        # Visits enough for the hour's share of events, the fraction drawn.
        x = need / per_visit
        n = int(x)
        if rng.random() < x - n:
            n += 1
        if n == 0:
            continue
        hits = visits.hour(start_ts + h * 3600, n, spike[h] / (1.0 + spike[h]), end_ts)
        lines = [
            f'{day[t // 86400]}{hms[t % 86400]}{name}{url}"{ref}{vis}{props}}}'
            for t, name, url, ref, vis, props in hits
        ]
        started += n
        produced += len(lines)
        per_visit = max(1.0, produced / started)
        yield lines


def generate_batches(
    *, domain: str, events: int, days: int, end: datetime.datetime, seed: int = 0
) -> Iterator[list[str]]:
    """Generates the same lines as `generate_lines`, one list per hour of the window.

    Each list holds whole visits (a visit's later pageviews stay with the hour it started in),
    so cutting the stream between lists never splits a generated visit. Lists may be empty.

    Args:
        domain: The site's domain.
        events: Approximate number of events to generate.
        days: Length of the window in days.
        end: End of the window (timezone-aware).
        seed: Seed; the same arguments always produce the same lines.

    Yields:
        Lists of NDJSON lines (no trailing newlines).

    Raises:
        ValueError: If ``events`` is negative, ``days`` < 1 or ``end`` is naive.
    """
    return _batches(domain=domain, events=events, days=days, end=end, seed=seed)


def generate_lines(
    *, domain: str, events: int, days: int, end: datetime.datetime, seed: int = 0
) -> Iterator[str]:
    """Generates synthetic traffic for one site as NDJSON lines.

    Args:
        domain: The site's domain, e.g. ``"example.com"``; URLs are ``https://<domain>/...``.
        events: Approximate number of events to generate (pageviews, custom events and bots).
        days: Length of the window in days.
        end: End of the window (timezone-aware); events fall in ``[end - days, end)``.
        seed: Seed; the same arguments always produce the same lines.

    Yields:
        NDJSON lines (no trailing newline), about ``events`` events spread over the ``days``
        days before ``end``, roughly in time order.

    Raises:
        ValueError: If ``events`` is negative, ``days`` < 1 or ``end`` is naive.
    """
    for batch in _batches(domain=domain, events=events, days=days, end=end, seed=seed):
        yield from batch


def write_ndjson(
    out: typing.TextIO,
    *,
    domain: str,
    events: int,
    days: int,
    end: datetime.datetime,
    seed: int = 0,
) -> int:
    """Writes synthetic traffic as NDJSON to ``out``.

    Args:
        out: Text stream to write to.
        domain: The site's domain.
        events: Approximate number of events to generate.
        days: Length of the window in days.
        end: End of the window (timezone-aware).
        seed: Seed; the same arguments always produce the same output.

    Returns:
        The number of events (lines) written.
    """
    written = 0
    for batch in _batches(domain=domain, events=events, days=days, end=end, seed=seed):
        if batch:
            out.write("\n".join(batch))
            out.write("\n")
            written += len(batch)
    return written
