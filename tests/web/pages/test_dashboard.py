"""The dashboard pages in-process: numbers from the Stats API's engine, state in the URL,
access, shared links and escaping. (The browser tests are in test_dashboard_browser.py.)"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.testclient import TestClient

from footfall.meta.access import grant_site
from footfall.meta.goals import add_goal
from footfall.meta.shared_links import create_link
from footfall.meta.sites import get_site
from footfall.meta.users import add_user
from footfall.services import open_meta
from footfall.web.pages.dashboard_state import DashboardState
from tests.conftest import csrf_of, sign_in
from tests.stats_harness import FIREFOX, IPHONE, StatsHarness, open_harness

NOW = dt.datetime(2026, 11, 20, 12, 0)
PASSWORD = "correct horse battery"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StatsHarness]:
    """example.com with a known week of traffic, an admin and a viewer."""
    data = tmp_path_factory.mktemp("dash") / "data"
    with open_harness(data, now=NOW) as harness:
        day = NOW - dt.timedelta(days=2)
        google = "https://www.google.com/"
        harness.send(day, "/", ip="8.8.8.8", referrer=google)
        harness.send(day + dt.timedelta(minutes=1), "/pricing", ip="8.8.8.8", referrer=google)
        harness.send(day, "/", ip="1.1.1.1", ua=FIREFOX, referrer="https://news.ycombinator.com/")
        harness.send(day, "/blog", ip="9.9.9.9", ua=IPHONE)
        harness.send(day, "/" + XSS, ip="9.9.9.10", ua=IPHONE)
        harness.send(
            day + dt.timedelta(minutes=2),
            "/pricing",
            ip="8.8.8.8",
            name="Signup",
            props={"plan": XSS},
            referrer=google,
        )
        harness.flush(NOW)
        meta = open_meta(harness.client.app.state.footfall.settings)  # type: ignore[attr-defined]
        add_goal(meta, get_site(meta, "example.com").id, event_name="Signup")
        add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
        add_user(meta, email="vera@example.com", role="viewer", password=PASSWORD)
        yield harness


@pytest.fixture
def admin(shop: StatsHarness) -> Iterator[TestClient]:
    shop.client.cookies.clear()
    sign_in(shop.client, "admin@example.com")
    yield shop.client
    shop.client.cookies.clear()


def _numbers(html: str) -> dict[str, str]:
    """Top stat label -> shown value."""
    pairs = re.findall(
        r'top-stat-label">([^<]+)</span>\s*<span class="top-stat-value">([^<]+)<', html
    )
    return {label: unescape(value) for label, value in pairs}


def _panel_rows(html: str, panel: str) -> list[tuple[str, str]]:
    """(label, visitors) of a panel's rows."""
    section = html.split(f'id="panel-{panel}"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(
        r'title="Filter by [^"]*">(.*?)</a>\s*</td>\s*<td class="num">([^<]+)<', section, re.S
    )
    return [(unescape(re.sub(r"<[^>]+>", "", label)).strip(), value) for label, value in rows]


def test_top_stats_and_panels_match_the_stats_api(shop: StatsHarness, admin: TestClient) -> None:
    html = admin.get("/sites/example.com?period=7d").text
    _, body = shop.get("aggregate", period="7d", metrics="visitors,visits,pageviews,bounce_rate")
    totals = body["results"]
    shown = _numbers(html)
    assert shown["Unique visitors"] == str(totals["visitors"]["value"])
    assert shown["Total pageviews"] == str(totals["pageviews"]["value"])
    assert shown["Bounce rate"] == f"{totals['bounce_rate']['value']:.0f}%"
    _, sources = shop.get("breakdown", period="7d", property="visit:source")
    _, channels = shop.get("breakdown", period="7d", property="visit:channel")
    assert _panel_rows(html, "sources") == [  # the default tab
        (r["channel"], str(r["visitors"])) for r in channels["results"]
    ]
    tabbed = admin.get("/sites/example.com?period=7d&sources=sources").text
    assert _panel_rows(tabbed, "sources") == [
        (r["source"], str(r["visitors"])) for r in sources["results"]
    ]
    _, pages = shop.get("breakdown", period="7d", property="event:page")
    assert _panel_rows(html, "pages") == [(r["page"], str(r["visitors"])) for r in pages["results"]]
    goals = _panel_rows(html, "goals")
    assert goals == [("Signup", "1")]
    # Events without the property are no value of it: the panel asks without them.
    _, plans = shop.get(
        "breakdown",
        period="7d",
        property="event:props:plan",
        filters='[["is_not","event:props:plan",["(none)"]]]',
    )
    assert _panel_rows(html, "props") == [(r["plan"], str(r["visitors"])) for r in plans["results"]]
    assert _panel_rows(html, "props") == [(XSS, "1")]


