# Tables of exact API messages read best one per line.
# ruff: noqa: E501
"""Stats API v1 conformance: whole JSON answers for traffic sent through the real ingest path.

The dataset (site example.com, UTC), all on 2026-11-01 unless noted:

    visitor  session  events                                              source
    A        S1       10:00 pv /  10:10 pv /pricing  10:12 Signup{plan=pro} Google
    B        S2       11:00 pv /blog/hello                                  Hacker News
    C        S3       12:00 pv /pricing?utm  12:01 pv /blog/second          newsletter (utm)
                      12:02 Download{file=a.pdf}
    A        S4       15:00 pv /                                            Direct / None
    D        S5       2026-10-31 09:00 pv /                                 Direct / None

So on 2026-11-01: visitors 3, visits 4, pageviews 6, events 8, bounces S2+S4 → 50 %,
durations 720, 0, 120, 0 → 210 s, views per visit 1.5.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from footfall.ingest.geo import GeoLocator
from footfall.meta.goals import add_goal
from footfall.meta.keys import create_key
from footfall.meta.sites import get_site
from footfall.services import open_meta
from tests.stats_harness import (
    FIREFOX,
    IPHONE,
    STATS_BACKENDS,
    StatsHarness,
    events_url_for,
    open_harness,
    prepare_site,
    serve,
)

DAY = dt.datetime(2026, 11, 1)
NOW = dt.datetime(2026, 11, 2, 12, 0)
IP_A, IP_B, IP_C, IP_D = "81.2.69.142", "89.160.20.112", "2.125.160.216", "175.16.199.1"


def at(hour: int, minute: int = 0, day: dt.datetime = DAY) -> dt.datetime:
    return day.replace(hour=hour, minute=minute)


@pytest.fixture(scope="module", params=STATS_BACKENDS)
def shop(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[StatsHarness]:
    """The shop's traffic, stored in each event-store backend in turn."""
    data = Path(tmp_path_factory.mktemp("shop")) / "data"
    settings, site, key = prepare_site(data, events_url=events_url_for(request.param, data))
    meta = open_meta(settings)
    add_goal(meta, site.id, event_name="Signup")
    add_goal(meta, site.id, page_path="/blog/*")
    add_goal(meta, site.id, event_name="Download")
    with serve(settings, key, now=NOW) as h:
        h.send(at(9, day=dt.datetime(2026, 10, 31)), "/", ip=IP_D)
        h.send(at(10), "/", ip=IP_A, referrer="https://www.google.com/")
        h.send(at(10, 10), "/pricing", ip=IP_A)
        h.send(at(10, 12), "/pricing", ip=IP_A, name="Signup", props={"plan": "pro"})
        h.send(at(11), "/blog/hello", ip=IP_B, ua=FIREFOX, referrer="https://news.ycombinator.com/")
        h.send(
            at(12), "/pricing", ip=IP_C, ua=IPHONE, query="?utm_source=newsletter&utm_medium=email"
        )
        h.send(at(12, 1), "/blog/second", ip=IP_C, ua=IPHONE)
        h.send(
            at(12, 2), "/blog/second", ip=IP_C, ua=IPHONE, name="Download", props={"file": "a.pdf"}
        )
        h.send(at(15), "/", ip=IP_A)
        h.flush(NOW)
        yield h


def country(ip: str) -> str:
    return GeoLocator().country(ip)


# -- aggregate -----------------------------------------------------------------------------

ALL_AGGREGATE = "visitors,visits,pageviews,events,views_per_visit,bounce_rate,visit_duration"


def test_aggregate_every_metric(shop: StatsHarness) -> None:
    status, body = shop.get("aggregate", period="day", date="2026-11-01", metrics=ALL_AGGREGATE)
    assert status == 200
    assert body == {
        "results": {
            "visitors": {"value": 3},
            "visits": {"value": 4},
            "pageviews": {"value": 6},
            "events": {"value": 8},
            "views_per_visit": {"value": 1.5},
            "bounce_rate": {"value": 50},
            "visit_duration": {"value": 210},
        }
    }


