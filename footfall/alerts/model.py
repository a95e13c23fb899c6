"""What alerting works on: rules, their state, measurements and notifications.

Plain data with no import beyond the standard library, so that the metadata store, the
evaluator, the channels and the adapters share one vocabulary without depending on each
other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

# Traffic metrics, counted by the stats engine over a rule's window on one site.
TRAFFIC_METRICS = ("visitors", "pageviews", "events")
OPS_PREFIX = "ops:"
# Ops metrics and the unit of their value (the figures come from footfall's own monitoring).
OPS_METRICS: dict[str, str] = {
    "p95_latency": "ms",  # p95 answer time of a route (or the slowest route), window mean
    "5xx_rate": "%",  # share of answers that were 5xx over the window
    "rss": "MiB",  # resident memory of the serving process
    "disk_free": "MiB",  # free space on the data directory's disk
    "queue_depth": "events",  # events accepted but not yet in the event store
    "ingest_stalled": "events",  # events on a site in the window, while it usually has some
    "memory_leak": "",  # 1 while the leak detector suspects a leak, else 0
    "ready": "",  # 1 while the readiness checks pass, else 0
}
# Ops metrics about one site (they take --site like traffic rules).
SITE_OPS_METRICS = frozenset({"ingest_stalled"})

Comparison = Literal["above", "below", "spike", "drop", "stalled"]
COMPARISONS: tuple[Comparison, ...] = ("above", "below", "spike", "drop", "stalled")
Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
ChannelKind = Literal["webhook", "slack", "email", "log"]
CHANNEL_KINDS: tuple[ChannelKind, ...] = ("webhook", "slack", "email", "log")
Status = Literal["ok", "pending", "firing"]
# What a notification says about its rule.
NoticeState = Literal["firing", "resolved"]

# History entries, one per change of a rule's state or a person's action on it.
HISTORY_KINDS = (
    "pending",
    "firing",
    "resolved",
    "cleared",  # pending, then no longer breaching before its `for` duration ran out
    "notified",
    "acknowledged",
    "silenced",
    "unsilenced",
    "test",
    "error",
)


def is_ops_metric(metric: str) -> bool:
    """True for ``ops:<name>`` metrics."""
    return metric.startswith(OPS_PREFIX)


def ops_name(metric: str) -> str:
    """The name after ``ops:``."""
    return metric.removeprefix(OPS_PREFIX)


def unit_of(metric: str) -> str:
    """The unit a rule on `metric` is measured in (traffic metrics count)."""
    if is_ops_metric(metric):
        return OPS_METRICS.get(ops_name(metric), "")
    return metric


@dataclass(frozen=True, slots=True)
class Channel:
    """Where a rule's notifications go: a webhook or Slack URL, an email address, or the log."""

    kind: ChannelKind
    target: str = ""

    def shown(self) -> str:
        """The channel for listings: a URL without its path and query (they may be secret)."""
        if self.kind in ("webhook", "slack"):
            scheme, _, rest = self.target.partition("://")
            host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
            return f"{self.kind} {scheme}://{host}/…"
        if self.kind == "email":
            return f"email {self.target}"
        return "log"