def test_a_row_click_is_a_filter_in_the_url(shop: StatsHarness, admin: TestClient) -> None:
    html = admin.get("/sites/example.com?period=7d&sources=sources").text
    link = re.search(r'href="([^"]+)" title="Filter by Google"', html)
    assert link is not None
    url = unescape(link.group(1))
    assert ("f", "visit:source==Google") in parse_qsl(urlsplit(url).query)
    filtered = admin.get(url).text
    _, body = shop.get(
        "aggregate",
        period="7d",
        metrics="visitors,pageviews",
        filters='[["is","visit:source",["Google"]]]',
    )
    assert _numbers(filtered)["Unique visitors"] == str(body["results"]["visitors"]["value"])
    assert 'class="chip"' in filtered and "Remove filter visit:source is Google" in filtered
    chip = re.search(r'<a href="([^"]+)" aria-label="Remove filter', filtered)
    assert chip is not None
    assert "f=" not in unescape(chip.group(1))


def test_comparison_and_custom_ranges(admin: TestClient) -> None:
    plain = admin.get("/sites/example.com?period=7d").text
    compared = admin.get("/sites/example.com?period=7d&compare=1").text
    assert "ff-line-compare" not in plain and "ff-line-compare" in compared
    custom = admin.get("/sites/example.com?period=custom&from=2026-11-15&to=2026-11-19").text
    assert "Custom range (15 Nov \u2013 19 Nov 2026)" in custom
    broken = admin.get("/sites/example.com?period=custom&date=2026-13-01,2026-13-02")
    assert broken.status_code == 200 and 'role="alert"' in broken.text
    assert "Reset the dashboard" in broken.text


def test_user_text_is_escaped(admin: TestClient) -> None:
    html = admin.get("/sites/example.com?period=7d").text
    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_state_round_trips_through_the_url() -> None:
    state = DashboardState.from_query(
        {"period": "6mo", "compare": "1", "pages": "entry", "prop": "plan"},
        ["visit:source==Google", "event:page==/a==b", "nonsense", "visit:source==Google"],
    )
    assert state.filters == (("visit:source", "Google"), ("event:page", "/a==b"))
    again = DashboardState.from_query(
        dict(parse_qsl(state.query_string()[1:])),
        [v for k, v in parse_qsl(state.query_string()[1:]) if k == "f"],
    )
    assert again == state
    assert DashboardState.from_query({"period": "forever", "pages": "nope"}).query_string() == ""