def test_aggregate_defaults_to_visitors_over_30_days(shop: StatsHarness) -> None:
    # 30d ends yesterday (2026-11-01): A, B, C and D.
    assert shop.get("aggregate") == (200, {"results": {"visitors": {"value": 4}}})


def test_aggregate_compare_previous_period(shop: StatsHarness) -> None:
    status, body = shop.get(
        "aggregate",
        period="day",
        date="2026-11-01",
        metrics="visitors,pageviews,bounce_rate,visit_duration",
        compare="previous_period",
    )
    assert status == 200
    assert body["results"] == {
        "visitors": {"value": 3, "comparison_value": 1, "change": 200},
        "pageviews": {"value": 6, "comparison_value": 1, "change": 500},
        "bounce_rate": {"value": 50, "comparison_value": 100, "change": -50},
        "visit_duration": {"value": 210, "comparison_value": 0, "change": 100},
    }


@pytest.mark.parametrize(
    ("filters", "metrics", "expected"),
    [
        (
            "event:page==/pricing",
            "visitors,pageviews,events",
            {"visitors": 2, "pageviews": 2, "events": 3},
        ),
        ("event:page!=/pricing", "visitors,pageviews", {"visitors": 3, "pageviews": 4}),
        ("event:page==/blog/*", "visitors,pageviews", {"visitors": 2, "pageviews": 2}),
        ("event:page==/|/blog/hello", "visitors,pageviews", {"visitors": 2, "pageviews": 3}),
        ("event:name==Signup", "visitors,events", {"visitors": 1, "events": 1}),
        (
            "event:goal==Signup",
            "visitors,events,conversion_rate",
            {"visitors": 1, "events": 1, "conversion_rate": 33.33},
        ),
        (
            "event:goal==Visit /blog/*",
            "visitors,events,conversion_rate",
            {"visitors": 2, "events": 2, "conversion_rate": 66.67},
        ),
        (
            "event:goal==Signup|Download",
            "visitors,conversion_rate",
            {"visitors": 2, "conversion_rate": 66.67},
        ),
        (
            "visit:source==Google",
            "visitors,visits,pageviews,bounce_rate",
            {"visitors": 1, "visits": 1, "pageviews": 2, "bounce_rate": 0},
        ),
        (
            "visit:source==Direct / None",
            "visitors,visits,bounce_rate,visit_duration",
            {"visitors": 1, "visits": 1, "bounce_rate": 100, "visit_duration": 0},
        ),
        ("visit:source!=Google", "visitors,visits", {"visitors": 3, "visits": 3}),
        (
            "visit:utm_source==newsletter;visit:utm_medium==email",
            "visitors,visit_duration",
            {"visitors": 1, "visit_duration": 120},
        ),
        ("visit:utm_source==(not set)", "visits", {"visits": 3}),
        ("visit:browser==Firefox", "visitors,bounce_rate", {"visitors": 1, "bounce_rate": 100}),
        ("visit:device==Mobile", "visitors,pageviews", {"visitors": 1, "pageviews": 2}),
        ("visit:entry_page==/pricing", "visitors,visits", {"visitors": 1, "visits": 1}),
        ("visit:exit_page==/", "visits", {"visits": 1}),
        ("event:props:plan==pro", "visitors,events", {"visitors": 1, "events": 1}),
        ("event:props:plan==(none)", "events", {"events": 7}),
        ("event:props:plan!=pro", "events", {"events": 7}),
        ("event:props:file==*.pdf", "events", {"events": 1}),
        ("event:page==/pricing;visit:browser==Chrome", "visitors", {"visitors": 1}),
        ("event:page==", "visitors", {"visitors": 3}),  # malformed clause: dropped
        ("visit:country==Germany", "visitors", {"visitors": 3}),  # not two letters: dropped
        ('[["contains", "event:page", ["blog"]]]', "visitors", {"visitors": 2}),
        (
            '[["is", "event:page", ["/PRICING"], {"case_sensitive": false}]]',
            "visitors",
            {"visitors": 2},
        ),
    ],
)
def test_aggregate_filters(
    shop: StatsHarness, filters: str, metrics: str, expected: dict[str, Any]
) -> None:
    status, body = shop.get(
        "aggregate", period="day", date="2026-11-01", metrics=metrics, filters=filters
    )
    assert status == 200, body
    assert body == {"results": {k: {"value": v} for k, v in expected.items()}}


