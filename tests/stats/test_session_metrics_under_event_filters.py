"""Session metrics under `event:page` and `event:hostname` filters, as Plausible computes them.

Expected answers are worked out by hand from Plausible's rules; each test names the file the
rule comes from. Every scenario has its own day on one site (UTC), loaded through
`POST /api/import` so that timestamps and hostnames are exact:

    day       visit  events                                                   the visit
    11-01     P1     10:00 /, 10:25 /blogpost                                 entry /, 1500 s
              P2     10:00 /blogpost                                          bounce
              P3     10:00 /                                                  bounce
    11-02/03  L1     11-02 23:50 /landing, 11-03 00:10 /other                 entry /landing, 1200 s
              L2     09:00 /landing                                           bounce
              L3     10:00 /other, 10:05 /landing                             entry /other, 300 s
    11-04     H1     00:00:01 landing.example.com/,                           5 s, 3 pageviews
                     00:00:02 and 00:00:06 example.com/
    11-05     E1     00:00 two.example.com/?utm_*=alpha (from ref.example.org/from),
                     00:15 one.example.com/
              E2     01:00 one.example.com/start?utm_*=beta (from news.example.net/x),
                     01:05 two.example.com/end
    11-04/05  E3     11-04 23:55 one.example.com/early, 11-05 00:05 two.example.com/late
    11-06     N1     10:00 pageview /pricing, 10:10 Signup on /other          600 s
              N2     11:00 pageview /pricing, 11:02 Signup{plan=pro} /pricing 120 s
              N3     12:00 pageview /pricing                                  bounce

All in November 2026.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from footfall.meta.goals import add_goal
from footfall.meta.keys import create_key
from footfall.meta.users import add_user
from footfall.services import open_meta
from tests.conftest import sign_in
from tests.stats_harness import STATS_BACKENDS, StatsHarness, events_url_for, prepare_site, serve

NOW = dt.datetime(2026, 11, 10, 12, 0)
PASSWORD = "correct horse battery"


def _line(stamp: str, url: str, visitor: str, **extra: Any) -> str:
    body = {"timestamp": stamp, "name": "pageview", "url": url, "visitor_id": visitor, **extra}
    return json.dumps(body)


def _utm(value: str) -> str:
    keys = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
    return "?" + "&".join(f"{key}={value}" for key in keys)


LINES = [
    _line("2026-11-01T10:00:00Z", "https://example.com/", "p1"),
    _line("2026-11-01T10:25:00Z", "https://example.com/blogpost", "p1"),
    _line("2026-11-01T10:00:00Z", "https://example.com/blogpost", "p2"),
    _line("2026-11-01T10:00:00Z", "https://example.com/", "p3"),
    _line("2026-11-02T23:50:00Z", "https://example.com/landing", "l1"),
    _line("2026-11-03T00:10:00Z", "https://example.com/other", "l1"),
    _line("2026-11-03T09:00:00Z", "https://example.com/landing", "l2"),
    _line("2026-11-03T10:00:00Z", "https://example.com/other", "l3"),
    _line("2026-11-03T10:05:00Z", "https://example.com/landing", "l3"),
    _line("2026-11-04T00:00:01Z", "https://landing.example.com/", "h1"),
    _line("2026-11-04T00:00:02Z", "https://example.com/", "h1"),
    _line("2026-11-04T00:00:06Z", "https://example.com/", "h1"),
    _line(
        "2026-11-05T00:00:00Z",
        "https://two.example.com/" + _utm("alpha"),
        "e1",
        referrer="https://ref.example.org/from",
    ),
    _line("2026-11-05T00:15:00Z", "https://one.example.com/", "e1"),
    _line(
        "2026-11-05T01:00:00Z",
        "https://one.example.com/start" + _utm("beta"),
        "e2",
        referrer="https://news.example.net/x",
    ),
    _line("2026-11-05T01:05:00Z", "https://two.example.com/end", "e2"),
    _line("2026-11-04T23:55:00Z", "https://one.example.com/early", "e3"),
    _line("2026-11-05T00:05:00Z", "https://two.example.com/late", "e3"),
    _line("2026-11-06T10:00:00Z", "https://example.com/pricing", "n1"),
    _line("2026-11-06T10:10:00Z", "https://example.com/other", "n1", name="Signup"),
    _line("2026-11-06T11:00:00Z", "https://example.com/pricing", "n2"),
    _line(
        "2026-11-06T11:02:00Z",
        "https://example.com/pricing",
        "n2",
        name="Signup",
        props={"plan": "pro"},
    ),
    _line("2026-11-06T12:00:00Z", "https://example.com/pricing", "n3"),
]


@pytest.fixture(scope="module", params=STATS_BACKENDS)
def site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[StatsHarness]:
    """The imported lines, stored in each event-store backend in turn."""
    data = tmp_path_factory.mktemp("filters") / "data"
    settings, registered, key = prepare_site(data, events_url=events_url_for(request.param, data))
    meta = open_meta(settings)
    _, importer = create_key(meta, name="importer", scopes=("events:import",))
    add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
    add_goal(meta, registered.id, event_name="Signup")
    with serve(settings, key, now=NOW) as h:
        response = h.client.post(
            "/api/import?site_id=example.com",
            content="\n".join(LINES) + "\n",
            headers={"authorization": f"Bearer {importer}"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["stored"] == len(LINES)
        yield h


@pytest.fixture
def admin(site: StatsHarness) -> Iterator[TestClient]:
    site.client.cookies.clear()
    sign_in(site.client, "admin@example.com", PASSWORD)
    yield site.client
    site.client.cookies.clear()


def _day(date: str) -> dict[str, str]:
    return {"period": "day", "date": date}


def _aggregate_both(
    h: StatsHarness, date: str, dimension: str, value: str, expected: dict[str, Any]
) -> None:
    """Asks v1 (`dimension==value`) and v2 (`is`) for the metrics of `expected` on `date`."""
    metrics = list(expected)
    status, body = h.get(
        "aggregate", **_day(date), metrics=",".join(metrics), filters=f"{dimension}=={value}"
    )
    assert status == 200, body
    assert {name: v["value"] for name, v in body["results"].items()} == expected
    rows = _v2(h, date, metrics=metrics, filters=[["is", dimension, [value]]])
    assert rows == [{"metrics": list(expected.values()), "dimensions": []}]


def _v2(h: StatsHarness, date: str, **query: Any) -> list[dict[str, Any]]:
    status, body = h.v2(date_range=[date, date], **query)
    assert status == 200, body
    rows: list[dict[str, Any]] = body["results"]
    return rows


# -- event:page ------------------------------------------------------------------------------


def test_page_filter_averages_duration_over_every_visit_that_viewed_the_page(
    site: StatsHarness,
) -> None:
    """`visit_duration` covers every session with a matching pageview, not only entries.

    Plausible's `lib/plausible/stats/sql/expression.ex`: `session_metric(:visit_duration, _)`
    has no page condition; the sessions are those joined to the matching events
    (`lib/plausible/stats/sql/query_builder.ex`, `join_events_if_needed`). P1 viewed /blogpost
    after entering on / (1500 s), P2 bounced on it (0 s): (1500 + 0) / 2 = 750. Bounce rate
    only counts visits entering on the page (`session_metric(:bounce_rate, _)`): P2 → 100.
    """
    expected = {
        "visitors": 2,
        "visits": 2,
        "pageviews": 2,
        "bounce_rate": 100,
        "visit_duration": 750,
    }
    _aggregate_both(site, "2026-11-01", "event:page", "/blogpost", expected)


def test_page_filter_counts_only_visits_that_viewed_the_page_in_range(site: StatsHarness) -> None:
    """A visit that entered on the page the day before, without viewing it today, is left out.

    Plausible's `lib/plausible/stats/sql/query_builder.ex` (`join_events_if_needed`) keeps the
    sessions having an event in range that matches the filters; `bounce_rate` then counts those
    that entered on the page (`lib/plausible/stats/sql/expression.ex`,
    `session_metric(:bounce_rate, _)`). On 11-03, /landing was viewed by L2 (entered on it,
    bounced) and L3 (entered on /other, 300 s); L1 entered on it on 11-02 and only viewed
    /other on 11-03. Bounce rate: L2 → 100; duration (0 + 300) / 2 = 150.
    """
    expected = {"visitors": 2, "visits": 2, "bounce_rate": 100, "visit_duration": 150}
    _aggregate_both(site, "2026-11-03", "event:page", "/landing", expected)


def test_page_filter_with_an_entry_page_breakdown(site: StatsHarness, admin: TestClient) -> None:
    """Entry pages of the visits that viewed the page, with bounce rate only where it was entered.

    The page filter is renamed to the entry page only when `event:page` is a dimension
    (`lib/plausible/stats/query_optimizer.ex`, `build_split_query`); otherwise it selects the
    sessions with a matching event (`lib/plausible/stats/sql/query_builder.ex`). Bounce rate
    counts sessions entering on the filtered page only, 0 when there are none
    (`lib/plausible/stats/sql/expression.ex`, `session_metric(:bounce_rate, _)`). On 11-03:
    L2 (/landing, bounce) and L3 (/other, 300 s). The dashboard's entry-pages panel agrees.
    """
    status, body = site.get(
        "breakdown",
        **_day("2026-11-03"),
        property="visit:entry_page",
        metrics="visitors,visits,bounce_rate,visit_duration",
        filters="event:page==/landing",
    )
    assert status == 200, body
    assert body["results"] == [
        {
            "entry_page": "/landing",
            "visitors": 1,
            "visits": 1,
            "bounce_rate": 100,
            "visit_duration": 0,
        },
        {
            "entry_page": "/other",
            "visitors": 1,
            "visits": 1,
            "bounce_rate": 0,
            "visit_duration": 300,
        },
    ]
    rows = _v2(
        site,
        "2026-11-03",
        metrics=["visits", "bounce_rate", "visit_duration"],
        dimensions=["visit:entry_page"],
        filters=[["is", "event:page", ["/landing"]]],
        order_by=[["visit:entry_page", "asc"]],
    )
    assert rows == [
        {"metrics": [1, 100, 0], "dimensions": ["/landing"]},
        {"metrics": [1, 0, 300], "dimensions": ["/other"]},
    ]
    html = admin.get(
        "/sites/example.com?period=day&date=2026-11-03&pages=entry&f=event:page==/landing"
    ).text
    panel = html.split('id="panel-pages"', 1)[1].split("</section>", 1)[0]
    assert "/landing" in panel and "/other" in panel


def test_page_and_name_filters_select_visits_with_one_event_matching_both(
    site: StatsHarness,
) -> None:
    """The event filters are applied together, to one event, before picking sessions.

    Plausible's `lib/plausible/stats/sql/query_builder.ex` (`join_events_if_needed`) joins
    sessions to the events matching every filter. N1 viewed /pricing and signed up on /other;
    only N2 signed up on /pricing (120 s), so N1's 600 s do not count.
    """
    rows = _v2(
        site,
        "2026-11-06",
        metrics=["visitors", "visits", "visit_duration"],
        filters=[["is", "event:page", ["/pricing"]], ["is", "event:name", ["Signup"]]],
    )
    assert rows == [{"metrics": [1, 1, 120], "dimensions": []}]


# -- event:hostname --------------------------------------------------------------------------


def test_hostname_filter_keeps_visits_that_entered_on_another_hostname(
    site: StatsHarness,
) -> None:
    """Session metrics come from every visit with an event on the hostname.

    Plausible's `lib/plausible/stats/sql/where_builder.ex` applies no `event:*` filter to the
    sessions table directly; the sessions are joined to the matching events
    (`lib/plausible/stats/sql/query_builder.ex`, `join_events_if_needed`). H1 entered on
    landing.example.com, then viewed example.com twice: 1 visit, 5 s, not a bounce; pageviews
    count the matching events (2) but views per visit the whole visit (3.0). The timeseries
    values are those of Plausible's own test (`timeseries_test.exs`, "can filter by hostname").
    """
    status, body = site.get(
        "timeseries",
        **_day("2026-11-04"),
        metrics="visitors,visits,pageviews,bounce_rate,visit_duration",
        filters="event:hostname==example.com",
    )
    assert status == 200, body
    rows = body["results"]
    assert rows[0] == {
        "date": "2026-11-04 00:00:00",
        "visitors": 1,
        "visits": 1,
        "pageviews": 2,
        "bounce_rate": 0,
        "visit_duration": 5,
    }
    assert all(r["visits"] == 0 and r["visit_duration"] is None for r in rows[1:])
    expected = {"visits": 1, "views_per_visit": 3.0, "bounce_rate": 0, "visit_duration": 5}
    _aggregate_both(site, "2026-11-04", "event:hostname", "example.com", expected)


# -- event:hostname narrows visit breakdowns -------------------------------------------------

ENTRY_PROPERTIES = [
    ("visit:utm_source", "utm_source", "beta"),
    ("visit:utm_medium", "utm_medium", "beta"),
    ("visit:utm_campaign", "utm_campaign", "beta"),
    ("visit:utm_content", "utm_content", "beta"),
    ("visit:utm_term", "utm_term", "beta"),
    ("visit:source", "source", "beta"),
    ("visit:referrer", "referrer", "news.example.net/x"),
    ("visit:entry_page", "entry_page", "/start"),
    ("visit:exit_page", "exit_page", "/"),
]


@pytest.mark.parametrize(("prop", "key", "value"), ENTRY_PROPERTIES)
def test_hostname_filter_narrows_visit_breakdowns_to_the_entry_or_exit_hostname(
    site: StatsHarness, prop: str, key: str, value: str
) -> None:
    """Sources, UTM tags and entry pages need the visit to have entered on the hostname, exit
    pages to have exited on it.

    Plausible's `lib/plausible/stats/query_optimizer.ex` (`extend_hostname_filters_to_visit`)
    repeats an `event:hostname` filter on `visit:entry_page_hostname` for these breakdowns and
    on `visit:exit_page_hostname` for exit pages (Plausible's `breakdown_test.exs`, "breakdown
    by … when filtered by hostname"). On 11-05 two visits have an event on one.example.com:
    E1 entered on two.example.com (alpha) and exited on one.example.com; E2 entered on
    one.example.com (beta) and exited on two.example.com. E3 entered on one.example.com the
    day before and has no event there on 11-05, so no filter on it selects it.
    """
    filters = "event:hostname==one.example.com"
    status, body = site.get(
        "breakdown", **_day("2026-11-05"), property=prop, metrics="visitors", filters=filters
    )
    assert status == 200, body
    assert body["results"] == [{key: value, "visitors": 1}]
    rows = _v2(
        site,
        "2026-11-05",
        metrics=["visitors"],
        dimensions=[prop],
        filters=[["is", "event:hostname", ["one.example.com"]]],
    )
    assert rows == [{"metrics": [1], "dimensions": [value]}]


def test_hostname_narrowing_also_applies_to_percentage_totals_and_not_to_other_breakdowns(
    site: StatsHarness,
) -> None:
    """The added entry-hostname filter is part of the query, so totals include it too.

    Plausible's `lib/plausible/stats/query_optimizer.ex` adds the filter before the query is
    split; `lib/plausible/stats/sql/special_metrics.ex` computes the `percentage` total from
    the same filters without dimensions: only E2 → 100.0. A browser breakdown is not narrowed.
    """
    hostname = [["is", "event:hostname", ["one.example.com"]]]
    rows = _v2(
        site,
        "2026-11-05",
        metrics=["visitors", "percentage"],
        dimensions=["visit:utm_source"],
        filters=hostname,
    )
    assert rows == [{"metrics": [1, 100.0], "dimensions": ["beta"]}]
    browsers = _v2(
        site, "2026-11-05", metrics=["visitors"], dimensions=["visit:browser"], filters=hostname
    )
    assert [r["metrics"] for r in browsers] == [[2]]


# -- the mirror rule: event breakdowns under entry and exit page filters ----------------------


def test_entry_page_filter_keeps_every_page_and_event_of_the_visits(
    site: StatsHarness, admin: TestClient
) -> None:
    """Event properties under an entry-page filter are counted from events, not from sessions.

    Plausible's `lib/plausible/stats/table_decider.ex` (`partition_metrics`) answers visitors
    and visits from the events table when the query is broken down by an event property and
    asks no session metric; the entry-page filter then selects those events' sessions. On
    11-01, P1 and P3 entered on /: P1 also viewed /blogpost. On 11-06 all three visits entered
    on /pricing; N1 and N2 signed up, N2 with plan=pro. Conversion rate: 2 of 3 visitors.
    """
    status, body = site.get(
        "breakdown",
        **_day("2026-11-01"),
        property="event:page",
        metrics="visitors",
        filters="visit:entry_page==/",
    )
    assert (status, body["results"]) == (
        200,
        [{"page": "/", "visitors": 2}, {"page": "/blogpost", "visitors": 1}],
    )
    rows = _v2(
        site,
        "2026-11-01",
        metrics=["visits"],
        dimensions=["event:page"],
        filters=[["is", "visit:entry_page", ["/"]]],
    )
    assert rows == [
        {"metrics": [2], "dimensions": ["/"]},
        {"metrics": [1], "dimensions": ["/blogpost"]},
    ]
    entered = {**_day("2026-11-06"), "filters": "visit:entry_page==/pricing"}
    expected: list[tuple[str, str, list[dict[str, Any]]]] = [
        (
            "event:goal",
            "visitors,conversion_rate",
            [{"goal": "Signup", "visitors": 2, "conversion_rate": 66.67}],
        ),
        (
            "event:name",
            "visitors",
            [{"name": "pageview", "visitors": 3}, {"name": "Signup", "visitors": 2}],
        ),
        (
            "event:props:plan",
            "visitors",
            [{"plan": "(none)", "visitors": 3}, {"plan": "pro", "visitors": 1}],
        ),
    ]
    for prop, metrics, results in expected:
        status, body = site.get("breakdown", property=prop, metrics=metrics, **entered)
        assert (status, body) == (200, {"results": results}), prop
    page = admin.get("/sites/example.com?period=day&date=2026-11-01&f=visit:entry_page==/")
    assert page.status_code == 200
    panel = page.text.split('id="panel-pages"', 1)[1].split("</section>", 1)[0]
    assert "/blogpost" in panel
    goals = admin.get("/sites/example.com?period=day&date=2026-11-06&f=visit:entry_page==/pricing")
    assert goals.status_code == 200
