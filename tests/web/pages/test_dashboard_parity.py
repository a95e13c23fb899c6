"""The dashboard's realtime view, graph metric and interval, details view and export, in-process:
each answers with the numbers the Stats API gives for the same question."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from html import unescape
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from footfall.meta.goals import add_goal
from footfall.meta.sites import get_site
from footfall.meta.users import add_user
from footfall.services import open_meta
from footfall.text.quantities import noun
from footfall.web.pages import formatting
from footfall.web.pages.dashboard_data import REVERSED_RANGE
from tests.conftest import sign_in
from tests.stats_harness import FIREFOX, IPHONE, STATS_BACKENDS, StatsHarness, open_harness

NOW = dt.datetime(2026, 11, 20, 12, 0)
PASSWORD = "correct horse battery"
GOOGLE = "https://www.google.com/"
PAGES = 120  # more than one page of details


@pytest.fixture(scope="module", params=STATS_BACKENDS)
def shop(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[StatsHarness]:
    """example.com with two weeks of traffic, many pages, a goal, props, and live visitors.

    Stored in each event-store backend in turn: the dashboard shows the same on every one.
    """
    data = tmp_path_factory.mktemp("parity") / "data"
    with open_harness(data, now=NOW, backend=request.param) as harness:
        for days in range(1, 15):
            day = NOW - dt.timedelta(days=days, hours=3)
            for n in range(days % 4 + 1):
                ip = f"10.0.{days}.{n}"
                harness.send(day, "/", ip=ip, referrer=GOOGLE if n % 2 else None)
                if n % 2:
                    harness.send(day + dt.timedelta(minutes=2), "/pricing", ip=ip)
        day = NOW - dt.timedelta(days=2)
        for n in range(PAGES):
            ua = IPHONE if n % 3 == 0 else FIREFOX
            harness.send(
                day + dt.timedelta(seconds=n), f"/blog/post-{n:03d}", ip=f"10.9.0.{n}", ua=ua
            )
        harness.send(day, "/pricing", ip="10.8.0.1", name="Signup", props={"plan": "pro"})
        harness.send(day, "/pricing", ip="10.8.0.2", name="Signup", props={"plan": "free"})
        harness.send(day, "/", ip="10.8.0.3", name="Signup")
        for minute in (2, 7, 12, 40):
            at = NOW - dt.timedelta(minutes=minute)
            harness.send(at, f"/live/{minute}", ip=f"8.8.8.{minute}", referrer=GOOGLE)
        harness.flush(NOW)
        meta = open_meta(harness.client.app.state.footfall.settings)  # type: ignore[attr-defined]
        add_goal(meta, get_site(meta, "example.com").id, event_name="Signup")
        add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
        yield harness


@pytest.fixture(scope="module")
def admin(shop: StatsHarness) -> TestClient:
    """The in-process client, signed in once (sign-ins are rate-limited per address)."""
    sign_in(shop.client, "admin@example.com")
    return shop.client


def _tooltips(html: str) -> list[tuple[str, str]]:
    """(bucket, value text) of every point of the page's graph."""
    tips = re.findall(r'<g class="ff-point"><title>([^<]*)</title>', html)
    return [tuple(unescape(t).split(": ", 1)) for t in tips]  # type: ignore[misc]


def _value(metric: str, value: Any) -> str:
    shown, _, unit = formatting.chart_formats(metric)
    number = float(value or 0)
    text = shown(number)
    # "1 visitor", "2 visitors": the unit agrees with the number.
    return f"{text} {noun(number, unit.removesuffix('s'))}" if unit else text


@pytest.mark.parametrize(
    "metric",
    ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"],
)
def test_the_graph_shows_the_chosen_metric(
    shop: StatsHarness, admin: TestClient, metric: str
) -> None:
    html = admin.get(f"/sites/example.com?period=7d&metric={metric}").text
    _, body = shop.get("timeseries", period="7d", metrics=metric)
    expected = [(formatting.bucket(r["date"]), _value(metric, r[metric])) for r in body["results"]]
    assert _tooltips(html) == expected
    current = re.search(r'class="top-stat top-stat-current">(.*?)</li>', html, re.S)
    assert current is not None and 'aria-current="true"' in current.group(1)