def test_reference_example_two_visitors_one_long_session(tmp_path: Path) -> None:
    with open_harness(tmp_path / "data", now=NOW) as h:
        h.send(at(10), "/", ip=IP_A)
        h.send(at(10, 25), "/about", ip=IP_A)
        h.send(at(11), "/", ip=IP_B)
        h.flush(NOW)
        status, body = h.get(
            "aggregate",
            period="day",
            date="2026-11-01",
            metrics="pageviews,visitors,visits,views_per_visit,bounce_rate,visit_duration",
        )
    assert status == 200
    assert body == {
        "results": {
            "pageviews": {"value": 3},
            "visitors": {"value": 2},
            "visits": {"value": 2},
            "views_per_visit": {"value": 1.5},
            "bounce_rate": {"value": 50},
            "visit_duration": {"value": 750},
        }
    }


# -- timeseries ----------------------------------------------------------------------------


def test_timeseries_hourly_day_fills_every_hour(shop: StatsHarness) -> None:
    status, body = shop.get(
        "timeseries", period="day", date="2026-11-01", metrics="visitors,pageviews,visit_duration"
    )
    assert status == 200
    rows = body["results"]
    assert [r["date"] for r in rows] == [f"2026-11-01 {h:02d}:00:00" for h in range(24)]
    busy = {r["date"][11:13]: r for r in rows if r["visitors"]}
    assert busy == {
        "10": {
            "date": "2026-11-01 10:00:00",
            "visitors": 1,
            "pageviews": 3 - 1,
            "visit_duration": 720,
        },
        "11": {"date": "2026-11-01 11:00:00", "visitors": 1, "pageviews": 1, "visit_duration": 0},
        "12": {"date": "2026-11-01 12:00:00", "visitors": 1, "pageviews": 2, "visit_duration": 120},
        "15": {"date": "2026-11-01 15:00:00", "visitors": 1, "pageviews": 1, "visit_duration": 0},
    }
    empty = rows[0]
    assert empty == {
        "date": "2026-11-01 00:00:00",
        "visitors": 0,
        "pageviews": 0,
        "visit_duration": None,
    }


def test_timeseries_daily_7d(shop: StatsHarness) -> None:
    status, body = shop.get(
        "timeseries", period="7d", date="2026-11-02", metrics="visitors,bounce_rate"
    )
    assert status == 200
    assert body == {
        "results": [
            {"date": "2026-10-26", "visitors": 0, "bounce_rate": 0},
            {"date": "2026-10-27", "visitors": 0, "bounce_rate": 0},
            {"date": "2026-10-28", "visitors": 0, "bounce_rate": 0},
            {"date": "2026-10-29", "visitors": 0, "bounce_rate": 0},
            {"date": "2026-10-30", "visitors": 0, "bounce_rate": 0},
            {"date": "2026-10-31", "visitors": 1, "bounce_rate": 100},
            {"date": "2026-11-01", "visitors": 3, "bounce_rate": 50},
        ]
    }


def test_timeseries_monthly(shop: StatsHarness) -> None:
    status, body = shop.get("timeseries", period="6mo", date="2026-12-05", metrics="visitors")
    assert status == 200
    assert body == {
        "results": [
            {"date": "2026-06-01", "visitors": 0},
            {"date": "2026-07-01", "visitors": 0},
            {"date": "2026-08-01", "visitors": 0},
            {"date": "2026-09-01", "visitors": 0},
            {"date": "2026-10-01", "visitors": 1},
            {"date": "2026-11-01", "visitors": 3},
        ]
    }


def test_timeseries_conversion_rate_is_per_bucket(shop: StatsHarness) -> None:
    status, body = shop.get(
        "timeseries",
        period="custom",
        date="2026-10-31,2026-11-01",
        metrics="visitors,conversion_rate",
        filters="event:goal==Signup",
    )
    assert status == 200
    assert body == {
        "results": [
            {"date": "2026-10-31", "visitors": 0, "conversion_rate": 0.0},
            {"date": "2026-11-01", "visitors": 1, "conversion_rate": 33.33},
        ]
    }


# -- breakdown -----------------------------------------------------------------------------