def test_access_to_dashboards(shop: StatsHarness) -> None:
    client = shop.client
    client.cookies.clear()
    response = client.get("/sites/example.com?period=7d", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fsites%2Fexample.com%3Fperiod%3D7d"
    sign_in(client, "vera@example.com")
    assert client.get("/sites/example.com").status_code == 404
    assert client.get("/sites/unknown.org").status_code == 404
    assert client.get("/sites/example.com/current-visitors").status_code == 404
    assert client.get("/sites/example.com/realtime").status_code == 404
    meta = open_meta(client.app.state.footfall.settings)  # type: ignore[attr-defined]
    grant_site(meta, "vera@example.com", "example.com")
    assert client.get("/sites/example.com").status_code == 200
    assert client.get("/sites/example.com/current-visitors").json() == {"visitors": 0}
    assert client.get("/sites/example.com/realtime").status_code == 200
    sites = client.get("/").text
    assert 'href="/sites/example.com"' in sites and "visitors in the last 24 hours" in sites
    client.cookies.clear()


def test_shared_links(shop: StatsHarness, tmp_path: Path) -> None:
    client = shop.client
    client.cookies.clear()
    meta = open_meta(client.app.state.footfall.settings)  # type: ignore[attr-defined]
    public = create_link(meta, "example.com", name="public")
    page = client.get(f"/share/{public.slug}?period=7d")
    assert page.status_code == 200 and "example.com" in page.text
    assert "Sign out" not in page.text and "/settings" not in page.text
    assert f'href="/share/{public.slug}?period=7d&amp;sources=sources#panel-sources"' in page.text
    assert client.get(f"/share/{public.slug}/current-visitors").json() == {"visitors": 0}
    assert "Current visitors" in client.get(f"/share/{public.slug}/realtime").text
    assert client.get("/share/nope").status_code == 404

    locked = create_link(meta, "example.com", name="board", password=PASSWORD)
    form = client.get(f"/share/{locked.slug}")
    assert form.status_code == 200 and 'type="password"' in form.text
    assert "Unique visitors" not in form.text
    assert client.get(f"/share/{locked.slug}/current-visitors").status_code == 404
    for page in ("realtime", "details/pages", "export"):
        assert client.get(f"/share/{locked.slug}/{page}", follow_redirects=False).status_code == 303
    wrong = client.post(
        f"/share/{locked.slug}", data={"password": "nope", "csrf_token": csrf_of(form.text)}
    )
    assert wrong.status_code == 400 and "The password is not correct." in wrong.text
    right = client.post(
        f"/share/{locked.slug}",
        data={"password": PASSWORD, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert right.status_code == 303
    assert f"Path=/share/{locked.slug}" in right.headers["set-cookie"]
    assert "Unique visitors" in client.get(f"/share/{locked.slug}").text
    client.cookies.clear()


def test_numbers_read_like_a_dashboard() -> None:
    from footfall.web.pages import formatting as f

    assert [f.compact(v) for v in (None, 987, 9876, 12345, 4.56e6, float("nan"))] == [
        "-",
        "987",
        "9,876",
        "12.3k",
        "4.6M",
        "-",
    ]
    assert [f.duration(v) for v in (None, 45, 185, 3725)] == ["-", "45s", "3m 05s", "1h 02m"]
    assert [f.percent(v) for v in (None, 52.4, 3.25, 0)] == ["-", "52%", "3.2%", "0%"]
    assert [f.change(v) for v in (None, 12, -5, 0)] == ["", "+12%", "\u22125%", "0%"]
    assert f.metric_value("visit_duration", 65) == "1m 05s"
    assert f.metric_value("views_per_visit", 1.5) == "1.50"
    assert f.metric_value("bounce_rate", 40) == "40%"
    assert f.bucket("2026-11-03 14:00:00") == "14:00"
    assert f.bucket("2026-11-03") == "Tue 3 Nov"
    assert f.bucket("week 3") == "week 3"
    assert f.month("2026-11-01") == "Nov 2026" and f.month("x") == "x"


def test_the_current_visitors_are_counted_in_words(admin: TestClient, tmp_path: Path) -> None:
    def shown(html: str) -> str:
        found = re.search(
            r'id="realtime-count"[^>]*>([^<]+)</span>\s*<span id="realtime-noun">([^<]+)<', html
        )
        assert found, html
        return f"{found.group(1)} {found.group(2)}"

    # The shop's traffic is two days old.
    assert shown(admin.get("/sites/example.com").text) == "0 current visitors"
    with open_harness(tmp_path / "data", now=NOW) as one:
        one.send(NOW - dt.timedelta(minutes=1), "/", ip="8.8.8.8")
        one.flush(NOW)
        meta = open_meta(one.client.app.state.footfall.settings)  # type: ignore[attr-defined]
        add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
        sign_in(one.client, "admin@example.com")
        assert shown(one.client.get("/sites/example.com").text) == "1 current visitor"
    script = admin.get("/static/dashboard.js").text
    assert '"current visitor" : "current visitors"' in script
