"""Stats API v2 (POST /api/v2/query): whole answers over the same dataset as the v1 tests."""

# Tables of exact API messages read best one per line.
# ruff: noqa: E501

from __future__ import annotations

from typing import Any

import pytest

from tests.stats_harness import StatsHarness
from tests.web.api.test_stats_v1 import shop  # noqa: F401  (module fixture shared with the v1 tests)

DAY = ["2026-11-01", "2026-11-01"]


def test_aggregate_echoes_the_query(shop: StatsHarness) -> None:  # noqa: F811
    status, body = shop.v2(
        metrics=["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"],
        date_range=DAY,
    )
    assert status == 200
    assert body == {
        "results": [{"metrics": [3, 4, 6, 50, 210], "dimensions": []}],
        "meta": {},
        "query": {
            "site_id": "example.com",
            "metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"],
            "date_range": ["2026-11-01T00:00:00Z", "2026-11-01T23:59:59Z"],
            "filters": [],
            "dimensions": [],
            "order_by": [["visitors", "desc"]],
            "include": {},
            "pagination": {"offset": 0, "limit": 10000},
        },
    }


def test_dimensions_filters_order_and_pagination(shop: StatsHarness) -> None:  # noqa: F811
    status, body = shop.v2(
        metrics=["visitors", "pageviews"],
        date_range=DAY,
        dimensions=["event:page"],
        filters=[["is_not", "visit:browser", ["Firefox"]]],
        order_by=[["pageviews", "desc"], ["event:page", "asc"]],
        include={"total_rows": True},
        pagination={"limit": 2, "offset": 1},
    )
    assert status == 200
    assert body["results"] == [
        {"metrics": [2, 2], "dimensions": ["/pricing"]},
        {"metrics": [1, 1], "dimensions": ["/blog/second"]},
    ]
    assert body["meta"] == {"total_rows": 3}


def test_time_dimension_and_labels(shop: StatsHarness) -> None:  # noqa: F811
    status, body = shop.v2(
        metrics=["visitors"],
        date_range=["2026-10-30", "2026-11-01"],
        dimensions=["time:day"],
        include={"time_labels": True},
    )
    assert status == 200
    assert body["results"] == [
        {"metrics": [1], "dimensions": ["2026-10-31"]},
        {"metrics": [3], "dimensions": ["2026-11-01"]},
    ]
    assert body["meta"] == {"time_labels": ["2026-10-30", "2026-10-31", "2026-11-01"]}


def test_order_by_time_descending(shop: StatsHarness) -> None:  # noqa: F811
    status, body = shop.v2(
        metrics=["visitors"],
        date_range=["2026-10-30", "2026-11-01"],
        dimensions=["time"],
        order_by=[["time", "desc"]],
    )
    assert status == 200
    assert body["results"] == [
        {"metrics": [3], "dimensions": ["2026-11-01"]},
        {"metrics": [1], "dimensions": ["2026-10-31"]},
    ]


def test_event_metric_by_entry_page(shop: StatsHarness) -> None:  # noqa: F811
    status, body = shop.v2(
        metrics=["pageviews", "events"], date_range=DAY, dimensions=["visit:entry_page"]
    )
    assert status == 200
    assert body["results"] == [
        {"metrics": [3, 4], "dimensions": ["/"]},
        {"metrics": [2, 3], "dimensions": ["/pricing"]},
        {"metrics": [1, 1], "dimensions": ["/blog/hello"]},
    ]


def test_logical_filters(shop: StatsHarness) -> None:  # noqa: F811
    either = ["or", [["is", "visit:source", ["Google"]], ["is", "visit:browser", ["Firefox"]]]]
    assert shop.v2(metrics=["visitors"], date_range=DAY, filters=[either])[1]["results"] == [
        {"metrics": [2], "dimensions": []}
    ]
    negated = ["not", ["is", "visit:device", ["Mobile"]]]
    assert shop.v2(metrics=["visits"], date_range=DAY, filters=[negated])[1]["results"] == [
        {"metrics": [3], "dimensions": []}
    ]
    matches = ["matches", "event:page", ["^/blog/(hello|nope)$"]]
    assert shop.v2(metrics=["visitors"], date_range=DAY, filters=[matches])[1]["results"] == [
        {"metrics": [1], "dimensions": []}
    ]
    has_done = ["has_done", ["is", "event:name", ["Signup"]]]
    assert shop.v2(metrics=["visits"], date_range=DAY, filters=[has_done])[1]["results"] == [
        {"metrics": [1], "dimensions": []}
    ]


def test_goal_dimension_with_conversion_rates(shop: StatsHarness) -> None:  # noqa: F811
    status, body = shop.v2(
        metrics=["visitors", "conversion_rate", "group_conversion_rate"],
        date_range=DAY,
        dimensions=["event:goal"],
    )
    assert status == 200
    assert body["results"] == [
        {"metrics": [2, 66.67, 66.67], "dimensions": ["Visit /blog/*"]},
        {"metrics": [1, 33.33, 33.33], "dimensions": ["Download"]},
        {"metrics": [1, 33.33, 33.33], "dimensions": ["Signup"]},
    ]