def test_breakdown_pages_with_entry_page_session_metrics(shop: StatsHarness) -> None:
    status, body = shop.get(
        "breakdown",
        period="day",
        date="2026-11-01",
        property="event:page",
        metrics="visitors,pageviews,bounce_rate",
    )
    assert status == 200
    assert body == {
        "results": [
            {"page": "/pricing", "visitors": 2, "pageviews": 2, "bounce_rate": 0},
            {"page": "/", "visitors": 1, "pageviews": 2, "bounce_rate": 50},
            {"page": "/blog/hello", "visitors": 1, "pageviews": 1, "bounce_rate": 100},
            {"page": "/blog/second", "visitors": 1, "pageviews": 1, "bounce_rate": 0},
        ]
    }


def test_breakdown_sources_blank_label_and_pagination(shop: StatsHarness) -> None:
    args = {"period": "day", "date": "2026-11-01", "property": "visit:source"}
    status, body = shop.get("breakdown", metrics="visitors,visits,pageviews", **args)
    assert status == 200
    assert body["results"] == [
        {"source": "Direct / None", "visitors": 1, "visits": 1, "pageviews": 1},
        {"source": "Google", "visitors": 1, "visits": 1, "pageviews": 2},
        {"source": "Hacker News", "visitors": 1, "visits": 1, "pageviews": 1},
        {"source": "newsletter", "visitors": 1, "visits": 1, "pageviews": 2},
    ]
    assert shop.get("breakdown", limit="2", page="2", **args)[1]["results"] == [
        {"source": "Hacker News", "visitors": 1},
        {"source": "newsletter", "visitors": 1},
    ]
    assert shop.get("breakdown", limit="2", page="3", **args) == (200, {"results": []})


def test_breakdown_utm_leaves_out_blank_rows(shop: StatsHarness) -> None:
    status, body = shop.get(
        "breakdown", period="day", date="2026-11-01", property="visit:utm_source"
    )
    assert (status, body) == (200, {"results": [{"utm_source": "newsletter", "visitors": 1}]})


def test_breakdown_browser_version_has_both_keys(shop: StatsHarness) -> None:
    status, body = shop.get(
        "breakdown", period="day", date="2026-11-01", property="visit:browser_version"
    )
    assert status == 200
    assert body["results"] == [
        {"browser": "Chrome", "browser_version": "120.0", "visitors": 1},
        {"browser": "Firefox", "browser_version": "121.0", "visitors": 1},
        {"browser": "Safari", "browser_version": "17.1", "visitors": 1},
    ]


def test_breakdown_countries(shop: StatsHarness) -> None:
    status, body = shop.get("breakdown", period="day", date="2026-11-01", property="visit:country")
    assert status == 200
    expected: dict[str, int] = {}
    for ip in (IP_A, IP_B, IP_C):
        if country(ip) not in ("", "ZZ"):
            expected[country(ip)] = expected.get(country(ip), 0) + 1
    want = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))
    assert body["results"] == [{"country": c, "visitors": v} for c, v in want]


def test_breakdown_goals_with_conversion_rate(shop: StatsHarness) -> None:
    status, body = shop.get(
        "breakdown",
        period="day",
        date="2026-11-01",
        property="event:goal",
        metrics="visitors,events,conversion_rate",
    )
    assert status == 200
    assert body == {
        "results": [
            {"goal": "Visit /blog/*", "visitors": 2, "events": 2, "conversion_rate": 66.67},
            {"goal": "Signup", "visitors": 1, "events": 1, "conversion_rate": 33.33},
            {"goal": "Download", "visitors": 1, "events": 1, "conversion_rate": 33.33},
        ]
    }


def test_breakdown_custom_prop_with_none(shop: StatsHarness) -> None:
    status, body = shop.get(
        "breakdown",
        period="day",
        date="2026-11-01",
        property="event:props:plan",
        metrics="visitors,events",
    )
    assert status == 200
    assert body == {
        "results": [
            {"plan": "(none)", "visitors": 3, "events": 7},
            {"plan": "pro", "visitors": 1, "events": 1},
        ]
    }