def test_the_interval_switch_offers_what_plausible_offers(
    shop: StatsHarness, admin: TestClient
) -> None:
    html = admin.get("/sites/example.com?period=30d").text
    nav = re.search(r'<nav class="intervals" aria-label="Interval">(.*?)</nav>', html, re.S)
    assert nav is not None
    assert re.findall(r">(\w+)</a>", nav.group(1)) == ["Days", "Weeks"]
    assert 'interval=week"' in nav.group(1)
    weekly = admin.get("/sites/example.com?period=30d&interval=week&metric=pageviews").text
    status, body = shop.v2(
        metrics=["pageviews"],
        date_range=["2026-10-21", "2026-11-19"],
        dimensions=["time:week"],
        include={"time_labels": True},
    )
    assert status == 200
    values = {r["dimensions"][0]: r["metrics"][0] for r in body["results"]}
    expected = [
        (formatting.bucket(label), _value("pageviews", values.get(label, 0)))
        for label in body["meta"]["time_labels"]
    ]
    assert _tooltips(weekly) == expected
    # Today offers hours only; 7 days hours and days.
    assert '<nav class="intervals"' not in admin.get("/sites/example.com?period=day").text
    hourly = admin.get("/sites/example.com?period=7d&interval=hour").text
    assert len(_tooltips(hourly)) == 7 * 24
    # An interval the period does not offer falls back to its default.
    assert len(_tooltips(admin.get("/sites/example.com?period=7d&interval=month").text)) == 7


def test_goal_filter_top_stats_are_conversions(shop: StatsHarness, admin: TestClient) -> None:
    html = admin.get("/sites/example.com?period=7d&f=event:goal==Signup&metric=events").text
    labels = re.findall(r'top-stat-label">([^<]+)<', html)
    assert labels == [
        "Unique visitors",
        "Unique conversions",
        "Total conversions",
        "Conversion rate",
    ]
    _, body = shop.get(
        "aggregate",
        period="7d",
        metrics="visitors,events,conversion_rate",
        filters='[["is","event:goal",["Signup"]]]',
    )
    values = re.findall(r'top-stat-value">([^<]+)<', html)
    assert values[1:3] == [
        str(body["results"]["visitors"]["value"]),
        str(body["results"]["events"]["value"]),
    ]
    _, everyone = shop.get("aggregate", period="7d", metrics="visitors")
    assert values[0] == str(everyone["results"]["visitors"]["value"])
    assert 'role="alert"' not in html


def test_a_reversed_custom_range_is_explained(admin: TestClient) -> None:
    html = admin.get("/sites/example.com?period=custom&from=2026-11-19&to=2026-11-10").text
    assert REVERSED_RANGE in unescape(html)
    assert "`date` parameter" not in html
    bad = admin.get("/sites/example.com?period=custom&date=2026-13-01,2026-13-02").text
    assert "two valid dates" in bad and "`date`" not in bad


def _realtime_numbers(html: str) -> list[str]:
    return re.findall(r'top-stat-value"[^>]*>([^<]+)<', html)