@dataclass(frozen=True, slots=True)
class Rule:
    """An alert rule as stored.

    Attributes:
        id: Its id in the metadata store.
        name: Unique name, used by the command line and in notifications.
        metric: ``visitors``, ``pageviews``, ``events`` or ``ops:<name>``.
        comparison: ``above``/``below`` a threshold; ``spike``/``drop`` by a percentage
            against the same window a week earlier; ``stalled`` (no events in the window on a
            site that had at least `threshold` in the same window a week earlier).
        threshold: The number compared against (a percentage for spike and drop).
        window_minutes: The window the metric is measured over, ending now.
        for_minutes: How long the condition must hold before the rule fires (0: at once).
        renotify_minutes: The least time between two notifications of one firing.
        severity: ``info``, ``warning`` or ``critical``.
        channels: Where notifications go.
        site_id: The site of a traffic rule (and of ``ops:ingest_stalled``); None otherwise.
        site: That site's domain.
        goal: For traffic rules, the display name of one goal whose conversions are counted.
        route: For ``ops:p95_latency``, the route template (None: the slowest route).
        enabled: A disabled rule is not evaluated.
    """

    id: int
    name: str
    metric: str
    comparison: Comparison
    threshold: float
    window_minutes: int
    for_minutes: int = 0
    renotify_minutes: int = 60
    severity: Severity = "warning"
    channels: tuple[Channel, ...] = ()
    site_id: int | None = None
    site: str | None = None
    goal: str | None = None
    route: str | None = None
    enabled: bool = True

    def describe(self) -> str:
        """The condition in words, e.g. ``visitors over 15 min above 100``."""
        what = self.metric
        if self.goal:
            what += f" of goal {self.goal!r}"
        if self.route:
            what += f" of {self.route}"
        window = f"over {self.window_minutes} min"
        if self.comparison in ("spike", "drop"):
            condition = f"{self.comparison} of {_number(self.threshold)}% against a week earlier"
        elif self.comparison == "stalled":
            condition = "none while a week earlier there were some"
        else:
            condition = f"{self.comparison} {_number(self.threshold)}"
        held = f", for {self.for_minutes} min" if self.for_minutes else ""
        return f"{what} {window} {condition}{held}"


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True, slots=True)
class RuleState:
    """Where a rule stands, as kept between evaluations.

    Attributes:
        status: ``ok``, ``pending`` (breaching, not yet for long enough) or ``firing``.
        since: When the current status began (None for a rule never evaluated as breaching).
        value: The value of the last evaluation that had one.
        evaluated_at: When the rule was last evaluated.
        notified_at: When the current firing was last notified (None: not yet).
        acknowledged_by: Who acknowledged the current firing (None: nobody).
        acknowledged_at: When.
        silenced_until: No notification is sent before this time.
        silenced_by: Who set the silence.
    """

    status: Status = "ok"
    since: dt.datetime | None = None
    value: float | None = None
    evaluated_at: dt.datetime | None = None
    notified_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: dt.datetime | None = None
    silenced_until: dt.datetime | None = None
    silenced_by: str | None = None

    def silenced(self, now: dt.datetime) -> bool:
        """True while a silence holds."""
        return self.silenced_until is not None and now < self.silenced_until


@dataclass(frozen=True, slots=True)
class Measurement:
    """A rule's metric measured over its window.

    Attributes:
        value: The metric over the window; None when there is no figure to judge by (an ops
            figure the process has not sampled yet, a goal that was deleted).
        baseline: The same metric over the same window a week earlier, for spike, drop and
            stalled rules.
        error: Why there is no value, when there is none.
    """

    value: float | None
    baseline: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """Something that happened to a rule: a change of state, a notification, an action.

    Attributes:
        rule: The rule's name.
        at: When.
        kind: One of `HISTORY_KINDS`.
        actor: Who: ``evaluator``, or the person (``user:<email>``, ``key:<name>``, ``cli:...``).
        value: The value measured, when there is one.
        threshold: The rule's threshold then.
        detail: A short text (a silence's end, an error).
    """

    rule: str
    at: dt.datetime
    kind: str
    actor: str = "evaluator"
    value: float | None = None
    threshold: float | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification of a rule's state, sent to every channel of the rule.

    `as_json` is the body of a webhook delivery.
    """

    rule: str
    state: NoticeState
    metric: str
    value: float | None
    threshold: float
    at: dt.datetime
    site: str | None = None
    severity: Severity = "warning"
    condition: str = ""
    since: dt.datetime | None = None
    baseline: float | None = None
    unit: str = ""
    test: bool = False
    url: str | None = None

    def as_json(self) -> dict[str, object]:
        """The notice as the webhook JSON body."""
        return {
            "alert": self.rule,
            "state": self.state,
            "site": self.site,
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
            "at": iso(self.at),
            "severity": self.severity,
            "condition": self.condition,
            "since": iso(self.since) if self.since is not None else None,
            "baseline": self.baseline,
            "unit": self.unit,
            "test": self.test,
            "url": self.url,
        }

    def summary(self) -> str:
        """One line for chat and email subjects."""
        where = f" on {self.site}" if self.site else ""
        value = "no value" if self.value is None else f"{_number(round(self.value, 2))}"
        unit = f" {self.unit}" if self.unit and self.unit != self.metric else ""
        prefix = "[test] " if self.test else ""
        word = "FIRING" if self.state == "firing" else "resolved"
        return (
            f"{prefix}{word}: {self.rule}{where}: {self.metric} is {value}{unit} ({self.condition})"
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one evaluation decided: the rule's new state, what to record and what to send."""

    state: RuleState
    history: tuple[HistoryEntry, ...] = ()
    notices: tuple[Notice, ...] = field(default_factory=tuple)


def iso(moment: dt.datetime) -> str:
    """An aware time as ISO 8601 in UTC with a ``Z``, to the second."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