def test_breakdown_conversion_rate_per_group(shop: StatsHarness) -> None:
    status, body = shop.get(
        "breakdown",
        period="day",
        date="2026-11-01",
        property="visit:source",
        metrics="visitors,conversion_rate",
        filters="event:goal==Signup",
    )
    assert status == 200
    assert body == {"results": [{"source": "Google", "visitors": 1, "conversion_rate": 100.0}]}


def test_breakdown_compare_adds_comparison(shop: StatsHarness) -> None:
    status, body = shop.get(
        "breakdown",
        period="day",
        date="2026-11-01",
        property="visit:source",
        compare="previous_period",
        limit="1",
    )
    assert status == 200
    assert body == {
        "results": [
            {
                "source": "Direct / None",
                "visitors": 1,
                "comparison": {"visitors": 1, "change": {"visitors": 0}},
            }
        ]
    }


# -- realtime ------------------------------------------------------------------------------


def test_realtime_counts_last_five_minutes(shop: StatsHarness) -> None:
    assert shop.get("realtime/visitors") == (200, 0)
    shop.clock.set(at(15, 3).replace(tzinfo=dt.UTC))
    try:
        assert shop.get("realtime/visitors") == (200, 1)
    finally:
        shop.clock.set(NOW.replace(tzinfo=dt.UTC))


# -- errors --------------------------------------------------------------------------------

DOCS = "https://plausible.io/docs/stats-api"


@pytest.mark.parametrize(
    ("endpoint", "params", "message"),
    [
        (
            "aggregate",
            {"period": "year"},
            f"Error parsing `period` parameter: invalid period `year`. Please find accepted values in our docs: {DOCS}#time-periods",
        ),
        (
            "aggregate",
            {"date": "2021-13-45"},
            "Error parsing `date` parameter: invalid_date. Please specify a valid date in ISO-8601 format.",
        ),
        (
            "aggregate",
            {"date": "yesterday"},
            "Error parsing `date` parameter: invalid_format. Please specify a valid date in ISO-8601 format.",
        ),
        (
            "aggregate",
            {"period": "custom"},
            f"The `date` parameter is required when using a custom period. See {DOCS}#time-periods",
        ),
        (
            "aggregate",
            {"period": "custom", "date": "2021-01-01"},
            f"Invalid format for `date` parameter. When using a custom period, please include two ISO-8601 formatted dates joined by a comma. See {DOCS}#time-periods",
        ),
        (
            "aggregate",
            {"metrics": "visitors,visitors"},
            "Metrics cannot be queried multiple times.",
        ),
        (
            "aggregate",
            {"metrics": "visitors, pageviews"},
            f"The metric ` pageviews` is not recognized. Find valid metrics from the documentation: {DOCS}#metrics",
        ),
        (
            "aggregate",
            {"metrics": "conversion_rate"},
            "Metric `conversion_rate` can only be queried in a goal breakdown or with a goal filter",
        ),
        (
            "aggregate",
            {"metrics": "views_per_visit", "filters": "event:page==/"},
            "Metric `views_per_visit` cannot be queried with a filter on `event:page`.",
        ),
        (
            "aggregate",
            {"metrics": "bounce_rate", "filters": "event:name==Signup"},
            "Session metric `bounce_rate` cannot be queried when using a filter on `event:name`.",
        ),
        (
            "aggregate",
            {"metrics": "time_on_page"},
            "Metric `time_on_page` can only be queried in a page breakdown or with a page filter.",
        ),
        (
            "aggregate",
            {"filters": "event:goal==Nope"},
            f"The goal `Nope` is not configured for this site. Find out how to configure goals here: {DOCS}#filtering-by-goals",
        ),
        (
            "aggregate",
            {"filters": "event:goal==Visit /nope"},
            f"The pageview goal for the pathname `/nope` is not configured for this site. Find out how to configure goals here: {DOCS}#filtering-by-goals",
        ),
        (
            "aggregate",
            {"filters": "visit:nope==1"},
            f"Invalid filter property 'visit:nope'. Please provide a valid filter property: {DOCS}#properties",
        ),
        (
            "timeseries",
            {"interval": "week"},
            "Error parsing `interval` parameter: invalid interval `week`. Valid intervals are `day`, `month`",
        ),
        (
            "breakdown",
            {},
            "The `property` parameter is required. Please provide at least one property to show a breakdown by.",
        ),
        (
            "breakdown",
            {"property": "visit:nope"},
            f"Invalid property 'visit:nope'. Please provide a valid property for the breakdown endpoint: {DOCS}#properties",
        ),
        (
            "breakdown",
            {"property": "event:hostname"},
            f"Property 'event:hostname' is currently not supported for breakdowns.  Please provide a valid property for the breakdown endpoint: {DOCS}#properties",
        ),
        (
            "breakdown",
            {"property": "event:page", "limit": "1001"},
            "Please provide limit as a number between 1 and 1000.",
        ),
        (
            "breakdown",
            {"property": "event:name", "metrics": "bounce_rate"},
            "Session metric `bounce_rate` cannot be queried for breakdown by `event:name`.",
        ),
        (
            "breakdown",
            {"property": "event:page", "metrics": "views_per_visit"},
            "Metric `views_per_visit` is not supported in breakdown queries.",
        ),
        (
            "breakdown",
            {"property": "visit:source", "metrics": "time_on_page"},
            "Metric `time_on_page` is not supported in breakdown queries (except `event:page` breakdown)",
        ),
    ],
)
def test_errors(shop: StatsHarness, endpoint: str, params: dict[str, str], message: str) -> None:
    assert shop.get(endpoint, **params) == (400, {"error": message})