def test_the_realtime_view_answers_like_the_stats_api(
    shop: StatsHarness, admin: TestClient
) -> None:
    page = admin.get("/sites/example.com/realtime")
    assert page.status_code == 200 and 'id="realtime-body"' in page.text
    _, current = shop.get("realtime/visitors")
    start, end = "2026-11-20T11:31:00Z", "2026-11-20T12:00:00Z"
    _, totals = shop.v2(metrics=["visitors", "pageviews"], date_range=[start, end])
    visitors, pageviews = totals["results"][0]["metrics"]
    assert _realtime_numbers(page.text) == [str(current), str(visitors), str(pageviews)]
    # Current: the last five minutes; the totals: 30 minutes (40 minutes ago is out).
    assert (current, visitors, pageviews) == (1, 3, 3)
    _, pages = shop.v2(
        metrics=["visitors"],
        date_range=[start, end],
        dimensions=["event:page"],
        order_by=[["visitors", "desc"], ["event:page", "asc"]],
    )
    section = page.text.split('id="realtime-pages"', 1)[1].split("</section>", 1)[0]
    shown = re.findall(r'title="Filter by ([^"]+)"', section)
    assert shown == [r["dimensions"][0] for r in pages["results"]]
    # One point a minute; the minutes with a visit hold one visitor each.
    points = _tooltips(page.text)
    assert len(points) == 30 and points[-1][0] == "12:00"
    assert [v for _, v in points].count("1 visitor") == 3
    body = admin.get("/sites/example.com/realtime/body?metric=pageviews")
    assert body.status_code == 200 and "<html" not in body.text
    assert _tooltips(body.text)[-3][1] == "1 pageview"
    sourced = admin.get("/sites/example.com/realtime?f=visit:source==Google").text
    assert _realtime_numbers(sourced)[1] == "3"


def _details_rows(html: str) -> list[str]:
    return [unescape(r) for r in re.findall(r'title="Filter by ([^"]+)"', html)]


def test_details_search_and_paging(shop: StatsHarness, admin: TestClient) -> None:
    first = admin.get("/sites/example.com/details/pages?period=7d").text
    _, api = shop.get("breakdown", period="7d", property="event:page", limit=100, page=1)
    assert _details_rows(first) == [r["page"] for r in api["results"]]
    assert len(_details_rows(first)) == 100 and 'rel="next"' in first and 'rel="prev"' not in first
    for heading in ("Visitors", "Pageviews", "Bounce rate", "Time on page"):
        assert f'class="num">{heading}</th>' in first
    second = admin.get("/sites/example.com/details/pages?period=7d&page=2").text
    _, api2 = shop.get("breakdown", period="7d", property="event:page", limit=100, page=2)
    assert _details_rows(second) == [r["page"] for r in api2["results"]]
    assert 'rel="prev"' in second and 'rel="next"' not in second
    found = admin.get("/sites/example.com/details/pages?period=7d&q=POST-11").text
    _, searched = shop.get(
        "breakdown",
        period="7d",
        property="event:page",
        limit=100,
        filters='[["contains","event:page",["post-11"]]]',
    )
    assert _details_rows(found) == [r["page"] for r in searched["results"]]
    assert len(_details_rows(found)) == 10 and 'value="POST-11"' in found
    countries = admin.get("/sites/example.com/details/locations?period=7d&q=states").text
    assert "Nothing matches this search" in countries or "United States" in countries
    assert admin.get("/sites/example.com/details/nope").status_code == 404


def test_properties_leave_events_without_the_property_out(
    shop: StatsHarness, admin: TestClient
) -> None:
    html = admin.get("/sites/example.com/details/props?period=7d&prop=plan").text
    _, api = shop.get(
        "breakdown",
        period="7d",
        property="event:props:plan",
        metrics="visitors,events",
        filters='[["is_not","event:props:plan",["(none)"]]]',
    )
    assert _details_rows(html) == [r["plan"] for r in api["results"]] == ["free", "pro"]


def _zip(response: Any) -> dict[str, list[list[str]]]:
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return {
        name: list(csv.reader(io.StringIO(archive.read(name).decode())))
        for name in archive.namelist()
    }


