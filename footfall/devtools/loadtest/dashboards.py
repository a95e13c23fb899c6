"""The varied-filter mix: each user opens whole dashboards for periods and filters of their own.

Where the panel mix (`mix.py`) draws single requests from a fixed set, most of which a warm
cache answers, this one models people who really filter: a user opens a dashboard (top
stats, the main graph and six breakdown panels: eight requests at once, as the browser sends
them) for a random period (a day, 7 days, 30 days, a month, a custom range, each ending on a
random recent day) and a random filter (none, a source, a device, a browser and a device, a
page, a page prefix, a goal), reads it for 0.2 to 1 s, and opens the next. The combinations run
to tens of thousands, so few answers repeat within a run.

Standard library only, and seeded through the `random.Random` passed in.
"""

from __future__ import annotations

import datetime as dt
import random

from footfall.devtools.loadtest.mix import AGGREGATE, BREAKDOWN, TIMESERIES, StatsRequest

# The kinds of period and filter a user picks from, equally likely.
PERIOD_KINDS = ("day", "7d", "30d", "month", "custom")
FILTER_KINDS = ("none", "source", "device", "browser+device", "page", "page prefix", "goal")
# Values the demo data holds (and a few it does not: real users filter on those too).
SOURCES = ("Google", "Direct / None", "Bing", "DuckDuckGo", "Hacker News", "GitHub", "Twitter")
DEVICES = ("Desktop", "Mobile", "Tablet")
BROWSERS = ("Chrome", "Firefox", "Safari", "Edge")
PAGES = ("/", "/pricing", "/blog", "/docs", "/about", "/signup", "/download", "/features")
PREFIXES = ("/blog/**", "/docs/**")
GOALS = ("Signup", "Download", "Outbound Link: Click")
# The breakdown panels of a dashboard, with the metrics each shows.
PANELS = (
    ("visit:source", "visitors,bounce_rate,visit_duration"),
    ("event:page", "visitors,pageviews"),
    ("visit:entry_page", "visitors"),
    ("visit:device", "visitors"),
    ("visit:browser", "visitors"),
    ("visit:os", "visitors"),
)
TOP_STATS = ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration")
# With a goal filter the dashboard shows conversions, as Plausible's does (session metrics
# cannot follow a goal filter).
GOAL_STATS = ("visitors", "events", "conversion_rate")
GOAL_PANEL_METRICS = "visitors,conversion_rate"
# How far back a period may end, and how long a custom range may be, in days.
RECENT_DAYS = 21
MAX_CUSTOM_DAYS = 45
READ_SECONDS = (0.2, 1.0)


def _period(rng: random.Random, today: dt.date) -> tuple[dict[str, str], str | None]:
    """The v1 period parameters and the timeseries interval of one dashboard."""
    kind = rng.choice(PERIOD_KINDS)
    end = today - dt.timedelta(days=rng.randrange(RECENT_DAYS))
    if kind == "custom":
        start = end - dt.timedelta(days=rng.randrange(1, MAX_CUSTOM_DAYS))
        return {"period": "custom", "date": f"{start},{end}"}, "date"
    return {"period": kind, "date": end.isoformat()}, None if kind == "day" else "date"


def _filter(rng: random.Random) -> str | None:
    """The v1 ``filters`` parameter of one dashboard (None: unfiltered)."""
    kind = rng.choice(FILTER_KINDS)
    if kind == "source":
        return f"visit:source=={rng.choice(SOURCES)}"
    if kind == "device":
        return f"visit:device=={rng.choice(DEVICES)}"
    if kind == "browser+device":
        return f"visit:browser=={rng.choice(BROWSERS)};visit:device=={rng.choice(DEVICES)}"
    if kind == "page":
        return f"event:page=={rng.choice(PAGES)}"
    if kind == "page prefix":
        return f"event:page=={rng.choice(PREFIXES)}"
    if kind == "goal":
        return f"event:goal=={rng.choice(GOALS)}"
    return None


def dashboard(site: str, rng: random.Random, today: dt.date) -> list[StatsRequest]:
    """The eight requests of one dashboard view, for a period and filter drawn from `rng`."""
    period, interval = _period(rng, today)
    base = {"site_id": site, **period}
    flt = _filter(rng)
    if flt is not None:
        base["filters"] = flt
    goal = flt is not None and flt.startswith("event:goal")
    series = {**base, "metrics": "visitors,events" if goal else "visitors,pageviews"}
    if interval is not None:
        series["interval"] = interval
    top = GOAL_STATS if goal else TOP_STATS
    requests = [
        StatsRequest(
            "aggregate",
            "GET",
            AGGREGATE,
            {**base, "metrics": ",".join(top), "compare": "previous_period"},
        ),
        StatsRequest("timeseries", "GET", TIMESERIES, series),
    ]
    for prop, metrics in PANELS:
        shown = GOAL_PANEL_METRICS if goal else metrics
        params = {**base, "property": prop, "metrics": shown, "limit": "9"}
        requests.append(StatsRequest(f"breakdown {prop}", "GET", BREAKDOWN, params))
    return requests


def read_seconds(rng: random.Random) -> float:
    """How long a user reads a dashboard before opening the next."""
    return rng.uniform(*READ_SECONDS)