def test_check_order_period_before_metrics(shop: StatsHarness) -> None:
    status, body = shop.get("aggregate", period="bad", metrics="nope")
    assert status == 400 and body["error"].startswith("Error parsing `period`")


def test_auth_messages(shop: StatsHarness) -> None:
    missing = shop.client.get("/api/v1/stats/aggregate", params={"site_id": "example.com"})
    assert (missing.status_code, missing.json()) == (
        401,
        {"error": "Missing API key. Please use a valid Plausible API key as a Bearer Token."},
    )
    invalid_message = (
        "Invalid API key or site ID. Please make sure you're using a valid API key with access "
        "to the site you've requested."
    )
    bad = shop.client.get(
        "/api/v1/stats/aggregate",
        params={"site_id": "example.com"},
        headers={"authorization": "Bearer nope"},
    )
    assert (bad.status_code, bad.json()) == (401, {"error": invalid_message})
    assert shop.get("aggregate", site_id="unknown.example") == (401, {"error": invalid_message})
    no_site = shop.client.get(
        "/api/v1/stats/aggregate", headers={"authorization": f"Bearer {shop.key}"}
    )
    assert (no_site.status_code, no_site.json()) == (
        400,
        {
            "error": "Missing site ID. Please provide the required site_id parameter with your request."
        },
    )


def test_key_without_stats_scope_is_refused(shop: StatsHarness) -> None:
    settings = shop.client.app.state.footfall.settings  # type: ignore[attr-defined]
    importer = create_key(open_meta(settings), name="importer-only", scopes=("events:import",))[1]
    response = shop.client.get(
        "/api/v1/stats/aggregate",
        params={"site_id": "example.com"},
        headers={"authorization": f"Bearer {importer}"},
    )
    assert response.status_code == 401


def test_site_timezone_is_used(shop: StatsHarness) -> None:
    assert (
        get_site(open_meta(shop.client.app.state.footfall.settings), "example.com").timezone
        == "UTC"
    )  # type: ignore[attr-defined]


# -- every property ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        (
            "visit:channel",
            [("Direct", 1), ("Email", 1), ("Organic Search", 1), ("Organic Social", 1)],
        ),
        (
            "visit:referrer",
            [
                ("Direct / None", 2),
                ("google.com", 1),
                ("news.ycombinator.com", 1),
            ],
        ),
        ("visit:utm_medium", [("email", 1)]),
        ("visit:utm_campaign", []),
        ("visit:device", [("Desktop", 2), ("Mobile", 1)]),
        ("visit:os", [("GNU/Linux", 1), ("Windows", 1), ("iOS", 1)]),
        ("visit:entry_page", [("/", 1), ("/blog/hello", 1), ("/pricing", 1)]),
        ("visit:exit_page", [("/", 1), ("/blog/hello", 1), ("/blog/second", 1), ("/pricing", 1)]),
        ("visit:region", []),
        ("visit:city", []),
        ("event:name", [("pageview", 3), ("Download", 1), ("Signup", 1)]),
    ],
)
def test_breakdown_every_property(
    shop: StatsHarness, prop: str, expected: list[tuple[str, int]]
) -> None:
    status, body = shop.get("breakdown", period="day", date="2026-11-01", property=prop)
    assert status == 200, body
    key = prop.split(":")[1]
    assert [(r[key], r["visitors"]) for r in body["results"]] == expected


