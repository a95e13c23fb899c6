"""The stats engine beyond single answers: time zones and DST, the cache, the time limit, and
properties that must hold for any query (hypothesis)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.errors import QueryTimeoutError
from footfall.lifecycle.importing import import_ndjson
from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.services import Services, open_meta
from footfall.settings import load_settings
from footfall.stats.cache import MemoryCache
from footfall.stats.engine import ASKED_AT, StatsEngine
from footfall.stats.model import Query
from footfall.storage.duckdb.store import DuckDBEventStore
from footfall.web.app import create_app
from tests.stats_harness import FIREFOX, StatsHarness, demo_file, open_harness, prepare_site, serve

# -- time zones ----------------------------------------------------------------------------


def test_dst_crossing_days_and_hours_in_site_timezone(tmp_path: Path) -> None:
    # Berlin leaves summer time on 2026-10-25: 03:00 CEST becomes 02:00 CET.
    with open_harness(
        tmp_path / "data", now=dt.datetime(2026, 10, 28, 12), timezone="Europe/Berlin"
    ) as h:
        h.send(dt.datetime(2026, 10, 24, 21, 59), "/late", ip="81.2.69.1")  # 23:59 on the 24th
        h.send(dt.datetime(2026, 10, 24, 22, 30), "/", ip="81.2.69.2")  # 00:30 on the 25th
        h.send(dt.datetime(2026, 10, 25, 0, 30), "/a", ip="81.2.69.3")  # 02:30 CEST
        h.send(dt.datetime(2026, 10, 25, 1, 30), "/b", ip="81.2.69.4", ua=FIREFOX)  # 02:30 CET
        h.send(dt.datetime(2026, 10, 25, 22, 59), "/", ip="81.2.69.5")  # 23:59 on the 25th
        h.send(dt.datetime(2026, 10, 25, 23, 0), "/", ip="81.2.69.6")  # 00:00 on the 26th
        h.flush(dt.datetime(2026, 10, 28, 12))
        status, body = h.get(
            "timeseries", period="custom", date="2026-10-24,2026-10-26", metrics="visitors"
        )
        assert status == 200
        assert body["results"] == [
            {"date": "2026-10-24", "visitors": 1},
            {"date": "2026-10-25", "visitors": 4},
            {"date": "2026-10-26", "visitors": 1},
        ]
        status, body = h.get("aggregate", period="day", date="2026-10-25", metrics="pageviews")
        assert body == {"results": {"pageviews": {"value": 4}}}
        status, body = h.get(
            "timeseries", period="day", date="2026-10-25", metrics="visitors,pageviews"
        )
        rows = {
            r["date"]: (r["visitors"], r["pageviews"]) for r in body["results"] if r["visitors"]
        }
        # The repeated 02:00 hour is one bucket holding both visits.
        assert rows == {
            "2026-10-25 00:00:00": (1, 1),
            "2026-10-25 02:00:00": (2, 2),
            "2026-10-25 23:00:00": (1, 1),
        }
        assert len(body["results"]) == len({r["date"] for r in body["results"]})
        status, body = h.v2(
            metrics=["visitors"], date_range=["2026-10-25", "2026-10-25"], dimensions=["time:day"]
        )
        assert body["query"]["date_range"] == [
            "2026-10-25T00:00:00+02:00",
            "2026-10-25T23:59:59+01:00",
        ]
        assert body["results"] == [{"metrics": [4], "dimensions": ["2026-10-25"]}]


# -- cache and time limit ------------------------------------------------------------------


def _services(tmp: Path, events: int) -> tuple[Services, Any]:
    settings, site, _ = prepare_site(tmp / "data")
    clock = FixedClock(dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC))
    services = Services.open(settings, clock=clock)
    end = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    path = demo_file(tmp / "events.ndjson", events=events, days=7, end=end)
    import_ndjson(services, site=site, path=path)
    return services, site


def _week(site_id: int, **extra: Any) -> Query:
    return Query(
        site_id=site_id,
        timezone="UTC",
        start=dt.datetime(2026, 10, 26),
        end=dt.datetime(2026, 11, 1, 23, 59, 59),
        metrics=("visitors", "pageviews"),
        **extra,
    )


def test_cache_hits_and_invalidation_by_import(tmp_path: Path) -> None:
    services, site = _services(tmp_path, 3000)
    try:
        cache = MemoryCache(100)
        engine = StatsEngine(services.store, cache=cache, now=services.clock.now)
        first = engine.run(_week(site.id))
        assert engine.run(_week(site.id)) == first
        assert (cache.counters.hits, cache.counters.misses) == (1, 1)
        # Different question, different entry.
        engine.run(_week(site.id, dimensions=("visit:source",)))
        assert cache.counters.misses == 2
        # An import rewrites the past: the old answer must not be served.
        extra = tmp_path / "more.ndjson"
        extra.write_text(
            '{"name":"pageview","url":"https://example.com/new","timestamp":"2026-10-30T10:00:00Z",'
            '"user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0","ip":"81.2.69.142"}\n'
        )
        import_ndjson(services, site=site, path=extra)
        after = engine.run(_week(site.id))
        assert cache.counters.misses == 3
        assert after.rows[0][1][1] == first.rows[0][1][1] + 1
    finally:
        services.close()


def test_query_time_limit_interrupts(tmp_path: Path) -> None:
    services, _ = _services(tmp_path, 100)
    try:
        engine = StatsEngine(services.store, now=services.clock.now, timeout_seconds=0.2)
        with pytest.raises(QueryTimeoutError, match=r"longer than 0\.2 s"):
            engine.fetch("SELECT count(*) FROM range(100000000000) WHERE range % 7 = 3", [])
        # The connection is usable afterwards.
        assert engine.fetch("SELECT 42", []) == [(42,)]
    finally:
        services.close()


def test_a_question_that_waited_its_whole_limit_is_not_started(tmp_path: Path) -> None:
    """The time limit counts from the request's arrival, not from a free thread.

    Under overload, questions queue for the worker threads; one whose limit ran out while it
    waited is refused at once (503) instead of computed for a client that has given up.
    """
    services, site = _services(tmp_path, 100)
    try:
        engine = StatsEngine(services.store, now=services.clock.now, timeout_seconds=2)
        token = ASKED_AT.set(time.monotonic() - 3)
        try:
            with pytest.raises(QueryTimeoutError, match=r"waited 3 s for its turn, past the 2 s"):
                engine.run(_week(site.id))
        finally:
            ASKED_AT.reset(token)
        token = ASKED_AT.set(time.monotonic() - 1)  # a second in the queue: time is left
        try:
            assert engine.run(_week(site.id)).rows
        finally:
            ASKED_AT.reset(token)
    finally:
        services.close()


def test_timeout_answers_503(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path / "data"}, environ={})
    add_site(open_meta(settings), domain="example.com")
    key = create_key(open_meta(settings), name="reader", scopes=("stats:read",))[1]
    # A real DuckDB store whose events are far too many to count within the limit: a view of
    # 10^11 rows stands in for the events table in the statements the engine sends.
    huge = DuckDBEventStore(tmp_path / "huge.duckdb")
    with huge.cursor() as cur:
        cur.execute(
            "CREATE VIEW huge_events AS SELECT 1::UINTEGER AS site_id, "
            "TIMESTAMP '2030-01-01 00:00:00' AS timestamp, 'pageview' AS name, "
            "range::UBIGINT AS visitor FROM range(100000000000)"
        )

    class HugeEvents:
        backend = huge.backend
        data_version = huge.data_version

        def query(
            self, sql: str, params: Sequence[Any], *, timeout: float, tag: str
        ) -> list[tuple[Any, ...]]:
            return huge.query(
                sql.replace("FROM events", "FROM huge_events"), params, timeout=timeout, tag=tag
            )

    with TestClient(create_app(settings)) as client:
        state = client.app.state.footfall  # type: ignore[attr-defined]
        state.stats = StatsEngine(HugeEvents(), now=state.clock.now, timeout_seconds=0.2)
        response = client.get(
            "/api/v1/stats/realtime/visitors",
            params={"site_id": "example.com"},
            headers={"authorization": f"Bearer {key}"},
        )
    huge.close()
    assert response.status_code == 503
    assert response.json() == {
        "error": "Query timed out: the query took longer than 0.2 s and was stopped. "
        "Try a shorter period or fewer filters."
    }


# -- properties ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StatsHarness]:
    tmp = Path(tmp_path_factory.mktemp("demo"))
    settings, site, key = prepare_site(tmp / "data", timezone="America/New_York")
    now = dt.datetime(2026, 11, 2, 12)
    services = Services.open(settings, clock=FixedClock(now.replace(tzinfo=dt.UTC)))
    end = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    path = demo_file(tmp / "events.ndjson", events=20_000, days=10, end=end, seed=7)
    import_ndjson(services, site=site, path=path)
    services.close()
    with serve(settings, key, now=now) as h:
        yield h


PERIOD = {"period": "7d", "date": "2026-11-02"}
VISIT_PROPS = [
    "visit:source",
    "visit:channel",
    "visit:device",
    "visit:browser",
    "visit:os",
    "visit:country",
    "visit:entry_page",
    "visit:exit_page",
]
FILTERS = st.sampled_from(
    [
        "visit:device==Mobile",
        "visit:device!=Mobile",
        "visit:source==Google",
        "visit:source==Direct / None",
        "visit:channel==Organic Search",
        "visit:browser==Chrome|Firefox",
        "visit:os!=Windows",
        "event:page==/",
        "event:page==/blog/**",
        "event:page!=/pricing",
        "visit:entry_page==/",
        "visit:country==US",
        "event:name==pageview",
    ]
)


def _value(h: StatsHarness, metric: str, filters: str = "") -> Any:
    params = dict(PERIOD, metrics=metric)
    if filters:
        params["filters"] = filters
    status, body = h.get("aggregate", **params)
    assert status == 200, body
    return body["results"][metric]["value"]


def _rows(h: StatsHarness, prop: str, metric: str) -> list[dict[str, Any]]:
    status, body = h.get("breakdown", property=prop, metrics=metric, limit="1000", **PERIOD)
    assert status == 200, body
    return list(body["results"])


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prop=st.sampled_from(VISIT_PROPS))
def test_visits_by_any_visit_property_sum_to_the_total(demo: StatsHarness, prop: str) -> None:
    rows = _rows(demo, prop, "visits")
    total = _value(demo, "visits")
    skipped = prop in ("visit:country", "visit:entry_page", "visit:exit_page")
    summed = sum(r["visits"] for r in rows)
    # v1 leaves out blank countries and pages; everything else partitions the visits.
    assert summed == total if not skipped else summed <= total


def test_pageviews_by_page_and_events_by_name_sum_to_the_total(demo: StatsHarness) -> None:
    assert sum(r["pageviews"] for r in _rows(demo, "event:page", "pageviews")) == _value(
        demo, "pageviews"
    )
    assert sum(r["events"] for r in _rows(demo, "event:name", "events")) == _value(demo, "events")
    # Each visitor is counted once overall but may appear under several pages.
    assert max(r["visitors"] for r in _rows(demo, "event:page", "visitors")) <= _value(
        demo, "visitors"
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=FILTERS,
    second=FILTERS,
    metric=st.sampled_from(["visitors", "pageviews", "events"]),
)
def test_filters_never_widen(demo: StatsHarness, first: str, second: str, metric: str) -> None:
    everything = _value(demo, metric)
    one = _value(demo, metric, first)
    both = _value(demo, metric, f"{first};{second}")
    assert both <= one <= everything


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(filters=FILTERS)
def test_complementary_filters_partition_visits(demo: StatsHarness, filters: str) -> None:
    if "==" not in filters or filters.startswith("event:") or "|" in filters:
        return
    negated = filters.replace("==", "!=")
    assert _value(demo, "visits", filters) + _value(demo, "visits", negated) == _value(
        demo, "visits"
    )


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
PARAM = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "event:page==/",
            "visit:city==abc",
            "visit:city==*5*",
            "visit:country==U*",
            "event:props:x==(none)",
            "event:goal==Nope",
            '[["is","visit:city",[1]]]',
            '[["contains","visit:city",["1"]]]',
            '{"a": 1}',
            "[]",
            "[1]",
            "visitors,pageviews,events,visits",
            "time_on_page",
            "event:page",
            "visit:city",
            "event:props:",
        ]
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    endpoint=st.sampled_from(["aggregate", "timeseries", "breakdown"]),
    params=st.dictionaries(
        st.sampled_from(
            [
                "period",
                "date",
                "metrics",
                "filters",
                "property",
                "interval",
                "limit",
                "page",
                "compare",
            ]
        ),
        PARAM,
        max_size=5,
    ),
)
def test_no_input_makes_a_server_error(
    demo: StatsHarness, endpoint: str, params: dict[str, str]
) -> None:
    status, body = demo.get(endpoint, **params)
    assert status in (200, 400), body
    if status == 400:
        assert isinstance(body["error"], str) and body["error"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(
            ["metrics", "date_range", "dimensions", "filters", "order_by", "include", "pagination"]
        ),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(-3, 20000), TEXT, PARAM),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=3),
            max_leaves=8,
        ),
        max_size=6,
    )
)
def test_no_v2_body_makes_a_server_error(demo: StatsHarness, body: dict[str, Any]) -> None:
    status, answer = demo.v2(**body)
    assert status in (200, 400), answer


@pytest.mark.parametrize(
    ("prop", "column", "rows"),
    [
        ("event:page", "pathname", "events WHERE name <> 'engagement' AND"),
        ("visit:source", "referrer_source", "sessions WHERE"),
        ("visit:country", "country", "sessions WHERE"),
    ],
)
def test_visitor_counts_are_exact(demo: StatsHarness, prop: str, column: str, rows: str) -> None:
    got = {r[prop.split(":")[1]]: r["visitors"] for r in _rows(demo, prop, "visitors")}
    start, end = dt.datetime(2026, 10, 26, 4), dt.datetime(2026, 11, 2, 4, 59, 59)  # New York
    span = (
        "timestamp BETWEEN $2 AND $3"
        if rows.startswith("events")
        else "timestamp >= $2 AND start <= $3"
    )
    store = demo.client.app.state.footfall.store  # type: ignore[attr-defined]
    with store.cursor() as cur:
        exact = dict(
            cur.execute(
                f"SELECT {column}, count(DISTINCT visitor_id) FROM {rows} site_id = $1 AND {span} "
                "GROUP BY 1",
                [1, start, end],
            ).fetchall()
        )
    assert got
    for key, value in got.items():
        assert value == exact["" if key == "Direct / None" else key]


def test_hostile_filter_values_are_only_data(demo: StatsHarness) -> None:
    hostile = "/'; DROP TABLE events; --"
    status, body = demo.get("aggregate", filters=f"event:page=={hostile}", **PERIOD)
    assert (status, body) == (200, {"results": {"visitors": {"value": 0}}})
    status, body = demo.v2(
        metrics=["visitors"], date_range="7d", filters=[["contains", "visit:source", ["$1"]]]
    )
    assert (status, body["results"]) == (200, [{"metrics": [0], "dimensions": []}])
    status, body = demo.v2(
        metrics=["visitors"], date_range="7d", filters=[["matches", "event:page", ["')--"]]]
    )
    assert status == 400
    assert body["error"].startswith(
        "Invalid regular expression `')--` in a `matches` filter on `event:page`: "
    )
    assert _value(demo, "pageviews") > 0


def test_live_property_names_show_a_name_stored_since_the_last_answer(
    client: TestClient, clock: FixedClock
) -> None:
    """The property picker must not hide a new property for a whole cache lifetime."""
    state = client.app.state.footfall  # type: ignore[attr-defined]
    today = clock.now().replace(tzinfo=None, hour=0, minute=0)
    end = today + dt.timedelta(days=1)

    def send(props: dict[str, str]) -> None:
        body = {"n": "Signup", "u": "https://example.com/", "d": "example.com", "p": props}
        response = client.post("/api/event", json=body, headers={"user-agent": FIREFOX})
        assert response.status_code == 202
        assert state.writer.flush_sessions()

    send({"plan": "pro"})
    assert state.stats.property_names(1, today, end) == ["plan"]
    send({"note": "new"})
    assert sorted(state.stats.property_names(1, today, end)) == ["note", "plan"]
