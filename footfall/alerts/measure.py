"""Reads the figure a rule is judged by, over the rule's window ending now.

Traffic metrics are asked of the one stats engine, as the Stats API v2 asks them (a date-time
range, optionally filtered by one goal), so an alert counts what the dashboard shows. Ops
metrics come from footfall's own monitoring: the sampled history the ops dashboards draw
(latency, 5xx answers, RSS, queue depth, the leak detector) and, in a serving process, the live
figures (readiness, queue depth, disk).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from footfall.alerts.model import Measurement, Rule, ops_name
from footfall.stats.engine import StatsEngine
from footfall.stats.model import Goal, StatsQueryError
from footfall.stats.v2 import V2Request

MIB = 1024 * 1024
WEEK = dt.timedelta(days=7)


class Sampled(Protocol):
    """One sample of the ops history (`footfall.monitoring.history.Sample` has this shape)."""

    @property
    def at(self) -> float:
        """Unix time of the sample."""
        ...

    @property
    def values(self) -> Mapping[str, float]:
        """The figures by name."""
        ...


@dataclass(frozen=True)
class OpsSource:
    """Where ops figures are read (wired by the composition root).

    Every live figure is optional: the command line has no serving process, so it judges only
    what the history file and the disk tell.

    Attributes:
        samples: The sampled history from a Unix time to another.
        disk_free: Free bytes on the data directory's disk.
        ready: Whether the readiness checks pass now.
        queue_depth: Events waiting for the event store now.
        leak_suspected: The leak detector's verdict now.
    """

    samples: Callable[[float, float], Sequence[Sampled]]
    disk_free: Callable[[], int | None]
    ready: Callable[[], bool] | None = None
    queue_depth: Callable[[], int] | None = None
    leak_suspected: Callable[[], bool] | None = None


@dataclass(frozen=True, slots=True)
class SiteRef:
    """The site of a traffic rule, as the engine needs it."""

    id: int
    domain: str
    timezone: str


def window(now: dt.datetime, minutes: int) -> tuple[dt.datetime, dt.datetime]:
    """The last `minutes` minutes up to `now`, whole seconds, both ends inclusive (aware UTC)."""
    end = now.astimezone(dt.UTC).replace(microsecond=0)
    return end - dt.timedelta(minutes=minutes) + dt.timedelta(seconds=1), end


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def count(
    stats: StatsEngine,
    site: SiteRef,
    goals: tuple[Goal, ...],
    metric: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    goal: str | None = None,
    now: dt.datetime,
) -> float:
    """`metric` of `site` from `start` to `end`, asked as ``POST /api/v2/query`` asks it.

    Raises:
        StatsQueryError: The engine refuses the question (a goal that no longer exists).
    """
    body: dict[str, object] = {
        "site_id": site.domain,
        "metrics": [metric],
        "date_range": [_stamp(start), _stamp(end)],
    }
    if goal is not None:
        body["filters"] = [["is", "event:goal", [goal]]]
    query = V2Request(
        body, site_id=site.id, timezone=site.timezone, goals=goals, now=now, first_data_day=None
    ).query()
    result = stats.run(query)
    value = result.rows[0][1][0] if result.rows else 0
    return float(value or 0)


def traffic(
    stats: StatsEngine,
    rule: Rule,
    site: SiteRef,
    goals: tuple[Goal, ...],
    now: dt.datetime,
) -> Measurement:
    """A traffic rule's metric over its window, with the same window a week earlier."""
    metric = "events" if rule.metric == "ops:ingest_stalled" else rule.metric
    start, end = window(now, rule.window_minutes)
    try:
        value = count(stats, site, goals, metric, start, end, goal=rule.goal, now=now)
        baseline = None
        if rule.comparison in ("spike", "drop", "stalled"):
            baseline = count(
                stats, site, goals, metric, start - WEEK, end - WEEK, goal=rule.goal, now=now
            )
    except StatsQueryError as exc:
        return Measurement(None, error=exc.message)
    return Measurement(value, baseline)


def ops(source: OpsSource, rule: Rule, now: dt.datetime) -> Measurement:
    """An ops rule's figure; no value when the process has nothing to judge by."""
    name = ops_name(rule.metric)
    start, end = window(now, rule.window_minutes)
    samples = list(source.samples(start.timestamp() - 1, end.timestamp()))
    value: float | None
    if name == "disk_free":
        free = source.disk_free()
        value = None if free is None else free / MIB
    elif name == "ready":
        value = None if source.ready is None else float(source.ready())
    elif name == "queue_depth":
        if source.queue_depth is not None:
            value = float(source.queue_depth())
        else:
            value = _latest(samples, "queue_depth")
    elif name == "memory_leak":
        if source.leak_suspected is not None:
            value = float(source.leak_suspected())
        else:
            value = _latest(samples, "leak_suspected")
    elif name == "rss":
        rss = _latest(samples, "rss_bytes")
        value = None if rss is None else rss / MIB
    elif name == "5xx_rate":
        value = _error_rate(samples)
    else:  # p95_latency
        value = _latency(samples, rule.route)
    if value is None:
        return Measurement(None, error="no figure sampled in the window (is footfall serving?)")
    return Measurement(value)


def _latest(samples: Sequence[Sampled], name: str) -> float | None:
    for sample in reversed(samples):
        if name in sample.values:
            return sample.values[name]
    return None


def _error_rate(samples: Sequence[Sampled]) -> float | None:
    if not samples:
        return None
    requests = sum(s.values.get("requests_per_s", 0.0) for s in samples)
    errors = sum(s.values.get("errors_5xx_per_s", 0.0) for s in samples)
    return errors / requests * 100 if requests > 0 else 0.0


def _latency(samples: Sequence[Sampled], route: str | None) -> float | None:
    """The window's mean p95 of `route`, or of the slowest route when None."""
    means: dict[str, list[float]] = {}
    for sample in samples:
        for name, value in sample.values.items():
            if name.startswith("p95_ms:") and not name.endswith(":max"):
                means.setdefault(name.removeprefix("p95_ms:"), []).append(value)
    if route is not None:
        values = means.get(route)
        return sum(values) / len(values) if values else None
    if not means:
        return None
    return max(sum(v) / len(v) for v in means.values())