def test_breakdown_session_metrics_per_visit_property(shop: StatsHarness) -> None:
    status, body = shop.get(
        "breakdown",
        period="day",
        date="2026-11-01",
        property="visit:device",
        metrics="visitors,visits,pageviews,events,bounce_rate,visit_duration",
    )
    assert status == 200
    assert body["results"] == [
        {
            "device": "Desktop",
            "visitors": 2,
            "visits": 3,
            "pageviews": 4,
            "events": 5,
            "bounce_rate": 67,
            "visit_duration": 240,
        },
        {
            "device": "Mobile",
            "visitors": 1,
            "visits": 1,
            "pageviews": 2,
            "events": 3,
            "bounce_rate": 0,
            "visit_duration": 120,
        },
    ]


def test_breakdown_event_property_with_visit_filter(shop: StatsHarness) -> None:
    status, body = shop.get(
        "breakdown",
        period="day",
        date="2026-11-01",
        property="event:name",
        metrics="visitors,events",
        filters="visit:device==Desktop",
    )
    assert status == 200
    assert body["results"] == [
        {"name": "pageview", "visitors": 2, "events": 4},
        {"name": "Signup", "visitors": 1, "events": 1},
    ]


# -- engagement: time on page and scroll depth ---------------------------------------------


def test_time_on_page_and_scroll_depth(tmp_path: Path) -> None:
    with open_harness(tmp_path / "data", now=NOW) as h:
        h.send(at(10), "/a", ip=IP_A)
        h.send(at(10, 1), "/a", ip=IP_A, name="engagement", engagement_time=30000, scroll_depth=50)
        h.send(at(10, 2), "/b", ip=IP_A)
        h.send(at(10, 3), "/b", ip=IP_A, name="engagement", engagement_time=10000, scroll_depth=80)
        h.send(at(10, 4), "/a", ip=IP_A, name="engagement", engagement_time=20000, scroll_depth=90)
        h.send(at(11), "/a", ip=IP_B)
        h.send(at(11, 1), "/a", ip=IP_B, name="engagement", engagement_time=60000, scroll_depth=20)
        h.flush(NOW)
        day = {"period": "day", "date": "2026-11-01"}
        assert h.get(
            "breakdown", property="event:page", metrics="visitors,time_on_page", **day
        ) == (
            200,
            {
                "results": [
                    {"page": "/a", "visitors": 2, "time_on_page": 55},
                    {"page": "/b", "visitors": 1, "time_on_page": 10},
                ]
            },
        )
        # Only time_on_page asked: rows still ordered by visitors, which is not returned.
        assert h.get("breakdown", property="event:page", metrics="time_on_page", **day)[1] == {
            "results": [{"page": "/a", "time_on_page": 55}, {"page": "/b", "time_on_page": 10}]
        }
        assert h.get("aggregate", metrics="time_on_page,events", filters="event:page==/a", **day)[
            1
        ] == {"results": {"time_on_page": {"value": 55}, "events": {"value": 2}}}
        status, body = h.v2(
            metrics=["scroll_depth", "time_on_page"],
            date_range=["2026-11-01", "2026-11-01"],
            dimensions=["event:page"],
        )
        assert status == 200
        assert body["results"] == [
            {"metrics": [80, 10], "dimensions": ["/b"]},
            {"metrics": [55, 55], "dimensions": ["/a"]},
        ]
        # Engagement is never an event, a visit or a visitor of its own.
        assert h.get("aggregate", metrics="visitors,visits,events", **day)[1] == {
            "results": {"visitors": {"value": 2}, "visits": {"value": 2}, "events": {"value": 3}}
        }
