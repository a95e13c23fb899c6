"""The same events asked the same Stats API questions give the same JSON on every backend.

One data set (an import of demo traffic, then live visits whose sessions change after they
were first written) goes into a DuckDB store and into a ClickHouse store (chdb, in-process);
every question below is then asked of both, through the real HTTP API, and the answers must
be identical to the byte.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from footfall.clock import FixedClock
from footfall.lifecycle.importing import import_ndjson
from footfall.meta.goals import add_goal
from footfall.services import Services, open_meta
from tests.services import chdb_url
from tests.stats_harness import FIREFOX, IPHONE, StatsHarness, demo_file, prepare_site, serve

NOW = dt.datetime(2026, 11, 2, 12)
LIVE = dt.datetime(2026, 11, 2, 9)
BACKENDS = ("duckdb", "clickhouse")


def _fill(h: StatsHarness) -> None:
    """Live visits whose sessions are written, then changed (exit page, bounce, duration)."""
    minute = dt.timedelta(minutes=1)
    visits = [
        ("203.0.113.1", FIREFOX, ["/", "/pricing", "/signup"]),
        ("203.0.113.2", IPHONE, ["/blog/one", "/blog/two"]),
        ("203.0.113.3", FIREFOX, ["/pricing"]),
        ("203.0.113.4", IPHONE, ["/", "/blog/one", "/", "/docs"]),
    ]
    for step in range(4):
        for n, (ip, ua, pages) in enumerate(visits):
            if step < len(pages):
                at = LIVE + (step * 7 + n) * minute
                h.send(
                    at,
                    pages[step],
                    ip=ip,
                    ua=ua,
                    referrer="https://news.ycombinator.com/" if step == 0 else None,
                    query="?utm_source=hn&utm_campaign=launch" if n == 3 and step == 0 else "",
                )
        # Sessions are flushed after every round, so later rounds change stored sessions.
        h.flush(LIVE + (step * 7 + 6) * minute)
    h.send(
        LIVE + 40 * minute,
        "/signup",
        ip="203.0.113.1",
        ua=FIREFOX,
        name="Signup",
        props={"plan": "pro", "seats": "3"},
    )
    h.send(
        LIVE + 41 * minute,
        "/docs",
        ip="203.0.113.4",
        ua=IPHONE,
        name="engagement",
        engagement_time=12_000,
        scroll_depth=60,
    )
    h.flush(NOW)


@pytest.fixture(scope="module")
def harnesses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, StatsHarness]]:
    tmp = Path(tmp_path_factory.mktemp("equivalence"))
    end = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    path = demo_file(tmp / "events.ndjson", events=6000, days=40, end=end, seed=11)
    with ExitStack() as stack:
        out: dict[str, StatsHarness] = {}
        for backend in BACKENDS:
            url = chdb_url(tmp / "chdb") if backend == "clickhouse" else None
            settings, site, key = prepare_site(
                tmp / backend, timezone="Europe/Berlin", events_url=url
            )
            meta = open_meta(settings)
            add_goal(meta, site_id=site.id, event_name="Signup")
            add_goal(meta, site_id=site.id, page_path="/blog/**")
            add_goal(meta, site_id=site.id, page_path="/pricing")
            services = Services.open(settings, clock=FixedClock(NOW.replace(tzinfo=dt.UTC)))
            import_ndjson(services, site=site, path=path)
            services.close()
            out[backend] = stack.enter_context(serve(settings, key, now=NOW))
            store = out[backend].client.app.state.footfall.store  # type: ignore[attr-defined]
            if backend == "clickhouse":
                # Keep every cancelled session state beside its cancel row: the answers must
                # be exact before ClickHouse merges them away.
                store._command("SYSTEM STOP MERGES sessions")
            _fill(out[backend])
            if backend == "clickhouse":
                cancelled = store.query(
                    "SELECT count() FROM sessions WHERE sign = -1", [], timeout=10, tag="test"
                )
                assert cancelled[0][0] >= 4
        yield out


PERIODS = [
    {"period": "day", "date": "2026-11-02"},
    {"period": "7d", "date": "2026-11-02"},
    {"period": "30d", "date": "2026-11-02"},
    {"period": "month", "date": "2026-10-15"},
    {"period": "custom", "date": "2026-10-20,2026-11-02"},
]
ALL_METRICS = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events"
BREAKDOWN = ALL_METRICS.replace("views_per_visit,", "")
FILTERS = [
    "",
    "visit:source==Hacker News",
    "visit:source!=Direct / None",
    "event:page==/pricing",
    "event:page==/blog/**",
    "event:page!=/",
    "visit:entry_page==/",
    "visit:exit_page==/signup",
    "visit:exit_page==/docs|/",
    "visit:browser==Firefox;visit:os!=Windows",
    "visit:country==DE|US",
    "visit:device==Mobile",
    "event:goal==Signup",
    "event:props:plan==pro",
    "event:props:plan==(none)",
    "event:name==pageview",
    "visit:utm_source==hn",
    "event:hostname==example.com",
]
PROPERTIES = [
    "visit:source",
    "visit:referrer",
    "visit:channel",
    "visit:utm_source",
    "visit:utm_campaign",
    "visit:device",
    "visit:browser",
    "visit:browser_version",
    "visit:os",
    "visit:os_version",
    "visit:country",
    "visit:region",
    "visit:city",
    "visit:entry_page",
    "visit:exit_page",
    "event:page",
    "event:name",
    "event:goal",
    "event:props:plan",
]


def _questions() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for period in PERIODS:
        for filters in FILTERS:
            event_only = any(w in filters for w in ("goal", "props", "event:name"))
            if "event:page" in filters:
                params = {**period, "metrics": ALL_METRICS.replace("views_per_visit,", "")}
                yield "v1", "aggregate", {**params, "filters": filters}
                continue
            params = {
                **period,
                "metrics": "visitors,pageviews,events" if event_only else ALL_METRICS,
            }
            if filters:
                params["filters"] = filters
            yield "v1", "aggregate", params
    for period in PERIODS:
        for interval in ("date", "month"):
            yield (
                "v1",
                "timeseries",
                {
                    **period,
                    "interval": interval,
                    "metrics": "visitors,visits,pageviews,bounce_rate,visit_duration",
                },
            )
    for prop in PROPERTIES:
        for filters in ("", "visit:exit_page==/signup", "event:page==/pricing"):
            metrics = "visitors,pageviews,events" if prop.startswith("event:") else BREAKDOWN
            if filters.startswith("event:page"):
                metrics = metrics.replace("views_per_visit,", "")
            if prop == "event:goal":
                metrics = "visitors,events,conversion_rate"
            params = {"period": "30d", "date": "2026-11-02", "property": prop, "metrics": metrics}
            if filters:
                params["filters"] = filters
            yield "v1", "breakdown", params
    for body in _v2_questions():
        yield "v2", "query", body


def _v2_questions() -> Iterator[dict[str, Any]]:
    range_ = ["2026-10-20", "2026-11-02"]
    yield {
        "metrics": ["visitors", "visits", "pageviews", "time_on_page", "scroll_depth"],
        "date_range": range_,
        "dimensions": ["event:page"],
    }
    yield {
        "metrics": ["visitors", "percentage", "bounce_rate"],
        "date_range": ["2026-10-27", "2026-11-02"],
        "dimensions": ["time:hour"],
    }
    yield {
        "metrics": ["visitors", "visits", "pageviews"],
        "date_range": ["2026-11-02", "2026-11-02"],
        "dimensions": ["time:hour", "visit:exit_page"],
    }
    yield {
        "metrics": ["visitors", "visits", "pageviews"],
        "date_range": range_,
        "dimensions": ["visit:exit_page", "visit:device"],
    }
    yield {
        "metrics": ["visitors", "events", "conversion_rate"],
        "date_range": range_,
        "dimensions": ["event:goal"],
        "filters": [["is", "visit:device", ["Desktop"]]],
    }
    yield {
        "metrics": ["visitors", "visits"],
        "date_range": range_,
        "filters": [["has_done", ["is", "event:page", ["/pricing"]]]],
    }
    yield {
        "metrics": ["visitors", "visits"],
        "date_range": range_,
        "filters": [["has_not_done", ["is", "event:name", ["Signup"]]]],
    }
    yield {
        "metrics": ["visitors"],
        "date_range": range_,
        "filters": [
            [
                "or",
                [
                    ["contains", "event:page", ["blog"]],
                    ["matches", "visit:exit_page", ["^/(docs|signup)$"]],
                ],
            ]
        ],
        "dimensions": ["visit:entry_page"],
    }
    yield {
        "metrics": ["visitors", "pageviews"],
        "date_range": range_,
        "filters": [["contains", "visit:browser", ["fire"], {"case_sensitive": False}]],
        "dimensions": ["time:day"],
    }
    yield {
        "metrics": ["visitors", "visits", "bounce_rate", "visit_duration"],
        "date_range": "all",
        "dimensions": ["visit:entry_page"],
        "filters": [["is", "event:page", ["/", "/pricing"]]],
    }
    yield {
        "metrics": ["visitors", "events"],
        "date_range": range_,
        "dimensions": ["event:props:plan", "event:name"],
    }
    yield {
        "metrics": ["visitors"],
        "date_range": range_,
        "dimensions": ["time:week"],
        "filters": [["is_not", "visit:country", ["DE"]]],
    }


QUESTIONS = list(_questions())


def _ask(h: StatsHarness, api: str, endpoint: str, params: dict[str, Any]) -> tuple[int, Any]:
    if api == "v2":
        return h.v2(**params)
    return h.get(endpoint, **params)


def test_every_question_gets_the_same_answer_on_every_backend(
    harnesses: dict[str, StatsHarness],
) -> None:
    differences = []
    refused = []
    for api, endpoint, params in QUESTIONS:
        answers = {b: _ask(h, api, endpoint, params) for b, h in harnesses.items()}
        first = answers[BACKENDS[0]]
        if first[0] != 200:
            refused.append((endpoint, params, first))
        for backend in BACKENDS[1:]:
            if json.dumps(answers[backend], sort_keys=True) != json.dumps(first, sort_keys=True):
                differences.append((api, endpoint, params, first, answers[backend]))
    assert not differences, json.dumps(differences[:3], indent=1, default=str)
    # The questions are meant to be answered, not refused alike.
    assert not refused, "\n".join(f"{e} {p} {a}" for e, p, a in refused)


def test_realtime_and_first_day_agree(harnesses: dict[str, StatsHarness]) -> None:
    answers = {b: h.get("realtime/visitors") for b, h in harnesses.items()}
    assert len({json.dumps(a) for a in answers.values()}) == 1
    engines = {b: h.client.app.state.footfall.stats for b, h in harnesses.items()}  # type: ignore[attr-defined]
    firsts = {b: e.first_day(1, "Europe/Berlin") for b, e in engines.items()}
    assert len(set(firsts.values())) == 1 and firsts["duckdb"] is not None
    names = {b: e.property_names(1, dt.datetime(2026, 9, 1), NOW) for b, e in engines.items()}
    assert names["duckdb"] == names["clickhouse"]