def test_percentage(shop: StatsHarness) -> None:  # noqa: F811
    status, body = shop.v2(
        metrics=["visitors", "percentage"], date_range=DAY, dimensions=["visit:device"]
    )
    assert status == 200
    assert body["results"] == [
        {"metrics": [2, 66.7], "dimensions": ["Desktop"]},
        {"metrics": [1, 33.3], "dimensions": ["Mobile"]},
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"metrics": ["visitors", "baa"], "date_range": "7d"}, '#/metrics/1: Invalid metric "baa"'),
        (
            {"metrics": ["visitors", "visitors"], "date_range": "7d"},
            "#/metrics: Expected items to be unique but they were not.",
        ),
        (
            {"metrics": ["visitors"], "date_range": "bad_period"},
            '#/date_range: Invalid date range "bad_period"',
        ),
        (
            {"metrics": ["visitors"], "date_range": "7d", "dimensions": ["badproperty"]},
            '#/dimensions/0: Invalid dimension "badproperty"',
        ),
        (
            {"metrics": ["conversion_rate"], "date_range": "7d"},
            "Metric `conversion_rate` can only be queried with event:goal filters or dimensions.",
        ),
        (
            {"metrics": ["time_on_page"], "date_range": "7d"},
            "Metric `time_on_page` can only be queried with event:page filters or dimensions.",
        ),
        (
            {"metrics": ["scroll_depth"], "date_range": "7d"},
            "Metric `scroll_depth` can only be queried with event:page filters or dimensions.",
        ),
        (
            {
                "metrics": ["views_per_visit"],
                "date_range": "7d",
                "filters": [["is", "event:page", ["/"]]],
            },
            "Metric `views_per_visit` cannot be queried with a filter on `event:page`.",
        ),
        (
            {"metrics": ["views_per_visit"], "date_range": "7d", "dimensions": ["visit:source"]},
            "Metric `views_per_visit` cannot be queried with `dimensions`.",
        ),
        (
            {"metrics": ["bounce_rate"], "date_range": "7d", "dimensions": ["event:name"]},
            "Session metric(s) `bounce_rate` cannot be queried along with event dimension(s) `event:name`",
        ),
        (
            {
                "metrics": ["visitors"],
                "date_range": "7d",
                "filters": [["is", "event:goal", ["Nope"]]],
            },
            "Invalid filters. The goal `Nope` is not configured for this site. Find out how to configure goals here: https://plausible.io/docs/stats-api#filtering-by-goals",
        ),
        (
            {
                "metrics": ["visitors"],
                "date_range": "7d",
                "filters": [["is", "visit:country", ["Germany"]]],
            },
            "Invalid visit:country filter, visit:country needs to be a valid 2-letter country code.",
        ),
        (
            {"metrics": ["visitors"], "date_range": "7d", "include": {"time_labels": True}},
            "Invalid include.time_labels: requires a time dimension.",
        ),
        (
            {
                "metrics": ["visitors"],
                "date_range": "7d",
                "filters": [["nope", "event:page", ["/"]]],
            },
            '#/filters/0: Invalid filter ["nope","event:page",["/"]]',
        ),
        (
            {
                "metrics": ["visitors"],
                "date_range": "7d",
                "filters": [["matches", "event:page", ["/"], {"case_sensitive": False}]],
            },
            '#/filters/0: Invalid filter ["matches","event:page",["/"],{"case_sensitive":false}]',
        ),
        (
            {"metrics": ["visitors"], "date_range": "7d", "pagination": {"limit": 0}},
            "#/pagination/limit: Expected an integer between 1 and 10000.",
        ),
        (
            {"metrics": ["visitors"], "date_range": "7d", "order_by": [["pageviews", "desc"]]},
            "Invalid order_by entry 'pageviews'. Entry is not a queried metric or dimension.",
        ),
        (
            {"metrics": ["visitors"], "date_range": "7d", "surprise": 1},
            "#/surprise: Schema does not allow additional properties.",
        ),
        ({"date_range": "7d"}, "#/metrics: Required property metrics was not present."),
    ],
)
def test_errors(shop: StatsHarness, body: dict[str, Any], message: str) -> None:  # noqa: F811
    assert shop.v2(**body) == (400, {"error": message})


def test_auth_and_body_errors(shop: StatsHarness) -> None:  # noqa: F811
    response = shop.client.post("/api/v2/query", json={"site_id": "example.com"})
    assert response.status_code == 401
    not_json = shop.client.post(
        "/api/v2/query", content=b"{nope", headers={"authorization": f"Bearer {shop.key}"}
    )
    assert not_json.status_code == 400
    assert shop.v2(site_id="unknown.example", metrics=["visitors"], date_range="7d")[0] == 401