def test_the_export_is_plausibles_layout(shop: StatsHarness, admin: TestClient) -> None:
    response = admin.get("/sites/example.com/export?period=7d")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert (
        "footfall-export-example.com-2026-11-13-to-2026-11-19.zip"
        in response.headers["content-disposition"]
    )
    files = _zip(response)
    headers = {name: rows[0] for name, rows in files.items()}
    assert headers == {
        "visitors.csv": [
            "date",
            "visitors",
            "pageviews",
            "visits",
            "views_per_visit",
            "bounce_rate",
            "visit_duration",
        ],
        "pages.csv": ["name", "visitors", "pageviews", "bounce_rate", "time_on_page"],
        "entry_pages.csv": ["name", "unique_entrances", "total_entrances", "visit_duration"],
        "exit_pages.csv": ["name", "unique_exits", "total_exits", "exit_rate"],
        "browsers.csv": ["name", "visitors"],
        "browser_versions.csv": ["name", "version", "visitors"],
        "operating_systems.csv": ["name", "visitors"],
        "operating_system_versions.csv": ["name", "version", "visitors"],
        "devices.csv": ["name", "visitors"],
        "channels.csv": ["name", "visitors", "bounce_rate", "visit_duration"],
        "sources.csv": ["name", "visitors", "bounce_rate", "visit_duration"],
        "referrers.csv": ["name", "visitors", "bounce_rate", "visit_duration"],
        "utm_mediums.csv": ["name", "visitors", "bounce_rate", "visit_duration"],
        "utm_sources.csv": ["name", "visitors", "bounce_rate", "visit_duration"],
        "utm_campaigns.csv": ["name", "visitors", "bounce_rate", "visit_duration"],
        "utm_contents.csv": ["name", "visitors", "bounce_rate", "visit_duration"],
        "utm_terms.csv": ["name", "visitors", "bounce_rate", "visit_duration"],
        "countries.csv": ["name", "visitors"],
        "regions.csv": ["name", "visitors"],
        "cities.csv": ["name", "visitors"],
        "custom_props.csv": ["property", "value", "visitors", "events", "percentage"],
        "conversions.csv": ["name", "unique_conversions", "total_conversions"],
    }
    _, series = shop.get(
        "timeseries",
        period="7d",
        metrics="visitors,pageviews,visits,views_per_visit,bounce_rate,visit_duration",
    )
    graph = [
        [r["date"], *(str(r[m]) for m in headers["visitors.csv"][1:])] for r in series["results"]
    ]
    assert files["visitors.csv"][1:] == [[("" if v == "None" else v) for v in row] for row in graph]
    _, sources = shop.get(
        "breakdown",
        period="7d",
        property="visit:source",
        metrics="visitors,bounce_rate,visit_duration",
        limit=300,
    )
    assert files["sources.csv"][1:] == [
        [r["source"], str(r["visitors"]), str(r["bounce_rate"]), str(r["visit_duration"])]
        for r in sources["results"]
    ]
    assert len(files["pages.csv"]) == 101  # a hundred pages at most, as Plausible
    assert files["conversions.csv"][1:] == [["Signup", "3", "3"]]
    assert sorted(files["custom_props.csv"][1:]) == [
        ["plan", "free", "1", "1", "50.0"],
        ["plan", "pro", "1", "1", "50.0"],
    ]
    browsers = {row[0] for row in files["browser_versions.csv"][1:]}
    assert browsers <= {"Firefox", "Safari", "Chrome"}


def test_a_goal_filtered_export_counts_conversions(admin: TestClient) -> None:
    files = _zip(admin.get("/sites/example.com/export?period=7d&f=event:goal==Signup"))
    assert files["visitors.csv"][0] == [
        "date",
        "unique_conversions",
        "total_conversions",
        "conversion_rate",
    ]
    assert files["sources.csv"][0] == ["name", "conversions", "conversion_rate"]
    assert files["custom_props.csv"][0][-1] == "conversion_rate"
    broken = admin.get("/sites/example.com/export?period=custom&from=2026-11-19&to=2026-11-01")
    assert broken.status_code == 400 and REVERSED_RANGE in unescape(broken.text)


def test_json_filters_round_trip() -> None:
    # The dashboard's filters are the Stats API's JSON filters.
    from footfall.web.pages.dashboard_state import DashboardState

    state = DashboardState.from_query({}, ["visit:source==Google"])
    assert orjson.loads(state.v1_params()["filters"]) == [["is", "visit:source", ["Google"]]]
