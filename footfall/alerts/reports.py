"""Email reports: a site's last week or month, asked of the one stats engine as Stats API v1 asks.

Like Plausible's weekly and monthly reports: unique visitors, pageviews, bounce rate and visit
duration with their change against the period before, and the top sources and pages. Every
figure is the answer ``/api/v1/stats/aggregate`` and ``/breakdown`` give for
``period=custom&date=FIRST,LAST`` (with ``compare=previous_period``), so a report and the API
always agree.

A week runs Monday to Sunday and a month from its first day to its last, in the site's time
zone; a report is due once its period has ended there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from footfall.stats.engine import StatsEngine
from footfall.stats.model import Goal
from footfall.stats.v1 import V1Request, aggregate_json, breakdown_json

METRICS = (
    ("visitors", "Unique visitors"),
    ("pageviews", "Pageviews"),
    ("bounce_rate", "Bounce rate"),
    ("visit_duration", "Visit duration"),
)
TOP = 5

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("footfall.alerts", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class Period:
    """A report's dates (local to the site), and the key that marks it sent."""

    kind: str
    first: dt.date
    last: dt.date
    key: str

    @property
    def label(self) -> str:
        """The period in words: ``week of 26 Oct 2026`` or ``October 2026``."""
        if self.kind == "monthly":
            return f"{self.first:%B %Y}"
        return f"week of {self.first.day} {self.first:%b %Y}"


def last_complete(kind: str, timezone: str, now: dt.datetime) -> Period:
    """The last week (Monday to Sunday) or month that has ended in `timezone` at `now`."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    if kind == "monthly":
        last = today.replace(day=1) - dt.timedelta(days=1)
        first = last.replace(day=1)
        return Period(kind, first, last, f"{first:%Y-%m}")
    first = today - dt.timedelta(days=today.weekday() + 7)
    last = first + dt.timedelta(days=6)
    year, week, _ = first.isocalendar()
    return Period(kind, first, last, f"{year}-W{week:02d}")


@dataclass(frozen=True, slots=True)
class Report:
    """What a report shows.

    Attributes:
        domain: The site.
        period: Its dates.
        metrics: (key, label, value, change) per metric; change is Plausible's (percent, or
            points for the bounce rate), None when it cannot be told.
        sources: The top sources by visitors.
        pages: The top pages by visitors.
    """

    domain: str
    period: Period
    metrics: tuple[tuple[str, str, Any, Any], ...]
    sources: tuple[tuple[str, int], ...]
    pages: tuple[tuple[str, int], ...]


def _params(period: Period, **extra: str) -> dict[str, str]:
    return {"period": "custom", "date": f"{period.first},{period.last}", **extra}


def build_report(
    stats: StatsEngine,
    *,
    site_id: int,
    domain: str,
    timezone: str,
    goals: tuple[Goal, ...],
    period: Period,
    now: dt.datetime,
) -> Report:
    """Asks the engine every figure of the report (in the calling thread).

    Raises:
        StatsQueryError: The engine refused a question (not expected for these).
        QueryTimeoutError: A question ran past the query time limit.
    """

    def request(params: dict[str, str]) -> V1Request:
        return V1Request(params, site_id=site_id, timezone=timezone, goals=goals, now=now)

    metrics = ",".join(key for key, _ in METRICS)
    query, compare = request(
        _params(period, metrics=metrics, compare="previous_period")
    ).aggregate()
    previous = stats.run(compare) if compare is not None else None
    totals = aggregate_json(query, stats.run(query), previous)["results"]
    rows = tuple(
        (key, label, totals[key]["value"], totals[key].get("change")) for key, label in METRICS
    )
    tops: list[tuple[tuple[str, int], ...]] = []
    for prop in ("visit:source", "event:page"):
        asked = request(_params(period, property=prop, limit=str(TOP), metrics="visitors"))
        top_query, _, _ = asked.breakdown()
        found = breakdown_json(top_query, stats.run(top_query), None, ("visitors",))["results"]
        name = prop.split(":", 1)[1]
        tops.append(tuple((str(row[name]), int(row["visitors"])) for row in found))
    return Report(domain, period, rows, tops[0], tops[1])


def _duration(seconds: Any) -> str:
    total = int(seconds or 0)
    minutes, secs = divmod(total, 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def shown(key: str, value: Any) -> str:
    """A metric's value as the report writes it."""
    if key == "visit_duration":
        return _duration(value)
    if key == "bounce_rate":
        return f"{value}%"
    return f"{int(value or 0):,}"


def shown_change(key: str, change: Any) -> str:
    """A change as the report writes it: ``+12%``, ``-3 pts``, or nothing."""
    if change is None:
        return ""
    unit = " pts" if key == "bounce_rate" else "%"
    return f"{'+' if change > 0 else ''}{change}{unit}"


def render(report: Report, *, public_url: str = "") -> tuple[str, str, str]:
    """The report's email: subject, plain text and HTML."""
    subject = f"{report.period.kind.capitalize()} report for {report.domain}: {report.period.label}"
    link = f"{public_url}/sites/{report.domain}" if public_url else ""
    context = {
        "report": report,
        "subject": subject,
        "link": link,
        "shown": shown,
        "shown_change": shown_change,
    }
    text = _ENV.get_template("report.txt").render(context)
    html = _ENV.get_template("report.html").render(context)
    return subject, text, html
